/* SPDX-License-Identifier: Apache-2.0
 *
 * dispatcher.c: the webhook delivery loop. For one due delivery:
 *   1. in one unit: insert the attempt row (status sending, headers as sent)
 *      and take the delivery out of the due set (next_attempt_at NULL);
 *   2. after that commit, POST (no redirects, [webhooks] timeout);
 *   3. in one unit: record the answer, and mark the delivery delivered (2xx),
 *      due again after the next delay, or failed when attempts run out.
 * A crash between 1 and 3 leaves an attempt in "sending": at start it is
 * closed as failed (interrupted_by_restart) and the delivery rescheduled, so
 * no attempt is recorded twice and no delivery is lost.
 */
#include "config.h"
#include "mfx.h"
#include "dispatcher.h"
#include "httpc.h"
#include "ids.h"
#include "log.h"
#include "settings.h"
#include "signature.h"
#include "store.h"
#include "webhooks.h"

#include <event2/event.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESPONSE_KEEP 4096

struct send {
    char delivery_id[MFX_ID_MAX];
    char attempt_id[MFX_ID_MAX];
    char *url;
    char *body;
    size_t body_len;
    char **headers;               /* "Name: value", NULL-terminated */
    bool cancelled;
};

static struct event *wake_ev;
static int in_flight;
static bool stopping;

static void send_free(struct send *s)
{
    free(s->url);
    free(s->body);
    g_strfreev(s->headers);
    free(s);
}

/* When the delivery goes next, given that attempts_made have happened. */
static int64_t next_due(int attempts_made, int max_attempts, int64_t now)
{
    if (attempts_made >= max_attempts) return -1;
    int idx = attempts_made < mfx_cfg.webhook_attempts ? attempts_made : mfx_cfg.webhook_attempts - 1;
    return now + (int64_t)(mfx_cfg.webhook_delays[idx] * 1000);
}

/* Records the end of an attempt and moves its delivery on, in one unit. */
static void record(const char *delivery_id, const char *attempt_id, bool ok, long status, const unsigned char *body,
                   size_t len, const char *error, int64_t duration_ms)
{
    int64_t now = mfx_now_ms();
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE webhook_attempts SET status = ?, duration_ms = ?, response_status = ?, response_body = ?, error = ?"
        " WHERE id = ? AND status = 'sending'");
    sqlite3_bind_text(st, 1, ok ? "succeeded" : "failed", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, duration_ms);
    if (status > 0) sqlite3_bind_int64(st, 3, status); else sqlite3_bind_null(st, 3);
    if (len) sqlite3_bind_blob(st, 4, body, (int)(len < RESPONSE_KEEP ? len : RESPONSE_KEEP), SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, 4);
    mfx_bind_text(st, 5, error);
    sqlite3_bind_text(st, 6, attempt_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);

    st = mfx_stmt("SELECT status, attempts_made, max_attempts FROM webhook_deliveries WHERE id = ?");
    sqlite3_bind_text(st, 1, delivery_id, -1, SQLITE_STATIC);
    char dstatus[16] = "";
    int made = 0, max = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(dstatus, sizeof dstatus, "%s", mfx_col_text(st, 0));
        made = sqlite3_column_int(st, 1);
        max = sqlite3_column_int(st, 2);
    }
    mfx_stmt_done(st);
    if (!strcmp(dstatus, "pending")) {
        int64_t due = ok ? -1 : next_due(made, max, now);
        st = mfx_stmt("UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?");
        sqlite3_bind_text(st, 1, ok ? "delivered" : due < 0 ? "failed" : "pending", -1, SQLITE_STATIC);
        if (due >= 0) sqlite3_bind_int64(st, 2, due); else sqlite3_bind_null(st, 2);
        sqlite3_bind_int64(st, 3, now);
        sqlite3_bind_text(st, 4, delivery_id, -1, SQLITE_STATIC);
        sqlite3_step(st);
        mfx_stmt_done(st);
        if (!ok && due < 0) mfx_warn("webhooks", "delivery=%s failed for good after %d attempts (%s)", delivery_id, made, error ? error : "");
    }
    mfx_tx_end(true);
}

static void on_answer(void *arg, const struct mfx_httpc_result *r)
{
    struct send *s = arg;
    in_flight--;
    if (r->subcode && !strcmp(r->subcode, "shutdown")) {
        /* Stopping: the attempt stays "sending" and is closed at the next start. */
        send_free(s);
        return;
    }
    bool ok = r->transport_ok && r->status >= 200 && r->status <= 299;
    char err[160] = "";
    if (!r->transport_ok) snprintf(err, sizeof err, "%s: %s", r->subcode, r->message);
    else if (!ok) snprintf(err, sizeof err, "the receiver answered HTTP %ld", r->status);
    record(s->delivery_id, s->attempt_id, ok, r->transport_ok ? r->status : 0, r->body, r->len, err[0] ? err : NULL,
           r->duration_ms);
    mfx_debug("webhooks", "attempt=%s %s %ld %lldms", s->attempt_id, ok ? "ok" : "failed", r->status, (long long)r->duration_ms);
    send_free(s);
    mfx_dispatcher_poke();
}

