/* SPDX-License-Identifier: Apache-2.0
 *
 * render.c: see render.h. A child is started (posix_spawn) with
 *   fd 3 = the document (memfd), fd 4 = the output (memfd), stdout = a pipe
 * and runs `mintfax-render --in /proc/self/fd/3 --out-fd 4 ...`, which sets
 * its own rlimits before touching the input and prints one JSON line. The
 * parent reads that line through libevent, reaps the child, and kills it
 * when the wall-clock limit passes. Its stderr goes to /dev/null: library
 * diagnostics about a document must not reach our logs.
 */
#include "config.h"
#include "mfx.h"
#include "render.h"
#include "log.h"
#include "settings.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define RESULT_MAX 4096
#define RENDER_NICE 10                 /* renderers run below the daemon (see spawn) */

struct job {
    struct job *next, *prev;
    unsigned char *doc;          /* while queued */
    size_t doc_len;
    char *argv_opts[24];         /* owned strings */
    int nopts;
    mfx_render_cb cb;
    void *arg;
    pid_t pid;
    int out_fd, pipe_fd;
    struct event *read_ev, *timer_ev;
    char result[RESULT_MAX];
    size_t result_len;
    bool timed_out, eof;
    bool count_only;
};

static struct event_base *loop;
static char *program;
static struct job *queue_head, *queue_tail;   /* waiting */
static struct job *running;                   /* list of running jobs */
static int nrunning, workers;

int mfx_memfd_from(const char *name, const void *data, size_t len)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) return -1;
    size_t off = 0;
    const unsigned char *p = data;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static void job_free(struct job *j)
{
    free(j->doc);
    for (int i = 0; i < j->nopts; i++) free(j->argv_opts[i]);
    if (j->read_ev) event_free(j->read_ev);
    if (j->timer_ev) event_free(j->timer_ev);
    if (j->pipe_fd >= 0) close(j->pipe_fd);
    if (j->out_fd >= 0) close(j->out_fd);
    free(j);
}

static void unlink_running(struct job *j)
{
    if (j->prev) j->prev->next = j->next;
    else running = j->next;
    if (j->next) j->next->prev = j->prev;
    j->next = j->prev = NULL;
    nrunning--;
}

static void start_next(void);

/* Reaps the child and reports; called once stdout is closed or on timeout. */
static void finish(struct job *j)
{
    int status = 0;
    if (j->pid > 0) {
        if (j->timed_out) kill(j->pid, SIGKILL);
        /* The child closed stdout at exit; a hostile one that did not is killed. */
        if (waitpid(j->pid, &status, WNOHANG) == 0) {
            kill(j->pid, SIGKILL);
            waitpid(j->pid, &status, 0);
        }
    }
    unlink_running(j);
    struct mfx_render_result r = { .out_fd = -1 };
    json_object *o = NULL;
    j->result[j->result_len < RESULT_MAX ? j->result_len : RESULT_MAX - 1] = '\0';
    if (!j->timed_out) o = json_tokener_parse(j->result);
    json_object *v;
    if (j->timed_out) {
        r.error = "document_unreadable";
        r.subcode = "render_timeout";
        r.message = "Rendering the document took longer than allowed.";
    } else if (o && json_object_object_get_ex(o, "ok", &v) && json_object_get_boolean(v)) {
        json_object *pages;
        r.ok = json_object_object_get_ex(o, "pages", &pages) && json_object_get_int(pages) > 0;
        r.pages = r.ok ? json_object_get_int(pages) : 0;
        struct stat sb;
        if (r.ok && j->count_only) {
            /* Only the count was asked for. */
        } else if (r.ok && fstat(j->out_fd, &sb) == 0 && sb.st_size > 0) {
            r.out_len = (size_t)sb.st_size;
            lseek(j->out_fd, 0, SEEK_SET);
            r.out_fd = j->out_fd;
            j->out_fd = -1;                     /* the callback owns it now */
        } else {
            r.ok = false;
            r.error = "document_unreadable";
            r.subcode = "render_no_output";
            r.message = "The renderer reported success but wrote no pages.";
        }
    } else if (o && json_object_object_get_ex(o, "error", &v)) {
        r.error = json_object_get_string(v);
        json_object *m, *reason;
        r.subcode = json_object_object_get_ex(o, "reason", &reason) ? json_object_get_string(reason) : r.error;
        r.message = json_object_object_get_ex(o, "message", &m) ? json_object_get_string(m) : NULL;
    } else {
        r.error = "document_unreadable";
        r.subcode = WIFSIGNALED(status) ? "render_crashed" : "render_failed";
        r.message = WIFSIGNALED(status) ? "The renderer was stopped by a limit (CPU, memory or output size) or crashed on this document."
                                        : "The renderer could not read the document.";
    }
    j->cb(j->arg, &r);
    if (r.out_fd >= 0) close(r.out_fd);      /* the callback duplicated what it kept */
    json_object_put(o);
    job_free(j);
    start_next();
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    struct job *j = arg;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
        size_t room = RESULT_MAX - 1 - j->result_len;
        size_t k = (size_t)n < room ? (size_t)n : room;
        memcpy(j->result + j->result_len, buf, k);
        j->result_len += k;
        return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    finish(j);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    struct job *j = arg;
    j->timed_out = true;
    finish(j);
}

