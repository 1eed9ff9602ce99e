/* SPDX-License-Identifier: Apache-2.0
 *
 * api_workspaces.c: the account key's resources (workspaces, their keys and
 * top-ups) and GET /v1/workspace for an environment key. A workspace key
 * never reaches /v1/workspaces (the router answers 403).
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "audit.h"
#include "auth.h"
#include "ids.h"
#include "json_row.h"
#include "log.h"
#include "store.h"
#include "tenancy.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mfx_api_workspace_self(struct mfx_req *req)
{
    mfx_reply_json(req, 200, mfx_workspace_json(req->auth.workspace_id));
}

static json_object *key_json(const char *id, const char *env, const char *secret)
{
    json_object *k = json_object_new_object();
    json_object_object_add(k, "id", json_object_new_string(id));
    json_object_object_add(k, "object", json_object_new_string("api_key"));
    json_object_object_add(k, "environment", json_object_new_string(env));
    json_object_object_add(k, "key", json_object_new_string(secret));
    return k;
}

void mfx_api_workspace_create(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    json_object *fe = NULL, *v;
    const char *name = NULL;
    if (!json_object_object_get_ex(in, "name", &v) || !json_object_is_type(v, json_type_string) ||
        g_utf8_strlen(json_object_get_string(v), -1) < 1 || g_utf8_strlen(json_object_get_string(v), -1) > 200)
        mfx_field_error(&fe, "name", "is required: a string of 1 to 200 characters");
    else
        name = json_object_get_string(v);
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (strcmp(key, "name")) mfx_field_error(&fe, key, "is not a field of a workspace");
    }
    if (fe) {
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    struct mfx_new_workspace w;
    mfx_tx_begin();
    int rc = mfx_workspace_create(name, &w);
    if (rc == 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "sandbox_key", json_object_new_string(w.sandbox_key_id));
        json_object_object_add(d, "live_key", json_object_new_string(w.live_key_id));
        mfx_audit_workspace(w.id, req->auth.key_id, "workspace.created", w.id, d);
    }
    json_object *o = rc == 0 ? mfx_workspace_json(w.id) : NULL;
    mfx_tx_end(rc == 0);
    json_object_put(in);
    if (rc != 0) {
        mfx_new_workspace_clear(&w);
        mfx_reply_error(req, MFX_E_storage_unavailable, NULL, NULL);
        return;
    }
    json_object *keys = json_object_new_array();
    json_object_array_add(keys, key_json(w.sandbox_key_id, "sandbox", w.sandbox_key));
    json_object_array_add(keys, key_json(w.live_key_id, "live", w.live_key));
    json_object_object_add(o, "keys", keys);
    mfx_info("api", "req=%s workspace %s created", req->id, w.id);
    mfx_new_workspace_clear(&w);
    mfx_reply_json(req, 201, o);
}

void mfx_api_workspace_list(struct mfx_req *req)
{
    struct mfx_page page;
    if (mfx_api_page_parse(req, "ws_", &page) != 0) return;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(mfx_db(),
        "SELECT id FROM workspaces WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2", -1, &st, NULL);
    mfx_bind_text(st, 1, page.cursor_id[0] ? page.cursor_id : NULL);
    sqlite3_bind_int(st, 2, page.per_page + 1);
    GPtrArray *ids = g_ptr_array_new_with_free_func(free);
    while (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(ids, mfx_strdup(mfx_col_text(st, 0)));
    sqlite3_finalize(st);
    json_object *data = json_object_new_array();
    for (guint i = 0; i < ids->len; i++) json_object_array_add(data, mfx_workspace_json(g_ptr_array_index(ids, i)));
    g_ptr_array_free(ids, TRUE);
    mfx_api_page_reply(req, &page, data);
}

void mfx_api_workspace_get(struct mfx_req *req)
{
    json_object *o = mfx_workspace_json(req->params[0]);
    if (!o) {
        mfx_reply_error(req, MFX_E_not_found, "No workspace with this id.", NULL);
        return;
    }
    mfx_reply_json(req, 200, o);
}

/* Reads {"environment": "sandbox"|"live"} into the workspace's env id;
 * replies and returns -1 when it is missing, wrong, or the workspace is. */
