/* SPDX-License-Identifier: Apache-2.0
 *
 * httpc.c: libcurl multi driven by libevent (CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION, as in curl's own multi-event example), so a slow
 * server never blocks the API; the multi handle keeps connections alive
 * between requests to the same host. The SSRF guard sits in the open-socket
 * callback, which curl calls with the resolved address of every connection
 * it makes, redirects included: a name that resolves to 127.0.0.1, or a
 * redirect to 10.0.0.1, is refused there.
 */
#include "config.h"
#include "mfx.h"
#include "httpc.h"
#include "log.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static struct event_base *loop;
static CURLM *multi;
static struct event *timer_ev;
static int active;
static struct transfer *transfers;

struct transfer {
    struct transfer *next, *prev;   /* all transfers in flight */
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    mfx_httpc_cb cb;
    void *arg;
    unsigned char *buf;
    size_t len, cap, max;
    bool truncate, too_large, blocked, allow_private;
    int64_t started_ms;
    char errbuf[CURL_ERROR_SIZE];
};

static bool v4_blocked(uint32_t a)
{
    static const struct { uint32_t net, mask; } nets[] = {
        { 0x00000000, 0xff000000 },   /* 0.0.0.0/8 */
        { 0x0a000000, 0xff000000 },   /* 10/8 */
        { 0x64400000, 0xffc00000 },   /* 100.64/10 carrier NAT */
        { 0x7f000000, 0xff000000 },   /* 127/8 loopback */
        { 0xa9fe0000, 0xffff0000 },   /* 169.254/16 link-local, cloud metadata */
        { 0xac100000, 0xfff00000 },   /* 172.16/12 */
        { 0xc0000000, 0xffffff00 },   /* 192.0.0/24 */
        { 0xc0a80000, 0xffff0000 },   /* 192.168/16 */
        { 0xc6120000, 0xfffe0000 },   /* 198.18/15 benchmarking */
        { 0xe0000000, 0xf0000000 },   /* 224/4 multicast */
        { 0xf0000000, 0xf0000000 },   /* 240/4 reserved, broadcast */
    };
    for (size_t i = 0; i < MFX_ARRAY_LEN(nets); i++)
        if ((a & nets[i].mask) == nets[i].net) return true;
    return false;
}

bool mfx_httpc_address_allowed(const struct sockaddr *sa, bool allow_private)
{
    if (allow_private) return true;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return !v4_blocked(ntohl(in->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t zero[16];
        if (!memcmp(b, zero, 15) && (b[15] == 0 || b[15] == 1)) return false;     /* :: and ::1 */
        if ((b[0] & 0xfe) == 0xfc) return false;                                   /* fc00::/7 ULA */
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;                   /* fe80::/10 */
        if (b[0] == 0xff) return false;                                            /* multicast */
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
        if (!memcmp(b, mapped, 12) || !memcmp(b, nat64, 12) || !memcmp(b, zero, 12)) {
            uint32_t a = ((uint32_t)b[12] << 24) | ((uint32_t)b[13] << 16) | ((uint32_t)b[14] << 8) | b[15];
            return !v4_blocked(a);                                                 /* IPv4 inside IPv6 */
        }
        return true;
    }
    return false;
}

static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
    struct transfer *t = clientp;
    if (purpose != CURLSOCKTYPE_IPCXN || !mfx_httpc_address_allowed(&addr->addr, t->allow_private)) {
        t->blocked = true;
        return CURL_SOCKET_BAD;
    }
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    if (t->len + n > t->max) {
        if (t->truncate) {
            n = t->max - t->len;     /* keep the head, drop the rest */
            if (n == 0) return size * nmemb;
        } else {
            t->too_large = true;
            return 0;   /* aborts the transfer */
        }
    }
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 65536;
        while (cap < t->len + n) cap *= 2;
        if (cap > t->max) cap = t->max;
        t->buf = mfx_realloc(t->buf, cap);
        t->cap = cap;
    }
    memcpy(t->buf + t->len, ptr, n);
    t->len += n;
    return size * nmemb;
}

/* Unlinks and frees a transfer (its callback has run). */
static void transfer_free(struct transfer *t)
{
    if (t->prev) t->prev->next = t->next;
    else transfers = t->next;
    if (t->next) t->next->prev = t->prev;
    curl_multi_remove_handle(multi, t->easy);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    free(t->body);
    free(t->buf);
    free(t);
    active--;
}

