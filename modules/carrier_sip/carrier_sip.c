/* SPDX-License-Identifier: Apache-2.0
 *
 * carrier_sip.c: the live carrier (DESIGN §10). A fax attempt is one SIP
 * call on a trunk: an INVITE offering G.711 (PCMU, PCMA, ptime 20) built by
 * sdp.c, sent by the SIP thread (sip_ua.c); when the far end answers, the
 * pages go out with spandsp's fax_state_t over our RTP (modules/media), all
 * calls driven by one 20 ms media clock. The outcome (SIP status or T.30
 * phase E) is mapped onto the catalog by outcome_map.c.
 *
 * Life of a call, all on the libevent thread:
 *
 *   WAIT_CPS -> INVITING -> ANSWERED -> (done: BYE sent, core told)
 *        \           \-> FAILED (SIP final) / ring timeout (CANCEL)
 *         \-> cancel
 *
 * The core hears exactly one done() per send(). Once done() has run the call
 * is forgotten here; the SIP thread finishes any BYE or CANCEL on its own.
 */
#include "config.h"
#include "module_api.h"
#include "log.h"
#include "mfx.h"
#include "trunk.h"
#include "outcome_map.h"
#include "sip_ua.h"
#include "sdp.h"
#include "media_clock.h"
#include "audio_fax.h"
#include "t38_fax.h"
#include "t38_sdp.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netdb.h>
#include <spandsp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum call_state { CALL_WAIT_CPS, CALL_INVITING, CALL_ANSWERED };

struct call {
    struct call *next, *prev;
    uint64_t id;
    enum call_state state;
    struct mfx_trunk *trunk;
    struct mfx_call_callbacks cb;
    void *ctx;
    char fax_id[40];
    char to[24], from[24];
    char *csid, *header_text;
    int pages_fd;
    int pages;
    int pages_confirmed;
    bool ecm;
    int modems;
    struct mfx_audio_fax *audio;
    struct event *timer;          /* cps wait, then ring timeout */
    int last_progress;            /* last 1xx status */
    char tiff[64];                /* /proc/self/fd/N of pages_fd */
    /* T.38 (DESIGN §10) */
    enum mfx_t38_policy t38_policy;  /* for this attempt (the ladder may turn it off) */
    struct mfx_t38_fax *t38;      /* bound while offered, running once on_t38 */
    bool on_t38;                  /* the pages go over T.38 now */
    bool t38_offered;             /* our re-INVITE to T.38 awaits its answer */
    bool t38_tried;               /* we sent one already (after a 491: once more) */
    struct event *glare;          /* RFC 3261 §14.1 wait after a 491 */
    bool tone_heard;              /* CED or V.21 from the far end */
};

static struct {
    struct event_base *base;
    struct mfx_sip_ua *ua;
    struct mfx_media_clock *clock;
    struct mfx_trunk *trunks;
    int ntrunks;
    struct call *calls;
    uint64_t next_id;
    char media_ip[64];
    unsigned long long sdp_version;
} S;

