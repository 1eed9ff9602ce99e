/* SPDX-License-Identifier: Apache-2.0 */
/*
 * receiver.c: the webhook receiver of the webhook benchmark (bench/webhooks/run).
 * One libevent evhttp thread, listening on one or more loopback addresses (so
 * that K endpoints can be K hosts, as real receivers are), answers every
 * request 204 at once, keeping the connection alive, and records for each one its arrival time (CLOCK_REALTIME,
 * microseconds, taken when evhttp hands over the complete request), its path,
 * its webhook-id header, the event type, the event's "timestamp" and one "key"
 * field of the body (the first value after the text given with --key, e.g.
 * `"topup_amount":`), which the script matches with the request that caused
 * the event. Nothing is
 * verified: signatures cost the sender, not the receiver, and a receiver that
 * answers at once is what the figure asks for.
 *
 * Control paths (never recorded): GET /_ctl/count answers the number of
 * recorded requests; GET /_ctl/dump answers every record, one line each:
 * "arrival_us path webhook_id type key event_ms" ("-" or 0 where absent); POST /_ctl/reset
 * forgets them. At SIGTERM or SIGINT it prints the counts per path and how
 * many (path, webhook-id) pairs arrived more than once, writes the records to
 * the --dump file if one was given, and exits.
 */
#define _GNU_SOURCE   /* memmem */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct rec {
    int64_t t_us;
    char path[16];
    char id[40];
    char type[24];
    char key[40];
    int64_t event_ms;   /* the payload's "timestamp", ms since the epoch; 0 if none */
};

static struct rec *recs;
static size_t nrecs, caprecs;
static const char *key_prefix = "\"topup_amount\":";
static const char *dump_path;
static struct event_base *base;

static void die(const char *msg)
{
    fprintf(stderr, "receiver: %s\n", msg);
    exit(1);
}

static int64_t realtime_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Copies src (n bytes) into dst (size sz), NUL-terminated; "-" if empty. */
static void put(char *dst, size_t sz, const char *src, size_t n)
{
    if (n == 0) {
        src = "-";
        n = 1;
    }
    if (n >= sz) n = sz - 1;
    for (size_t i = 0; i < n; i++) dst[i] = (src[i] == ' ' || src[i] == '\n') ? '_' : src[i];
    dst[n] = '\0';
}

/* Finds the value after prefix in body: a JSON string's text or a bare token. */
static void field(const char *body, size_t len, const char *prefix, char *dst, size_t sz)
{
    size_t pl = strlen(prefix);
    const char *p = memmem(body, len, prefix, pl);
    if (!p) {
        put(dst, sz, "", 0);
        return;
    }
    p += pl;
    const char *end = body + len;
    while (p < end && *p == ' ') p++;
    if (p < end && *p == '"') p++;
    const char *q = p;
    while (q < end && *q != '"' && *q != ',' && *q != '}' && *q != ' ') q++;
    put(dst, sz, p, (size_t)(q - p));
}

/* The payload's "timestamp" (RFC 3339, UTC, e.g. 2026-11-23T19:50:02.395Z)
 * in milliseconds since the epoch; 0 if there is none. mintfaxd takes it
 * when it stores the event, inside the transaction of the state change. */
static int64_t event_time_ms(const char *body, size_t len)
{
    char text[40];
    field(body, len, "\"timestamp\":", text, sizeof text);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int ms = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &ms) != 7)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

static void dump_to(FILE *f)
{
    for (size_t i = 0; i < nrecs; i++)
        fprintf(f, "%lld %s %s %s %s %lld\n", (long long)recs[i].t_us, recs[i].path, recs[i].id, recs[i].type,
                recs[i].key, (long long)recs[i].event_ms);
}

