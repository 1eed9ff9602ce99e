/* SPDX-License-Identifier: Apache-2.0
 *
 * document.c: documents are sniffed by their first bytes, never by name or
 * header. PDFs are opened with poppler-glib only to count pages here; the
 * documents issue moves all parsing of untrusted files into sandboxed
 * render children. Files go through spool.c: sealed with the workspace's
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
#include "spool.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <poppler.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

/* Why the last mfx_document_store refused (a fax outcome code). */
static enum mfx_err last_refusal = MFX_E_document_unreadable;

enum mfx_err mfx_document_refusal_outcome(void)
{
    return last_refusal;
}

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

/* libtiff reads from memory through these client procs. */
struct membuf {
    const unsigned char *data;
    size_t len, pos;
};

static tsize_t mem_read(thandle_t h, tdata_t buf, tsize_t n)
{
    struct membuf *m = (struct membuf *)h;
    size_t left = m->len - m->pos;
    size_t k = (size_t)n < left ? (size_t)n : left;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (tsize_t)k;
}
static tsize_t mem_write(thandle_t h, tdata_t buf, tsize_t n) { (void)h; (void)buf; (void)n; return -1; }
static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    struct membuf *m = (struct membuf *)h;
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
    uint64_t np = base + off;
    if (np > m->len) np = m->len;
    m->pos = (size_t)np;
    return (toff_t)np;
}
static int mem_close(thandle_t h) { (void)h; return 0; }
static toff_t mem_size(thandle_t h) { return (toff_t)((struct membuf *)h)->len; }
static int mem_map(thandle_t h, tdata_t *base, toff_t *size) { (void)h; (void)base; (void)size; return 0; }
static void mem_unmap(thandle_t h, tdata_t base, toff_t size) { (void)h; (void)base; (void)size; }

static void tiff_quiet(const char *module, const char *fmt, va_list ap) { (void)module; (void)fmt; (void)ap; }

static int count_tiff(const unsigned char *data, size_t len, int max_pages, int *pages, char **msg)
{
    TIFFSetErrorHandler(tiff_quiet);
    TIFFSetWarningHandler(tiff_quiet);
    struct membuf m = { data, len, 0 };
    TIFF *t = TIFFClientOpen("upload", "rm", (thandle_t)&m, mem_read, mem_write, mem_seek, mem_close,
                             mem_size, mem_map, mem_unmap);
    if (!t) {
        *msg = mfx_strdup("the TIFF file could not be read");
        return MFX_ERR;
    }
    int n = 1;
    while (n <= max_pages && TIFFReadDirectory(t)) n++;
    TIFFClose(t);
    *pages = n;
    return MFX_OK;
}

static int count_pdf(const unsigned char *data, size_t len, int *pages, char **msg)
{
    GError *gerr = NULL;
    GBytes *bytes = g_bytes_new_static(data, len);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    g_bytes_unref(bytes);
    if (!doc) {
        bool encrypted = gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED;
        last_refusal = encrypted ? MFX_E_document_encrypted : MFX_E_document_unreadable;
        *msg = encrypted ? mfx_strdup("the PDF is encrypted and needs a password")
                         : mfx_asprintf("the PDF could not be read (%s)", gerr ? gerr->message : "unknown error");
        if (gerr) g_error_free(gerr);
        return MFX_ERR;
    }
    *pages = poppler_document_get_n_pages(doc);
    g_object_unref(doc);
    if (*pages < 1) {
        *msg = mfx_strdup("the PDF has no pages");
        return MFX_ERR;
    }
    return MFX_OK;
}

int mfx_document_count_pages(const char *ct, const unsigned char *data, size_t len, int max_pages,
                             int *pages, char **msg)
{
    *msg = NULL;
    *pages = 0;
    if (!strcmp(ct, "application/pdf")) return count_pdf(data, len, pages, msg);
    if (!strcmp(ct, "image/tiff")) return count_tiff(data, len, max_pages, pages, msg);
    *pages = 1;
    return MFX_OK;
}

int mfx_document_store(const char *env_id, const char *filename, const unsigned char *data, size_t len,
                       char doc_id[MFX_ID_MAX], int *pages, enum mfx_err *err, char **msg)
{
    *msg = NULL;
    if (len == 0) {
        *err = MFX_E_validation_failed;
        *msg = mfx_strdup("the file is empty");
        return MFX_ERR;
    }
    if (len > (size_t)mfx_cfg.max_upload) {
        *err = MFX_E_payload_too_large;
        *msg = mfx_asprintf("the file is larger than the limit of %lld bytes", (long long)mfx_cfg.max_upload);
        return MFX_ERR;
    }
    last_refusal = MFX_E_document_unreadable;
    const char *ct = mfx_document_sniff(data, len);
    if (!ct) {
        last_refusal = MFX_E_document_unsupported;
        *err = MFX_E_unsupported_media_type;
        *msg = mfx_strdup("the file is not a PDF, TIFF, PNG or JPEG (checked by its content, not its name)");
        return MFX_ERR;
    }
    if (mfx_document_count_pages(ct, data, len, (int)mfx_cfg.max_pages, pages, msg) != MFX_OK) {
        *err = MFX_E_validation_failed;
        return MFX_ERR;
    }
    if (*pages > mfx_cfg.max_pages) {
        last_refusal = MFX_E_document_too_many_pages;
        *err = MFX_E_validation_failed;
        *msg = mfx_asprintf("the document has %s%d pages; the limit is %lld",
                            !strcmp(ct, "image/tiff") ? "more than " : "",
                            !strcmp(ct, "image/tiff") ? (int)mfx_cfg.max_pages : *pages, (long long)mfx_cfg.max_pages);
        return MFX_ERR;
    }
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
    sqlite3_bind_int(st, 6, *pages);
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
