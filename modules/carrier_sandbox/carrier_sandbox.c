/* SPDX-License-Identifier: Apache-2.0
 *
 * carrier_sandbox.c: the sandbox carrier (DESIGN §9). It never reaches a
 * trunk: it simulates the callee of each magic number on libevent timers,
 * with realistic ring, training and page times scaled by
 * [sandbox] time_scale, and reports through the same callbacks the SIP
 * carrier uses, so everything around it is the real code.
 *
 * The delivered path runs spandsp's whole T.30 exchange in memory on the
 * fax's rendered pages (t30_memory.c) before reporting delivered, so a
 * sandbox success proves the pages are transmittable, and pages_sent is what
 * the far end confirmed.
 */
#include "config.h"
#include "module_api.h"
#include "t30_memory.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum behaviour {
    B_DELIVER,            /* ring, answer, send every page */
    B_BUSY,               /* 486 on every attempt */
    B_NO_ANSWER,          /* rings out */
    B_QUALITY_FIRST,      /* first attempt fails training, the retry delivers */
    B_BAD_DESTINATION,    /* 404, not retried */
    B_INVALID_NUMBER,     /* 484, not retried */
    B_DROP_AFTER_PAGE_1,  /* the call drops after page 1 */
    B_REJECT,             /* 603 on the first ring */
    B_SLOW,               /* delivered after 90 s */
};

static const struct {
    const char *number;
    enum behaviour b;
} magic[] = {
    { "+15005550001", B_DELIVER },
    { "+15005550002", B_BUSY },
    { "+15005550003", B_NO_ANSWER },
    { "+15005550004", B_QUALITY_FIRST },
    { "+15005550005", B_BAD_DESTINATION },
    { "+15005550007", B_DELIVER },
    { "+15005550008", B_INVALID_NUMBER },
    { "+15005550009", B_DROP_AFTER_PAGE_1 },
    { "+15556392879", B_BUSY },          /* 1-555-MFX-BUSY */
    { "+15556396225", B_REJECT },        /* 1-555-MFX-NACK */
    { "+15556397569", B_SLOW },          /* 1-555-MFX-SLOW */
};

/* Simulated seconds before scaling. */
#define RING_S 3.0
#define NO_ANSWER_S 60.0
#define TRAINING_S 6.0
#define SLOW_TOTAL_S 90.0

static double page_seconds(const char *resolution)
{
    if (resolution && !strcmp(resolution, "standard")) return 7.0;
    if (resolution && !strcmp(resolution, "superfine")) return 26.0;
    return 13.0;   /* fine, at 14,400 bit/s */
}

enum stage { S_RINGING, S_TRAINING, S_PAGES };

struct call {
    struct call *next, *prev;     /* calls in flight */
    struct event *timer;
    enum behaviour b;
    enum stage stage;
    struct mfx_call_callbacks cb;
    void *ctx;
    int pages;
    int attempt;
    bool ecm;
    double page_s;
    int pages_fd;                 /* the TIFF-F, ours to close */
    char tsi[24];
    struct t30_run *t30;          /* while the exchange runs */
};

/* One in-memory T.30 exchange, on a thread of its own so a long document
 * never stalls the event loop; the loop hears the end through done_ev. */
struct t30_run {
    struct t30_run *next;
    struct call *c;               /* NULL once the call was cancelled */
    pthread_t thread;
    struct event *done_ev;
    int tx_fd, rx_fd;             /* duplicates the run owns */
    bool ecm;
    char tsi[24];
    int rc;
    struct mfx_t30_result r;
};

static struct event_base *loop;
static struct call *calls;
static struct t30_run *runs;          /* exchanges in flight */

static void unlink_call(struct call *c)
{
    if (c->prev) c->prev->next = c->next;
    else calls = c->next;
    if (c->next) c->next->prev = c->prev;
}

static enum behaviour behaviour_of(const char *to)
{
    for (size_t i = 0; i < sizeof magic / sizeof magic[0]; i++)
        if (!strcmp(magic[i].number, to)) return magic[i].b;
    return B_DELIVER;
}

static void arm(struct call *c, double simulated_seconds)
{
    double s = simulated_seconds * mfx_setting_number("sandbox", "time_scale");
    if (s < 0) s = 0;
    struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };
    evtimer_add(c->timer, &tv);
}

