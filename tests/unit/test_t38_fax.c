/* SPDX-License-Identifier: Apache-2.0
 *
 * test_t38_fax.c: two T.38 fax legs (modules/media/t38_fax.c) in one
 * process, talking UDPTL over real UDP on 127.0.0.1, driven by one media
 * clock running faster than real time (spandsp counts samples, so both
 * sides stay consistent). The sender sends a multi-page TIFF-F made by
 * faxpages.c; the receiver writes a TIFF, and each received page bitmap must
 * equal the one sent, row for row. Also: loss with redundancy (and FEC),
 * heavy loss (without error correction the sender must end with a T.30
 * error, not hang), duplicates
 * and reordering, localTCF and small datagrams, a lower T38MaxBitRate, the
 * source and garbage checks on received datagrams, and freeing from a
 * callback.
 */
#include "config.h"
#include "mfx.h"
#include "log.h"
#include "t38_fax.h"
#include "udptl.h"
#include "tap.h"
#include "faxpages.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <math.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <tiffio.h>
#include <time.h>
#include <unistd.h>

#define WALL_LIMIT_S 300                  /* a hang guard, not a timing assertion */

static char tmpdir[64];

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- running two legs -------------------------------------------------- */

struct side {
    bool done;
    int done_calls;
    int pages_events;
    struct mfx_fax_result r;
    struct run *run;
};

struct run {
    struct event_base *base;
    struct side tx, rx;
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
    if (s->run->tx.done && s->run->rx.done) event_base_loopbreak(s->run->base);
}

static void on_wall_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    printf("# wall-clock guard hit: the exchange hung\n");
    event_base_loopbreak(arg);
}

struct scenario {
    bool ecm;
    bool g4;
    int pages;
    double speed;
    int modems;
    struct mfx_t38_session tx_sess;       /* what the sender was told (its EC, the receiver's max datagram) */
    struct mfx_t38_session rx_sess;
    struct mfx_t38_impair tx_imp;         /* on what the sender sends */
    struct mfx_t38_impair rx_imp;         /* on what the receiver sends */
};

struct outcome {
    struct run run;
    struct mfx_t38_stats tx_st, rx_st;
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
    struct mfx_media_clock *clk = mfx_media_clock_new(run->base, sc->speed);
    struct mfx_fax_params ptx = { .transmit = true, .tx_tiff = txpath, .ident = "+1 555 0100", .ecm = sc->ecm,
                                  .modems = sc->modems, .log_tag = "t38_tx" };
    struct mfx_fax_params prx = { .transmit = false, .rx_tiff = rxpath, .ident = "+1 555 0199", .ecm = sc->ecm,
                                  .modems = sc->modems, .log_tag = "t38_rx" };
    struct mfx_t38_fax_callbacks cbs = { .page = on_page, .done = on_done };
    char *err = NULL;
    struct mfx_t38_fax *tx = mfx_t38_fax_new(clk, "127.0.0.1", &ptx, &sc->tx_imp, &cbs, &run->tx, &err);
    TAP_CHECK(tx != NULL);
    struct mfx_t38_fax *rx = mfx_t38_fax_new(clk, "127.0.0.1", &prx, &sc->rx_imp, &cbs, &run->rx, &err);
    TAP_CHECK(rx != NULL);
    TAP_CHECK(mfx_t38_fax_local_port(tx) > 0 && mfx_t38_fax_local_port(rx) > 0);
    TAP_CHECK(mfx_t38_fax_start(tx, "127.0.0.1", mfx_t38_fax_local_port(rx), &sc->tx_sess, &err) == 0);
    TAP_CHECK(mfx_t38_fax_start(rx, "127.0.0.1", mfx_t38_fax_local_port(tx), &sc->rx_sess, &err) == 0);

    struct event *guard = evtimer_new(run->base, on_wall_limit, run->base);
    struct timeval limit = { WALL_LIMIT_S, 0 };
    evtimer_add(guard, &limit);
    double cpu0 = cpu_seconds();
    event_base_dispatch(run->base);
    double cpu = cpu_seconds() - cpu0;

