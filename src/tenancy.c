/* SPDX-License-Identifier: Apache-2.0
 *
 * tenancy.c: workspaces, environments and the installation's first start.
 * A workspace always has exactly two environments; a new sandbox starts with
 * [sandbox] initial_credits, a new live environment at 0.
 */
#include "config.h"
#include "mfx.h"
#include "tenancy.h"
#include "audit.h"
#include "auth.h"
#include "ids.h"
#include "ledger.h"
#include "log.h"
#include "settings.h"
#include "spool.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int env_insert(const char *ws_id, const char *type, char env_id[MFX_ID_MAX])
{
    mfx_id_new("env_", env_id);
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO environments (id, workspace_id, type, available, held, low_balance_threshold, created_at)"
        " VALUES (?, ?, ?, 0, 0, ?, ?)");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ws_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, mfx_cfg.low_balance_threshold);
    sqlite3_bind_int64(st, 5, mfx_now_ms());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mfx_stmt_done(st);
    return rc;
}

int mfx_workspace_create(const char *name, struct mfx_new_workspace *w)
{
    memset(w, 0, sizeof *w);
    mfx_id_new("ws_", w->id);
    sqlite3_stmt *st = mfx_stmt("INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)");
    sqlite3_bind_text(st, 1, w->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, mfx_now_ms());
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
    mfx_stmt_done(st);
    if (rc || env_insert(w->id, "sandbox", w->sandbox_env) || env_insert(w->id, "live", w->live_env) ||
        mfx_spool_workspace_key_create(w->id))
        return -1;
    if (mfx_cfg.sandbox_initial_credits > 0)
        mfx_ledger_topup(w->sandbox_env, mfx_cfg.sandbox_initial_credits, false);
    w->sandbox_key = mfx_auth_key_create("sandbox", w->id, w->sandbox_env, "default", w->sandbox_key_id);
    w->live_key = mfx_auth_key_create("live", w->id, w->live_env, "default", w->live_key_id);
    return 0;
}

void mfx_new_workspace_clear(struct mfx_new_workspace *w)
{
    free(w->sandbox_key);
    free(w->live_key);
    w->sandbox_key = w->live_key = NULL;
}

json_object *mfx_workspace_json(const char *ws_id)
{
    sqlite3_stmt *st = mfx_stmt("SELECT id, name, created_at, baa FROM workspaces WHERE id = ?");
    sqlite3_bind_text(st, 1, ws_id, -1, SQLITE_STATIC);
    json_object *o = NULL, *baa = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (!mfx_col_null(st, 3)) baa = json_tokener_parse(mfx_col_text(st, 3));
        char ts[32];
        o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(mfx_col_text(st, 0)));
        json_object_object_add(o, "object", json_object_new_string("workspace"));
        json_object_object_add(o, "name", json_object_new_string(mfx_col_text(st, 1)));
        mfx_time_format(sqlite3_column_int64(st, 2), ts);
        json_object_object_add(o, "created_at", json_object_new_string(ts));
    }
    mfx_stmt_done(st);
    if (!o) return NULL;
    json_object *envs = json_object_new_array();
    st = mfx_stmt("SELECT id, type FROM environments WHERE workspace_id = ? ORDER BY type DESC");
    sqlite3_bind_text(st, 1, ws_id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "id", json_object_new_string(mfx_col_text(st, 0)));
        json_object_object_add(e, "type", json_object_new_string(mfx_col_text(st, 1)));
        json_object_array_add(envs, e);
    }
    mfx_stmt_done(st);
    json_object_object_add(o, "environments", envs);
    json_object_object_add(o, "baa", baa);
    return o;
}

bool mfx_workspace_baa_signed(const char *ws_id)
{
    return mfx_exists("SELECT 1 FROM workspaces WHERE id = ? AND baa IS NOT NULL", ws_id, NULL);
}

bool mfx_workspace_exists(const char *ws_id)
{
    return mfx_exists("SELECT 1 FROM workspaces WHERE id = ?", ws_id, NULL);
}

