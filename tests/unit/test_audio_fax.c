/* SPDX-License-Identifier: Apache-2.0
 *
 * test_audio_fax.c: two G.711 fax legs (modules/media/audio_fax.c) in one
 * process, talking RTP over real UDP on 127.0.0.1, driven by one media
 * clock running faster than real time (spandsp counts samples, so both
 * sides stay consistent). The sender sends a multi-page TIFF-F made by
 * faxpages.c (1728 wide, fine resolution, G4 or T.4 2-D, black patterns);
 * the receiver writes a TIFF, and each received page bitmap must equal the
 * one sent, row for row. Also: PCMA, loss and jitter (ECM must recover), a
 * peer that is silent or talks (the sender must fail with a T.30 error, not
 * hang), and the source / payload type / garbage checks on received packets.
 */
#include "config.h"
#include "mfx.h"
#include "log.h"
#include "audio_fax.h"
#include "rtp.h"
#include "tap.h"
#include "faxpages.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <tiffio.h>
#include <unistd.h>

#define WALL_LIMIT_S 300                  /* a hang guard, not a timing assertion */

static char tmpdir[64];

/* ---- running two legs -------------------------------------------------- */

struct side {
    bool done;
    int done_calls;
    int pages_events;
    int tone, tone_calls;                 /* mfx_audio_fax_set_fax_tone */
    struct mfx_fax_result r;
    struct run *run;
};

struct run {
    struct event_base *base;
    struct side tx, rx;
    bool rx_is_fax;
};

static void on_page(void *ctx, int pages)
{
    struct side *s = ctx;
    (void)pages;
    s->pages_events++;
}

static void on_done(void *ctx, const struct mfx_fax_result *r)
{
    struct side *s = ctx;
    s->done_calls++;
    s->done = true;
    s->r = *r;
    if (s->run->tx.done && (s->run->rx.done || !s->run->rx_is_fax)) event_base_loopbreak(s->run->base);
}

static void on_fax_tone(void *ctx, int tone)
{
    struct side *s = ctx;
    s->tone = tone;
    s->tone_calls++;
}

static void on_wall_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    printf("# wall-clock guard hit: the exchange hung\n");
    event_base_loopbreak(arg);
}

struct scenario {
    int pt;
    bool ecm;
    bool g4;
    int pages;
    double speed;
    enum mfx_audio_mode rx_mode;
    struct mfx_audio_impair tx_imp;       /* on what the sender sends */
    bool use_tx_imp;
    struct mfx_audio_impair rx_imp;       /* on what the receiver sends */
    bool use_rx_imp;
    int jitter_delay;                     /* the receiver's jitter buffer delay in frames, 0: default */
    int modems;
    bool listen_tone;                     /* the sender listens for CED / V.21 preamble */
};

struct outcome {
    struct run run;
    struct mfx_audio_stats tx_st, rx_st;
    int matched;
};