/* Frees the call and reports its outcome (the last thing done with it). */
static void finish_call(struct call *c, const struct mfx_outcome *o)
{
    event_free(c->timer);
    unlink_call(c);
    if (c->pages_fd >= 0) close(c->pages_fd);
    struct mfx_call_callbacks cb = c->cb;
    void *ctx = c->ctx;
    free(c);
    cb.done(ctx, o);
}

/* Ends a delivered call with what the T.30 exchange reported. */
static void end_delivered(struct call *c, const struct mfx_t30_result *r)
{
    struct mfx_outcome o;
    memset(&o, 0, sizeof o);
    o.error = MFX_E__COUNT;
    o.sip_status = 200;
    o.pages_sent = r->pages_sent;
    o.bit_rate = r->bit_rate;
    o.ecm = r->ecm;
    snprintf(o.remote_csid, sizeof o.remote_csid, "%s", r->remote_ident);
    finish_call(c, &o);
}

/* Reports the outcome and frees the call. */
static void end(struct call *c, enum mfx_err err, int sip, const char *subcode, int pages_sent)
{
    struct mfx_outcome o;
    memset(&o, 0, sizeof o);
    o.error = err;
    o.sip_status = sip;
    o.pages_sent = pages_sent;
    o.ecm = c->stage >= S_TRAINING ? c->ecm : -1;
    if (c->stage >= S_TRAINING) {
        /* What the simulated line trained at; a real exchange overrides it. */
        o.bit_rate = 14400;
        snprintf(o.remote_csid, sizeof o.remote_csid, "MINTFAX SANDBOX");
    }
    if (subcode) snprintf(o.subcode, sizeof o.subcode, "%s", subcode);
    finish_call(c, &o);
}

static void *t30_thread(void *arg)
{
    struct t30_run *run = arg;
    char tx[32], rx[32];
    snprintf(tx, sizeof tx, "/proc/self/fd/%d", run->tx_fd);
    snprintf(rx, sizeof rx, "/proc/self/fd/%d", run->rx_fd);
    run->rc = mfx_t30_memory_run(tx, rx, run->tsi[0] ? run->tsi : NULL, run->ecm, &run->r);
    event_active(run->done_ev, EV_TIMEOUT, 0);
    return NULL;
}

static void t30_release(struct t30_run *run)
{
    for (struct t30_run **pp = &runs; *pp; pp = &(*pp)->next)
        if (*pp == run) {
            *pp = run->next;
            break;
        }
    pthread_join(run->thread, NULL);
    event_free(run->done_ev);
    close(run->tx_fd);
    close(run->rx_fd);
    free(run);
}

/* Back on the loop: the exchange ended; end the call with what it did. */
static void t30_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct t30_run *run = arg;
    struct call *c = run->c;
    int rc = run->rc;
    struct mfx_t30_result r = run->r;
    t30_release(run);
    if (!c) return;                      /* cancelled meanwhile */
    c->t30 = NULL;
    if (rc != 0 || r.completion != 0) {
        /* Our own pages did not go through: not something a retry fixes. */
        end(c, MFX_E_document_unreadable, 200, rc != 0 ? "t30_not_started" : "t30_failed", 0);
        return;
    }
    end_delivered(c, &r);
}

/* The far fax machine receives the pages: a real T.30 exchange in memory. */
static void deliver(struct call *c)
{
    struct t30_run *run = calloc(1, sizeof *run);
    if (!run) abort();
    run->c = c;
    run->ecm = c->ecm;
    snprintf(run->tsi, sizeof run->tsi, "%s", c->tsi);
    run->tx_fd = dup(c->pages_fd);
    run->rx_fd = memfd_create("mintfax-sandbox-rx", MFD_CLOEXEC);
    run->done_ev = event_new(loop, -1, 0, t30_done, run);
    if (run->tx_fd < 0 || run->rx_fd < 0) {
        if (run->tx_fd >= 0) close(run->tx_fd);
        if (run->rx_fd >= 0) close(run->rx_fd);
        event_free(run->done_ev);
        free(run);
        end(c, MFX_E_document_unreadable, 200, "t30_not_started", 0);
        return;
    }
    lseek(run->tx_fd, 0, SEEK_SET);
    c->t30 = run;
    run->next = runs;
    runs = run;
    if (pthread_create(&run->thread, NULL, t30_thread, run) != 0) {
        /* No thread: run it here. */
        t30_thread(run);
    }
}

