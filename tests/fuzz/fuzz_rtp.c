/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_rtp.c: the RTP header parser (modules/media/rtp.c, RFC 3550 §5.1) on
 * arbitrary datagrams. Invariants: the payload it returns lies inside the
 * input; writing the parsed fields back and parsing again gives the same
 * fields and payload bytes.
 *
 * fuzz-sources: modules/media/rtp.c
 */
#include "config.h"
#include "rtp.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mfx_rtp_packet p;
    if (mfx_rtp_parse(data, size, &p) != 0) return 0;
    if (p.payload < data + MFX_RTP_HEADER_LEN || p.payload + p.payload_len > data + size) abort();
    if (p.pt > 127) abort();

    size_t cap = MFX_RTP_HEADER_LEN + p.payload_len;
    uint8_t *buf = malloc(cap);
    if (!buf) return 0;
    size_t n = mfx_rtp_write(buf, cap, &p);
    if (n != cap) abort();
    if (mfx_rtp_write(buf, cap - 1, &p) != 0) abort();                 /* one byte short never fits */
    struct mfx_rtp_packet q;
    if (mfx_rtp_parse(buf, n, &q) != 0) abort();
    if (q.pt != p.pt || q.marker != p.marker || q.seq != p.seq || q.ts != p.ts || q.ssrc != p.ssrc) abort();
    if (q.payload_len != p.payload_len || (p.payload_len && memcmp(q.payload, p.payload, p.payload_len) != 0))
        abort();
    free(buf);
    return 0;
}
