/* SPDX-License-Identifier: Apache-2.0
 *
 * httpc.h: outbound HTTP(S) with libcurl's multi interface on the libevent
 * loop, shared by the document_url fetcher (fetch.c) and the webhook
 * dispatcher. Every connection passes the SSRF guard of DESIGN §11 on the
 * address actually connected to (redirect hops included), unless the caller
 * allows private addresses (tests).
 */
#ifndef MFX_HTTPC_H
#define MFX_HTTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_base;

struct mfx_httpc_request {
    const char *method;              /* "GET" or "POST" */
    const char *url;
    const char *const *headers;      /* "Name: value" lines, NULL-terminated; may be NULL */
    const void *body;                /* POST body (copied) */
    size_t body_len;
    size_t max_response;             /* bytes kept (and allowed, when truncate is false) */
    bool truncate;                   /* keep the first max_response bytes instead of failing */
    long timeout_ms;
    long max_redirects;              /* 0: redirects are not followed */
    bool allow_private;
};

/* What came back. transport_ok is false for network, TLS, timeout, size and
 * SSRF failures (subcode and message say which); status is the HTTP status
 * otherwise. body stays valid only during the callback. */
struct mfx_httpc_result {
    bool transport_ok;
    long status;
    const unsigned char *body;
    size_t len;
    const char *subcode;
    const char *message;
    int64_t duration_ms;
};

typedef void (*mfx_httpc_cb)(void *arg, const struct mfx_httpc_result *res);

int mfx_httpc_init(struct event_base *base);
/* Abandons transfers in flight: each callback hears subcode "shutdown". */
void mfx_httpc_shutdown(void);
/* Starts a request; cb runs exactly once, later, on the loop. */
void mfx_httpc_start(const struct mfx_httpc_request *rq, mfx_httpc_cb cb, void *arg);
/* The SSRF rule for one address; true if it may be connected to. */
bool mfx_httpc_address_allowed(const struct sockaddr *sa, bool allow_private);
int mfx_httpc_active(void);

#endif
