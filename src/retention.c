/* SPDX-License-Identifier: Apache-2.0
 *
 * retention.c: see retention.h. Bytes leave the disk in three ways: the
 * sealed document file is unlinked; rows are updated with secure_delete on
 * (sqlite zeroes freed content); and the WAL is checkpointed and truncated
 * after the commit so old page images of the rows do not linger in it.
 */
#include "config.h"
#include "mfx.h"
#include "retention.h"
#include "audit.h"
#include "fax.h"
#include "log.h"
#include "settings.h"
#include "spool.h"
#include "store.h"

#include <event2/event.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct event *sweep_ev;

/* After the batch commits: the files go, then the WAL is emptied. */
static void after_purge(void *arg, bool committed)
{
    GPtrArray *paths = arg;
    if (committed) {
        for (guint i = 0; i < paths->len; i++) mfx_spool_unlink(g_ptr_array_index(paths, i));
        int rc = sqlite3_wal_checkpoint_v2(mfx_db(), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        if (rc != SQLITE_OK) mfx_warn("retention", "WAL checkpoint after a purge failed: %s", sqlite3_errstr(rc));
    }
    g_ptr_array_free(paths, TRUE);
}

bool mfx_retention_zero_footprint(const char *env_id)
{
    sqlite3_stmt *st = mfx_stmt("SELECT retention FROM environments WHERE id = ?");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    bool zf = sqlite3_step(st) == SQLITE_ROW && !strcmp(mfx_col_text(st, 0), "zero_footprint");
    mfx_stmt_done(st);
    return zf;
}

/* Deletes a document row's bytes if no other un-purged fax uses it; adds
 * its file to paths. Returns 1 if removed. */
static int drop_document(const char *doc_id, const char *except_fax, int64_t now, GPtrArray *paths)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT 1 FROM faxes WHERE document_id = ? AND id != ? AND purged_at IS NULL LIMIT 1");
    sqlite3_bind_text(st, 1, doc_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, except_fax ? except_fax : "", -1, SQLITE_STATIC);
    bool in_use = sqlite3_step(st) == SQLITE_ROW;
    mfx_stmt_done(st);
    if (in_use) return 0;
    st = mfx_stmt("SELECT path FROM documents WHERE id = ? AND path IS NOT NULL");
    sqlite3_bind_text(st, 1, doc_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(paths, g_strdup(mfx_col_text(st, 0)));
    mfx_stmt_done(st);
    st = mfx_stmt("UPDATE documents SET path = NULL, filename = NULL, sha256 = '', deleted_at = coalesce(deleted_at, ?)"
                  " WHERE id = ? AND deleted_at IS NULL");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, doc_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    int removed = sqlite3_changes(mfx_db()) > 0;
    mfx_stmt_done(st);
    return removed;
}

int mfx_retention_purge(const char *fax_id, const char *actor, const char *reason)
{
    char env_id[MFX_ID_MAX], doc_id[MFX_ID_MAX] = "", status[16] = "";
    bool already = false;
    sqlite3_stmt *st = mfx_stmt("SELECT environment_id, coalesce(document_id, ''), status, purged_at FROM faxes WHERE id = ?");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    bool found = sqlite3_step(st) == SQLITE_ROW;
    if (found) {
        snprintf(env_id, sizeof env_id, "%s", mfx_col_text(st, 0));
        snprintf(doc_id, sizeof doc_id, "%s", mfx_col_text(st, 1));
        snprintf(status, sizeof status, "%s", mfx_col_text(st, 2));
        already = !mfx_col_null(st, 3);
    }
    mfx_stmt_done(st);
    if (!found || !mfx_fax_status_terminal(status)) return -1;
    if (already) return 0;

    int64_t now = mfx_now_ms();
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    st = mfx_stmt(
        "UPDATE faxes SET to_number = '', from_number = NULL, csid = NULL, header_text = NULL, cover_page = NULL,"
        " tags = '{}', webhook_url = NULL, idempotency_key = NULL, document_url = NULL, purged_at = ?,"
        " deleted_at = coalesce(deleted_at, ?), updated_at = ? WHERE id = ?");
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    int removed = doc_id[0] ? drop_document(doc_id, fax_id, now, paths) : 0;
    st = mfx_stmt("SELECT pages_file FROM faxes WHERE id = ? AND pages_file IS NOT NULL");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(paths, g_strdup(mfx_col_text(st, 0)));
    mfx_stmt_done(st);
    st = mfx_stmt("UPDATE faxes SET pages_file = NULL WHERE id = ?");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    st = mfx_stmt("UPDATE attempts SET remote_csid = NULL WHERE fax_id = ?");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    /* Every event about this fax now carries only the kept fields. */
    json_object *kept = mfx_fax_json(env_id, fax_id);
    st = mfx_stmt("UPDATE events SET payload = json_set(payload, '$.data.object', json(?)) WHERE fax_id = ?");
    sqlite3_bind_text(st, 1, json_object_to_json_string_ext(kept, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                      -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    /* A remembered answer held the whole fax: it now replays the kept
     * record, so a retry with the same Idempotency-Key still never sends a
     * second fax. */
    st = mfx_stmt("UPDATE idempotency SET body = ? WHERE environment_id = ? AND json_valid(body)"
                  " AND json_extract(body, '$.id') = ?");
    sqlite3_bind_text(st, 1, json_object_to_json_string_ext(kept, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                      -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    json_object_put(kept);

    json_object *d = json_object_new_object();
    json_object_object_add(d, "reason", json_object_new_string(reason));
    json_object_object_add(d, "document_removed", json_object_new_boolean(removed));
    mfx_audit(env_id, actor, "fax.deleted", fax_id, d);
    mfx_tx_after_commit(after_purge, paths);
    mfx_info("retention", "fax=%s purged (%s)%s", fax_id, reason, removed ? ", document removed" : "");
    return removed;
}

int mfx_retention_sweep(void)
{
    struct envr { char id[MFX_ID_MAX]; int64_t cutoff, doc_cutoff; };
    GArray *envs = g_array_new(FALSE, TRUE, sizeof(struct envr));
    int64_t now = mfx_now_ms();
    /* zero_footprint purges at once what ended before the switch to it. */
    sqlite3_stmt *st = mfx_stmt("SELECT id, retention_days, retention FROM environments");
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct envr e;
        snprintf(e.id, sizeof e.id, "%s", mfx_col_text(st, 0));
        /* Uploads no fax used yet keep retention_days in both modes. */
        e.doc_cutoff = now - (int64_t)(sqlite3_column_int64(st, 1) * mfx_cfg.retention_day_seconds * 1000);
        e.cutoff = !strcmp(mfx_col_text(st, 2), "zero_footprint") ? now + 1 : e.doc_cutoff;
        g_array_append_val(envs, e);
    }
    mfx_stmt_done(st);
    int total = 0;
    for (guint i = 0; i < envs->len; i++) {
        struct envr *e = &g_array_index(envs, struct envr, i);
        GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
        st = mfx_stmt("SELECT id FROM faxes WHERE environment_id = ? AND purged_at IS NULL"
                      " AND status IN ('delivered','failed') AND completed_at < ? LIMIT 1000");
        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e->cutoff);
        while (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(ids, g_strdup(mfx_col_text(st, 0)));
        mfx_stmt_done(st);
        /* Uploaded documents no fax has used, past the same age. */
        GPtrArray *docs = g_ptr_array_new_with_free_func(g_free);
        st = mfx_stmt("SELECT d.id FROM documents d WHERE d.environment_id = ? AND d.deleted_at IS NULL AND d.created_at < ?"
                      " AND NOT EXISTS (SELECT 1 FROM faxes f WHERE f.document_id = d.id AND f.purged_at IS NULL) LIMIT 1000");
        sqlite3_bind_text(st, 1, e->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, e->doc_cutoff);
        while (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(docs, g_strdup(mfx_col_text(st, 0)));
        mfx_stmt_done(st);
        if (ids->len || docs->len) {
            int removed = 0;
            mfx_tx_begin();
            for (guint k = 0; k < ids->len; k++)
                if (mfx_retention_purge(g_ptr_array_index(ids, k), "system", "retention_days") == 1) removed++;
            GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
            for (guint k = 0; k < docs->len; k++) removed += drop_document(g_ptr_array_index(docs, k), NULL, now, paths);
            json_object *d = json_object_new_object();
            json_object_object_add(d, "faxes", json_object_new_int((int)ids->len));
            json_object_object_add(d, "documents", json_object_new_int(removed));
            mfx_audit(e->id, "system", "retention.documents_removed", NULL, d);
            mfx_tx_after_commit(after_purge, paths);
            mfx_tx_end(true);
            total += (int)ids->len;
        }
        g_ptr_array_free(ids, TRUE);
        g_ptr_array_free(docs, TRUE);
    }
    g_array_free(envs, TRUE);
    return total;
}

static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    int n = mfx_retention_sweep();
    if (n) mfx_info("retention", "the sweeper purged %d faxes past their retention", n);
}

void mfx_retention_start(struct event_base *base)
{
    sweep_ev = event_new(base, -1, EV_PERSIST, sweep_cb, NULL);
    double s = mfx_cfg.retention_sweep_interval;
    struct timeval tv = { (time_t)s, (suseconds_t)((s - (double)(time_t)s) * 1e6) };
    event_add(sweep_ev, &tv);
}

void mfx_retention_stop(void)
{
    if (sweep_ev) event_free(sweep_ev);
    sweep_ev = NULL;
}
