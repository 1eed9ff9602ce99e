/* SPDX-License-Identifier: Apache-2.0
 *
 * t38_fax.c: one T.38 fax leg (t38_fax.h). In a tick where the socket is
 * readable (the clock polls every watched socket at once before the ticks),
 * its datagrams (from the remote address only) go into the UDPTL receiver,
 * which hands each IFP, in sequence order and with its UDPTL sequence
 * number, to t38_core_rx_ifp_packet (T.38 §9.1: spandsp learns about losses
 * from the numbers); each media clock tick runs
 * t38_terminal_send_timeout(160), which runs T.30's timers and sends what is
 * due. spandsp paces its output itself (T.38 §7: an indicator, then the
 * training time it stands for, then data at the modem's rate), so one tick
 * may send nothing or several IFPs. Each IFP goes through the UDPTL sender
 * (redundancy or FEC, the peer's max datagram) and is sent as many times as
 * spandsp asks (indicators and the end of data 3 times: the copies share one
 * sequence number), through the optional impairments. Ticks and reads run
 * on the media thread with the clock's lock held; pages and phase E reach
 * the owner as posts (leg_report.h), never from inside spandsp, so every
 * callback may free the leg, which retires it to the media thread. The
 * G.711 twin is audio_fax.c; T.30's configuration is
 * in t30_setup.c; the SIP carrier drives this.
 */
#include "config.h"
#include "mfx.h"
#include "log.h"
#include "t38_fax.h"
#include "leg_report.h"
#include "udp.h"

#include <errno.h>
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

#define TICK_SAMPLES 160                  /* 20 ms at 8000 Hz: spandsp's clock */
#define RX_BUF 2048                       /* more than MFX_UDPTL_MAX_DATAGRAM */
#define RX_PER_TICK 64                    /* datagrams drained per tick at most */
#define MAX_COPIES 8                      /* spandsp asks for 1 or 3 */
#define HOLD_TICKS 5                      /* reorder impairment: a held datagram goes out after 100 ms at most */

struct mfx_t38_fax {
    struct mfx_media_clock *clk;
    struct mfx_media_tick *tick;
    int fd;
    int local_port;
    struct sockaddr_storage remote;
    socklen_t remote_len;
    bool started;

    t38_terminal_state_t *t38;
    bool transmit;
    int modems;                           /* p->modems, before the session's rate limit */
    struct mfx_t38_session sess;
    struct mfx_udptl_tx *utx;             /* from the first start */
    struct mfx_udptl_rx *urx;

    struct mfx_t38_impair imp;
    bool impaired;
    uint64_t rng;
    uint8_t held[MFX_UDPTL_MAX_DATAGRAM];
    size_t held_len;                      /* 0: nothing held */
    int held_ticks;

    struct mfx_t38_fax_callbacks cb;
    void *ctx;
    struct mfx_leg_report rep;            /* pages, phase E: told by deliver() */
    bool rx_ready;                        /* the socket has data (mfx_media_clock_watch) */

    bool dead;                            /* freed by the owner: retired, waiting for destroy() */

    struct mfx_t38_stats st;
    char tag[MFX_ID_MAX + 8];
};

static void destroy(void *obj);

/* ---- small helpers (the socket ones as in audio_fax.c) ----------------- */

/* ---- T.30 events ------------------------------------------------------- */

/* A page, from inside spandsp on the media thread: told by deliver(). */
static void on_page(void *ctx, int pages)
{
    struct mfx_t38_fax *t = ctx;
    if (!t->dead) mfx_leg_report_page(&t->rep, t->clk, pages);
}

/* Phase E, from inside spandsp: kept and told by deliver(). */
static void on_t30_done(void *ctx, const struct mfx_fax_result *r)
{
    struct mfx_t38_fax *t = ctx;
    if (!t->dead) mfx_leg_report_done(&t->rep, t->clk, r);
}

/* On the owner's loop: one callback per run (each may free the leg: touch
 * nothing after). */
