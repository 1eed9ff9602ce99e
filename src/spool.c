/* SPDX-License-Identifier: Apache-2.0
 *
 * spool.c: sealed files under DATA_DIR. Unwrapped data keys are cached in
 * memory per workspace (they are needed for every read and write); the
 * database only ever holds them wrapped by the master key.
 */
#include "config.h"
#include "mfx.h"
#include "spool.h"
#include "crypto.h"
#include "log.h"
#include "settings.h"
#include "store.h"
#include "tenancy.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static GHashTable *keys;   /* workspace id -> unsigned char[32] */

static void key_free(gpointer k)
{
    OPENSSL_cleanse(k, MFX_DATA_KEY_LEN);
    free(k);
}

int mfx_spool_workspace_key_create(const char *ws_id)
{
    char *wrapped;
    char key_id[MFX_KEY_ID_LEN];
    mfx_crypto_data_key_new(&wrapped, key_id);
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO workspace_keys (workspace_id, wrapped, master_key_id, created_at) VALUES (?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, ws_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, wrapped, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, mfx_now_ms());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mfx_stmt_done(st);
    free(wrapped);
    return rc;
}

/* The data key of env_id's workspace, created on first use for workspaces
 * made before encryption existed. NULL if it cannot be unwrapped. */
static const unsigned char *data_key(const char *env_id)
{
    char ws[MFX_ID_MAX];
    if (mfx_environment_info(env_id, ws, NULL) != MFX_OK) return NULL;
    if (!keys) keys = g_hash_table_new_full(g_str_hash, g_str_equal, free, key_free);
    unsigned char *k = g_hash_table_lookup(keys, ws);
    if (k) return k;
    for (int pass = 0; pass < 2 && !k; pass++) {
        sqlite3_stmt *st = mfx_stmt("SELECT wrapped, master_key_id FROM workspace_keys WHERE workspace_id = ?");
        sqlite3_bind_text(st, 1, ws, -1, SQLITE_STATIC);
        bool found = sqlite3_step(st) == SQLITE_ROW;
        if (found) {
            k = mfx_malloc(MFX_DATA_KEY_LEN);
            if (mfx_crypto_data_key_unwrap(mfx_col_text(st, 0), mfx_col_text(st, 1), k) != 0) {
                mfx_error("spool", "the data key of %s cannot be unwrapped with the loaded master key", ws);
                free(k);
                k = NULL;
                pass = 2;
            }
        }
        mfx_stmt_done(st);
        if (!found) {
            mfx_tx_begin();
            mfx_tx_end(mfx_spool_workspace_key_create(ws) == 0);
        }
    }
    if (k) g_hash_table_insert(keys, mfx_strdup(ws), k);
    return k;
}

static int mkdir_p(const char *path)
{
    char *p = mfx_strdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) { free(p); return -1; }
        *s = '/';
    }
    int rc = mkdir(p, 0700) != 0 && errno != EEXIST ? -1 : 0;
    free(p);
    return rc;
}

static void fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