static int env_param(struct mfx_req *req, json_object *in, char env_id[MFX_ID_MAX], const char **type, json_object **fe)
{
    json_object *v;
    *type = NULL;
    if (json_object_object_get_ex(in, "environment", &v) && json_object_is_type(v, json_type_string) &&
        (!strcmp(json_object_get_string(v), "sandbox") || !strcmp(json_object_get_string(v), "live")))
        *type = json_object_get_string(v);
    else
        mfx_field_error(fe, "environment", "must be sandbox or live");
    if (*type && mfx_environment_find(req->params[0], *type, env_id) != MFX_OK) {
        mfx_reply_error(req, MFX_E_not_found, "No workspace with this id.", NULL);
        json_object_put(*fe);
        *fe = NULL;
        return -1;
    }
    return 0;
}

void mfx_api_workspace_topup(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    char env_id[MFX_ID_MAX];
    const char *type;
    json_object *fe = NULL;
    if (env_param(req, in, env_id, &type, &fe) != 0) {
        json_object_put(in);
        return;
    }
    if (fe) {
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    int64_t amount;
    if (mfx_api_topup_parse(req, in, &amount) == 0) mfx_api_topup_apply(req, env_id, amount);
    json_object_put(in);
}

void mfx_api_key_create(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    char env_id[MFX_ID_MAX];
    const char *type;
    json_object *fe = NULL, *v;
    if (env_param(req, in, env_id, &type, &fe) != 0) {
        json_object_put(in);
        return;
    }
    const char *name = NULL;
    if (json_object_object_get_ex(in, "name", &v)) {
        if (!json_object_is_type(v, json_type_string) || g_utf8_strlen(json_object_get_string(v), -1) > 100)
            mfx_field_error(&fe, "name", "must be a string of at most 100 characters");
        else
            name = json_object_get_string(v);
    }
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (strcmp(key, "name") && strcmp(key, "environment")) mfx_field_error(&fe, key, "is not a field of a key");
    }
    if (fe) {
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    char key_id[MFX_ID_MAX], ts[32];
    mfx_tx_begin();
    char *secret = mfx_auth_key_create(type, req->params[0], env_id, name, key_id);
    json_object *ad = json_object_new_object();
    json_object_object_add(ad, "environment", json_object_new_string(type));
    json_object_object_add(ad, "name", name ? json_object_new_string(name) : NULL);
    mfx_audit(env_id, req->auth.key_id, "key.created", key_id, ad);
    mfx_tx_end(true);
    json_object *o = key_json(key_id, type, secret);
    json_object_object_add(o, "name", name ? json_object_new_string(name) : NULL);
    char display[24];
    snprintf(display, sizeof display, "%.14s...", secret);
    json_object_object_add(o, "display", json_object_new_string(display));
    mfx_time_format(mfx_now_ms(), ts);
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    mfx_info("api", "req=%s key %s created for %s %s", req->id, key_id, req->params[0], type);
    free(secret);
    json_object_put(in);
    mfx_reply_json(req, 201, o);
}

/* An api_key object (no secret) from a row of
 * (id, kind, display, name, created_at, revoked_at, last_used_at). */
static json_object *key_row_json(sqlite3_stmt *st)
{
    json_object *o = json_object_new_object();
    mfx_json_col_text(o, "id", st, 0);
    json_object_object_add(o, "object", json_object_new_string("api_key"));
    mfx_json_col_text(o, "environment", st, 1);
    mfx_json_col_text(o, "display", st, 2);
    mfx_json_col_text(o, "name", st, 3);
    mfx_json_col_time(o, "created_at", st, 4);
    mfx_json_col_time(o, "revoked_at", st, 5);
    mfx_json_col_time(o, "last_used_at", st, 6);
    return o;
}

void mfx_api_key_list(struct mfx_req *req)
{
    if (!mfx_workspace_exists(req->params[0])) {
        mfx_reply_error(req, MFX_E_not_found, "No workspace with this id.", NULL);
        return;
    }
    struct mfx_page page;
    if (mfx_api_page_parse(req, "key_", &page) != 0) return;
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, kind, display, name, created_at, revoked_at, last_used_at FROM api_keys"
        " WHERE workspace_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3");
    sqlite3_bind_text(st, 1, req->params[0], -1, SQLITE_STATIC);
    mfx_bind_text(st, 2, page.cursor_id[0] ? page.cursor_id : NULL);
    sqlite3_bind_int(st, 3, page.per_page + 1);
    json_object *data = json_object_new_array();
    while (sqlite3_step(st) == SQLITE_ROW) json_object_array_add(data, key_row_json(st));
    mfx_stmt_done(st);
    mfx_api_page_reply(req, &page, data);
}