static void deliver(void *arg)
{
    struct mfx_t38_fax *t = arg;
    int pages = 0, tone = 0;
    struct mfx_fax_result r;
    switch (mfx_leg_report_next(&t->rep, t->clk, &pages, &tone, &r)) {
    case MFX_LEG_PAGE:
        if (t->cb.page) t->cb.page(t->ctx, pages);
        break;
    case MFX_LEG_DONE:
        if (t->cb.done) t->cb.done(t->ctx, &r);
        break;
    case MFX_LEG_TONE:
    case MFX_LEG_NOTHING:
        break;
    }
}

/* ---- sending ----------------------------------------------------------- */

static void send_now(struct mfx_t38_fax *t, const uint8_t *buf, size_t len)
{
    if (sendto(t->fd, buf, len, 0, (const struct sockaddr *)&t->remote, t->remote_len) == (ssize_t)len)
        t->st.tx_datagrams++;
}

static void flush_held(struct mfx_t38_fax *t)
{
    if (!t->held_len) return;
    send_now(t, t->held, t->held_len);
    t->held_len = 0;
}

/* Sends one datagram through the impairments: lost; or held back (when
 * nothing is held) to go out right after the next one; or sent, then the
 * held one; and perhaps sent a second time. */
static void send_datagram(struct mfx_t38_fax *t, const uint8_t *buf, size_t len)
{
    if (!t->impaired) {
        send_now(t, buf, len);
        return;
    }
    if (t->imp.loss_pct > 0 && mfx_udp_rnd_unit(&t->rng) * 100.0 < t->imp.loss_pct) {
        t->st.tx_lost++;
        return;
    }
    if (!t->held_len && t->imp.reorder_pct > 0 && mfx_udp_rnd_unit(&t->rng) * 100.0 < t->imp.reorder_pct) {
        memcpy(t->held, buf, len);
        t->held_len = len;
        t->held_ticks = 0;
        t->st.tx_reordered++;
    } else {
        send_now(t, buf, len);
        flush_held(t);
    }
    if (t->imp.dup_pct > 0 && mfx_udp_rnd_unit(&t->rng) * 100.0 < t->imp.dup_pct) {
        send_now(t, buf, len);
        t->st.tx_duplicated++;
    }
}

/* spandsp's t38_tx_packet_handler_t: one IFP to send `count` times (T.38
 * §9.1: repeated IFPs keep their sequence number, so it is encoded once).
 * Returns 0, or -1 when the IFP cannot be sent at all (too long for the
 * peer's max datagram): spandsp then ends the fax. */
static int on_tx_packet(t38_core_state_t *core, void *user, const uint8_t *buf, int len, int count)
{
    (void)core;
    struct mfx_t38_fax *t = user;
    if (t->dead || !t->utx) return 0;
    t->st.tx_ifps++;
    uint8_t dgram[MFX_UDPTL_MAX_DATAGRAM];
    int n = len > 0 ? mfx_udptl_tx_encode(t->utx, buf, (size_t)len, dgram, sizeof dgram) : -1;
    if (n < 0) {
        t->st.tx_encode_failed++;
        mfx_warn("t38", "%s cannot send an IFP of %d bytes in the peer's %d-byte datagrams", t->tag, len,
                 t->sess.max_datagram);
        return -1;
    }
    if (count < 1) count = 1;
    if (count > MAX_COPIES) count = MAX_COPIES;
    for (int i = 0; i < count; i++) send_datagram(t, dgram, (size_t)n);
    return 0;
}

/* ---- receiving --------------------------------------------------------- */

/* The UDPTL receiver's delivery, in sequence order, from inside
 * mfx_udptl_rx_feed. An IFP rebuilt from FEC comes zero-padded: spandsp
 * decodes it and then logs the extra length, which is harmless. */
static void on_ifp(void *ctx, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct mfx_t38_fax *t = ctx;
    if (t->dead) return;
    t38_core_rx_ifp_packet(t38_terminal_get_t38_core_state(t->t38), ifp, (int)len, seq);
}

