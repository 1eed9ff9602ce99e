/* SPDX-License-Identifier: Apache-2.0
 *
 * errors.h: the catalog of errors.def as an enum and a lookup table.
 */
#ifndef MFX_ERRORS_H
#define MFX_ERRORS_H

enum mfx_err {
#define MFX_ERROR(code, status, retryable, action, message, action_text) MFX_E_##code,
#include "errors.def"
#undef MFX_ERROR
    MFX_E__COUNT
};

struct mfx_error_info {
    const char *code;
    int http_status;        /* 0 for fax outcomes */
    int retryable;
    const char *action;
    const char *message;
    const char *action_text;
};

const struct mfx_error_info *mfx_error_info(enum mfx_err e);
/* Looks a code up by name; NULL if it is not in the catalog. */
const struct mfx_error_info *mfx_error_lookup(const char *code);
/* Writes docs/errors.md (the generated reference) to stdout. */
void mfx_errors_print_markdown(void);

#endif
