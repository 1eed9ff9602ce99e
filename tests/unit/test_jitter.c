/* SPDX-License-Identifier: Apache-2.0
 *
 * test_jitter.c: the fixed-delay jitter buffer (modules/media/jitter.c).
 * Each frame carries its frame number in every byte, so a test can tell
 * which frame came out of which tick: in order, reordered, duplicated,
 * lost, late, across the 16/32-bit wrap of seq and timestamp, and across a
 * resync (new SSRC, a timestamp jump, a run of late packets).
 */
#include "config.h"
#include "jitter.h"
#include "tap.h"

#define F MFX_JITTER_FRAME

static void put_frame(struct mfx_jitter *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, uint8_t mark)
{
    uint8_t buf[F];
    memset(buf, mark, sizeof buf);
    mfx_jitter_put(jb, ssrc, seq, ts, buf, sizeof buf);
}

/* Runs one tick; returns get's result and the frame's mark byte in *mark
 * (after checking the whole frame carries it). */
static int tick(struct mfx_jitter *jb, int *mark)
{
    uint8_t out[F];
    memset(out, 0xee, sizeof out);
    int rc = mfx_jitter_get(jb, out);
    *mark = -1;
    if (rc == 1) {
        *mark = out[0];
        for (int i = 1; i < F; i++)
            if (out[i] != out[0]) *mark = -2;
    }
    return rc;
}

static int bad_arguments(void)
{
    TAP_CHECK(mfx_jitter_new(-1, 10) == NULL);
    TAP_CHECK(mfx_jitter_new(3, 3) == NULL);
    TAP_CHECK(mfx_jitter_new(3, MFX_JITTER_MAX_CAPACITY + 1) == NULL);
    TAP_CHECK(mfx_jitter_new(MFX_JITTER_MAX_DELAY + 1, MFX_JITTER_MAX_CAPACITY) == NULL);
    struct mfx_jitter *jb = mfx_jitter_new(0, 1);
    TAP_CHECK(jb != NULL);
    mfx_jitter_free(jb);
    mfx_jitter_free(NULL);
    return 0;
}

static int in_order(void)
{
    struct mfx_jitter *jb = mfx_jitter_new(3, 20);
    int m;
    TAP_CHECK(tick(jb, &m) == -1);                         /* nothing received yet */
    uint32_t ts = 1000;
    uint16_t seq = 7;
    /* One packet per tick, as a steady sender does; playout starts 3 ticks after the first. */
    for (int i = 0; i < 40; i++) {
        put_frame(jb, 42, seq++, ts, (uint8_t)i);
        ts += F;
        int rc = tick(jb, &m);
        if (i < 3) {
            TAP_CHECK(rc == -1);
        } else {
            TAP_CHECK(rc == 1);
            TAP_CHECK(m == i - 3);
        }
    }
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.received == 40 && st.played == 37 && st.missing == 0 && st.late == 0 && st.duplicate == 0);
    TAP_CHECK(st.resyncs == 0);
    mfx_jitter_free(jb);
    return 0;
}

static int reorder(void)
{
    struct mfx_jitter *jb = mfx_jitter_new(3, 20);
    int m;
    /* Frames arrive in pairs swapped: 1 0 3 2 5 4 ...; the first to arrive is frame 1. */
    int order[40];
    for (int i = 0; i < 40; i += 2) order[i] = i + 1, order[i + 1] = i;
    int next_out = 0;
    for (int i = 0; i < 40; i++) {
        put_frame(jb, 1, (uint16_t)order[i], 5000u + (uint32_t)order[i] * F, (uint8_t)order[i]);
        int rc = tick(jb, &m);
        if (rc == 1) {
            TAP_CHECK(m == next_out);
            next_out++;
        } else {
            TAP_CHECK(rc == -1 && next_out == 0);
        }
    }
    TAP_CHECK(next_out == 37);
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.missing == 0 && st.late == 0);
    mfx_jitter_free(jb);
    return 0;
}

static int duplicates(void)
{
    struct mfx_jitter *jb = mfx_jitter_new(2, 10);
    int m;
    for (int i = 0; i < 10; i++) {
        put_frame(jb, 1, (uint16_t)i, (uint32_t)i * F, (uint8_t)i);
        put_frame(jb, 1, (uint16_t)i, (uint32_t)i * F, 0x77);          /* same timestamp again: dropped */
        int rc = tick(jb, &m);
        if (i >= 2) TAP_CHECK(rc == 1 && m == i - 2);
    }
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.received == 20 && st.duplicate == 10 && st.played == 8);
    mfx_jitter_free(jb);
    return 0;
}

