/* SPDX-License-Identifier: Apache-2.0
 *
 * scheduler.c: one timer wakes at the earliest next_attempt_at of a queued
 * fax (or when poked); each wake claims due faxes up to the free channels of
 * their carrier. A fax whose document is still a URL is fetched first. The
 * table of running jobs lives only in memory: after a crash, job.c's recovery
 * turns their open attempts into interrupted ones and they are retried.
 */
#include "config.h"
#include "mfx.h"
#include "scheduler.h"
#include "document.h"
#include "fax.h"
#include "fetch.h"
#include "idempotency.h"
#include "job.h"
#include "log.h"
#include "module.h"
#include "settings.h"
#include "store.h"

#include <event2/event.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum stage { J_FETCHING, J_CALLING };

struct job {
    char fax_id[MFX_ID_MAX];
    char env_id[MFX_ID_MAX];
    bool live;
    enum stage stage;
    const struct mfx_carrier *carrier;
    void *handle;                 /* the carrier's call */
    bool detached;                /* cancelled: ignore what comes back */
    char *to, *from, *csid, *header_text, *resolution, *document_path;
    int pages;
    bool ecm;
};

static struct event_base *loop;
static struct event *wake_ev;
static struct event *housekeeping_ev;
static GHashTable *jobs;          /* fax id -> struct job */
static bool draining;
static int calls_sandbox, calls_live;

static void job_free(struct job *j)
{
    free(j->to);
    free(j->from);
    free(j->csid);
    free(j->header_text);
    free(j->resolution);
    free(j->document_path);
    free(j);
}

static int *calls_of(const struct job *j)
{
    return j->live ? &calls_live : &calls_sandbox;
}

static void job_remove(struct job *j)
{
    g_hash_table_remove(jobs, j->fax_id);
    job_free(j);
    mfx_scheduler_poke();
}

/* ---- carrier callbacks ------------------------------------------------ */

static void on_answered(void *ctx)
{
    struct job *j = ctx;
    if (!j->detached) mfx_job_answered(j->fax_id);
}

static void on_done(void *ctx, const struct mfx_outcome *o)
{
    struct job *j = ctx;
    (*calls_of(j))--;
    if (!j->detached) mfx_job_attempt_end(j->fax_id, o);
    if (j->detached) {
        job_free(j);      /* already out of the table */
        return;
    }
    job_remove(j);
}

static const struct mfx_call_callbacks callbacks = { on_answered, on_done };

/* Starts the attempt once its queued -> submitted change is durable. */
static void place_call(void *arg, bool committed)
{
    struct job *j = arg;
    if (!committed || j->detached) {
        (*calls_of(j))--;
        if (j->detached) job_free(j);
        else job_remove(j);
        return;
    }
    sqlite3_stmt *st = mfx_stmt("SELECT attempts_made FROM faxes WHERE id = ?");
    sqlite3_bind_text(st, 1, j->fax_id, -1, SQLITE_STATIC);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1;
    mfx_stmt_done(st);
    struct mfx_call_request rq = {
        .fax_id = j->fax_id, .to = j->to, .from = j->from, .csid = j->csid,
        .header_text = j->header_text, .resolution = j->resolution,
        .document_path = j->document_path, .pages = j->pages, .attempt_number = n, .ecm = j->ecm,
    };
    j->stage = J_CALLING;
    j->handle = j->carrier->send(&rq, &callbacks, j);
}

static void begin_attempt(struct job *j)
{
    int *calls = calls_of(j);
    if (!j->carrier) {
        mfx_job_fail(j->fax_id, MFX_E_no_route, "no_live_carrier",
                     "This installation has no live carrier configured ([carrier] live = none).");
        job_remove(j);
        return;
    }
    if (mfx_job_attempt_begin(j->fax_id, j->carrier->transport, NULL) != MFX_OK) {
        job_remove(j);
        return;
    }
    (*calls)++;
    mfx_tx_after_commit(place_call, j);
}

/* ---- document_url ----------------------------------------------------- */