static const int offer_pts[] = { MFX_PT_PCMU, MFX_PT_PCMA };

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct call *call_by_id(uint64_t id)
{
    for (struct call *c = S.calls; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

/* Forgets a call: media stopped, pages closed, channel released. */
static void call_free(struct call *c)
{
    if (c->prev) c->prev->next = c->next;
    else S.calls = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->audio) mfx_audio_fax_free(c->audio);
    if (c->t38) mfx_t38_fax_free(c->t38);
    if (c->timer) event_free(c->timer);
    if (c->glare) event_free(c->glare);
    if (c->pages_fd >= 0) close(c->pages_fd);
    if (c->trunk) c->trunk->active--;
    free(c->csid);
    free(c->header_text);
    free(c);
}

/* Reports the outcome to the core and forgets the call. hangup: also end
 * the SIP call (BYE or CANCEL). */
static void complete(struct call *c, struct mfx_outcome *o, bool hangup)
{
    if (hangup && c->state != CALL_WAIT_CPS) mfx_sip_hangup(S.ua, c->id);
    if (o->ecm < 0 && c->state == CALL_ANSWERED) o->ecm = c->ecm;
    snprintf(o->transport, sizeof o->transport, "%s", c->on_t38 ? "t38" : "g711");
    mfx_info("sip", "fax %s call %llu: %s%s%s", c->fax_id, (unsigned long long)c->id,
             o->error == MFX_E__COUNT ? "delivered" : mfx_error_info(o->error)->code,
             o->subcode[0] ? " " : "", o->subcode);
    struct mfx_call_callbacks cb = c->cb;
    void *ctx = c->ctx;
    call_free(c);
    cb.done(ctx, o);
}

static void complete_error(struct call *c, enum mfx_err e, const char *subcode, const char *message, bool hangup)
{
    struct mfx_outcome o = { .error = e, .ecm = -1, .pages_sent = c->pages_confirmed };
    snprintf(o.subcode, sizeof o.subcode, "%s", subcode);
    snprintf(o.message, sizeof o.message, "%s", message);
    complete(c, &o, hangup);
}

/* ---- media --------------------------------------------------------------- */

static void on_page(void *ctx, int pages_so_far)
{
    struct call *c = ctx;
    c->pages_confirmed = pages_so_far;
    mfx_debug("sip", "fax %s: page %d confirmed", c->fax_id, pages_so_far);
}

/* Phase E: the T.30 session is over; hang up and report. */
static void on_fax_done(void *ctx, const struct mfx_fax_result *r)
{
    struct call *c = ctx;
    struct mfx_outcome o = { .ecm = r->ecm, .bit_rate = r->bit_rate, .pages_sent = r->pages, .sip_status = 200 };
    snprintf(o.remote_csid, sizeof o.remote_csid, "%s", r->remote_ident);
    mfx_outcome_from_t30(&o, r->completion, r->completion_text);
    /* A far end that sent fax tones, or took T.38, is a fax machine: the
     * exchange timed out (retryable, and the ladder steps down). */
    if (o.error == MFX_E_not_a_fax_machine && (r->remote_fax_seen || c->tone_heard || c->on_t38))
        o.error = MFX_E_timeout;
    complete(c, &o, true);
}

static void on_fax_tone(void *ctx, int tone);

static const struct mfx_audio_fax_callbacks audio_cb = { on_page, on_fax_done };
static const struct mfx_t38_fax_callbacks t38_cb = { on_page, on_fax_done };

/* The T.30 settings of this attempt (a new T.30 session starts on each
 * transport: spandsp cannot move one from audio to T.38). */
static void fax_params(const struct call *c, struct mfx_fax_params *fp)
{
    memset(fp, 0, sizeof *fp);
    fp->transmit = true;
    fp->tx_tiff = c->tiff;
    fp->ident = c->csid ? c->csid : c->from;
    fp->header_text = c->header_text;
    fp->ecm = c->ecm;
    fp->modems = c->modems;
    fp->log_tag = c->fax_id;
}

/* Binds a T.38 leg (not started) for an offer or an answer; false when
 * the media cannot be opened. */
static bool t38_bind(struct call *c)
{
    if (c->t38) return true;
    struct mfx_fax_params fp;
    fax_params(c, &fp);
    char *err = NULL;
    c->t38 = mfx_t38_fax_new(S.clock, S.media_ip, &fp, NULL, &t38_cb, c, &err);
    if (!c->t38) mfx_warn("sip", "fax %s: cannot open T.38 media: %s", c->fax_id, err ? err : "?");
    free(err);
    return c->t38 != NULL;
}

/* Starts the bound T.38 leg towards the far end's image stream and stops
 * the audio one: from now on the pages go over UDPTL. */
static bool t38_switch(struct call *c, const struct mfx_sdp_media *img)
{
    struct mfx_t38_session ses;
    mfx_t38_sdp_session(&img->t38, c->trunk->t38_redundancy, &ses);
    char *err = NULL;
    if (mfx_t38_fax_start(c->t38, img->addr, img->port, &ses, &err) != 0) {
        mfx_warn("sip", "fax %s: cannot start T.38: %s", c->fax_id, err ? err : "?");
        free(err);
        return false;
    }
    if (c->audio) mfx_audio_fax_free(c->audio);
    c->audio = NULL;
    c->on_t38 = true;
    c->pages_confirmed = 0;        /* a new T.30 session counts from 0 */
    mfx_info("sip", "fax %s call %llu: switched to T.38 (%s:%d, max datagram %d)", c->fax_id,
             (unsigned long long)c->id, img->addr, img->port, img->t38.max_datagram);
    return true;
}

/* Sends our re-INVITE to T.38 (RFC 3261 §14.1): the far end's fax tones
 * say it is a fax machine, and the trunk's policy allows T.38. */
static void t38_offer(struct call *c)
{
    if (c->on_t38 || c->t38_offered || c->state != CALL_ANSWERED || !t38_bind(c)) return;
    struct mfx_sdp_local l = {
        .addr = S.media_ip, .sess_id = c->id, .sess_version = ++S.sdp_version, .kind = MFX_MEDIA_T38,
        .port = mfx_t38_fax_local_port(c->t38), .dir = MFX_SDP_SENDRECV,
    };
    mfx_t38_sdp_ours(&l.t38);
    char *sdp = mfx_sdp_build(&l);
    c->t38_offered = c->t38_tried = true;
    mfx_info("sip", "fax %s call %llu: re-INVITE to T.38", c->fax_id, (unsigned long long)c->id);
    mfx_sip_reinvite(S.ua, c->id, sdp);
    free(sdp);
}

static void on_fax_tone(void *ctx, int tone)
{
    struct call *c = ctx;
    mfx_debug("sip", "fax %s: fax tone %d heard", c->fax_id, tone);
    c->tone_heard = true;
    if (c->t38_policy != MFX_T38_OFF && !c->t38_tried) t38_offer(c);
}

static void on_glare(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct call *c = arg;
    /* Pages already went over audio: a new T.30 session would send them
     * again; the fax finishes on G.711. */
    if (c->pages_confirmed == 0) t38_offer(c);
}

/* The answer to our re-INVITE: T.38 accepted, refused (488/415: stay on
 * audio), or glare (491: try once more after 2.1 to 4 s, RFC 3261 §14.1,
 * as we own the Call-ID). */
static void on_reinvite_result(struct call *c, const struct mfx_sip_event *ev)
{
    c->t38_offered = false;
    if (ev->status < 300 && ev->has_sdp && ev->sdp_status == MFX_SDP_OK && ev->media.image.kind == MFX_MEDIA_T38 &&
        t38_switch(c, &ev->media.image))
        return;
    if (c->t38) mfx_t38_fax_free(c->t38);
    c->t38 = NULL;
    if (ev->status == 491 && !c->glare) {
        c->glare = evtimer_new(S.base, on_glare, c);
        double wait = 2.1 + (double)(random() % 1900) / 1000.0;
        struct timeval tv = { (time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6) };
        evtimer_add(c->glare, &tv);
        mfx_info("sip", "fax %s: re-INVITE glare (491), again in %.1f s", c->fax_id, wait);
        return;
    }
    mfx_info("sip", "fax %s: T.38 refused (%d %s), staying on G.711", c->fax_id, ev->status, ev->phrase);
}

/* A re-INVITE from the far end: to T.38 (switch, or confirm if already
 * there), or audio (answer with ours: e.g. a refresh), else 488. */
static void on_remote_reinvite(struct call *c, const struct mfx_sip_event *ev)
{
    const struct mfx_sdp_media *img = ev->has_sdp && ev->sdp_status == MFX_SDP_OK ? &ev->media.image : NULL;
    const struct mfx_sdp_media *aud = ev->has_sdp && ev->sdp_status == MFX_SDP_OK ? &ev->media.audio : NULL;
    struct mfx_sdp_local l = { .addr = S.media_ip, .sess_id = c->id, .sess_version = ++S.sdp_version,
                               .dir = MFX_SDP_SENDRECV, .offer = &ev->media, .ptime = 20 };
    if (c->t38_offered) {             /* both sides re-INVITEd: RFC 3261 §14.2 */
        mfx_sip_respond(S.ua, ev->call, 491, "Request Pending", NULL, NULL);
        return;
    }
    if (img && img->kind == MFX_MEDIA_T38 && c->t38_policy != MFX_T38_OFF) {
        if (!c->on_t38 && !(t38_bind(c) && t38_switch(c, img))) {
            mfx_sip_respond(S.ua, ev->call, 488, "Not Acceptable Here", NULL, NULL);
            return;
        }
        l.kind = MFX_MEDIA_T38;
        l.port = mfx_t38_fax_local_port(c->t38);
        mfx_t38_sdp_ours(&l.t38);
    } else if (aud && aud->kind == MFX_MEDIA_AUDIO && c->audio && !c->on_t38) {
        char *err = NULL;
        if (mfx_audio_fax_start(c->audio, aud->addr, aud->port, aud->pt, &err) != 0) free(err);
        int pts[1] = { aud->pt };
        l.kind = MFX_MEDIA_AUDIO;
        l.port = mfx_audio_fax_local_port(c->audio);
        l.pts = pts;
        l.n_pts = 1;
        char *sdp = mfx_sdp_build(&l);
        mfx_sip_respond(S.ua, ev->call, 200, "OK", sdp, NULL);
        free(sdp);
        return;
    } else {
        mfx_info("sip", "fax %s: re-INVITE refused with 488", c->fax_id);
        mfx_sip_respond(S.ua, ev->call, 488, "Not Acceptable Here", NULL, NULL);
        return;
    }
    char *sdp = mfx_sdp_build(&l);
    mfx_sip_respond(S.ua, ev->call, sdp ? 200 : 488, sdp ? "OK" : "Not Acceptable Here", sdp, NULL);
    free(sdp);
}

/* ---- SIP ----------------------------------------------------------------- */

static void on_ring_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    struct call *c = arg;
    char msg[96];
    snprintf(msg, sizeof msg, "It rang for %.0f s with no answer ([sip] ring_timeout).",
             mfx_setting_number("sip", "ring_timeout"));
    struct mfx_outcome o = { .error = MFX_E_no_answer, .ecm = -1 };
    snprintf(o.subcode, sizeof o.subcode, "ring_timeout");
    snprintf(o.message, sizeof o.message, "%s", msg);
    if (!c->last_progress) {
        /* Not even a 100 Trying: the trunk itself did not take the call
         * (down, unreachable, or a TLS handshake that failed). */
        o.error = MFX_E_carrier_unavailable;
        snprintf(o.subcode, sizeof o.subcode, "no_response");
        snprintf(o.message, sizeof o.message, "The trunk did not answer the INVITE within %.0f s.",
                 mfx_setting_number("sip", "ring_timeout"));
    }
    complete(c, &o, true);
}

