/* SPDX-License-Identifier: Apache-2.0
 *
 * bare_t38.c: the T.38 baseline of bench/channels (TRANSPORT=t38, see
 * bench/README.md): what a T.38 fax call costs with nothing around it. Two
 * spandsp t38_terminal_state_t, the sender and the receiver, configured as
 * modules/media/t38_fax.c configures a leg (paced output for UDP, T.38
 * version 0, transferredTCF, 14,400 bit/s, 1,400-byte datagrams, sequence
 * numbers checked, no TEP, fill-bit removal or transcoding) and by the same
 * mfx_t30_setup() the daemon and mintfax-peer use, exchange IFP packets in
 * memory, the way modules/carrier_sandbox/t30_memory.c does (a FIFO per
 * direction, t38_terminal_send_timeout(160) per 20 ms step). Each side does
 * per step what t38_fax.c's tick does: hand the IFPs that arrived to
 * t38_core_rx_ifp_packet, then t38_terminal_send_timeout. An IFP spandsp asks
 * to send 3 times arrives once (the UDPTL receiver drops the copies). What
 * the sender sends in a step reaches the receiver in the same step, and the
 * receiver's answer reaches the sender in the next: one 20 ms tick per round
 * trip, as between two processes whose media clocks tick at different
 * moments on loopback. No sockets, UDPTL, event loop or clock.
 *
 * As in bare_g711.c, one side is timed alone without a clock read around
 * every step: each call is first run as an exchange that records the IFPs
 * each side received, step by step; then the sender is replayed alone from
 * that record, then the receiver. spandsp is deterministic: the program
 * checks that a replay sends the same IFPs at the same steps and reaches
 * phase E at the same step. Replays are timed with CLOCK_THREAD_CPUTIME_ID,
 * read once per simulated second, and the CPU time is divided by the
 * simulated seconds of the call (steps x 20 ms until that side's phase E).
 *
 * The simulated seconds until the sender's phase E are the T.30 protocol
 * time of the document over T.38 at real pace (call_s). For comparison the
 * program also runs mfx_t30_memory_run() (the sandbox's exchange, linked
 * from the modules library) on the same pages: it runs the terminals
 * unpaced (T38_TERMINAL_OPTION_NO_PACING), so its simulated time
 * (memory_s) leaves out the modem times and is shorter.
 *
 * Prints a RESULT line of key=value pairs and, with --profile, the sender's
 * and receiver's CPU time in each simulated second (the mean over the
 * calls), the same lines bare-g711 prints.
 *
 * Usage: bare-t38 --tiff PAGES.tif --rx-tiff OUT.tif [--calls K] [--ecm 0|1]
 * [--ident ID] [--header TEXT] [--profile] [--no-memory]
 *
 * --ident is the sender's TSI; by default there is none, as for the
 * benchmark's faxes (neither csid nor from_number): mintfaxd then sends no
 * TSI frame, which is worth 1.7 s of V.21 at the start of phase B. With that,
 * each T.30 frame of the exchange falls within one 20 ms tick of where it
 * falls in a real call between mintfaxd and mintfax-peer (checked with both
 * logging at debug).
 */
#include "config.h"
#include "bare_common.h"
#include "mfx.h"
#include "log.h"
#include "t30_setup.h"
#include "t30_memory.h"

#include <getopt.h>
#include <spandsp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP_SAMPLES 160                /* 20 ms at 8 kHz: t38_fax.c's TICK_SAMPLES */
#define STEPS_PER_SECOND 50
#define MAX_SECONDS 900                 /* a call that has not ended by then is stuck */
#define MAX_STEPS (MAX_SECONDS * STEPS_PER_SECOND)
#define MAX_IFP 1400                    /* the peer's T38FaxMaxDatagram bounds an IFP */
#define QUEUE_LEN 512                   /* IFPs in flight one way, at most */

/* One IFP on its way. */
struct ifp {
    uint16_t seq;
    uint16_t len;
    uint8_t buf[MAX_IFP];
};

/* One IFP on a tape. */
struct rec {
    int64_t step;                       /* the step it arrived in */
    uint16_t seq;
    uint16_t len;
    size_t off;                         /* where its bytes are in tape.bytes */
};

/* The IFPs one side received, in the order and at the step they arrived. */
struct tape {
    struct rec *rec;
    size_t n, cap;
    uint8_t *bytes;
    size_t nbytes, capbytes;
    uint64_t out_sum;                   /* checksum of what the side sent (step, IFP, copies) */
    int64_t steps;                      /* steps until its phase E */
};