static void on_fetched(void *arg, const struct mfx_fetch_result *r)
{
    struct job *j = arg;
    if (j->detached) {
        job_free(j);
        return;
    }
    if (!r->ok && !strcmp(r->subcode, "shutdown")) {
        /* Stopping: the fax stays queued and is fetched after the next start. */
        g_hash_table_remove(jobs, j->fax_id);
        job_free(j);
        return;
    }
    if (!r->ok) {
        mfx_info("scheduler", "fax=%s document_url failed: %s", j->fax_id, r->subcode);
        mfx_job_fail(j->fax_id, MFX_E_document_fetch_failed, r->subcode, r->message);
        job_remove(j);
        return;
    }
    char doc_id[MFX_ID_MAX];
    int pages = 0;
    enum mfx_err err;
    char *msg = NULL;
    mfx_tx_begin();
    int rc = mfx_document_store(j->env_id, NULL, r->data, r->len, doc_id, &pages, &err, &msg);
    mfx_tx_end(rc == MFX_OK);
    if (rc != MFX_OK) {
        const char *sub = err == MFX_E_unsupported_media_type ? "unsupported_type"
                        : err == MFX_E_payload_too_large ? "too_large"
                        : err == MFX_E_storage_unavailable ? "storage" : "unreadable";
        if (err == MFX_E_storage_unavailable) {
            /* Our fault, not the document's: try again later. */
            mfx_warn("scheduler", "fax=%s storing the fetched document failed; retrying", j->fax_id);
            job_remove(j);
        } else {
            mfx_job_fail(j->fax_id, MFX_E_document_unreadable, sub, msg);
            job_remove(j);
        }
        free(msg);
        return;
    }
    free(msg);
    if (mfx_job_set_pages(j->fax_id, pages, doc_id) != MFX_OK) {
        job_remove(j);
        return;
    }
    mfx_document_locate(j->env_id, doc_id, &j->document_path, NULL, NULL);
    j->pages = pages;
    begin_attempt(j);
}

/* ---- the due-work loop -------------------------------------------------- */

static int free_channels(bool live)
{
    const struct mfx_carrier *c = mfx_module_carrier_for(live);
    int max = c && c->max_channels ? c->max_channels() : 1000;
    int used = live ? calls_live : calls_sandbox;
    return max > used ? max - used : 0;
}

/* Loads what a call needs from the fax row into a new job. */
static struct job *job_load(sqlite3_stmt *st)
{
    struct job *j = mfx_calloc(1, sizeof *j);
    snprintf(j->fax_id, sizeof j->fax_id, "%s", mfx_col_text(st, 0));
    snprintf(j->env_id, sizeof j->env_id, "%s", mfx_col_text(st, 1));
    j->live = !strcmp(mfx_col_text(st, 2), "live");
    j->to = mfx_strdup(mfx_col_text(st, 3));
    j->from = mfx_col_null(st, 4) ? NULL : mfx_strdup(mfx_col_text(st, 4));
    j->csid = mfx_col_null(st, 5) ? NULL : mfx_strdup(mfx_col_text(st, 5));
    j->header_text = mfx_col_null(st, 6) ? NULL : mfx_strdup(mfx_col_text(st, 6));
    j->resolution = mfx_strdup(mfx_col_text(st, 7));
    j->ecm = sqlite3_column_int(st, 10) != 0;
    j->carrier = mfx_module_carrier_for(j->live);
    return j;
}