/* Writes data to path durably (temp file, fsync, rename, fsync dir). */
static int write_durable(const char *dir, const char *path, const unsigned char *data, size_t len)
{
    char *tmp = mfx_asprintf("%s.part", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = -1;
    if (fd >= 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t w = write(fd, data + off, len - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == len && fsync(fd) == 0) rc = 0;
        close(fd);
    }
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    if (rc != 0) unlink(tmp);
    free(tmp);
    if (rc == 0) fsync_dir(dir);
    return rc;
}

char *mfx_spool_write(const char *env_id, const char *kind, const char *id, const void *data, size_t len)
{
    const unsigned char *key = data_key(env_id);
    if (!key) return NULL;
    size_t slen;
    unsigned char *sealed = mfx_crypto_seal(key, id, data, len, &slen);
    if (!sealed) return NULL;
    char *dir = mfx_asprintf("%s/%s/%s", mfx_cfg.data_dir, kind, env_id);
    char *path = mfx_asprintf("%s/%s", dir, id);
    int rc = mkdir_p(dir) == 0 ? write_durable(dir, path, sealed, slen) : -1;
    if (rc != 0) mfx_error("spool", "writing %s failed: %s", path, strerror(errno));
    free(sealed);
    free(dir);
    if (rc != 0) {
        free(path);
        return NULL;
    }
    return path;
}

unsigned char *mfx_spool_read(const char *env_id, const char *id, const char *path, size_t max, size_t *len,
                              enum mfx_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *err = MFX_E_gone;
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || (size_t)sb.st_size > max + 64) {
        close(fd);
        *err = MFX_E_data_integrity_failed;
        return NULL;
    }
    size_t size = (size_t)sb.st_size, off = 0;
    unsigned char *buf = mfx_malloc(size + 1);
    while (off < size) {
        ssize_t r = read(fd, buf + off, size - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        off += (size_t)r;
    }
    close(fd);
    const unsigned char *key = off == size ? data_key(env_id) : NULL;
    unsigned char *plain = key ? mfx_crypto_open(key, id, buf, size, len) : NULL;
    free(buf);
    if (!plain) {
        mfx_error("spool", "%s failed its integrity check; refusing to use it", path);
        *err = MFX_E_data_integrity_failed;
    }
    return plain;
}

void mfx_spool_unlink(const char *path)
{
    if (unlink(path) != 0 && errno != ENOENT) {
        mfx_warn("spool", "unlinking %s failed: %s", path, strerror(errno));
        return;
    }
    char *dir = mfx_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        fsync_dir(dir);
    }
    free(dir);
}

int mfx_spool_rewrap_all(char **err)
{
    *err = NULL;
    GPtrArray *ws = g_ptr_array_new_with_free_func(g_free), *wrapped = g_ptr_array_new_with_free_func(g_free),
              *kid = g_ptr_array_new_with_free_func(g_free);
    sqlite3_stmt *st = mfx_stmt("SELECT workspace_id, wrapped, master_key_id FROM workspace_keys");
    while (sqlite3_step(st) == SQLITE_ROW) {
        g_ptr_array_add(ws, g_strdup(mfx_col_text(st, 0)));
        g_ptr_array_add(wrapped, g_strdup(mfx_col_text(st, 1)));
        g_ptr_array_add(kid, g_strdup(mfx_col_text(st, 2)));
    }
    mfx_stmt_done(st);
    int n = 0;
    mfx_tx_begin();
    for (guint i = 0; i < ws->len && !*err; i++) {
        char *nw;
        char nk[MFX_KEY_ID_LEN];
        if (mfx_crypto_rewrap(g_ptr_array_index(wrapped, i), g_ptr_array_index(kid, i), &nw, nk) != 0) {
            *err = mfx_asprintf("the data key of %s cannot be unwrapped with the current master key",
                                (char *)g_ptr_array_index(ws, i));
            break;
        }
        st = mfx_stmt("UPDATE workspace_keys SET wrapped = ?, master_key_id = ? WHERE workspace_id = ?");
        sqlite3_bind_text(st, 1, nw, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, nk, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, g_ptr_array_index(ws, i), -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE) n++;
        mfx_stmt_done(st);
        free(nw);
    }
    mfx_tx_end(*err == NULL);
    g_ptr_array_free(ws, TRUE);
    g_ptr_array_free(wrapped, TRUE);
    g_ptr_array_free(kid, TRUE);
    if (*err) return -1;
    if (mfx_tx_flush() != 0) {
        *err = mfx_strdup("committing the re-wrapped keys failed");
        return -1;
    }
    return n;
}

int mfx_spool_finish_rotation(char **err)
{
    *err = NULL;
    const char *pending = mfx_crypto_pending_key_id();
    if (!pending) return 0;
    sqlite3_stmt *st = mfx_stmt("SELECT count(*) FROM workspace_keys WHERE master_key_id = ?");
    sqlite3_bind_text(st, 1, pending, -1, SQLITE_STATIC);
    sqlite3_step(st);
    bool committed = sqlite3_column_int64(st, 0) > 0;
    mfx_stmt_done(st);
    if (!committed) return 0;
    mfx_info("crypto", "finishing a master key rotation that was cut short");
    return mfx_crypto_rotate_commit(err);
}

void mfx_spool_free(void)
{
    if (keys) g_hash_table_destroy(keys);
    keys = NULL;
}
