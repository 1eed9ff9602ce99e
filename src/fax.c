/* SPDX-License-Identifier: Apache-2.0
 *
 * fax.c: the fax row and the fax object. The object is always rendered from
 * the database (fax row + attempt rows), so the API, the events and a replay
 * after restart show the same thing.
 */
#include "config.h"
#include "mfx.h"
#include "fax.h"
#include "events.h"
#include "ids.h"
#include "json_row.h"
#include "ledger.h"
#include "log.h"
#include "settings.h"
#include "store.h"

#include <glib.h>
#include <stdio.h>

#include <stdio.h>
#include <string.h>

bool mfx_fax_status_terminal(const char *status)
{
    return !strcmp(status, "delivered") || !strcmp(status, "failed");
}

int mfx_fax_insert(const char *env_id, bool live, const struct mfx_fax_spec *s, const char *idem_key,
                   char fax_id[MFX_ID_MAX], enum mfx_err *err)
{
    mfx_id_new("fax_", fax_id);
    int64_t pages_for_hold = s->pages > 0 ? s->pages : mfx_cfg.estimate_pages;
    int64_t hold = pages_for_hold * mfx_ledger_page_price(live);
    if (mfx_ledger_hold(env_id, fax_id, hold) != MFX_OK) {
        *err = MFX_E_insufficient_balance;
        return MFX_ERR;
    }
    int64_t now = mfx_now_ms();
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO faxes (id, environment_id, status, to_number, from_number, csid, header_text,"
        " resolution, page_size, optimize_for, cover_page, tags, webhook_url, idempotency_key,"
        " max_attempts, ecm, t38, document_id, document_url, pages, cost_held, next_attempt_at,"
        " resent_from, created_at, updated_at)"
        " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    int i = 1;
    sqlite3_bind_text(st, i++, fax_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, i++, env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, i++, s->to);
    mfx_bind_text(st, i++, s->from_number);
    mfx_bind_text(st, i++, s->csid);
    mfx_bind_text(st, i++, s->header_text);
    mfx_bind_text(st, i++, s->resolution);
    mfx_bind_text(st, i++, s->page_size);
    mfx_bind_text(st, i++, s->optimize_for);
    mfx_bind_text(st, i++, s->cover_page ? json_object_to_json_string_ext(s->cover_page, JSON_C_TO_STRING_PLAIN) : NULL);
    mfx_bind_text(st, i++, s->tags ? json_object_to_json_string_ext(s->tags, JSON_C_TO_STRING_PLAIN) : "{}");
    mfx_bind_text(st, i++, s->webhook_url);
    mfx_bind_text(st, i++, idem_key && *idem_key ? idem_key : NULL);
    sqlite3_bind_int(st, i++, s->max_attempts);
    sqlite3_bind_int(st, i++, s->ecm);
    mfx_bind_text(st, i++, s->t38);
    mfx_bind_text(st, i++, s->document_id);
    mfx_bind_text(st, i++, s->document_url);
    if (s->pages > 0) sqlite3_bind_int(st, i++, s->pages);
    else sqlite3_bind_null(st, i++);
    sqlite3_bind_int64(st, i++, hold);
    sqlite3_bind_int64(st, i++, now);
    mfx_bind_text(st, i++, s->resent_from);
    sqlite3_bind_int64(st, i++, now);
    sqlite3_bind_int64(st, i++, now);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok) mfx_error("fax", "fax=%s insert failed: %s", fax_id, sqlite3_errmsg(mfx_db()));
    mfx_stmt_done(st);
    if (!ok) {
        *err = MFX_E_storage_unavailable;
        return MFX_ERR;
    }
    mfx_event_emit(env_id, "fax.queued", fax_id, mfx_fax_json(env_id, fax_id), NULL);
    return MFX_OK;
}