static void run_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    if (draining) return;
    int64_t now = mfx_now_ms();
    /* Claim in two passes: collect, then act (acting writes to the same tables). */
    struct job *claimed[256];
    int n = 0;
    int room_sandbox = free_channels(false), room_live = free_channels(true);
    sqlite3_stmt *st = mfx_stmt(
        "SELECT f.id, f.environment_id, e.type, f.to_number, n.number, f.csid, f.header_text, f.resolution,"
        " f.document_id, f.document_url, f.ecm"
        " FROM faxes f JOIN environments e ON e.id = f.environment_id"
        " LEFT JOIN numbers n ON n.id = f.from_number"
        " WHERE f.status = 'queued' AND f.next_attempt_at <= ? ORDER BY f.next_attempt_at LIMIT 512");
    sqlite3_bind_int64(st, 1, now);
    while (n < 256 && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = mfx_col_text(st, 0);
        if (g_hash_table_contains(jobs, id)) continue;
        bool live = !strcmp(mfx_col_text(st, 2), "live");
        int *room = live ? &room_live : &room_sandbox;
        if (*room <= 0) continue;
        (*room)--;
        struct job *j = job_load(st);
        if (mfx_col_null(st, 8)) {
            j->stage = J_FETCHING;
            j->document_path = mfx_strdup(mfx_col_text(st, 9));   /* the URL, for now */
        } else {
            j->stage = J_CALLING;
            j->document_path = mfx_strdup(mfx_col_text(st, 8));   /* the document id, for now */
        }
        claimed[n++] = j;
    }
    mfx_stmt_done(st);

    for (int i = 0; i < n; i++) {
        struct job *j = claimed[i];
        g_hash_table_insert(jobs, j->fax_id, j);
        if (j->stage == J_FETCHING) {
            char *url = j->document_path;
            j->document_path = NULL;
            mfx_fetch_start(url, (size_t)mfx_cfg.max_upload, on_fetched, j);
            free(url);
            continue;
        }
        char *doc_id = j->document_path;
        j->document_path = NULL;
        int rc = mfx_document_locate(j->env_id, doc_id, &j->document_path, &j->pages, NULL);
        free(doc_id);
        if (rc != MFX_OK) {
            mfx_job_fail(j->fax_id, MFX_E_document_unreadable, "document_missing",
                         "The fax's document was deleted before it could be sent.");
            job_remove(j);
            continue;
        }
        begin_attempt(j);
    }

    /* Sleep until the next due fax, at most a minute (a safety net). */
    st = mfx_stmt("SELECT min(next_attempt_at) FROM faxes WHERE status = 'queued'");
    int64_t next = now + 60000;
    if (sqlite3_step(st) == SQLITE_ROW && !mfx_col_null(st, 0)) {
        int64_t due = sqlite3_column_int64(st, 0);
        if (due < next) next = due;
    }
    mfx_stmt_done(st);
    if (n == 256) next = now;   /* more may be waiting */
    else if (n == 0 && next <= now) next = now + 1000;   /* all due ones busy or no channel free: a
                                                            call's end pokes us sooner */
    int64_t wait = next - mfx_now_ms();
    if (wait < 0) wait = 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000) };
    evtimer_add(wake_ev, &tv);
}

static void housekeeping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    int n = mfx_idempotency_sweep();
    if (n) mfx_info("scheduler", "forgot %d expired idempotency keys", n);
}

int mfx_scheduler_start(struct event_base *base)
{
    loop = base;
    jobs = g_hash_table_new(g_str_hash, g_str_equal);
    wake_ev = evtimer_new(base, run_due, NULL);
    housekeeping_ev = event_new(base, -1, EV_PERSIST, housekeeping, NULL);
    struct timeval hour = { 600, 0 };
    event_add(housekeeping_ev, &hour);
    int n = mfx_job_recover();
    if (n) mfx_info("scheduler", "%d faxes were mid-attempt at the last stop; they are requeued or failed", n);
    mfx_scheduler_poke();
    return 0;
}

void mfx_scheduler_poke(void)
{
    if (!wake_ev || draining) return;
    /* Wake after the current batch commits: the new fax must be visible. */
    struct timeval now = { 0, 0 };
    evtimer_add(wake_ev, &now);
}

void mfx_scheduler_detach(const char *fax_id)
{
    struct job *j = jobs ? g_hash_table_lookup(jobs, fax_id) : NULL;
    if (!j) return;
    g_hash_table_remove(jobs, fax_id);
    j->detached = true;
    if (j->stage == J_CALLING && j->handle && j->carrier->cancel)
        j->carrier->cancel(j->handle);   /* on_done frees it */
}

void mfx_scheduler_drain(void)
{
    draining = true;
    if (wake_ev) evtimer_del(wake_ev);
}

int mfx_scheduler_busy(void)
{
    return jobs ? (int)g_hash_table_size(jobs) : 0;
}

void mfx_scheduler_free(void)
{
    if (wake_ev) event_free(wake_ev);
    if (housekeeping_ev) event_free(housekeeping_ev);
    wake_ev = housekeeping_ev = NULL;
    if (jobs) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, jobs);
        while (g_hash_table_iter_next(&it, &k, &v)) job_free(v);
        g_hash_table_destroy(jobs);
        jobs = NULL;
    }
}