static void post_now(void *arg, bool committed)
{
    struct send *s = arg;
    if (!committed || stopping) {
        in_flight--;
        send_free(s);
        return;
    }
    struct mfx_httpc_request rq = {
        .method = "POST",
        .url = s->url,
        .headers = (const char *const *)s->headers,
        .body = s->body,
        .body_len = s->body_len,
        .max_response = RESPONSE_KEEP,
        .truncate = true,
        .timeout_ms = (long)(mfx_cfg.webhook_timeout * 1000),
        .max_redirects = 0,
        .allow_private = mfx_cfg.webhook_allow_private,
    };
    mfx_httpc_start(&rq, on_answer, s);
}

/* Builds the headers of one attempt; NULL if nothing can sign it. */
static char **build_headers(const char *env_id, const char *endpoint_id, const char *event_id,
                            const char *body, size_t len, const char *request_id, json_object *record_headers)
{
    char **secrets = mfx_webhook_signing_secrets(env_id, endpoint_id);
    if (!secrets[0]) {
        g_strfreev(secrets);
        return NULL;
    }
    int64_t ts = mfx_now_ms() / 1000;
    GString *sig = g_string_new(NULL), *legacy = g_string_new(NULL);
    g_string_append_printf(legacy, "t=%lld", (long long)ts);
    for (char **s = secrets; *s; s++) {
        char one[128], old[80];
        if (mfx_webhook_sign(*s, event_id, ts, body, len, one) != 0) continue;
        if (sig->len) g_string_append_c(sig, ' ');
        g_string_append(sig, one);
        if (mfx_webhook_sign_legacy(*s, ts, body, len, old) == 0) g_string_append_printf(legacy, ",%s", old);
    }
    g_strfreev(secrets);
    char tsbuf[24];
    snprintf(tsbuf, sizeof tsbuf, "%lld", (long long)ts);
    const char *names[] = { "Content-Type", "User-Agent", "webhook-id", "webhook-timestamp", "webhook-signature",
                            "X-Mintfax-Signature", "Request-Id" };
    const char *values[] = { "application/json", "mintfax-webhooks/1.0", event_id, tsbuf, sig->str, legacy->str, request_id };
    GPtrArray *h = g_ptr_array_new();
    for (size_t i = 0; i < MFX_ARRAY_LEN(names); i++) {
        g_ptr_array_add(h, g_strdup_printf("%s: %s", names[i], values[i]));
        json_object_object_add(record_headers, names[i], json_object_new_string(values[i]));
    }
    g_ptr_array_add(h, NULL);
    g_string_free(sig, TRUE);
    g_string_free(legacy, TRUE);
    return (char **)g_ptr_array_free(h, FALSE);
}

