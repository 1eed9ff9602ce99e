/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bare_server.c: the baseline of the API benchmark (bench/api/run). A libevent
 * evhttp server on one thread, like mintfaxd's HTTP front end, that answers
 * every request with one fixed JSON body and does nothing else: no routing,
 * no auth, no JSON, no sqlite. What mintfaxd reaches relative to this server
 * is the figure the benchmark prints; the gap is the cost of the daemon's own
 * work. The body is a representative fax object built in, or the bytes of
 * --body FILE (bench/api/run passes a real GET /v1/faxes/{id} answer, so both
 * servers send the same number of bytes). POST answers 201, the rest 200.
 * The daemon itself lives in src/ (http.c sets up its evhttp).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* A fax object as GET /v1/faxes/{id} returns it (docs/openapi.yaml), used
 * when no --body is given. */
static const char default_body[] =
    "{\"id\":\"fax_01JD8Y3Q4W5E6R7T8Y9U0I1O2P\",\"object\":\"fax\",\"status\":\"queued\","
    "\"to\":\"+15005550001\",\"from_number\":null,\"csid\":null,\"header_text\":null,"
    "\"pages\":1,\"pages_sent\":0,\"resolution\":\"fine\",\"page_size\":\"letter\","
    "\"optimize_for\":\"auto\",\"cover_page\":null,\"tags\":{},\"metadata\":{},"
    "\"webhook_url\":null,\"idempotency_key\":\"bench-0123456789abcdef-000001\","
    "\"document_id\":\"doc_01JD8Y3Q4W5E6R7T8Y9U0I1O2P\","
    "\"retry_policy\":{\"max\":3,\"backoff\":\"exponential\"},\"max_attempts\":4,"
    "\"retries_remaining\":3,\"attempts\":[],\"next_attempt_at\":\"2024-11-23T18:49:00.000Z\","
    "\"error_code\":null,\"error_subcode\":null,\"error_message\":null,"
    "\"cost\":{\"held\":7,\"captured\":0,\"currency\":\"credits\"},\"resent_from\":null,"
    "\"environment\":\"sandbox\",\"created_at\":\"2024-11-23T18:49:00.000Z\","
    "\"updated_at\":\"2024-11-23T18:49:00.000Z\",\"submitted_at\":null,\"completed_at\":null}";

struct bare {
    const char *body;
    size_t len;
};

/* Answers every request with the fixed body. evhttp has already read the
 * request body (a POST's JSON) by the time this runs. */
static void on_request(struct evhttp_request *req, void *arg)
{
    const struct bare *b = arg;
    struct evbuffer *out = evhttp_request_get_output_buffer(req);
    struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
    int post = evhttp_request_get_command(req) == EVHTTP_REQ_POST;

    evhttp_add_header(hdr, "Content-Type", "application/json");
    evbuffer_add_reference(out, b->body, b->len, NULL, NULL);
    evhttp_send_reply(req, post ? 201 : 200, post ? "Created" : "OK", NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

/* Reads a whole file; returns a malloc'd buffer the caller frees, or NULL. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            char *nb = realloc(buf, cap);
            if (!nb) { free(buf); fclose(f); return NULL; }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) { free(buf); return NULL; }
    *len = n;
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: bare-server --listen HOST:PORT [--body FILE]\n");
}

int main(int argc, char **argv)
{
    const char *listen = NULL, *body_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) listen = argv[++i];
        else if (!strcmp(argv[i], "--body") && i + 1 < argc) body_file = argv[++i];
        else { usage(); return 2; }
    }
    if (!listen) { usage(); return 2; }

    const char *colon = strrchr(listen, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || colon == listen || *end || port <= 0 || port > 65535) {
        fprintf(stderr, "bare-server: --listen wants HOST:PORT, not \"%s\"\n", listen);
        return 2;
    }
    char host[256];
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof host) { fprintf(stderr, "bare-server: host too long\n"); return 2; }
    memcpy(host, listen, hlen);
    host[hlen] = '\0';

    struct bare b = { default_body, sizeof default_body - 1 };
    char *owned = NULL;
    if (body_file) {
        owned = read_file(body_file, &b.len);
        if (!owned) {
            fprintf(stderr, "bare-server: %s: %s\n", body_file, strerror(errno));
            return 1;
        }
        b.body = owned;
    }

    signal(SIGPIPE, SIG_IGN);
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    if (!http) { fprintf(stderr, "bare-server: libevent set-up failed\n"); return 1; }
    evhttp_set_gencb(http, on_request, &b);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    if (!evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port)) {
        fprintf(stderr, "bare-server: cannot listen on %s\n", listen);
        return 1;
    }
    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    fprintf(stderr, "bare-server: listening on %s, body %zu bytes\n", listen, b.len);

    event_base_dispatch(base);

    event_free(sigterm);
    event_free(sigint);
    evhttp_free(http);
    event_base_free(base);
    free(owned);
    return 0;
}
