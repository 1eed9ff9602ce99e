/* SPDX-License-Identifier: Apache-2.0
 *
 * media_clock.c: the shared 20 ms media clock of media_clock.h. The media
 * thread runs its own libevent loop with a one-shot timer re-armed against
 * an absolute CLOCK_MONOTONIC deadline, so rounding in the loop's own
 * timeout never accumulates. Registered ticks live in an array run in order;
 * removal during a tick only marks the entry and the array is compacted once
 * the tick is over.
 *
 * Two eventfds join the threads: `wake` (owner → media thread: a tick was
 * added to an idle clock, something was retired, or stop) and `posted`
 * (media thread → owner: the post queue became non-empty). Only the media
 * thread ever touches the media loop; only the owner touches its own.
 */
#include "config.h"
#include "mfx.h"
#include "media_clock.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MEDIA_SLICE_NS 100000        /* 0.1 ms, the shortest Linux takes: see ask_short_slice() */

struct mfx_media_tick {
    mfx_media_tick_fn fn;
    void *ctx;
    bool removed;
};

struct retired {
    void (*destroy)(void *obj);
    void *obj;
    struct retired *next;
};

struct mfx_media_clock {
    pthread_mutex_t lock;
    double speed;
    int64_t period_ns;
    int64_t late_ns;                /* lateness that counts as late, real time */

    /* the media thread */
    pthread_t thread;
    struct event_base *base;
    struct event *timer, *wake_ev;
    int wake_fd;
    bool stop;                      /* lock */
    int64_t next_ns;                /* lock: deadline of the next tick */
    bool armed;                     /* media thread: the timer is pending */
    struct mfx_media_tick **ticks;  /* lock */
    size_t n, alloc;
    bool running, dirty;
    struct mfx_media_clock_stats st;
    struct retired *retired;        /* lock: waiting for the media thread */
    int watch_fd;                   /* epoll set of watched sockets, polled per tick */

    /* the owner */
    struct event_base *owner;
    struct event *posted_ev;
    int posted_fd;
    struct mfx_media_post *head, *tail;  /* lock */
    bool signalled;                 /* lock: posted_fd was written since the owner last read it */
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void kick(int fd)
{
    uint64_t one = 1;
    while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {}
}

static void drain_fd(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) < 0 && errno == EINTR) {}
}

/* ---- the media thread -------------------------------------------------- */

/* Media thread, lock held. */
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

/* Marks the watched sockets that are readable (one system call, however
 * many sockets; nothing blocks). */
static void poll_watched(struct mfx_media_clock *c)
{
    struct epoll_event ev[256];
    for (int round = 0; round < 64; round++) {
        int n = epoll_wait(c->watch_fd, ev, (int)MFX_ARRAY_LEN(ev), 0);
        for (int i = 0; i < n; i++) *(bool *)ev[i].data.ptr = true;
        if (n < (int)MFX_ARRAY_LEN(ev)) break;
    }
}

/* Runs every registered tick once. Ticks added meanwhile wait for the next
 * period; removed ones are skipped. */
static void run_once(struct mfx_media_clock *c)
{
    poll_watched(c);
    c->running = true;
    size_t n = c->n;
    for (size_t i = 0; i < n; i++) {
        struct mfx_media_tick *t = c->ticks[i];
        if (!t->removed) t->fn(t->ctx);
    }
    c->running = false;
    if (c->dirty) compact(c);
}

/* Takes the retired list (lock held); run_retired() then destroys it
 * without the lock. */
static struct retired *take_retired(struct mfx_media_clock *c)
{
    struct retired *r = c->retired;
    c->retired = NULL;
    return r;
}