/* The caller-ID of the From header in the trunk's format. */
static void caller_id(const struct call *c, char out[32])
{
    const char *n = c->from[0] ? c->from : "anonymous";
    if (c->trunk->caller_id_format == MFX_CID_DIGITS && n[0] == '+') n++;
    snprintf(out, 32, "%s", n);
}

/* Our first offer: G.711, and with t38 = always T.38 too (the far end
 * answers one of the two, RFC 3264 §6). Returns malloc'd SDP or NULL. */
static char *first_offer(struct call *c)
{
    struct mfx_sdp_local l = {
        .addr = S.media_ip, .sess_id = c->id, .sess_version = ++S.sdp_version, .kind = MFX_MEDIA_AUDIO,
        .port = mfx_audio_fax_local_port(c->audio), .pts = offer_pts, .n_pts = 2, .ptime = 20,
        .dir = MFX_SDP_SENDRECV,
    };
    char *sdp = mfx_sdp_build(&l);
    if (!sdp || c->t38_policy != MFX_T38_ALWAYS || !t38_bind(c)) return sdp;
    struct mfx_sdp_local t = { .addr = S.media_ip, .sess_id = c->id, .sess_version = S.sdp_version,
                               .kind = MFX_MEDIA_T38, .port = mfx_t38_fax_local_port(c->t38),
                               .dir = MFX_SDP_SENDRECV };
    mfx_t38_sdp_ours(&t.t38);
    char *image = mfx_sdp_build(&t);
    const char *m = image ? strstr(image, "\r\nm=") : NULL;
    if (m) {                                   /* the image m= section after the audio one */
        char *both = mfx_asprintf("%s%s", sdp, m + 2);
        free(sdp);
        sdp = both;
    }
    free(image);
    return sdp;
}

