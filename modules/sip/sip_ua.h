/* SPDX-License-Identifier: Apache-2.0
 *
 * sip_ua.h: a SIP user agent on its own thread (DESIGN §2 "SIP thread").
 * sofia-sip's su_root and nua live on that thread; every nua_* call and all
 * SIP and SDP parsing happen there. The caller's thread (the libevent loop)
 * talks to it only through the functions below, which post commands with
 * su_msg_send, and receives plain copied events through a queue that wakes
 * libevent with an eventfd. Calls are named by 64-bit ids: the caller picks
 * them for outgoing calls, the agent for incoming ones.
 *
 * The same agent serves the daemon's carrier (UAC: INVITE, CANCEL, BYE,
 * REGISTER) and the test peer (UAS: answers, challenges, BYE).
 */
#ifndef MFX_SIP_UA_H
#define MFX_SIP_UA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sdp.h"

struct event_base;
struct mfx_sip_ua;

enum mfx_sip_event_type {
    MFX_SIP_PROGRESS,        /* UAC: a 1xx (100 Trying included) */
    MFX_SIP_ANSWERED,        /* UAC: 2xx to our INVITE; media holds the answer */
    MFX_SIP_FAILED,          /* UAC: the INVITE ended without a dialog (status, phrase) */
    MFX_SIP_ENDED,           /* the dialog is over: BYE either way, or a failure after it */
    MFX_SIP_INCOMING,        /* UAS: a new INVITE (user, media, authorization) */
    MFX_SIP_CANCELLED,       /* UAS: the caller sent CANCEL before we answered */
    MFX_SIP_ACKED,           /* UAS: the ACK of our 2xx arrived */
    MFX_SIP_REINVITE,        /* a re-INVITE in a confirmed dialog (media holds its offer) */
    MFX_SIP_REINVITE_RESULT, /* the final response to OUR re-INVITE (status; media on 2xx) */
    MFX_SIP_REGISTERED,      /* REGISTER succeeded (status 200) or failed (status >= 300) */
    MFX_SIP_REGISTER_IN,     /* UAS: a REGISTER came in (user, authorization) */
};

/* One event, copied out of the SIP thread: nothing points into sofia. */
struct mfx_sip_event {
    enum mfx_sip_event_type type;
    uint64_t call;               /* the call (or registration) id */
    int status;                  /* SIP status, 0 when none */
    char phrase[64];
    bool remote_bye;             /* ENDED: the far end hung up */
    bool has_sdp;                /* a body of type application/sdp came with it */
    enum mfx_sdp_status sdp_status;
    struct mfx_sdp_parsed media; /* parsed on the SIP thread when has_sdp */
    char user[64];               /* INCOMING/REGISTER_IN: the request-URI user part */
    char from[128];              /* INCOMING: From URI */
    char authorization[512];     /* INCOMING/REGISTER_IN: the Authorization header, or "" */
    char method[16];             /* INCOMING/REGISTER_IN: the method, for digest checks */
    char uri[128];               /* INCOMING/REGISTER_IN: the request-URI, for digest checks */
    char transport[8];           /* INCOMING/REGISTER_IN: UDP, TCP or TLS (the top Via) */
};

typedef void (*mfx_sip_event_fn)(void *ctx, const struct mfx_sip_event *ev);

struct mfx_sip_ua_config {
    const char *bind_url;        /* e.g. "sip:127.0.0.1:5080" or "sip:*:5060;transport=udp,tcp" */
    const char *user_agent;      /* User-Agent and Server header value */
    const int *accept_pts;       /* audio payload types we accept in answers/offers */
    int n_accept;
    const char *tls_bind_url;    /* e.g. "sips:127.0.0.1:5061", or NULL: no TLS */
    const char *tls_cert_dir;    /* agent.pem (our key and certificate) and cafile.pem */
    bool tls_verify;             /* verify the certificate of servers we call */
};

/* Starts the SIP thread and waits until its transport is bound. Events are
 * delivered on base's thread through fn. Returns NULL with *err (malloc'd). */
struct mfx_sip_ua *mfx_sip_ua_start(struct event_base *base,
                                    const struct mfx_sip_ua_config *cfg,
                                    mfx_sip_event_fn fn,
                                    void *ctx,
                                    char **err);

/* Shuts nua down (calls in progress get BYE or CANCEL), waits for the
 * thread to end and frees everything. No event is delivered after this. */
void mfx_sip_ua_stop(struct mfx_sip_ua *ua);

/* What an outgoing INVITE needs; strings are copied. */
struct mfx_sip_invite {
    const char *request_uri;     /* sip:+15551234567@host:port */
    const char *from_uri;        /* sip:+15550000000@domain */
    const char *from_name;       /* display name or NULL */
    const char *to_uri;          /* usually the request URI */
    const char *outbound_proxy;  /* sip:host:port or NULL */
    const char *sdp;             /* our offer */
    const char *auth_user;       /* digest credentials, or NULL */
    const char *auth_password;
};

/* Sends an INVITE for call id. Exactly one FAILED or ENDED follows. */
void mfx_sip_invite(struct mfx_sip_ua *ua, uint64_t call, const struct mfx_sip_invite *inv);

/* Ends a call whatever its state: CANCEL before an answer, BYE after, a
 * 487-style end for an incoming call not yet answered. */
void mfx_sip_hangup(struct mfx_sip_ua *ua, uint64_t call);

/* Sends a re-INVITE with a new offer in the confirmed dialog of call
 * (RFC 3261 §14.1); REINVITE_RESULT follows. */
void mfx_sip_reinvite(struct mfx_sip_ua *ua, uint64_t call, const char *sdp);

/* UAS: answers an incoming INVITE (or re-INVITE) with status; sdp (answer)
 * and www_authenticate (a challenge value for 401) may be NULL. */
void mfx_sip_respond(struct mfx_sip_ua *ua, uint64_t call, int status, const char *phrase,
                     const char *sdp, const char *www_authenticate);

/* UAS: answers a REGISTER that came in (REGISTER_IN), same rules. A 2xx
 * with expires > 0 grants that many seconds, as a registrar may (RFC 3261
 * §10.3 step 7): the request's Contact comes back with ;expires=N, and an
 * Expires header; 0 answers with neither. */
void mfx_sip_respond_register(struct mfx_sip_ua *ua, uint64_t id, int status, const char *phrase,
                              const char *www_authenticate, int expires);

/* What a REGISTER needs; strings are copied. nua refreshes it before it
 * expires and reports each outcome as REGISTERED. */
struct mfx_sip_register {
    const char *registrar;       /* sip:host:port */
    const char *aor;             /* sip:user@domain */
    const char *contact_user;    /* user part of our Contact */
    const char *outbound_proxy;
    const char *auth_user;
    const char *auth_password;
    int expires;                 /* seconds */
};
void mfx_sip_register(struct mfx_sip_ua *ua, uint64_t id, const struct mfx_sip_register *reg);

/* Verifies a Digest Authorization value (RFC 2617, MD5, qop absent or
 * "auth") for method and our realm/nonce against user and password. */
bool mfx_sip_digest_ok(const char *authorization, const char *method, const char *realm,
                       const char *nonce, const char *user, const char *password);

#endif