/* One end of the call. */
struct side {
    const char *name;
    t38_terminal_state_t *t38;
    bool done;
    struct mfx_fax_result result;
    struct ifp *q;                      /* IFPs on their way to this side (QUEUE_LEN) */
    int head, count;
    uint16_t next_seq;                  /* the UDPTL sequence number of the next IFP this side sends */
    struct side *to;                    /* the far end (NULL in a replay) */
    int64_t step;                       /* the current step, for the checksum */
    uint64_t sum;                       /* checksum of what it sent */
    bool overflow;
};

static void on_done(void *ctx, const struct mfx_fax_result *r)
{
    struct side *s = ctx;
    if (s->done) return;
    s->done = true;
    s->result = *r;
}

/* spandsp's t38_tx_packet_handler_t: one IFP to send `count` times. It goes
 * into the checksum; in an exchange it is queued once for the far end (a
 * side that has hung up hears nothing). Returns 0, or -1 when it is too long
 * (t38_fax.c fails such an IFP too) or the queue is full. */
static int on_tx_packet(t38_core_state_t *core, void *user, const uint8_t *buf, int len, int count)
{
    (void)core;
    struct side *s = user;
    if (len <= 0 || len > MAX_IFP) return -1;
    s->sum = sum_bytes(s->sum, &s->step, sizeof s->step);
    s->sum = sum_bytes(s->sum, &count, sizeof count);
    s->sum = sum_bytes(s->sum, buf, (size_t)len);
    uint16_t seq = s->next_seq++;
    struct side *to = s->to;
    if (!to || to->done) return 0;
    if (to->count == QUEUE_LEN) {
        to->overflow = true;
        return -1;
    }
    struct ifp *p = &to->q[(to->head + to->count) % QUEUE_LEN];
    p->seq = seq;
    p->len = (uint16_t)len;
    memcpy(p->buf, buf, (size_t)len);
    to->count++;
    return 0;
}

/* Sets up one side's terminal the way t38_fax.c does (t38_terminal_init,
 * mfx_t30_setup, then its apply_session() for what SDP negotiates between
 * mintfaxd and mintfax-peer: version 0, 14,400 bit/s, transferredTCF,
 * max datagram 1,400). */
static void side_open(struct side *s, bool transmit, const char *file, const char *ident, const char *header, bool ecm)
{
    struct mfx_fax_params p = { .transmit = transmit, .tx_tiff = transmit ? file : NULL,
                                .rx_tiff = transmit ? NULL : file, .ident = ident, .header_text = header,
                                .ecm = ecm, .modems = 0, .log_tag = s->name };
    s->t38 = t38_terminal_init(NULL, transmit, on_tx_packet, s);
    if (!s->t38) abort();
    mfx_t30_log_attach(t38_terminal_get_logging_state(s->t38), s->name);
    mfx_t30_log_attach(t38_core_get_logging_state(t38_terminal_get_t38_core_state(s->t38)), s->name);
    struct mfx_t30_events ev = { .page = NULL, .done = on_done };
    t30_state_t *t30 = t38_terminal_get_t30_state(s->t38);
    mfx_t30_setup(t30, &p, &ev, s);

    t38_core_state_t *core = t38_terminal_get_t38_core_state(s->t38);
    t38_terminal_set_config(s->t38, 0);                          /* paced: UDP */
    t38_terminal_set_tep_mode(s->t38, 0);
    t38_terminal_set_fill_bit_removal(s->t38, 0);
    t38_set_fill_bit_removal(core, 0);
    t38_set_mmr_transcoding(core, 0);
    t38_set_jbig_transcoding(core, 0);
    t38_set_t38_version(core, 0);
    t38_set_data_rate_management_method(core, T38_DATA_RATE_MANAGEMENT_TRANSFERRED_TCF);
    t38_set_fastest_image_data_rate(core, 14400);
    t38_set_max_datagram_size(core, MAX_IFP);
    t38_set_sequence_number_handling(core, 1);
    t30_set_supported_modems(t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);

    if (!s->q) s->q = mfx_malloc(QUEUE_LEN * sizeof *s->q);
    s->done = false;
    s->overflow = false;
    s->head = s->count = 0;
    s->next_seq = 0;
    s->step = 0;
    s->sum = 0xcbf29ce484222325ULL;
    memset(&s->result, 0, sizeof s->result);
}

static void side_close(struct side *s)
{
    t30_state_t *t30 = t38_terminal_get_t30_state(s->t38);
    mfx_t30_detach(t30);
    span_log_set_tag(t38_terminal_get_logging_state(s->t38), NULL);
    span_log_set_tag(t38_core_get_logging_state(t38_terminal_get_t38_core_state(s->t38)), NULL);
    t38_terminal_free(s->t38);
    s->t38 = NULL;
    free(s->q);
    s->q = NULL;
}