static json_object *attempts_json(const char *fax_id)
{
    json_object *arr = json_object_new_array();
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, attempt_number, started_at, completed_at, transport, sip_status, bit_rate, ecm,"
        " remote_csid, pages_sent, error_code, error_subcode, error_message"
        " FROM attempts WHERE fax_id = ? ORDER BY attempt_number");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_object *a = json_object_new_object();
        mfx_json_col_text(a, "id", st, 0);
        mfx_json_col_int(a, "attempt_number", st, 1);
        mfx_json_col_time(a, "started_at", st, 2);
        mfx_json_col_time(a, "completed_at", st, 3);
        if (mfx_col_null(st, 3)) json_object_object_add(a, "duration_ms", NULL);
        else json_object_object_add(a, "duration_ms", json_object_new_int64(sqlite3_column_int64(st, 3) - sqlite3_column_int64(st, 2)));
        mfx_json_col_text(a, "transport", st, 4);
        mfx_json_col_int(a, "sip_status", st, 5);
        mfx_json_col_int(a, "bit_rate", st, 6);
        mfx_json_col_bool(a, "ecm", st, 7);
        mfx_json_col_text(a, "remote_csid", st, 8);
        mfx_json_col_int(a, "pages_sent", st, 9);
        mfx_json_col_text(a, "error_code", st, 10);
        mfx_json_col_text(a, "error_subcode", st, 11);
        mfx_json_col_text(a, "error_message", st, 12);
        json_object_array_add(arr, a);
    }
    mfx_stmt_done(st);
    return arr;
}

/* A purged fax shows only its billing record (DESIGN §5, §12): the rest
 * was PHI and is gone. Takes ownership of full. */
static json_object *kept_fields(json_object *full)
{
    static const char *const kept[] = { "id", "object", "status", "pages", "pages_sent", "error_code", "cost",
                                        "environment", "created_at", "updated_at", "submitted_at", "completed_at",
                                        "deleted_at", "purged_at", NULL };
    json_object *o = json_object_new_object();
    for (const char *const *k = kept; *k; k++) {
        json_object *v = NULL;
        json_object_object_get_ex(full, *k, &v);
        json_object_object_add(o, *k, json_object_get(v));
    }
    json_object_object_add(o, "purged", json_object_new_boolean(1));
    json_object_put(full);
    return o;
}

json_object *mfx_fax_json(const char *env_id, const char *fax_id)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT f.id, f.status, f.to_number, f.from_number, f.csid, f.header_text, f.pages, f.pages_sent,"
        " f.resolution, f.page_size, f.optimize_for, f.cover_page, f.tags, f.webhook_url, f.idempotency_key,"
        " f.document_id, f.max_attempts, f.attempts_made, f.next_attempt_at, f.error_code, f.error_subcode,"
        " f.error_message, f.cost_held, f.cost_captured, f.resent_from, e.type, f.created_at, f.updated_at,"
        " f.submitted_at, f.completed_at, f.ecm, f.t38, f.document_url, f.deleted_at, f.purged_at"
        " FROM faxes f JOIN environments e ON e.id = f.environment_id WHERE f.id = ? AND f.environment_id = ?");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        mfx_stmt_done(st);
        return NULL;
    }
    json_object *o = json_object_new_object();
    mfx_json_col_text(o, "id", st, 0);
    json_object_object_add(o, "object", json_object_new_string("fax"));
    mfx_json_col_text(o, "status", st, 1);
    mfx_json_col_text(o, "to", st, 2);
    mfx_json_col_text(o, "from_number", st, 3);
    mfx_json_col_text(o, "csid", st, 4);
    mfx_json_col_text(o, "header_text", st, 5);
    mfx_json_col_int(o, "pages", st, 6);
    mfx_json_col_int(o, "pages_sent", st, 7);
    mfx_json_col_text(o, "resolution", st, 8);
    mfx_json_col_text(o, "page_size", st, 9);
    mfx_json_col_text(o, "optimize_for", st, 10);
    mfx_json_col_json(o, "cover_page", st, 11);
    json_object *tags = json_tokener_parse(mfx_col_text(st, 12));
    if (!tags) tags = json_object_new_object();
    json_object_object_add(o, "tags", tags);
    json_object_object_add(o, "metadata", json_object_get(tags));
    mfx_json_col_text(o, "webhook_url", st, 13);
    mfx_json_col_text(o, "idempotency_key", st, 14);
    mfx_json_col_text(o, "document_id", st, 15);
    int max_attempts = sqlite3_column_int(st, 16);
    int made = sqlite3_column_int(st, 17);
    json_object *rp = json_object_new_object();
    json_object_object_add(rp, "max", json_object_new_int(max_attempts - 1));
    json_object_object_add(rp, "backoff", json_object_new_string("exponential"));
    json_object_object_add(o, "retry_policy", rp);
    json_object_object_add(o, "max_attempts", json_object_new_int(max_attempts));
    /* Retries left: a scheduled retry is already spent, and before any
     * attempt the first one is not a retry. */
    const char *st_now = mfx_col_text(st, 1);
    int remaining = made == 0 ? max_attempts - 1
                  : !strcmp(st_now, "queued") ? max_attempts - made - 1 : max_attempts - made;
    json_object_object_add(o, "retries_remaining", json_object_new_int(remaining > 0 ? remaining : 0));
    json_object_object_add(o, "ecm", json_object_new_boolean(sqlite3_column_int(st, 30)));
    mfx_json_col_text(o, "t38", st, 31);
    mfx_json_col_text(o, "document_url", st, 32);
    const char *status = mfx_col_text(st, 1);
    if (!strcmp(status, "queued") && made > 0) mfx_json_col_time(o, "next_attempt_at", st, 18);
    else json_object_object_add(o, "next_attempt_at", NULL);
    mfx_json_col_text(o, "error_code", st, 19);
    mfx_json_col_text(o, "error_subcode", st, 20);
    mfx_json_col_text(o, "error_message", st, 21);
    json_object *cost = json_object_new_object();
    json_object_object_add(cost, "held", json_object_new_int64(mfx_fax_status_terminal(status) ? 0 : sqlite3_column_int64(st, 22)));
    json_object_object_add(cost, "captured", json_object_new_int64(sqlite3_column_int64(st, 23)));
    json_object_object_add(cost, "currency", json_object_new_string(mfx_cfg.currency));
    json_object_object_add(o, "cost", cost);
    mfx_json_col_text(o, "resent_from", st, 24);
    mfx_json_col_text(o, "environment", st, 25);
    mfx_json_col_time(o, "created_at", st, 26);
    mfx_json_col_time(o, "updated_at", st, 27);
    mfx_json_col_time(o, "submitted_at", st, 28);
    mfx_json_col_time(o, "completed_at", st, 29);
    mfx_json_col_time(o, "deleted_at", st, 33);
    bool purged = !mfx_col_null(st, 34);
    mfx_json_col_time(o, "purged_at", st, 34);
    mfx_stmt_done(st);
    if (purged) return kept_fields(o);
    json_object_object_add(o, "attempts", attempts_json(fax_id));
    return o;
}