    mfx_t38_fax_stats(tx, &o->tx_st);
    mfx_t38_fax_stats(rx, &o->rx_st);
    if (!run->tx.done) TAP_CHECK(mfx_t38_fax_result(tx, &run->tx.r) == 0);
    if (!run->rx.done) TAP_CHECK(mfx_t38_fax_result(rx, &run->rx.r) == 0);
    mfx_t38_fax_free(tx);
    mfx_t38_fax_free(rx);
    struct mfx_media_clock_stats cst;
    mfx_media_clock_stats(clk, &cst);
    printf("# tx: %s (%d), pages %d, %d bit/s, ecm %d, remote \"%s\"; rx: %s (%d), pages %d; "
           "clock: %llu ticks (%.0f s of media), %llu skipped; cpu %.2f s for both legs (%.2f%% of one core "
           "per leg in real time)\n",
           run->tx.r.completion_text, run->tx.r.completion, run->tx.r.pages, run->tx.r.bit_rate, run->tx.r.ecm,
           run->tx.r.remote_ident, run->rx.r.completion_text, run->rx.r.completion, run->rx.r.pages,
           (unsigned long long)cst.ticks, cst.ticks * 0.02, (unsigned long long)cst.skipped, cpu,
           cst.ticks ? 100.0 * cpu / (cst.ticks * 0.02) / 2 : 0.0);
    const struct mfx_t38_stats *a = &o->tx_st, *b = &o->rx_st;
    printf("# sender: ifps %llu, tx %llu (lost %llu dup %llu reordered %llu), rx %llu: recovered %llu lost %llu "
           "dup %llu late %llu\n",
           (unsigned long long)a->tx_ifps, (unsigned long long)a->tx_datagrams, (unsigned long long)a->tx_lost,
           (unsigned long long)a->tx_duplicated, (unsigned long long)a->tx_reordered,
           (unsigned long long)a->rx_datagrams, (unsigned long long)a->udptl.recovered,
           (unsigned long long)a->udptl.lost, (unsigned long long)a->udptl.duplicates,
           (unsigned long long)a->udptl.late);
    printf("# receiver: ifps %llu, tx %llu (lost %llu dup %llu reordered %llu), rx %llu: recovered %llu lost %llu "
           "dup %llu late %llu\n",
           (unsigned long long)b->tx_ifps, (unsigned long long)b->tx_datagrams, (unsigned long long)b->tx_lost,
           (unsigned long long)b->tx_duplicated, (unsigned long long)b->tx_reordered,
           (unsigned long long)b->rx_datagrams, (unsigned long long)b->udptl.recovered,
           (unsigned long long)b->udptl.lost, (unsigned long long)b->udptl.duplicates,
           (unsigned long long)b->udptl.late);
    mfx_media_clock_free(clk);
    event_free(guard);
    event_base_free(run->base);
    o->matched = run->rx.done && run->rx.r.completion == T30_ERR_OK ? mfx_faxpages_compare(rxpath, sc->pages) : 0;
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
    TAP_CHECK(o->tx_st.rx_wrong_source == 0 && o->rx_st.rx_wrong_source == 0);
    TAP_CHECK(o->tx_st.udptl.malformed == 0 && o->rx_st.udptl.malformed == 0);
    TAP_CHECK(o->tx_st.tx_encode_failed == 0 && o->rx_st.tx_encode_failed == 0);
    TAP_CHECK(o->rx_st.rx_datagrams > 0 && o->rx_st.udptl.delivered > 0);
    return 0;
}

static const struct mfx_t38_session redundancy3 = {
    .version = 0, .max_bit_rate = 14400, .transferred_tcf = true, .max_datagram = 1400,
    .ec = MFX_UDPTL_EC_REDUNDANCY, .redundancy = 3,
};

static int ecm_redundancy(void)
{
    struct scenario sc = { .ecm = true, .g4 = true, .pages = 3, .speed = mfx_test_media_speed(),
                           .tx_sess = redundancy3, .rx_sess = redundancy3 };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 3) == 0);
    TAP_CHECK(o.run.tx.r.ecm && o.run.tx.r.bit_rate == 14400);
    TAP_CHECK(o.tx_st.udptl.lost == 0 && o.rx_st.udptl.lost == 0);
    /* spandsp sends indicators and the end of data 3 times with one sequence number: duplicates, dropped. */
    TAP_CHECK(o.rx_st.udptl.duplicates > 0);
    TAP_CHECK(o.tx_st.tx_datagrams > o.tx_st.tx_ifps);
    return 0;
}

static int non_ecm_t4(void)
{
    struct scenario sc = { .ecm = false, .g4 = false, .pages = 2, .speed = mfx_test_media_speed(),
                           .tx_sess = redundancy3, .rx_sess = redundancy3 };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 2) == 0);
    TAP_CHECK(!o.run.tx.r.ecm);
    return 0;
}