/* Appends an arrived IFP to the tape. */
static void tape_add(struct tape *t, int64_t step, const struct ifp *p)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->rec = realloc(t->rec, t->cap * sizeof *t->rec);
        if (!t->rec) abort();
    }
    if (t->nbytes + p->len > t->capbytes) {
        t->capbytes = t->capbytes ? 2 * t->capbytes + p->len : 65536;
        t->bytes = realloc(t->bytes, t->capbytes);
        if (!t->bytes) abort();
    }
    struct rec *r = &t->rec[t->n++];
    r->step = step;
    r->seq = p->seq;
    r->len = p->len;
    r->off = t->nbytes;
    memcpy(t->bytes + t->nbytes, p->buf, p->len);
    t->nbytes += p->len;
}

/* One step of a side in the exchange: what has arrived (recorded on its
 * tape) into t38_core_rx_ifp_packet, then t38_terminal_send_timeout. */
static void side_step(struct side *s, int64_t step, struct tape *t)
{
    s->step = step;
    int n = s->count;
    for (int i = 0; i < n; i++) {
        struct ifp *p = &s->q[s->head];
        s->head = (s->head + 1) % QUEUE_LEN;
        s->count--;
        tape_add(t, step, p);
        t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(s->t38), p->buf, p->len, p->seq);
    }
    t38_terminal_send_timeout(s->t38, STEP_SAMPLES);
}

/* The exchange: both sides until both reached phase E (or MAX_SECONDS).
 * The sender steps first, so what it sends reaches the receiver in the same
 * step; the receiver's IFPs reach the sender in the next. */
static void exchange(struct side *tx, struct side *rx, struct tape *ttx, struct tape *trx)
{
    ttx->n = trx->n = ttx->nbytes = trx->nbytes = 0;
    ttx->steps = trx->steps = 0;
    tx->to = rx;
    rx->to = tx;
    for (int64_t step = 0; (!tx->done || !rx->done) && step < MAX_STEPS; step++) {
        if (!tx->done) {
            side_step(tx, step, ttx);
            ttx->steps = step + 1;
        }
        if (!rx->done) {
            side_step(rx, step, trx);
            trx->steps = step + 1;
        }
    }
    ttx->out_sum = tx->sum;
    trx->out_sum = rx->sum;
}

/* Replays one side alone from its tape (opened by the caller). Adds the CPU
 * ns of each simulated second to profile[] and returns the total, or -1 if
 * the side did not do what it did in the exchange. */