static int run_fax(const struct scenario *sc, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    char txpath[128], rxpath[128];
    snprintf(txpath, sizeof txpath, "%s/tx.tif", tmpdir);
    snprintf(rxpath, sizeof rxpath, "%s/rx.tif", tmpdir);
    unlink(rxpath);
    TAP_CHECK(mfx_faxpages_write(txpath, sc->pages, sc->g4) == 0);

    struct run *run = &o->run;
    run->base = event_base_new();
    run->tx.run = run->rx.run = run;
    run->rx_is_fax = sc->rx_mode == MFX_AUDIO_FAX;
    struct mfx_media_clock *clk = mfx_media_clock_new(run->base, sc->speed);
    struct mfx_fax_params ptx = { .transmit = true, .tx_tiff = txpath, .ident = "+1 555 0100", .ecm = sc->ecm,
                                  .modems = sc->modems, .log_tag = "fax_tx" };
    struct mfx_fax_params prx = { .transmit = false, .rx_tiff = rxpath, .ident = "+1 555 0199", .ecm = sc->ecm,
                                  .modems = sc->modems, .log_tag = "fax_rx" };
    struct mfx_audio_fax_callbacks cbs = { .page = on_page, .done = on_done };
    char *err = NULL;
    struct mfx_audio_fax *tx = mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_FAX, &ptx,
                                                 sc->use_tx_imp ? &sc->tx_imp : NULL, &cbs, &run->tx, &err);
    TAP_CHECK(tx != NULL);
    struct mfx_audio_fax *rx = mfx_audio_fax_new(clk, "127.0.0.1", sc->rx_mode,
                                                 sc->rx_mode == MFX_AUDIO_FAX ? &prx : NULL,
                                                 sc->use_rx_imp ? &sc->rx_imp : NULL, &cbs, &run->rx, &err);
    TAP_CHECK(rx != NULL);
    if (sc->listen_tone) mfx_audio_fax_set_fax_tone(tx, on_fax_tone);
    if (sc->jitter_delay) TAP_CHECK(mfx_audio_fax_set_jitter(rx, sc->jitter_delay, 50) == 0);
    TAP_CHECK(mfx_audio_fax_local_port(tx) > 0 && mfx_audio_fax_local_port(tx) % 2 == 0);
    TAP_CHECK(mfx_audio_fax_start(tx, "127.0.0.1", mfx_audio_fax_local_port(rx), sc->pt, &err) == 0);
    TAP_CHECK(mfx_audio_fax_start(rx, "127.0.0.1", mfx_audio_fax_local_port(tx), sc->pt, &err) == 0);

    struct event *guard = evtimer_new(run->base, on_wall_limit, run->base);
    struct timeval limit = { WALL_LIMIT_S, 0 };
    evtimer_add(guard, &limit);
    event_base_dispatch(run->base);

    mfx_audio_fax_stats(tx, &o->tx_st);
    mfx_audio_fax_stats(rx, &o->rx_st);
    mfx_audio_fax_free(tx);
    mfx_audio_fax_free(rx);
    struct mfx_media_clock_stats cst;
    mfx_media_clock_stats(clk, &cst);
    printf("# tx: %s (%d), pages %d, %d bit/s, ecm %d, remote \"%s\"; rx: %s, pages %d; "
           "clock: %llu ticks (%.0f s of media), %llu skipped\n",
           o->run.tx.r.completion_text, o->run.tx.r.completion, o->run.tx.r.pages, o->run.tx.r.bit_rate,
           o->run.tx.r.ecm, o->run.tx.r.remote_ident, o->run.rx.r.completion_text, o->run.rx.r.pages,
           (unsigned long long)cst.ticks, cst.ticks * 0.02, (unsigned long long)cst.skipped);
    printf("# sender: tx %llu lost %llu, rx %llu; receiver jb: played %llu missing %llu late %llu dup %llu\n",
           (unsigned long long)o->tx_st.tx_packets, (unsigned long long)o->tx_st.tx_lost,
           (unsigned long long)o->tx_st.rx_packets, (unsigned long long)o->rx_st.jb.played,
           (unsigned long long)o->rx_st.jb.missing, (unsigned long long)o->rx_st.jb.late,
           (unsigned long long)o->rx_st.jb.duplicate);
    mfx_media_clock_free(clk);
    event_free(guard);
    event_base_free(run->base);
    o->matched = run->rx_is_fax && run->rx.done && run->rx.r.completion == T30_ERR_OK
               ? mfx_faxpages_compare(rxpath, sc->pages) : 0;
    unlink(txpath);
    unlink(rxpath);
    return 0;
}

static int check_delivered(const struct outcome *o, int pages)
{
    TAP_CHECK(o->run.tx.done_calls == 1 && o->run.rx.done_calls == 1);
    TAP_CHECK(o->run.tx.r.completion == T30_ERR_OK);
    TAP_CHECK(o->run.rx.r.completion == T30_ERR_OK);
    TAP_CHECK(o->run.tx.r.pages == pages && o->run.rx.r.pages == pages);
    TAP_CHECK(o->run.tx.r.remote_fax_seen && o->run.rx.r.remote_fax_seen);
    TAP_CHECK_STR(o->run.tx.r.remote_ident, "+1 555 0199");
    TAP_CHECK_STR(o->run.rx.r.remote_ident, "+1 555 0100");
    TAP_CHECK(o->run.tx.pages_events >= 1 && o->run.rx.pages_events >= 1);
    TAP_CHECK(o->matched == pages);
    TAP_CHECK(o->tx_st.rx_wrong_source == 0 && o->tx_st.rx_bad == 0 && o->tx_st.rx_unknown_pt == 0);
    TAP_CHECK(o->rx_st.rx_packets > 0 && o->rx_st.jb.played > 0);
    return 0;
}

