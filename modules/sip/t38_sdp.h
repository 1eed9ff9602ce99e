/* SPDX-License-Identifier: Apache-2.0
 *
 * t38_sdp.h: T.38 between SDP (sdp.h) and the T.38 leg (t38_fax.h), used
 * by the carrier and by mintfax-peer alike: what we announce, and the
 * session a remote's attributes give.
 */
#ifndef MFX_T38_SDP_H
#define MFX_T38_SDP_H

#include "sdp.h"
#include "t38_fax.h"

/* Our T.38 attributes: version 0, 14,400 bit/s, transferredTCF (UDP),
 * T38FaxMaxBuffer 2000, the largest datagram we take, redundancy, and no
 * fill-bit removal, MMR or JBIG transcoding. */
void mfx_t38_sdp_ours(struct mfx_t38_params *t);

/* The session to run against a remote's attributes: version 0 (the one
 * spandsp 0.0.6 speaks), its bit rate capped at 14,400, its rate
 * management, its max datagram, the error correction it asks for, and
 * our redundancy depth. */
void mfx_t38_sdp_session(const struct mfx_t38_params *remote, int redundancy, struct mfx_t38_session *out);

#endif
