/* SPDX-License-Identifier: Apache-2.0
 *
 * peer.c: mintfax-peer, the test fax peer and the demo's far fax machine. A
 * SIP UAS on the same modules as the daemon (sip_ua.c, sdp.c, the media
 * layer) that answers calls and receives faxes with spandsp as the
 * receiver, saving each fax as a TIFF in --rx-dir. How it treats a call is
 * chosen by the dialled number (see behaviours[] and --help) or for every
 * call by --behaviour; --auth makes it challenge INVITE and REGISTER with
 * digest (RFC 3261 §22), and --loss/--jitter/--noise impair the RTP it
 * sends.
 *
 * It prints one JSON object per line on stdout for each thing that happens
 * (ready, register, invite, received, cancel, bye), so tests can follow it,
 * and at exit a "clock" line with its media clock's statistics.
 */
#include "config.h"
#include "sip_ua.h"
#include "sdp.h"
#include "media_clock.h"
#include "audio_fax.h"
#include "t38_fax.h"
#include "t38_sdp.h"
#include "fdlimit.h"
#include "log.h"
#include "mfx.h"

#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <spandsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum behaviour { B_RECEIVE, B_BUSY, B_DECLINE, B_NO_ANSWER, B_SLOW, B_SILENCE, B_SPEECH, B_DROP_AFTER_PAGE_1 };

static const struct {
    const char *name;
    const char *number;           /* the dialled user part that selects it */
    enum behaviour b;
    const char *help;
} behaviours[] = {
    { "receive", NULL, B_RECEIVE, "answer and receive the fax (any other number)" },
    { "busy", "+15550100486", B_BUSY, "answer 486 Busy Here" },
    { "decline", "+15550100603", B_DECLINE, "answer 603 Decline" },
    { "no-answer", "+15550100408", B_NO_ANSWER, "ring (180) until the caller cancels" },
    { "slow", "+15550100180", B_SLOW, "ring for --slow-seconds, then answer and receive" },
    { "silence", "+15550100100", B_SILENCE, "answer, but send silence: not a fax machine" },
    { "speech", "+15550100101", B_SPEECH, "answer, but send speech-like tones: a person" },
    { "drop-after-page-1", "+15550100002", B_DROP_AFTER_PAGE_1, "receive, and hang up after page 1" },
};

struct pcall {
    struct pcall *next;
    uint64_t id;
    unsigned seq;
    enum behaviour b;
    char number[64];
    char path[512];
    struct mfx_audio_fax *audio;
    struct mfx_t38_fax *t38;
    struct event *timer;
    struct mfx_sdp_media offer;   /* the audio stream we answer */
    struct mfx_sdp_parsed offer_all;
    bool answered;
    bool reported;
    bool on_t38;
    struct event *t38_timer;      /* --t38 reinvite: when to send ours */
    bool glared;                  /* --t38 glare: the first T.38 re-INVITE got 491 */
};

/* How the peer treats T.38 (--t38). */
enum t38_mode { T38_ACCEPT, T38_REFUSE, T38_REINVITE, T38_ANSWER, T38_GLARE };
static const char *const t38_modes[] = { "accept", "refuse", "reinvite", "answer", "glare" };

static struct {
    struct event_base *base;
    struct mfx_sip_ua *ua;
    struct mfx_media_clock *clock;
    struct pcall *calls;
    const char *rx_dir;
    const char *auth_user, *auth_pass;
    char nonce[33];
    int forced;                   /* -1, or a behaviour for every call */
    double slow_seconds;
    int register_expires;             /* --register-expires: granted in 200 OK to REGISTER, 0: none */
    struct mfx_audio_impair impair;
    bool impaired;
    enum t38_mode t38;
    struct mfx_t38_impair t38_impair;
    bool t38_impaired;
    const char *csid;
    double speed;
    int jitter_delay_ms;
    char local_ip[64];
    unsigned seq;
} P = { .forced = -1, .slow_seconds = 5, .csid = "mintfax-peer" };

static const char *realm = "mintfax-peer";