static int loss(void)
{
    struct mfx_jitter *jb = mfx_jitter_new(3, 20);
    int m;
    int played = 0, missing = 0;
    for (int i = 0; i < 30; i++) {
        if (i % 5 != 4) put_frame(jb, 1, (uint16_t)i, (uint32_t)i * F, (uint8_t)i);   /* every 5th lost */
        int rc = tick(jb, &m);
        if (i < 3) continue;
        int frame = i - 3;
        if (frame % 5 == 4) {
            TAP_CHECK(rc == 0);
            missing++;
        } else {
            TAP_CHECK(rc == 1 && m == frame);
            played++;
        }
    }
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.missing == (uint64_t)missing && st.played == (uint64_t)played && st.late == 0);
    mfx_jitter_free(jb);
    return 0;
}

static int late(void)
{
    struct mfx_jitter *jb = mfx_jitter_new(2, 20);
    int m;
    for (int i = 0; i < 10; i++) {
        if (i != 5) put_frame(jb, 1, (uint16_t)i, (uint32_t)i * F, (uint8_t)i);
        tick(jb, &m);
    }
    /* Frame 5 was due at tick 7 and reported missing; it arrives now: late, dropped. */
    put_frame(jb, 1, 5, 5 * F, 5);
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.late == 1 && st.missing == 1 && st.resyncs == 0);
    /* Playout goes on: 8 and 9 are buffered, 10 arrives in time. */
    TAP_CHECK(tick(jb, &m) == 1 && m == 8);
    put_frame(jb, 1, 10, 10 * F, 10);
    TAP_CHECK(tick(jb, &m) == 1 && m == 9);
    TAP_CHECK(tick(jb, &m) == 1 && m == 10);
    mfx_jitter_free(jb);
    return 0;
}

static int wrap(void)
{
    /* seq wraps 65535 -> 0 and ts wraps 2^32 -> 0 in the middle of the stream. */
    struct mfx_jitter *jb = mfx_jitter_new(3, 20);
    int m;
    uint32_t ts = 0xffffffffu - 5 * F + 1;
    uint16_t seq = 65530;
    for (int i = 0; i < 20; i++) {
        put_frame(jb, 9, seq++, ts, (uint8_t)i);
        ts += F;
        int rc = tick(jb, &m);
        if (i >= 3) TAP_CHECK(rc == 1 && m == i - 3);
    }
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.resyncs == 0 && st.late == 0 && st.missing == 0 && st.played == 17);
    mfx_jitter_free(jb);
    return 0;
}

static int resync_ssrc_and_jump(void)
{
    struct mfx_jitter *jb = mfx_jitter_new(2, 10);
    int m;
    for (int i = 0; i < 6; i++) {
        put_frame(jb, 1, (uint16_t)i, (uint32_t)i * F, (uint8_t)i);
        tick(jb, &m);
    }
    /* A new SSRC (e.g. the far end re-INVITEd to another media server): restart. */
    put_frame(jb, 2, 1000, 777777, 100);
    TAP_CHECK(tick(jb, &m) == -1);
    put_frame(jb, 2, 1001, 777777 + F, 101);
    TAP_CHECK(tick(jb, &m) == -1);
    put_frame(jb, 2, 1002, 777777 + 2 * F, 102);
    TAP_CHECK(tick(jb, &m) == 1 && m == 100);
    TAP_CHECK(tick(jb, &m) == 1 && m == 101);
    /* A timestamp jump far beyond the capacity: restart too. */
    put_frame(jb, 2, 1003, 777777 + 100000 * F, 200);
    TAP_CHECK(tick(jb, &m) == -1);
    TAP_CHECK(tick(jb, &m) == -1);
    TAP_CHECK(tick(jb, &m) == 1 && m == 200);
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.resyncs == 2);
    mfx_jitter_free(jb);
    return 0;
}

static int resync_after_late_run(void)
{
    /* The sender restarts its timestamps a little back in time (within the
     * capacity): the first packets look late; a run of them means the
     * timeline moved, so the buffer follows it. */
    struct mfx_jitter *jb = mfx_jitter_new(1, 50);
    int m;
    for (int i = 0; i < 40; i++) {
        put_frame(jb, 1, (uint16_t)i, 100000u + (uint32_t)i * F, (uint8_t)i);
        tick(jb, &m);
    }
    int first = -1;
    for (int i = 0; i < 20; i++) {
        put_frame(jb, 1, (uint16_t)(40 + i), 100000u + (uint32_t)(20 + i) * F, (uint8_t)(100 + i));
        if (tick(jb, &m) == 1 && m >= 100 && first < 0) first = m;
    }
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.late == MFX_JITTER_LATE_RESYNC - 1);
    TAP_CHECK(st.resyncs == 1);
    TAP_CHECK(first == 100 + MFX_JITTER_LATE_RESYNC - 1);
    mfx_jitter_free(jb);
    return 0;
}