static void place_invite(struct call *c)
{
    struct mfx_trunk *t = c->trunk;
    t->next_call_at = (t->next_call_at > now_s() ? t->next_call_at : now_s()) + 1.0 / t->cps;
    struct mfx_fax_params fp;
    fax_params(c, &fp);
    char *err = NULL;
    c->audio = mfx_audio_fax_new(S.clock, S.media_ip, MFX_AUDIO_FAX, &fp, NULL, &audio_cb, c, &err);
    if (c->audio) {
        mfx_audio_fax_set_jitter_ms(c->audio, (int)mfx_setting_number("media", "jitter_delay"));
        if (c->t38_policy != MFX_T38_OFF) mfx_audio_fax_set_fax_tone(c->audio, on_fax_tone);
    }
    if (!c->audio) {
        mfx_error("sip", "fax %s: cannot open media: %s", c->fax_id, err ? err : "?");
        complete_error(c, MFX_E_carrier_unavailable, "media_unavailable", err ? err : "", false);
        free(err);
        return;
    }
    char *sdp = first_offer(c);
    const char *number = (!t->dial_plus && c->to[0] == '+') ? c->to + 1 : c->to;
    const char *tp = t->transport == MFX_TRUNK_TCP ? ";transport=tcp" : t->transport == MFX_TRUNK_TLS ? ";transport=tls" : "";
    char ruri[160], from_uri[160], cid[32];
    snprintf(ruri, sizeof ruri, "sip:%s@%s%s", number, t->proxy_host, tp);
    caller_id(c, cid);
    snprintf(from_uri, sizeof from_uri, "sip:%s@%s", cid, t->from_domain ? t->from_domain : t->proxy_host);
    struct mfx_sip_invite inv = {
        .request_uri = ruri, .from_uri = from_uri, .to_uri = ruri, .outbound_proxy = t->outbound_proxy,
        .sdp = sdp, .auth_user = t->username, .auth_password = t->password,
    };
    c->state = CALL_INVITING;
    mfx_sip_invite(S.ua, c->id, &inv);
    free(sdp);
    double ring = mfx_setting_number("sip", "ring_timeout");
    if (c->timer) event_free(c->timer);
    c->timer = evtimer_new(S.base, on_ring_timeout, c);
    struct timeval tv = { (time_t)ring, (suseconds_t)((ring - (double)(time_t)ring) * 1e6) };
    evtimer_add(c->timer, &tv);
}

