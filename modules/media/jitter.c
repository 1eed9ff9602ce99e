/* SPDX-License-Identifier: Apache-2.0
 *
 * jitter.c: the fixed-delay jitter buffer of jitter.h. A ring of
 * capacity_frames slots indexed by frame number (the playout point counts
 * frames since the stream started; a packet's frame is its RTP timestamp
 * distance to the playout point's timestamp, divided by 160), so the ring
 * never moves data and reordering costs nothing. Timestamp arithmetic is
 * modulo 2^32 (RFC 3550 §5.1), so wrap-around needs no special case. Each
 * slot keeps a bitmap of the samples it holds, which makes duplicates exact
 * and lets packets of other sizes (ptime 10, 30) fill frames piecewise.
 * The fuzz target tests/fuzz/fuzz_jitter.c drives put/get with random input.
 */
#include "mfx.h"
#include "jitter.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define FRAME MFX_JITTER_FRAME
#define MAP_WORDS ((FRAME + 31) / 32)

struct slot {
    uint64_t index;                 /* the frame number held, valid when used */
    bool used;
    uint16_t filled;                /* samples held: FRAME = complete */
    uint32_t map[MAP_WORDS];        /* which samples are held */
    uint8_t data[FRAME];
};

struct mfx_jitter {
    int delay, cap;
    struct slot *slots;
    bool started;
    int priming;                    /* ticks left before playout starts */
    uint32_t ssrc;
    uint64_t play_index;            /* the next frame get() returns */
    uint32_t play_ts;               /* its RTP timestamp */
    uint64_t high_index;            /* highest frame stored since the (re)start */
    int late_run;                   /* consecutive late packets */
    uint8_t fill;
    struct mfx_jitter_stats st;
};

struct mfx_jitter *mfx_jitter_new(int delay_frames, int capacity_frames)
{
    if (delay_frames < 0 || delay_frames > MFX_JITTER_MAX_DELAY || capacity_frames <= delay_frames ||
        capacity_frames > MFX_JITTER_MAX_CAPACITY)
        return NULL;
    struct mfx_jitter *jb = mfx_calloc(1, sizeof *jb);
    jb->delay = delay_frames;
    jb->cap = capacity_frames;
    jb->slots = mfx_calloc((size_t)capacity_frames, sizeof *jb->slots);
    jb->fill = 0xFF;
    /* Frame numbers start far from 0 so that moving the origin back (below)
     * never wraps; slot = frame % capacity stays consistent. */
    jb->play_index = (uint64_t)capacity_frames << 20;
    return jb;
}

void mfx_jitter_free(struct mfx_jitter *jb)
{
    if (!jb) return;
    free(jb->slots);
    free(jb);
}

void mfx_jitter_set_fill(struct mfx_jitter *jb, uint8_t fill)
{
    jb->fill = fill;
}

/* Starts (or restarts) the stream at this packet: its timestamp becomes the
 * playout point and playout waits `delay` ticks. */
static void restart(struct mfx_jitter *jb, uint32_t ssrc, uint32_t ts)
{
    if (jb->started) jb->st.resyncs++;
    for (int i = 0; i < jb->cap; i++) jb->slots[i].used = false;
    jb->started = true;
    jb->ssrc = ssrc;
    jb->play_ts = ts;
    jb->high_index = jb->play_index;
    jb->priming = jb->delay;
    jb->late_run = 0;
}

/* Floor division by FRAME of a signed timestamp distance. */
static int64_t frame_of(int64_t delta)
{
    return delta >= 0 ? delta / FRAME : -((-delta + FRAME - 1) / FRAME);
}

/* Copies k bytes into a slot at sample offset pos; returns true if any of
 * them was new (not a duplicate). */