static void fail_now(struct job *j, const char *why)
{
    struct mfx_render_result r = { .out_fd = -1, .error = "document_unreadable", .subcode = "render_unavailable", .message = why };
    j->cb(j->arg, &r);
    job_free(j);
}

/* Forks and execs one child for j. */
static void spawn(struct job *j)
{
    int in_fd = mfx_memfd_from("mintfax-doc", j->doc, j->doc_len);
    free(j->doc);
    j->doc = NULL;
    j->out_fd = memfd_create("mintfax-pages", MFD_CLOEXEC);
    int pfd[2];
    if (in_fd < 0 || j->out_fd < 0 || pipe2(pfd, O_CLOEXEC) != 0) {
        if (in_fd >= 0) close(in_fd);
        fail_now(j, "The renderer could not be started (no memory for its files).");
        return;
    }
    char *argv[40];
    int a = 0;
    argv[a++] = program;
    argv[a++] = (char *)"--in";
    argv[a++] = (char *)"/proc/self/fd/3";
    if (j->count_only) {
        argv[a++] = (char *)"--count-only";
    } else {
        argv[a++] = (char *)"--out-fd";
        argv[a++] = (char *)"4";
    }
    for (int i = 0; i < j->nopts; i++) argv[a++] = j->argv_opts[i];
    argv[a] = NULL;
    /* posix_spawn (vfork underneath): no copy of the daemon's page tables,
     * which matters for a large process and under ASan. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in_fd, 3);
    posix_spawn_file_actions_adddup2(&fa, j->out_fd, 4);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 5);
    pid_t pid = -1;
    int src = posix_spawn(&pid, program, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (src != 0) pid = -1;
    close(in_fd);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        fail_now(j, "The renderer could not be started.");
        return;
    }
    /* Rendering is batch work; calls in progress are not: a renderer yields
     * the CPU to the media thread (media_clock.c) and to the API. The child
     * runs its first microseconds at our priority, which is harmless. */
    setpriority(PRIO_PROCESS, (id_t)pid, RENDER_NICE);
    j->pid = pid;
    j->pipe_fd = pfd[0];
    evutil_make_socket_nonblocking(j->pipe_fd);
    j->read_ev = event_new(loop, j->pipe_fd, EV_READ | EV_PERSIST, on_read, j);
    event_add(j->read_ev, NULL);
    j->timer_ev = evtimer_new(loop, on_timeout, j);
    double s = mfx_cfg.render_timeout;
    struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };
    evtimer_add(j->timer_ev, &tv);
    j->next = running;
    if (running) running->prev = j;
    running = j;
    nrunning++;
}

static void start_next(void)
{
    while (queue_head && nrunning < workers) {
        struct job *j = queue_head;
        queue_head = j->next;
        if (!queue_head) queue_tail = NULL;
        j->next = NULL;
        spawn(j);
    }
}

/* Finds the renderer: [render] program, else beside mintfaxd (installed),
 * else in the build tree. */
