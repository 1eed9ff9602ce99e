/* SPDX-License-Identifier: Apache-2.0
 *
 * audit.c: appending to and verifying the audit chains. The stored entry is
 * the line without its hash (the exact bytes that were hashed); the hash is
 * stored beside it, and the published line is the entry with
 * ',"hash":"<hex>"}' in place of its closing brace.
 */
#include "config.h"
#include "mfx.h"
#include "audit.h"
#include "ids.h"
#include "log.h"
#include "store.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* hex SHA-256 of prev_hash || text */
static void chain_hash(const char *prev_hash, const char *text, size_t len, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[32];
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, prev_hash, 64);
    EVP_DigestUpdate(ctx, text, len);
    EVP_DigestFinal_ex(ctx, md, NULL);
    EVP_MD_CTX_free(ctx);
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
}

void mfx_audit(const char *env_id, const char *actor, const char *action, const char *target, json_object *details)
{
    long long seq = 1;
    char prev[65] = MFX_AUDIT_GENESIS;
    sqlite3_stmt *st = mfx_stmt("SELECT seq, hash FROM audit_log WHERE environment_id = ? ORDER BY seq DESC LIMIT 1");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0) + 1;
        snprintf(prev, sizeof prev, "%s", mfx_col_text(st, 1));
    }
    mfx_stmt_done(st);
    int64_t now = mfx_now_ms();
    char ts[32];
    mfx_time_format(now, ts);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "seq", json_object_new_int64(seq));
    json_object_object_add(e, "at", json_object_new_string(ts));
    json_object_object_add(e, "actor", json_object_new_string(actor ? actor : "system"));
    json_object_object_add(e, "action", json_object_new_string(action));
    json_object_object_add(e, "target", target ? json_object_new_string(target) : NULL);
    json_object_object_add(e, "details", details ? details : json_object_new_object());
    json_object_object_add(e, "prev_hash", json_object_new_string(prev));
    size_t len;
    const char *text = json_object_to_json_string_length(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char hash[65];
    chain_hash(prev, text, len, hash);
    st = mfx_stmt("INSERT INTO audit_log (environment_id, seq, at, entry, hash) VALUES (?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, text, (int)len, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, hash, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE)
        mfx_error("audit", "appending %s to %s failed: %s", action, env_id, sqlite3_errmsg(mfx_db()));
    mfx_stmt_done(st);
    json_object_put(e);
}

void mfx_audit_workspace(const char *ws_id, const char *actor, const char *action, const char *target,
                         json_object *details)
{
    char envs[2][MFX_ID_MAX];
    int n = 0;
    sqlite3_stmt *st = mfx_stmt("SELECT id FROM environments WHERE workspace_id = ? ORDER BY type DESC");
    sqlite3_bind_text(st, 1, ws_id, -1, SQLITE_STATIC);
    while (n < 2 && sqlite3_step(st) == SQLITE_ROW) snprintf(envs[n++], MFX_ID_MAX, "%s", mfx_col_text(st, 0));
    mfx_stmt_done(st);
    for (int i = 0; i < n; i++)
        mfx_audit(envs[i], actor, action, target, details ? json_object_get(details) : NULL);
    json_object_put(details);
}

int mfx_audit_check_line(const char *line, const char *prev_hash, long long expect_seq, char next_hash[65],
                         const char **why)
{
    static const char marker[] = ",\"hash\":\"";
    const char *m = NULL;
    for (const char *p = strstr(line, marker); p; p = strstr(p + 1, marker)) m = p;
    size_t llen = strlen(line);
    while (llen > 0 && (line[llen - 1] == '\n' || line[llen - 1] == '\r')) llen--;
    if (!m || llen < (size_t)(m - line) + sizeof marker - 1 + 64 + 2 || line[llen - 1] != '}' || line[llen - 2] != '"') {
        *why = "the line has no hash at its end";
        return -1;
    }
    const char *h = m + sizeof marker - 1;
    if (h + 64 + 2 != line + llen) {
        *why = "the hash is not 64 hex characters at the end of the line";
        return -1;
    }
    size_t elen = (size_t)(m - line);
    char *entry = mfx_malloc(elen + 2);
    memcpy(entry, line, elen);
    entry[elen] = '}';
    entry[elen + 1] = '\0';
    int rc = -1;
    json_object *o = json_tokener_parse(entry);
    json_object *seq, *ph;
    char computed[65];
    if (!o || !json_object_object_get_ex(o, "seq", &seq) || !json_object_object_get_ex(o, "prev_hash", &ph)) {
        *why = "the entry is not a JSON object with seq and prev_hash";
    } else if (json_object_get_int64(seq) != expect_seq) {
        *why = "the sequence number is not the next one (an entry was removed or inserted)";
    } else if (strcmp(json_object_get_string(ph), prev_hash) != 0) {
        *why = "prev_hash is not the hash of the entry before";
    } else {
        chain_hash(prev_hash, entry, elen + 1, computed);
        if (strncmp(computed, h, 64) != 0) {
            *why = "the hash does not match the entry (the entry was changed)";
        } else {
            memcpy(next_hash, computed, 65);
            rc = 0;
        }
    }
    json_object_put(o);
    free(entry);
    return rc;
}

int mfx_audit_verify_all(char **err)
{
    *err = NULL;
    char env[MFX_ID_MAX] = "", prev[65] = MFX_AUDIT_GENESIS;
    long long expect = 1;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(mfx_db(), "SELECT environment_id, seq, entry, hash FROM audit_log ORDER BY environment_id, seq",
                       -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *e = mfx_col_text(st, 0);
        if (strcmp(e, env) != 0) {
            snprintf(env, sizeof env, "%s", e);
            memcpy(prev, MFX_AUDIT_GENESIS, 65);
            expect = 1;
        }
        /* Rebuild the published line from the stored entry and hash. */
        const char *entry = mfx_col_text(st, 2);
        size_t elen = strlen(entry);
        char *line = elen ? mfx_asprintf("%.*s,\"hash\":\"%s\"}", (int)elen - 1, entry, mfx_col_text(st, 3)) : mfx_strdup("");
        const char *why;
        char next[65];
        long long seq = sqlite3_column_int64(st, 1);
        if (mfx_audit_check_line(line, prev, expect, next, &why) != 0) {
            *err = mfx_asprintf("the audit log of %s is broken at entry %lld: %s", env, seq, why);
            free(line);
            sqlite3_finalize(st);
            return -1;
        }
        free(line);
        memcpy(prev, next, 65);
        expect++;
    }
    sqlite3_finalize(st);
    return 0;
}
