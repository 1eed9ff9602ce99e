/* SPDX-License-Identifier: Apache-2.0
 *
 * idempotency.c: the canonical request is the method, the path and the body
 * in a form that does not depend on the client's formatting: JSON is parsed
 * and printed back plain; multipart is reduced to its parts (name, filename,
 * type, bytes) so a new random boundary is still the same request. The record
 * is written in the same batch as the handler's work, so a replay can never
 * see a response whose fax did not commit.
 */
#include "config.h"
#include "mfx.h"
#include "idempotency.h"
#include "ids.h"
#include "log.h"
#include "multipart.h"
#include "settings.h"
#include "store.h"

#include <glib.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GHashTable *in_flight;   /* "scope\nkey" -> 1 */

static const char *scope(struct mfx_req *req)
{
    return req->auth.kind == MFX_PRINCIPAL_ENV ? req->auth.env_id : "account";
}

static void hash_update_str(EVP_MD_CTX *ctx, const char *s)
{
    EVP_DigestUpdate(ctx, s ? s : "", s ? strlen(s) + 1 : 1);
}

static void canonical_hash(struct mfx_req *req, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    char m[16];
    snprintf(m, sizeof m, "%d", (int)req->method);
    hash_update_str(ctx, m);
    hash_update_str(ctx, req->path);
    bool done = false;
    if (mfx_req_content_type_is(req, "application/json")) {
        json_object *o = json_tokener_parse((const char *)req->body);
        if (o) {
            hash_update_str(ctx, "json");
            hash_update_str(ctx, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
            json_object_put(o);
            done = true;
        }
    } else if (mfx_req_content_type_is(req, "multipart/form-data")) {
        struct mfx_part *parts;
        char *err;
        int n = mfx_multipart_parse(mfx_req_header(req, "Content-Type"), req->body, req->body_len, &parts, &err);
        if (n >= 0) {
            hash_update_str(ctx, "multipart");
            for (int i = 0; i < n; i++) {
                hash_update_str(ctx, parts[i].name);
                hash_update_str(ctx, parts[i].filename);
                hash_update_str(ctx, parts[i].content_type);
                char l[32];
                snprintf(l, sizeof l, "%zu", parts[i].len);
                hash_update_str(ctx, l);
                EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
            }
            mfx_multipart_free(parts, n);
            done = true;
        }
        free(err);
    }
    if (!done) {
        hash_update_str(ctx, "raw");
        EVP_DigestUpdate(ctx, req->body, req->body_len);
    }
    unsigned char md[32];
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* The stored form of a key: its SHA-256, so a key that carries something
 * private never lands in the database as such (and outlives a purge). */
static void key_digest(struct mfx_req *req, char out[65])
{
    mfx_sha256_hex(req->idem_key, strlen(req->idem_key), out);
}

static char *flight_key(struct mfx_req *req)
{
    return mfx_asprintf("%s\n%s", scope(req), req->idem_key);
}

bool mfx_idempotency_begin(struct mfx_req *req, const char *key)
{
    size_t len = strlen(key);
    bool ok = len >= 1 && len <= 255;
    for (size_t i = 0; ok && i < len; i++)
        if ((unsigned char)key[i] < 0x21 || (unsigned char)key[i] > 0x7e) ok = false;
    if (!ok) {
        json_object *fe = json_object_new_object();
        json_object_object_add(fe, "Idempotency-Key", json_object_new_string("must be 1 to 255 printable ASCII characters"));
        mfx_reply_error(req, MFX_E_validation_failed, "The Idempotency-Key header is not valid.", fe);
        return true;
    }
    snprintf(req->idem_key, sizeof req->idem_key, "%s", key);
    canonical_hash(req, req->idem_hash);
    if (!in_flight) in_flight = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);

    char *fk = flight_key(req);
    if (g_hash_table_contains(in_flight, fk)) {
        free(fk);
        mfx_reply_error(req, MFX_E_idempotency_key_in_progress, NULL, NULL);
        return true;
    }

    sqlite3_stmt *st = mfx_stmt(
        "SELECT request_hash, status, headers, body FROM idempotency"
        " WHERE environment_id = ? AND key = ? AND created_at > ?");
    char digest[65];
    key_digest(req, digest);
    sqlite3_bind_text(st, 1, scope(req), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, mfx_now_ms() - (int64_t)(mfx_cfg.idempotency_ttl * 1000));
    bool replied = false;
    if (sqlite3_step(st) == SQLITE_ROW) {
        replied = true;
        if (strcmp(mfx_col_text(st, 0), req->idem_hash) != 0) {
            mfx_stmt_done(st);
            free(fk);
            mfx_reply_error(req, MFX_E_idempotency_key_reuse, NULL, NULL);
            return true;
        }
        int status = sqlite3_column_int(st, 1);
        char *ct = mfx_strdup(mfx_col_text(st, 2));
        size_t blen = (size_t)sqlite3_column_bytes(st, 3);
        void *body = mfx_malloc(blen + 1);
        memcpy(body, sqlite3_column_blob(st, 3), blen);
        mfx_stmt_done(st);
        mfx_reply_header(req, "Idempotent-Replayed", "true");
        mfx_reply_raw(req, status, ct[0] ? ct : NULL, body, blen);
        free(ct);
        free(body);
        free(fk);
        return true;
    }
    mfx_stmt_done(st);
    if (!replied) {
        g_hash_table_add(in_flight, fk);
        req->idem_in_flight = true;
    }
    return false;
}

/* Replaces every secret (API keys, webhook secrets) in a JSON value with
 * null: a replayed answer must not be a second way to read a secret, and the
 * database must not keep one in the clear. Returns true if any was found. */
static bool redact_secrets(json_object *o)
{
    static const char *const prefixes[] = { "mfx_test_", "mfx_live_", "mfx_acct_", "whsec_" };
    bool found = false;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, key, val) {
            if (json_object_is_type(val, json_type_string)) {
                for (size_t i = 0; i < MFX_ARRAY_LEN(prefixes); i++)
                    if (!strncmp(json_object_get_string(val), prefixes[i], strlen(prefixes[i]))) {
                        json_object_object_add(o, key, NULL);
                        found = true;
                        break;
                    }
            } else {
                found |= redact_secrets(val);
            }
        }
    } else if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) found |= redact_secrets(json_object_array_get_idx(o, i));
    }
    return found;
}

