/* SPDX-License-Identifier: Apache-2.0
 *
 * udp_floor.c: what the kernel alone charges a process for the datagrams
 * of N media legs on loopback, with no DSP and no protocol around them: the
 * floor under bench/channels' "daemon us/ch-s". Two processes, N socket
 * pairs on 127.0.0.1: side A (timed; it stands for mintfaxd) and side B (the
 * peer). Each ticks every 20 ms on an absolute timeline (B 10 ms out of
 * phase), sends its due datagrams with sendto() on unconnected sockets and
 * reads the way a mintfax leg does: `--rx poll` asks every socket with one
 * recvmmsg per tick (audio_fax.c), `--rx watch` asks one epoll set with
 * timeout 0 and reads the ready sockets (t38_fax.c). A's CPU time
 * (CLOCK_PROCESS_CPUTIME_ID: on loopback it includes delivering A's
 * datagrams into B's sockets) divided by N x seconds is the floor.
 *
 *   udp-floor -n 200 --a-rate 50 --b-rate 50 --size 172 --rx poll   # G.711
 *   udp-floor -n 500 --a-rate 19 --b-rate 3 --size 120 --rx watch   # T.38
 *
 * Prints one line: floor_us_per_ch_s=F sent=S received=R seconds=D.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 20000000LL
#define BATCH 4

struct side {
    int n, *fd;
    struct sockaddr_in *to;                 /* the other side's socket i */
    double rate, credit;                    /* datagrams per socket per second */
    size_t size;
    bool watch;
    int ep;
    uint64_t sent, received;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = { (time_t)(t / 1000000000), (long)(t % 1000000000) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static void read_socket(struct side *s, int fd)
{
    static uint8_t buf[BATCH][2048];
    struct mmsghdr m[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){ buf[i], sizeof buf[i] };
        m[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int got;
    while ((got = recvmmsg(fd, m, BATCH, MSG_DONTWAIT, NULL)) > 0) {
        s->received += (uint64_t)got;
        if (got < BATCH) break;
    }
}

/* One tick of one side: its sends (the rate spread evenly over the
 * sockets, in turn), then its reads. */
static void tick(struct side *s, int *next_sender)
{
    static uint8_t payload[2048];
    s->credit += s->rate * s->n * (TICK_NS / 1e9);
    int k = (int)s->credit;
    s->credit -= k;
    for (int j = 0; j < k; j++) {
        int i = (*next_sender)++ % s->n;
        if (sendto(s->fd[i], payload, s->size, 0, (struct sockaddr *)&s->to[i], sizeof s->to[i]) > 0) s->sent++;
    }
    if (s->watch) {
        struct epoll_event ev[256];
        int r;
        do {
            r = epoll_wait(s->ep, ev, 256, 0);
            for (int i = 0; i < r; i++) read_socket(s, ev[i].data.fd);
        } while (r == 256);
    } else {
        for (int i = 0; i < s->n; i++) read_socket(s, s->fd[i]);
    }
}

static int open_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        perror("udp-floor: socket");
        exit(2);
    }
    *addr = a;
    return fd;
}

int main(int argc, char **argv)
{
    int n = 200;
    double seconds = 5, a_rate = 50, b_rate = 50;
    size_t size = 172;
    bool watch = false;
    static const struct option opts[] = {
        { "a-rate", required_argument, NULL, 'a' }, { "b-rate", required_argument, NULL, 'b' },
        { "size", required_argument, NULL, 's' }, { "rx", required_argument, NULL, 'r' },
        { NULL, 0, NULL, 0 },
    };
    for (int c; (c = getopt_long(argc, argv, "n:d:", opts, NULL)) != -1;) {
        switch (c) {
        case 'n': n = atoi(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'a': a_rate = atof(optarg); break;
        case 'b': b_rate = atof(optarg); break;
        case 's': size = (size_t)atol(optarg); break;
        case 'r': watch = strcmp(optarg, "watch") == 0; break;
        default:
            fprintf(stderr, "usage: udp-floor [-n N] [-d SECONDS] [--a-rate PPS] [--b-rate PPS] [--size BYTES] "
                            "[--rx poll|watch]\n");
            return 2;
        }
    }
    if (n < 1 || n > 5000 || seconds <= 0 || size < 1 || size > 1400) {
        fprintf(stderr, "udp-floor: out of range\n");
        return 2;
    }
    struct rlimit rl = { (rlim_t)(2 * n + 64), (rlim_t)(2 * n + 64) };
    struct rlimit cur;
    if (getrlimit(RLIMIT_NOFILE, &cur) == 0 && cur.rlim_cur < rl.rlim_cur) setrlimit(RLIMIT_NOFILE, &rl);

    struct side a = { .n = n, .rate = a_rate, .size = size, .watch = watch };
    struct side b = { .n = n, .rate = b_rate, .size = size, .watch = watch };
    struct sockaddr_in *addr_a = calloc((size_t)n, sizeof *addr_a), *addr_b = calloc((size_t)n, sizeof *addr_b);
    a.fd = calloc((size_t)n, sizeof *a.fd);
    b.fd = calloc((size_t)n, sizeof *b.fd);
    for (int i = 0; i < n; i++) {
        a.fd[i] = open_socket(&addr_a[i]);
        b.fd[i] = open_socket(&addr_b[i]);
    }
    a.to = addr_b;
    b.to = addr_a;

    int64_t start = mono_ns() + 100000000, warm = 500000000, span = (int64_t)(seconds * 1e9);
    pid_t child = fork();
    if (child < 0) {
        perror("udp-floor: fork");
        return 2;
    }
    struct side *me = child == 0 ? &b : &a;
    me->ep = epoll_create1(EPOLL_CLOEXEC);
    for (int i = 0; i < n && me->watch; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = me->fd[i] };
        epoll_ctl(me->ep, EPOLL_CTL_ADD, me->fd[i], &ev);
    }
    int64_t t = start + (child == 0 ? TICK_NS / 2 : 0), end = start + warm + span + TICK_NS;
    int64_t cpu0 = 0;
    uint64_t sent0 = 0, recv0 = 0;
    bool measuring = false;
    int next_sender = 0, measured_ticks = 0;
    for (; t < end; t += TICK_NS) {
        sleep_until(t);
        if (!measuring && t >= start + warm) {
            measuring = true;
            cpu0 = cpu_ns();
            sent0 = me->sent;
            recv0 = me->received;
        }
        tick(me, &next_sender);
        measured_ticks += measuring;
    }
    if (child == 0) _exit(0);
    int64_t cpu = cpu_ns() - cpu0;
    waitpid(child, NULL, 0);
    double secs = measured_ticks * (TICK_NS / 1e9);
    printf("floor_us_per_ch_s=%.1f sent=%llu received=%llu seconds=%.2f\n", cpu / 1e3 / n / secs,
           (unsigned long long)(a.sent - sent0), (unsigned long long)(a.received - recv0), secs);
    return 0;
}
