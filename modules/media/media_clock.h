/* SPDX-License-Identifier: Apache-2.0
 *
 * media_clock.h: ONE 20 ms clock for every call in the process (DESIGN §2
 * "Media"), on a thread of its own. spandsp's timers advance only through
 * the samples it is fed, so each active leg (audio_fax.c, t38_fax.c) runs
 * one 160-sample step per tick whether or not a packet arrived. Ticks follow
 * an absolute monotonic timeline (no drift); a clock that was late by whole
 * periods runs the missed ticks, at most MFX_MEDIA_CATCHUP in a row, then
 * skips ahead.
 *
 * Threads. The clock runs a "media thread" with its own libevent loop
 * (mfx_media_clock_base: only code running on that thread may touch it), so
 * nothing the owner's loop does (a database commit, a process spawn) delays
 * a tick. The ticks, and any event of the media loop, run with the clock's
 * lock held; the owner takes the same lock (mfx_media_clock_lock) to touch
 * what the media thread uses. Results travel back as posts: a post queued on
 * the media thread runs its function on the owner's loop, without the lock.
 * An object the media loop may still hold events of is retired, not freed:
 * its destructor runs on the media thread.
 */
#ifndef MFX_MEDIA_CLOCK_H
#define MFX_MEDIA_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct mfx_media_clock;
struct mfx_media_tick;

#define MFX_MEDIA_PERIOD_MS 20
#define MFX_MEDIA_CATCHUP 10          /* missed ticks run back to back before skipping ahead */
#define MFX_MEDIA_LATE_MS 5.0         /* a tick this late (media time) counts as late */

typedef void (*mfx_media_tick_fn)(void *ctx);

/* Creates the clock and starts its thread; posts run on `owner`. speed 1 is
 * real time; > 1 runs the period faster (the test-only setting
 * media.speed); values outside (0, 1000] mean 1. The timer is armed only
 * while ticks exist. Free with mfx_media_clock_free() from the owner's
 * thread after removing every tick: it stops the thread, then runs what was
 * retired and frees what is left. */
struct mfx_media_clock *mfx_media_clock_new(struct event_base *owner, double speed);
void mfx_media_clock_free(struct mfx_media_clock *c);
/* The speed the clock runs at (after clamping). */
double mfx_media_clock_speed(const struct mfx_media_clock *c);
/* The media thread's loop, for the events of legs (media thread only). */
struct event_base *mfx_media_clock_base(const struct mfx_media_clock *c);

/* The clock's lock: held by the media thread while ticks and media events
 * run; the owner holds it to touch anything they use. Not recursive. */
void mfx_media_clock_lock(struct mfx_media_clock *c);
void mfx_media_clock_unlock(struct mfx_media_clock *c);

/* Registers fn(ctx) to run on every tick, starting with the next one; ticks
 * run in the order they were added. Lock held. Returns a handle owned by the
 * clock, valid until mfx_media_clock_remove(). */
struct mfx_media_tick *mfx_media_clock_add(struct mfx_media_clock *c, mfx_media_tick_fn fn, void *ctx);
/* Unregisters t and frees it. Lock held. Safe from inside any tick fn (also
 * t's own): a removed tick is not called again, not even later in the same
 * tick. */
void mfx_media_clock_remove(struct mfx_media_clock *c, struct mfx_media_tick *t);
/* Ticks registered now. Lock held. */
size_t mfx_media_clock_count(const struct mfx_media_clock *c);

/* Sockets read only when they hold data (T.38 legs, which receive in a few
 * ticks of a hundred): before each tick the clock asks the kernel once for
 * all of them (epoll with timeout 0) and sets *ready for each readable one;
 * the tick reads and clears it. Nobody sleeps on that epoll set, so an
 * arriving datagram wakes no thread; a socket not drained is reported again.
 * watch: any thread (returns 0, or -1 with errno); unwatch: the media thread,
 * or once it has stopped (a leg's destroy), before closing fd. */
int mfx_media_clock_watch(struct mfx_media_clock *c, int fd, bool *ready);
void mfx_media_clock_unwatch(struct mfx_media_clock *c, int fd);

/* A post: fn(ctx) to run once on the owner's loop. Embedded in the object it
 * reports for; zero-initialise it, then set fn and ctx. */
struct mfx_media_post {
    void (*fn)(void *ctx);
    void *ctx;
    struct mfx_media_post *prev, *next;
    bool queued;
};
/* Queues p (lock held, any thread); posting one already queued does nothing.
 * fn runs on the owner's loop without the lock, and may free what p is in. */
void mfx_media_clock_post(struct mfx_media_clock *c, struct mfx_media_post *p);
/* Takes p off the queue if it is on it (lock held): fn will not run. */
void mfx_media_clock_unpost(struct mfx_media_clock *c, struct mfx_media_post *p);

/* Hands obj to the media thread, which calls destroy(obj) there soon,
 * without the lock (or mfx_media_clock_free does, on the owner's thread,
 * once the media thread has stopped). Lock held. The caller must have made
 * sure nothing of obj runs again (its tick removed, its events idle). */
void mfx_media_clock_retire(struct mfx_media_clock *c, void (*destroy)(void *obj), void *obj);

/* ticks: periods run; late_ticks: periods run more than MFX_MEDIA_LATE_MS
 * (divided by speed, in real time) after their deadline; max_late_ms: the
 * worst such delay in real milliseconds; skipped: periods dropped after a
 * catch-up of MFX_MEDIA_CATCHUP was not enough. */
struct mfx_media_clock_stats {
    uint64_t ticks, late_ticks;
    double max_late_ms;
    uint64_t skipped;
};
void mfx_media_clock_stats(struct mfx_media_clock *c, struct mfx_media_clock_stats *out);

#endif