/* env_id/fax_id -> the JSON text, all built at one database version. */
static GHashTable *text_cache;
static int64_t cache_version = -1;

static void gstring_free(gpointer s)
{
    g_string_free(s, TRUE);
}

#define TEXT_CACHE_MAX 10000

const char *mfx_fax_json_text(const char *env_id, const char *fax_id, size_t *len)
{
    int64_t version = sqlite3_total_changes64(mfx_db());
    if (!text_cache) text_cache = g_hash_table_new_full(g_str_hash, g_str_equal, free, gstring_free);
    if (version != cache_version || g_hash_table_size(text_cache) >= TEXT_CACHE_MAX) {
        g_hash_table_remove_all(text_cache);
        cache_version = version;
    }
    char key[2 * MFX_ID_MAX + 2];
    snprintf(key, sizeof key, "%s/%s", env_id, fax_id);
    GString *hit = g_hash_table_lookup(text_cache, key);
    if (!hit) {
        json_object *o = mfx_fax_json(env_id, fax_id);
        if (!o) return NULL;
        size_t n;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        hit = g_string_new_len(s, (gssize)n);
        json_object_put(o);
        g_hash_table_insert(text_cache, mfx_strdup(key), hit);
    }
    *len = hit->len;
    return hit->str;
}

void mfx_fax_cache_free(void)
{
    if (text_cache) g_hash_table_destroy(text_cache);
    text_cache = NULL;
}

int mfx_fax_env(const char *fax_id, char env_id[MFX_ID_MAX], bool *live)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT f.environment_id, e.type FROM faxes f JOIN environments e ON e.id = f.environment_id WHERE f.id = ?");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    int rc = MFX_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(env_id, MFX_ID_MAX, "%s", mfx_col_text(st, 0));
        if (live) *live = !strcmp(mfx_col_text(st, 1), "live");
        rc = MFX_OK;
    }
    mfx_stmt_done(st);
    return rc;
}
