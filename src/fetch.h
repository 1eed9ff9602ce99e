/* SPDX-License-Identifier: Apache-2.0
 *
 * fetch.h: outbound HTTP(S) GETs (document_url) with libcurl's multi
 * interface on the libevent loop, under the SSRF guard of DESIGN §11: the
 * address actually connected to (every redirect hop included) must not be
 * loopback, private, link-local, multicast or a metadata address, unless
 * [documents] allow_private is set (tests).
 */
#ifndef MFX_FETCH_H
#define MFX_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct event_base;

/* Result of a fetch. On failure data is NULL, subcode names the cause
 * (blocked_address, http_404, timeout, too_large, tls, connect, ...) and
 * message says it for a person. Valid only during the callback. */
struct mfx_fetch_result {
    bool ok;
    const unsigned char *data;
    size_t len;
    long http_status;
    const char *subcode;
    const char *message;
};

typedef void (*mfx_fetch_cb)(void *arg, const struct mfx_fetch_result *res);

int mfx_fetch_init(struct event_base *base);
void mfx_fetch_shutdown(void);
/* Starts a GET of url (at most max_bytes); cb runs exactly once, later. */
void mfx_fetch_start(const char *url, size_t max_bytes, mfx_fetch_cb cb, void *arg);
/* The SSRF rule for one address; true if it may be connected to. */
bool mfx_fetch_address_allowed(const struct sockaddr *sa, bool allow_private);
/* Transfers in flight. */
int mfx_fetch_active(void);

#endif