static void on_cps(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    place_invite(arg);
}

/* The far end answered: start the fax on the media it chose. */
static void on_answered(struct call *c, const struct mfx_sip_event *ev)
{
    if (c->timer) evtimer_del(c->timer);
    c->state = CALL_ANSWERED;
    if (!ev->has_sdp) {
        complete_error(c, MFX_E_negotiation_failed, "no_sdp_answer", "The 200 OK carried no SDP answer.", true);
        return;
    }
    if (ev->sdp_status == MFX_SDP_OK && ev->media.image.kind == MFX_MEDIA_T38 && c->t38 &&
        t38_switch(c, &ev->media.image)) {
        c->cb.answered(c->ctx);      /* answered with T.38 directly */
        return;
    }
    if (c->t38 && !c->on_t38) {      /* T.38 offered, audio chosen */
        mfx_t38_fax_free(c->t38);
        c->t38 = NULL;
    }
    if (ev->sdp_status != MFX_SDP_OK || ev->media.audio.kind != MFX_MEDIA_AUDIO) {
        const char *why = ev->sdp_status != MFX_SDP_OK ? mfx_sdp_status_name(ev->sdp_status) : "no_common_codec";
        char msg[128];
        snprintf(msg, sizeof msg, "The SDP answer cannot be used (%s).", why);
        complete_error(c, MFX_E_negotiation_failed, why, msg, true);
        return;
    }
    char *err = NULL;
    const struct mfx_sdp_media *m = &ev->media.audio;
    if (mfx_audio_fax_start(c->audio, m->addr, m->port, m->pt, &err) != 0) {
        complete_error(c, MFX_E_negotiation_failed, "bad_media_address", err ? err : "", true);
        free(err);
        return;
    }
    mfx_info("sip", "fax %s call %llu answered: %s %s:%d", c->fax_id, (unsigned long long)c->id,
             m->pt == MFX_PT_PCMA ? "PCMA" : "PCMU", m->addr, m->port);
    c->cb.answered(c->ctx);
    /* t38 = always and the answer took audio: ask for T.38 at once. */
    if (c->t38_policy == MFX_T38_ALWAYS) t38_offer(c);
}