/* Reads what arrived into the UDPTL receiver. A T.38 leg receives in only
 * a few ticks of a hundred (its peer sends when T.30 has something to say),
 * so it reads when the clock's poll says so rather than asking its socket
 * every tick (a read that finds nothing costs as much as one that does). */
static void drain(struct mfx_t38_fax *t)
{
    uint8_t buf[RX_BUF];
    for (int i = 0; i < RX_PER_TICK && !t->dead; i++) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(t->fd, buf, sizeof buf, MSG_TRUNC, (struct sockaddr *)&from, &flen);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;                                          /* EAGAIN: drained; others: try next tick */
        }
        if (!t->started || !mfx_udp_same_addr(&from, &t->remote)) {
            t->st.rx_wrong_source++;
            continue;
        }
        if ((size_t)n > sizeof buf) {
            t->st.rx_oversized++;
            continue;
        }
        t->st.rx_datagrams++;
        mfx_udptl_rx_feed(t->urx, buf, (size_t)n);          /* malformed ones are counted there */
    }
}

/* ---- the tick ---------------------------------------------------------- */

/* One 20 ms step of the leg (see the top of the file); media thread, lock
 * held. */
static void on_tick(void *arg)
{
    struct mfx_t38_fax *t = arg;
    if (t->rx_ready) {
        t->rx_ready = false;
        drain(t);
    }
    t38_terminal_send_timeout(t->t38, TICK_SAMPLES);
    if (t->held_len && ++t->held_ticks >= HOLD_TICKS) flush_held(t);
}

/* ---- the session ------------------------------------------------------- */

/* T.30 may use only the modems the negotiated T38MaxBitRate allows: spandsp
 * 0.0.6 stores t38_set_fastest_image_data_rate but its terminal does not
 * act on it. V.17 starts at 14400, V.29 runs 9600 and 7200, V.27ter 4800
 * and 2400. */
static int modems_for_rate(int modems, int max_bit_rate)
{
    int all = T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17;
    int m = modems & all ? modems & all : all;
    if (max_bit_rate < 14400) m &= ~T30_SUPPORT_V17;
    if (max_bit_rate < 7200) m &= ~T30_SUPPORT_V29;
    return m ? m : T30_SUPPORT_V27TER;
}

/* Normalises s (see struct mfx_t38_session) into t->sess and configures the
 * terminal and the UDPTL sender. First start only. */
static void apply_session(struct mfx_t38_fax *t, const struct mfx_t38_session *s)
{
    struct mfx_t38_session n = s ? *s : (struct mfx_t38_session){ 0 };
    n.version = n.version < 0 ? 0 : n.version > 3 ? 3 : n.version;
    if (n.max_bit_rate <= 0 || n.max_bit_rate > 14400) n.max_bit_rate = 14400;
    if (n.max_datagram <= 0 || n.max_datagram > MFX_UDPTL_MAX_DATAGRAM) n.max_datagram = MFX_UDPTL_MAX_DATAGRAM;
    if (n.ec != MFX_UDPTL_EC_REDUNDANCY && n.ec != MFX_UDPTL_EC_FEC) n.ec = MFX_UDPTL_EC_NONE;
    if (n.redundancy <= 0) n.redundancy = MFX_UDPTL_DEFAULT_REDUNDANCY;
    if (n.redundancy > MFX_UDPTL_MAX_REDUNDANCY) n.redundancy = MFX_UDPTL_MAX_REDUNDANCY;
    t->sess = n;

    /* Paced output for UDP (no T38_TERMINAL_OPTION_NO_PACING, which is for
     * TCP): indicators 3 times, data once, the end of data 3 times; no
     * talker echo protection time; fill bits kept (T38FaxFillBitRemoval is
     * not negotiated), no MMR/JBIG transcoding. */
    t38_core_state_t *core = t38_terminal_get_t38_core_state(t->t38);
    t38_terminal_set_config(t->t38, 0);
    t38_terminal_set_tep_mode(t->t38, 0);
    t38_terminal_set_fill_bit_removal(t->t38, 0);
    t38_set_fill_bit_removal(core, 0);
    t38_set_mmr_transcoding(core, 0);
    t38_set_jbig_transcoding(core, 0);
    t38_set_t38_version(core, n.version);
    /* T.38 §8.1 / Annex D: method 1 = localTCF, 2 = transferredTCF (spandsp's
     * header comment has them the other way round; its enum is right). A
     * terminal sends and expects TCF as data either way in 0.0.6. */
    t38_set_data_rate_management_method(core, n.transferred_tcf ? T38_DATA_RATE_MANAGEMENT_TRANSFERRED_TCF
                                                                : T38_DATA_RATE_MANAGEMENT_LOCAL_TCF);
    t38_set_fastest_image_data_rate(core, n.max_bit_rate);
    t38_set_max_datagram_size(core, n.max_datagram);
    t38_set_sequence_number_handling(core, 1);
    t30_set_supported_modems(t38_terminal_get_t30_state(t->t38), modems_for_rate(t->modems, n.max_bit_rate));

    t->utx = mfx_udptl_tx_new(n.ec, n.redundancy, n.max_datagram);
}

