/* SPDX-License-Identifier: Apache-2.0
 *
 * store.c: opens the sqlite file in WAL mode with synchronous=FULL and
 * foreign keys on, applies the numbered migrations below in order (recorded
 * in schema_migrations), caches prepared statements, and implements the
 * group-commit batch described in store.h. Queries belonging to one resource
 * live with that resource (fax.c, ledger.c, ...); this file owns only the
 * connection and the schema.
 */
#include "config.h"
#include "mfx.h"
#include "store.h"
#include "log.h"

#include <event2/event.h>
#include <glib.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static sqlite3 *db;
static GHashTable *stmts;          /* const char *sql (by address) -> sqlite3_stmt * */
static struct event *flush_ev;
static bool batch_open;
static bool read_open;
static int unit_depth;

struct after_commit {
    void (*fn)(void *arg, bool committed);
    void *arg;
};
static GArray *pending;            /* struct after_commit, in order */

/* Each migration is applied once, in its own transaction. Never edit an
 * applied migration: add a new one. */
static const char *migrations[] = {
    /* 1: the core schema */
    "CREATE TABLE workspaces ("
    "  id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE environments ("
    "  id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL REFERENCES workspaces(id),"
    "  type TEXT NOT NULL CHECK (type IN ('sandbox','live')),"
    "  available INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),"
    "  held INTEGER NOT NULL DEFAULT 0 CHECK (held >= 0),"
    "  low_balance_threshold INTEGER NOT NULL,"
    "  auto_top_up_enabled INTEGER NOT NULL DEFAULT 0,"
    "  auto_top_up_threshold INTEGER NOT NULL DEFAULT 0,"
    "  auto_top_up_amount INTEGER NOT NULL DEFAULT 0,"
    "  default_retries INTEGER,"
    "  retention TEXT NOT NULL DEFAULT 'standard',"
    "  retention_days INTEGER NOT NULL DEFAULT 90,"
    "  created_at INTEGER NOT NULL, UNIQUE (workspace_id, type));"
    "CREATE TABLE api_keys ("
    "  id TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('account','sandbox','live')),"
    "  workspace_id TEXT REFERENCES workspaces(id), environment_id TEXT REFERENCES environments(id),"
    "  hash TEXT NOT NULL UNIQUE, display TEXT NOT NULL, name TEXT,"
    "  created_at INTEGER NOT NULL, revoked_at INTEGER, last_used_at INTEGER);"
    "CREATE TABLE documents ("
    "  id TEXT PRIMARY KEY, environment_id TEXT NOT NULL REFERENCES environments(id),"
    "  filename TEXT, content_type TEXT NOT NULL, size INTEGER NOT NULL, pages INTEGER,"
    "  sha256 TEXT NOT NULL, path TEXT, created_at INTEGER NOT NULL, deleted_at INTEGER);"
    "CREATE TABLE faxes ("
    "  id TEXT PRIMARY KEY, environment_id TEXT NOT NULL REFERENCES environments(id),"
    "  status TEXT NOT NULL, to_number TEXT NOT NULL, from_number TEXT, csid TEXT,"
    "  header_text TEXT, resolution TEXT NOT NULL, page_size TEXT, optimize_for TEXT,"
    "  cover_page TEXT, tags TEXT NOT NULL DEFAULT '{}', webhook_url TEXT, idempotency_key TEXT,"
    "  max_attempts INTEGER NOT NULL, attempts_made INTEGER NOT NULL DEFAULT 0,"
    "  ecm INTEGER NOT NULL DEFAULT 1, t38 TEXT NOT NULL DEFAULT 'auto',"
    "  document_id TEXT REFERENCES documents(id), document_url TEXT,"
    "  pages INTEGER, pages_sent INTEGER NOT NULL DEFAULT 0,"
    "  cost_held INTEGER NOT NULL DEFAULT 0, cost_captured INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER, error_code TEXT, error_subcode TEXT, error_message TEXT,"
    "  resent_from TEXT, deleted_at INTEGER,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
    "  submitted_at INTEGER, completed_at INTEGER);"
    "CREATE INDEX faxes_env_created ON faxes(environment_id, id DESC);"
    "CREATE INDEX faxes_due ON faxes(status, next_attempt_at);"
    "CREATE TABLE attempts ("
    "  id TEXT PRIMARY KEY, fax_id TEXT NOT NULL REFERENCES faxes(id), attempt_number INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL, completed_at INTEGER, transport TEXT NOT NULL,"
    "  sip_status INTEGER, bit_rate INTEGER, ecm INTEGER, remote_csid TEXT,"
    "  pages_sent INTEGER NOT NULL DEFAULT 0, error_code TEXT, error_subcode TEXT, error_message TEXT,"
    "  UNIQUE (fax_id, attempt_number));"
    "CREATE TABLE events ("
    "  id TEXT PRIMARY KEY, environment_id TEXT NOT NULL REFERENCES environments(id),"
    "  type TEXT NOT NULL, fax_id TEXT, created_at INTEGER NOT NULL, payload TEXT NOT NULL);"
    "CREATE INDEX events_env ON events(environment_id, id DESC);"
    "CREATE INDEX events_fax ON events(fax_id);"
    "CREATE TABLE ledger ("
    "  id INTEGER PRIMARY KEY, environment_id TEXT NOT NULL REFERENCES environments(id),"
    "  at INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('hold','rehold','capture','release','topup')),"
    "  amount INTEGER NOT NULL, fax_id TEXT, available_after INTEGER NOT NULL, held_after INTEGER NOT NULL);"
    "CREATE TABLE idempotency ("
    "  environment_id TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL,"
    "  status INTEGER NOT NULL, headers TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (environment_id, key));"
    "CREATE TABLE numbers ("
    "  id TEXT PRIMARY KEY, environment_id TEXT NOT NULL REFERENCES environments(id),"
    "  number TEXT NOT NULL, caller_id_name TEXT, tsi TEXT, created_at INTEGER NOT NULL,"
    "  UNIQUE (environment_id, number));",

    /* 2: webhook endpoints, deliveries (the outbox, one per event and target)
     * and every delivery attempt */
    "CREATE TABLE webhook_endpoints ("
    "  id TEXT PRIMARY KEY, environment_id TEXT NOT NULL REFERENCES environments(id),"
    "  url TEXT NOT NULL, events TEXT, description TEXT, is_active INTEGER NOT NULL DEFAULT 1,"
    "  secret TEXT NOT NULL, old_secret TEXT, old_secret_until INTEGER,"
    "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, deleted_at INTEGER);"
    "CREATE INDEX webhook_endpoints_env ON webhook_endpoints(environment_id, id DESC);"
    "CREATE TABLE webhook_deliveries ("
    "  id TEXT PRIMARY KEY, event_id TEXT NOT NULL REFERENCES events(id),"
    "  environment_id TEXT NOT NULL REFERENCES environments(id), endpoint_id TEXT, url TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending','delivered','failed','cancelled')),"
    "  attempts_made INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL,"
    "  next_attempt_at INTEGER, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
    "CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);"
    "CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, status);"
    "CREATE TABLE webhook_attempts ("
    "  id TEXT PRIMARY KEY, delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id),"
    "  environment_id TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL, endpoint_id TEXT,"
    "  url TEXT NOT NULL, attempt_number INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('sending','succeeded','failed')),"
    "  sent_at INTEGER NOT NULL, duration_ms INTEGER, request_headers TEXT NOT NULL,"
    "  response_status INTEGER, response_body BLOB, error TEXT,"
    "  UNIQUE (delivery_id, attempt_number));"
    "CREATE INDEX webhook_attempts_env ON webhook_attempts(environment_id, id DESC);"
    "CREATE INDEX webhook_attempts_sending ON webhook_attempts(status);",

    /* 3: compliance: data keys (wrapped by the master key), the BAA, the
     * audit chain per environment, and the purge of a fax's PHI */
    "CREATE TABLE workspace_keys ("
    "  workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id), wrapped TEXT NOT NULL,"
    "  master_key_id TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "ALTER TABLE workspaces ADD COLUMN baa TEXT;"
    "CREATE TABLE audit_log ("
    "  environment_id TEXT NOT NULL REFERENCES environments(id), seq INTEGER NOT NULL,"
    "  at INTEGER NOT NULL, entry TEXT NOT NULL, hash TEXT NOT NULL,"
    "  PRIMARY KEY (environment_id, seq));"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "ALTER TABLE faxes ADD COLUMN purged_at INTEGER;"
    "CREATE INDEX faxes_retention ON faxes(environment_id, completed_at) WHERE purged_at IS NULL;",

    /* 4: the fax's rendered pages (sealed TIFF-F in the spool) */
    "ALTER TABLE faxes ADD COLUMN pages_file TEXT;",
};