static int pcmu_ecm(void)
{
    struct scenario sc = { .pt = MFX_RTP_PT_PCMU, .ecm = true, .g4 = true, .pages = 3, .speed = mfx_test_media_speed(),
                           .rx_mode = MFX_AUDIO_FAX };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 3) == 0);
    TAP_CHECK(o.run.tx.r.ecm);
    TAP_CHECK(o.rx_st.jb.missing == 0 || o.rx_st.jb.played > 0);
    return 0;
}

static int pcma_ecm_t4(void)
{
    struct scenario sc = { .pt = MFX_RTP_PT_PCMA, .ecm = true, .g4 = false, .pages = 2, .speed = mfx_test_media_speed(),
                           .rx_mode = MFX_AUDIO_FAX };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 2) == 0);
    return 0;
}

static int loss_and_jitter_ecm(void)
{
    struct scenario sc = { .pt = MFX_RTP_PT_PCMU, .ecm = true, .g4 = true, .pages = 3, .speed = mfx_test_media_speed(),
                           .rx_mode = MFX_AUDIO_FAX, .use_tx_imp = true,
                           .tx_imp = { .loss_pct = 1.0, .jitter_ms = 20, .seed = 4242 },
                           .jitter_delay = 10 };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 3) == 0);
    TAP_CHECK(o.tx_st.tx_lost > 0);                        /* the impairment really dropped packets */
    TAP_CHECK(o.rx_st.jb.missing > 0);
    return 0;
}

/* The T.38 switch (DESIGN 10, t38 = auto): the sender hears the receiver's
 * CED (2100 Hz, T.30 4.3.1) or the V.21 preamble before its DIS, and says so
 * once, from the loop; the fax goes on undisturbed. */
static int fax_tone_from_receiver(void)
{
    struct scenario sc = { .pt = MFX_RTP_PT_PCMU, .ecm = true, .g4 = true, .pages = 1, .speed = mfx_test_media_speed(),
                           .rx_mode = MFX_AUDIO_FAX, .listen_tone = true };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 1) == 0);
    printf("# the sender heard %s (%d)\n", modem_connect_tone_to_str(o.run.tx.tone), o.run.tx.tone);
    TAP_CHECK(o.run.tx.tone_calls == 1);
    TAP_CHECK(o.run.tx.tone == MODEM_CONNECT_TONES_FAX_CED || o.run.tx.tone == MODEM_CONNECT_TONES_ANS_PR ||
              o.run.tx.tone == MODEM_CONNECT_TONES_ANSAM || o.run.tx.tone == MODEM_CONNECT_TONES_ANSAM_PR ||
              o.run.tx.tone == MODEM_CONNECT_TONES_FAX_PREAMBLE);
    TAP_CHECK(o.run.rx.tone_calls == 0);                   /* the receiver did not ask */
    return 0;
}

static int noise_non_ecm(void)
{
    /* Line noise at -50 dBm0 both ways, without ECM, V.29 only (DESIGN 10: spandsp's V.17 gives up on noise
     * V.29 survives): delivered. */
    struct scenario sc = { .pt = MFX_RTP_PT_PCMA, .ecm = false, .g4 = false, .pages = 1, .speed = mfx_test_media_speed(),
                           .rx_mode = MFX_AUDIO_FAX, .use_tx_imp = true, .tx_imp = { .noise_dbm0 = -50, .seed = 7 },
                           .use_rx_imp = true, .rx_imp = { .noise_dbm0 = -50, .seed = 8 },
                           .modems = T30_SUPPORT_V29 | T30_SUPPORT_V27TER };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(o.run.tx.done && o.run.tx.r.completion == T30_ERR_OK && o.run.tx.r.pages == 1);
    TAP_CHECK(!o.run.tx.r.ecm && o.run.tx.r.bit_rate <= 9600);
    TAP_CHECK(o.matched == 1);
    return 0;
}

