/* SPDX-License-Identifier: Apache-2.0
 *
 * errors.c: the catalog table built from errors.def, and the generator of
 * docs/errors.md. The HTTP error pages (api_docs.c) render from the same
 * table, so the three can never disagree.
 */
#include "config.h"
#include "errors.h"

#include <stdio.h>
#include <string.h>

static const struct mfx_error_info catalog[] = {
#define MFX_ERROR(code, status, retryable, action, message, action_text) \
    { #code, status, retryable, #action, message, action_text },
#include "errors.def"
#undef MFX_ERROR
};

const struct mfx_error_info *mfx_error_info(enum mfx_err e)
{
    return &catalog[e < MFX_E__COUNT ? e : MFX_E_internal_error];
}

const struct mfx_error_info *mfx_error_lookup(const char *code)
{
    for (size_t i = 0; i < MFX_E__COUNT; i++)
        if (strcmp(catalog[i].code, code) == 0) return &catalog[i];
    return NULL;
}

void mfx_errors_print_markdown(void)
{
    printf("# mintfax error catalog\n\n"
           "Generated from `src/errors.def` by `mintfaxd --print-errors-md`; do not edit.\n"
           "Each code is stable. API errors answer with the HTTP status shown and the body\n"
           "`{\"error\", \"message\", \"action\", \"docs\", \"request_id\"}`; fax outcomes appear as a\n"
           "fax's `error_code` (with `error_subcode`) and are retried when marked so.\n\n");
    printf("## API errors\n\n| code | HTTP | action | message |\n|---|---|---|---|\n");
    for (size_t i = 0; i < MFX_E__COUNT; i++)
        if (catalog[i].http_status)
            printf("| [`%s`](#%s) | %d | `%s` | %s |\n", catalog[i].code, catalog[i].code,
                   catalog[i].http_status, catalog[i].action, catalog[i].message);
    printf("\n## Fax outcomes\n\n| code | retried | action | message |\n|---|---|---|---|\n");
    for (size_t i = 0; i < MFX_E__COUNT; i++)
        if (!catalog[i].http_status)
            printf("| [`%s`](#%s) | %s | `%s` | %s |\n", catalog[i].code, catalog[i].code,
                   catalog[i].retryable ? "yes" : "no", catalog[i].action, catalog[i].message);
    printf("\n## Details\n");
    for (size_t i = 0; i < MFX_E__COUNT; i++)
        printf("\n### %s\n\n%s\n\n**What to do:** %s\n", catalog[i].code, catalog[i].message,
               catalog[i].action_text);
}
