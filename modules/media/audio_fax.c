/* SPDX-License-Identifier: Apache-2.0
 *
 * audio_fax.c: one G.711 fax leg (audio_fax.h). Everything happens in the
 * media clock's tick, in this order: drain the socket into the jitter buffer
 * (so a tick that runs late, or a catch-up run of several, still sees every
 * packet that arrived before it), one frame out of the jitter buffer into
 * fax_rx (or fax_rx_fillin), 160 samples from fax_tx, optional noise, G.711
 * encode, one RTP packet out (RFC 3550 §5.1, RFC 3551 §4.5: ptime 20, the
 * timestamp counts samples). The tick runs on the media thread with the
 * clock's lock held (media_clock.h); so do the delayed sends of the jitter
 * impairment, on the media thread's loop. What the owner hears of - a page,
 * phase E, the fax tone (CED or V.21 preamble) that spandsp's
 * modem_connect_tones_rx finds in the received audio when the owner asked
 * for it - is kept in the leg and reported by a post on the owner's loop,
 * one callback per run of deliver(), never from inside spandsp, so every
 * callback may free the leg. The public functions take the lock; freeing
 * retires the leg to the media thread, which destroys it.
 * The T.30 configuration is in t30_setup.c; the SIP carrier drives this.
 */
#include "config.h"
#include "mfx.h"
#include "log.h"
#include "audio_fax.h"
#include "leg_report.h"
#include "udp.h"
#include "rtp.h"

#include <errno.h>
#include <event2/event.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <spandsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME MFX_JITTER_FRAME
#define RX_BUF 2048                       /* larger than any G.711 packet we accept */
#define RX_PER_TICK 64                    /* datagrams drained per tick at most */
#define MAX_DELAYED 256                   /* jitter impairment: packets in flight at most */

struct delayed {
    struct event *ev;
    struct mfx_audio_fax *a;
    size_t len;
    uint8_t buf[MFX_RTP_HEADER_LEN + FRAME];
    struct delayed *prev, *next;          /* in a->inflight, or a->spare (next only) */
};

struct mfx_audio_fax {
    struct mfx_media_clock *clk;
    struct mfx_media_tick *tick;
    enum mfx_audio_mode mode;
    int fd;
    int local_port;
    struct sockaddr_storage remote;
    socklen_t remote_len;
    bool started;
    int pt;

    fax_state_t *fax;
    bool transmit;
    g711_state_t *g711;
    struct mfx_jitter *jb;
    int jb_delay, jb_capacity;

    uint16_t seq;
    uint32_t ts, ssrc;
    bool sent_first;

    struct mfx_audio_impair imp;
    awgn_state_t *noise;
    uint64_t rng;
    struct delayed *inflight, *spare;
    int n_delayed;

    /* MFX_AUDIO_SPEECH */
    double sp_phase, sp_f0;
    int sp_left;                          /* samples left in the current syllable or pause */
    bool sp_voiced;
    int sp_len;

    struct mfx_audio_fax_callbacks cb;
    void *ctx;
    struct mfx_leg_report rep;            /* pages, tone, phase E: told by deliver() */

    mfx_audio_fax_tone_fn tone_fn;
    modem_connect_tones_rx_state_t *tone_rx;  /* only while tone_fn waits for its tone */

    bool dead;                            /* freed by the owner: retired, waiting for destroy() */

    struct mfx_audio_stats st;
    char tag[MFX_ID_MAX + 8];
};

static void destroy(void *obj);

/* ---- small helpers ----------------------------------------------------- */

/* ---- T.30 events ------------------------------------------------------- */

/* A page, from inside spandsp on the media thread: told by deliver(). */
static void on_page(void *ctx, int pages)
{
    struct mfx_audio_fax *a = ctx;
    if (!a->dead) mfx_leg_report_page(&a->rep, a->clk, pages);
}

