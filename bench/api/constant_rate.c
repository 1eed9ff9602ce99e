/* SPDX-License-Identifier: Apache-2.0 */
/*
 * constant_rate.c: the open-loop load generator of the benchmarks: the p99
 * figure of the API benchmark (bench/api/run, GET) and the events of the
 * webhook benchmark (bench/webhooks/run, POST with --body). Debian's wrk only
 * runs closed loops (each connection sends its next request when the last
 * answer arrives), which hides queueing: a stall delays the requests that
 * should have been sent during it, and they are never measured ("coordinated
 * omission"). This program sends requests on a fixed schedule instead, request
 * k (k = --first, --first + 1, ...) at start + (k - first)/rate, over a pool of
 * keep-alive connections, and measures each latency from the moment the
 * request was due, not from when it could be sent, as wrk2 does. Requests due
 * while every connection is busy wait in a queue and their wait counts.
 * Answers may carry a Content-Length or be chunked (evhttp's streamed replies).
 *
 * Without --body it sends GETs; with --body it sends POSTs of that JSON body.
 * Every request can be its own: "{k}" in --body and in --header values is
 * replaced with k, so each POST can carry a unique top-up amount or
 * Idempotency-Key. For every request it keeps when it was due, written and
 * answered, the answer's status, and (with --key) the first value after the
 * --key text in the answer's body (e.g. a fax id); --dump writes them, one
 * line each, in CLOCK_REALTIME microseconds: "k due_us written_us answered_us
 * status key". bench/webhooks/run matches those lines with the receiver's
 * records: the state change was committed after "written" and before
 * "answered" (mintfaxd answers only after the commit), so that pair brackets
 * the commit.
 *
 * It prints one human line and one `key=value` line that the scripts read;
 * with --body both keep the format of the former post-rate program (the human
 * line starts with "post-rate:").
 */
#define _GNU_SOURCE   /* memmem */
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
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
#define KEY_MAX 48

struct req {
    double due, written, answered;     /* CLOCK_MONOTONIC seconds, 0 if not yet */
    int64_t written_us, answered_us;   /* CLOCK_REALTIME microseconds, for --dump */
    int status;
};

struct gen;

struct conn {
    struct gen *g;
    struct bufferevent *bev;
    struct evbuffer *body;   /* the answer's body so far (only with --key) */
    bool connected;
    bool busy;
    bool in_body;
    bool chunked;            /* body_left counts the current chunk */
    bool in_trailer;         /* after the last chunk, before the blank line */
    bool close_after;
    size_t body_left;
    int status;
    size_t idx;              /* the request on the wire */
};

struct gen {
    struct event_base *base;
    struct event *tick;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *name;        /* "constant-rate", or "post-rate" with --body */
    const char *path, *body_tmpl, *key;
    char hostport[300];
    const char *headers[MAX_HEADERS];
    int nheaders;

    double rate, duration, warmup, drain;
    double start;             /* CLOCK_MONOTONIC */
    int64_t start_real_us;    /* CLOCK_REALTIME at the same moment */
    long long first;
    size_t issued;            /* requests whose due time has come */
    bool stopped;             /* no more requests are due */

    /* Indexes of requests waiting for a free connection (a ring). */
    size_t *queue;
    size_t qcap, qhead, qlen;

    struct conn conns[MAX_CONNS];
    int nconns;

