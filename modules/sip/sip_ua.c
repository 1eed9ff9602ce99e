/* SPDX-License-Identifier: Apache-2.0
 *
 * sip_ua.c: the SIP thread (DESIGN §2). sofia-sip's su_root is created on a
 * thread of ours with su_root_threading(root, 0), so nua runs its stack on
 * that same thread instead of starting another. nua is created with
 * NUTAG_MEDIA_ENABLE(0): we carry SDP ourselves (sdp.c), which is what lets a
 * T.38 re-INVITE reach us instead of being answered by sofia's own media
 * layer.
 *
 * Commands come in as su_msg messages (posted from the libevent thread),
 * events go out as heap copies on a mutex-protected queue whose eventfd is
 * watched by libevent. A sip_t is only valid inside nua's callback, so
 * everything an event needs is copied there, SDP parsed included.
 *
 * The state of a call on this side is small: its nua handle, whether it was
 * answered, and the digest credentials to answer one challenge with
 * (RFC 3261 §22.2: a second 401 to the same request is a failure).
 */
#include "config.h"
#include "sofia.h"
#include "sip_ua.h"
#include "log.h"
#include "mfx.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum cmd_op { C_INVITE, C_REINVITE, C_HANGUP, C_RESPOND, C_RESPOND_REGISTER, C_REGISTER, C_SHUTDOWN };

/* A command to the SIP thread; the strings are malloc'd and freed there. */
struct sip_cmd {
    enum cmd_op op;
    uint64_t call;
    int status;
    int expires;
    char *s[8];
};
/* Slots of sip_cmd.s per command. */
enum { S_URI, S_FROM, S_TO, S_PROXY, S_SDP, S_USER, S_PASS, S_EXTRA };

struct sip_call {
    struct sip_call *next;
    uint64_t id;
    nua_handle_t *nh;
    bool incoming;
    bool is_register;
    bool answered;                /* a 2xx was sent or received */
    bool ended;                   /* FAILED or ENDED was reported */
    bool auth_tried;
    bool reinviting;              /* our re-INVITE awaits its final response */
    char *auth_user, *auth_pass;
    nua_saved_event_t saved[1];   /* an incoming REGISTER awaiting our answer */
    bool has_saved;
};

/* nua_respond() sends later, from the stack, and does not copy its phrase
 * argument: phrases live on the agent (few, distinct) until it ends. */
struct phrase {
    struct phrase *next;
    char text[];
};

struct ev_node {
    struct ev_node *next;
    struct mfx_sip_event ev;
};

struct mfx_sip_ua {
    /* owned by the SIP thread */
    su_root_t *root;
    nua_t *nua;
    struct sip_call *calls;
    uint64_t next_incoming;
    su_timer_t *shutdown_timer;
    int accept_pts[8];
    int n_accept;
    char *bind_url, *user_agent, *tls_bind_url, *tls_cert_dir;
    struct phrase *phrases;       /* reason phrases handed to nua, kept until the end */
    bool tls_verify;

    /* start-up handshake */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int started;                  /* 0 waiting, 1 running, -1 failed */
    char *start_err;

    /* events out, to the libevent thread */
    int efd;
    struct event *efd_ev;
    struct ev_node *head, *tail;
    mfx_sip_event_fn fn;
    void *ctx;
    bool stopping;
};

/* ---- events out ---------------------------------------------------------- */

static void post_event(struct mfx_sip_ua *ua, const struct mfx_sip_event *ev)
{
    struct ev_node *n = mfx_calloc(1, sizeof *n);
    n->ev = *ev;
    pthread_mutex_lock(&ua->lock);
    if (ua->tail) ua->tail->next = n;
    else ua->head = n;
    ua->tail = n;
    pthread_mutex_unlock(&ua->lock);
    uint64_t one = 1;
    ssize_t w = write(ua->efd, &one, sizeof one);
    (void)w;
}

/* libevent side: drains the queue and hands each event to the owner. */
static void on_efd(evutil_socket_t fd, short what, void *arg)
{
    struct mfx_sip_ua *ua = arg;
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
    (void)what;
    pthread_mutex_lock(&ua->lock);
    struct ev_node *n = ua->head;
    ua->head = ua->tail = NULL;
    pthread_mutex_unlock(&ua->lock);
    while (n) {
        struct ev_node *next = n->next;
        if (!ua->stopping) ua->fn(ua->ctx, &n->ev);
        free(n);
        n = next;
    }
}