static bool slot_write(struct slot *s, int pos, const uint8_t *src, int k)
{
    if (pos == 0 && k == FRAME) {                   /* the common case: one whole frame */
        if (s->filled == FRAME) return false;
        memcpy(s->data, src, FRAME);
        memset(s->map, 0xff, sizeof s->map);
        s->filled = FRAME;
        return true;
    }
    bool fresh = false;
    for (int i = 0; i < k; i++) {
        int b = pos + i;
        uint32_t bit = 1u << (b & 31);
        if (s->map[b >> 5] & bit) continue;
        s->map[b >> 5] |= bit;
        s->data[b] = src[i];
        s->filled++;
        fresh = true;
    }
    return fresh;
}

void mfx_jitter_put(struct mfx_jitter *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, const uint8_t *payload,
                    size_t n)
{
    (void)seq;
    jb->st.received++;
    if (!payload || n == 0) return;
    if (!jb->started || ssrc != jb->ssrc) restart(jb, ssrc, ts);

    int64_t delta = (int32_t)(ts - jb->play_ts);    /* RFC 3550 §5.1: timestamps wrap modulo 2^32 */
    int64_t d = frame_of(delta);
    int pos = (int)(delta - d * FRAME);
    if (d >= jb->cap || d < -(int64_t)jb->cap) {    /* a jump: the sender's timeline moved */
        restart(jb, ssrc, ts);
        d = 0;
        pos = 0;
    } else if (d < 0) {
        uint64_t back = (uint64_t)-d;
        if (jb->priming > 0 && back <= (uint64_t)jb->delay &&
            jb->high_index < jb->play_index - back + (uint64_t)jb->cap) {
            /* Nothing played yet and an earlier packet arrives (reordered at
             * the start): move the origin back instead of dropping it. */
            jb->play_index -= back;
            jb->play_ts -= (uint32_t)(back * FRAME);
            d = 0;
        } else if (++jb->late_run >= MFX_JITTER_LATE_RESYNC) {
            restart(jb, ssrc, ts);                   /* consistently late: the timeline moved */
            d = 0;
            pos = 0;
        } else {
            /* Late, unless its tail still reaches the playout point: keep that part. */
            int64_t skip = -delta;
            if ((uint64_t)skip >= n) {
                jb->st.late++;
                return;
            }
            payload += skip;
            n -= (size_t)skip;
            d = 0;
            pos = 0;
        }
    }
    jb->late_run = 0;

    bool fresh = false, stored = false;
    for (; n > 0 && d < jb->cap; d++) {
        int k = FRAME - pos;
        if ((size_t)k > n) k = (int)n;
        uint64_t index = jb->play_index + (uint64_t)d;
        struct slot *s = &jb->slots[index % (uint64_t)jb->cap];
        if (!s->used || s->index != index) {
            s->used = true;
            s->index = index;
            s->filled = 0;
            memset(s->map, 0, sizeof s->map);
            memset(s->data, jb->fill, FRAME);
        }
        fresh |= slot_write(s, pos, payload, k);
        stored = true;
        if (index > jb->high_index) jb->high_index = index;
        payload += k;
        n -= (size_t)k;
        pos = 0;
    }
    if (stored && !fresh) jb->st.duplicate++;
}

int mfx_jitter_get(struct mfx_jitter *jb, uint8_t out[MFX_JITTER_FRAME])
{
    if (!jb->started) return -1;
    if (jb->priming > 0) {
        jb->priming--;
        return -1;
    }
    struct slot *s = &jb->slots[jb->play_index % (uint64_t)jb->cap];
    int rc;
    if (s->used && s->index == jb->play_index) {
        memcpy(out, s->data, FRAME);
        s->used = false;
        jb->st.played++;
        rc = 1;
    } else {
        jb->st.missing++;
        rc = 0;
    }
    jb->play_index++;
    jb->play_ts += FRAME;
    return rc;
}

void mfx_jitter_stats(const struct mfx_jitter *jb, struct mfx_jitter_stats *out)
{
    *out = jb->st;
}