static void on_sip_event(void *ctx, const struct mfx_sip_event *ev)
{
    (void)ctx;
    if (ev->type == MFX_SIP_REGISTERED) {
        int i = (int)(ev->call & 0xffff);
        if (i < S.ntrunks) {
            S.trunks[i].registered = ev->status < 300;
            if (ev->status < 300) mfx_info("sip", "trunk %s registered", S.trunks[i].name);
            else mfx_warn("sip", "trunk %s: REGISTER failed: %d %s", S.trunks[i].name, ev->status, ev->phrase);
        }
        return;
    }
    if (ev->type == MFX_SIP_INCOMING) {       /* outbound only: refuse */
        mfx_sip_respond(S.ua, ev->call, 403, "Outbound Only", NULL, NULL);
        return;
    }
    if (ev->type == MFX_SIP_REGISTER_IN) {
        mfx_sip_respond_register(S.ua, ev->call, 405, "Method Not Allowed", NULL, 0);
        return;
    }
    struct call *c = call_by_id(ev->call);
    if (!c) return;                           /* already reported */
    switch (ev->type) {
    case MFX_SIP_PROGRESS:
        c->last_progress = ev->status;
        break;
    case MFX_SIP_ANSWERED:
        on_answered(c, ev);
        break;
    case MFX_SIP_FAILED: {
        struct mfx_outcome o = { .ecm = -1 };
        mfx_outcome_from_sip(&o, ev->status, ev->phrase);
        complete(c, &o, false);
        break;
    }
    case MFX_SIP_ENDED:
        if (ev->remote_bye && c->pages_confirmed >= c->pages && c->pages > 0) {
            /* The receiver hung up after confirming the last page, before
             * our T.30 reached phase E: the fax is through. */
            struct mfx_outcome o = { .error = MFX_E__COUNT, .ecm = c->ecm, .pages_sent = c->pages_confirmed,
                                     .sip_status = 200 };
            complete(c, &o, false);
        } else {
            struct mfx_outcome o = { .error = MFX_E_transmission_interrupted, .ecm = -1,
                                     .pages_sent = c->pages_confirmed, .sip_status = 200 };
            snprintf(o.subcode, sizeof o.subcode, "%s", ev->remote_bye ? "remote_hangup" : "call_ended");
            snprintf(o.message, sizeof o.message, "The far end hung up after %d of %d pages.", c->pages_confirmed,
                     c->pages);
            complete(c, &o, false);
        }
        break;
    case MFX_SIP_REINVITE:
        on_remote_reinvite(c, ev);
        break;
    case MFX_SIP_REINVITE_RESULT:
        on_reinvite_result(c, ev);
        break;
    default:
        break;
    }
}

/* ---- the carrier table --------------------------------------------------- */

static struct mfx_trunk *pick_trunk(void)
{
    for (int i = 0; i < S.ntrunks; i++)
        if (S.trunks[i].active < S.trunks[i].max_channels) return &S.trunks[i];
    return NULL;
}

