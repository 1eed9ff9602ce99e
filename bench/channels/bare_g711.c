/* SPDX-License-Identifier: Apache-2.0
 *
 * bare_g711.c: the baseline of bench/channels (see bench/README.md): what a
 * fax call costs with nothing around it. A spandsp fax_state_t sender and a
 * fax_state_t receiver, configured by the same mfx_t30_setup() the daemon and
 * mintfax-peer use (ECM, V.17/V.29/V.27ter, T.4/T.6), exchange 160-sample
 * frames in memory in the G.711 domain: each side does per 20 ms step what
 * audio_fax.c's tick does per packet, in the same order (G.711 decode of the
 * frame that arrived, fax_rx, or fax_rx_fillin when none has; fax_tx; pad
 * to 160 samples; G.711 encode). A fixed delay line of --delay frames each
 * way stands for the jitter buffers (60 ms), so T.30 sees the same round
 * trip. No sockets, RTP, jitter buffer, event loop or clock.
 *
 * To time one side alone without reading a clock around every step (that
 * read is a system call, about as long as a tenth of a step), each call is
 * run three times: first the exchange itself, recording the frames each side
 * received; then the sender alone, fed the frames it received, and then the
 * receiver alone likewise. spandsp is deterministic, so a replay does
 * exactly what the side did in the exchange; the program checks that the
 * frames it sends are the same, byte for byte, and that it reaches phase E
 * at the same step. The replays are timed with CLOCK_THREAD_CPUTIME_ID,
 * read once per simulated second, and the CPU time is divided by the
 * simulated seconds of the call (steps x 20 ms until that side's phase E:
 * the daemon hangs up at the sender's phase E).
 *
 * Prints a RESULT line of key=value pairs and, with --profile, the sender's
 * and receiver's CPU time in each simulated second (the mean over the
 * calls), so that a window in the middle of calls can be compared too.
 *
 * Usage: bare-g711 --tiff PAGES.tif --rx-tiff OUT.tif [--calls K] [--law
 * ulaw|alaw] [--ecm 0|1] [--delay FRAMES] [--ident ID] [--header TEXT]
 * [--profile]
 */
#include "config.h"
#include "bare_common.h"
#include "mfx.h"
#include "log.h"
#include "t30_setup.h"

#include <getopt.h>
#include <spandsp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRAME 160                       /* samples per 20 ms step (8 kHz) */
#define MAX_DELAY 50                    /* frames in flight each way, at most */
#define STEPS_PER_SECOND 50
#define MAX_SECONDS 900                 /* a call that has not ended by then is stuck */
#define MAX_STEPS (MAX_SECONDS * STEPS_PER_SECOND)

/* The frames one side received, step by step, in the exchange. */
struct tape {
    uint8_t (*frame)[FRAME];            /* frame[step] */
    bool *have;                         /* false: nothing had arrived (fill-in) */
    uint64_t out_sum;                   /* checksum of the frames the side sent */
    int64_t steps;                      /* steps until its phase E */
};

/* One end of the call. */
struct side {
    const char *name;
    fax_state_t *fax;
    g711_state_t *g711;
    bool done;
    struct mfx_fax_result result;
    uint8_t line[MAX_DELAY + 1][FRAME]; /* frames on their way to this side, oldest at head */
    int head, count;
};

static void on_done(void *ctx, const struct mfx_fax_result *r)
{
    struct side *s = ctx;
    if (s->done) return;
    s->done = true;
    s->result = *r;
}

/* Sets up one side's fax engine the way audio_fax.c does (fax_init,
 * transmit on idle, no TEP, mfx_t30_setup). */
static void side_open(struct side *s, bool transmit, const char *file, const char *ident, const char *header,
                      bool ecm, int law)
{
    struct mfx_fax_params p = { .transmit = transmit, .tx_tiff = transmit ? file : NULL,
                                .rx_tiff = transmit ? NULL : file, .ident = ident, .header_text = header,
                                .ecm = ecm, .modems = 0, .log_tag = s->name };
    s->fax = fax_init(NULL, transmit);
    if (!s->fax) abort();
    fax_set_transmit_on_idle(s->fax, 1);
    fax_set_tep_mode(s->fax, 0);
    mfx_t30_log_attach(fax_get_logging_state(s->fax), s->name);
    struct mfx_t30_events ev = { .page = NULL, .done = on_done };
    mfx_t30_setup(fax_get_t30_state(s->fax), &p, &ev, s);
    s->g711 = g711_init(NULL, law);
    if (!s->g711) abort();
    s->done = false;
    s->head = s->count = 0;
    memset(&s->result, 0, sizeof s->result);
}