static char *find_program(const char *configured)
{
    if (configured && *configured) return mfx_strdup(configured);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        const char *tries[] = { "%s/mintfax-render", "%s/../modules/convert/mintfax-render" };
        for (size_t i = 0; i < MFX_ARRAY_LEN(tries); i++) {
            char *p = mfx_asprintf(tries[i], exe);
            if (access(p, X_OK) == 0) return p;
            free(p);
        }
    }
    return mfx_strdup("mintfax-render");
}

int mfx_render_init(struct event_base *base, const char *render_path)
{
    loop = base;
    program = find_program(render_path);
    workers = (int)mfx_cfg.render_workers;
    if (workers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        workers = n > 0 ? (int)n : 2;
    }
    if (access(program, X_OK) != 0) mfx_warn("render", "renderer %s is not executable; faxes will fail with document_unreadable", program);
    return 0;
}

static void opt(struct job *j, const char *name, const char *value)
{
    if (!value || j->nopts + 2 > (int)MFX_ARRAY_LEN(j->argv_opts)) return;
    j->argv_opts[j->nopts++] = mfx_strdup(name);
    j->argv_opts[j->nopts++] = mfx_strdup(value);
}

void *mfx_render_start(const unsigned char *doc, size_t len, const struct mfx_render_opts *o,
                       mfx_render_cb cb, void *arg)
{
    struct job *j = mfx_calloc(1, sizeof *j);
    j->out_fd = j->pipe_fd = -1;
    j->doc = mfx_malloc(len ? len : 1);
    memcpy(j->doc, doc, len);
    j->doc_len = len;
    j->cb = cb;
    j->arg = arg;
    char num[32];
    j->count_only = o->count_only;
    opt(j, "--resolution", o->resolution);
    opt(j, "--page-size", o->page_size);
    opt(j, "--optimize-for", o->optimize_for);
    if (!o->count_only) opt(j, "--encoding", o->ecm ? "g4" : "g3");
    snprintf(num, sizeof num, "%d", o->max_pages);
    opt(j, "--max-pages", num);
    opt(j, "--cover", o->cover_json);
    snprintf(num, sizeof num, "%.0f", mfx_cfg.render_cpu_seconds);
    opt(j, "--cpu-seconds", num);
    snprintf(num, sizeof num, "%lld", (long long)mfx_cfg.render_max_memory);
    opt(j, "--max-memory", num);
    snprintf(num, sizeof num, "%lld", (long long)mfx_cfg.render_max_output);
    opt(j, "--max-output", num);
    if (queue_tail) queue_tail->next = j;
    else queue_head = j;
    queue_tail = j;
    start_next();
    return j;
}

void mfx_render_cancel(void *handle)
{
    struct job *j = handle;
    /* Queued: unlink it. Running: kill it and drop the result. */
    for (struct job **pp = &queue_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
        if (*pp != j) continue;
        *pp = j->next;
        if (queue_tail == j) queue_tail = prev;
        job_free(j);
        return;
    }
    if (j->pid > 0) {
        kill(j->pid, SIGKILL);
        waitpid(j->pid, NULL, 0);
    }
    unlink_running(j);
    job_free(j);
    start_next();
}

int mfx_render_busy(void)
{
    int n = nrunning;
    for (struct job *j = queue_head; j; j = j->next) n++;
    return n;
}

/* Tells a job's owner that it will not finish: error "shutdown". */
static void tell_shutdown(struct job *j)
{
    struct mfx_render_result r = { .out_fd = -1, .error = "shutdown", .subcode = "shutdown",
                                   .message = "mintfaxd is stopping" };
    j->cb(j->arg, &r);
}

void mfx_render_shutdown(void)
{
    workers = 0;                   /* callbacks must not start new children */
    while (running) {
        struct job *j = running;
        if (j->pid > 0) {
            kill(j->pid, SIGKILL);
            waitpid(j->pid, NULL, 0);
        }
        unlink_running(j);
        tell_shutdown(j);
        job_free(j);
    }
    while (queue_head) {
        struct job *j = queue_head;
        queue_head = j->next;
        tell_shutdown(j);
        job_free(j);
    }
    queue_tail = NULL;
    free(program);
    program = NULL;
}
