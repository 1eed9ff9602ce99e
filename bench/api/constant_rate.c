/* SPDX-License-Identifier: Apache-2.0 */
/*
 * constant_rate.c: the open-loop load generator behind the p99 figure of the
 * API benchmark (bench/api/run). Debian's wrk only runs closed loops (each
 * connection sends its next request when the last answer arrives), which hides
 * queueing: a stall delays the requests that should have been sent during it,
 * and they are never measured ("coordinated omission"). This program sends GET
 * requests on a fixed schedule instead, request k at start + k/rate, over a pool
 * of keep-alive connections, and measures each latency from the moment the
 * request was due, not from when it could be sent, as wrk2 does. Requests due
 * while every connection is busy wait in a queue and their wait counts.
 * It prints one human line and one `key=value` line that bench/api/run reads.
 * Answers may carry a Content-Length or be chunked (evhttp's streamed replies).
 */
#define _GNU_SOURCE   /* memmem */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define MAX_CONNS 256
#define MAX_HEADERS 16

struct gen;

struct conn {
    struct gen *g;
    struct bufferevent *bev;
    bool connected;
    bool busy;
    bool in_body;
    bool chunked;         /* body_left counts the current chunk */
    bool in_trailer;      /* after the last chunk, before the blank line */
    double intended;      /* when the request on the wire was due */
    size_t body_left;
    int status;
    bool close_after;
};

struct gen {
    struct event_base *base;
    struct event *tick;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *request;
    size_t request_len;

    double rate, duration, warmup, drain;
    double start;
    uint64_t issued;          /* requests whose due time has come */
    uint64_t sent;            /* requests written to a connection */
    bool stopped;             /* no more requests are due */

    /* Due times of requests waiting for a free connection (a ring). */
    double *queue;
    size_t qcap, qhead, qlen;

    struct conn conns[MAX_CONNS];
    int nconns;

    double *lat;              /* latencies in seconds of measured requests */
    size_t nlat, latcap;
    double *lag;              /* how late each measured request was written */
    size_t nlag;
    uint64_t non2xx, errors, measured_due;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *msg)
{
    fprintf(stderr, "constant-rate: %s\n", msg);
    exit(1);
}

static void conn_open(struct conn *c);
static void conn_send(struct conn *c, double intended);

/* Hands the oldest waiting request to connection c, if any waits. */
static void conn_take_queued(struct conn *c)
{
    struct gen *g = c->g;
    if (!c->connected || c->busy || g->qlen == 0) return;
    double due = g->queue[g->qhead];
    g->qhead = (g->qhead + 1) % g->qcap;
    g->qlen--;
    conn_send(c, due);
}

static void record(struct gen *g, double intended, double latency)
{
    if (intended < g->start + g->warmup) return;
    if (g->nlat < g->latcap) g->lat[g->nlat++] = latency;
}

static void conn_send(struct conn *c, double intended)
{
    struct gen *g = c->g;
    double t = now_s();
    c->busy = true;
    c->in_body = false;
    c->intended = intended;
    if (intended >= g->start + g->warmup && g->nlag < g->latcap)
        g->lag[g->nlag++] = t - intended;
    g->sent++;
    bufferevent_write(c->bev, g->request, g->request_len);
}

/* Parses the status line and headers (len bytes, ending in CRLF CRLF). */
static int parse_head(struct conn *c, const char *h, size_t len)
{
    if (len < 12 || strncmp(h, "HTTP/1.", 7)) return -1;
    c->status = atoi(h + 9);
    c->body_left = 0;
    c->chunked = false;
    c->in_trailer = false;
    c->close_after = h[7] == '0';
    bool have_length = false;
    const char *p = memchr(h, '\n', len), *end = h + len;
    while (p && ++p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        if (!strncasecmp(p, "Content-Length:", 15)) {
            c->body_left = (size_t)strtoull(p + 15, NULL, 10);
            have_length = true;
        } else if (!strncasecmp(p, "Transfer-Encoding:", 18)) {
            c->chunked = memmem(p, (size_t)(eol - p), "chunked", 7) != NULL;
            if (c->chunked) have_length = true;
        } else if (!strncasecmp(p, "Connection:", 11)) {
            const char *v = p + 11;
            while (*v == ' ') v++;
            if (!strncasecmp(v, "close", 5)) c->close_after = true;
        }
        p = eol;
    }
    return have_length ? 0 : -1;
}