void mfx_api_workspace_baa(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    static const char *const fields[] = { "signer_name", "signer_title", "organization", "version", NULL };
    json_object *fe = NULL, *v;
    json_object_object_foreach(in, key, val) {
        (void)val;
        bool known = false;
        for (const char *const *f = fields; *f; f++) known = known || !strcmp(*f, key);
        if (!known) mfx_field_error(&fe, key, "is not a field of a BAA signature");
    }
    for (const char *const *f = fields; *f; f++)
        if (!json_object_object_get_ex(in, *f, &v) || !json_object_is_type(v, json_type_string) ||
            g_utf8_strlen(json_object_get_string(v), -1) < 1 || g_utf8_strlen(json_object_get_string(v), -1) > 200)
            mfx_field_error(&fe, *f, "is required: a string of 1 to 200 characters");
    if (fe) {
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    char ts[32];
    mfx_time_format(mfx_now_ms(), ts);
    json_object *baa = json_object_new_object();
    json_object_object_add(baa, "signed_at", json_object_new_string(ts));
    for (const char *const *f = fields; *f; f++) {
        json_object_object_get_ex(in, *f, &v);
        json_object_object_add(baa, !strcmp(*f, "signer_name") ? "signer" : *f, json_object_new_string(json_object_get_string(v)));
    }
    json_object_object_add(baa, "key_id", json_object_new_string(req->auth.key_id));
    json_object_put(in);
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt("UPDATE workspaces SET baa = ? WHERE id = ?");
    sqlite3_bind_text(st, 1, json_object_to_json_string_ext(baa, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                      -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, req->auth.workspace_id, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    if (ok) mfx_audit_workspace(req->auth.workspace_id, req->auth.key_id, "baa.signed", req->auth.workspace_id, json_object_get(baa));
    mfx_tx_end(ok);
    json_object_object_add(baa, "object", json_object_new_string("baa"));
    mfx_info("api", "req=%s workspace %s signed the BAA", req->id, req->auth.workspace_id);
    mfx_reply_json(req, 201, baa);
}

void mfx_api_key_revoke(struct mfx_req *req)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, kind, display, name, created_at, revoked_at, last_used_at, environment_id FROM api_keys"
        " WHERE id = ? AND workspace_id = ?");
    sqlite3_bind_text(st, 1, req->params[1], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, req->params[0], -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_ROW) {
        mfx_stmt_done(st);
        mfx_reply_error(req, MFX_E_not_found, "No key with this id in this workspace.", NULL);
        return;
    }
    json_object *o = key_row_json(st);
    char ts[32], env_id[MFX_ID_MAX];
    snprintf(env_id, sizeof env_id, "%s", mfx_col_text(st, 7));
    bool was_revoked = !mfx_col_null(st, 5);
    int64_t revoked = was_revoked ? sqlite3_column_int64(st, 5) : mfx_now_ms();
    mfx_stmt_done(st);
    mfx_tx_begin();
    st = mfx_stmt("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?");
    sqlite3_bind_int64(st, 1, revoked);
    sqlite3_bind_text(st, 2, req->params[1], -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    if (ok && !was_revoked) mfx_audit(env_id, req->auth.key_id, "key.revoked", req->params[1], NULL);
    if (ok) mfx_auth_forget(req->params[1]);
    mfx_tx_end(ok);
    mfx_time_format(revoked, ts);
    json_object_object_add(o, "revoked_at", json_object_new_string(ts));
    mfx_info("api", "req=%s key %s revoked", req->id, req->params[1]);
    mfx_reply_json(req, 200, o);
}