static void finish(struct transfer *t, CURLcode code)
{
    struct mfx_httpc_result r = { 0 };
    char msg[512];
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
    r.duration_ms = mfx_monotonic_ms() - t->started_ms;
    if (t->blocked) {
        r.subcode = "blocked_address";
        r.message = "the URL resolves or redirects to a private, loopback or link-local address";
    } else if (t->too_large || code == CURLE_FILESIZE_EXCEEDED) {
        r.subcode = "too_large";
        r.message = "the response is larger than the limit";
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        r.subcode = "timeout";
        r.message = "the request timed out";
    } else if (code == CURLE_TOO_MANY_REDIRECTS) {
        r.subcode = "too_many_redirects";
        r.message = "the URL redirected too many times";
    } else if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CONNECT_ERROR) {
        r.subcode = "tls";
        r.message = "the server's TLS certificate could not be verified";
    } else if (code != CURLE_OK) {
        snprintf(msg, sizeof msg, "the request failed: %s", t->errbuf[0] ? t->errbuf : curl_easy_strerror(code));
        r.subcode = code == CURLE_COULDNT_RESOLVE_HOST ? "dns"
                  : code == CURLE_COULDNT_CONNECT ? "connect"
                  : code == CURLE_GOT_NOTHING || code == CURLE_RECV_ERROR || code == CURLE_SEND_ERROR ? "connection_closed"
                  : "network";
        r.message = msg;
    } else {
        r.transport_ok = true;
    }
    r.body = t->buf ? t->buf : (const unsigned char *)"";
    r.len = t->len;
    t->cb(t->arg, &r);
    transfer_free(t);
}

static void check_done(void)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE) continue;
        struct transfer *t;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        finish(t, m->data.result);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    (void)arg;
    int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
    int running;
    curl_multi_socket_action(multi, fd, flags, &running);
    check_done();
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    int running;
    curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    (void)easy; (void)userp;
    struct event *ev = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (ev) event_free(ev);
        curl_multi_assign(multi, s, NULL);
        return 0;
    }
    short kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (ev) event_free(ev);
    ev = event_new(loop, s, kind, on_socket_event, NULL);
    event_add(ev, NULL);
    curl_multi_assign(multi, s, ev);
    return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
    (void)m; (void)userp;
    if (timeout_ms < 0) {
        evtimer_del(timer_ev);
        return 0;
    }
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    evtimer_add(timer_ev, &tv);
    return 0;
}

int mfx_httpc_init(struct event_base *base)
{
    loop = base;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
    multi = curl_multi_init();
    timer_ev = evtimer_new(base, on_timer, NULL);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    return 0;
}

void mfx_httpc_shutdown(void)
{
    if (!multi) return;
    /* Transfers still running are abandoned: their owners hear "shutdown". */
    while (transfers) {
        struct transfer *t = transfers;
        struct mfx_httpc_result r = { .subcode = "shutdown", .message = "mintfaxd is stopping" };
        t->cb(t->arg, &r);
        transfer_free(t);
    }
    curl_multi_cleanup(multi);
    multi = NULL;
    event_free(timer_ev);
    curl_global_cleanup();
}

int mfx_httpc_active(void)
{
    return active;
}

void mfx_httpc_start(const struct mfx_httpc_request *rq, mfx_httpc_cb cb, void *arg)
{
    struct transfer *t = mfx_calloc(1, sizeof *t);
    t->cb = cb;
    t->arg = arg;
    t->max = rq->max_response;
    t->truncate = rq->truncate;
    t->allow_private = rq->allow_private;
    t->started_ms = mfx_monotonic_ms();
    t->easy = curl_easy_init();
    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, rq->max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, rq->max_redirects);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, rq->timeout_ms < 10000 ? rq->timeout_ms : 10000L);
    if (!rq->truncate) curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rq->max_response);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "mintfax/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (rq->headers)
        for (const char *const *h = rq->headers; *h; h++) t->headers = curl_slist_append(t->headers, *h);
    if (!strcmp(rq->method, "POST")) {
        t->body = mfx_malloc(rq->body_len + 1);
        memcpy(t->body, rq->body, rq->body_len);
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        t->headers = curl_slist_append(t->headers, "Expect:");   /* no 100-continue round trip */
    }
    if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    active++;
    t->next = transfers;
    if (transfers) transfers->prev = t;
    transfers = t;
    curl_multi_add_handle(multi, e);
}
