/* SPDX-License-Identifier: Apache-2.0
 *
 * fetch.c: GET of a document_url on httpc.c: redirects bounded, size capped
 * at the upload limit, a 2xx required, private addresses refused unless
 * [documents] allow_private (tests).
 */
#include "config.h"
#include "mfx.h"
#include "fetch.h"
#include "httpc.h"
#include "settings.h"

#include <stdio.h>
#include <stdlib.h>

struct fetch {
    mfx_fetch_cb cb;
    void *arg;
};

static void done(void *arg, const struct mfx_httpc_result *h)
{
    struct fetch *f = arg;
    struct mfx_fetch_result r = { 0 };
    char sub[16], msg[64];
    r.http_status = h->status;
    if (!h->transport_ok) {
        r.subcode = h->subcode;
        r.message = h->message;
    } else if (h->status < 200 || h->status > 299) {
        snprintf(sub, sizeof sub, "http_%ld", h->status);
        snprintf(msg, sizeof msg, "document_url answered HTTP %ld", h->status);
        r.subcode = sub;
        r.message = msg;
    } else {
        r.ok = true;
        r.data = h->body;
        r.len = h->len;
    }
    f->cb(f->arg, &r);
    free(f);
}

void mfx_fetch_start(const char *url, size_t max_bytes, mfx_fetch_cb cb, void *arg)
{
    struct fetch *f = mfx_malloc(sizeof *f);
    f->cb = cb;
    f->arg = arg;
    struct mfx_httpc_request rq = {
        .method = "GET",
        .url = url,
        .max_response = max_bytes,
        .timeout_ms = (long)(mfx_cfg.fetch_timeout * 1000),
        .max_redirects = (long)mfx_cfg.fetch_max_redirects,
        .allow_private = mfx_cfg.allow_private,
    };
    mfx_httpc_start(&rq, done, f);
}
