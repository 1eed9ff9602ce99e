/* SPDX-License-Identifier: Apache-2.0
 *
 * outcome_map.h: SIP final responses and T.30 completion codes onto the
 * error catalog (DESIGN §10).
 */
#ifndef MFX_OUTCOME_MAP_H
#define MFX_OUTCOME_MAP_H

#include "module_api.h"

/* Fills error, subcode ("sip_486"), message and sip_status of o. */
void mfx_outcome_from_sip(struct mfx_outcome *o, int status, const char *phrase);
/* Fills error (MFX_E__COUNT for T30_ERR_OK), subcode ("t30_cannot_train")
 * and message of o from a T.30 completion code and its text. */
void mfx_outcome_from_t30(struct mfx_outcome *o, int completion, const char *text);

#endif
