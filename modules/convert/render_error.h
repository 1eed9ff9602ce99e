/* SPDX-License-Identifier: Apache-2.0
 *
 * render_error.h: the outcome of a render, as mintfax-render reports it on
 * stdout. Each code is a stable snake_case string that the daemon maps onto
 * its error catalog (src/errors.def); the message is for people. The codes
 * and their strings are in render_error.c.
 */
#ifndef MFX_RENDER_ERROR_H
#define MFX_RENDER_ERROR_H

enum mfx_render_code {
    MFX_RENDER_OK = 0,
    MFX_RENDER_UNREADABLE,      /* document_unreadable: corrupt, truncated, limit hit */
    MFX_RENDER_TOO_MANY_PAGES,  /* document_too_many_pages: over --max-pages */
    MFX_RENDER_PAGE_TOO_LARGE,  /* document_page_too_large: page or image too big */
    MFX_RENDER_ENCRYPTED,       /* document_encrypted: needs a password */
    MFX_RENDER_UNSUPPORTED,     /* document_unsupported: not PDF, TIFF, PNG or JPEG */
};

/* What went wrong, filled by the first function that fails. page is
 * 1-based (0: not page-specific); reason names the limit or the stage
 * ("cpu_limit", "truncated", ...) or is NULL. */
struct mfx_render_error {
    enum mfx_render_code code;
    int page;
    const char *reason;
    char message[256];
};

/* Sets err (if no error was set before: the first cause wins) and returns -1,
 * so callers can write `return mfx_render_fail(err, ...)`. */
int mfx_render_fail(struct mfx_render_error *err,
                    enum mfx_render_code code,
                    const char *reason,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* "document_unreadable", ... ; "ok" for MFX_RENDER_OK. Static strings. */
const char *mfx_render_code_name(enum mfx_render_code code);

#endif