static int64_t replay(struct side *s, const struct tape *t, double *profile)
{
    s->to = NULL;
    t38_core_state_t *core = t38_terminal_get_t38_core_state(s->t38);
    size_t next = 0;
    int64_t start = thread_ns(), mark = start;
    for (int64_t step = 0; step < t->steps; step++) {
        s->step = step;
        for (; next < t->n && t->rec[next].step == step; next++)
            t38_core_rx_ifp_packet(core, t->bytes + t->rec[next].off, t->rec[next].len, t->rec[next].seq);
        t38_terminal_send_timeout(s->t38, STEP_SAMPLES);
        if ((step + 1) % STEPS_PER_SECOND == 0 || step + 1 == t->steps) {
            int64_t now = thread_ns();
            if (step / STEPS_PER_SECOND <= MAX_SECONDS) profile[step / STEPS_PER_SECOND] += (double)(now - mark);
            mark = now;
        }
    }
    int64_t total = mark - start;
    if (s->sum != t->out_sum || !s->done || next != t->n) total = -1;
    return total;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bare-t38 --tiff PAGES.tif --rx-tiff OUT.tif [--calls K] [--ecm 0|1] [--ident ID]\n"
               "                [--header TEXT] [--profile] [--no-memory]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tiff", required_argument, NULL, 't' }, { "rx-tiff", required_argument, NULL, 'r' },
        { "calls", required_argument, NULL, 'c' }, { "ecm", required_argument, NULL, 'e' },
        { "ident", required_argument, NULL, 'i' }, { "header", required_argument, NULL, 'H' },
        { "profile", no_argument, NULL, 'p' }, { "no-memory", no_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *tiff = NULL, *rx_tiff = NULL, *ident = NULL, *header = NULL;
    int calls = 3, ecm = 1;
    bool profile = false, memory = true;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': tiff = optarg; break;
        case 'r': rx_tiff = optarg; break;
        case 'c': calls = atoi(optarg); break;
        case 'e': ecm = atoi(optarg); break;
        case 'i': ident = *optarg ? optarg : NULL; break;
        case 'H': header = optarg; break;
        case 'p': profile = true; break;
        case 'n': memory = false; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!tiff || !rx_tiff || calls < 1 || calls > 1000) {
        usage(stderr);
        return 2;
    }
    mfx_log_level = MFX_LOG_WARN;

    static struct side tx = { .name = "bare-tx" }, rx = { .name = "bare-rx" };
    struct tape ttx = { 0 }, trx = { 0 };
    double *ptx = mfx_calloc(MAX_SECONDS + 1, sizeof *ptx), *prx = mfx_calloc(MAX_SECONDS + 1, sizeof *prx);
    int64_t tx_ns = 0, rx_ns = 0, tx_steps = 0, rx_steps = 0, tx_ifps = 0, rx_ifps = 0;
    int longest = 0, status = 0;
    struct mfx_fax_result last = { 0 };

    for (int k = 0; k < calls; k++) {
        side_open(&tx, true, tiff, ident, header, ecm != 0);
        side_open(&rx, false, rx_tiff, "mintfax-peer", NULL, true);
        exchange(&tx, &rx, &ttx, &trx);
        last = tx.result;
        bool ok = tx.done && tx.result.completion == T30_ERR_OK && rx.done && !tx.overflow && !rx.overflow;
        side_close(&tx);
        side_close(&rx);
        if (!ok) {
            fprintf(stderr, "bare-t38: call %d did not complete: %s\n", k + 1,
                    tx.overflow || rx.overflow ? "an IFP queue overflowed"
                    : last.completion_text[0] ? last.completion_text : "no phase E");
            status = 1;
            break;
        }

        side_open(&tx, true, tiff, ident, header, ecm != 0);
        int64_t ns_tx = replay(&tx, &ttx, ptx);
        side_close(&tx);
        side_open(&rx, false, rx_tiff, "mintfax-peer", NULL, true);
        int64_t ns_rx = replay(&rx, &trx, prx);
        side_close(&rx);
        if (ns_tx < 0 || ns_rx < 0) {
            fprintf(stderr, "bare-t38: call %d: the %s's replay differs from the exchange\n", k + 1,
                    ns_tx < 0 ? "sender" : "receiver");
            status = 1;
            break;
        }
        fprintf(stderr, "bare-t38: call %d: %.2f s, %d pages, %d bit/s, ecm %s, %zu IFPs to the sender, %zu to "
                "the receiver; sender %.2f ms CPU, receiver %.2f ms\n",
                k + 1, (double)ttx.steps / STEPS_PER_SECOND, last.pages, last.bit_rate, last.ecm ? "on" : "off",
                ttx.n, trx.n, (double)ns_tx / 1e6, (double)ns_rx / 1e6);
        tx_ns += ns_tx;
        rx_ns += ns_rx;
        tx_steps += ttx.steps;
        rx_steps += trx.steps;
        tx_ifps += (int64_t)trx.n;          /* what the sender sent is what the receiver got */
        rx_ifps += (int64_t)ttx.n;
        int secs = (int)((ttx.steps + STEPS_PER_SECOND - 1) / STEPS_PER_SECOND);
        if (secs > longest) longest = secs;
    }

    /* The sandbox's unpaced exchange of the same pages, for comparison. */
    double memory_s = 0;
    if (status == 0 && memory) {
        struct mfx_t30_result mr;
        if (mfx_t30_memory_run(tiff, rx_tiff, ident, ecm != 0, &mr) == 0 && mr.completion == T30_ERR_OK)
            memory_s = mr.simulated_seconds;
        else
            fprintf(stderr, "bare-t38: mfx_t30_memory_run did not complete: %s\n", mr.completion_text);
    }

    if (status == 0) {
        double tx_s = (double)tx_steps / STEPS_PER_SECOND, rx_s = (double)rx_steps / STEPS_PER_SECOND;
        if (profile) {
            /* CPU (us) of the sender and the receiver in each simulated second, mean over the calls. */
            for (int s = 0; s < longest; s++)
                printf("PROFILE second=%d tx_us=%.1f rx_us=%.1f\n", s, ptx[s] / 1e3 / calls, prx[s] / 1e3 / calls);
        }
        printf("RESULT calls=%d transport=t38 ecm=%s pages=%d bit_rate=%d call_s=%.2f rx_call_s=%.2f "
               "tx_ifps=%.0f rx_ifps=%.0f tx_cpu_s=%.4f rx_cpu_s=%.4f tx_us_per_chs=%.1f rx_us_per_chs=%.1f",
               calls, last.ecm ? "on" : "off", last.pages, last.bit_rate, tx_s / calls, rx_s / calls,
               (double)tx_ifps / calls, (double)rx_ifps / calls, (double)tx_ns / 1e9, (double)rx_ns / 1e9,
               (double)tx_ns / 1e3 / tx_s, (double)rx_ns / 1e3 / rx_s);
        if (memory_s > 0) printf(" memory_s=%.2f", memory_s);
        printf("\n");
    }
    free(ttx.rec);
    free(trx.rec);
    free(ttx.bytes);
    free(trx.bytes);
    free(ptx);
    free(prx);
    return status;
}