/* Phase E, from inside spandsp: kept and told by deliver(). */
static void on_t30_done(void *ctx, const struct mfx_fax_result *r)
{
    struct mfx_audio_fax *a = ctx;
    if (!a->dead) mfx_leg_report_done(&a->rep, a->clk, r);
}

/* On the owner's loop: one callback per run (each may free the leg: touch
 * nothing after). */
static void deliver(void *arg)
{
    struct mfx_audio_fax *a = arg;
    int pages = 0, tone = 0;
    struct mfx_fax_result r;
    switch (mfx_leg_report_next(&a->rep, a->clk, &pages, &tone, &r)) {
    case MFX_LEG_PAGE:
        if (a->cb.page) a->cb.page(a->ctx, pages);
        break;
    case MFX_LEG_TONE:
        mfx_debug("media", "%s heard %s", a->tag, modem_connect_tone_to_str(tone));
        if (a->tone_fn) a->tone_fn(a->ctx, tone);
        break;
    case MFX_LEG_DONE:
        if (a->cb.done) a->cb.done(a->ctx, &r);
        break;
    case MFX_LEG_NOTHING:
        break;
    }
}

/* ---- fax tone detection (for the switch to T.38) ----------------------- */

/* spandsp's tone report, from inside modem_connect_tones_rx: the first tone
 * (not the NONE that reports a tone's end) is kept and told by deliver();
 * the detector is freed after the frame (see on_tick). */
static void on_tone(void *user, int code, int level, int delay)
{
    (void)level; (void)delay;
    struct mfx_audio_fax *a = user;
    if (code != MODEM_CONNECT_TONES_NONE && !a->dead) mfx_leg_report_tone(&a->rep, a->clk, code);
}

/* ---- sending ----------------------------------------------------------- */

static void send_now(struct mfx_audio_fax *a, const uint8_t *buf, size_t len)
{
    if (sendto(a->fd, buf, len, 0, (const struct sockaddr *)&a->remote, a->remote_len) == (ssize_t)len)
        a->st.tx_packets++;
}

/* A delayed packet's time has come (media thread; destroy() frees what is
 * still pending, so a is alive). */
static void delayed_fire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct delayed *d = arg;
    struct mfx_audio_fax *a = d->a;
    mfx_media_clock_lock(a->clk);
    if (!a->dead) send_now(a, d->buf, d->len);
    if (d->prev) d->prev->next = d->next;
    else a->inflight = d->next;
    if (d->next) d->next->prev = d->prev;
    d->prev = NULL;
    d->next = a->spare;
    a->spare = d;
    a->n_delayed--;
    mfx_media_clock_unlock(a->clk);
}

/* Sends one packet through the impairments: random loss, then a random delay
 * of 0..jitter_ms media milliseconds (so packets may overtake each other). */
static void send_packet(struct mfx_audio_fax *a, const uint8_t *buf, size_t len)
{
    if (a->imp.loss_pct > 0 && mfx_udp_rnd_unit(&a->rng) * 100.0 < a->imp.loss_pct) {
        a->st.tx_lost++;
        return;
    }
    if (a->imp.jitter_ms <= 0 || a->n_delayed >= MAX_DELAYED) {
        send_now(a, buf, len);
        return;
    }
    double ms = (double)(mfx_udp_rnd(&a->rng) % (uint64_t)(a->imp.jitter_ms + 1)) / mfx_media_clock_speed(a->clk);
    int64_t us = (int64_t)(ms * 1000.0);
    if (us <= 0) {
        send_now(a, buf, len);
        return;
    }
    struct delayed *d = a->spare;
    if (d) {
        a->spare = d->next;
    } else {
        d = mfx_calloc(1, sizeof *d);
        d->a = a;
        d->ev = evtimer_new(mfx_media_clock_base(a->clk), delayed_fire, d);
        if (!d->ev) abort();
    }
    memcpy(d->buf, buf, len);
    d->len = len;
    d->prev = NULL;
    d->next = a->inflight;
    if (a->inflight) a->inflight->prev = d;
    a->inflight = d;
    a->n_delayed++;
    struct timeval tv = { .tv_sec = (time_t)(us / 1000000), .tv_usec = (suseconds_t)(us % 1000000) };
    evtimer_add(d->ev, &tv);
}