static void *sip_send(const struct mfx_call_request *rq, const struct mfx_call_callbacks *cb, void *ctx)
{
    struct call *c = mfx_calloc(1, sizeof *c);
    c->id = ++S.next_id;
    c->cb = *cb;
    c->ctx = ctx;
    c->pages_fd = rq->pages_fd;
    c->pages = rq->pages;
    snprintf(c->fax_id, sizeof c->fax_id, "%s", rq->fax_id);
    snprintf(c->to, sizeof c->to, "%s", rq->to);
    snprintf(c->from, sizeof c->from, "%s", rq->from ? rq->from : "");
    c->csid = rq->csid ? mfx_strdup(rq->csid) : NULL;
    c->header_text = rq->header_text ? mfx_strdup(rq->header_text) : NULL;
    snprintf(c->tiff, sizeof c->tiff, "/proc/self/fd/%d", c->pages_fd);
    c->next = S.calls;
    if (S.calls) S.calls->prev = c;
    S.calls = c;
    c->trunk = pick_trunk();
    if (!c->trunk) {
        complete_error(c, MFX_E_no_route, S.ntrunks ? "all_trunks_busy" : "no_trunk",
                       S.ntrunks ? "Every trunk is at its max_channels." : "No [trunk.NAME] is configured.", false);
        return NULL;
    }
    c->trunk->active++;
    /* The fallback ladder of DESIGN §10, one step per earlier T.30 failure:
     * T.38 off (when the trunk uses it), then ECM off, then V.17 off. */
    int step = rq->fallback;
    c->t38_policy = rq->t38_off ? MFX_T38_OFF : c->trunk->t38;
    if (c->t38_policy != MFX_T38_OFF && step > 0) {
        c->t38_policy = MFX_T38_OFF;
        step--;
    }
    c->ecm = rq->ecm && step < 1;
    c->modems = T30_SUPPORT_V27TER | T30_SUPPORT_V29 | (step >= 2 ? 0 : T30_SUPPORT_V17);
    double wait = c->trunk->next_call_at - now_s();
    if (wait > 0) {
        c->state = CALL_WAIT_CPS;
        c->timer = evtimer_new(S.base, on_cps, c);
        struct timeval tv = { (time_t)wait, (suseconds_t)((wait - (double)(time_t)wait) * 1e6) };
        evtimer_add(c->timer, &tv);
    } else {
        place_invite(c);
        if (!call_by_id(c->id)) return NULL;   /* failed at once: done() ran */
    }
    return (void *)(uintptr_t)c->id;
}

static void sip_cancel(void *handle)
{
    struct call *c = call_by_id((uint64_t)(uintptr_t)handle);
    if (c) complete_error(c, MFX_E_cancelled, "", "Cancelled by request.", true);
}

static int sip_max_channels(void)
{
    int n = 0;
    for (int i = 0; i < S.ntrunks; i++) n += S.trunks[i].max_channels;
    return n > 0 ? n : 1;
}

/* The address our RTP binds and SDP names: [sip] media_address, else the
 * listen host when it is a specific address, else the local address the
 * kernel would use to reach the first trunk. */
static int pick_media_ip(char **err)
{
    const char *cfg = mfx_setting_string("sip", "media_address");
    if (cfg && *cfg) {
        snprintf(S.media_ip, sizeof S.media_ip, "%s", cfg);
        return 0;
    }
    const char *listen = mfx_setting_string("sip", "listen");
    char host[64];
    snprintf(host, sizeof host, "%s", listen ? listen : "");
    char *colon = strrchr(host, ':');
    if (colon) *colon = 0;
    if (*host && strcmp(host, "0.0.0.0") && strcmp(host, "*")) {
        snprintf(S.media_ip, sizeof S.media_ip, "%s", host);
        return 0;
    }
    snprintf(S.media_ip, sizeof S.media_ip, "127.0.0.1");
    if (!S.ntrunks) return 0;
    char h[128];
    snprintf(h, sizeof h, "%s", S.trunks[0].proxy_host);
    char *port = strrchr(h, ':');
    if (port) *port = 0;
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
    if (getaddrinfo(h, "5060", &hints, &ai) != 0 || !ai) {
        *err = mfx_asprintf("[sip] media_address is empty and trunk host %s does not resolve", h);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local;
    socklen_t len = sizeof local;
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&local, &len) == 0)
        inet_ntop(AF_INET, &local.sin_addr, S.media_ip, sizeof S.media_ip);
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return 0;
}

/* Frees the trunks and forgets them (sip_stop runs after a failed start too). */
static void drop_trunks(void)
{
    mfx_trunks_free(S.trunks, S.ntrunks);
    S.trunks = NULL;
    S.ntrunks = 0;
}