/* ---- calls on the SIP thread --------------------------------------------- */

static struct sip_call *call_find(struct mfx_sip_ua *ua, uint64_t id)
{
    for (struct sip_call *c = ua->calls; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

static struct sip_call *call_new(struct mfx_sip_ua *ua, uint64_t id)
{
    struct sip_call *c = mfx_calloc(1, sizeof *c);
    c->id = id;
    c->next = ua->calls;
    ua->calls = c;
    return c;
}

/* Unlinks and frees a call, destroying its nua handle. */
static void call_free(struct mfx_sip_ua *ua, struct sip_call *c)
{
    for (struct sip_call **p = &ua->calls; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    if (c->has_saved) nua_destroy_event(c->saved);
    if (c->nh) {
        nua_handle_bind(c->nh, NULL);
        nua_handle_destroy(c->nh);
    }
    free(c->auth_user);
    free(c->auth_pass);
    free(c);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

/* Copies the SDP body of a message (if any) into ev, parsed. */
static void take_sdp(struct mfx_sip_ua *ua, const sip_t *sip, struct mfx_sip_event *ev)
{
    if (!sip || !sip->sip_payload || !sip->sip_payload->pl_data) return;
    if (sip->sip_content_type && sip->sip_content_type->c_type &&
        strcasecmp(sip->sip_content_type->c_type, "application/sdp"))
        return;
    ev->has_sdp = true;
    ev->sdp_status = mfx_sdp_parse(sip->sip_payload->pl_data, sip->sip_payload->pl_len,
                                   ua->accept_pts, ua->n_accept, &ev->media);
}

/* Answers a digest challenge once from the credentials of the call; returns
 * true if the request was sent again. RFC 3261 §22.2. */
static bool try_auth(struct sip_call *c, const sip_t *sip)
{
    if (c->auth_tried || !c->auth_user || !sip) return false;
    const msg_auth_t *au = sip->sip_www_authenticate ? sip->sip_www_authenticate
                                                     : (const msg_auth_t *)sip->sip_proxy_authenticate;
    if (!au || !au->au_scheme) return false;
    const char *realm = msg_params_find(au->au_params, "realm=");
    if (!realm) return false;
    c->auth_tried = true;
    char *cred = mfx_asprintf("%s:%s:%s:%s", au->au_scheme, realm, c->auth_user,
                              c->auth_pass ? c->auth_pass : "");
    nua_authenticate(c->nh, NUTAG_AUTH(cred), TAG_END());
    free(cred);
    return true;
}

static void fill_request_info(struct mfx_sip_event *ev, const sip_t *sip, const char *method)
{
    copy_str(ev->method, sizeof ev->method, method);
    if (!sip) return;
    if (sip->sip_request) {
        copy_str(ev->user, sizeof ev->user, sip->sip_request->rq_url->url_user);
        url_e(ev->uri, (int)sizeof ev->uri, sip->sip_request->rq_url);
    }
    if (sip->sip_from)
        url_e(ev->from, (int)sizeof ev->from, sip->sip_from->a_url);
    if (sip->sip_via && sip->sip_via->v_protocol) {
        const char *slash = strrchr(sip->sip_via->v_protocol, '/');
        copy_str(ev->transport, sizeof ev->transport, slash ? slash + 1 : sip->sip_via->v_protocol);
    }
    if (sip->sip_authorization)
        sip_header_e(ev->authorization, (int)sizeof ev->authorization,
                     (const sip_header_t *)sip->sip_authorization, 0);
}

static void report(struct mfx_sip_ua *ua, struct sip_call *c, enum mfx_sip_event_type t, int status,
                   const char *phrase, const sip_t *sip)
{
    struct mfx_sip_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = t;
    ev.call = c->id;
    ev.status = status;
    copy_str(ev.phrase, sizeof ev.phrase, phrase);
    if (t == MFX_SIP_ANSWERED || t == MFX_SIP_INCOMING || t == MFX_SIP_REINVITE ||
        (t == MFX_SIP_REINVITE_RESULT && status < 300))
        take_sdp(ua, sip, &ev);
    if (t == MFX_SIP_INCOMING) fill_request_info(&ev, sip, "INVITE");
    post_event(ua, &ev);
}

/* Reports the end of a call once and forgets it. */
static void finish(struct mfx_sip_ua *ua, struct sip_call *c, enum mfx_sip_event_type t, int status,
                   const char *phrase, bool remote_bye)
{
    if (!c->ended) {
        struct mfx_sip_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = t;
        ev.call = c->id;
        ev.status = status;
        ev.remote_bye = remote_bye;
        copy_str(ev.phrase, sizeof ev.phrase, phrase);
        post_event(ua, &ev);
        c->ended = true;
    }
    call_free(ua, c);
}

/* ---- nua's callback ------------------------------------------------------ */

static void on_invite_response(struct mfx_sip_ua *ua, struct sip_call *c, int status, const char *phrase,
                               const sip_t *sip)
{
    if (c->reinviting) {
        if (status >= 200) {
            c->reinviting = false;
            report(ua, c, MFX_SIP_REINVITE_RESULT, status, phrase, sip);
        }
        return;
    }
    if (status < 200) {
        if (status >= 100) report(ua, c, MFX_SIP_PROGRESS, status, phrase, sip);
        return;
    }
    if (status < 300) {
        if (!c->answered) {
            c->answered = true;
            report(ua, c, MFX_SIP_ANSWERED, status, phrase, sip);
        }
        return;
    }
    if ((status == 401 || status == 407) && try_auth(c, sip)) return;
    if (c->answered) return;      /* a failed re-INVITE of ours leaves the dialog up */
    finish(ua, c, MFX_SIP_FAILED, status, phrase, false);
}

static void on_incoming_invite(struct mfx_sip_ua *ua, nua_handle_t *nh, struct sip_call *c, int status,
                               const char *phrase, const sip_t *sip)
{
    if (c) {                      /* a re-INVITE in a dialog we know */
        report(ua, c, MFX_SIP_REINVITE, status, phrase, sip);
        return;
    }
    c = call_new(ua, ++ua->next_incoming | (1ULL << 63));
    c->incoming = true;
    c->nh = nh;
    nua_handle_bind(nh, c);
    report(ua, c, MFX_SIP_INCOMING, status, phrase, sip);
}

static void on_incoming_register(struct mfx_sip_ua *ua, nua_t *nua, nua_handle_t *nh, const sip_t *sip)
{
    struct sip_call *c = call_new(ua, ++ua->next_incoming | (1ULL << 63));
    c->incoming = c->is_register = true;
    c->nh = nh;
    nua_handle_bind(nh, c);
    nua_save_event(nua, c->saved);
    c->has_saved = true;
    struct mfx_sip_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = MFX_SIP_REGISTER_IN;
    ev.call = c->id;
    fill_request_info(&ev, sip, "REGISTER");
    if (sip && sip->sip_to) copy_str(ev.user, sizeof ev.user, sip->sip_to->a_url->url_user);
    post_event(ua, &ev);
}

static void nua_callback(nua_event_t event, int status, char const *phrase, nua_t *nua, struct mfx_sip_ua *ua,
                         nua_handle_t *nh, struct sip_call *c, sip_t const *sip, tagi_t tags[])
{
    switch (event) {
    case nua_r_invite:
        if (c) on_invite_response(ua, c, status, phrase, sip);
        break;
    case nua_i_invite:
        on_incoming_invite(ua, nh, c, status, phrase, sip);
        break;
    case nua_i_ack:
        if (c) report(ua, c, MFX_SIP_ACKED, 0, "", NULL);
        break;
    case nua_i_cancel:
        if (c && !c->answered) finish(ua, c, MFX_SIP_CANCELLED, 487, "Request Terminated", false);
        break;
    case nua_i_bye:
        if (c) finish(ua, c, MFX_SIP_ENDED, 200, phrase, true);
        break;
    case nua_r_bye:
        if (c && status >= 200) finish(ua, c, MFX_SIP_ENDED, status, phrase, false);
        break;
    case nua_i_state: {
        int cs = nua_callstate_init;
        tl_gets(tags, NUTAG_CALLSTATE_REF(cs), TAG_END());
        if (c && cs == nua_callstate_terminated)
            finish(ua, c, c->answered ? MFX_SIP_ENDED : MFX_SIP_FAILED, status ? status : 487,
                   phrase ? phrase : "", false);
        break;
    }
    case nua_r_register:
        if (!c || status < 200) break;
        if ((status == 401 || status == 407) && try_auth(c, sip)) break;
        report(ua, c, MFX_SIP_REGISTERED, status, phrase, NULL);
        if (status < 300) c->auth_tried = false;   /* a refresh may be challenged again */
        break;
    case nua_i_register:
        on_incoming_register(ua, nua, nh, sip);
        break;
    case nua_r_shutdown:
        if (status >= 200) su_root_break(ua->root);
        break;
    case nua_i_options:
    case nua_r_cancel:
    case nua_i_active:
    case nua_i_terminated:
        break;
    default:
        if (status >= 300 || event == nua_i_error)
            mfx_debug("sip", "nua event %s: %d %s", nua_event_name(event), status, phrase ? phrase : "");
        /* A request we do not handle on a handle we never bound. */
        if (!c && nh && event != nua_i_error && status == 0) nua_handle_destroy(nh);
        break;
    }
}

/* ---- commands in --------------------------------------------------------- */

static void do_invite(struct mfx_sip_ua *ua, struct sip_cmd *m)
{
    struct sip_call *c = call_new(ua, m->call);
    c->auth_user = m->s[S_USER] ? mfx_strdup(m->s[S_USER]) : NULL;
    c->auth_pass = m->s[S_PASS] ? mfx_strdup(m->s[S_PASS]) : NULL;
    c->nh = nua_handle(ua->nua, c, SIPTAG_TO_STR(m->s[S_TO]), SIPTAG_FROM_STR(m->s[S_FROM]),
                       TAG_IF(m->s[S_PROXY], NUTAG_PROXY(m->s[S_PROXY])), TAG_END());
    if (!c->nh) {
        finish(ua, c, MFX_SIP_FAILED, 500, "Cannot create a SIP handle", false);
        return;
    }
    nua_invite(c->nh, NUTAG_URL(m->s[S_URI]), SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(m->s[S_SDP]), TAG_END());
}

static void do_reinvite(struct mfx_sip_ua *ua, struct sip_cmd *m)
{
    struct sip_call *c = call_find(ua, m->call);
    if (!c || !c->answered || c->ended) return;
    if (c->reinviting) {           /* one at a time (RFC 3261 §14.1) */
        report(ua, c, MFX_SIP_REINVITE_RESULT, 491, "Request Pending", NULL);
        return;
    }
    c->reinviting = true;
    nua_invite(c->nh, SIPTAG_CONTENT_TYPE_STR("application/sdp"), SIPTAG_PAYLOAD_STR(m->s[S_SDP]), TAG_END());
}

static void do_hangup(struct mfx_sip_ua *ua, struct sip_cmd *m)
{
    struct sip_call *c = call_find(ua, m->call);
    if (!c) return;
    if (c->incoming && !c->answered) {
        nua_respond(c->nh, 480, "Temporarily Unavailable", TAG_END());
        finish(ua, c, MFX_SIP_ENDED, 480, "Temporarily Unavailable", false);
    } else if (c->answered) {
        nua_bye(c->nh, TAG_END());          /* ENDED on nua_r_bye */
    } else {
        nua_cancel(c->nh, TAG_END());       /* FAILED with 487 on nua_r_invite */
    }
}

/* A reason phrase that outlives the response: the status's standard
 * phrase, or our own text kept on the agent. */
static const char *phrase_for(struct mfx_sip_ua *ua, int status, const char *text)
{
    if (!text || !*text) return sip_status_phrase(status) ? sip_status_phrase(status) : "";
    for (struct phrase *p = ua->phrases; p; p = p->next)
        if (!strcmp(p->text, text)) return p->text;
    size_t n = strnlen(text, 63);
    struct phrase *p = mfx_calloc(1, sizeof *p + n + 1);
    memcpy(p->text, text, n);
    p->next = ua->phrases;
    ua->phrases = p;
    return p->text;
}

static void do_respond(struct mfx_sip_ua *ua, struct sip_cmd *m)
{
    struct sip_call *c = call_find(ua, m->call);
    if (!c || !c->nh) return;
    if (m->status >= 200 && m->status < 300) c->answered = true;
    nua_respond(c->nh, m->status, phrase_for(ua, m->status, m->s[S_EXTRA]),
                TAG_IF(m->s[S_SDP], SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(m->s[S_SDP], SIPTAG_PAYLOAD_STR(m->s[S_SDP])),
                TAG_IF(m->s[S_USER], SIPTAG_WWW_AUTHENTICATE_STR(m->s[S_USER])), TAG_END());
    if (m->status >= 300 && !c->answered)
        finish(ua, c, MFX_SIP_ENDED, m->status, "", false);
}

static void do_respond_register(struct mfx_sip_ua *ua, struct sip_cmd *m)
{
    struct sip_call *c = call_find(ua, m->call);
    if (!c || !c->has_saved) return;
    /* A granted expiry: the request's Contacts, each with ;expires=N. */
    sip_contact_t *granted = NULL;
    char expires[16] = "";
    if (m->status >= 200 && m->status < 300 && m->expires > 0) {
        snprintf(expires, sizeof expires, "%d", m->expires);
        msg_t *req = nua_saved_event_request(c->saved);
        sip_t const *sip = req ? sip_object(req) : NULL;
        su_home_t *home = nua_handle_home(c->nh);
        if (sip && sip->sip_contact) granted = sip_contact_dup(home, sip->sip_contact);
        /* The header keeps a pointer to its parameter: it lives in the handle's home too. */
        char const *param = su_sprintf(home, "expires=%d", m->expires);
        for (sip_contact_t *k = granted; k && param; k = k->m_next) msg_header_replace_param(home, k->m_common, param);
    }
    nua_respond(c->nh, m->status, phrase_for(ua, m->status, m->s[S_EXTRA]),
                NUTAG_WITH_SAVED(c->saved),
                TAG_IF(m->s[S_USER], SIPTAG_WWW_AUTHENTICATE_STR(m->s[S_USER])),
                TAG_IF(granted, SIPTAG_CONTACT(granted)), TAG_IF(expires[0], SIPTAG_EXPIRES_STR(expires)),
                TAG_END());
    c->ended = true;
    call_free(ua, c);
}

static void do_register(struct mfx_sip_ua *ua, struct sip_cmd *m)
{
    struct sip_call *c = call_new(ua, m->call);
    c->is_register = true;
    c->auth_user = m->s[S_USER] ? mfx_strdup(m->s[S_USER]) : NULL;
    c->auth_pass = m->s[S_PASS] ? mfx_strdup(m->s[S_PASS]) : NULL;
    char expires[16];
    snprintf(expires, sizeof expires, "%d", m->expires > 0 ? m->expires : 3600);
    c->nh = nua_handle(ua->nua, c, SIPTAG_TO_STR(m->s[S_TO]), SIPTAG_FROM_STR(m->s[S_TO]),
                       TAG_IF(m->s[S_PROXY], NUTAG_PROXY(m->s[S_PROXY])), TAG_END());
    nua_register(c->nh, NUTAG_REGISTRAR(m->s[S_URI]), TAG_IF(m->s[S_FROM], NUTAG_M_USERNAME(m->s[S_FROM])),
                 SIPTAG_EXPIRES_STR(expires), TAG_END());
}

static void on_shutdown_timeout(su_root_magic_t *magic, su_timer_t *t, su_timer_arg_t *arg)
{
    (void)t;
    (void)arg;
    mfx_warn("sip", "nua did not shut down in time; stopping anyway");
    su_root_break(magic->root);
}

static void on_command(struct mfx_sip_ua *ua, su_msg_r msg, struct sip_cmd *m)
{
    (void)msg;
    switch (m->op) {
    case C_INVITE: do_invite(ua, m); break;
    case C_REINVITE: do_reinvite(ua, m); break;
    case C_HANGUP: do_hangup(ua, m); break;
    case C_RESPOND: do_respond(ua, m); break;
    case C_RESPOND_REGISTER: do_respond_register(ua, m); break;
    case C_REGISTER: do_register(ua, m); break;
    case C_SHUTDOWN:
        nua_shutdown(ua->nua);
        ua->shutdown_timer = su_timer_create(su_root_task(ua->root), 5000);
        su_timer_set(ua->shutdown_timer, on_shutdown_timeout, NULL);
        break;
    }
    for (size_t i = 0; i < MFX_ARRAY_LEN(m->s); i++) free(m->s[i]);
}

/* Posts a command; called on the libevent thread. Takes ownership of the
 * strings in m->s. */
static void send_command(struct mfx_sip_ua *ua, const struct sip_cmd *cmd)
{
    su_msg_r msg = SU_MSG_R_INIT;
    if (su_msg_create(msg, su_root_task(ua->root), su_task_null, on_command, sizeof *cmd) != 0) {
        mfx_error("sip", "cannot post a command to the SIP thread");
        for (size_t i = 0; i < MFX_ARRAY_LEN(cmd->s); i++) free(cmd->s[i]);
        return;
    }
    *su_msg_data(msg) = *cmd;
    su_msg_send(msg);
}

static char *dup_or_null(const char *s)
{
    return s && *s ? mfx_strdup(s) : NULL;
}

void mfx_sip_invite(struct mfx_sip_ua *ua, uint64_t call, const struct mfx_sip_invite *inv)
{
    struct sip_cmd m = { .op = C_INVITE, .call = call };
    m.s[S_URI] = mfx_strdup(inv->request_uri);
    if (inv->from_name && *inv->from_name)
        m.s[S_FROM] = mfx_asprintf("\"%s\" <%s>", inv->from_name, inv->from_uri);
    else
        m.s[S_FROM] = mfx_asprintf("<%s>", inv->from_uri);
    m.s[S_TO] = mfx_asprintf("<%s>", inv->to_uri ? inv->to_uri : inv->request_uri);
    m.s[S_PROXY] = dup_or_null(inv->outbound_proxy);
    m.s[S_SDP] = mfx_strdup(inv->sdp);
    m.s[S_USER] = dup_or_null(inv->auth_user);
    m.s[S_PASS] = dup_or_null(inv->auth_password);
    send_command(ua, &m);
}

void mfx_sip_reinvite(struct mfx_sip_ua *ua, uint64_t call, const char *sdp)
{
    struct sip_cmd m = { .op = C_REINVITE, .call = call };
    m.s[S_SDP] = mfx_strdup(sdp);
    send_command(ua, &m);
}

void mfx_sip_hangup(struct mfx_sip_ua *ua, uint64_t call)
{
    struct sip_cmd m = { .op = C_HANGUP, .call = call };
    send_command(ua, &m);
}

void mfx_sip_respond(struct mfx_sip_ua *ua, uint64_t call, int status, const char *phrase, const char *sdp,
                     const char *www_authenticate)
{
    struct sip_cmd m = { .op = C_RESPOND, .call = call, .status = status };
    m.s[S_EXTRA] = dup_or_null(phrase);
    m.s[S_SDP] = dup_or_null(sdp);
    m.s[S_USER] = dup_or_null(www_authenticate);
    send_command(ua, &m);
}

void mfx_sip_respond_register(struct mfx_sip_ua *ua, uint64_t id, int status, const char *phrase,
                              const char *www_authenticate, int expires)
{
    struct sip_cmd m = { .op = C_RESPOND_REGISTER, .call = id, .status = status, .expires = expires };
    m.s[S_EXTRA] = dup_or_null(phrase);
    m.s[S_USER] = dup_or_null(www_authenticate);
    send_command(ua, &m);
}

void mfx_sip_register(struct mfx_sip_ua *ua, uint64_t id, const struct mfx_sip_register *reg)
{
    struct sip_cmd m = { .op = C_REGISTER, .call = id, .expires = reg->expires };
    m.s[S_URI] = mfx_strdup(reg->registrar);
    m.s[S_TO] = mfx_strdup(reg->aor);
    m.s[S_FROM] = dup_or_null(reg->contact_user);
    m.s[S_PROXY] = dup_or_null(reg->outbound_proxy);
    m.s[S_USER] = dup_or_null(reg->auth_user);
    m.s[S_PASS] = dup_or_null(reg->auth_password);
    send_command(ua, &m);
}

/* ---- the thread ---------------------------------------------------------- */

/* sofia's log lines go to our logger at debug level. */
static void sofia_log(void *stream, char const *fmt, va_list ap)
{
    (void)stream;
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == ' ')) line[--n] = 0;
    if (n) mfx_debug("sip", "sofia: %s", line);
}

static void started(struct mfx_sip_ua *ua, int state, char *err)
{
    pthread_mutex_lock(&ua->lock);
    ua->started = state;
    ua->start_err = err;
    pthread_cond_signal(&ua->cond);
    pthread_mutex_unlock(&ua->lock);
}

static void *sip_thread(void *arg)
{
    struct mfx_sip_ua *ua = arg;
    ua->root = su_root_create(ua);
    if (!ua->root) {
        started(ua, -1, mfx_strdup("cannot create the SIP event root"));
        return NULL;
    }
    su_root_threading(ua->root, 0);
    ua->nua = nua_create(ua->root, nua_callback, ua,
                         NUTAG_URL(ua->bind_url),
                         TAG_IF(ua->tls_bind_url, NUTAG_SIPS_URL(ua->tls_bind_url)),
                         TAG_IF(ua->tls_cert_dir, NUTAG_CERTIFICATE_DIR(ua->tls_cert_dir)),
                         TAG_IF(ua->tls_bind_url, TPTAG_TLS_VERIFY_POLICY(ua->tls_verify ? TPTLS_VERIFY_OUT
                                                                                          : TPTLS_VERIFY_NONE)),
                         NUTAG_MEDIA_ENABLE(0),
                         NUTAG_AUTOALERT(0),
                         NUTAG_AUTOANSWER(0),
                         NUTAG_SESSION_TIMER(0),
                         NUTAG_ENABLEMESSAGE(0),
                         NUTAG_OUTBOUND("no-options-keepalive no-validate no-natify"),
                         NUTAG_ALLOW("INVITE, ACK, BYE, CANCEL, OPTIONS, REGISTER"),
                         NUTAG_APPL_METHOD("REGISTER"),
                         SIPTAG_USER_AGENT_STR(ua->user_agent),
                         SIPTAG_SERVER_STR(ua->user_agent),
                         SIPTAG_SUPPORTED_STR("replaces"),
                         TAG_END());
    if (!ua->nua) {
        su_root_destroy(ua->root);
        ua->root = NULL;
        started(ua, -1, mfx_asprintf("cannot bind SIP to %s (%s)", ua->bind_url, strerror(errno)));
        return NULL;
    }
    started(ua, 1, NULL);
    su_root_run(ua->root);

    while (ua->calls) call_free(ua, ua->calls);
    if (ua->shutdown_timer) su_timer_destroy(ua->shutdown_timer);
    nua_destroy(ua->nua);
    su_root_destroy(ua->root);
    return NULL;
}

/* Frees what the libevent side owns: the eventfd and its event, events not
 * delivered, the copied settings. The SIP thread must have ended. */
static void ua_free(struct mfx_sip_ua *ua)
{
    if (ua->efd_ev) event_free(ua->efd_ev);
    if (ua->efd >= 0) close(ua->efd);
    for (struct ev_node *n = ua->head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    pthread_mutex_destroy(&ua->lock);
    pthread_cond_destroy(&ua->cond);
    free(ua->bind_url);
    free(ua->user_agent);
    free(ua->tls_bind_url);
    free(ua->tls_cert_dir);
    for (struct phrase *p = ua->phrases, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    free(ua);
}

struct mfx_sip_ua *mfx_sip_ua_start(struct event_base *base, const struct mfx_sip_ua_config *cfg,
                                    mfx_sip_event_fn fn, void *ctx, char **err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, (void (*)(void))su_init);
    su_log_redirect(NULL, sofia_log, NULL);

    struct mfx_sip_ua *ua = mfx_calloc(1, sizeof *ua);
    ua->bind_url = mfx_strdup(cfg->bind_url);
    ua->user_agent = mfx_strdup(cfg->user_agent ? cfg->user_agent : "mintfax/" PACKAGE_VERSION);
    ua->tls_bind_url = cfg->tls_bind_url && *cfg->tls_bind_url ? mfx_strdup(cfg->tls_bind_url) : NULL;
    ua->tls_cert_dir = cfg->tls_cert_dir && *cfg->tls_cert_dir ? mfx_strdup(cfg->tls_cert_dir) : NULL;
    ua->tls_verify = cfg->tls_verify;
    for (int i = 0; i < cfg->n_accept && i < (int)MFX_ARRAY_LEN(ua->accept_pts); i++)
        ua->accept_pts[ua->n_accept++] = cfg->accept_pts[i];
    ua->fn = fn;
    ua->ctx = ctx;
    pthread_mutex_init(&ua->lock, NULL);
    pthread_cond_init(&ua->cond, NULL);
    ua->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (ua->efd < 0) {
        *err = mfx_asprintf("eventfd: %s", strerror(errno));
        goto fail;
    }
    ua->efd_ev = event_new(base, ua->efd, EV_READ | EV_PERSIST, on_efd, ua);
    event_add(ua->efd_ev, NULL);
    if (pthread_create(&ua->thread, NULL, sip_thread, ua) != 0) {
        *err = mfx_strdup("cannot start the SIP thread");
        goto fail;
    }
    pthread_mutex_lock(&ua->lock);
    while (!ua->started) pthread_cond_wait(&ua->cond, &ua->lock);
    pthread_mutex_unlock(&ua->lock);
    if (ua->started < 0) {
        pthread_join(ua->thread, NULL);
        *err = ua->start_err;
        ua->start_err = NULL;
        goto fail;
    }
    return ua;
fail:
    ua_free(ua);
    return NULL;
}

void mfx_sip_ua_stop(struct mfx_sip_ua *ua)
{
    if (!ua) return;
    struct sip_cmd m = { .op = C_SHUTDOWN };
    send_command(ua, &m);
    pthread_join(ua->thread, NULL);
    ua->stopping = true;
    ua_free(ua);
}

/* ---- digest (RFC 2617 §3.2.2) for the UAS side --------------------------- */

/* Copies the value of name= from a Digest header value (quoted or not). */
static bool digest_param(const char *hdr, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = hdr; (p = strcasestr(p, name)); p += nl) {
        if (p != hdr && p[-1] != ' ' && p[-1] != ',' && p[-1] != '\t') continue;
        const char *v = p + nl;
        while (*v == ' ') v++;
        if (*v != '=') continue;
        v++;
        while (*v == ' ') v++;
        size_t n = 0;
        if (*v == '"') {
            v++;
            while (v[n] && v[n] != '"') n++;
        } else {
            while (v[n] && v[n] != ',' && v[n] != ' ') n++;
        }
        if (n >= cap) return false;
        memcpy(out, v, n);
        out[n] = 0;
        return true;
    }
    return false;
}

static void md5_hex(char out[33], const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    su_md5_t md5;
    su_md5_init(&md5);
    su_md5_update(&md5, buf, strlen(buf));
    su_md5_hexdigest(&md5, out);
}

bool mfx_sip_digest_ok(const char *authorization, const char *method, const char *realm, const char *nonce,
                       const char *user, const char *password)
{
    char d_user[128], d_realm[128], d_nonce[128], d_uri[256], d_resp[64], qop[16] = "", nc[16] = "",
        cnonce[128] = "";
    if (!authorization || strncasecmp(authorization, "Authorization:", 14) == 0)
        authorization = authorization ? authorization + 14 : NULL;
    if (!authorization) return false;
    while (*authorization == ' ') authorization++;
    if (strncasecmp(authorization, "Digest ", 7)) return false;
    if (!digest_param(authorization, "username", d_user, sizeof d_user) ||
        !digest_param(authorization, "realm", d_realm, sizeof d_realm) ||
        !digest_param(authorization, "nonce", d_nonce, sizeof d_nonce) ||
        !digest_param(authorization, "uri", d_uri, sizeof d_uri) ||
        !digest_param(authorization, "response", d_resp, sizeof d_resp))
        return false;
    if (strcmp(d_user, user) || strcmp(d_realm, realm) || strcmp(d_nonce, nonce)) return false;
    digest_param(authorization, "qop", qop, sizeof qop);
    digest_param(authorization, "nc", nc, sizeof nc);
    digest_param(authorization, "cnonce", cnonce, sizeof cnonce);
    char ha1[33], ha2[33], want[33];
    md5_hex(ha1, "%s:%s:%s", user, realm, password);
    md5_hex(ha2, "%s:%s", method, d_uri);
    if (*qop)
        md5_hex(want, "%s:%s:%s:%s:%s:%s", ha1, nonce, nc, cnonce, qop, ha2);
    else
        md5_hex(want, "%s:%s:%s", ha1, nonce, ha2);
    return strcasecmp(want, d_resp) == 0;
}