/* ---- public API -------------------------------------------------------- */

struct mfx_t38_fax *mfx_t38_fax_new(struct mfx_media_clock *clk, const char *local_ip,
                                    const struct mfx_fax_params *p, const struct mfx_t38_impair *imp,
                                    const struct mfx_t38_fax_callbacks *cb, void *ctx, char **err)
{
    if (!p) {
        *err = mfx_strdup("a T.38 leg needs fax parameters");
        return NULL;
    }
    int port = 0;
    errno = 0;
    int fd = mfx_udp_open(local_ip, false, &port);
    if (fd < 0) {
        *err = mfx_asprintf("cannot open a UDP socket on %s: %s", local_ip ? local_ip : "(null)",
                            errno ? strerror(errno) : "not a numeric address");
        return NULL;
    }
    struct mfx_t38_fax *t = mfx_calloc(1, sizeof *t);
    if (mfx_media_clock_watch(clk, fd, &t->rx_ready) != 0) {
        *err = mfx_asprintf("cannot watch the UDPTL socket: %s", strerror(errno));
        close(fd);
        free(t);
        return NULL;
    }
    t->clk = clk;
    t->fd = fd;
    t->local_port = port;
    if (cb) t->cb = *cb;
    t->ctx = ctx;
    snprintf(t->tag, sizeof t->tag, "%s", p->log_tag ? p->log_tag : "t38");
    t->rep.post.fn = deliver;
    t->rep.post.ctx = t;

    if (imp) t->imp = *imp;
    double *pct[] = { &t->imp.loss_pct, &t->imp.dup_pct, &t->imp.reorder_pct };
    for (size_t i = 0; i < MFX_ARRAY_LEN(pct); i++) {
        if (!(*pct[i] > 0)) *pct[i] = 0;                     /* NaN too */
        if (*pct[i] > 100) *pct[i] = 100;
        if (*pct[i] > 0) t->impaired = true;
    }
    t->rng = t->imp.seed;
    if (!t->rng) mfx_udp_random_bytes(&t->rng, sizeof t->rng);
    if (!t->rng) t->rng = 1;
    if (!t->rng) t->rng = 0x9E3779B97F4A7C15ULL;

    t->transmit = p->transmit;
    t->modems = p->modems;
    t->t38 = t38_terminal_init(NULL, p->transmit, on_tx_packet, t);    /* the sender is the calling party */
    if (!t->t38) abort();
    mfx_t30_log_attach(t38_terminal_get_logging_state(t->t38), t->tag);
    mfx_t30_log_attach(t38_core_get_logging_state(t38_terminal_get_t38_core_state(t->t38)), t->tag);
    struct mfx_t30_events ev = { .page = on_page, .done = on_t30_done };
    mfx_t30_setup(t38_terminal_get_t30_state(t->t38), p, &ev, t);
    t->urx = mfx_udptl_rx_new(on_ifp, t);
    mfx_debug("media", "%s T.38 leg on %s port %d (%s)", t->tag, local_ip, port,
              p->transmit ? "fax sender" : "fax receiver");
    return t;
}

