/* SPDX-License-Identifier: Apache-2.0
 *
 * bare_common.h: what the two baselines of bench/channels (bare_g711.c,
 * bare_t38.c) share: the CPU clock the sender is timed with, and the
 * checksum that proves a replay sent exactly what the exchange sent.
 */
#ifndef MFX_BARE_COMMON_H
#define MFX_BARE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* This thread's CPU time, in nanoseconds. */
static inline int64_t thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* FNV-1a over n bytes, chained from h. */
static inline uint64_t sum_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

#endif