static int peer_not_a_fax(enum mfx_audio_mode mode)
{
    struct scenario sc = { .pt = MFX_RTP_PT_PCMU, .ecm = true, .g4 = true, .pages = 1, .speed = mfx_test_media_speed() * 2.5,
                           .rx_mode = mode, .listen_tone = true };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(o.run.tx.done_calls == 1);                   /* ended by a T.30 timer, not the hang guard */
    TAP_CHECK(o.run.tx.r.completion != T30_ERR_OK);
    TAP_CHECK(!o.run.tx.r.remote_fax_seen);
    TAP_CHECK(o.run.tx.r.pages == 0);
    TAP_CHECK(o.tx_st.rx_packets > 0);                     /* it did hear the peer */
    TAP_CHECK(o.run.tx.tone_calls == 0);                   /* no CED, no V.21: no switch to T.38 */
    return 0;
}

static int silent_peer(void)
{
    return peer_not_a_fax(MFX_AUDIO_SILENCE);
}

static int talking_peer(void)
{
    return peer_not_a_fax(MFX_AUDIO_SPEECH);
}

/* Frees both legs from the sender's first page callback (on the owner's
 * loop, while the media thread ticks on): the legs are retired to the media
 * thread, and done, though phase E may already be on its way, must never
 * come. ASan checks the rest. */
struct free_ctx {
    struct event_base *base;
    struct mfx_audio_fax *tx, *rx;
    int pages, done_calls;
};

static void free_on_page(void *ctx, int pages)
{
    struct free_ctx *fc = ctx;
    fc->pages = pages;
    mfx_audio_fax_free(fc->tx);
    mfx_audio_fax_free(fc->rx);
    fc->tx = fc->rx = NULL;
    event_base_loopbreak(fc->base);
}

static void count_done(void *ctx, const struct mfx_fax_result *r)
{
    (void)r;
    ((struct free_ctx *)ctx)->done_calls++;
}

static int free_from_page_callback(void)
{
    char txpath[128], rxpath[128];
    snprintf(txpath, sizeof txpath, "%s/tx.tif", tmpdir);
    snprintf(rxpath, sizeof rxpath, "%s/rx.tif", tmpdir);
    TAP_CHECK(mfx_faxpages_write(txpath, 2, true) == 0);
    struct free_ctx fc = { .base = event_base_new() };
    struct mfx_media_clock *clk = mfx_media_clock_new(fc.base, mfx_test_media_speed());
    struct mfx_fax_params ptx = { .transmit = true, .tx_tiff = txpath, .ecm = true, .log_tag = "fax_tx" };
    struct mfx_fax_params prx = { .transmit = false, .rx_tiff = rxpath, .ecm = true, .log_tag = "fax_rx" };
    struct mfx_audio_fax_callbacks txcb = { .page = free_on_page, .done = count_done };
    struct mfx_audio_fax_callbacks rxcb = { .done = count_done };
    char *err = NULL;
    fc.tx = mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_FAX, &ptx, NULL, &txcb, &fc, &err);
    fc.rx = mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_FAX, &prx, NULL, &rxcb, &fc, &err);
    TAP_CHECK(fc.tx && fc.rx);
    TAP_CHECK(mfx_audio_fax_start(fc.tx, "127.0.0.1", mfx_audio_fax_local_port(fc.rx), 0, &err) == 0);
    TAP_CHECK(mfx_audio_fax_start(fc.rx, "127.0.0.1", mfx_audio_fax_local_port(fc.tx), 0, &err) == 0);
    struct event *guard = evtimer_new(fc.base, on_wall_limit, fc.base);
    struct timeval limit = { WALL_LIMIT_S, 0 };
    evtimer_add(guard, &limit);
    event_base_dispatch(fc.base);
    TAP_CHECK(fc.pages == 1 && fc.tx == NULL);
    /* The loop runs on with nothing of the legs left: no done, the clock idle. */
    event_free(guard);
    mfx_test_run_loop_ms(fc.base, 300);
    TAP_CHECK(fc.done_calls == 0);
    mfx_media_clock_lock(clk);
    TAP_CHECK(mfx_media_clock_count(clk) == 0);
    mfx_media_clock_unlock(clk);
    mfx_media_clock_free(clk);
    event_base_free(fc.base);
    unlink(txpath);
    unlink(rxpath);
    return 0;
}

/* ---- the media clock --------------------------------------------------- */

struct clock_ctx {
    struct event_base *base;
    struct mfx_media_post idle;           /* posted by the last tick: ends the owner's loop */
    struct mfx_media_clock *clk;
    struct mfx_media_tick *a, *b, *c, *late_added;
    int na, nb, nc, nlate;
    char order[64];
    int norder;
};

