/* SPDX-License-Identifier: Apache-2.0
 *
 * t30_memory.c: two spandsp t38_terminal_state_t back to back (ITU-T T.38
 * termination, T.30 underneath), like spandsp's own t38_terminal tests, but
 * as a library call. Packets go into a small FIFO per direction and are
 * delivered on the next 20 ms step, which is how a loopback link behaves;
 * t38_terminal_send_timeout() advances each side's T.30 timers by the same
 * number of samples, so the protocol's timing is exercised without waiting.
 */
#include "config.h"
#include "t30_memory.h"

#include <spandsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STEP_SAMPLES 160                 /* 20 ms at 8 kHz */
#define MAX_SECONDS (15 * 60)            /* a stuck exchange ends anyway */
#define QUEUE_LEN 512
#define MAX_IFP 1024

struct packet {
    uint16_t seq;
    int len;
    uint8_t buf[MAX_IFP];
};

struct direction {
    struct packet q[QUEUE_LEN];
    int head, count;
    uint16_t next_seq;
    t38_terminal_state_t *to;            /* the receiving side */
};

struct side_state {
    bool done;
    int completion;
};

static int queue_packet(t38_core_state_t *core, void *user, const uint8_t *buf, int len, int count)
{
    (void)core; (void)count;                 /* redundant copies: one is enough here */
    struct direction *d = user;
    if (len > MAX_IFP || d->count == QUEUE_LEN) return -1;
    struct packet *p = &d->q[(d->head + d->count) % QUEUE_LEN];
    p->seq = d->next_seq++;
    p->len = len;
    memcpy(p->buf, buf, (size_t)len);
    d->count++;
    return 0;
}

static void deliver(struct direction *d)
{
    int n = d->count;                        /* what arrived before this step */
    for (int i = 0; i < n; i++) {
        struct packet *p = &d->q[d->head];
        d->head = (d->head + 1) % QUEUE_LEN;
        d->count--;
        t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(d->to), p->buf, p->len, p->seq);
    }
}

static void phase_e(t30_state_t *s, void *user, int completion)
{
    (void)s;
    struct side_state *st = user;
    st->done = true;
    st->completion = completion;
}

static void configure(t30_state_t *t30, bool ecm, const char *ident)
{
    t30_set_supported_modems(t30, T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION |
                                        T30_SUPPORT_T6_COMPRESSION);
    t30_set_ecm_capability(t30, ecm);
    if (ident) t30_set_tx_ident(t30, ident);
}

int mfx_t30_memory_run(const char *tx_tiff, const char *rx_tiff, const char *tsi, bool ecm,
                       struct mfx_t30_result *r)
{
    memset(r, 0, sizeof *r);
    r->completion = -1;
    struct direction *to_rx = calloc(1, sizeof *to_rx), *to_tx = calloc(1, sizeof *to_tx);
    if (!to_rx || !to_tx) abort();
    struct side_state tx_state = { 0 }, rx_state = { 0 };
    t38_terminal_state_t *tx = t38_terminal_init(NULL, 1, queue_packet, to_rx);
    t38_terminal_state_t *rx = t38_terminal_init(NULL, 0, queue_packet, to_tx);
    int rc = -1;
    if (!tx || !rx) goto out;
    to_rx->to = rx;
    to_tx->to = tx;
    t38_terminal_set_config(tx, T38_TERMINAL_OPTION_NO_PACING);
    t38_terminal_set_config(rx, T38_TERMINAL_OPTION_NO_PACING);
    t30_state_t *t30_tx = t38_terminal_get_t30_state(tx), *t30_rx = t38_terminal_get_t30_state(rx);
    configure(t30_tx, ecm, tsi);
    configure(t30_rx, ecm, "MINTFAX SANDBOX");
    t30_set_tx_file(t30_tx, tx_tiff, -1, -1);
    t30_set_rx_file(t30_rx, rx_tiff, -1);
    t30_set_phase_e_handler(t30_tx, phase_e, &tx_state);
    t30_set_phase_e_handler(t30_rx, phase_e, &rx_state);

    long steps = 0, max_steps = (long)MAX_SECONDS * 8000 / STEP_SAMPLES;
    while (!(tx_state.done && rx_state.done) && steps < max_steps) {
        deliver(to_rx);
        deliver(to_tx);
        t38_terminal_send_timeout(tx, STEP_SAMPLES);
        t38_terminal_send_timeout(rx, STEP_SAMPLES);
        steps++;
    }
    r->simulated_seconds = (double)steps * STEP_SAMPLES / 8000.0;
    t30_stats_t stats;
    t30_get_transfer_statistics(t30_tx, &stats);
    r->pages_sent = stats.pages_tx;
    r->bit_rate = stats.bit_rate;
    r->ecm = stats.error_correcting_mode != 0;
    t30_get_transfer_statistics(t30_rx, &stats);
    r->pages_received = stats.pages_rx;
    const char *ident = t30_get_rx_ident(t30_tx);
    snprintf(r->remote_ident, sizeof r->remote_ident, "%s", ident ? ident : "");
    r->completion = tx_state.done ? tx_state.completion : T30_ERR_CALLDROPPED;
    snprintf(r->completion_text, sizeof r->completion_text, "%s",
             tx_state.done ? t30_completion_code_to_str(tx_state.completion) : "the exchange did not finish in 15 minutes");
    rc = 0;
out:
    if (tx) t38_terminal_free(tx);
    if (rx) t38_terminal_free(rx);
    free(to_rx);
    free(to_tx);
    return rc;
}