    struct req *reqs;
    char (*keys)[KEY_MAX];    /* with --key */
    size_t nreqs;
    uint64_t non2xx, errors;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *prog = "constant-rate";

static void die(const char *msg)
{
    fprintf(stderr, "%s: %s\n", prog, msg);
    exit(1);
}

static void conn_open(struct conn *c);
static void conn_send(struct conn *c, size_t idx);

/* Appends text to out with every "{k}" replaced by k. */
static void add_subst(struct evbuffer *out, const char *text, long long k)
{
    const char *p;
    while ((p = strstr(text, "{k}"))) {
        evbuffer_add(out, text, (size_t)(p - text));
        evbuffer_add_printf(out, "%lld", k);
        text = p + 3;
    }
    evbuffer_add(out, text, strlen(text));
}

/* Hands the oldest waiting request to connection c, if any waits. */
static void conn_take_queued(struct conn *c)
{
    struct gen *g = c->g;
    if (!c->connected || c->busy || g->qlen == 0) return;
    size_t idx = g->queue[g->qhead];
    g->qhead = (g->qhead + 1) % g->qcap;
    g->qlen--;
    conn_send(c, idx);
}

static void conn_send(struct conn *c, size_t idx)
{
    struct gen *g = c->g;
    long long k = g->first + (long long)idx;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (g->body_tmpl) {
        struct evbuffer *body = evbuffer_new();
        if (!body) die("out of memory");
        add_subst(body, g->body_tmpl, k);
        evbuffer_add_printf(out, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n",
                            g->path, g->hostport);
        for (int i = 0; i < g->nheaders; i++) {
            add_subst(out, g->headers[i], k);
            evbuffer_add(out, "\r\n", 2);
        }
        evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", evbuffer_get_length(body));
        evbuffer_add_buffer(out, body);
        evbuffer_free(body);
    } else {
        evbuffer_add_printf(out, "GET %s HTTP/1.1\r\nHost: %s\r\n", g->path, g->hostport);
        for (int i = 0; i < g->nheaders; i++) {
            add_subst(out, g->headers[i], k);
            evbuffer_add(out, "\r\n", 2);
        }
        evbuffer_add(out, "\r\n", 2);
    }
    c->busy = true;
    c->in_body = false;
    c->idx = idx;
    if (c->body) evbuffer_drain(c->body, evbuffer_get_length(c->body));
    g->reqs[idx].written = now_s();
    g->reqs[idx].written_us = realtime_us();
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

/* The first value after the --key text in the body: a string's text or a token. */
static void take_key(struct gen *g, struct conn *c, char *dst)
{
    strcpy(dst, "-");
    size_t len = evbuffer_get_length(c->body), kl = strlen(g->key);
    if (!len) return;
    const char *b = (const char *)evbuffer_pullup(c->body, -1), *end = b + len;
    const char *p = memmem(b, len, g->key, kl);
    if (!p) return;
    p += kl;
    while (p < end && *p == ' ') p++;
    if (p < end && *p == '"') p++;
    const char *q = p;
    while (q < end && *q != '"' && *q != ',' && *q != '}' && *q != ' ' && q - p < KEY_MAX - 1) q++;
    if (q > p) {
        memcpy(dst, p, (size_t)(q - p));
        dst[q - p] = '\0';
    }
}

static void finish(struct conn *c)
{
    struct gen *g = c->g;
    struct req *r = &g->reqs[c->idx];
    r->answered = now_s();
    r->answered_us = realtime_us();
    r->status = c->status;
    if (g->keys) take_key(g, c, g->keys[c->idx]);
    if (c->status < 200 || c->status > 299) g->non2xx++;
    c->busy = false;
    if (c->close_after) conn_reset(c);
    else conn_take_queued(c);
}

/* Keeps n bytes of the answer's body (for --key) or drops them. */
static void take_body(struct conn *c, struct evbuffer *in, size_t n)
{
    if (c->body) evbuffer_remove_buffer(in, c->body, n);
    else evbuffer_drain(in, n);
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
            size_t data = c->body_left > 2 ? c->body_left - 2 : 0;   /* the chunk's CRLF is not data */
            take_body(c, in, take < data ? take : data);
            if (take > data) evbuffer_drain(in, take - data);
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
            take_body(c, in, c->body_left);
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
            if (due > t || g->issued >= g->nreqs) break;
            size_t idx = g->issued++;
            g->reqs[idx].due = due;
            struct conn *idle = NULL;
            for (int i = 0; i < g->nconns && !idle; i++)
                if (g->conns[i].connected && !g->conns[i].busy) idle = &g->conns[i];
            if (idle && g->qlen == 0) {
                conn_send(idle, idx);
            } else {
                if (g->qlen == g->qcap) die("request queue overflow: the server is far too slow");
                g->queue[(g->qhead + g->qlen) % g->qcap] = idx;
                g->qlen++;
            }
        }
        if (g->issued >= g->nreqs) g->stopped = true;
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

static void parse_url(struct gen *g, const char *url)
{
    if (strncmp(url, "http://", 7)) die("--url must start with http://");
    const char *hp = url + 7;
    const char *slash = strchr(hp, '/');
    g->path = slash ? slash : "/";
    size_t n = slash ? (size_t)(slash - hp) : strlen(hp);
    if (n == 0 || n >= sizeof g->hostport) die("bad host in --url");
    memcpy(g->hostport, hp, n);
    g->hostport[n] = '\0';

    char host[256];
    const char *colon = strrchr(g->hostport, ':');
    const char *port = colon ? colon + 1 : "80";
    size_t hl = colon ? (size_t)(colon - g->hostport) : n;
    if (hl >= sizeof host) die("bad host in --url");
    memcpy(host, g->hostport, hl);
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
            "usage: constant-rate --url http://HOST:PORT/PATH [--rate N] [--duration S] [--warmup S]\n"
            "                     [--connections N] [--header 'Name: value {k}']... [--first K]\n"
            "                     [--body 'JSON with {k}'] [--drain S] [--key TEXT] [--dump FILE]\n"
            "Without --body: GETs; defaults --rate 500, --warmup 1, --drain 2.\n"
            "With --body: POSTs, output as post-rate; defaults --rate 200, --warmup 0, --drain 5.\n"
            "(--drain: how long to wait for answers after the last request is due)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct gen gen;
    struct gen *g = &gen;
    const char *url = NULL, *dump = NULL;
    g->rate = g->warmup = g->drain = -1;   /* defaults depend on --body */
    g->duration = 10;
    g->nconns = 16;
    g->first = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        if (!strcmp(a, "--url")) url = argv[++i];
        else if (!strcmp(a, "--rate")) g->rate = atof(argv[++i]);
        else if (!strcmp(a, "--duration")) g->duration = atof(argv[++i]);
        else if (!strcmp(a, "--warmup")) g->warmup = atof(argv[++i]);
        else if (!strcmp(a, "--first")) g->first = atoll(argv[++i]);
        else if (!strcmp(a, "--drain")) g->drain = atof(argv[++i]);
        else if (!strcmp(a, "--connections")) g->nconns = atoi(argv[++i]);
        else if (!strcmp(a, "--body")) g->body_tmpl = argv[++i];
        else if (!strcmp(a, "--key")) g->key = argv[++i];
        else if (!strcmp(a, "--dump")) dump = argv[++i];
        else if (!strcmp(a, "--header") && g->nheaders < MAX_HEADERS) g->headers[g->nheaders++] = argv[++i];
        else usage();
    }
    bool post = g->body_tmpl != NULL;
    if (post) prog = "post-rate";
    if (g->rate == -1) g->rate = post ? 200 : 500;
    if (g->warmup == -1) g->warmup = post ? 0 : 1;
    if (g->drain == -1) g->drain = post ? 5 : 2;
    if (!url || g->rate <= 0 || g->rate > 1e6 || g->duration <= 0 || g->duration > 600 ||
        g->warmup < 0 || g->warmup > 60 || g->drain < 0 || g->drain > 600 ||
        g->nconns < 1 || g->nconns > MAX_CONNS)
        usage();
    parse_url(g, url);

    g->nreqs = (size_t)llround(g->rate * (g->warmup + g->duration));
    if (g->nreqs == 0) usage();
    g->reqs = calloc(g->nreqs, sizeof *g->reqs);
    if (g->key) g->keys = calloc(g->nreqs, sizeof *g->keys);
    g->qcap = g->nreqs + 1;
    g->queue = calloc(g->qcap, sizeof *g->queue);
    if (!g->reqs || !g->queue || (g->key && !g->keys)) die("out of memory");

    signal(SIGPIPE, SIG_IGN);
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    g->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!g->base) die("event_base_new failed");