static void conn_reset(struct conn *c)
{
    if (c->bev) bufferevent_free(c->bev);
    c->bev = NULL;
    c->connected = false;
    c->busy = false;
    if (!c->g->stopped) conn_open(c);
}

static void finish(struct conn *c)
{
    struct gen *g = c->g;
    double t = now_s();
    record(g, c->intended, t - c->intended);
    if (c->status < 200 || c->status > 299) g->non2xx++;
    c->busy = false;
    if (c->close_after) conn_reset(c);
    else conn_take_queued(c);
}

/* Consumes a chunked body (RFC 9112 §7.1) as far as the input goes; returns
 * 1 when the whole body with its trailer is in, 0 when more is needed, -1 on
 * a malformed one. body_left is what remains of the current chunk plus its
 * CRLF, 0 between chunks. */
static int read_chunks(struct conn *c, struct evbuffer *in)
{
    for (;;) {
        if (c->body_left) {
            size_t have = evbuffer_get_length(in);
            size_t take = have < c->body_left ? have : c->body_left;
            evbuffer_drain(in, take);
            c->body_left -= take;
            if (c->body_left) return 0;
        }
        size_t n;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
        if (!line) return evbuffer_get_length(in) > 4096 ? -1 : 0;
        if (c->in_trailer) {
            free(line);
            if (n == 0) return 1;   /* the blank line that ends the message */
            continue;
        }
        char *end;
        unsigned long long size = strtoull(line, &end, 16);
        int bad = end == line || (*end && *end != ';');
        free(line);
        if (bad) return -1;
        if (size == 0) c->in_trailer = true;
        else c->body_left = (size_t)size + 2;
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct conn *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        if (!c->busy) {   /* bytes nobody asked for */
            c->g->errors++;
            conn_reset(c);
            return;
        }
        if (!c->in_body) {
            struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (pos.pos < 0) return;
            size_t hlen = (size_t)pos.pos + 4;
            const char *h = (const char *)evbuffer_pullup(in, (ev_ssize_t)hlen);
            if (parse_head(c, h, hlen) < 0) {
                c->g->errors++;
                conn_reset(c);
                return;
            }
            evbuffer_drain(in, hlen);
            c->in_body = true;
        }
        if (c->chunked) {
            int r = read_chunks(c, in);
            if (r < 0) {
                c->g->errors++;
                conn_reset(c);
                return;
            }
            if (r == 0) return;
        } else {
            if (evbuffer_get_length(in) < c->body_left) return;
            evbuffer_drain(in, c->body_left);
        }
        finish(c);
        if (c->bev != bev || evbuffer_get_length(in) == 0) return;   /* reset, or drained */
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct conn *c = arg;
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->connected = true;
        conn_take_queued(c);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (c->busy || !c->connected) c->g->errors++;
        conn_reset(c);
    }
}

static void conn_open(struct conn *c)
{
    struct gen *g = c->g;
    c->bev = bufferevent_socket_new(g->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) die("bufferevent_socket_new failed");
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&g->addr, (int)g->addrlen) < 0) {
        g->errors++;
        bufferevent_free(c->bev);
        c->bev = NULL;
    }
}

static bool all_idle(const struct gen *g)
{
    if (g->qlen) return false;
    for (int i = 0; i < g->nconns; i++)
        if (g->conns[i].busy) return false;
    return true;
}