static int loss_10pct(void)
{
    struct scenario sc = { .ecm = true, .g4 = true, .pages = 3, .speed = mfx_test_media_speed(),
                           .tx_sess = redundancy3, .rx_sess = redundancy3,
                           .tx_imp = { .loss_pct = 10, .seed = 101 }, .rx_imp = { .loss_pct = 10, .seed = 202 } };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 3) == 0);
    TAP_CHECK(o.tx_st.tx_lost > 0 && o.rx_st.tx_lost > 0);          /* the impairment really dropped */
    TAP_CHECK(o.rx_st.udptl.recovered > 0 && o.tx_st.udptl.recovered > 0);   /* redundancy brought them back */
    return 0;
}

static int loss_fec(void)
{
    struct mfx_t38_session fec = redundancy3;
    fec.ec = MFX_UDPTL_EC_FEC;
    struct scenario sc = { .ecm = true, .g4 = true, .pages = 2, .speed = mfx_test_media_speed(), .tx_sess = fec, .rx_sess = fec,
                           .tx_imp = { .loss_pct = 5, .seed = 303 }, .rx_imp = { .loss_pct = 5, .seed = 404 } };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 2) == 0);
    TAP_CHECK(o.tx_st.tx_lost > 0 && o.rx_st.udptl.recovered > 0);
    return 0;
}

/* 30% loss both ways. With redundancy 3 an IFP is lost only when its
 * datagram and the next three are (about 1%), and ECM repairs the rest:
 * delivered. Without error correction no T.30 frame gets through whole: the
 * exchange must end through T.30's own timers and retries with an error in
 * phase E, not hang. The completion codes are printed for the outcome
 * mapping. */
static int loss_30pct(enum mfx_udptl_ec ec, struct outcome *o)
{
    struct mfx_t38_session s = redundancy3;
    s.ec = ec;
    struct scenario sc = { .ecm = true, .g4 = true, .pages = 3, .speed = mfx_test_media_speed() * 2.5, .tx_sess = s, .rx_sess = s,
                           .tx_imp = { .loss_pct = 30, .seed = 505 }, .rx_imp = { .loss_pct = 30, .seed = 606 } };
    TAP_CHECK(run_fax(&sc, o) == 0);
    printf("# 30%% loss: the sender ends with %d (%s), the receiver with %d (%s)\n", o->run.tx.r.completion,
           o->run.tx.r.completion_text, o->run.rx.r.completion, o->run.rx.r.completion_text);
    TAP_CHECK(o->tx_st.tx_lost > 0 && o->rx_st.tx_lost > 0);
    return 0;
}

static int loss_30pct_redundancy(void)
{
    struct outcome o;
    TAP_CHECK(loss_30pct(MFX_UDPTL_EC_REDUNDANCY, &o) == 0);
    TAP_CHECK(check_delivered(&o, 3) == 0);
    TAP_CHECK(o.rx_st.udptl.recovered > 0);
    return 0;
}

static int loss_30pct_no_ec(void)
{
    struct outcome o;
    TAP_CHECK(loss_30pct(MFX_UDPTL_EC_NONE, &o) == 0);
    TAP_CHECK(o.run.tx.done_calls == 1);                   /* phase E came, not the hang guard */
    TAP_CHECK(o.run.tx.r.completion != T30_ERR_OK && o.run.tx.r.completion != T30_ERR_CALLDROPPED);
    TAP_CHECK(o.run.tx.r.pages == 0);
    TAP_CHECK(o.tx_st.udptl.recovered == 0 && o.tx_st.udptl.lost > 0);   /* the DIS frames broke up */
    return 0;
}

static int dup_and_reorder(void)
{
    struct scenario sc = { .ecm = true, .g4 = true, .pages = 3, .speed = mfx_test_media_speed(),
                           .tx_sess = redundancy3, .rx_sess = redundancy3,
                           .tx_imp = { .dup_pct = 10, .reorder_pct = 10, .seed = 707 },
                           .rx_imp = { .dup_pct = 10, .reorder_pct = 10, .seed = 808 } };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 3) == 0);
    TAP_CHECK(o.tx_st.tx_duplicated > 0 && o.tx_st.tx_reordered > 0);
    TAP_CHECK(o.rx_st.tx_duplicated > 0 && o.rx_st.tx_reordered > 0);
    TAP_CHECK(o.rx_st.udptl.duplicates > 0);
    return 0;
}