/* A speech-like signal for MFX_AUDIO_SPEECH: syllables of 120-350 ms of a
 * harmonic-rich voice (f0 90-220 Hz, gliding) at about -20 dBm0, separated
 * by pauses of 80-500 ms. Nothing in it lasts long enough, or sits on one
 * frequency, for a fax tone or V.21 detector. */
static void speech_frame(struct mfx_audio_fax *a, int16_t *out)
{
    for (int i = 0; i < FRAME; i++) {
        if (a->sp_left <= 0) {
            a->sp_voiced = !a->sp_voiced;
            a->sp_len = a->sp_left = (int)(8 * (a->sp_voiced ? 120 + mfx_udp_rnd(&a->rng) % 230 : 80 + mfx_udp_rnd(&a->rng) % 420));
            a->sp_f0 = 90 + (double)(mfx_udp_rnd(&a->rng) % 130);
        }
        double v = 0;
        if (a->sp_voiced) {
            double pos = 1.0 - (double)a->sp_left / a->sp_len;
            double env = sin(M_PI * pos);
            a->sp_phase += 2 * M_PI * a->sp_f0 * (1.0 + 0.2 * pos) / 8000.0;
            if (a->sp_phase > 2 * M_PI) a->sp_phase -= 2 * M_PI;
            for (int k = 1; k <= 8; k++) v += sin(k * a->sp_phase) / k;
            v *= env * 1500.0;
        }
        a->sp_left--;
        out[i] = (int16_t)v;
    }
}

/* ---- the tick ---------------------------------------------------------- */

/* Handles one datagram that arrived from `from`. */
static void take_packet(struct mfx_audio_fax *a, const uint8_t *buf, size_t n, const struct sockaddr_storage *from)
{
    if (!a->started || !mfx_udp_same_addr(from, &a->remote)) {
        a->st.rx_wrong_source++;
        return;
    }
    struct mfx_rtp_packet pkt;
    if (n > RX_BUF || mfx_rtp_parse(buf, n, &pkt) != 0) {
        a->st.rx_bad++;
        return;
    }
    if (pkt.pt != a->pt) {
        a->st.rx_unknown_pt++;
        return;
    }
    a->st.rx_packets++;
    mfx_jitter_put(a->jb, pkt.ssrc, pkt.seq, pkt.ts, pkt.payload, pkt.payload_len);
}

/* Reads what arrived since the last tick into the jitter buffer, a batch
 * per system call (recvmmsg): usually one packet, after a late tick a few.
 * A batch that comes back short means the socket is drained, so the
 * common tick costs one call, not a read plus an EAGAIN. */
#define RX_BATCH 8
static void drain(struct mfx_audio_fax *a)
{
    static _Thread_local uint8_t bufs[RX_BATCH][RX_BUF];   /* consumed before returning */
    struct mmsghdr msgs[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage from[RX_BATCH];
    for (int total = 0; total < RX_PER_TICK;) {
        for (int i = 0; i < RX_BATCH; i++) {
            iov[i] = (struct iovec){ bufs[i], RX_BUF };
            msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                               .msg_iov = &iov[i], .msg_iovlen = 1 };
            msgs[i].msg_len = 0;
        }
        int n = recvmmsg(a->fd, msgs, RX_BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;                                          /* EAGAIN: drained; others: try next tick */
        }
        for (int i = 0; i < n; i++) {
            size_t len = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? RX_BUF + 1 : msgs[i].msg_len;
            take_packet(a, bufs[i], len, &from[i]);
        }
        total += n;
        if (n < RX_BATCH) return;
    }
}

