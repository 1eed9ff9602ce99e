/* SPDX-License-Identifier: Apache-2.0
 *
 * outcome_map.c: DESIGN §10's mapping of how a call ended onto the error
 * catalog. SIP final responses (RFC 3261 §21) and T.30 phase E completion
 * codes (spandsp's T30_ERR_*) each become a catalog code plus an
 * error_subcode that names the precise cause ("sip_486", "t30_cannot_train"),
 * so an API user sees a stable code and an operator the detail.
 */
#include "config.h"
#include "outcome_map.h"

#include <spandsp.h>
#include <stdio.h>
#include <string.h>

void mfx_outcome_from_sip(struct mfx_outcome *o, int status, const char *phrase)
{
    enum mfx_err e;
    switch (status) {
    case 486: case 600:
        e = MFX_E_line_busy; break;
    case 408: case 480: case 487:
        e = MFX_E_no_answer; break;
    case 484:
        e = MFX_E_invalid_number; break;
    case 404: case 410: case 604:
        e = MFX_E_bad_destination; break;
    case 603:
        e = MFX_E_recipient_rejected; break;
    case 403:
        e = MFX_E_no_route; break;
    case 401: case 407:               /* our credentials were refused */
        e = MFX_E_carrier_unavailable; break;
    case 488: case 415: case 606:
        e = MFX_E_negotiation_failed; break;
    default:
        if (status >= 600) e = MFX_E_recipient_rejected;
        else if (status >= 500) e = MFX_E_carrier_unavailable;
        else e = MFX_E_bad_destination;
        break;
    }
    o->error = e;
    o->sip_status = status;
    snprintf(o->subcode, sizeof o->subcode, "sip_%d", status);
    snprintf(o->message, sizeof o->message, "SIP %d %s", status, phrase ? phrase : "");
}

static const struct {
    int code;
    const char *subcode;
    enum mfx_err err;
} t30_map[] = {
    { T30_ERR_CEDTONE, "t30_ced_too_long", MFX_E_negotiation_failed },
    { T30_ERR_T0_EXPIRED, "t30_no_fax_answer", MFX_E_not_a_fax_machine },
    { T30_ERR_T1_EXPIRED, "t30_no_fax_answer", MFX_E_not_a_fax_machine },
    { T30_ERR_T3_EXPIRED, "t30_t3_expired", MFX_E_timeout },
    { T30_ERR_HDLC_CARRIER, "t30_hdlc_carrier", MFX_E_line_quality },
    { T30_ERR_CANNOT_TRAIN, "t30_cannot_train", MFX_E_line_quality },
    { T30_ERR_OPER_INT_FAIL, "t30_operator_intervention", MFX_E_negotiation_failed },
    { T30_ERR_INCOMPATIBLE, "t30_incompatible", MFX_E_negotiation_failed },
    { T30_ERR_RX_INCAPABLE, "t30_receiver_incapable", MFX_E_negotiation_failed },
    { T30_ERR_TX_INCAPABLE, "t30_transmitter_incapable", MFX_E_negotiation_failed },
    { T30_ERR_NORESSUPPORT, "t30_resolution_unsupported", MFX_E_negotiation_failed },
    { T30_ERR_NOSIZESUPPORT, "t30_size_unsupported", MFX_E_negotiation_failed },
    { T30_ERR_UNEXPECTED, "t30_unexpected_message", MFX_E_negotiation_failed },
    { T30_ERR_TX_BADDCS, "t30_bad_dcs_response", MFX_E_line_quality },
    { T30_ERR_TX_BADPG, "t30_page_rejected", MFX_E_line_quality },
    { T30_ERR_TX_ECMPHD, "t30_bad_ecm_response", MFX_E_line_quality },
    { T30_ERR_TX_GOTDCN, "t30_disconnected", MFX_E_negotiation_failed },   /* DCN before any DIS */
    { T30_ERR_TX_INVALRSP, "t30_invalid_response", MFX_E_line_quality },
    { T30_ERR_TX_NODIS, "t30_no_dis", MFX_E_negotiation_failed },
    { T30_ERR_TX_PHBDEAD, "t30_no_training_response", MFX_E_timeout },
    { T30_ERR_TX_PHDDEAD, "t30_no_page_response", MFX_E_timeout },
    { T30_ERR_TX_T5EXP, "t30_t5_expired", MFX_E_timeout },
    { T30_ERR_FILEERROR, "t30_file_error", MFX_E_document_unreadable },
    { T30_ERR_NOPAGE, "t30_no_page", MFX_E_document_unreadable },
    { T30_ERR_BADTIFF, "t30_bad_tiff", MFX_E_document_unreadable },
    { T30_ERR_BADPAGE, "t30_bad_page", MFX_E_document_unreadable },
    { T30_ERR_BADTAG, "t30_bad_tag", MFX_E_document_unreadable },
    { T30_ERR_BADTIFFHDR, "t30_bad_tiff_header", MFX_E_document_unreadable },
    { T30_ERR_NOMEM, "t30_no_memory", MFX_E_timeout },
    { T30_ERR_RETRYDCN, "t30_retries_exhausted", MFX_E_line_quality },
    { T30_ERR_CALLDROPPED, "t30_call_dropped", MFX_E_transmission_interrupted },
};

void mfx_outcome_from_t30(struct mfx_outcome *o, int completion, const char *text)
{
    if (completion == T30_ERR_OK) {
        o->error = MFX_E__COUNT;
        o->subcode[0] = 0;
        o->message[0] = 0;
        return;
    }
    o->error = MFX_E_negotiation_failed;     /* the RX_* codes and anything new */
    snprintf(o->subcode, sizeof o->subcode, "t30_%d", completion);
    for (size_t i = 0; i < sizeof t30_map / sizeof t30_map[0]; i++)
        if (t30_map[i].code == completion) {
            o->error = t30_map[i].err;
            snprintf(o->subcode, sizeof o->subcode, "%s", t30_map[i].subcode);
            break;
        }
    snprintf(o->message, sizeof o->message, "T.30: %s", text ? text : "");
}