void mfx_idempotency_finish(struct mfx_req *req, int status, const char *content_type, struct evbuffer *body)
{
    char *fk = flight_key(req);
    g_hash_table_remove(in_flight, fk);
    free(fk);
    /* Transient answers are not remembered: the client should retry them. */
    if (status >= 500 || status == 429 || status == 409) return;
    size_t len = evbuffer_get_length(body);
    const void *stored = evbuffer_pullup(body, -1);
    json_object *parsed = NULL;
    if (content_type && !strncmp(content_type, "application/json", 16) && len) {
        json_tokener *tok = json_tokener_new();
        parsed = json_tokener_parse_ex(tok, (const char *)stored, (int)len);   /* not NUL-terminated */
        json_tokener_free(tok);
        if (parsed && redact_secrets(parsed)) {
            stored = json_object_to_json_string_length(parsed, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        }
    }
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "INSERT OR REPLACE INTO idempotency (environment_id, key, request_hash, status, headers, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)");
    char digest[65];
    key_digest(req, digest);
    sqlite3_bind_text(st, 1, scope(req), -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, req->idem_hash, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, status);
    sqlite3_bind_text(st, 5, content_type ? content_type : "", -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, stored, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, mfx_now_ms());
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok) mfx_error("idempotency", "req=%s storing the response failed: %s", req->id, sqlite3_errmsg(mfx_db()));
    mfx_stmt_done(st);
    mfx_tx_end(ok);
    json_object_put(parsed);
}

int mfx_idempotency_sweep(void)
{
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt("DELETE FROM idempotency WHERE created_at <= ?");
    sqlite3_bind_int64(st, 1, mfx_now_ms() - (int64_t)(mfx_cfg.idempotency_ttl * 1000));
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    int n = ok ? sqlite3_changes(mfx_db()) : 0;
    mfx_tx_end(ok);
    return n;
}

void mfx_idempotency_free(void)
{
    if (in_flight) g_hash_table_destroy(in_flight);
    in_flight = NULL;
}