/* One 20 ms step of the leg (see the top of the file); media thread, lock
 * held. */
static void on_tick(void *arg)
{
    struct mfx_audio_fax *a = arg;
    uint8_t frame[FRAME];
    int16_t amp[FRAME];

    drain(a);
    int got = mfx_jitter_get(a->jb, frame);
    int n = 0;
    if (got == 1 && (a->fax || a->tone_rx)) g711_decode(a->g711, amp, frame, FRAME);
    if (a->tone_rx) {
        /* A missing frame is silence to the detector, which ends a tone: as on the line. */
        if (got != 1) memset(amp, 0, sizeof amp);
        modem_connect_tones_rx(a->tone_rx, amp, FRAME);
        if (a->rep.tone) {
            modem_connect_tones_rx_free(a->tone_rx);
            a->tone_rx = NULL;
        }
    }
    if (a->fax) {
        if (got == 1) fax_rx(a->fax, amp, FRAME);
        else fax_rx_fillin(a->fax, FRAME);
        n = fax_tx(a->fax, amp, FRAME);
    } else if (a->mode == MFX_AUDIO_SPEECH) {
        speech_frame(a, amp);
        n = FRAME;
    }
    if (n < FRAME) memset(amp + n, 0, (size_t)(FRAME - n) * sizeof amp[0]);
    if (a->noise) {
        for (int i = 0; i < FRAME; i++) {
            int v = amp[i] + awgn(a->noise);
            amp[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
    }
    g711_encode(a->g711, frame, amp, FRAME);

    struct mfx_rtp_packet p = { .pt = (uint8_t)a->pt, .marker = !a->sent_first, .seq = a->seq, .ts = a->ts,
                                .ssrc = a->ssrc, .payload = frame, .payload_len = FRAME };
    uint8_t pkt[MFX_RTP_HEADER_LEN + FRAME];
    size_t len = mfx_rtp_write(pkt, sizeof pkt, &p);
    a->sent_first = true;
    a->seq++;
    a->ts += FRAME;                                          /* RFC 3551 §4.5: 8000 Hz clock */
    send_packet(a, pkt, len);
}

/* ---- public API -------------------------------------------------------- */

struct mfx_audio_fax *mfx_audio_fax_new(struct mfx_media_clock *clk, const char *local_ip,
                                        enum mfx_audio_mode mode, const struct mfx_fax_params *p,
                                        const struct mfx_audio_impair *imp,
                                        const struct mfx_audio_fax_callbacks *cb, void *ctx, char **err)
{
    if (mode == MFX_AUDIO_FAX && !p) {
        *err = mfx_strdup("fax mode needs fax parameters");
        return NULL;
    }
    if (mode != MFX_AUDIO_FAX && mode != MFX_AUDIO_SILENCE && mode != MFX_AUDIO_SPEECH) {
        *err = mfx_strdup("unknown audio mode");
        return NULL;
    }
    int port = 0;
    errno = 0;
    int fd = mfx_udp_open(local_ip, true, &port);
    if (fd < 0) {
        *err = mfx_asprintf("cannot open a UDP socket on %s: %s", local_ip ? local_ip : "(null)",
                            errno ? strerror(errno) : "not a numeric address");
        return NULL;
    }
    struct mfx_audio_fax *a = mfx_calloc(1, sizeof *a);
    a->clk = clk;
    a->mode = mode;
    a->fd = fd;
    a->local_port = port;
    a->jb_delay = MFX_AUDIO_JITTER_DELAY;
    a->jb_capacity = MFX_AUDIO_JITTER_CAPACITY;
    if (cb) a->cb = *cb;
    a->ctx = ctx;
    snprintf(a->tag, sizeof a->tag, "%s", p && p->log_tag ? p->log_tag : "audio");
    a->rep.post.fn = deliver;
    a->rep.post.ctx = a;
    if (imp) a->imp = *imp;
    if (a->imp.loss_pct < 0) a->imp.loss_pct = 0;
    if (a->imp.jitter_ms < 0) a->imp.jitter_ms = 0;
    if (a->imp.jitter_ms > 1000) a->imp.jitter_ms = 1000;
    uint64_t seed = a->imp.seed;
    if (seed == 0) mfx_udp_random_bytes(&seed, sizeof seed);
    a->rng = seed ? seed : 0x9E3779B97F4A7C15ULL;
    if (a->imp.noise_dbm0 < 0)
        a->noise = awgn_init_dbm0(NULL, (int)(seed & 0x7fffffff) + 1, (float)a->imp.noise_dbm0);

    mfx_udp_random_bytes(&a->ssrc, sizeof a->ssrc);                  /* RFC 3550 §5.1: random initial values */
    mfx_udp_random_bytes(&a->seq, sizeof a->seq);
    mfx_udp_random_bytes(&a->ts, sizeof a->ts);

    if (mode == MFX_AUDIO_FAX) {
        a->transmit = p->transmit;
        a->fax = fax_init(NULL, p->transmit);                /* the sender is the calling party */
        if (!a->fax) abort();
        fax_set_transmit_on_idle(a->fax, 1);
        fax_set_tep_mode(a->fax, 0);
        mfx_t30_log_attach(fax_get_logging_state(a->fax), a->tag);
        struct mfx_t30_events ev = { .page = on_page, .done = on_t30_done };
        mfx_t30_setup(fax_get_t30_state(a->fax), p, &ev, a);
    }
    mfx_debug("media", "%s audio leg on %s port %d (%s)", a->tag, local_ip, port,
              mode == MFX_AUDIO_FAX ? (p->transmit ? "fax sender" : "fax receiver")
              : mode == MFX_AUDIO_SILENCE ? "silence" : "speech");
    return a;
}

void mfx_audio_fax_set_fax_tone(struct mfx_audio_fax *a, mfx_audio_fax_tone_fn fn)
{
    mfx_media_clock_lock(a->clk);
    if (!fn || a->rep.tone) {
        /* Stop listening (a tone heard but not yet delivered is not delivered). */
        if (!fn) {
            a->tone_fn = NULL;
            a->rep.tone_wanted = false;
        }
        if (a->tone_rx) modem_connect_tones_rx_free(a->tone_rx);
        a->tone_rx = NULL;
    } else {
        a->tone_fn = fn;
        a->rep.tone_wanted = true;
        if (!a->tone_rx) {
            a->tone_rx = modem_connect_tones_rx_init(NULL, MODEM_CONNECT_TONES_FAX_CED_OR_PREAMBLE, on_tone, a);
            if (!a->tone_rx) abort();
        }
    }
    mfx_media_clock_unlock(a->clk);
}

int mfx_audio_fax_local_port(const struct mfx_audio_fax *a)
{
    return a->local_port;
}

int mfx_audio_fax_set_jitter(struct mfx_audio_fax *a, int delay_frames, int capacity_frames)
{
    struct mfx_jitter *probe = mfx_jitter_new(delay_frames, capacity_frames);
    if (!probe) return -1;
    mfx_jitter_free(probe);
    mfx_media_clock_lock(a->clk);
    bool started = a->started;
    if (!started) {
        a->jb_delay = delay_frames;
        a->jb_capacity = capacity_frames;
    }
    mfx_media_clock_unlock(a->clk);
    return started ? -1 : 0;
}

int mfx_audio_fax_set_jitter_ms(struct mfx_audio_fax *a, int delay_ms)
{
    int frames = delay_ms / 20;
    return mfx_audio_fax_set_jitter(a, frames, frames * 4 + 16);
}

int mfx_audio_fax_start(struct mfx_audio_fax *a, const char *remote_ip, int remote_port, int pt, char **err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct sockaddr_storage local;
    socklen_t llen = sizeof local;
    if (pt != MFX_RTP_PT_PCMU && pt != MFX_RTP_PT_PCMA) {
        *err = mfx_asprintf("payload type %d is not PCMU (0) or PCMA (8)", pt);
        return -1;
    }
    if (remote_port <= 0 || remote_port > 65535 || mfx_udp_parse_addr(remote_ip, remote_port, &ss, &len) != 0) {
        *err = mfx_asprintf("bad remote media address %s port %d", remote_ip ? remote_ip : "(null)", remote_port);
        return -1;
    }
    if (getsockname(a->fd, (struct sockaddr *)&local, &llen) != 0 || local.ss_family != ss.ss_family) {
        *err = mfx_asprintf("remote media address %s is not of the local address family", remote_ip);
        return -1;
    }
    mfx_media_clock_lock(a->clk);
    a->remote = ss;
    a->remote_len = len;
    if (a->pt != pt || !a->g711) {
        if (a->g711) g711_free(a->g711);
        a->g711 = g711_init(NULL, pt == MFX_RTP_PT_PCMU ? G711_ULAW : G711_ALAW);
        if (!a->g711) abort();
    }
    a->pt = pt;
    if (!a->jb) {
        a->jb = mfx_jitter_new(a->jb_delay, a->jb_capacity);
        if (!a->jb) abort();                                 /* the values were checked */
    }
    mfx_jitter_set_fill(a->jb, pt == MFX_RTP_PT_PCMU ? linear_to_ulaw(0) : linear_to_alaw(0));
    if (!a->started) {
        a->started = true;
        a->tick = mfx_media_clock_add(a->clk, on_tick, a);
    }
    mfx_media_clock_unlock(a->clk);
    mfx_debug("media", "%s media to %s:%d pt %d", a->tag, remote_ip, remote_port, pt);
    return 0;
}

int mfx_audio_fax_result(struct mfx_audio_fax *a, struct mfx_fax_result *out)
{
    if (!a->fax) return -1;
    mfx_leg_report_result(&a->rep, a->clk, fax_get_t30_state(a->fax), a->transmit, out);
    return 0;
}

void mfx_audio_fax_free(struct mfx_audio_fax *a)
{
    if (!a) return;
    mfx_media_clock_lock(a->clk);
    mfx_media_clock_remove(a->clk, a->tick);
    a->tick = NULL;
    mfx_media_clock_unpost(a->clk, &a->rep.post);
    a->dead = true;                                          /* no callback from here on */
    mfx_media_clock_retire(a->clk, destroy, a);              /* delayed sends are the media loop's */
    mfx_media_clock_unlock(a->clk);
}

/* Releases everything the leg owns (the media thread, or the owner once the
 * clock has stopped). */
static void destroy(void *obj)
{
    struct mfx_audio_fax *a = obj;
    if (a->tone_rx) modem_connect_tones_rx_free(a->tone_rx);
    for (struct delayed *d = a->inflight, *next; d; d = next) {
        next = d->next;
        event_free(d->ev);
        free(d);
    }
    for (struct delayed *d = a->spare, *next; d; d = next) {
        next = d->next;
        event_free(d->ev);
        free(d);
    }
    close(a->fd);
    if (a->fax) {
        mfx_t30_detach(fax_get_t30_state(a->fax));
        span_log_set_tag(fax_get_logging_state(a->fax), NULL);
        fax_free(a->fax);
    }
    if (a->g711) g711_free(a->g711);
    if (a->noise) awgn_free(a->noise);
    mfx_jitter_free(a->jb);
    free(a);
}

void mfx_audio_fax_stats(struct mfx_audio_fax *a, struct mfx_audio_stats *out)
{
    mfx_media_clock_lock(a->clk);
    *out = a->st;
    if (a->jb) mfx_jitter_stats(a->jb, &out->jb);
    else memset(&out->jb, 0, sizeof out->jb);
    mfx_media_clock_unlock(a->clk);
}
