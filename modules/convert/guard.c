/* SPDX-License-Identifier: Apache-2.0
 *
 * guard.c: resource limits and the fatal-signal handler (see guard.h).
 * Everything the handler touches is prepared beforehand in static buffers,
 * and it only calls async-signal-safe functions (write, unlink, rmdir,
 * _exit).
 */
#include "config.h"
#include "guard.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define MFX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MFX_ASAN 1
#endif
#endif
#ifndef MFX_ASAN
#define MFX_ASAN 0
#endif

static char tracked_file[PATH_MAX];
static char tracked_dir[PATH_MAX];
static volatile sig_atomic_t tracked_count;
static volatile sig_atomic_t current_page;
static double limit_cpu, limit_wall;
static volatile sig_atomic_t reported;

int mfx_guard_asan(void) { return MFX_ASAN; }

void mfx_guard_track_file(const char *path)
{
    if (!path || strlen(path) >= sizeof tracked_file) {
        tracked_file[0] = '\0';
        return;
    }
    memcpy(tracked_file, path, strlen(path) + 1);
}

void mfx_guard_track_dir(const char *dir, int count)
{
    if (!dir || strlen(dir) + 32 >= sizeof tracked_dir) {
        tracked_dir[0] = '\0';
        tracked_count = 0;
        return;
    }
    memcpy(tracked_dir, dir, strlen(dir) + 1);
    tracked_count = count;
}

void mfx_guard_set_page(int page) { current_page = page; }

void mfx_guard_done(void)
{
    reported = 1;
    alarm(0);
}

/* Appends the decimal form of v to buf at *pos (async-signal-safe). */
static void put_num(char *buf, size_t cap, size_t *pos, long v)
{
    char tmp[24];
    int n = 0;
    if (v < 0)
        v = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < (int)sizeof tmp);
    while (n && *pos + 1 < cap)
        buf[(*pos)++] = tmp[--n];
}

static void put_str(char *buf, size_t cap, size_t *pos, const char *s)
{
    while (*s && *pos + 1 < cap)
        buf[(*pos)++] = *s++;
}

static void cleanup_tracked(void)
{
    if (tracked_file[0])
        unlink(tracked_file);
    if (tracked_dir[0]) {
        char p[PATH_MAX + 32];
        for (long i = 1; i <= tracked_count; i++) {
            size_t pos = 0;
            put_str(p, sizeof p, &pos, tracked_dir);
            put_str(p, sizeof p, &pos, "/page-");
            put_num(p, sizeof p, &pos, i);
            put_str(p, sizeof p, &pos, ".png");
            p[pos] = '\0';
            unlink(p);
        }
        rmdir(tracked_dir);
    }
}

static void on_fatal(int sig)
{
    cleanup_tracked();
    if (reported)
        _exit(3);
    char line[512];
    size_t pos = 0;
    const size_t cap = sizeof line;
    put_str(line, cap, &pos, "{\"ok\":false,\"error\":\"document_unreadable\",\"reason\":\"");
    switch (sig) {
    case SIGXCPU:
        put_str(line, cap, &pos, "cpu_limit\",\"message\":\"rendering used more than ");
        put_num(line, cap, &pos, (long)ceil(limit_cpu));
        put_str(line, cap, &pos, " CPU seconds");
        break;
    case SIGALRM:
        put_str(line, cap, &pos, "time_limit\",\"message\":\"rendering took more than ");
        put_num(line, cap, &pos, (long)ceil(limit_wall));
        put_str(line, cap, &pos, " seconds");
        break;
    default:
        put_str(line, cap, &pos, "crash\",\"message\":\"the renderer stopped (signal ");
        put_num(line, cap, &pos, sig);
        put_str(line, cap, &pos, "): the document is malformed or needs more memory than allowed");
        break;
    }
    if (current_page > 0) {
        put_str(line, cap, &pos, " (page ");
        put_num(line, cap, &pos, current_page);
        put_str(line, cap, &pos, ")\",\"page\":");
        put_num(line, cap, &pos, current_page);
    } else {
        put_str(line, cap, &pos, "\"");
    }
    put_str(line, cap, &pos, "}\n");
    ssize_t w = write(STDOUT_FILENO, line, pos);
    (void)w;
    _exit(3);
}

static int set_limit(int resource, rlim_t soft, rlim_t hard, char *msg, size_t msg_len, const char *what)
{
    struct rlimit cur;
    if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY) {
        /* Never ask above the hard limit we were given. */
        if (hard > cur.rlim_max)
            hard = cur.rlim_max;
        if (soft > hard)
            soft = hard;
    }
    struct rlimit rl = { soft, hard };
    if (setrlimit(resource, &rl) < 0) {
        snprintf(msg, msg_len, "setrlimit(%s): %s", what, strerror(errno));
        return -1;
    }
    return 0;
}

int mfx_guard_apply(const struct mfx_guard_limits *l, char *msg, size_t msg_len)
{
    limit_cpu = l->cpu_seconds;
    limit_wall = l->wall_seconds;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    int fatal[] = { SIGXCPU, SIGALRM, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
    for (size_t i = 0; i < sizeof fatal / sizeof fatal[0]; i++)
        sigaction(fatal[i], &sa, NULL);
    /* Past RLIMIT_FSIZE, write() fails with EFBIG instead of killing us. */
    signal(SIGXFSZ, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    if (set_limit(RLIMIT_CORE, 0, 0, msg, msg_len, "RLIMIT_CORE") < 0)
        return -1;
    if (l->cpu_seconds > 0) {
        rlim_t s = (rlim_t)ceil(l->cpu_seconds);
        /* SIGXCPU at the soft limit; SIGKILL 5 s later if it is ignored. */
        if (set_limit(RLIMIT_CPU, s, s + 5, msg, msg_len, "RLIMIT_CPU") < 0)
            return -1;
    }
    if (l->max_memory > 0 && !MFX_ASAN) {
        if (set_limit(RLIMIT_AS, (rlim_t)l->max_memory, (rlim_t)l->max_memory, msg, msg_len,
                      "RLIMIT_AS") < 0)
            return -1;
    }
    if (l->max_output > 0) {
        /* A little headroom over the budget so our own check (which gives a
         * precise error) runs first; this is the backstop. */
        rlim_t f = (rlim_t)(l->max_output + (1u << 20));
        if (set_limit(RLIMIT_FSIZE, f, f, msg, msg_len, "RLIMIT_FSIZE") < 0)
            return -1;
    }
    if (l->wall_seconds > 0)
        alarm((unsigned)ceil(l->wall_seconds));
    return 0;
}