static int sip_start(struct event_base *base, char **err)
{
    memset(&S, 0, sizeof S);
    S.base = base;
    S.ntrunks = mfx_trunks_load(mfx_config_file(), &S.trunks, err);
    if (S.ntrunks < 0) {
        S.ntrunks = 0;
        return -1;
    }
    if (S.ntrunks == 0) mfx_warn("sip", "[carrier] live = sip but no [trunk.NAME] is configured");
    if (pick_media_ip(err) != 0) return -1;
    const char *listen = mfx_setting_string("sip", "listen");
    char *bind = mfx_asprintf("sip:%s", listen && *listen ? listen : "0.0.0.0:5060");
    const char *tls = mfx_setting_string("sip", "tls_listen");
    char *tls_bind = tls && *tls ? mfx_asprintf("sips:%s", tls) : NULL;
    for (int i = 0; i < S.ntrunks; i++)
        if (S.trunks[i].transport == MFX_TRUNK_TLS && !tls_bind) {
            *err = mfx_asprintf("[trunk.%s] transport = tls needs [sip] tls_listen and tls_cert_dir",
                                S.trunks[i].name);
            free(bind);
            drop_trunks();
            return -1;
        }
    struct mfx_sip_ua_config cfg = {
        .bind_url = bind, .user_agent = mfx_setting_string("sip", "user_agent"),
        .accept_pts = offer_pts, .n_accept = 2,
        .tls_bind_url = tls_bind, .tls_cert_dir = mfx_setting_string("sip", "tls_cert_dir"),
        .tls_verify = mfx_setting_number("sip", "tls_verify") != 0,
    };
    S.ua = mfx_sip_ua_start(base, &cfg, on_sip_event, NULL, err);
    free(bind);
    free(tls_bind);
    if (!S.ua) {
        drop_trunks();
        return -1;
    }
    S.clock = mfx_media_clock_new(base, mfx_setting_number("media", "speed"));
    for (int i = 0; i < S.ntrunks; i++) {
        struct mfx_trunk *t = &S.trunks[i];
        if (!t->registrar) continue;
        char aor[160];
        snprintf(aor, sizeof aor, "sip:%s@%s", t->username ? t->username : "mintfax",
                 t->from_domain ? t->from_domain : t->proxy_host);
        struct mfx_sip_register reg = {
            .registrar = t->registrar, .aor = aor, .contact_user = t->username ? t->username : "mintfax",
            .outbound_proxy = t->outbound_proxy, .auth_user = t->username, .auth_password = t->password,
            .expires = t->register_expires,
        };
        mfx_sip_register(S.ua, (1ULL << 62) | (uint64_t)i, &reg);
    }
    mfx_info("sip", "SIP carrier on %s, media on %s, %d trunk%s", listen, S.media_ip, S.ntrunks,
             S.ntrunks == 1 ? "" : "s");
    return 0;
}

/* Hangs up every call without reporting (the core is stopping; recovery at
 * the next start requeues what was cut short), then shuts SIP down. */
static void sip_stop(void)
{
    while (S.calls) {
        struct call *c = S.calls;
        if (c->state != CALL_WAIT_CPS) mfx_sip_hangup(S.ua, c->id);
        call_free(c);
    }
    mfx_sip_ua_stop(S.ua);
    S.ua = NULL;
    if (S.clock) {
        struct mfx_media_clock_stats st;
        mfx_media_clock_stats(S.clock, &st);
        mfx_info("sip", "media clock: %llu ticks, %llu late by more than 5 ms, at most %.1f ms late, %llu skipped",
                 (unsigned long long)st.ticks, (unsigned long long)st.late_ticks, st.max_late_ms,
                 (unsigned long long)st.skipped);
        mfx_media_clock_free(S.clock);
    }
    S.clock = NULL;
    drop_trunks();
}

const struct mfx_carrier mfx_carrier_sip = {
    .name = "sip",
    .abi_version = MFX_CARRIER_ABI,
    .transport = "g711",
    .start = sip_start,
    .stop = sip_stop,
    .precheck = NULL,
    .send = sip_send,
    .cancel = sip_cancel,
    .max_channels = sip_max_channels,
};