/* One JSON object per line on stdout; values are our own or the peer's
 * numbers, quoted with no escaping needed beyond what we strip. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void clean(char *s)
{
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 32) *s = '_';
}

static struct pcall *pcall_find(uint64_t id)
{
    for (struct pcall *c = P.calls; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

static void pcall_free(struct pcall *c)
{
    for (struct pcall **p = &P.calls; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    if (c->audio) mfx_audio_fax_free(c->audio);
    if (c->t38) mfx_t38_fax_free(c->t38);
    if (c->timer) event_free(c->timer);
    if (c->t38_timer) event_free(c->t38_timer);
    free(c);
}

static void report_received(struct pcall *c, const struct mfx_fax_result *r)
{
    if (c->reported) return;
    c->reported = true;
    char ident[32];
    snprintf(ident, sizeof ident, "%s", r ? r->remote_ident : "");
    clean(ident);
    say("{\"event\":\"received\",\"seq\":%u,\"to\":\"%s\",\"file\":\"%s\",\"pages\":%d,\"completion\":%d,"
        "\"completion_text\":\"%s\",\"bit_rate\":%d,\"ecm\":%s,\"remote_ident\":\"%s\",\"codec\":\"%s\"}",
        c->seq, c->number, c->path, r ? r->pages : 0, r ? r->completion : -1,
        r ? r->completion_text : "call ended before phase E", r ? r->bit_rate : 0,
        r && r->ecm ? "true" : "false", ident, c->on_t38 ? "T38" : c->offer.pt == MFX_PT_PCMA ? "PCMA" : "PCMU");
}

static void on_drop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pcall *c = arg;
    event_free(c->timer);
    c->timer = NULL;
    say("{\"event\":\"hangup\",\"seq\":%u,\"reason\":\"drop-after-page-1\"}", c->seq);
    mfx_sip_hangup(P.ua, c->id);
}

static void on_page(void *ctx, int pages)
{
    struct pcall *c = ctx;
    say("{\"event\":\"page\",\"seq\":%u,\"pages\":%d}", c->seq, pages);
    if (c->b == B_DROP_AFTER_PAGE_1 && pages == 1 && !c->timer) {
        /* Hang up once our MCF for page 1 has had time to reach the sender
         * (V.21 preamble and frame: about 1.5 s of media time). */
        double s = 2.0 / P.speed;
        c->timer = evtimer_new(P.base, on_drop, c);
        struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };
        evtimer_add(c->timer, &tv);
    }
}

static void on_done(void *ctx, const struct mfx_fax_result *r)
{
    report_received(ctx, r);
}

static const struct mfx_audio_fax_callbacks audio_cb = { on_page, on_done };

static const struct mfx_t38_fax_callbacks t38_cb = { on_page, on_done };

/* The receiver's T.30 settings: ECM, our CSID, the call's TIFF. */
static void rx_params(const struct pcall *c, struct mfx_fax_params *fp)
{
    memset(fp, 0, sizeof *fp);
    fp->rx_tiff = c->path;
    fp->ident = P.csid;
    fp->ecm = true;
    fp->log_tag = "peer";
}

/* Binds the call's T.38 leg if it has none; false if it cannot. */
static bool t38_bind(struct pcall *c)
{
    if (c->t38) return true;
    struct mfx_fax_params fp;
    rx_params(c, &fp);
    char *err = NULL;
    c->t38 = mfx_t38_fax_new(P.clock, P.local_ip, &fp, P.t38_impaired ? &P.t38_impair : NULL, &t38_cb,
                             c, &err);
    if (!c->t38) say("{\"event\":\"error\",\"seq\":%u,\"message\":\"t38 media: %s\"}", c->seq, err ? err : "?");
    free(err);
    return c->t38 != NULL;
}

/* Binds (if needed) and starts a T.38 receiver towards img; the audio leg,
 * if any, stops. Returns false if the media cannot be opened. */
static bool t38_start(struct pcall *c, const struct mfx_sdp_media *img)
{
    if (!t38_bind(c)) return false;
    struct mfx_t38_session ses;
    mfx_t38_sdp_session(&img->t38, 3, &ses);
    char *err = NULL;
    if (mfx_t38_fax_start(c->t38, img->addr, img->port, &ses, &err) != 0) {
        say("{\"event\":\"error\",\"seq\":%u,\"message\":\"t38 media: %s\"}", c->seq, err ? err : "?");
        free(err);
        return false;
    }
    if (c->audio) mfx_audio_fax_free(c->audio);
    c->audio = NULL;
    c->on_t38 = true;
    say("{\"event\":\"t38\",\"seq\":%u,\"max_datagram\":%d}", c->seq, img->t38.max_datagram);
    return true;
}