/* Starts one attempt of a claimed delivery. */
static void start_attempt(const char *delivery_id, const char *env_id, const char *endpoint_id, const char *url,
                          const char *event_id, const char *event_type, const char *payload, int attempt_number)
{
    struct send *s = mfx_calloc(1, sizeof *s);
    snprintf(s->delivery_id, sizeof s->delivery_id, "%s", delivery_id);
    mfx_id_new("wha_", s->attempt_id);
    s->url = mfx_strdup(url);
    s->body = mfx_strdup(payload);
    s->body_len = strlen(payload);
    char request_id[MFX_ID_MAX];
    mfx_id_new("req_", request_id);
    json_object *hdrs = json_object_new_object();
    s->headers = build_headers(env_id, endpoint_id, event_id, s->body, s->body_len, request_id, hdrs);
    int64_t now = mfx_now_ms();

    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO webhook_attempts (id, delivery_id, environment_id, event_id, event_type, endpoint_id, url,"
        " attempt_number, status, sent_at, request_headers, duration_ms, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, s->attempt_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, env_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, event_type, -1, SQLITE_STATIC);
    mfx_bind_text(st, 6, endpoint_id);
    sqlite3_bind_text(st, 7, url, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 8, attempt_number);
    sqlite3_bind_text(st, 9, s->headers ? "sending" : "failed", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, now);
    sqlite3_bind_text(st, 11, json_object_to_json_string_ext(hdrs, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                      -1, SQLITE_TRANSIENT);
    if (s->headers) {
        sqlite3_bind_null(st, 12);
        sqlite3_bind_null(st, 13);
    } else {
        sqlite3_bind_int(st, 12, 0);
        sqlite3_bind_text(st, 13, "no_signing_secret: the environment has no active webhook endpoint whose secret could sign this delivery",
                          -1, SQLITE_STATIC);
    }
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    st = mfx_stmt("UPDATE webhook_deliveries SET attempts_made = attempts_made + 1, next_attempt_at = NULL,"
                  " updated_at = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, delivery_id, -1, SQLITE_STATIC);
    ok = ok && sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    json_object_put(hdrs);
    if (ok && !s->headers) {
        /* Nothing can sign it: this attempt fails without being sent. */
        mfx_tx_end(true);
        record(delivery_id, s->attempt_id, false, 0, NULL, 0, NULL, 0);
        send_free(s);
        return;
    }
    mfx_tx_end(ok);
    if (!ok) {
        send_free(s);
        return;
    }
    in_flight++;
    mfx_tx_after_commit(post_now, s);
}

static void run_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    if (stopping) return;
    int room = (int)mfx_cfg.webhook_max_in_flight - in_flight;
    if (room <= 0) return;   /* an answer pokes us */
    int64_t now = mfx_now_ms();
    struct claim {
        char id[MFX_ID_MAX], env[MFX_ID_MAX], endpoint[MFX_ID_MAX], event[MFX_ID_MAX], type[32];
        char *url, *payload;
        int attempt;
    };
    GArray *claims = g_array_new(FALSE, TRUE, sizeof(struct claim));
    sqlite3_stmt *st = mfx_stmt(
        "SELECT d.id, d.environment_id, d.endpoint_id, d.url, d.event_id, e.type, e.payload, d.attempts_made"
        " FROM webhook_deliveries d JOIN events e ON e.id = d.event_id"
        " WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, room);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct claim c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "%s", mfx_col_text(st, 0));
        snprintf(c.env, sizeof c.env, "%s", mfx_col_text(st, 1));
        snprintf(c.endpoint, sizeof c.endpoint, "%s", mfx_col_text(st, 2));
        c.url = mfx_strdup(mfx_col_text(st, 3));
        snprintf(c.event, sizeof c.event, "%s", mfx_col_text(st, 4));
        snprintf(c.type, sizeof c.type, "%s", mfx_col_text(st, 5));
        c.payload = mfx_strdup(mfx_col_text(st, 6));
        c.attempt = sqlite3_column_int(st, 7) + 1;
        g_array_append_val(claims, c);
    }
    mfx_stmt_done(st);
    for (guint i = 0; i < claims->len; i++) {
        struct claim *c = &g_array_index(claims, struct claim, i);
        start_attempt(c->id, c->env, c->endpoint[0] ? c->endpoint : NULL, c->url, c->event, c->type, c->payload, c->attempt);
        free(c->url);
        free(c->payload);
    }
    bool full = (int)claims->len == room;
    g_array_free(claims, TRUE);

    /* Sleep until the next due delivery (a minute at most). */
    int64_t next = now + 60000;
    st = mfx_stmt("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'");
    if (sqlite3_step(st) == SQLITE_ROW && !mfx_col_null(st, 0) && sqlite3_column_int64(st, 0) < next)
        next = sqlite3_column_int64(st, 0);
    mfx_stmt_done(st);
    if (full) return;                                   /* an answer pokes us */
    int64_t wait = next - mfx_now_ms();
    if (wait < 0) wait = 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000) };
    evtimer_add(wake_ev, &tv);
}

/* Closes attempts a stop cut short and reschedules their deliveries. */
static int recover(void)
{
    GPtrArray *att = g_ptr_array_new_with_free_func(g_free), *del = g_ptr_array_new_with_free_func(g_free);
    sqlite3_stmt *st = mfx_stmt("SELECT id, delivery_id FROM webhook_attempts WHERE status = 'sending'");
    while (sqlite3_step(st) == SQLITE_ROW) {
        g_ptr_array_add(att, g_strdup(mfx_col_text(st, 0)));
        g_ptr_array_add(del, g_strdup(mfx_col_text(st, 1)));
    }
    mfx_stmt_done(st);
    for (guint i = 0; i < att->len; i++)
        record(g_ptr_array_index(del, i), g_ptr_array_index(att, i), false, 0, NULL, 0,
               "interrupted_by_restart: mintfaxd stopped before the receiver answered", 0);
    int n = (int)att->len;
    g_ptr_array_free(att, TRUE);
    g_ptr_array_free(del, TRUE);
    mfx_tx_flush();
    return n;
}

int mfx_dispatcher_start(struct event_base *base)
{
    wake_ev = evtimer_new(base, run_due, NULL);
    int n = recover();
    if (n) mfx_info("webhooks", "%d delivery attempts were cut short by the last stop; rescheduled", n);
    mfx_dispatcher_poke();
    return 0;
}

void mfx_dispatcher_poke(void)
{
    if (!wake_ev || stopping) return;
    struct timeval now = { 0, 0 };
    evtimer_add(wake_ev, &now);
}

int mfx_dispatcher_busy(void)
{
    return in_flight;
}

void mfx_dispatcher_stop(void)
{
    stopping = true;
    if (wake_ev) event_free(wake_ev);
    wake_ev = NULL;
}
