/* SPDX-License-Identifier: Apache-2.0
 *
 * webhooks.c: endpoint rows and the fan-out of events into deliveries. The
 * HTTP side (signing, sending, retrying) is dispatcher.c; the API is
 * api_webhooks.c.
 */
#include "config.h"
#include "mfx.h"
#include "webhooks.h"
#include "dispatcher.h"
#include "httpc.h"
#include "ids.h"
#include "json_row.h"
#include "log.h"
#include "settings.h"
#include "store.h"

#include <arpa/inet.h>
#include <event2/http.h>
#include <glib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static bool subscribed(const char *events_json, const char *type)
{
    if (!events_json) return true;                     /* NULL: every event */
    json_object *arr = json_tokener_parse(events_json);
    bool yes = false;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), type)) yes = true;
    json_object_put(arr);
    return yes;
}

static void insert_delivery(const char *env_id, const char *event_id, const char *endpoint_id, const char *url,
                            int64_t now, json_object *out)
{
    char id[MFX_ID_MAX];
    mfx_id_new("whd_", id);
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO webhook_deliveries (id, event_id, environment_id, endpoint_id, url, status, max_attempts,"
        " next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 4, endpoint_id);
    sqlite3_bind_text(st, 5, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 6, mfx_cfg.webhook_attempts);
    sqlite3_bind_int64(st, 7, now + (int64_t)(mfx_cfg.webhook_delays[0] * 1000));
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_int64(st, 9, now);
    if (sqlite3_step(st) != SQLITE_DONE)
        mfx_error("webhooks", "event=%s delivery insert failed: %s", event_id, sqlite3_errmsg(mfx_db()));
    mfx_stmt_done(st);
    if (out) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "id", json_object_new_string(id));
        json_object_object_add(d, "endpoint_id", endpoint_id ? json_object_new_string(endpoint_id) : NULL);
        json_object_object_add(d, "url", json_object_new_string(url));
        json_object_array_add(out, d);
    }
}

int mfx_webhooks_fanout(const char *env_id, const char *event_id, const char *type, const char *fax_id,
                        json_object *out)
{
    int64_t now = mfx_now_ms();
    int n = 0;
    /* Collect first: inserting reuses statements. */
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free), *urls = g_ptr_array_new_with_free_func(g_free);
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, url, events FROM webhook_endpoints WHERE environment_id = ? AND is_active = 1"
        " AND deleted_at IS NULL ORDER BY id");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (!subscribed(mfx_col_null(st, 2) ? NULL : mfx_col_text(st, 2), type)) continue;
        g_ptr_array_add(ids, g_strdup(mfx_col_text(st, 0)));
        g_ptr_array_add(urls, g_strdup(mfx_col_text(st, 1)));
    }
    mfx_stmt_done(st);
    for (guint i = 0; i < ids->len; i++, n++)
        insert_delivery(env_id, event_id, g_ptr_array_index(ids, i), g_ptr_array_index(urls, i), now, out);
    g_ptr_array_free(ids, TRUE);
    g_ptr_array_free(urls, TRUE);
    if (fax_id) {
        char *url = NULL;
        st = mfx_stmt("SELECT webhook_url FROM faxes WHERE id = ? AND webhook_url IS NOT NULL");
        sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) url = g_strdup(mfx_col_text(st, 0));
        mfx_stmt_done(st);
        if (url) {
            insert_delivery(env_id, event_id, NULL, url, now, out);
            n++;
            g_free(url);
        }
    }
    if (n) mfx_dispatcher_poke();
    return n;
}

json_object *mfx_webhook_endpoint_json(const char *env_id, const char *id)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, url, events, description, is_active, created_at, updated_at, old_secret_until"
        " FROM webhook_endpoints WHERE id = ? AND environment_id = ? AND deleted_at IS NULL");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    json_object *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        o = json_object_new_object();
        mfx_json_col_text(o, "id", st, 0);
        json_object_object_add(o, "object", json_object_new_string("webhook_endpoint"));
        mfx_json_col_text(o, "url", st, 1);
        mfx_json_col_json(o, "events", st, 2);
        mfx_json_col_text(o, "description", st, 3);
        mfx_json_col_bool(o, "is_active", st, 4);
        mfx_json_col_time(o, "created_at", st, 5);
        mfx_json_col_time(o, "updated_at", st, 6);
        if (!mfx_col_null(st, 7) && sqlite3_column_int64(st, 7) > mfx_now_ms())
            mfx_json_col_time(o, "previous_secret_expires_at", st, 7);
        else
            json_object_object_add(o, "previous_secret_expires_at", NULL);
    }
    mfx_stmt_done(st);
    return o;
}

char **mfx_webhook_signing_secrets(const char *env_id, const char *endpoint_id)
{
    GPtrArray *out = g_ptr_array_new();
    int64_t now = mfx_now_ms();
    sqlite3_stmt *st = mfx_stmt(
        "SELECT secret, old_secret, old_secret_until FROM webhook_endpoints WHERE environment_id = ?1"
        " AND deleted_at IS NULL AND ((?2 IS NOT NULL AND id = ?2) OR (?2 IS NULL AND is_active = 1)) ORDER BY id");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 2, endpoint_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        g_ptr_array_add(out, g_strdup(mfx_col_text(st, 0)));
        if (!mfx_col_null(st, 1) && sqlite3_column_int64(st, 2) > now) g_ptr_array_add(out, g_strdup(mfx_col_text(st, 1)));
    }
    mfx_stmt_done(st);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

bool mfx_webhook_url_ok(const char *url, const char **why)
{
    *why = NULL;
    if (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)) {
        *why = "must be an absolute http:// or https:// URL";
        return false;
    }
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, 0);
    const char *host = u ? evhttp_uri_get_host(u) : NULL;
    if (!host || !*host) {
        if (u) evhttp_uri_free(u);
        *why = "must be an absolute http:// or https:// URL";
        return false;
    }
    /* An IP literal can be judged now; names are checked on the address
     * actually connected to, at every delivery. */
    char lit[64];
    snprintf(lit, sizeof lit, "%s", host);
    size_t l = strlen(lit);
    if (l > 2 && lit[0] == '[' && lit[l - 1] == ']') {
        memmove(lit, lit + 1, l - 2);
        lit[l - 2] = '\0';
    }
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
    bool blocked = false;
    if (inet_pton(AF_INET, lit, &sin.sin_addr) == 1)
        blocked = !mfx_httpc_address_allowed((struct sockaddr *)&sin, mfx_cfg.webhook_allow_private);
    else if (inet_pton(AF_INET6, lit, &sin6.sin6_addr) == 1)
        blocked = !mfx_httpc_address_allowed((struct sockaddr *)&sin6, mfx_cfg.webhook_allow_private);
    else if (!mfx_cfg.webhook_allow_private && (!strcasecmp(lit, "localhost") || g_str_has_suffix(lit, ".localhost")))
        blocked = true;
    evhttp_uri_free(u);
    if (blocked) {
        *why = "points at a loopback, private, link-local or metadata address";
        return false;
    }
    return true;
}