static int short_packets(void)
{
    /* ptime 10: two 80-byte packets per frame; frame 1's halves arrive swapped. */
    struct mfx_jitter *jb = mfx_jitter_new(1, 10);
    mfx_jitter_set_fill(jb, 0xd5);
    uint8_t half[80], out[F];
    memset(half, 0x10, sizeof half);
    mfx_jitter_put(jb, 3, 1, 0, half, 80);
    memset(half, 0x11, sizeof half);
    mfx_jitter_put(jb, 3, 2, 80, half, 80);
    TAP_CHECK(mfx_jitter_get(jb, out) == -1);
    memset(half, 0x13, sizeof half);
    mfx_jitter_put(jb, 3, 4, 240, half, 80);
    memset(half, 0x12, sizeof half);
    mfx_jitter_put(jb, 3, 3, 160, half, 80);
    TAP_CHECK(mfx_jitter_get(jb, out) == 1);
    TAP_CHECK(out[0] == 0x10 && out[79] == 0x10 && out[80] == 0x11 && out[159] == 0x11);
    TAP_CHECK(mfx_jitter_get(jb, out) == 1);
    TAP_CHECK(out[0] == 0x12 && out[79] == 0x12 && out[80] == 0x13 && out[159] == 0x13);
    /* Only the first half of the next frame arrives: the rest is the fill byte. */
    mfx_jitter_put(jb, 3, 5, 320, half, 80);
    TAP_CHECK(mfx_jitter_get(jb, out) == 1);
    TAP_CHECK(out[0] == 0x12 && out[80] == 0xd5 && out[159] == 0xd5);
    /* One 480-byte packet (ptime 60) fills three frames. */
    uint8_t big[480];
    for (int i = 0; i < 480; i++) big[i] = (uint8_t)(i / F);
    mfx_jitter_put(jb, 3, 6, 480, big, sizeof big);
    for (int f = 0; f < 3; f++) {
        TAP_CHECK(mfx_jitter_get(jb, out) == 1);
        TAP_CHECK(out[0] == f && out[159] == f);
    }
    TAP_CHECK(mfx_jitter_get(jb, out) == 0);
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.duplicate == 0 && st.late == 0 && st.resyncs == 0);
    mfx_jitter_free(jb);
    return 0;
}

static int early_reorder_at_start(void)
{
    /* The first packet to arrive is frame 1; frame 0 comes next, while
     * priming: it is played first rather than counted late. */
    struct mfx_jitter *jb = mfx_jitter_new(2, 10);
    int m;
    put_frame(jb, 5, 11, 1000 + F, 1);
    TAP_CHECK(tick(jb, &m) == -1);
    put_frame(jb, 5, 10, 1000, 0);
    TAP_CHECK(tick(jb, &m) == -1);
    put_frame(jb, 5, 12, 1000 + 2 * F, 2);
    TAP_CHECK(tick(jb, &m) == 1 && m == 0);
    TAP_CHECK(tick(jb, &m) == 1 && m == 1);
    TAP_CHECK(tick(jb, &m) == 1 && m == 2);
    TAP_CHECK(tick(jb, &m) == 0);
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.late == 0 && st.missing == 1);
    mfx_jitter_free(jb);
    return 0;
}

static int bounded_capacity(void)
{
    /* A burst far ahead of playout (more than the capacity) resyncs rather than overwriting. */
    struct mfx_jitter *jb = mfx_jitter_new(1, 8);
    int m;
    put_frame(jb, 1, 0, 0, 0);
    tick(jb, &m);
    for (int i = 1; i < 8; i++) put_frame(jb, 1, (uint16_t)i, (uint32_t)i * F, (uint8_t)i);
    struct mfx_jitter_stats st;
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.resyncs == 0);
    put_frame(jb, 1, 8, 8 * F, 8);                       /* frame 8: capacity 8 from frame 0 */
    mfx_jitter_stats(jb, &st);
    TAP_CHECK(st.resyncs == 1);
    TAP_CHECK(tick(jb, &m) == -1);
    TAP_CHECK(tick(jb, &m) == 1 && m == 8);
    mfx_jitter_free(jb);
    return 0;
}

static const struct tap_case cases[] = {
    { "arguments are bounded", bad_arguments },
    { "in order: playout starts after the delay", in_order },
    { "reordered packets are played in timestamp order", reorder },
    { "duplicates are dropped and counted", duplicates },
    { "lost frames are reported missing", loss },
    { "late packets are dropped and counted", late },
    { "RFC 3550 5.1: seq and timestamp wrap", wrap },
    { "resync on a new SSRC and on a timestamp jump", resync_ssrc_and_jump },
    { "resync after a run of late packets", resync_after_late_run },
    { "packets shorter and longer than a frame", short_packets },
    { "an earlier packet while priming moves the origin back", early_reorder_at_start },
    { "capacity is bounded", bounded_capacity },
};

TAP_MAIN(cases)
