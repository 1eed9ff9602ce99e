/* SPDX-License-Identifier: Apache-2.0
 *
 * media_clock.h: ONE 20 ms clock for every call in the process (DESIGN §2
 * "Media"). spandsp's timers advance only through the samples it is fed, so
 * each active G.711 leg (audio_fax.c), and later each T.38 terminal, runs one
 * 160-sample step per tick whether or not a packet arrived. Ticks follow an
 * absolute monotonic timeline (no drift); a loop that was late by whole
 * periods runs the missed ticks, at most MFX_MEDIA_CATCHUP in a row, then
 * skips ahead. Runs on the libevent loop that created it; not thread-safe.
 */
#ifndef MFX_MEDIA_CLOCK_H
#define MFX_MEDIA_CLOCK_H

#include <stdint.h>

struct event_base;
struct mfx_media_clock;
struct mfx_media_tick;

#define MFX_MEDIA_PERIOD_MS 20
#define MFX_MEDIA_CATCHUP 10          /* missed ticks run back to back before skipping ahead */
#define MFX_MEDIA_LATE_MS 5.0         /* a tick this late (media time) counts as late */

typedef void (*mfx_media_tick_fn)(void *ctx);

/* Creates the clock on base. speed 1 is real time; > 1 runs the period
 * faster (the test-only setting media.speed); values outside (0, 1000] mean
 * 1. The timer is armed only while ticks exist. Free with
 * mfx_media_clock_free() after removing every tick (remaining ones are freed
 * too). */
struct mfx_media_clock *mfx_media_clock_new(struct event_base *base, double speed);
void mfx_media_clock_free(struct mfx_media_clock *c);
/* The speed the clock runs at (after clamping). */
double mfx_media_clock_speed(const struct mfx_media_clock *c);

/* Registers fn(ctx) to run on every tick, starting with the next one; ticks
 * run in the order they were added. Returns a handle owned by the clock,
 * valid until mfx_media_clock_remove(). */
struct mfx_media_tick *mfx_media_clock_add(struct mfx_media_clock *c, mfx_media_tick_fn fn, void *ctx);
/* Unregisters t and frees it. Safe from inside any tick fn (also t's own):
 * a removed tick is not called again, not even later in the same tick. */
void mfx_media_clock_remove(struct mfx_media_clock *c, struct mfx_media_tick *t);

/* ticks: periods run; late_ticks: periods run more than MFX_MEDIA_LATE_MS
 * (divided by speed, in real time) after their deadline; max_late_ms: the
 * worst such delay in real milliseconds; skipped: periods dropped after a
 * catch-up of MFX_MEDIA_CATCHUP was not enough. */
struct mfx_media_clock_stats {
    uint64_t ticks, late_ticks;
    double max_late_ms;
    uint64_t skipped;
};
void mfx_media_clock_stats(const struct mfx_media_clock *c, struct mfx_media_clock_stats *out);

#endif
