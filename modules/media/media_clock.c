/* SPDX-License-Identifier: Apache-2.0
 *
 * media_clock.c: the shared 20 ms media clock of media_clock.h, a one-shot
 * libevent timer re-armed against an absolute CLOCK_MONOTONIC deadline, so
 * rounding in the loop's own timeout never accumulates. Registered ticks
 * live in an array run in order; removal during a tick only marks the entry
 * and the array is compacted once the tick is over.
 */
#include "config.h"
#include "mfx.h"
#include "media_clock.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mfx_media_tick {
    mfx_media_tick_fn fn;
    void *ctx;
    bool removed;
};

struct mfx_media_clock {
    struct event_base *base;
    struct event *timer;
    double speed;
    int64_t period_ns;
    int64_t late_ns;                /* lateness that counts as late, real time */
    int64_t next_ns;                /* deadline of the next tick */
    bool armed;
    struct mfx_media_tick **ticks;
    size_t n, alloc;
    bool running, dirty;
    struct mfx_media_clock_stats st;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void arm(struct mfx_media_clock *c, int64_t now)
{
    int64_t wait = c->next_ns - now;
    if (wait < 0) wait = 0;
    wait = (wait + 999) / 1000;                       /* round up to microseconds */
    struct timeval tv = { .tv_sec = (time_t)(wait / 1000000), .tv_usec = (suseconds_t)(wait % 1000000) };
    event_add(c->timer, &tv);
    c->armed = true;
}

/* Drops the entries marked removed (after a tick, when nothing iterates). */
static void compact(struct mfx_media_clock *c)
{
    size_t j = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->ticks[i]->removed) free(c->ticks[i]);
        else c->ticks[j++] = c->ticks[i];
    }
    c->n = j;
    c->dirty = false;
}

/* Runs every registered tick once. Ticks added meanwhile wait for the next
 * period; removed ones are skipped. */
static void run_once(struct mfx_media_clock *c)
{
    c->running = true;
    size_t n = c->n;
    for (size_t i = 0; i < n; i++) {
        struct mfx_media_tick *t = c->ticks[i];
        if (!t->removed) t->fn(t->ctx);
    }
    c->running = false;
    if (c->dirty) compact(c);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct mfx_media_clock *c = arg;
    c->armed = false;
    int64_t now = mono_ns();
    int ran = 0;
    while (c->n > 0 && now >= c->next_ns && ran < MFX_MEDIA_CATCHUP) {
        int64_t late = now - c->next_ns;
        if (late > c->late_ns) {
            c->st.late_ticks++;
            double ms = (double)late / 1e6;
            if (ms > c->st.max_late_ms) c->st.max_late_ms = ms;
        }
        run_once(c);
        c->st.ticks++;
        c->next_ns += c->period_ns;
        ran++;
    }
    if (c->n == 0) return;                            /* disarmed until a tick is added */
    now = mono_ns();
    if (now >= c->next_ns + c->period_ns) {
        /* Still whole periods behind after a bounded catch-up: skip them and
         * keep the phase of the timeline. */
        int64_t behind = (now - c->next_ns) / c->period_ns;
        c->st.skipped += (uint64_t)behind;
        c->next_ns += behind * c->period_ns;
    }
    arm(c, now);
}

struct mfx_media_clock *mfx_media_clock_new(struct event_base *base, double speed)
{
    struct mfx_media_clock *c = mfx_calloc(1, sizeof *c);
    if (!(speed > 0 && speed <= 1000)) speed = 1;
    c->base = base;
    c->speed = speed;
    c->period_ns = (int64_t)(MFX_MEDIA_PERIOD_MS * 1e6 / speed);
    if (c->period_ns < 1000) c->period_ns = 1000;
    c->late_ns = (int64_t)(MFX_MEDIA_LATE_MS * 1e6 / speed);
    c->timer = evtimer_new(base, on_timer, c);
    if (!c->timer) abort();
    return c;
}

void mfx_media_clock_free(struct mfx_media_clock *c)
{
    if (!c) return;
    event_free(c->timer);
    for (size_t i = 0; i < c->n; i++) free(c->ticks[i]);
    free(c->ticks);
    free(c);
}

double mfx_media_clock_speed(const struct mfx_media_clock *c)
{
    return c->speed;
}

struct mfx_media_tick *mfx_media_clock_add(struct mfx_media_clock *c, mfx_media_tick_fn fn, void *ctx)
{
    struct mfx_media_tick *t = mfx_calloc(1, sizeof *t);
    t->fn = fn;
    t->ctx = ctx;
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 16;
        c->ticks = mfx_realloc(c->ticks, c->alloc * sizeof *c->ticks);
    }
    c->ticks[c->n++] = t;
    if (!c->armed && !c->running) {
        /* The first tick of a new timeline comes one period from now. If the
         * clock is inside on_timer, that call re-arms it. */
        int64_t now = mono_ns();
        c->next_ns = now + c->period_ns;
        arm(c, now);
    }
    return t;
}

void mfx_media_clock_remove(struct mfx_media_clock *c, struct mfx_media_tick *t)
{
    if (!t) return;
    t->removed = true;
    if (c->running) {
        c->dirty = true;
        return;
    }
    compact(c);
    if (c->n == 0 && c->armed) {
        event_del(c->timer);
        c->armed = false;
    }
}

void mfx_media_clock_stats(const struct mfx_media_clock *c, struct mfx_media_clock_stats *out)
{
    *out = c->st;
}
