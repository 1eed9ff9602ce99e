/* SPDX-License-Identifier: Apache-2.0 */
/*
 * post_rate.c: the open-loop POST generator of the webhook benchmark
 * (bench/webhooks/run). Request k (k = --first, --first + 1, ...) is due at
 * start + (k - first)/rate whatever the server does, goes out on a free
 * keep-alive connection of a fixed pool, or waits in a queue for one, as in
 * bench/api/constant_rate.c (which only sends GETs). Every request is its
 * own: "{k}" in --body and in --header values is replaced with k, so each
 * POST can carry a unique top-up amount or Idempotency-Key.
 *
 * For every request it keeps, in CLOCK_REALTIME microseconds, when it was due,
 * when it was written and when its answer was complete, the answer's status,
 * and the first value after the --key text in the answer's body (e.g. a fax
 * id); --dump writes them, one line each: "k due_us written_us answered_us
 * status key". The script matches those lines with the receiver's records:
 * the state change was committed after "written" and before "answered"
 * (mintfaxd answers only after the commit), so that pair brackets the commit.
 * It prints one human line and one `key=value` line.
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
    int64_t due_us, written_us, answered_us;
    int status;
    char key[KEY_MAX];
};

struct gen;

struct conn {
    struct gen *g;
    struct bufferevent *bev;
    struct evbuffer *body;   /* the answer's body so far */
    bool connected, busy, in_body, chunked, in_trailer, close_after;
    size_t body_left;
    int status;
    size_t idx;              /* the request on the wire */
};

struct gen {
    struct event_base *base;
    struct event *tick;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *path, *body_tmpl, *key;
    char hostport[300];
    const char *headers[MAX_HEADERS];
    int nheaders;

    double rate, duration, drain;
    double start_mono;
    int64_t start_real_us;
    long long first;
    size_t issued, answered;
    bool stopped;

    size_t *queue;            /* indexes of requests waiting for a connection */
    size_t qcap, qhead, qlen;

    struct conn conns[MAX_CONNS];
    int nconns;