    for (int i = 0; i < g->nconns; i++) {
        g->conns[i].g = g;
        if (g->key) {
            g->conns[i].body = evbuffer_new();
            if (!g->conns[i].body) die("out of memory");
        }
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
    g->start_real_us = realtime_us();
    struct timeval zero = { 0, 0 };
    evtimer_add(g->tick, &zero);
    event_base_dispatch(g->base);

    /* Latency (due to answered) and write lag (due to written) in ms of the
     * requests due after the warm-up. */
    double *lat = calloc(g->nreqs, sizeof *lat), *lag = calloc(g->nreqs, sizeof *lag);
    if (!lat || !lag) die("out of memory");
    size_t nlat = 0, nlag = 0, measured = 0;
    for (size_t i = 0; i < g->issued; i++) {
        const struct req *r = &g->reqs[i];
        if (r->due < g->start + g->warmup) continue;
        measured++;
        if (r->written) lag[nlag++] = (r->written - r->due) * 1e3;
        if (r->answered) lat[nlat++] = (r->answered - r->due) * 1e3;
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    qsort(lag, nlag, sizeof *lag, cmp_double);
    size_t unanswered = measured - nlat;
    double p50 = quantile(lat, nlat, 0.50), p99 = quantile(lat, nlat, 0.99);
    double max = nlat ? lat[nlat - 1] : NAN, lag99 = quantile(lag, nlag, 0.99);

    if (post) {
        printf("post-rate: %s at %.0f req/s for %.0f s, %d connections: %zu answered, API latency p50 %.3f ms "
               "p99 %.3f ms max %.3f ms; non-2xx %llu, errors %llu, unanswered %zu; due-to-written lag p99 %.3f ms\n",
               url, g->rate, g->duration, g->nconns, nlat, p50, p99, max, (unsigned long long)g->non2xx,
               (unsigned long long)g->errors, unanswered, lag99);
        printf("RESULT answered=%zu p50_ms=%.3f p99_ms=%.3f non2xx=%llu errors=%llu unanswered=%zu lag_p99_ms=%.3f\n",
               nlat, p50, p99, (unsigned long long)g->non2xx, (unsigned long long)g->errors, unanswered, lag99);
    } else {
        double achieved = (double)nlat / g->duration;
        double p90 = quantile(lat, nlat, 0.90), p999 = quantile(lat, nlat, 0.999);
        printf("constant-rate: %s at %.0f req/s for %.0f s (+%.0f s warm-up), %d connections: "
               "%zu answered (%.1f/s), p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, "
               "max %.3f ms; non-2xx %llu, errors %llu, unanswered %zu; "
               "due-to-written lag p99 %.3f ms\n",
               url, g->rate, g->duration, g->warmup, g->nconns, nlat, achieved,
               p50, p90, p99, p999, max, (unsigned long long)g->non2xx,
               (unsigned long long)g->errors, unanswered, lag99);
        printf("RESULT answered=%zu rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f "
               "max_ms=%.3f non2xx=%llu errors=%llu unanswered=%zu lag_p99_ms=%.3f\n",
               nlat, achieved, p50, p90, p99, p999, max, (unsigned long long)g->non2xx,
               (unsigned long long)g->errors, unanswered, lag99);
    }
    if (dump) {
        FILE *f = fopen(dump, "w");
        if (!f) die("cannot write --dump");
        for (size_t i = 0; i < g->nreqs; i++) {
            const struct req *r = &g->reqs[i];
            long long due_us = r->due ? (long long)(g->start_real_us + llround((r->due - g->start) * 1e6)) : 0;
            fprintf(f, "%lld %lld %lld %lld %d %s\n", g->first + (long long)i, due_us,
                    (long long)r->written_us, (long long)r->answered_us, r->status,
                    g->keys && g->keys[i][0] ? g->keys[i] : "-");
        }
        fclose(f);
    }

    for (int i = 0; i < g->nconns; i++) {
        if (g->conns[i].bev) bufferevent_free(g->conns[i].bev);
        if (g->conns[i].body) evbuffer_free(g->conns[i].body);
    }
    event_free(g->tick);
    event_base_free(g->base);
    free(lat);
    free(lag);
    free(g->reqs);
    free(g->keys);
    free(g->queue);
    return (g->errors || unanswered || g->non2xx) ? 3 : 0;
}