/* Our SDP for the stream kind, mirroring offer (an answer) or not (NULL). */
static char *local_sdp(struct pcall *c, enum mfx_media_kind kind, const struct mfx_sdp_parsed *offer)
{
    int pts[1] = { c->offer.pt };
    struct mfx_sdp_local l = { .addr = P.local_ip, .sess_id = c->seq + 1000, .sess_version = (unsigned long long)time(NULL),
                               .kind = kind, .ptime = 20, .dir = MFX_SDP_SENDRECV, .offer = offer };
    if (kind == MFX_MEDIA_T38) {
        l.port = mfx_t38_fax_local_port(c->t38);
        mfx_t38_sdp_ours(&l.t38);
    } else {
        l.port = mfx_audio_fax_local_port(c->audio);
        l.pts = pts;
        l.n_pts = 1;
    }
    return mfx_sdp_build(&l);
}

static void on_t38_reinvite(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pcall *c = arg;
    if (c->on_t38) return;
    if (!t38_bind(c)) return;
    char *sdp = local_sdp(c, MFX_MEDIA_T38, NULL);
    say("{\"event\":\"reinvite_sent\",\"seq\":%u}", c->seq);
    mfx_sip_reinvite(P.ua, c->id, sdp);
    free(sdp);
}

/* 200 OK with our stream of kind, mirroring the offer's m= lines. */
static void answer_ok(struct pcall *c, enum mfx_media_kind kind, const char *codec)
{
    char *sdp = local_sdp(c, kind, &c->offer_all);
    c->answered = true;
    mfx_sip_respond(P.ua, c->id, 200, "OK", sdp, NULL);
    free(sdp);
    say("{\"event\":\"answered\",\"seq\":%u,\"codec\":\"%s\"}", c->seq, codec);
}

/* Answers with media: a receiver (or a silent/speaking line) on the codec
 * the offer and our settings agree on, or T.38 directly (--t38 answer). */
static void answer(struct pcall *c)
{
    snprintf(c->path, sizeof c->path, "%s/rx-%04u-%s.tif", P.rx_dir, c->seq, c->number);
    if (P.t38 == T38_ANSWER && c->offer_all.image.kind == MFX_MEDIA_T38 && c->b == B_RECEIVE) {
        if (!t38_start(c, &c->offer_all.image)) {
            mfx_sip_respond(P.ua, c->id, 500, "Media Failure", NULL, NULL);
            return;
        }
        answer_ok(c, MFX_MEDIA_T38, "T38");
        return;
    }
    if (c->offer.kind != MFX_MEDIA_AUDIO) {
        mfx_sip_respond(P.ua, c->id, 488, "Not Acceptable Here", NULL, NULL);
        return;
    }
    enum mfx_audio_mode mode = c->b == B_SILENCE ? MFX_AUDIO_SILENCE : c->b == B_SPEECH ? MFX_AUDIO_SPEECH
                                                                                       : MFX_AUDIO_FAX;
    struct mfx_fax_params fp;
    rx_params(c, &fp);
    char *err = NULL;
    c->audio = mfx_audio_fax_new(P.clock, P.local_ip, mode, &fp, P.impaired ? &P.impair : NULL,
                                 &audio_cb, c, &err);
    if (c->audio && P.jitter_delay_ms) mfx_audio_fax_set_jitter_ms(c->audio, P.jitter_delay_ms);
    if (!c->audio || mfx_audio_fax_start(c->audio, c->offer.addr, c->offer.port, c->offer.pt, &err) != 0) {
        say("{\"event\":\"error\",\"seq\":%u,\"message\":\"media: %s\"}", c->seq, err ? err : "?");
        free(err);
        mfx_sip_respond(P.ua, c->id, 500, "Media Failure", NULL, NULL);
        return;
    }
    answer_ok(c, MFX_MEDIA_AUDIO, c->offer.pt == MFX_PT_PCMA ? "PCMA" : "PCMU");
    if (P.t38 == T38_REINVITE && mode == MFX_AUDIO_FAX) {
        /* A carrier gateway hears the caller's CNG and moves to T.38 (1 s of media). */
        c->t38_timer = evtimer_new(P.base, on_t38_reinvite, c);
        double sec = 1.0 / P.speed;
        struct timeval tv = { (time_t)sec, (suseconds_t)((sec - (double)(time_t)sec) * 1e6) };
        evtimer_add(c->t38_timer, &tv);
    }
}

