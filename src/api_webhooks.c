/* SPDX-License-Identifier: Apache-2.0
 *
 * api_webhooks.c: webhook endpoints (create with a secret shown once, list,
 * get, update, delete, rotate_secret), the delivery attempts log (list, get,
 * retry) and event replay. Deleting or disabling an endpoint cancels its
 * pending deliveries (an attempt already on the wire finishes).
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "audit.h"
#include "dispatcher.h"
#include "events.h"
#include "ids.h"
#include "json_row.h"
#include "log.h"
#include "settings.h"
#include "signature.h"
#include "store.h"
#include "webhooks.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const EVENT_TYPES[] = { "fax.queued", "fax.sending", "fax.retry_scheduled", "fax.delivered",
                                           "fax.failed", "balance.low", "balance.topup", NULL };

static bool known_type(const char *t)
{
    for (const char *const *e = EVENT_TYPES; *e; e++)
        if (!strcmp(*e, t)) return true;
    return false;
}

/* Validates the writable fields of an endpoint. On success fills the
 * outputs (pointers into in) and returns true; "present" flags say which
 * fields the request carried. */
struct endpoint_fields {
    const char *url, *description;
    char *events;                 /* JSON text of the array, or NULL for all; owned */
    bool has_url, has_events, has_description, has_active, is_active;
};

static void endpoint_fields_parse(json_object *in, struct endpoint_fields *f, json_object **fe)
{
    memset(f, 0, sizeof *f);
    json_object *v;
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (strcmp(key, "url") && strcmp(key, "events") && strcmp(key, "description") && strcmp(key, "is_active"))
            mfx_field_error(fe, key, "is not a field of a webhook endpoint");
    }
    if (json_object_object_get_ex(in, "url", &v)) {
        f->has_url = true;
        const char *why = NULL;
        if (!json_object_is_type(v, json_type_string) || strlen(json_object_get_string(v)) > (size_t)mfx_cfg.max_url_length)
            mfx_field_error(fe, "url", "must be an http(s) URL of at most the URL length limit");
        else if (!mfx_webhook_url_ok(json_object_get_string(v), &why))
            mfx_field_error(fe, "url", why);
        else
            f->url = json_object_get_string(v);
    }
    if (json_object_object_get_ex(in, "events", &v)) {
        f->has_events = true;
        if (json_object_is_type(v, json_type_null)) {
            f->events = NULL;
        } else if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0 ||
                   json_object_array_length(v) > 16) {
            mfx_field_error(fe, "events", "must be null (every event) or a non-empty list of event types");
        } else {
            json_object *clean = json_object_new_array();
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                json_object *t = json_object_array_get_idx(v, i);
                if (!json_object_is_type(t, json_type_string) || !known_type(json_object_get_string(t))) {
                    mfx_field_error(fe, "events", "has an unknown event type");
                    break;
                }
                json_object_array_add(clean, json_object_new_string(json_object_get_string(t)));
            }
            f->events = mfx_strdup(json_object_to_json_string_ext(clean, JSON_C_TO_STRING_PLAIN));
            json_object_put(clean);
        }
    }
    if (json_object_object_get_ex(in, "description", &v)) {
        f->has_description = true;
        if (json_object_is_type(v, json_type_null)) f->description = NULL;
        else if (!json_object_is_type(v, json_type_string) || g_utf8_strlen(json_object_get_string(v), -1) > 500)
            mfx_field_error(fe, "description", "must be a string of at most 500 characters");
        else f->description = json_object_get_string(v);
    }
    if (json_object_object_get_ex(in, "is_active", &v)) {
        f->has_active = true;
        if (!json_object_is_type(v, json_type_boolean)) mfx_field_error(fe, "is_active", "must be true or false");
        else f->is_active = json_object_get_boolean(v);
    }
}