int mfx_environment_find(const char *ws_id, const char *type, char env_id[MFX_ID_MAX])
{
    sqlite3_stmt *st = mfx_stmt("SELECT id FROM environments WHERE workspace_id = ? AND type = ?");
    sqlite3_bind_text(st, 1, ws_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
    int rc = MFX_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(env_id, MFX_ID_MAX, "%s", mfx_col_text(st, 0));
        rc = MFX_OK;
    }
    mfx_stmt_done(st);
    return rc;
}

int mfx_environment_info(const char *env_id, char ws_id[MFX_ID_MAX], char type[8])
{
    sqlite3_stmt *st = mfx_stmt("SELECT workspace_id, type FROM environments WHERE id = ?");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    int rc = MFX_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        if (ws_id) snprintf(ws_id, MFX_ID_MAX, "%s", mfx_col_text(st, 0));
        if (type) snprintf(type, 8, "%s", mfx_col_text(st, 1));
        rc = MFX_OK;
    }
    mfx_stmt_done(st);
    return rc;
}

/* Writes the first start's keys to path with mode 0600, atomically. */
static int write_keys_file(const char *path, const char *account_key, const struct mfx_new_workspace *w, char **err)
{
    char *tmp = mfx_asprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        *err = mfx_asprintf("cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "account_key", json_object_new_string(account_key));
    json_object_object_add(o, "workspace_id", json_object_new_string(w->id));
    json_object_object_add(o, "sandbox_key", json_object_new_string(w->sandbox_key));
    json_object_object_add(o, "live_key", json_object_new_string(w->live_key));
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
    size_t len = strlen(s);
    bool ok = write(fd, s, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    json_object_put(o);
    if (!ok || rename(tmp, path) != 0) {
        *err = mfx_asprintf("cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

int mfx_tenancy_bootstrap(const char *data_dir, char **err)
{
    *err = NULL;
    sqlite3_stmt *st = mfx_stmt("SELECT count(*) FROM api_keys WHERE kind = 'account'");
    sqlite3_step(st);
    int64_t n = sqlite3_column_int64(st, 0);
    mfx_stmt_done(st);
    if (n > 0) return 0;

    char key_id[MFX_ID_MAX];
    char *account_key;
    struct mfx_new_workspace w;
    mfx_tx_begin();
    if (mfx_cfg.account_key[0]) {
        if (strncmp(mfx_cfg.account_key, "mfx_acct_", 9) != 0 || strlen(mfx_cfg.account_key) < 25) {
            mfx_tx_end(false);
            *err = mfx_strdup("[server] account_key must start with mfx_acct_ and be at least 25 characters");
            return -1;
        }
        account_key = mfx_strdup(mfx_cfg.account_key);
        mfx_auth_key_store("account", account_key, NULL, NULL, "account", key_id);
    } else {
        account_key = mfx_auth_key_create("account", NULL, NULL, "account", key_id);
    }
    int rc = mfx_workspace_create("Default workspace", &w);
    if (rc == 0) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "sandbox_key", json_object_new_string(w.sandbox_key_id));
        json_object_object_add(d, "live_key", json_object_new_string(w.live_key_id));
        json_object_object_add(d, "first_start", json_object_new_boolean(1));
        mfx_audit_workspace(w.id, "system", "workspace.created", w.id, d);
    }
    char *path = mfx_asprintf("%s/initial-keys.json", data_dir);
    if (rc == 0) rc = write_keys_file(path, account_key, &w, err);
    else *err = mfx_asprintf("creating the default workspace failed: %s", sqlite3_errmsg(mfx_db()));
    mfx_tx_end(rc == 0);
    if (rc == 0 && mfx_tx_flush() != 0) {
        *err = mfx_strdup("committing the first start failed");
        unlink(path);
        rc = -1;
    }
    if (rc == 0) {
        /* Shown once: the database keeps only hashes. */
        printf("mintfaxd: first start; these keys are shown once and saved in %s (mode 0600):\n"
               "  account key:   %s\n  workspace:     %s\n  sandbox key:   %s\n  live key:      %s\n",
               path, account_key, w.id, w.sandbox_key, w.live_key);
        fflush(stdout);
    }
    free(path);
    free(account_key);
    mfx_new_workspace_clear(&w);
    return rc;
}
