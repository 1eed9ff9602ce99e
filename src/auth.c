/* SPDX-License-Identifier: Apache-2.0
 *
 * auth.c: bearer key authentication against api_keys (by SHA-256), and key
 * creation. A revoked key stops working at once: every request looks it up.
 * last_used_at is written at most once a minute per key so that reads do not
 * turn into writes.
 */
#include "config.h"
#include "mfx.h"
#include "auth.h"
#include "ids.h"
#include "log.h"
#include "store.h"

#include <glib.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static GHashTable *last_used;   /* key id -> int64 ms of the last write */

/* Keys seen recently: SHA-256 of the bearer -> who it is. Only good keys are
 * kept (garbage keys cannot grow it past the number of keys), each for a
 * minute at most, and a revoke in this process drops its entry at once. */
struct cached {
    struct mfx_principal who;
    int64_t until;
};
static GHashTable *cache;

#define CACHE_MS 60000
#define CACHE_MAX 10000

static void touch(const char *key_id)
{
    if (!last_used) last_used = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    int64_t now = mfx_now_ms();
    int64_t *prev = g_hash_table_lookup(last_used, key_id);
    if (prev && now - *prev < 60000) return;
    int64_t *v = mfx_malloc(sizeof *v);
    *v = now;
    g_hash_table_replace(last_used, mfx_strdup(key_id), v);
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt("UPDATE api_keys SET last_used_at = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    mfx_tx_end(ok);
}

enum mfx_err mfx_auth_check(struct mfx_req *req)
{
    const char *h = mfx_req_header(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return MFX_E_unauthenticated;
    const char *key = h + 7;
    while (*key == ' ') key++;
    size_t len = strlen(key);
    if (len < 10 || len > 200) return MFX_E_unauthenticated;

    char hash[65];
    mfx_sha256_hex(key, len, hash);
    if (!cache) cache = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    struct cached *c = g_hash_table_lookup(cache, hash);
    int64_t now = mfx_now_ms();
    if (c && c->until > now) {
        req->auth = c->who;
        touch(req->auth.key_id);
        return MFX_E__COUNT;
    }
    sqlite3_stmt *st = mfx_stmt(
        "SELECT k.id, k.kind, k.workspace_id, k.environment_id FROM api_keys k"
        " WHERE k.hash = ? AND k.revoked_at IS NULL");
    sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
    enum mfx_err rc = MFX_E_unauthenticated;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *kind = mfx_col_text(st, 1);
        snprintf(req->auth.key_id, MFX_ID_MAX, "%s", mfx_col_text(st, 0));
        if (!strcmp(kind, "account")) {
            req->auth.kind = MFX_PRINCIPAL_ACCOUNT;
        } else {
            req->auth.kind = MFX_PRINCIPAL_ENV;
            req->auth.live = !strcmp(kind, "live");
            snprintf(req->auth.workspace_id, MFX_ID_MAX, "%s", mfx_col_text(st, 2));
            snprintf(req->auth.env_id, MFX_ID_MAX, "%s", mfx_col_text(st, 3));
        }
        rc = MFX_E__COUNT;
    }
    mfx_stmt_done(st);
    if (rc == MFX_E__COUNT) {
        if (g_hash_table_size(cache) >= CACHE_MAX) g_hash_table_remove_all(cache);
        struct cached *n = mfx_malloc(sizeof *n);
        n->who = req->auth;
        n->until = now + CACHE_MS;
        g_hash_table_replace(cache, mfx_strdup(hash), n);
        touch(req->auth.key_id);
    } else if (c) {
        g_hash_table_remove(cache, hash);
    }
    return rc;
}

static gboolean is_key(gpointer k, gpointer v, gpointer key_id)
{
    (void)k;
    return strcmp(((struct cached *)v)->who.key_id, key_id) == 0;
}

void mfx_auth_forget(const char *key_id)
{
    if (cache) g_hash_table_foreach_remove(cache, is_key, (gpointer)key_id);
}

void mfx_auth_free(void)
{
    if (cache) g_hash_table_destroy(cache);
    if (last_used) g_hash_table_destroy(last_used);
    cache = last_used = NULL;
}

void mfx_auth_key_store(const char *kind, const char *secret, const char *workspace_id,
                        const char *env_id, const char *name, char key_id[MFX_ID_MAX])
{
    char hash[65];
    char display[24];
    mfx_id_new("key_", key_id);
    mfx_sha256_hex(secret, strlen(secret), hash);
    /* Enough to recognise a key in a list, far too little to use it. */
    snprintf(display, sizeof display, "%.14s...", secret);
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO api_keys (id, kind, workspace_id, environment_id, hash, display, name, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    mfx_bind_text(st, 3, workspace_id);
    mfx_bind_text(st, 4, env_id);
    sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, display, -1, SQLITE_STATIC);
    mfx_bind_text(st, 7, name);
    sqlite3_bind_int64(st, 8, mfx_now_ms());
    if (sqlite3_step(st) != SQLITE_DONE)
        mfx_error("auth", "storing key failed: %s", sqlite3_errmsg(mfx_db()));
    mfx_stmt_done(st);
}

char *mfx_auth_key_create(const char *kind, const char *workspace_id, const char *env_id,
                          const char *name, char key_id[MFX_ID_MAX])
{
    const char *prefix = !strcmp(kind, "account") ? "mfx_acct_" : !strcmp(kind, "live") ? "mfx_live_" : "mfx_test_";
    char *secret = mfx_token_new(prefix);
    mfx_auth_key_store(kind, secret, workspace_id, env_id, name, key_id);
    return secret;
}
