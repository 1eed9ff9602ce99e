/* SPDX-License-Identifier: Apache-2.0
 *
 * document.c: documents are sniffed by their first bytes, never by name or
 * header; their pages are counted by a render child (mintfax-render
 * --count-only), so the daemon never parses an untrusted file itself. Files go through spool.c: sealed with the workspace's
 * data key and written durably, so a crash never leaves a half document
 * under a real id and the disk never holds a document in the clear.
 */
#include "config.h"
#include "mfx.h"
#include "document.h"
#include "ids.h"
#include "json_row.h"
#include "log.h"
#include "settings.h"
#include "render.h"
#include "spool.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *mfx_document_sniff(const unsigned char *d, size_t len)
{
    /* A PDF header may follow a little junk (PDF 1.7 §7.5.2 tolerance: 1024 bytes). */
    if (len >= 5) {
        size_t lim = len < 1024 ? len : 1024;
        if (memmem(d, lim, "%PDF-", 5)) return "application/pdf";
    }
    if (len >= 4 && ((d[0] == 'I' && d[1] == 'I' && d[2] == 42 && d[3] == 0) ||
                     (d[0] == 'M' && d[1] == 'M' && d[2] == 0 && d[3] == 42)))
        return "image/tiff";
    if (len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8)) return "image/png";
    if (len >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return "image/jpeg";
    return NULL;
}

/* A check waiting for its render child. */
struct check {
    mfx_doc_check_cb cb;
    void *arg;
};

static void checked(void *arg, const struct mfx_render_result *r)
{
    struct check *ck = arg;
    struct mfx_doc_check c = { 0 };
    if (r->ok) {
        c.pages = r->pages;
    } else if (r->error && !strcmp(r->error, "shutdown")) {
        c.api_err = MFX_E_shutting_down;
        c.outcome = MFX_E__COUNT;
        c.reason = "shutdown";
        c.message = "mintfaxd is stopping; send the request again";
    } else {
        /* The renderer's code is the fax outcome; the API answers 422. */
        const struct mfx_error_info *e = r->error ? mfx_error_lookup(r->error) : NULL;
        c.api_err = MFX_E_validation_failed;
        c.outcome = e && !e->http_status ? (enum mfx_err)(e - mfx_error_info((enum mfx_err)0)) : MFX_E_document_unreadable;
        c.reason = r->subcode;
        c.message = r->message ? r->message : "the document could not be read";
    }
    ck->cb(ck->arg, &c);
    free(ck);
}

void mfx_document_check(const unsigned char *data, size_t len, mfx_doc_check_cb cb, void *arg)
{
    struct mfx_doc_check c = { 0 };
    char msg[128];
    if (len == 0) {
        c.api_err = MFX_E_validation_failed;
        c.outcome = MFX_E_document_unreadable;
        c.reason = "empty";
        c.message = "the file is empty";
    } else if (len > (size_t)mfx_cfg.max_upload) {
        snprintf(msg, sizeof msg, "the file is larger than the limit of %lld bytes", (long long)mfx_cfg.max_upload);
        c.api_err = MFX_E_payload_too_large;
        c.outcome = MFX_E_document_fetch_failed;
        c.reason = "too_large";
        c.message = msg;
    } else if (!mfx_document_sniff(data, len)) {
        c.api_err = MFX_E_unsupported_media_type;
        c.outcome = MFX_E_document_unsupported;
        c.reason = "unsupported_type";
        c.message = "the file is not a PDF, TIFF, PNG or JPEG (checked by its content, not its name)";
    } else {
        struct check *ck = mfx_malloc(sizeof *ck);
        ck->cb = cb;
        ck->arg = arg;
        struct mfx_render_opts o = { .max_pages = (int)mfx_cfg.max_pages, .count_only = true };
        mfx_render_start(data, len, &o, checked, ck);
        return;
    }
    cb(arg, &c);
}

int mfx_document_store(const char *env_id, const char *filename, const unsigned char *data, size_t len,
                       int pages, char doc_id[MFX_ID_MAX], enum mfx_err *err, char **msg)
{
    *msg = NULL;
    const char *ct = mfx_document_sniff(data, len);
    mfx_id_new("doc_", doc_id);
    char *path = mfx_spool_write(env_id, "documents", doc_id, data, len);
    if (!path) {
        *err = MFX_E_storage_unavailable;
        *msg = mfx_strdup("the document could not be stored; nothing was changed");
        return MFX_ERR;
    }
    char sha[65];
    mfx_sha256_hex(data, len, sha);
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO documents (id, environment_id, filename, content_type, size, pages, sha256, path, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, doc_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 3, filename);
    sqlite3_bind_text(st, 4, ct, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)len);
    sqlite3_bind_int(st, 6, pages);
    sqlite3_bind_text(st, 7, sha, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, mfx_now_ms());
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    if (!ok) mfx_spool_unlink(path);
    free(path);
    if (!ok) {
        *err = MFX_E_storage_unavailable;
        *msg = mfx_strdup("the document could not be recorded; nothing was changed");
        return MFX_ERR;
    }
    return MFX_OK;
}

json_object *mfx_document_json(const char *env_id, const char *doc_id)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, filename, content_type, size, pages, sha256, created_at, deleted_at FROM documents"
        " WHERE id = ? AND environment_id = ?");
    sqlite3_bind_text(st, 1, doc_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    json_object *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        o = json_object_new_object();
        mfx_json_col_text(o, "id", st, 0);
        json_object_object_add(o, "object", json_object_new_string("document"));
        mfx_json_col_text(o, "filename", st, 1);
        mfx_json_col_text(o, "content_type", st, 2);
        mfx_json_col_int(o, "size", st, 3);
        mfx_json_col_int(o, "pages", st, 4);
        mfx_json_col_text(o, "sha256", st, 5);
        mfx_json_col_time(o, "created_at", st, 6);
        json_object_object_add(o, "deleted", json_object_new_boolean(!mfx_col_null(st, 7)));
    }
    mfx_stmt_done(st);
    return o;
}

int mfx_document_locate(const char *env_id, const char *doc_id, char **path, int *pages, char **ct)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT path, pages, content_type, deleted_at FROM documents WHERE id = ? AND environment_id = ?");
    sqlite3_bind_text(st, 1, doc_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    int rc = MFX_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (!mfx_col_null(st, 3) || mfx_col_null(st, 0)) {
            rc = MFX_ERR;
        } else {
            if (path) *path = mfx_strdup(mfx_col_text(st, 0));
            if (pages) *pages = sqlite3_column_int(st, 1);
            if (ct) *ct = mfx_strdup(mfx_col_text(st, 2));
            rc = MFX_OK;
        }
    }
    mfx_stmt_done(st);
    return rc;
}

unsigned char *mfx_document_read(const char *env_id, const char *doc_id, size_t *len, char **ct, enum mfx_err *err)
{
    char *path = NULL;
    int rc = mfx_document_locate(env_id, doc_id, &path, NULL, ct);
    if (rc != MFX_OK) {
        *err = rc == MFX_NOTFOUND ? MFX_E_not_found : MFX_E_gone;
        return NULL;
    }
    unsigned char *data = mfx_spool_read(env_id, doc_id, path, (size_t)mfx_cfg.max_upload, len, err);
    free(path);
    if (!data && ct) {
        free(*ct);
        *ct = NULL;
    }
    return data;
}
