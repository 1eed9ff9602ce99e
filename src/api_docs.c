/* SPDX-License-Identifier: Apache-2.0
 *
 * api_docs.c: GET /v1/openapi.yaml (the spec, built into the binary from
 * docs/openapi.yaml so the daemon always serves the spec it was built
 * with) and the error pages /docs/errors and /docs/errors/{code}, rendered
 * from the same catalog as every error response.
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "errors.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

#ifndef MFX_OPENAPI_PATH
#error "MFX_OPENAPI_PATH must name docs/openapi.yaml"
#endif

/* The spec's bytes, placed in .rodata by the assembler. */
__asm__(".section .rodata\n"
        ".globl mfx_openapi_start\n.hidden mfx_openapi_start\n"
        ".globl mfx_openapi_end\n.hidden mfx_openapi_end\n"
        "mfx_openapi_start:\n"
        ".incbin \"" MFX_OPENAPI_PATH "\"\n"
        "mfx_openapi_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char mfx_openapi_start[];
extern const char mfx_openapi_end[];

void mfx_api_openapi(struct mfx_req *req)
{
    mfx_reply_raw(req, 200, "application/yaml", mfx_openapi_start, (size_t)(mfx_openapi_end - mfx_openapi_start));
}

static void page_head(GString *out, const char *title)
{
    gchar *t = g_markup_escape_text(title, -1);
    g_string_append_printf(out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}"
        "code{background:#f3f3f3;padding:0 .25rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}</style>"
        "</head><body>\n", t);
    g_free(t);
}

static void append_escaped(GString *out, const char *s)
{
    gchar *e = g_markup_escape_text(s, -1);
    g_string_append(out, e);
    g_free(e);
}

void mfx_api_error_page(struct mfx_req *req)
{
    GString *out = g_string_new(NULL);
    if (!req->params[0]) {
        page_head(out, "mintfax error codes");
        g_string_append(out, "<h1>mintfax error codes</h1>\n<table><tr><th>code</th><th>HTTP</th><th>message</th></tr>\n");
        for (int i = 0; i < MFX_E__COUNT; i++) {
            const struct mfx_error_info *e = mfx_error_info((enum mfx_err)i);
            g_string_append_printf(out, "<tr><td><a href=\"/docs/errors/%s\"><code>%s</code></a></td><td>", e->code, e->code);
            if (e->http_status) g_string_append_printf(out, "%d", e->http_status);
            else g_string_append(out, e->retryable ? "fax outcome, retried" : "fax outcome");
            g_string_append(out, "</td><td>");
            append_escaped(out, e->message);
            g_string_append(out, "</td></tr>\n");
        }
        g_string_append(out, "</table></body></html>\n");
        mfx_reply_raw(req, 200, "text/html; charset=utf-8", out->str, out->len);
        g_string_free(out, TRUE);
        return;
    }
    const struct mfx_error_info *e = mfx_error_lookup(req->params[0]);
    if (!e) {
        g_string_free(out, TRUE);
        mfx_reply_error(req, MFX_E_not_found, "No error code with this name in the catalog.", NULL);
        return;
    }
    page_head(out, e->code);
    g_string_append_printf(out, "<h1><code>%s</code></h1>\n<p>", e->code);
    append_escaped(out, e->message);
    g_string_append(out, "</p>\n<dl>");
    if (e->http_status) g_string_append_printf(out, "<dt>HTTP status</dt><dd>%d</dd>", e->http_status);
    else g_string_append_printf(out, "<dt>Kind</dt><dd>fax outcome (<code>error_code</code> of a fax)%s</dd>",
                                e->retryable ? ", retried while retries remain" : ", not retried");
    g_string_append_printf(out, "<dt>action</dt><dd><code>%s</code></dd><dt>What to do</dt><dd>", e->action);
    append_escaped(out, e->action_text);
    g_string_append(out, "</dd></dl>\n<p><a href=\"/docs/errors\">All error codes</a></p></body></html>\n");
    mfx_reply_raw(req, 200, "text/html; charset=utf-8", out->str, out->len);
    g_string_free(out, TRUE);
}