void mfx_api_webhook_create(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    json_object *fe = NULL;
    struct endpoint_fields f;
    endpoint_fields_parse(in, &f, &fe);
    if (!f.has_url && !fe) mfx_field_error(&fe, "url", "is required");
    sqlite3_stmt *st = mfx_stmt("SELECT count(*) FROM webhook_endpoints WHERE environment_id = ? AND deleted_at IS NULL");
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    int64_t count = sqlite3_column_int64(st, 0);
    mfx_stmt_done(st);
    if (count >= mfx_cfg.webhook_max_endpoints) mfx_field_error(&fe, "url", "this environment has the most webhook endpoints allowed");
    if (fe) {
        free(f.events);
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    char id[MFX_ID_MAX];
    mfx_id_new("webhook_", id);
    char *secret = mfx_webhook_secret_new();
    int64_t now = mfx_now_ms();
    mfx_tx_begin();
    st = mfx_stmt(
        "INSERT INTO webhook_endpoints (id, environment_id, url, events, description, is_active, secret, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, req->auth.env_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f.url, -1, SQLITE_STATIC);
    mfx_bind_text(st, 4, f.events);
    mfx_bind_text(st, 5, f.description);
    sqlite3_bind_int(st, 6, f.has_active ? f.is_active : 1);
    sqlite3_bind_text(st, 7, secret, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, now);
    sqlite3_bind_int64(st, 9, now);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    json_object *o = ok ? mfx_webhook_endpoint_json(req->auth.env_id, id) : NULL;
    if (o) mfx_audit(req->auth.env_id, req->auth.key_id, "webhook_endpoint.created", id, json_object_get(o));
    mfx_tx_end(ok);
    free(f.events);
    json_object_put(in);
    if (!o) {
        free(secret);
        mfx_reply_error(req, MFX_E_storage_unavailable, NULL, NULL);
        return;
    }
    json_object_object_add(o, "signing_secret", json_object_new_string(secret));
    free(secret);
    mfx_info("api", "req=%s webhook endpoint %s created", req->id, id);
    mfx_reply_json(req, 201, o);
}

void mfx_api_webhook_list(struct mfx_req *req)
{
    struct mfx_page page;
    if (mfx_api_page_parse(req, "webhook_", &page) != 0) return;
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id FROM webhook_endpoints WHERE environment_id = ?1 AND deleted_at IS NULL"
        " AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3");
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 2, page.cursor_id[0] ? page.cursor_id : NULL);
    sqlite3_bind_int(st, 3, page.per_page + 1);
    GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
    while (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(ids, g_strdup(mfx_col_text(st, 0)));
    mfx_stmt_done(st);
    json_object *data = json_object_new_array();
    for (guint i = 0; i < ids->len; i++) {
        json_object *o = mfx_webhook_endpoint_json(req->auth.env_id, g_ptr_array_index(ids, i));
        if (o) json_object_array_add(data, o);
    }
    g_ptr_array_free(ids, TRUE);
    mfx_api_page_reply(req, &page, data);
}

static json_object *endpoint_or_404(struct mfx_req *req)
{
    json_object *o = mfx_webhook_endpoint_json(req->auth.env_id, req->params[0]);
    if (!o) mfx_reply_error(req, MFX_E_not_found, "No webhook endpoint with this id in this key's environment.", NULL);
    return o;
}

void mfx_api_webhook_get(struct mfx_req *req)
{
    json_object *o = endpoint_or_404(req);
    if (o) mfx_reply_json(req, 200, o);
}

void mfx_api_webhook_update(struct mfx_req *req)
{
    json_object *cur = endpoint_or_404(req);
    if (!cur) return;
    json_object_put(cur);
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    json_object *fe = NULL;
    struct endpoint_fields f;
    endpoint_fields_parse(in, &f, &fe);
    if (fe) {
        free(f.events);
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE webhook_endpoints SET url = CASE WHEN ?1 THEN ?2 ELSE url END,"
        " events = CASE WHEN ?3 THEN ?4 ELSE events END,"
        " description = CASE WHEN ?5 THEN ?6 ELSE description END,"
        " is_active = CASE WHEN ?7 THEN ?8 ELSE is_active END, updated_at = ?9 WHERE id = ?10");
    sqlite3_bind_int(st, 1, f.has_url);
    mfx_bind_text(st, 2, f.url);
    sqlite3_bind_int(st, 3, f.has_events);
    mfx_bind_text(st, 4, f.events);
    sqlite3_bind_int(st, 5, f.has_description);
    mfx_bind_text(st, 6, f.description);
    sqlite3_bind_int(st, 7, f.has_active);
    sqlite3_bind_int(st, 8, f.is_active);
    sqlite3_bind_int64(st, 9, mfx_now_ms());
    sqlite3_bind_text(st, 10, req->params[0], -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    if (ok && f.has_active && !f.is_active) {
        /* A disabled endpoint receives nothing: what was waiting for it is cancelled. */
        st = mfx_stmt("UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = ?"
                      " WHERE endpoint_id = ? AND status = 'pending' AND next_attempt_at IS NOT NULL");
        sqlite3_bind_int64(st, 1, mfx_now_ms());
        sqlite3_bind_text(st, 2, req->params[0], -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE;
        mfx_stmt_done(st);
    }
    json_object *o = mfx_webhook_endpoint_json(req->auth.env_id, req->params[0]);
    if (ok) mfx_audit(req->auth.env_id, req->auth.key_id, "webhook_endpoint.updated", req->params[0], json_object_get(in));
    mfx_tx_end(ok);
    free(f.events);
    json_object_put(in);
    mfx_reply_json(req, 200, o);
}

void mfx_api_webhook_delete(struct mfx_req *req)
{
    json_object *o = endpoint_or_404(req);
    if (!o) return;
    int64_t now = mfx_now_ms();
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt("UPDATE webhook_endpoints SET deleted_at = ?, is_active = 0, updated_at = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, req->params[0], -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    st = mfx_stmt("UPDATE webhook_deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = ?"
                  " WHERE endpoint_id = ? AND status = 'pending'");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, req->params[0], -1, SQLITE_STATIC);
    ok = ok && sqlite3_step(st) == SQLITE_DONE;
    int cancelled = sqlite3_changes(mfx_db());
    mfx_stmt_done(st);
    json_object *ad = json_object_new_object();
    json_object_object_add(ad, "cancelled_deliveries", json_object_new_int(cancelled));
    if (ok) mfx_audit(req->auth.env_id, req->auth.key_id, "webhook_endpoint.deleted", req->params[0], ad);
    else json_object_put(ad);
    mfx_tx_end(ok);
    json_object_object_add(o, "deleted", json_object_new_boolean(1));
    json_object_object_add(o, "is_active", json_object_new_boolean(0));
    json_object_object_add(o, "cancelled_deliveries", json_object_new_int(cancelled));
    mfx_info("api", "req=%s webhook endpoint %s deleted, %d pending deliveries cancelled", req->id, req->params[0], cancelled);
    mfx_reply_json(req, 200, o);
}

void mfx_api_webhook_rotate(struct mfx_req *req)
{
    json_object *o = endpoint_or_404(req);
    if (!o) return;
    json_object_put(o);
    char *secret = mfx_webhook_secret_new();
    int64_t now = mfx_now_ms();
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE webhook_endpoints SET old_secret = secret, old_secret_until = ?, secret = ?, updated_at = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, now + (int64_t)(mfx_cfg.webhook_rotation_grace * 1000));
    sqlite3_bind_text(st, 2, secret, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, req->params[0], -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    o = mfx_webhook_endpoint_json(req->auth.env_id, req->params[0]);
    if (ok) mfx_audit(req->auth.env_id, req->auth.key_id, "webhook_endpoint.secret_rotated", req->params[0], NULL);
    mfx_tx_end(ok);
    json_object_object_add(o, "signing_secret", json_object_new_string(secret));
    free(secret);
    mfx_info("api", "req=%s webhook endpoint %s secret rotated", req->id, req->params[0]);
    mfx_reply_json(req, 200, o);
}

/* ---- attempts ------------------------------------------------------------ */

static json_object *attempt_json(sqlite3_stmt *st)
{
    json_object *o = json_object_new_object();
    mfx_json_col_text(o, "id", st, 0);
    json_object_object_add(o, "object", json_object_new_string("webhook_attempt"));
    mfx_json_col_text(o, "event_id", st, 1);
    mfx_json_col_text(o, "event_type", st, 2);
    mfx_json_col_text(o, "endpoint_id", st, 3);
    mfx_json_col_text(o, "url", st, 4);
    mfx_json_col_int(o, "attempt_number", st, 5);
    mfx_json_col_text(o, "status", st, 6);
    mfx_json_col_time(o, "sent_at", st, 7);
    mfx_json_col_int(o, "duration_ms", st, 8);
    json_object *h = json_tokener_parse(mfx_col_text(st, 9));
    json_object_object_add(o, "request_headers", h ? h : json_object_new_object());
    mfx_json_col_int(o, "response_status", st, 10);
    if (mfx_col_null(st, 11)) {
        json_object_object_add(o, "response_body", NULL);
    } else {
        /* The first 4 KiB as received, made valid UTF-8 for JSON. */
        gchar *text = g_utf8_make_valid(sqlite3_column_blob(st, 11), sqlite3_column_bytes(st, 11));
        json_object_object_add(o, "response_body", json_object_new_string(text));
        g_free(text);
    }
    mfx_json_col_text(o, "error", st, 12);
    json_object *d = json_object_new_object();
    mfx_json_col_text(d, "id", st, 13);
    mfx_json_col_text(d, "status", st, 14);
    mfx_json_col_time(d, "next_attempt_at", st, 15);
    json_object_object_add(o, "delivery", d);
    return o;
}

#define ATTEMPT_COLUMNS \
    "a.id, a.event_id, a.event_type, a.endpoint_id, a.url, a.attempt_number, a.status, a.sent_at, a.duration_ms," \
    " a.request_headers, a.response_status, a.response_body, a.error, d.id, d.status, d.next_attempt_at"

void mfx_api_webhook_attempt_list(struct mfx_req *req)
{
    struct mfx_page page;
    if (mfx_api_page_parse(req, "wha_", &page) != 0) return;
    const char *status = mfx_req_query(req, "status");
    const char *endpoint = mfx_req_query(req, "endpoint");
    const char *event = mfx_req_query(req, "event");
    const char *type = mfx_req_query(req, "event_type");
    json_object *fe = NULL;
    if (status && strcmp(status, "sending") && strcmp(status, "succeeded") && strcmp(status, "failed"))
        mfx_field_error(&fe, "status", "must be sending, succeeded or failed");
    if (endpoint && strlen(endpoint) > 64) mfx_field_error(&fe, "endpoint", "is not a webhook endpoint id");
    if (event && strlen(event) > 64) mfx_field_error(&fe, "event", "is not an event id");
    if (type && !known_type(type)) mfx_field_error(&fe, "event_type", "is not an event type");
    if (fe) {
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    sqlite3_stmt *st = mfx_stmt(
        "SELECT " ATTEMPT_COLUMNS " FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
        " WHERE a.environment_id = ?1 AND (?2 IS NULL OR a.id < ?2) AND (?3 IS NULL OR a.status = ?3)"
        " AND (?4 IS NULL OR a.endpoint_id = ?4) AND (?5 IS NULL OR a.event_id = ?5) AND (?6 IS NULL OR a.event_type = ?6)"
        " ORDER BY a.id DESC LIMIT ?7");
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 2, page.cursor_id[0] ? page.cursor_id : NULL);
    mfx_bind_text(st, 3, status);
    mfx_bind_text(st, 4, endpoint);
    mfx_bind_text(st, 5, event);
    mfx_bind_text(st, 6, type);
    sqlite3_bind_int(st, 7, page.per_page + 1);
    json_object *data = json_object_new_array();
    while (sqlite3_step(st) == SQLITE_ROW) json_object_array_add(data, attempt_json(st));
    mfx_stmt_done(st);
    mfx_api_page_reply(req, &page, data);
}

static json_object *attempt_get(const char *env_id, const char *id)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT " ATTEMPT_COLUMNS " FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
        " WHERE a.id = ? AND a.environment_id = ?");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    json_object *o = sqlite3_step(st) == SQLITE_ROW ? attempt_json(st) : NULL;
    mfx_stmt_done(st);
    return o;
}