static void side_close(struct side *s)
{
    mfx_t30_detach(fax_get_t30_state(s->fax));
    span_log_set_tag(fax_get_logging_state(s->fax), NULL);
    fax_free(s->fax);
    g711_free(s->g711);
    s->fax = NULL;
    s->g711 = NULL;
}

/* One 20 ms step of a side, as audio_fax.c's on_tick: in (NULL: nothing
 * arrived) through G.711 decode into fax_rx, or fax_rx_fillin; fax_tx,
 * padded with silence, G.711-encoded into out. */
static void side_step(struct side *s, const uint8_t *in, uint8_t out[FRAME])
{
    int16_t amp[FRAME];
    if (in) {
        g711_decode(s->g711, amp, in, FRAME);
        fax_rx(s->fax, amp, FRAME);
    } else {
        fax_rx_fillin(s->fax, FRAME);
    }
    int n = fax_tx(s->fax, amp, FRAME);
    if (n < FRAME) memset(amp + n, 0, (size_t)(FRAME - n) * sizeof amp[0]);
    g711_encode(s->g711, out, amp, FRAME);
}

/* The frame that reaches s at this step: the oldest in its delay line once
 * the line holds more than delay frames (the jitter buffer has primed). */
static const uint8_t *side_input(struct side *s, int delay, uint8_t buf[FRAME])
{
    if (s->count <= delay) return NULL;
    memcpy(buf, s->line[s->head], FRAME);
    s->head = (s->head + 1) % (MAX_DELAY + 1);
    s->count--;
    return buf;
}

static void side_send(struct side *to, const uint8_t f[FRAME])
{
    if (to->done || to->count > MAX_DELAY) return;        /* a side that has hung up hears nothing */
    memcpy(to->line[(to->head + to->count) % (MAX_DELAY + 1)], f, FRAME);
    to->count++;
}

/* The exchange: both sides until both reached phase E (or MAX_SECONDS),
 * recording in ttx and trx what each received and a checksum of what it sent. */
static void exchange(struct side *tx, struct side *rx, int delay, struct tape *ttx, struct tape *trx)
{
    uint8_t in[FRAME], out[FRAME];
    ttx->out_sum = trx->out_sum = 0xcbf29ce484222325ULL;
    ttx->steps = trx->steps = 0;
    for (int64_t step = 0; (!tx->done || !rx->done) && step < MAX_STEPS; step++) {
        if (!tx->done) {
            const uint8_t *f = side_input(tx, delay, in);
            ttx->have[step] = f != NULL;
            if (f) memcpy(ttx->frame[step], f, FRAME);
            side_step(tx, f, out);
            ttx->out_sum = sum_bytes(ttx->out_sum, out, FRAME);
            ttx->steps = step + 1;
            side_send(rx, out);
        }
        if (!rx->done) {
            const uint8_t *f = side_input(rx, delay, in);
            trx->have[step] = f != NULL;
            if (f) memcpy(trx->frame[step], f, FRAME);
            side_step(rx, f, out);
            trx->out_sum = sum_bytes(trx->out_sum, out, FRAME);
            trx->steps = step + 1;
            side_send(tx, out);
        }
    }
}

/* Replays m copies of one side from its tape, stepping them in turn like
 * the media clock steps every leg in one tick; copy i starts spread * i / m
 * steps after the first (calls in a daemon start at different times, so
 * they are in different phases at any moment). Adds the CPU ns of each
 * simulated second of the first copy's timeline (all copies) to profile[]
 * and returns the total CPU ns, or -1 if a copy did not do what the side
 * did in the exchange. */
static int64_t replay(struct side *s, int m, int64_t spread, const struct tape *t, double *profile)
{
    uint8_t out[FRAME];
    uint64_t *sum = mfx_malloc((size_t)m * sizeof *sum);
    for (int i = 0; i < m; i++) sum[i] = 0xcbf29ce484222325ULL;
    int64_t end = t->steps + (m > 1 ? spread * (m - 1) / m : 0);
    int64_t start = thread_ns(), mark = start;
    for (int64_t step = 0; step < end; step++) {
        for (int i = 0; i < m; i++) {
            int64_t k = step - (m > 1 ? spread * i / m : 0);
            if (k < 0 || k >= t->steps) continue;
            side_step(&s[i], t->have[k] ? t->frame[k] : NULL, out);
            sum[i] = sum_bytes(sum[i], out, FRAME);
        }
        if ((step + 1) % STEPS_PER_SECOND == 0 || step + 1 == end) {
            int64_t now = thread_ns();
            if (step / STEPS_PER_SECOND <= MAX_SECONDS) profile[step / STEPS_PER_SECOND] += (double)(now - mark);
            mark = now;
        }
    }
    int64_t total = mark - start;
    for (int i = 0; i < m; i++)
        if (sum[i] != t->out_sum || !s[i].done) total = -1;
    free(sum);
    return total;
}

