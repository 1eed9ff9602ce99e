/* SPDX-License-Identifier: Apache-2.0
 *
 * t38_sdp.c: T.38 attributes we announce and the session a remote's give
 * (see t38_sdp.h; DESIGN §10).
 */
#include "config.h"
#include "t38_sdp.h"

#include <string.h>

void mfx_t38_sdp_ours(struct mfx_t38_params *t)
{
    memset(t, 0, sizeof *t);
    t->version = 0;
    t->max_bit_rate = 14400;
    t->transferred_tcf = true;
    t->max_buffer = 2000;
    t->max_datagram = MFX_UDPTL_MAX_DATAGRAM;
    t->udp_ec = MFX_T38_EC_REDUNDANCY;
}

void mfx_t38_sdp_session(const struct mfx_t38_params *remote, int redundancy, struct mfx_t38_session *out)
{
    memset(out, 0, sizeof *out);
    out->version = 0;
    out->max_bit_rate = remote->max_bit_rate > 0 && remote->max_bit_rate < 14400 ? remote->max_bit_rate : 14400;
    out->transferred_tcf = remote->transferred_tcf;
    out->max_datagram = remote->max_datagram;
    out->ec = remote->udp_ec == MFX_T38_EC_FEC ? MFX_UDPTL_EC_FEC
            : remote->udp_ec == MFX_T38_EC_NONE ? MFX_UDPTL_EC_NONE : MFX_UDPTL_EC_REDUNDANCY;
    out->redundancy = redundancy;
}