static void run_retired(struct retired *r)
{
    while (r) {
        struct retired *next = r->next;
        r->destroy(r->obj);
        free(r);
        r = next;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct mfx_media_clock *c = arg;
    pthread_mutex_lock(&c->lock);
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
    if (c->n > 0) {
        now = mono_ns();
        if (now >= c->next_ns + c->period_ns) {
            /* Still whole periods behind after a bounded catch-up: skip them
             * and keep the phase of the timeline. */
            int64_t behind = (now - c->next_ns) / c->period_ns;
            c->st.skipped += (uint64_t)behind;
            c->next_ns += behind * c->period_ns;
        }
        arm(c, now);
    }                                                   /* else idle until a tick is added */
    struct retired *r = take_retired(c);
    pthread_mutex_unlock(&c->lock);
    run_retired(r);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct mfx_media_clock *c = arg;
    drain_fd(fd);
    pthread_mutex_lock(&c->lock);
    if (c->stop) event_base_loopbreak(c->base);
    else if (c->n > 0 && !c->armed) arm(c, mono_ns());
    struct retired *r = take_retired(c);
    pthread_mutex_unlock(&c->lock);
    run_retired(r);
}

/* Asks the scheduler (EEVDF, Linux 6.12+: a fair task may choose its
 * slice, no privilege needed) for a short slice: an earlier virtual
 * deadline, so the media thread runs soon after its timer fires even while
 * renderers and the database keep both cores busy. Its share of the CPU
 * does not change. Older kernels refuse the call: nothing else changes. */
static void ask_short_slice(void)
{
    struct {
        uint32_t size, policy;
        uint64_t flags;
        int32_t nice;
        uint32_t priority;
        uint64_t runtime, deadline, period;
    } attr = { .size = 48, .policy = 0 /* SCHED_OTHER */, .runtime = MEDIA_SLICE_NS };
#ifdef SYS_sched_setattr
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0);                /* keep the nice value the daemon runs at */
    if (errno == 0) attr.nice = nice;
    (void)syscall(SYS_sched_setattr, 0, &attr, 0);
#else
    (void)attr;
#endif
}