static void on_slow(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    answer(arg);
}

/* After the caller's BYE, the receiver gets a moment to reach phase E on
 * what is still in its jitter buffer, then the call is forgotten. */
static void on_linger(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct pcall *c = arg;
    report_received(c, NULL);
    pcall_free(c);
}

static bool authorized(const struct mfx_sip_event *ev)
{
    if (!P.auth_user) return true;
    return mfx_sip_digest_ok(ev->authorization, ev->method, realm, P.nonce, P.auth_user, P.auth_pass);
}

static char *challenge(void)
{
    return mfx_asprintf("Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5", realm, P.nonce);
}

static void on_incoming(const struct mfx_sip_event *ev)
{
    char user[64];
    snprintf(user, sizeof user, "%s", ev->user);
    clean(user);
    if (!authorized(ev)) {
        say("{\"event\":\"challenge\",\"method\":\"INVITE\",\"to\":\"%s\",\"had_authorization\":%s}", user,
            ev->authorization[0] ? "true" : "false");
        char *ch = challenge();
        mfx_sip_respond(P.ua, ev->call, 401, "Unauthorized", NULL, ch);
        free(ch);
        return;
    }
    struct pcall *c = mfx_calloc(1, sizeof *c);
    c->id = ev->call;
    c->seq = ++P.seq;
    snprintf(c->number, sizeof c->number, "%s", user);
    c->next = P.calls;
    P.calls = c;
    c->b = B_RECEIVE;
    for (size_t i = 0; i < MFX_ARRAY_LEN(behaviours); i++)
        if (behaviours[i].number && !strcmp(behaviours[i].number, user)) c->b = behaviours[i].b;
    if (P.forced >= 0) c->b = (enum behaviour)P.forced;
    say("{\"event\":\"invite\",\"seq\":%u,\"to\":\"%s\",\"authorized\":%s,\"sdp\":\"%s\",\"transport\":\"%s\"}",
        c->seq, user, ev->authorization[0] ? "true" : "false",
        ev->has_sdp ? mfx_sdp_status_name(ev->sdp_status) : "none", ev->transport);
    switch (c->b) {
    case B_BUSY: mfx_sip_respond(P.ua, c->id, 486, "Busy Here", NULL, NULL); return;
    case B_DECLINE: mfx_sip_respond(P.ua, c->id, 603, "Decline", NULL, NULL); return;
    case B_NO_ANSWER: mfx_sip_respond(P.ua, c->id, 180, "Ringing", NULL, NULL); return;
    default: break;
    }
    if (!ev->has_sdp || ev->sdp_status != MFX_SDP_OK) {
        mfx_sip_respond(P.ua, c->id, 488, "Not Acceptable Here", NULL, NULL);
        return;
    }
    c->offer = ev->media.audio;
    c->offer_all = ev->media;
    if (c->b == B_SLOW) {
        mfx_sip_respond(P.ua, c->id, 180, "Ringing", NULL, NULL);
        c->timer = evtimer_new(P.base, on_slow, c);
        struct timeval tv = { (time_t)P.slow_seconds,
                              (suseconds_t)((P.slow_seconds - (double)(time_t)P.slow_seconds) * 1e6) };
        evtimer_add(c->timer, &tv);
        return;
    }
    answer(c);
}