/* Sends every request that has come due, then sleeps until the next one. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct gen *g = arg;
    (void)fd;
    (void)what;
    double t = now_s();
    double end = g->start + g->warmup + g->duration;

    if (!g->stopped) {
        for (;;) {
            double due = g->start + (double)g->issued / g->rate;
            if (due > t || due >= end) break;
            g->issued++;
            if (due >= g->start + g->warmup) g->measured_due++;
            struct conn *idle = NULL;
            for (int i = 0; i < g->nconns && !idle; i++)
                if (g->conns[i].connected && !g->conns[i].busy) idle = &g->conns[i];
            if (idle && g->qlen == 0) {
                conn_send(idle, due);
            } else {
                if (g->qlen == g->qcap) die("request queue overflow: the server is far too slow");
                g->queue[(g->qhead + g->qlen) % g->qcap] = due;
                g->qlen++;
            }
        }
        if (g->start + (double)g->issued / g->rate >= end) g->stopped = true;
    }
    if (g->stopped && (all_idle(g) || t > end + g->drain)) {
        event_base_loopbreak(g->base);
        return;
    }
    double next = g->stopped ? t + 0.01 : g->start + (double)g->issued / g->rate;
    double wait = next - now_s();
    if (wait < 0) wait = 0;
    struct timeval tv = { (time_t)wait, (suseconds_t)((wait - floor(wait)) * 1e6) };
    evtimer_add(g->tick, &tv);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The p-quantile (0 < p <= 1) of a sorted array, nearest-rank. */
static double quantile(const double *v, size_t n, double p)
{
    if (n == 0) return NAN;
    size_t k = (size_t)ceil(p * (double)n);
    if (k < 1) k = 1;
    return v[k - 1];
}