/* localTCF, T.38 version 3 and the peer's 200-byte datagrams (the UDPTL
 * sender drops secondaries to fit), 3% loss: still delivered, with ECM and
 * without. spandsp 0.0.6's terminal sends and expects TCF as data whatever
 * the rate management says, so this checks that the session maps cleanly,
 * not localTCF against a gateway that really generates TCF locally. */
static int local_tcf_small_datagrams(bool ecm)
{
    struct mfx_t38_session s = redundancy3;
    s.transferred_tcf = false;
    s.version = 3;
    s.max_datagram = 200;
    struct scenario sc = { .ecm = ecm, .g4 = ecm, .pages = 2, .speed = mfx_test_media_speed(), .tx_sess = s, .rx_sess = s,
                           .tx_imp = { .loss_pct = 3, .seed = 909 } };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 2) == 0);
    return 0;
}

static int local_tcf_small_ecm(void)
{
    return local_tcf_small_datagrams(true);
}

static int local_tcf_small_non_ecm(void)
{
    return local_tcf_small_datagrams(false);
}

/* T38MaxBitRate 9600: no V.17. */
static int max_bit_rate_9600(void)
{
    struct mfx_t38_session s = redundancy3;
    s.max_bit_rate = 9600;
    struct scenario sc = { .ecm = true, .g4 = true, .pages = 1, .speed = mfx_test_media_speed(), .tx_sess = s, .rx_sess = s };
    struct outcome o;
    TAP_CHECK(run_fax(&sc, &o) == 0);
    TAP_CHECK(check_delivered(&o, 1) == 0);
    TAP_CHECK(o.run.tx.r.bit_rate == 9600);
    return 0;
}

/* Frees both legs from the sender's first page callback (on the owner's
 * loop, while the media thread ticks on): the legs are retired to the media
 * thread, and done, though phase E may already be on its way, must never
 * come. ASan checks the rest. */
struct free_ctx {
    struct event_base *base;
    struct mfx_t38_fax *tx, *rx;
    int pages, done_calls;
};