static void step(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct call *c = arg;
    switch (c->stage) {
    case S_RINGING:
        switch (c->b) {
        case B_BUSY: end(c, MFX_E_line_busy, 486, "sip_486_busy_here", 0); return;
        case B_NO_ANSWER: end(c, MFX_E_no_answer, 480, "ring_timeout", 0); return;
        case B_BAD_DESTINATION: end(c, MFX_E_bad_destination, 404, "sip_404_not_found", 0); return;
        case B_INVALID_NUMBER: end(c, MFX_E_invalid_number, 484, "sip_484_address_incomplete", 0); return;
        case B_REJECT: end(c, MFX_E_recipient_rejected, 603, "sip_603_decline", 0); return;
        default: break;
        }
        c->stage = S_TRAINING;
        c->cb.answered(c->ctx);
        arm(c, TRAINING_S);
        return;
    case S_TRAINING:
        if (c->b == B_QUALITY_FIRST && c->attempt == 1) {
            end(c, MFX_E_line_quality, 200, "t30_training_failed", 0);
            return;
        }
        c->stage = S_PAGES;
        arm(c, c->b == B_DROP_AFTER_PAGE_1 ? c->page_s : c->page_s * c->pages);
        return;
    case S_PAGES:
        if (c->b == B_DROP_AFTER_PAGE_1) {
            end(c, MFX_E_transmission_interrupted, 200, "call_dropped_after_page_1", 1);
            return;
        }
        deliver(c);
        return;
    }
}

static int sandbox_start(struct event_base *base, char **err)
{
    (void)err;
    loop = base;
    return 0;
}

/* Drops every call without reporting: the core is stopping, and the
 * recovery at the next start retries what was cut short. */
static void sandbox_stop(void)
{
    while (runs) t30_release(runs);   /* waits for exchanges still running */
    while (calls) {
        struct call *c = calls;
        unlink_call(c);
        event_free(c->timer);
        if (c->pages_fd >= 0) close(c->pages_fd);
        free(c);
    }
}

static enum mfx_err sandbox_precheck(const char *to)
{
    if (!strcmp(to, "+15005550006")) return MFX_E_insufficient_balance;
    if (!strcmp(to, "+15005550099")) return MFX_E_validation_failed;
    return MFX_E__COUNT;
}

static void *sandbox_send(const struct mfx_call_request *rq, const struct mfx_call_callbacks *cb, void *ctx)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->timer = evtimer_new(loop, step, c);
    c->b = behaviour_of(rq->to);
    c->stage = S_RINGING;
    c->cb = *cb;
    c->ctx = ctx;
    c->pages = rq->pages > 0 ? rq->pages : 1;
    c->attempt = rq->attempt_number;
    c->ecm = rq->ecm;
    c->page_s = page_seconds(rq->resolution);
    c->pages_fd = rq->pages_fd;
    snprintf(c->tsi, sizeof c->tsi, "%s", rq->csid ? rq->csid : rq->from ? rq->from : "");
    c->next = calls;
    if (calls) calls->prev = c;
    calls = c;
    double ring = c->b == B_NO_ANSWER ? NO_ANSWER_S : c->b == B_REJECT ? 1.0 : RING_S;
    if (c->b == B_SLOW) {
        /* Answer late enough that the whole call takes 90 s. */
        ring = SLOW_TOTAL_S - TRAINING_S - c->page_s * c->pages;
        if (ring < RING_S) ring = RING_S;
    }
    arm(c, ring);
    return c;
}

static void sandbox_cancel(void *handle)
{
    struct call *c = handle;
    if (c->t30) c->t30->c = NULL;     /* the exchange ends on its own; nobody listens */
    evtimer_del(c->timer);
    end(c, MFX_E_cancelled, c->stage == S_RINGING ? 487 : 200, "cancelled_by_request", 0);
}

static int sandbox_max_channels(void)
{
    return (int)mfx_setting_number("sandbox", "max_channels");
}

const struct mfx_carrier mfx_carrier_sandbox = {
    .name = "sandbox",
    .abi_version = MFX_CARRIER_ABI,
    .transport = "sandbox",
    .start = sandbox_start,
    .stop = sandbox_stop,
    .precheck = sandbox_precheck,
    .send = sandbox_send,
    .cancel = sandbox_cancel,
    .max_channels = sandbox_max_channels,
};