static void tick_late_added(void *arg)
{
    struct clock_ctx *cc = arg;
    cc->nlate++;
    cc->order[cc->norder++] = 'L';
    mfx_media_clock_remove(cc->clk, cc->late_added);        /* removes itself */
}

static void tick_a(void *arg)
{
    struct clock_ctx *cc = arg;
    cc->na++;
    if (cc->norder < 60) cc->order[cc->norder++] = 'a';
    if (cc->na == 3) {
        /* From inside a tick: remove a later tick (it must not run this round) and add one (runs next round). */
        mfx_media_clock_remove(cc->clk, cc->c);
        cc->c = NULL;
        cc->late_added = mfx_media_clock_add(cc->clk, tick_late_added, cc);
    }
    if (cc->na == 6) {
        mfx_media_clock_remove(cc->clk, cc->a);             /* the last two remove themselves */
        mfx_media_clock_remove(cc->clk, cc->b);
        mfx_media_clock_post(cc->clk, &cc->idle);           /* and tell the owner's loop */
    }
}

static void tick_b(void *arg)
{
    struct clock_ctx *cc = arg;
    cc->nb++;
    if (cc->norder < 60) cc->order[cc->norder++] = 'b';
}

static void tick_c(void *arg)
{
    struct clock_ctx *cc = arg;
    cc->nc++;
    if (cc->norder < 60) cc->order[cc->norder++] = 'c';
}

static void clock_idle(void *arg)
{
    event_base_loopbreak(((struct clock_ctx *)arg)->base);
}

/* The ticks run on the media thread; the test waits on its own loop for the
 * post the last tick sends (the guard ends a hang). */
static int media_clock(void)
{
    struct event_base *base = event_base_new();
    struct clock_ctx cc = { .base = base, .idle = { .fn = clock_idle } };
    cc.idle.ctx = &cc;
    cc.clk = mfx_media_clock_new(base, 10);
    TAP_CHECK(mfx_media_clock_speed(cc.clk) == 10);
    TAP_CHECK(mfx_media_clock_base(cc.clk) != NULL && mfx_media_clock_base(cc.clk) != base);
    struct event *guard = evtimer_new(base, on_wall_limit, base);
    struct timeval limit = { 20, 0 };
    evtimer_add(guard, &limit);
    mfx_media_clock_lock(cc.clk);
    cc.a = mfx_media_clock_add(cc.clk, tick_a, &cc);
    cc.b = mfx_media_clock_add(cc.clk, tick_b, &cc);
    cc.c = mfx_media_clock_add(cc.clk, tick_c, &cc);
    mfx_media_clock_unlock(cc.clk);
    event_base_dispatch(base);
    mfx_media_clock_lock(cc.clk);
    cc.order[cc.norder] = '\0';
    TAP_CHECK_STR(cc.order, "abcabcababLaba");
    TAP_CHECK(cc.na == 6 && cc.nb == 5 && cc.nc == 2 && cc.nlate == 1);
    TAP_CHECK(mfx_media_clock_count(cc.clk) == 0);
    mfx_media_clock_unlock(cc.clk);
    struct mfx_media_clock_stats st;
    mfx_media_clock_stats(cc.clk, &st);
    TAP_CHECK(st.ticks + st.skipped >= 6);
    /* A new tick after the clock went idle starts a new timeline. */
    mfx_media_clock_lock(cc.clk);
    cc.a = mfx_media_clock_add(cc.clk, tick_a, &cc);
    cc.b = NULL;
    cc.na = 5;
    mfx_media_clock_unlock(cc.clk);
    event_base_dispatch(base);
    mfx_media_clock_lock(cc.clk);
    TAP_CHECK(cc.na == 6 && mfx_media_clock_count(cc.clk) == 0);
    mfx_media_clock_unlock(cc.clk);
    mfx_media_clock_stats(cc.clk, &st);
    TAP_CHECK(st.ticks >= 7);
    event_free(guard);
    mfx_media_clock_free(cc.clk);
    cc.clk = mfx_media_clock_new(base, -3);                 /* out of range: real time */
    TAP_CHECK(mfx_media_clock_speed(cc.clk) == 1);
    mfx_media_clock_free(cc.clk);
    event_base_free(base);
    return 0;
}