static void free_on_page(void *ctx, int pages)
{
    struct free_ctx *fc = ctx;
    fc->pages = pages;
    mfx_t38_fax_free(fc->tx);
    mfx_t38_fax_free(fc->rx);
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
    struct mfx_fax_params ptx = { .transmit = true, .tx_tiff = txpath, .ecm = true, .log_tag = "t38_tx" };
    struct mfx_fax_params prx = { .transmit = false, .rx_tiff = rxpath, .ecm = true, .log_tag = "t38_rx" };
    struct mfx_t38_fax_callbacks txcb = { .page = free_on_page, .done = count_done };
    struct mfx_t38_fax_callbacks rxcb = { .done = count_done };
    char *err = NULL;
    fc.tx = mfx_t38_fax_new(clk, "127.0.0.1", &ptx, NULL, &txcb, &fc, &err);
    fc.rx = mfx_t38_fax_new(clk, "127.0.0.1", &prx, NULL, &rxcb, &fc, &err);
    TAP_CHECK(fc.tx && fc.rx);
    TAP_CHECK(mfx_t38_fax_start(fc.tx, "127.0.0.1", mfx_t38_fax_local_port(fc.rx), &redundancy3, &err) == 0);
    TAP_CHECK(mfx_t38_fax_start(fc.rx, "127.0.0.1", mfx_t38_fax_local_port(fc.tx), &redundancy3, &err) == 0);
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

/* ---- what a leg accepts and sends -------------------------------------- */

struct poll_ctx {
    struct event_base *base;
    struct mfx_t38_fax *leg;
    struct event *ev;
    int rounds;
};

static void poll_stats(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct poll_ctx *pc = arg;
    struct mfx_t38_stats st;
    mfx_t38_fax_stats(pc->leg, &st);
    if ((st.rx_wrong_source && st.udptl.malformed && st.udptl.delivered && st.tx_ifps >= 2) ||
        ++pc->rounds > 5000) {
        event_base_loopbreak(pc->base);
        return;
    }
    struct timeval tv = { 0, 2000 };
    evtimer_add(pc->ev, &tv);
}

static int source_and_datagram_checks(void)
{
    struct event_base *base = event_base_new();
    struct mfx_media_clock *clk = mfx_media_clock_new(base, 10);
    char *err = NULL;
    char txpath[128];
    snprintf(txpath, sizeof txpath, "%s/tx.tif", tmpdir);
    TAP_CHECK(mfx_faxpages_write(txpath, 1, true) == 0);
    struct mfx_fax_params ptx = { .transmit = true, .tx_tiff = txpath, .ecm = true, .log_tag = "t38_tx" };
    struct mfx_fax_params pst = { .transmit = true, .tx_tiff = txpath, .ecm = true, .log_tag = "stranger" };
    struct mfx_t38_fax *leg = mfx_t38_fax_new(clk, "127.0.0.1", &ptx, NULL, NULL, NULL, &err);
    struct mfx_t38_fax *stranger = mfx_t38_fax_new(clk, "127.0.0.1", &pst, NULL, NULL, NULL, &err);
    TAP_CHECK(leg && stranger);

    /* The far end is a plain socket we control. */
    int peer = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in pa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t plen = sizeof pa;
    TAP_CHECK(bind(peer, (struct sockaddr *)&pa, sizeof pa) == 0);
    TAP_CHECK(getsockname(peer, (struct sockaddr *)&pa, &plen) == 0);
    int peer_port = ntohs(pa.sin_port);

    TAP_CHECK(mfx_t38_fax_start(leg, "::1", peer_port, &redundancy3, &err) == -1);      /* another family */
    free(err);
    err = NULL;
    TAP_CHECK(mfx_t38_fax_start(leg, "127.0.0.1", 70000, &redundancy3, &err) == -1);
    free(err);
    err = NULL;
    TAP_CHECK(mfx_t38_fax_start(leg, "127.0.0.1", peer_port, &redundancy3, &err) == 0);
    TAP_CHECK(mfx_t38_fax_start(stranger, "127.0.0.1", mfx_t38_fax_local_port(leg), &redundancy3, &err) == 0);

    struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                              .sin_port = htons((uint16_t)mfx_t38_fax_local_port(leg)) };
    TAP_CHECK(sendto(peer, "\x00\x01\xff", 3, 0, (struct sockaddr *)&la, sizeof la) == 3);     /* not UDPTL */
    /* A well-formed UDPTL datagram (T.38 §9.1) with an IFP: a no-signal indicator (T.38 §6.1: 0x00). */
    uint8_t ifp[1] = { 0x00 }, dgram[64];
    struct mfx_udptl_packet up = { .seq = 7, .primary = ifp, .primary_len = 1, .ec = MFX_UDPTL_EC_REDUNDANCY };
    int n = mfx_udptl_encode(&up, dgram, sizeof dgram);
    TAP_CHECK(n > 0);
    TAP_CHECK(sendto(peer, dgram, (size_t)n, 0, (struct sockaddr *)&la, sizeof la) == n);

    struct poll_ctx pc = { .base = base, .leg = leg };
    pc.ev = evtimer_new(base, poll_stats, &pc);
    struct timeval tv = { 0, 2000 };
    evtimer_add(pc.ev, &tv);
    event_base_dispatch(base);

    struct mfx_t38_stats st;
    mfx_t38_fax_stats(leg, &st);
    TAP_CHECK(st.rx_wrong_source > 0);                     /* the stranger's datagrams */
    TAP_CHECK(st.rx_datagrams == 2 && st.udptl.malformed == 1 && st.udptl.delivered == 1);
    TAP_CHECK(st.tx_datagrams >= 6 && st.tx_ifps >= 2);
    struct mfx_fax_result r;
    TAP_CHECK(mfx_t38_fax_result(leg, &r) == 0);
    TAP_CHECK(r.completion == T30_ERR_CALLDROPPED && !r.remote_fax_seen && r.pages == 0);

    /* What the leg sends: UDPTL with redundancy, sequence numbers from 0 up
     * by one per IFP (spandsp's 3 repeats of an indicator share theirs); the
     * calling party starts with no-signal (T.38 6.1: 0x00), then CNG (0x02). */
    uint8_t buf[2048];
    int count = 0, last_seq = -1;
    for (;;) {
        ssize_t got = recv(peer, buf, sizeof buf, MSG_DONTWAIT);
        if (got < 0) break;
        struct mfx_udptl_packet q;
        TAP_CHECK(mfx_udptl_decode(buf, (size_t)got, &q) == 0);
        TAP_CHECK(q.ec == MFX_UDPTL_EC_REDUNDANCY || (q.ec == MFX_UDPTL_EC_NONE && q.seq == 0));
        TAP_CHECK(q.seq == last_seq || q.seq == last_seq + 1);
        if (q.seq > 0) TAP_CHECK(q.n_secondary == (q.seq < 3 ? q.seq : 3));
        if (q.seq == 0) TAP_CHECK(q.primary_len == 1 && q.primary[0] == 0x00);
        if (q.seq == 1) TAP_CHECK(q.primary_len == 1 && q.primary[0] == 0x02 && q.secondary[0][0] == 0x00);
        last_seq = q.seq;
        count++;
    }
    TAP_CHECK(count >= 6 && last_seq >= 1);

    close(peer);
    event_free(pc.ev);
    mfx_t38_fax_free(stranger);
    mfx_t38_fax_free(leg);
    mfx_media_clock_free(clk);
    event_base_free(base);
    unlink(txpath);
    return 0;
}