/* Opens m copies of a side (receivers write to FILE.N), replays them from
 * the tape and closes them; see replay(). */
static int64_t replay_copies(int m, int64_t spread, bool transmit, const char *file, const char *ident, const char *header,
                             bool ecm, int law, const struct tape *t, double *profile)
{
    struct side *s = mfx_calloc((size_t)m, sizeof *s);
    char **names = mfx_calloc((size_t)m, sizeof *names);
    for (int i = 0; i < m; i++) {
        s[i].name = transmit ? "bare-tx" : "bare-rx";
        names[i] = m > 1 && !transmit ? mfx_asprintf("%s.%d", file, i) : mfx_strdup(file);
        side_open(&s[i], transmit, names[i], ident, header, ecm, law);
    }
    int64_t ns = replay(s, m, spread, t, profile);
    for (int i = 0; i < m; i++) {
        side_close(&s[i]);
        if (m > 1 && !transmit) remove(names[i]);
        free(names[i]);
    }
    free(names);
    free(s);
    return ns;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bare-g711 --tiff PAGES.tif --rx-tiff OUT.tif [--calls K] [--law ulaw|alaw] [--ecm 0|1]\n"
               "                 [--delay FRAMES] [--ident ID] [--header TEXT] [--profile]\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "tiff", required_argument, NULL, 't' }, { "rx-tiff", required_argument, NULL, 'r' },
        { "calls", required_argument, NULL, 'c' }, { "law", required_argument, NULL, 'l' },
        { "ecm", required_argument, NULL, 'e' }, { "delay", required_argument, NULL, 'd' },
        { "ident", required_argument, NULL, 'i' }, { "header", required_argument, NULL, 'H' },
        { "profile", no_argument, NULL, 'p' }, { "interleave", required_argument, NULL, 'm' },
        { "spread", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *tiff = NULL, *rx_tiff = NULL, *ident = "+15005550100", *header = NULL;
    int calls = 3, law = G711_ULAW, ecm = 1, delay = 3, interleave = 1;
    int64_t spread = 0;
    bool profile = false;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 't': tiff = optarg; break;
        case 'r': rx_tiff = optarg; break;
        case 'c': calls = atoi(optarg); break;
        case 'l':
            if (!strcmp(optarg, "ulaw")) law = G711_ULAW;
            else if (!strcmp(optarg, "alaw")) law = G711_ALAW;
            else law = -1;
            break;
        case 'e': ecm = atoi(optarg); break;
        case 'd': delay = atoi(optarg); break;
        case 'i': ident = optarg; break;
        case 'H': header = optarg; break;
        case 'p': profile = true; break;
        case 'm': interleave = atoi(optarg); break;
        case 's': spread = (int64_t)(atof(optarg) * STEPS_PER_SECOND); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!tiff || !rx_tiff || calls < 1 || calls > 1000 || interleave < 1 || interleave > 5000 || spread < 0 || spread > 60 * STEPS_PER_SECOND || law < 0 || delay < 0 || delay > MAX_DELAY) {
        usage(stderr);
        return 2;
    }
    mfx_log_level = MFX_LOG_WARN;

    static struct side tx = { .name = "bare-tx" }, rx = { .name = "bare-rx" };
    struct tape ttx = { 0 }, trx = { 0 };
    ttx.frame = mfx_malloc((size_t)MAX_STEPS * FRAME);
    trx.frame = mfx_malloc((size_t)MAX_STEPS * FRAME);
    ttx.have = mfx_calloc(MAX_STEPS, sizeof *ttx.have);
    trx.have = mfx_calloc(MAX_STEPS, sizeof *trx.have);
    double *ptx = mfx_calloc(MAX_SECONDS + 1, sizeof *ptx), *prx = mfx_calloc(MAX_SECONDS + 1, sizeof *prx);
    double *iptx = mfx_calloc(MAX_SECONDS + 1, sizeof *iptx), *iprx = mfx_calloc(MAX_SECONDS + 1, sizeof *iprx);
    int64_t il_tx_ns = 0, il_rx_ns = 0;
    int64_t tx_ns = 0, rx_ns = 0, tx_steps = 0, rx_steps = 0;
    int longest = 0, status = 0;
    struct mfx_fax_result last = { 0 };

    for (int k = 0; k < calls; k++) {
        side_open(&tx, true, tiff, ident, header, ecm != 0, law);
        side_open(&rx, false, rx_tiff, "mintfax-peer", NULL, true, law);
        exchange(&tx, &rx, delay, &ttx, &trx);
        last = tx.result;
        bool ok = tx.done && tx.result.completion == T30_ERR_OK && rx.done;
        side_close(&tx);
        side_close(&rx);
        if (!ok) {
            fprintf(stderr, "bare-g711: call %d did not complete: %s\n", k + 1,
                    last.completion_text[0] ? last.completion_text : "no phase E");
            status = 1;
            break;
        }

        int64_t ns_tx = replay_copies(1, 0, true, tiff, ident, header, ecm != 0, law, &ttx, ptx);
        int64_t ns_rx = replay_copies(1, 0, false, rx_tiff, "mintfax-peer", NULL, true, law, &trx, prx);
        if (interleave > 1 && ns_tx >= 0 && ns_rx >= 0) {
            int64_t a = replay_copies(interleave, spread, true, tiff, ident, header, ecm != 0, law, &ttx, iptx);
            int64_t b = replay_copies(interleave, spread, false, rx_tiff, "mintfax-peer", NULL, true, law, &trx, iprx);
            if (a < 0 || b < 0) ns_tx = -1;
            il_tx_ns += a;
            il_rx_ns += b;
        }
        if (ns_tx < 0 || ns_rx < 0) {
            fprintf(stderr, "bare-g711: call %d: the %s's replay differs from the exchange\n", k + 1,
                    ns_tx < 0 ? "sender" : "receiver");
            status = 1;
            break;
        }
        fprintf(stderr, "bare-g711: call %d: %.2f s, %d pages, %d bit/s, ecm %s; sender %.2f ms CPU, receiver %.2f ms\n",
                k + 1, (double)ttx.steps / STEPS_PER_SECOND, last.pages, last.bit_rate, last.ecm ? "on" : "off",
                (double)ns_tx / 1e6, (double)ns_rx / 1e6);
        tx_ns += ns_tx;
        rx_ns += ns_rx;
        tx_steps += ttx.steps;
        rx_steps += trx.steps;
        int secs = (int)((ttx.steps + STEPS_PER_SECOND - 1) / STEPS_PER_SECOND);
        if (secs > longest) longest = secs;
    }

    if (status == 0) {
        double tx_s = (double)tx_steps / STEPS_PER_SECOND, rx_s = (double)rx_steps / STEPS_PER_SECOND;
        if (profile) {
            /* CPU (us) of the sender and the receiver in each simulated second, mean over the calls. */
            for (int s = 0; s < longest; s++)
                printf("PROFILE second=%d tx_us=%.1f rx_us=%.1f il_tx_us=%.1f il_rx_us=%.1f\n", s,
                       ptx[s] / 1e3 / calls, prx[s] / 1e3 / calls, iptx[s] / 1e3 / calls / interleave,
                       iprx[s] / 1e3 / calls / interleave);
        }
        printf("RESULT calls=%d law=%s ecm=%s pages=%d bit_rate=%d call_s=%.2f rx_call_s=%.2f tx_cpu_s=%.4f "
               "rx_cpu_s=%.4f tx_us_per_chs=%.1f rx_us_per_chs=%.1f interleave=%d il_tx_us_per_chs=%.1f "
               "il_rx_us_per_chs=%.1f\n",
               calls, law == G711_ULAW ? "ulaw" : "alaw", last.ecm ? "on" : "off", last.pages, last.bit_rate,
               tx_s / calls, rx_s / calls, (double)tx_ns / 1e9, (double)rx_ns / 1e9, (double)tx_ns / 1e3 / tx_s,
               (double)rx_ns / 1e3 / rx_s, interleave, (double)il_tx_ns / 1e3 / tx_s / interleave,
               (double)il_rx_ns / 1e3 / rx_s / interleave);
    }
    free(ttx.frame);
    free(trx.frame);
    free(ttx.have);
    free(trx.have);
    free(ptx);
    free(prx);
    free(iptx);
    free(iprx);
    return status;
}
