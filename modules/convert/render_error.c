/* SPDX-License-Identifier: Apache-2.0
 *
 * render_error.c: error codes of mintfax-render and the helper that records
 * the first failure. The code names are part of the render protocol (see
 * render_main.c) and must not change.
 */
#include "config.h"
#include "render_error.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const code_names[] = {
    [MFX_RENDER_OK] = "ok",
    [MFX_RENDER_UNREADABLE] = "document_unreadable",
    [MFX_RENDER_TOO_MANY_PAGES] = "document_too_many_pages",
    [MFX_RENDER_PAGE_TOO_LARGE] = "document_page_too_large",
    [MFX_RENDER_ENCRYPTED] = "document_encrypted",
    [MFX_RENDER_UNSUPPORTED] = "document_unsupported",
};

const char *mfx_render_code_name(enum mfx_render_code code)
{
    if ((unsigned)code >= sizeof code_names / sizeof code_names[0])
        return "document_unreadable";
    return code_names[code];
}

int mfx_render_fail(struct mfx_render_error *err, enum mfx_render_code code,
                    const char *reason, const char *fmt, ...)
{
    if (!err || err->code != MFX_RENDER_OK)
        return -1;
    err->code = code;
    err->reason = reason;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}