/* The clock's other services: a watched socket is marked readable before
 * the tick that follows a datagram (and not otherwise); a retired object is
 * destroyed on the media thread; an unposted post never runs. */
struct services_ctx {
    struct event_base *base;
    struct mfx_media_clock *clk;
    struct mfx_media_tick *tick;
    struct mfx_media_post done, never;
    int fd;
    bool ready;
    int ticks, ready_ticks, never_runs;
    pthread_t owner, destroyed_on;
    bool destroyed;
};

static void services_done(void *arg)
{
    event_base_loopbreak(((struct services_ctx *)arg)->base);
}

static void services_never(void *arg)
{
    ((struct services_ctx *)arg)->never_runs++;
}

static void services_tick(void *arg)
{
    struct services_ctx *sc = arg;
    sc->ticks++;
    if (!sc->ready) return;
    sc->ready = false;
    sc->ready_ticks++;
    char buf[64];
    while (recv(sc->fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
    mfx_media_clock_remove(sc->clk, sc->tick);
    mfx_media_clock_post(sc->clk, &sc->done);
}

static void services_destroy(void *arg)
{
    struct services_ctx *sc = arg;
    mfx_media_clock_lock(sc->clk);                           /* runs without it */
    sc->destroyed_on = pthread_self();
    sc->destroyed = true;
    mfx_media_clock_unlock(sc->clk);
}

static int media_clock_services(void)
{
    struct services_ctx sc = { .base = event_base_new(), .owner = pthread_self() };
    sc.done = (struct mfx_media_post){ .fn = services_done, .ctx = &sc };
    sc.never = (struct mfx_media_post){ .fn = services_never, .ctx = &sc };
    sc.clk = mfx_media_clock_new(sc.base, 10);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof a;
    sc.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    TAP_CHECK(sc.fd >= 0 && tx >= 0 && bind(sc.fd, (struct sockaddr *)&a, sizeof a) == 0 &&
              getsockname(sc.fd, (struct sockaddr *)&a, &alen) == 0);
    TAP_CHECK(mfx_media_clock_watch(sc.clk, sc.fd, &sc.ready) == 0);
    mfx_media_clock_lock(sc.clk);
    sc.tick = mfx_media_clock_add(sc.clk, services_tick, &sc);
    mfx_media_clock_post(sc.clk, &sc.never);                 /* queued, then taken back: never runs */
    mfx_media_clock_unpost(sc.clk, &sc.never);
    mfx_media_clock_unlock(sc.clk);
    mfx_test_run_loop_ms(sc.base, 100);                     /* about 50 ticks at speed 10, nothing sent */
    mfx_media_clock_lock(sc.clk);
    TAP_CHECK(sc.ticks >= 10 && sc.ready_ticks == 0);
    mfx_media_clock_unlock(sc.clk);
    TAP_CHECK(sendto(tx, "x", 1, 0, (struct sockaddr *)&a, sizeof a) == 1);
    struct event *guard = evtimer_new(sc.base, on_wall_limit, sc.base);
    struct timeval limit = { 10, 0 };
    evtimer_add(guard, &limit);
    event_base_dispatch(sc.base);                            /* until the tick that read it posts done */
    mfx_media_clock_lock(sc.clk);
    TAP_CHECK(sc.ready_ticks == 1 && mfx_media_clock_count(sc.clk) == 0);
    mfx_media_clock_retire(sc.clk, services_destroy, &sc);
    mfx_media_clock_unlock(sc.clk);
    mfx_test_run_loop_ms(sc.base, 100);
    mfx_media_clock_lock(sc.clk);
    TAP_CHECK(sc.destroyed && !pthread_equal(sc.destroyed_on, sc.owner));
    mfx_media_clock_unlock(sc.clk);
    TAP_CHECK(sc.never_runs == 0);
    event_free(guard);
    mfx_media_clock_unwatch(sc.clk, sc.fd);
    mfx_media_clock_free(sc.clk);
    close(sc.fd);
    close(tx);
    event_base_free(sc.base);
    return 0;
}

/* ---- what a leg accepts ------------------------------------------------ */

struct poll_ctx {
    struct event_base *base;
    struct mfx_audio_fax *leg;
    struct event *ev;
    int rounds;
};

static void poll_stats(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct poll_ctx *pc = arg;
    struct mfx_audio_stats st;
    mfx_audio_fax_stats(pc->leg, &st);
    if ((st.rx_wrong_source && st.rx_bad && st.rx_unknown_pt && st.rx_packets) || ++pc->rounds > 5000) {
        event_base_loopbreak(pc->base);
        return;
    }
    struct timeval tv = { 0, 2000 };
    evtimer_add(pc->ev, &tv);
}

static int source_and_payload_checks(void)
{
    struct event_base *base = event_base_new();
    struct mfx_media_clock *clk = mfx_media_clock_new(base, 10);
    char *err = NULL;
    struct mfx_audio_fax *stranger = mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_SILENCE, NULL, NULL, NULL,
                                                       NULL, &err);
    struct mfx_audio_fax *leg = mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_SPEECH, NULL, NULL, NULL, NULL,
                                                  &err);
    TAP_CHECK(stranger && leg);

    /* The far end is a plain socket we control. */
    int peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in pa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t plen = sizeof pa;
    TAP_CHECK(bind(peer, (struct sockaddr *)&pa, sizeof pa) == 0);
    TAP_CHECK(getsockname(peer, (struct sockaddr *)&pa, &plen) == 0);
    int peer_port = ntohs(pa.sin_port);

    TAP_CHECK(mfx_audio_fax_start(leg, "127.0.0.1", peer_port, 18, &err) == -1);      /* G.729: not ours */
    free(err);
    err = NULL;
    TAP_CHECK(mfx_audio_fax_start(leg, "::1", peer_port, 0, &err) == -1);            /* another family */
    free(err);
    err = NULL;
    TAP_CHECK(mfx_audio_fax_start(leg, "127.0.0.1", peer_port, 0, &err) == 0);
    TAP_CHECK(mfx_audio_fax_start(stranger, "127.0.0.1", mfx_audio_fax_local_port(leg), 0, &err) == 0);

    struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                              .sin_port = htons((uint16_t)mfx_audio_fax_local_port(leg)) };
    uint8_t payload[160], pkt[200];
    memset(payload, 0xff, sizeof payload);
    struct mfx_rtp_packet p = { .pt = 13, .seq = 1, .ts = 0, .ssrc = 77, .payload = payload, .payload_len = 1 };
    size_t n = mfx_rtp_write(pkt, sizeof pkt, &p);                                   /* comfort noise */
    TAP_CHECK(sendto(peer, pkt, n, 0, (struct sockaddr *)&la, sizeof la) == (ssize_t)n);
    TAP_CHECK(sendto(peer, "garbage", 7, 0, (struct sockaddr *)&la, sizeof la) == 7);
    p.pt = 0;
    p.payload_len = 160;
    n = mfx_rtp_write(pkt, sizeof pkt, &p);
    TAP_CHECK(sendto(peer, pkt, n, 0, (struct sockaddr *)&la, sizeof la) == (ssize_t)n);

    struct poll_ctx pc = { .base = base, .leg = leg };
    pc.ev = evtimer_new(base, poll_stats, &pc);
    struct timeval tv = { 0, 2000 };
    evtimer_add(pc.ev, &tv);
    event_base_dispatch(base);

    struct mfx_audio_stats st;
    mfx_audio_fax_stats(leg, &st);
    TAP_CHECK(st.rx_wrong_source > 0);                     /* the stranger's packets */
    TAP_CHECK(st.rx_bad == 1 && st.rx_unknown_pt == 1 && st.rx_packets == 1);
    TAP_CHECK(st.tx_packets > 0);
    TAP_CHECK(mfx_audio_fax_result(leg, &(struct mfx_fax_result){ 0 }) == -1);        /* no fax engine */

    /* What the leg sends: RTP (RFC 3550 5.1), PCMU, marker on the first packet only, 160 bytes. */
    uint8_t buf[2048];
    bool first = true;
    uint16_t seq = 0;
    uint32_t ts = 0, ssrc = 0;
    int count = 0;
    for (;;) {
        ssize_t r = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0) break;
        struct mfx_rtp_packet q;
        TAP_CHECK(mfx_rtp_parse(buf, (size_t)r, &q) == 0);
        TAP_CHECK(q.pt == 0 && q.payload_len == 160 && q.marker == first);
        if (!first) TAP_CHECK(q.seq == (uint16_t)(seq + 1) && q.ts == ts + 160 && q.ssrc == ssrc);
        seq = q.seq;
        ts = q.ts;
        ssrc = q.ssrc;
        first = false;
        count++;
    }
    TAP_CHECK(count > 0);

    close(peer);
    event_free(pc.ev);
    mfx_audio_fax_free(stranger);
    mfx_audio_fax_free(leg);
    mfx_media_clock_free(clk);
    event_base_free(base);
    return 0;
}

