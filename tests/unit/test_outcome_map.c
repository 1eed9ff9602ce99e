/* SPDX-License-Identifier: Apache-2.0
 *
 * test_outcome_map.c: DESIGN §10's mapping of SIP final responses and T.30
 * completion codes onto the catalog (modules/carrier_sip/outcome_map.c),
 * including which of them are retried.
 */
#include "config.h"
#include "mfx.h"
#include "errors.h"
#include "outcome_map.h"
#include "tap.h"

#include <spandsp.h>

static int sip_statuses(void)
{
    static const struct {
        int status;
        const char *code;
        int retryable;
    } cases[] = {
        { 486, "line_busy", 1 }, { 600, "line_busy", 1 }, { 480, "no_answer", 1 }, { 408, "no_answer", 1 },
        { 404, "bad_destination", 0 }, { 604, "bad_destination", 0 }, { 484, "invalid_number", 0 },
        { 603, "recipient_rejected", 0 }, { 503, "carrier_unavailable", 1 }, { 500, "carrier_unavailable", 1 },
        { 403, "no_route", 0 }, { 488, "negotiation_failed", 1 }, { 401, "carrier_unavailable", 1 },
        { 420, "bad_destination", 0 }, { 699, "recipient_rejected", 0 },
    };
    for (size_t i = 0; i < MFX_ARRAY_LEN(cases); i++) {
        struct mfx_outcome o = { .ecm = -1 };
        mfx_outcome_from_sip(&o, cases[i].status, "Phrase");
        const struct mfx_error_info *e = mfx_error_info(o.error);
        if (strcmp(e->code, cases[i].code) || e->retryable != cases[i].retryable || o.sip_status != cases[i].status) {
            printf("# %d -> %s (retryable %d)\n", cases[i].status, e->code, e->retryable);
            return 1;
        }
        char sub[16];
        snprintf(sub, sizeof sub, "sip_%d", cases[i].status);
        TAP_CHECK_STR(o.subcode, sub);
    }
    return 0;
}

static int t30_codes(void)
{
    struct mfx_outcome o = { .ecm = -1 };
    mfx_outcome_from_t30(&o, T30_ERR_OK, "OK");
    TAP_CHECK(o.error == MFX_E__COUNT && o.subcode[0] == 0);
    static const struct {
        int completion;
        const char *code, *subcode;
    } cases[] = {
        { T30_ERR_T0_EXPIRED, "not_a_fax_machine", "t30_no_fax_answer" },
        { T30_ERR_CANNOT_TRAIN, "line_quality", "t30_cannot_train" },
        { T30_ERR_TX_PHDDEAD, "timeout", "t30_no_page_response" },
        { T30_ERR_CALLDROPPED, "transmission_interrupted", "t30_call_dropped" },
        { T30_ERR_NORESSUPPORT, "negotiation_failed", "t30_resolution_unsupported" },
        { T30_ERR_BADTIFF, "document_unreadable", "t30_bad_tiff" },
        { T30_ERR_RX_NOCARRIER, "negotiation_failed", NULL },   /* RX_* codes: generic, numbered */
    };
    for (size_t i = 0; i < MFX_ARRAY_LEN(cases); i++) {
        mfx_outcome_from_t30(&o, cases[i].completion, "text");
        TAP_CHECK_STR(mfx_error_info(o.error)->code, cases[i].code);
        if (cases[i].subcode) TAP_CHECK_STR(o.subcode, cases[i].subcode);
        else TAP_CHECK(!strncmp(o.subcode, "t30_", 4));
        TAP_CHECK(strstr(o.message, "T.30: text") != NULL);
    }
    return 0;
}

static const struct tap_case cases[] = {
    { "SIP final responses map to catalog codes (DESIGN 10)", sip_statuses },
    { "T.30 completion codes map to catalog codes with a subcode", t30_codes },
};
TAP_MAIN(cases)