void mfx_api_webhook_attempt_get(struct mfx_req *req)
{
    json_object *o = attempt_get(req->auth.env_id, req->params[0]);
    if (!o) {
        mfx_reply_error(req, MFX_E_not_found, "No webhook attempt with this id in this key's environment.", NULL);
        return;
    }
    mfx_reply_json(req, 200, o);
}

void mfx_api_webhook_attempt_retry(struct mfx_req *req)
{
    json_object *o = attempt_get(req->auth.env_id, req->params[0]);
    if (!o) {
        mfx_reply_error(req, MFX_E_not_found, "No webhook attempt with this id in this key's environment.", NULL);
        return;
    }
    json_object *d, *did, *dstatus;
    json_object_object_get_ex(o, "delivery", &d);
    json_object_object_get_ex(d, "id", &did);
    json_object_object_get_ex(d, "status", &dstatus);
    char delivery_id[MFX_ID_MAX];
    snprintf(delivery_id, sizeof delivery_id, "%s", json_object_get_string(did));
    bool cancelled = !strcmp(json_object_get_string(dstatus), "cancelled");
    json_object_put(o);
    if (cancelled) {
        mfx_reply_error(req, MFX_E_invalid_state, "The delivery was cancelled because its endpoint was deleted.", NULL);
        return;
    }
    /* One more attempt, now, whatever the delivery's state. */
    int64_t now = mfx_now_ms();
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?,"
        " max_attempts = max(max_attempts, attempts_made + 1), updated_at = ? WHERE id = ? AND next_attempt_at IS NOT ?"
        " AND NOT (status = 'pending' AND next_attempt_at IS NULL)");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, delivery_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    int changed = sqlite3_changes(mfx_db());
    mfx_stmt_done(st);
    mfx_tx_end(ok);
    if (ok && changed == 0) {
        mfx_reply_error(req, MFX_E_invalid_state, "An attempt of this delivery is being sent right now.", NULL);
        return;
    }
    mfx_dispatcher_poke();
    json_object *r = json_object_new_object();
    json_object_object_add(r, "object", json_object_new_string("webhook_delivery"));
    json_object_object_add(r, "id", json_object_new_string(delivery_id));
    json_object_object_add(r, "status", json_object_new_string("pending"));
    char ts[32];
    mfx_time_format(now, ts);
    json_object_object_add(r, "next_attempt_at", json_object_new_string(ts));
    mfx_reply_json(req, 202, r);
}

