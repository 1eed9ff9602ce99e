/* SPDX-License-Identifier: Apache-2.0
 *
 * store.h: the sqlite database: schema and migrations, cached prepared
 * statements, and the write batch. All writes happen on the main thread.
 *
 * Group commit: a unit of work (one request, one fax outcome) runs inside a
 * SAVEPOINT of a batch transaction that stays open until the event loop has
 * no more ready work, then commits once (synchronous=FULL). Replies and other
 * side effects wait for that commit through mfx_tx_after_commit(), so nothing
 * is ever reported that did not reach the disk, and one fsync serves many
 * requests.
 */
#ifndef MFX_STORE_H
#define MFX_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct event_base;

int mfx_store_open(const char *path, struct event_base *base, char **err);
void mfx_store_close(void);
sqlite3 *mfx_db(void);

/* A prepared statement cached for the life of the store, keyed by the SQL
 * text's address (pass string literals). Bind, step, then mfx_stmt_done(). */
sqlite3_stmt *mfx_stmt(const char *sql);
void mfx_stmt_done(sqlite3_stmt *st);
/* Runs SQL that returns no rows; returns SQLITE_OK or the sqlite error code. */
int mfx_exec(const char *sql);

/* A read transaction around a request that only reads (one snapshot and one
 * lock instead of one per statement). A no-op while a batch is open; a unit
 * of work started inside it ends it first. */
void mfx_read_begin(void);
void mfx_read_end(void);

/* Opens (or joins) the batch and starts a unit of work. */
void mfx_tx_begin(void);
/* Ends the unit: keep its writes (ok) or roll them back. */
void mfx_tx_end(bool ok);
/* True while a batch is open (its writes are not yet durable). */
bool mfx_tx_pending(void);
/* Calls fn(arg, committed) once the batch commits or fails; immediately
 * (committed = true) if no batch is open. */
void mfx_tx_after_commit(void (*fn)(void *arg, bool committed), void *arg);
/* Commits the open batch now and runs its callbacks; returns 0 or -1. */
int mfx_tx_flush(void);

/* True if the cached query sql returns a row for text parameters a and b
 * (b may be NULL when the query has one parameter). */
bool mfx_exists(const char *sql, const char *a, const char *b);

/* Small helpers over sqlite3_column_* that map NULL to defaults. */
const char *mfx_col_text(sqlite3_stmt *st, int col);   /* "" for NULL */
bool mfx_col_null(sqlite3_stmt *st, int col);
/* Binds text or NULL (when s is NULL). */
void mfx_bind_text(sqlite3_stmt *st, int idx, const char *s);

#endif