int mfx_t38_fax_local_port(const struct mfx_t38_fax *t)
{
    return t->local_port;
}

int mfx_t38_fax_start(struct mfx_t38_fax *t, const char *remote_ip, int remote_port,
                      const struct mfx_t38_session *s, char **err)
{
    struct sockaddr_storage ss, local;
    socklen_t len, llen = sizeof local;
    if (remote_port <= 0 || remote_port > 65535 || mfx_udp_parse_addr(remote_ip, remote_port, &ss, &len) != 0) {
        *err = mfx_asprintf("bad remote UDPTL address %s port %d", remote_ip ? remote_ip : "(null)", remote_port);
        return -1;
    }
    if (getsockname(t->fd, (struct sockaddr *)&local, &llen) != 0 || local.ss_family != ss.ss_family) {
        *err = mfx_asprintf("remote UDPTL address %s is not of the local address family", remote_ip);
        return -1;
    }
    mfx_media_clock_lock(t->clk);
    t->remote = ss;
    t->remote_len = len;
    bool first = !t->started;
    if (first) {
        apply_session(t, s);
        t->started = true;
        t->tick = mfx_media_clock_add(t->clk, on_tick, t);
    }
    mfx_media_clock_unlock(t->clk);
    if (first) {
        static const char *const ec_names[] = { "no EC", "redundancy", "FEC" };
        mfx_debug("media", "%s T.38 to %s:%d: version %d, %d bit/s, %s, max datagram %d, %s (depth %d)", t->tag,
                  remote_ip, remote_port, t->sess.version, t->sess.max_bit_rate,
                  t->sess.transferred_tcf ? "transferredTCF" : "localTCF", t->sess.max_datagram,
                  ec_names[t->sess.ec], t->sess.redundancy);
    } else {
        mfx_debug("media", "%s T.38 moves to %s:%d", t->tag, remote_ip, remote_port);
    }
    return 0;
}

int mfx_t38_fax_result(struct mfx_t38_fax *t, struct mfx_fax_result *out)
{
    mfx_leg_report_result(&t->rep, t->clk, t38_terminal_get_t30_state(t->t38), t->transmit, out);
    return 0;
}

void mfx_t38_fax_free(struct mfx_t38_fax *t)
{
    if (!t) return;
    mfx_media_clock_lock(t->clk);
    mfx_media_clock_remove(t->clk, t->tick);
    t->tick = NULL;
    mfx_media_clock_unpost(t->clk, &t->rep.post);
    t->dead = true;                                          /* no callback from here on */
    mfx_media_clock_retire(t->clk, destroy, t);              /* the poll may still mark rx_ready */
    mfx_media_clock_unlock(t->clk);
}

/* Releases everything the leg owns (the media thread, or the owner once the
 * clock has stopped). */
static void destroy(void *obj)
{
    struct mfx_t38_fax *t = obj;
    mfx_media_clock_unwatch(t->clk, t->fd);
    close(t->fd);
    t30_state_t *t30 = t38_terminal_get_t30_state(t->t38);
    mfx_t30_detach(t30);
    span_log_set_tag(t38_terminal_get_logging_state(t->t38), NULL);
    span_log_set_tag(t38_core_get_logging_state(t38_terminal_get_t38_core_state(t->t38)), NULL);
    t38_terminal_free(t->t38);
    mfx_udptl_rx_free(t->urx);
    mfx_udptl_tx_free(t->utx);
    free(t);
}

void mfx_t38_fax_stats(struct mfx_t38_fax *t, struct mfx_t38_stats *out)
{
    mfx_media_clock_lock(t->clk);
    *out = t->st;
    mfx_udptl_rx_stats(t->urx, &out->udptl);
    mfx_media_clock_unlock(t->clk);
}
