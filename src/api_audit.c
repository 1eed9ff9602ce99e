/* SPDX-License-Identifier: Apache-2.0
 *
 * api_audit.c: GET /v1/workspace/audit: the key's environment's audit chain
 * as JSON Lines, oldest first, each line exactly as it was hashed plus its
 * hash (audit.h), so `mintfax audit verify` can check a saved copy.
 * Filters: since (a seq number: entries after it; or an RFC 3339 time),
 * action, limit (default and most 100,000 lines).
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "store.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

void mfx_api_workspace_audit(struct mfx_req *req)
{
    const char *since = mfx_req_query(req, "since");
    const char *action = mfx_req_query(req, "action");
    const char *limit_s = mfx_req_query(req, "limit");
    long long since_seq = 0;
    int64_t since_ms = 0;
    long limit = 100000;
    json_object *fe = NULL;
    if (since) {
        char *end;
        since_seq = strtoll(since, &end, 10);
        if (*end || !*since || since_seq < 0) {
            since_seq = 0;
            if (mfx_time_parse(since, &since_ms) != MFX_OK)
                mfx_field_error(&fe, "since", "must be a sequence number or an RFC 3339 time");
        }
    }
    if (action && (strlen(action) > 64 || !*action)) mfx_field_error(&fe, "action", "is not an audit action");
    if (limit_s) {
        char *end;
        limit = strtol(limit_s, &end, 10);
        if (*end || !*limit_s || limit < 1 || limit > 100000) mfx_field_error(&fe, "limit", "must be from 1 to 100000");
    }
    if (fe) {
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    sqlite3_stmt *st = mfx_stmt(
        "SELECT entry, hash FROM audit_log WHERE environment_id = ?1 AND seq > ?2 AND at >= ?3"
        " AND (?4 IS NULL OR json_extract(entry, '$.action') = ?4) ORDER BY seq LIMIT ?5");
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_seq);
    sqlite3_bind_int64(st, 3, since_ms);
    mfx_bind_text(st, 4, action);
    sqlite3_bind_int64(st, 5, limit);
    struct evbuffer *out = evbuffer_new();
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *entry = mfx_col_text(st, 0);
        size_t len = strlen(entry);
        if (len < 2) continue;
        evbuffer_add(out, entry, len - 1);
        evbuffer_add_printf(out, ",\"hash\":\"%s\"}\n", mfx_col_text(st, 1));
    }
    mfx_stmt_done(st);
    size_t n = evbuffer_get_length(out);
    mfx_reply_raw(req, 200, "application/jsonl", evbuffer_pullup(out, -1), n);
    evbuffer_free(out);
}