static void on_register(const struct mfx_sip_event *ev)
{
    char user[64];
    snprintf(user, sizeof user, "%s", ev->user);
    clean(user);
    bool ok = authorized(ev);
    say("{\"event\":\"register\",\"user\":\"%s\",\"authorized\":%s,\"had_authorization\":%s}", user,
        ok ? "true" : "false", ev->authorization[0] ? "true" : "false");
    if (ok) {
        mfx_sip_respond_register(P.ua, ev->call, 200, "OK", NULL, P.register_expires);
    } else {
        char *ch = challenge();
        mfx_sip_respond_register(P.ua, ev->call, 401, "Unauthorized", ch, 0);
        free(ch);
    }
}

static void on_sip(void *ctx, const struct mfx_sip_event *ev)
{
    (void)ctx;
    if (ev->type == MFX_SIP_INCOMING) {
        on_incoming(ev);
        return;
    }
    if (ev->type == MFX_SIP_REGISTER_IN) {
        on_register(ev);
        return;
    }
    struct pcall *c = pcall_find(ev->call);
    if (!c) return;
    switch (ev->type) {
    case MFX_SIP_CANCELLED:
        say("{\"event\":\"cancel\",\"seq\":%u}", c->seq);
        pcall_free(c);
        break;
    case MFX_SIP_ENDED:
        say("{\"event\":\"bye\",\"seq\":%u,\"remote\":%s}", c->seq, ev->remote_bye ? "true" : "false");
        if ((c->audio || c->t38) && !c->reported) {
            if (c->timer) event_free(c->timer);
            c->timer = evtimer_new(P.base, on_linger, c);
            struct timeval tv = { 1, 0 };
            evtimer_add(c->timer, &tv);
        } else {
            pcall_free(c);
        }
        break;
    case MFX_SIP_REINVITE: {
        bool t38 = ev->has_sdp && ev->sdp_status == MFX_SDP_OK && ev->media.image.kind == MFX_MEDIA_T38;
        say("{\"event\":\"reinvite\",\"seq\":%u,\"t38\":%s}", c->seq, t38 ? "true" : "false");
        if (t38 && P.t38 == T38_GLARE && !c->glared) {
            /* As if our own re-INVITE had crossed it (RFC 3261 §14.2). */
            c->glared = true;
            say("{\"event\":\"glare\",\"seq\":%u}", c->seq);
            mfx_sip_respond(P.ua, c->id, 491, "Request Pending", NULL, NULL);
            break;
        }
        if (!t38 || P.t38 == T38_REFUSE || (!c->on_t38 && !t38_start(c, &ev->media.image))) {
            mfx_sip_respond(P.ua, c->id, 488, "Not Acceptable Here", NULL, NULL);
            break;
        }
        char *sdp = local_sdp(c, MFX_MEDIA_T38, &ev->media);
        mfx_sip_respond(P.ua, c->id, 200, "OK", sdp, NULL);
        free(sdp);
        break;
    }
    case MFX_SIP_REINVITE_RESULT:
        say("{\"event\":\"reinvite_result\",\"seq\":%u,\"status\":%d}", c->seq, ev->status);
        if (ev->status < 300 && ev->has_sdp && ev->sdp_status == MFX_SDP_OK && ev->media.image.kind == MFX_MEDIA_T38)
            t38_start(c, &ev->media.image);
        else if (c->t38 && !c->on_t38) {
            mfx_t38_fax_free(c->t38);
            c->t38 = NULL;
        }
        break;
    default:
        break;
    }
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig;
    (void)what;
    (void)arg;
    event_base_loopexit(P.base, NULL);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mintfax-peer --listen HOST:PORT --rx-dir DIR [options]\n"
            "  --behaviour NAME    treat every call this way (default: by the dialled number)\n"
            "  --auth USER:PASS    challenge INVITE and REGISTER with digest (401)\n"
            "  --register-expires N  grant N seconds in the 200 OK to a REGISTER (a short one makes\n"
            "                      the registering side refresh soon)\n"
            "  --codec pcmu|pcma   the only codec to accept (default: either, as offered)\n"
            "  --loss PCT          drop this %% of the RTP packets we send\n"
            "  --jitter MS         delay each RTP packet we send by 0..MS ms\n"
            "  --noise DBM0        add white noise at this level (e.g. -40) to what we send\n"
            "  --speed X           media clock speed; must equal the caller's [media] speed\n"
            "  --jitter-delay MS   fixed jitter-buffer delay of received RTP (default 60)\n"
            "  --t38 MODE          accept (default: take a T.38 re-INVITE), refuse (488 to it),\n"
            "                      reinvite (move the call to T.38 ourselves after answering),\n"
            "                      answer (answer an INVITE that offers T.38 with T.38),\n"
            "                      glare (491 to the first T.38 re-INVITE, as if ours had crossed it)\n"
            "  --udptl-loss PCT, --udptl-dup PCT, --udptl-reorder PCT   impair the UDPTL we send\n"
            "  --slow-seconds S    ring time of the slow behaviour (default 5)\n"
            "  --csid ID           our fax ident (default mintfax-peer)\n"
            "  --tls-listen H:P    also take SIP over TLS here (needs --tls-cert-dir)\n"
            "  --tls-cert-dir DIR  agent.pem (key and certificate) and cafile.pem\n"
            "behaviours (dialled number):\n");
    for (size_t i = 0; i < MFX_ARRAY_LEN(behaviours); i++)
        fprintf(f, "  %-18s %-13s %s\n", behaviours[i].name, behaviours[i].number ? behaviours[i].number : "",
                behaviours[i].help);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' }, { "rx-dir", required_argument, NULL, 'r' },
        { "behaviour", required_argument, NULL, 'b' }, { "auth", required_argument, NULL, 'a' },
        { "codec", required_argument, NULL, 'c' }, { "loss", required_argument, NULL, 'L' },
        { "jitter", required_argument, NULL, 'J' }, { "noise", required_argument, NULL, 'N' },
        { "speed", required_argument, NULL, 's' }, { "slow-seconds", required_argument, NULL, 'S' },
        { "csid", required_argument, NULL, 'i' }, { "help", no_argument, NULL, 'h' },
        { "log-level", required_argument, NULL, 'v' }, { "tls-listen", required_argument, NULL, 't' },
        { "tls-cert-dir", required_argument, NULL, 'T' }, { "jitter-delay", required_argument, NULL, 'D' },
        { "t38", required_argument, NULL, '3' }, { "udptl-loss", required_argument, NULL, '4' },
        { "udptl-dup", required_argument, NULL, '5' }, { "udptl-reorder", required_argument, NULL, '6' },
        { "register-expires", required_argument, NULL, 'E' },
        { NULL, 0, NULL, 0 },
    };
    const char *listen = NULL, *codec = NULL, *tls_listen = NULL, *tls_cert_dir = NULL;
    double speed = 1;
    char *auth = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l': listen = optarg; break;
        case 'r': P.rx_dir = optarg; break;
        case 'b':
            for (size_t i = 0; i < MFX_ARRAY_LEN(behaviours); i++)
                if (!strcmp(behaviours[i].name, optarg)) P.forced = (int)behaviours[i].b;
            if (P.forced < 0) {
                fprintf(stderr, "mintfax-peer: unknown behaviour %s\n", optarg);
                return 2;
            }
            break;
        case 'a': auth = optarg; break;
        case 'c': codec = optarg; break;
        case 'L': P.impair.loss_pct = atof(optarg); P.impaired = true; break;
        case 'J': P.impair.jitter_ms = atoi(optarg); P.impaired = true; break;
        case 'N': P.impair.noise_dbm0 = atof(optarg); P.impaired = true; break;
        case 's': speed = atof(optarg); break;
        case 'S': P.slow_seconds = atof(optarg); break;
        case 'i': P.csid = optarg; break;
        case 'v': mfx_log_level = mfx_log_level_parse(optarg) >= 0 ? mfx_log_level_parse(optarg) : mfx_log_level; break;
        case 'D': P.jitter_delay_ms = atoi(optarg); break;
        case 'E':
            P.register_expires = atoi(optarg);
            if (P.register_expires < 1 || P.register_expires > 86400) {
                fprintf(stderr, "mintfax-peer: --register-expires is 1 to 86400 seconds\n");
                return 2;
            }
            break;
        case '3': {
            int found = -1;
            for (int i = 0; i < (int)MFX_ARRAY_LEN(t38_modes); i++)
                if (!strcmp(t38_modes[i], optarg)) found = i;
            if (found < 0) {
                fprintf(stderr, "mintfax-peer: --t38 is accept, refuse, reinvite, answer or glare\n");
                return 2;
            }
            P.t38 = (enum t38_mode)found;
            break;
        }
        case '4': P.t38_impair.loss_pct = atof(optarg); P.t38_impaired = true; break;
        case '5': P.t38_impair.dup_pct = atof(optarg); P.t38_impaired = true; break;
        case '6': P.t38_impair.reorder_pct = atof(optarg); P.t38_impaired = true; break;
        case 't': tls_listen = optarg; break;
        case 'T': tls_cert_dir = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    mfx_raise_fd_limit();                                    /* a socket and a TIFF per call, as mintfaxd */
    if (P.jitter_delay_ms && (P.jitter_delay_ms < 20 || P.jitter_delay_ms > 400)) {
        fprintf(stderr, "mintfax-peer: --jitter-delay is 20 to 400 ms\n");
        return 2;
    }
    if (!listen || !P.rx_dir || speed < 1 || speed > 50 || (codec && strcmp(codec, "pcmu") && strcmp(codec, "pcma"))) {
        usage(stderr);
        return 2;
    }
    if (auth) {
        char *colon = strchr(auth, ':');
        if (!colon) {
            fprintf(stderr, "mintfax-peer: --auth wants USER:PASSWORD\n");
            return 2;
        }
        *colon = 0;
        P.auth_user = auth;
        P.auth_pass = colon + 1;
    }
    mkdir(P.rx_dir, 0700);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    for (int i = 0; i < 32; i++) P.nonce[i] = "0123456789abcdef"[rand() % 16];
    P.impair.seed = (unsigned)rand();
    P.t38_impair.seed = (unsigned)rand();
    snprintf(P.local_ip, sizeof P.local_ip, "%s", listen);
    char *colon = strrchr(P.local_ip, ':');
    if (colon) *colon = 0;

    P.speed = speed;
    P.base = event_base_new();
    P.clock = mfx_media_clock_new(P.base, speed);
    int both[2] = { MFX_PT_PCMU, MFX_PT_PCMA }, pcma[1] = { MFX_PT_PCMA }, pcmu[1] = { MFX_PT_PCMU };
    char *bind = mfx_asprintf("sip:%s", listen);
    char *tls_bind = tls_listen ? mfx_asprintf("sips:%s", tls_listen) : NULL;
    struct mfx_sip_ua_config cfg = {
        .bind_url = bind, .user_agent = "mintfax-peer/" PACKAGE_VERSION,
        .accept_pts = codec ? (!strcmp(codec, "pcma") ? pcma : pcmu) : both, .n_accept = codec ? 1 : 2,
        .tls_bind_url = tls_bind, .tls_cert_dir = tls_cert_dir, .tls_verify = false,
    };
    char *err = NULL;
    P.ua = mfx_sip_ua_start(P.base, &cfg, on_sip, NULL, &err);
    free(bind);
    free(tls_bind);
    if (!P.ua) {
        fprintf(stderr, "mintfax-peer: %s\n", err);
        free(err);
        return 1;
    }
    struct event *sigterm = evsignal_new(P.base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(P.base, SIGINT, on_signal, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    say("{\"event\":\"ready\",\"listen\":\"%s\",\"rx_dir\":\"%s\"}", listen, P.rx_dir);
    event_base_dispatch(P.base);
    while (P.calls) pcall_free(P.calls);
    mfx_sip_ua_stop(P.ua);
    /* How well our own media clock kept time (bench/channels reads it: a
     * late receiver clock hurts reception as much as a late sender's). */
    struct mfx_media_clock_stats cs;
    mfx_media_clock_stats(P.clock, &cs);
    say("{\"event\":\"clock\",\"ticks\":%llu,\"late\":%llu,\"max_late_ms\":%.1f,\"skipped\":%llu}",
        (unsigned long long)cs.ticks, (unsigned long long)cs.late_ticks, cs.max_late_ms,
        (unsigned long long)cs.skipped);
    mfx_media_clock_free(P.clock);
    event_free(sigterm);
    event_free(sigint);
    event_base_free(P.base);
    return 0;
}