static int bad_arguments(void)
{
    struct event_base *base = event_base_new();
    struct mfx_media_clock *clk = mfx_media_clock_new(base, 1);
    char *err = NULL;
    struct mfx_fax_params p = { .transmit = false, .rx_tiff = "/nonexistent/rx.tif" };
    TAP_CHECK(mfx_t38_fax_new(clk, "127.0.0.1", NULL, NULL, NULL, NULL, &err) == NULL);
    TAP_CHECK(err != NULL);
    free(err);
    err = NULL;
    TAP_CHECK(mfx_t38_fax_new(clk, "not-an-ip", &p, NULL, NULL, NULL, &err) == NULL);
    TAP_CHECK(err != NULL);
    free(err);
    err = NULL;
    struct mfx_t38_impair silly = { .loss_pct = -5, .dup_pct = 1e9, .reorder_pct = NAN };
    struct mfx_t38_fax *t = mfx_t38_fax_new(clk, "127.0.0.1", &p, &silly, NULL, NULL, &err);
    TAP_CHECK(t != NULL);
    TAP_CHECK(mfx_t38_fax_start(t, "127.0.0.1", 0, NULL, &err) == -1);
    free(err);
    err = NULL;
    TAP_CHECK(mfx_t38_fax_start(t, "127.0.0.1:9", 9, NULL, &err) == -1);
    free(err);
    err = NULL;
    TAP_CHECK(mfx_t38_fax_start(t, "127.0.0.1", 9, NULL, &err) == 0);                  /* NULL: a zeroed session */
    TAP_CHECK(mfx_t38_fax_start(t, "127.0.0.1", 11, NULL, &err) == 0);                 /* a re-INVITE moves it */
    struct mfx_fax_result r;
    TAP_CHECK(mfx_t38_fax_result(t, &r) == 0 && r.completion == T30_ERR_CALLDROPPED);
    mfx_t38_fax_free(t);
    mfx_t38_fax_free(NULL);
    mfx_media_clock_free(clk);
    event_base_free(base);
    return 0;
}

static const struct tap_case cases[] = {
    { "bad arguments are refused with a message", bad_arguments },
    { "T.38 9.1: source and garbage checks; what a leg sends", source_and_datagram_checks },
    { "ECM, redundancy 3, transferredTCF: 3 G4 pages arrive bit-exact", ecm_redundancy },
    { "no ECM, redundancy 3: 2 T.4 2-D pages arrive bit-exact", non_ecm_t4 },
    { "10% loss both ways, redundancy 3, ECM: delivered", loss_10pct },
    { "5% loss both ways, FEC, ECM: delivered", loss_fec },
    { "30% loss both ways, redundancy 3, ECM: delivered", loss_30pct_redundancy },
    { "30% loss both ways, no error correction: the sender ends with a T.30 error, no hang", loss_30pct_no_ec },
    { "10% duplicates and 10% reordering both ways: delivered", dup_and_reorder },
    { "localTCF, version 3, 200-byte datagrams, ECM: delivered", local_tcf_small_ecm },
    { "localTCF, version 3, 200-byte datagrams, no ECM: delivered", local_tcf_small_non_ecm },
    { "T38MaxBitRate 9600: V.29, delivered", max_bit_rate_9600 },
    { "a leg freed from its page callback (while the media thread runs)", free_from_page_callback },
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
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mfx-t38-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    /* MFX_TEST_CASE=n runs only case n (debugging, with MFX_TEST_DEBUG=1 for spandsp's log). */
    const char *only = getenv("MFX_TEST_CASE");
    int n = only ? atoi(only) : 0;
    int rc = n >= 1 && n <= (int)MFX_ARRAY_LEN(cases) ? tap_run(&cases[n - 1], 1)
                                                       : tap_run(cases, (int)MFX_ARRAY_LEN(cases));
    rmdir(tmpdir);
    return rc;
}
