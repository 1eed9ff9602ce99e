/* SPDX-License-Identifier: Apache-2.0
 *
 * fetch.h: GET of a document_url (DESIGN §11) on the shared HTTP client
 * (httpc.h), which applies the SSRF guard to every address it connects to.
 */
#ifndef MFX_FETCH_H
#define MFX_FETCH_H

#include <stdbool.h>
#include <stddef.h>

/* Result of a fetch. On failure data is NULL, subcode names the cause
 * (blocked_address, http_404, timeout, too_large, tls, connect, shutdown,
 * ...) and message says it for a person. Valid only during the callback. */
struct mfx_fetch_result {
    bool ok;
    const unsigned char *data;
    size_t len;
    long http_status;
    const char *subcode;
    const char *message;
};

typedef void (*mfx_fetch_cb)(void *arg, const struct mfx_fetch_result *res);

/* Starts a GET of url (at most max_bytes); cb runs exactly once, later. */
void mfx_fetch_start(const char *url, size_t max_bytes, mfx_fetch_cb cb, void *arg);

#endif