    struct req *reqs;
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

static void die(const char *msg)
{
    fprintf(stderr, "post-rate: %s\n", msg);
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
    struct evbuffer *body = evbuffer_new(), *out = bufferevent_get_output(c->bev);
    if (!body) die("out of memory");
    add_subst(body, g->body_tmpl, k);
    evbuffer_add_printf(out, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n", g->path, g->hostport);
    for (int i = 0; i < g->nheaders; i++) {
        add_subst(out, g->headers[i], k);
        evbuffer_add(out, "\r\n", 2);
    }
    evbuffer_add_printf(out, "Content-Length: %zu\r\n\r\n", evbuffer_get_length(body));
    evbuffer_add_buffer(out, body);
    evbuffer_free(body);
    c->busy = true;
    c->in_body = false;
    c->idx = idx;
    evbuffer_drain(c->body, evbuffer_get_length(c->body));
    g->reqs[idx].written_us = realtime_us();
}

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
    if (!g->key) return;
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
    r->answered_us = realtime_us();
    r->status = c->status;
    take_key(g, c, r->key);
    g->answered++;
    if (c->status < 200 || c->status > 299) g->non2xx++;
    c->busy = false;
    if (c->close_after) conn_reset(c);
    else conn_take_queued(c);
}

/* Moves a chunked body into c->body; 1 when complete, 0 for more, -1 if bad. */
static int read_chunks(struct conn *c, struct evbuffer *in)
{
    for (;;) {
        if (c->body_left) {
            size_t have = evbuffer_get_length(in);
            size_t take = have < c->body_left ? have : c->body_left;
            size_t data = c->body_left > 2 ? c->body_left - 2 : 0;   /* the chunk's CRLF is not data */
            evbuffer_remove_buffer(in, c->body, take < data ? take : data);
            if (take > data) evbuffer_drain(in, take - data);
            c->body_left -= take;
            if (c->body_left) return 0;
        }
        size_t n;
        char *line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
        if (!line) return evbuffer_get_length(in) > 4096 ? -1 : 0;
        if (c->in_trailer) {
            free(line);
            if (n == 0) return 1;
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
        if (!c->busy) {
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
            evbuffer_remove_buffer(in, c->body, c->body_left);
        }
        finish(c);
        if (c->bev != bev || evbuffer_get_length(in) == 0) return;
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

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct gen *g = arg;
    (void)fd;
    (void)what;
    double t = now_s();
    double end = g->start_mono + g->duration;
    if (!g->stopped) {
        for (;;) {
            double due = g->start_mono + (double)g->issued / g->rate;
            if (due > t || g->issued >= g->nreqs) break;
            size_t idx = g->issued++;
            g->reqs[idx].due_us = g->start_real_us + (int64_t)llround((due - g->start_mono) * 1e6);
            struct conn *idle = NULL;
            for (int i = 0; i < g->nconns && !idle; i++)
                if (g->conns[i].connected && !g->conns[i].busy) idle = &g->conns[i];
            if (idle && g->qlen == 0) {
                conn_send(idle, idx);
            } else {
                if (g->qlen == g->qcap) die("request queue overflow");
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
    double next = g->stopped ? t + 0.01 : g->start_mono + (double)g->issued / g->rate;
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
            "usage: post-rate --url http://HOST:PORT/PATH --rate N --body 'JSON with {k}' [--duration S]\n"
            "                 [--first K] [--connections N] [--header 'Name: value {k}']...\n"
            "                 [--drain S] [--key TEXT] [--dump FILE]\n"
            "(--drain: how long to wait for answers after the last request is due, default 5 s)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct gen gen;
    struct gen *g = &gen;
    const char *url = NULL, *dump = NULL;
    g->rate = 200;
    g->duration = 10;
    g->drain = 5;
    g->nconns = 16;
    g->first = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) usage();
        if (!strcmp(a, "--url")) url = argv[++i];
        else if (!strcmp(a, "--rate")) g->rate = atof(argv[++i]);
        else if (!strcmp(a, "--duration")) g->duration = atof(argv[++i]);
        else if (!strcmp(a, "--first")) g->first = atoll(argv[++i]);
        else if (!strcmp(a, "--drain")) g->drain = atof(argv[++i]);
        else if (!strcmp(a, "--connections")) g->nconns = atoi(argv[++i]);
        else if (!strcmp(a, "--body")) g->body_tmpl = argv[++i];
        else if (!strcmp(a, "--key")) g->key = argv[++i];
        else if (!strcmp(a, "--dump")) dump = argv[++i];
        else if (!strcmp(a, "--header") && g->nheaders < MAX_HEADERS) g->headers[g->nheaders++] = argv[++i];
        else usage();
    }
    if (!url || !g->body_tmpl || g->rate <= 0 || g->rate > 1e6 || g->duration <= 0 || g->duration > 600 ||
        g->drain < 0 || g->drain > 600 ||
        g->nconns < 1 || g->nconns > MAX_CONNS)
        usage();
    parse_url(g, url);

    g->nreqs = (size_t)llround(g->rate * g->duration);
    if (g->nreqs == 0) usage();
    g->reqs = calloc(g->nreqs, sizeof *g->reqs);
    g->qcap = g->nreqs + 1;
    g->queue = calloc(g->qcap, sizeof *g->queue);
    if (!g->reqs || !g->queue) die("out of memory");

    signal(SIGPIPE, SIG_IGN);
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
    g->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!g->base) die("event_base_new failed");
    for (int i = 0; i < g->nconns; i++) {
        g->conns[i].g = g;
        g->conns[i].body = evbuffer_new();
        if (!g->conns[i].body) die("out of memory");
        conn_open(&g->conns[i]);
    }
    struct timeval settle = { 0, 200000 };
    event_base_loopexit(g->base, &settle);
    event_base_dispatch(g->base);
    int up = 0;
    for (int i = 0; i < g->nconns; i++) up += g->conns[i].connected;
    if (up == 0) die("no connection could be opened");

    g->tick = evtimer_new(g->base, on_tick, g);
    g->start_mono = now_s();
    g->start_real_us = realtime_us();
    struct timeval zero = { 0, 0 };
    evtimer_add(g->tick, &zero);
    event_base_dispatch(g->base);

    /* API latency (due to answered) and write lag (due to written). */
    double *lat = calloc(g->nreqs, sizeof *lat), *lag = calloc(g->nreqs, sizeof *lag);
    if (!lat || !lag) die("out of memory");
    size_t nlat = 0, nlag = 0;
    for (size_t i = 0; i < g->nreqs; i++) {
        const struct req *r = &g->reqs[i];
        if (r->written_us) lag[nlag++] = (double)(r->written_us - r->due_us) / 1e3;
        if (r->answered_us) lat[nlat++] = (double)(r->answered_us - r->due_us) / 1e3;
    }
    qsort(lat, nlat, sizeof *lat, cmp_double);
    qsort(lag, nlag, sizeof *lag, cmp_double);
    size_t unanswered = g->nreqs - g->answered;
    printf("post-rate: %s at %.0f req/s for %.0f s, %d connections: %zu answered, API latency p50 %.3f ms "
           "p99 %.3f ms max %.3f ms; non-2xx %llu, errors %llu, unanswered %zu; due-to-written lag p99 %.3f ms\n",
           url, g->rate, g->duration, g->nconns, g->answered, quantile(lat, nlat, 0.5), quantile(lat, nlat, 0.99),
           nlat ? lat[nlat - 1] : NAN, (unsigned long long)g->non2xx, (unsigned long long)g->errors, unanswered,
           quantile(lag, nlag, 0.99));
    printf("RESULT answered=%zu p50_ms=%.3f p99_ms=%.3f non2xx=%llu errors=%llu unanswered=%zu lag_p99_ms=%.3f\n",
           g->answered, quantile(lat, nlat, 0.5), quantile(lat, nlat, 0.99), (unsigned long long)g->non2xx,
           (unsigned long long)g->errors, unanswered, quantile(lag, nlag, 0.99));
    if (dump) {
        FILE *f = fopen(dump, "w");
        if (!f) die("cannot write --dump");
        for (size_t i = 0; i < g->nreqs; i++) {
            const struct req *r = &g->reqs[i];
            fprintf(f, "%lld %lld %lld %lld %d %s\n", g->first + (long long)i, (long long)r->due_us,
                    (long long)r->written_us, (long long)r->answered_us, r->status, r->key[0] ? r->key : "-");
        }
        fclose(f);
    }
    for (int i = 0; i < g->nconns; i++) {
        if (g->conns[i].bev) bufferevent_free(g->conns[i].bev);
        evbuffer_free(g->conns[i].body);
    }
    free(lat);
    free(lag);
    event_free(g->tick);
    event_base_free(g->base);
    free(g->reqs);
    free(g->queue);
    return (g->errors || unanswered || g->non2xx) ? 3 : 0;
}