static void finalize_stmt(gpointer st)
{
    sqlite3_finalize(st);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    mfx_tx_flush();
}

int mfx_store_open(const char *path, struct event_base *base, char **err)
{
    *err = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        *err = mfx_asprintf("cannot open database %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        db = NULL;
        return -1;
    }
    sqlite3_busy_timeout(db, 5000);
    static const char *pragmas =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        "PRAGMA secure_delete=ON; PRAGMA temp_store=MEMORY;"
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);";
    char *msg = NULL;
    if (sqlite3_exec(db, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
        *err = mfx_asprintf("cannot set up database %s: %s", path, msg);
        sqlite3_free(msg);
        return -1;
    }
    stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, finalize_stmt);
    pending = g_array_new(FALSE, FALSE, sizeof(struct after_commit));

    for (size_t v = 1; v <= MFX_ARRAY_LEN(migrations); v++) {
        sqlite3_stmt *st;
        sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st, NULL);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
        bool applied = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
        if (applied) continue;
        char *sql = mfx_asprintf("BEGIN IMMEDIATE; %s; INSERT INTO schema_migrations VALUES (%zu, %lld); COMMIT;",
                                 migrations[v - 1], v, (long long)mfx_now_ms());
        int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
        free(sql);
        if (rc != SQLITE_OK) {
            *err = mfx_asprintf("database migration %zu failed: %s", v, msg);
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        mfx_info("store", "applied migration %zu", v);
    }
    if (base) {
        flush_ev = event_new(base, -1, 0, flush_cb, NULL);
        /* Lowest priority: the batch commits after every ready request ran. */
        event_priority_set(flush_ev, 2);
    }
    return 0;
}