void mfx_api_event_replay(struct mfx_req *req)
{
    json_object *e = mfx_event_get(req->auth.env_id, req->params[0]);
    if (!e) {
        mfx_reply_error(req, MFX_E_not_found, "No event with this id in this key's environment.", NULL);
        return;
    }
    json_object *type, *data, *obj, *fid = NULL;
    json_object_object_get_ex(e, "type", &type);
    const char *fax_id = NULL;
    if (json_object_object_get_ex(e, "data", &data) && json_object_object_get_ex(data, "object", &obj) &&
        json_object_object_get_ex(obj, "object", &fid) && !strcmp(json_object_get_string(fid), "fax")) {
        json_object *id;
        if (json_object_object_get_ex(obj, "id", &id)) fax_id = json_object_get_string(id);
    }
    json_object *deliveries = json_object_new_array();
    mfx_tx_begin();
    mfx_webhooks_fanout(req->auth.env_id, req->params[0], json_object_get_string(type), fax_id, deliveries);
    mfx_tx_end(true);
    json_object *r = json_object_new_object();
    json_object_object_add(r, "object", json_object_new_string("event_replay"));
    json_object_object_add(r, "event_id", json_object_new_string(req->params[0]));
    json_object_object_add(r, "deliveries", deliveries);
    json_object_put(e);
    mfx_reply_json(req, 202, r);
}