static int bad_arguments(void)
{
    struct event_base *base = event_base_new();
    struct mfx_media_clock *clk = mfx_media_clock_new(base, 1);
    char *err = NULL;
    TAP_CHECK(mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_FAX, NULL, NULL, NULL, NULL, &err) == NULL);
    TAP_CHECK(err != NULL);
    free(err);
    err = NULL;
    TAP_CHECK(mfx_audio_fax_new(clk, "not-an-ip", MFX_AUDIO_SILENCE, NULL, NULL, NULL, NULL, &err) == NULL);
    TAP_CHECK(err != NULL);
    free(err);
    err = NULL;
    struct mfx_audio_fax *a = mfx_audio_fax_new(clk, "127.0.0.1", MFX_AUDIO_SILENCE, NULL, NULL, NULL, NULL,
                                                &err);
    TAP_CHECK(a != NULL);
    TAP_CHECK(mfx_audio_fax_set_jitter(a, 5, 5) == -1);
    TAP_CHECK(mfx_audio_fax_set_jitter(a, 5, 60) == 0);
    TAP_CHECK(mfx_audio_fax_start(a, "127.0.0.1", 0, 0, &err) == -1);
    free(err);
    err = NULL;
    TAP_CHECK(mfx_audio_fax_start(a, "127.0.0.1", 9, 8, &err) == 0);
    TAP_CHECK(mfx_audio_fax_set_jitter(a, 3, 50) == -1);                              /* already started */
    mfx_audio_fax_free(a);
    mfx_media_clock_free(clk);
    event_base_free(base);
    return 0;
}

