/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_jitter.c: the jitter buffer (modules/media/jitter.c) driven by an
 * arbitrary script of puts and gets, as a hostile or broken peer could
 * produce: any SSRC, timestamp, length and order. Invariants: get returns
 * -1, 0 or 1; frames played plus missing never exceed the gets; late plus
 * duplicate packets never exceed those received; nothing crashes or leaks.
 *
 * Input: byte 0 picks the delay, byte 1 the capacity; then per step one op
 * byte: bit 0 set = get; else a put whose ssrc is one of 4 (bits 1-2), with
 * a 16-bit timestamp step (next 2 bytes, scaled by 8 and signed) and a
 * length (next byte * 2), the payload taken from the rest of the input.
 *
 * fuzz-sources: modules/media/jitter.c src/mem.c
 */
#include "config.h"
#include "jitter.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    int delay = data[0] % 12;
    int capacity = delay + 1 + data[1] % 64;
    struct mfx_jitter *jb = mfx_jitter_new(delay, capacity);
    if (!jb) abort();
    mfx_jitter_set_fill(jb, 0xff);
    size_t i = 2;
    uint32_t ts = 0xfffff000u;                    /* near the wrap */
    uint16_t seq = 65500;
    uint64_t gets = 0;
    uint8_t out[MFX_JITTER_FRAME];
    while (i < size) {
        uint8_t op = data[i++];
        if (op & 1) {
            int rc = mfx_jitter_get(jb, out);
            if (rc < -1 || rc > 1) abort();
            gets++;
            continue;
        }
        if (i + 3 > size) break;
        uint32_t ssrc = 0x1000u + ((op >> 1) & 3);
        int16_t step = (int16_t)(data[i] << 8 | data[i + 1]);
        size_t len = (size_t)data[i + 2] * 2;
        i += 3;
        ts += (uint32_t)((int32_t)step * 8);
        if (len > size - i) len = size - i;
        mfx_jitter_put(jb, ssrc, seq++, ts, data + i, len);
        i += len;
    }
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    if (st.played + st.missing > gets) abort();
    if (st.late + st.duplicate > st.received) abort();
    mfx_jitter_free(jb);
    return 0;
}