static void *media_main(void *arg)
{
    struct mfx_media_clock *c = arg;
    ask_short_slice();
    event_base_loop(c->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

/* ---- the owner --------------------------------------------------------- */

/* Runs the queued posts, one at a time, each without the lock (a post may
 * free other objects, which unpost theirs). */
static void on_posted(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct mfx_media_clock *c = arg;
    drain_fd(fd);
    pthread_mutex_lock(&c->lock);
    c->signalled = false;
    for (;;) {
        struct mfx_media_post *p = c->head;
        if (!p) break;
        c->head = p->next;
        if (c->head) c->head->prev = NULL;
        else c->tail = NULL;
        p->next = p->prev = NULL;
        p->queued = false;
        pthread_mutex_unlock(&c->lock);
        p->fn(p->ctx);                                  /* may free p */
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
}

/* ---- public API -------------------------------------------------------- */

struct mfx_media_clock *mfx_media_clock_new(struct event_base *owner, double speed)
{
    struct mfx_media_clock *c = mfx_calloc(1, sizeof *c);
    if (!(speed > 0 && speed <= 1000)) speed = 1;
    pthread_mutex_init(&c->lock, NULL);
    c->speed = speed;
    c->period_ns = (int64_t)(MFX_MEDIA_PERIOD_MS * 1e6 / speed);
    if (c->period_ns < 1000) c->period_ns = 1000;
    c->late_ns = (int64_t)(MFX_MEDIA_LATE_MS * 1e6 / speed);
    c->owner = owner;
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->posted_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->watch_fd = epoll_create1(EPOLL_CLOEXEC);
    /* A timerfd under the timer (libevent otherwise rounds epoll's timeout
     * up to whole milliseconds: up to 1 ms of lateness on every tick). */
    struct event_config *cfg = event_config_new();
    if (!cfg) abort();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    c->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (c->wake_fd < 0 || c->posted_fd < 0 || c->watch_fd < 0 || !c->base) abort();
    c->timer = evtimer_new(c->base, on_timer, c);
    c->wake_ev = event_new(c->base, c->wake_fd, EV_READ | EV_PERSIST, on_wake, c);
    c->posted_ev = event_new(owner, c->posted_fd, EV_READ | EV_PERSIST, on_posted, c);
    if (!c->timer || !c->wake_ev || !c->posted_ev) abort();
    event_add(c->wake_ev, NULL);
    event_add(c->posted_ev, NULL);

    /* Signals stay with the owner's thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, media_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) abort();
    pthread_setname_np(c->thread, "mfx-media");
    return c;
}

void mfx_media_clock_free(struct mfx_media_clock *c)
{
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_mutex_unlock(&c->lock);
    kick(c->wake_fd);
    pthread_join(c->thread, NULL);
    run_retired(take_retired(c));                       /* the media thread is gone: ours now */
    event_free(c->timer);
    event_free(c->wake_ev);
    event_base_free(c->base);
    event_free(c->posted_ev);
    close(c->wake_fd);
    close(c->posted_fd);
    close(c->watch_fd);
    for (size_t i = 0; i < c->n; i++) free(c->ticks[i]);
    free(c->ticks);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

double mfx_media_clock_speed(const struct mfx_media_clock *c)
{
    return c->speed;
}

struct event_base *mfx_media_clock_base(const struct mfx_media_clock *c)
{
    return c->base;
}

void mfx_media_clock_lock(struct mfx_media_clock *c)
{
    pthread_mutex_lock(&c->lock);
}

void mfx_media_clock_unlock(struct mfx_media_clock *c)
{
    pthread_mutex_unlock(&c->lock);
}

struct mfx_media_tick *mfx_media_clock_add(struct mfx_media_clock *c, mfx_media_tick_fn fn, void *ctx)
{
    struct mfx_media_tick *t = mfx_calloc(1, sizeof *t);
    t->fn = fn;
    t->ctx = ctx;
    bool idle = c->n == 0 && !c->running;
    if (c->n == c->alloc) {
        c->alloc = c->alloc ? c->alloc * 2 : 16;
        c->ticks = mfx_realloc(c->ticks, c->alloc * sizeof *c->ticks);
    }
    c->ticks[c->n++] = t;
    if (idle) {
        /* The first tick of a new timeline comes one period from now; the
         * media thread arms its timer (inside a tick, on_timer re-arms). A
         * timer still armed from before fires early once and finds nothing
         * due. */
        c->next_ns = mono_ns() + c->period_ns;
        kick(c->wake_fd);
    }
    return t;
}

void mfx_media_clock_remove(struct mfx_media_clock *c, struct mfx_media_tick *t)
{
    if (!t) return;
    t->removed = true;
    if (c->running) c->dirty = true;
    else compact(c);
    /* The timer is left alone (it belongs to the media thread): with no
     * ticks it fires once more and stays disarmed. */
}

size_t mfx_media_clock_count(const struct mfx_media_clock *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) k += !c->ticks[i]->removed;
    return k;
}

int mfx_media_clock_watch(struct mfx_media_clock *c, int fd, bool *ready)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ready };
    return epoll_ctl(c->watch_fd, EPOLL_CTL_ADD, fd, &ev);
}

void mfx_media_clock_unwatch(struct mfx_media_clock *c, int fd)
{
    epoll_ctl(c->watch_fd, EPOLL_CTL_DEL, fd, NULL);
}

void mfx_media_clock_post(struct mfx_media_clock *c, struct mfx_media_post *p)
{
    if (p->queued) return;
    p->queued = true;
    p->next = NULL;
    p->prev = c->tail;
    if (c->tail) c->tail->next = p;
    else c->head = p;
    c->tail = p;
    if (!c->signalled) {
        c->signalled = true;
        kick(c->posted_fd);
    }
}

void mfx_media_clock_unpost(struct mfx_media_clock *c, struct mfx_media_post *p)
{
    if (!p->queued) return;
    if (p->prev) p->prev->next = p->next;
    else c->head = p->next;
    if (p->next) p->next->prev = p->prev;
    else c->tail = p->prev;
    p->next = p->prev = NULL;
    p->queued = false;
}

void mfx_media_clock_retire(struct mfx_media_clock *c, void (*destroy)(void *obj), void *obj)
{
    struct retired *r = mfx_calloc(1, sizeof *r);
    r->destroy = destroy;
    r->obj = obj;
    r->next = c->retired;
    c->retired = r;
    kick(c->wake_fd);
}

void mfx_media_clock_stats(struct mfx_media_clock *c, struct mfx_media_clock_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->st;
    pthread_mutex_unlock(&c->lock);
}