static const struct tap_case cases[] = {
    { "media clock: order, removal and addition from inside a tick, idle when empty", media_clock },
    { "media clock: a watched socket is marked readable; retire runs on the media thread; unpost", media_clock_services },
    { "bad arguments are refused with a message", bad_arguments },
    { "RFC 3550: source, payload type and garbage checks; what a leg sends", source_and_payload_checks },
    { "PCMU with ECM: 3 G4 pages arrive bit-exact", pcmu_ecm },
    { "PCMA with ECM: 2 T.4 2-D pages arrive bit-exact", pcma_ecm_t4 },
    { "1% loss and 20 ms jitter on the sender, ECM: still delivered", loss_and_jitter_ecm },
    { "-50 dBm0 noise both ways, no ECM, V.29: delivered", noise_non_ecm },
    { "a leg freed from its page callback (while the media thread runs)", free_from_page_callback },
    { "silent peer: the sender ends with a T.30 error, hears no fax tone", silent_peer },
    { "talking peer: the sender ends with a T.30 error, hears no fax tone", talking_peer },
    { "fax tone: the sender hears the receiver's CED / V.21 preamble once", fax_tone_from_receiver },
};

static void quiet_tiff(const char *module, const char *fmt, va_list ap)
{
    (void)module; (void)fmt; (void)ap;
}

int main(void)
{
    mfx_log_level = getenv("MFX_TEST_DEBUG") ? MFX_LOG_DEBUG : MFX_LOG_WARN;
    TIFFSetWarningHandler(quiet_tiff);
    TIFFSetErrorHandler(quiet_tiff);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mfx-audio-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    /* MFX_TEST_CASE=n runs only case n (debugging, with MFX_TEST_DEBUG=1 for spandsp's log). */
    const char *only = getenv("MFX_TEST_CASE");
    int n = only ? atoi(only) : 0;
    int rc = n >= 1 && n <= (int)MFX_ARRAY_LEN(cases) ? tap_run(&cases[n - 1], 1)
                                                       : tap_run(cases, (int)MFX_ARRAY_LEN(cases));
    rmdir(tmpdir);
    return rc;
}