static void on_control(struct evhttp_request *req, const char *path)
{
    struct evbuffer *out = evbuffer_new();
    if (!out) die("out of memory");
    int status = 200;
    if (!strcmp(path, "/_ctl/count")) {
        evbuffer_add_printf(out, "%zu\n", nrecs);
    } else if (!strcmp(path, "/_ctl/dump")) {
        for (size_t i = 0; i < nrecs; i++)
            evbuffer_add_printf(out, "%lld %s %s %s %s %lld\n", (long long)recs[i].t_us, recs[i].path, recs[i].id,
                                recs[i].type, recs[i].key, (long long)recs[i].event_ms);
    } else if (!strcmp(path, "/_ctl/reset")) {
        nrecs = 0;
        evbuffer_add_printf(out, "0\n");
    } else {
        status = 404;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evhttp_send_reply(req, status, status == 200 ? "OK" : "Not Found", out);
    evbuffer_free(out);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    int64_t t = realtime_us();
    const char *uri = evhttp_request_get_uri(req);
    const char *path = uri ? uri : "/";
    if (!strncmp(path, "/_ctl/", 6)) {
        on_control(req, path);
        return;
    }
    if (nrecs == caprecs) {
        caprecs = caprecs ? caprecs * 2 : 65536;
        recs = realloc(recs, caprecs * sizeof *recs);
        if (!recs) die("out of memory");
    }
    struct rec *r = &recs[nrecs++];
    r->t_us = t;
    put(r->path, sizeof r->path, path, strlen(path));
    const char *id = evhttp_find_header(evhttp_request_get_input_headers(req), "webhook-id");
    put(r->id, sizeof r->id, id ? id : "", id ? strlen(id) : 0);

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    field(body, len, "\"type\":", r->type, sizeof r->type);
    field(body, len, key_prefix, r->key, sizeof r->key);
    r->event_ms = event_time_ms(body, len);
    evhttp_send_reply(req, 204, "No Content", NULL);
}

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : strcmp(x->id, y->id);
}

/* Prints the counts per path and the duplicates; sorts the records. */
static void summary(void)
{
    if (dump_path) {
        FILE *f = fopen(dump_path, "w");
        if (!f) {
            perror(dump_path);
        } else {
            dump_to(f);
            fclose(f);
        }
    }
    qsort(recs, nrecs, sizeof *recs, cmp_rec);
    size_t dups = 0, n = 0;
    printf("receiver: %zu requests answered 204", nrecs);
    for (size_t i = 0; i < nrecs; i++) {
        n++;
        if (i + 1 < nrecs && !strcmp(recs[i].path, recs[i + 1].path)) {
            if (!strcmp(recs[i].id, recs[i + 1].id) && strcmp(recs[i].id, "-")) dups++;
            continue;
        }
        printf("; %s %zu", recs[i].path, n);
        n = 0;
    }
    printf("; repeated (path, webhook-id) %zu\n", dups);
    printf("RESULT requests=%zu duplicates=%zu\n", nrecs, dups);
    fflush(stdout);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig; (void)what; (void)arg;
    event_base_loopbreak(base);
}

static void usage(void)
{
    fprintf(stderr, "usage: receiver --listen HOST:PORT [--listen HOST:PORT]... [--key TEXT] [--dump FILE]\n");
    exit(2);
}

/* Makes evhttp listen on "HOST:PORT" (an IPv4 or IPv6 literal, or a name). */
static void bind_to(struct evhttp *http, const char *addr)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr) usage();
    char host[256];
    size_t hl = (size_t)(colon - addr);
    if (hl >= sizeof host) usage();
    memcpy(host, addr, hl);
    host[hl] = '\0';
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535) usage();
    if (evhttp_bind_socket(http, host, (ev_uint16_t)port) != 0) {
        fprintf(stderr, "receiver: cannot listen on %s\n", addr);
        exit(1);
    }
}

#define MAX_LISTEN 16

int main(int argc, char **argv)
{
    const char *addrs[MAX_LISTEN];
    int naddrs = 0;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        if (!strcmp(argv[i], "--listen") && naddrs < MAX_LISTEN) addrs[naddrs++] = argv[++i];
        else if (!strcmp(argv[i], "--key")) key_prefix = argv[++i];
        else if (!strcmp(argv[i], "--dump")) dump_path = argv[++i];
        else usage();
    }
    if (naddrs == 0 || !*key_prefix) usage();

    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    if (!base) die("event_base_new failed");
    struct evhttp *http = evhttp_new(base);
    if (!http) die("evhttp_new failed");
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(http, on_request, NULL);
    for (int i = 0; i < naddrs; i++) bind_to(http, addrs[i]);

    struct event *term = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *intr = evsignal_new(base, SIGINT, on_signal, NULL);
    if (!term || !intr) die("evsignal_new failed");
    event_add(term, NULL);
    event_add(intr, NULL);
    event_base_dispatch(base);

    summary();
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    free(recs);
    return 0;
}