void mfx_store_close(void)
{
    if (!db) return;
    mfx_tx_flush();
    if (flush_ev) event_free(flush_ev);
    flush_ev = NULL;
    g_hash_table_destroy(stmts);
    g_array_free(pending, TRUE);
    /* Checkpoint so the WAL does not keep old pages after a clean stop. */
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(db);
    db = NULL;
}

sqlite3 *mfx_db(void)
{
    return db;
}

sqlite3_stmt *mfx_stmt(const char *sql)
{
    sqlite3_stmt *st = g_hash_table_lookup(stmts, sql);
    if (st) return st;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        /* SQL text is ours, so this is a programming error, never input. */
        mfx_error("store", "prepare failed: %s: %s", sqlite3_errmsg(db), sql);
        abort();
    }
    g_hash_table_insert(stmts, (gpointer)sql, st);
    return st;
}

void mfx_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

int mfx_exec(const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        mfx_error("store", "%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
    }
    return rc;
}

void mfx_read_begin(void)
{
    if (batch_open || read_open) return;
    read_open = mfx_exec("BEGIN DEFERRED") == SQLITE_OK;
}

void mfx_read_end(void)
{
    if (!read_open) return;
    read_open = false;
    mfx_exec("COMMIT");
}

void mfx_tx_begin(void)
{
    mfx_read_end();
    if (!batch_open) {
        if (mfx_exec("BEGIN IMMEDIATE") != SQLITE_OK) abort();
        batch_open = true;
        if (flush_ev) event_active(flush_ev, EV_TIMEOUT, 0);
    }
    unit_depth++;
    mfx_exec("SAVEPOINT unit");
}

void mfx_tx_end(bool ok)
{
    if (unit_depth <= 0) abort();
    if (!ok) mfx_exec("ROLLBACK TO unit");
    mfx_exec("RELEASE unit");
    unit_depth--;
    if (!flush_ev && unit_depth == 0) mfx_tx_flush();   /* no loop (tools, tests): commit now */
}

bool mfx_tx_pending(void)
{
    return batch_open;
}

void mfx_tx_after_commit(void (*fn)(void *arg, bool committed), void *arg)
{
    if (!batch_open) {
        fn(arg, true);
        return;
    }
    struct after_commit ac = { fn, arg };
    g_array_append_val(pending, ac);
}

int mfx_tx_flush(void)
{
    if (!batch_open) return 0;
    if (unit_depth > 0) {
        /* A unit is still open (a callback flushed from inside one): try later. */
        if (flush_ev) event_active(flush_ev, EV_TIMEOUT, 0);
        return 0;
    }
    bool ok = mfx_exec("COMMIT") == SQLITE_OK;
    if (!ok) mfx_exec("ROLLBACK");
    batch_open = false;
    /* Callbacks may open a new batch; take the list first. */
    GArray *todo = pending;
    pending = g_array_new(FALSE, FALSE, sizeof(struct after_commit));
    for (guint i = 0; i < todo->len; i++) {
        struct after_commit *ac = &g_array_index(todo, struct after_commit, i);
        ac->fn(ac->arg, ok);
    }
    g_array_free(todo, TRUE);
    return ok ? 0 : -1;
}

bool mfx_exists(const char *sql, const char *a, const char *b)
{
    sqlite3_stmt *st = mfx_stmt(sql);
    sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
    if (b) sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
    bool yes = sqlite3_step(st) == SQLITE_ROW;
    mfx_stmt_done(st);
    return yes;
}

const char *mfx_col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

bool mfx_col_null(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL;
}

void mfx_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    if (s) sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, idx);
}