static void parse_url(struct gen *g, const char *url, char *hostport, size_t hpsz, const char **path)
{
    if (strncmp(url, "http://", 7)) die("--url must start with http://");
    const char *hp = url + 7;
    const char *slash = strchr(hp, '/');
    *path = slash ? slash : "/";
    size_t n = slash ? (size_t)(slash - hp) : strlen(hp);
    if (n == 0 || n >= hpsz) die("bad host in --url");
    memcpy(hostport, hp, n);
    hostport[n] = '\0';

    char host[256];
    const char *colon = strrchr(hostport, ':');
    const char *port = colon ? colon + 1 : "80";
    size_t hl = colon ? (size_t)(colon - hostport) : n;
    if (hl >= sizeof host) die("bad host in --url");
    memcpy(host, hostport, hl);
    host[hl] = '\0';

    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res;
    if (getaddrinfo(host, port, &hints, &res) != 0) die("cannot resolve the --url host");
    memcpy(&g->addr, res->ai_addr, res->ai_addrlen);
    g->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: constant-rate --url http://HOST:PORT/PATH --rate N [--duration S]\n"
            "                     [--warmup S] [--connections N] [--header 'Name: value']...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct gen gen;
    struct gen *g = &gen;
    const char *url = NULL, *headers[MAX_HEADERS];
    int nheaders = 0;
    g->rate = 500;
    g->duration = 10;
    g->warmup = 1;
    g->drain = 2;
    g->nconns = 16;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        if (!strcmp(a, "--url")) url = argv[++i];
        else if (!strcmp(a, "--rate")) g->rate = atof(argv[++i]);
        else if (!strcmp(a, "--duration")) g->duration = atof(argv[++i]);
        else if (!strcmp(a, "--warmup")) g->warmup = atof(argv[++i]);
        else if (!strcmp(a, "--connections")) g->nconns = atoi(argv[++i]);
        else if (!strcmp(a, "--header") && nheaders < MAX_HEADERS) headers[nheaders++] = argv[++i];
        else usage();
    }
    if (!url || g->rate <= 0 || g->rate > 1e6 || g->duration <= 0 || g->duration > 600 ||
        g->warmup < 0 || g->warmup > 60 || g->nconns < 1 || g->nconns > MAX_CONNS)
        usage();

    char hostport[300];
    const char *path;
    parse_url(g, url, hostport, sizeof hostport, &path);

    size_t cap = strlen(path) + strlen(hostport) + 64;
    for (int i = 0; i < nheaders; i++) cap += strlen(headers[i]) + 2;
    g->request = malloc(cap);
    if (!g->request) die("out of memory");
    int n = snprintf(g->request, cap, "GET %s HTTP/1.1\r\nHost: %s\r\n", path, hostport);
    for (int i = 0; i < nheaders; i++)
        n += snprintf(g->request + n, cap - (size_t)n, "%s\r\n", headers[i]);
    n += snprintf(g->request + n, cap - (size_t)n, "\r\n");
    g->request_len = (size_t)n;

    g->latcap = (size_t)(g->rate * g->duration) + 16;
    g->lat = calloc(g->latcap, sizeof *g->lat);
    g->lag = calloc(g->latcap, sizeof *g->lag);
    g->qcap = (size_t)(g->rate * (g->duration + g->warmup)) + 16;
    g->queue = calloc(g->qcap, sizeof *g->queue);
    if (!g->lat || !g->lag || !g->queue) die("out of memory");

    signal(SIGPIPE, SIG_IGN);
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    g->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!g->base) die("event_base_new failed");

    for (int i = 0; i < g->nconns; i++) {
        g->conns[i].g = g;
        conn_open(&g->conns[i]);
    }
    /* Let the pool connect before the clock starts. */
    struct timeval settle = { 0, 200000 };
    event_base_loopexit(g->base, &settle);
    event_base_dispatch(g->base);
    int up = 0;
    for (int i = 0; i < g->nconns; i++) up += g->conns[i].connected;
    if (up == 0) die("no connection could be opened");

    g->tick = evtimer_new(g->base, on_tick, g);
    g->start = now_s();
    struct timeval zero = { 0, 0 };
    evtimer_add(g->tick, &zero);
    event_base_dispatch(g->base);

    uint64_t unanswered = g->measured_due - g->nlat;
    qsort(g->lat, g->nlat, sizeof *g->lat, cmp_double);
    qsort(g->lag, g->nlag, sizeof *g->lag, cmp_double);
    double achieved = (double)g->nlat / g->duration;
    double p50 = quantile(g->lat, g->nlat, 0.50) * 1e3;
    double p90 = quantile(g->lat, g->nlat, 0.90) * 1e3;
    double p99 = quantile(g->lat, g->nlat, 0.99) * 1e3;
    double p999 = quantile(g->lat, g->nlat, 0.999) * 1e3;
    double max = g->nlat ? g->lat[g->nlat - 1] * 1e3 : NAN;
    double lag99 = quantile(g->lag, g->nlag, 0.99) * 1e3;

    printf("constant-rate: %s at %.0f req/s for %.0f s (+%.0f s warm-up), %d connections: "
           "%zu answered (%.1f/s), p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, "
           "max %.3f ms; non-2xx %llu, errors %llu, unanswered %llu; "
           "due-to-written lag p99 %.3f ms\n",
           url, g->rate, g->duration, g->warmup, g->nconns, g->nlat, achieved,
           p50, p90, p99, p999, max, (unsigned long long)g->non2xx,
           (unsigned long long)g->errors, (unsigned long long)unanswered, lag99);
    printf("RESULT answered=%zu rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
           "max_ms=%.3f non2xx=%llu errors=%llu unanswered=%llu lag_p99_ms=%.3f\n",
           g->nlat, achieved, p50, p90, p99, p999, max, (unsigned long long)g->non2xx,
           (unsigned long long)g->errors, (unsigned long long)unanswered, lag99);

    for (int i = 0; i < g->nconns; i++)
        if (g->conns[i].bev) bufferevent_free(g->conns[i].bev);
    event_free(g->tick);
    event_base_free(g->base);
    free(g->request);
    free(g->lat);
    free(g->lag);
    free(g->queue);
    return (g->errors || unanswered || g->non2xx) ? 3 : 0;
}
