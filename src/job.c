/* SPDX-License-Identifier: Apache-2.0
 *
 * job.c: transitions of the fax state machine (see job.h). The one place
 * that changes faxes.status is set_state(), which logs old -> new.
 */
#include "config.h"
#include "mfx.h"
#include "job.h"
#include "events.h"
#include "fax.h"
#include "ids.h"
#include "ledger.h"
#include "log.h"
#include "retention.h"
#include "settings.h"
#include "store.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct faxrow {
    char env_id[MFX_ID_MAX];
    char status[16];
    bool live;
    int max_attempts, attempts_made, pages;
    int64_t cost_held;
};

static int load(const char *fax_id, struct faxrow *f)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT f.environment_id, f.status, e.type, f.max_attempts, f.attempts_made, coalesce(f.pages, 0), f.cost_held"
        " FROM faxes f JOIN environments e ON e.id = f.environment_id WHERE f.id = ?");
    sqlite3_bind_text(st, 1, fax_id, -1, SQLITE_STATIC);
    int rc = MFX_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(f->env_id, sizeof f->env_id, "%s", mfx_col_text(st, 0));
        snprintf(f->status, sizeof f->status, "%s", mfx_col_text(st, 1));
        f->live = !strcmp(mfx_col_text(st, 2), "live");
        f->max_attempts = sqlite3_column_int(st, 3);
        f->attempts_made = sqlite3_column_int(st, 4);
        f->pages = sqlite3_column_int(st, 5);
        f->cost_held = sqlite3_column_int64(st, 6);
        rc = MFX_OK;
    }
    mfx_stmt_done(st);
    return rc;
}

static void set_state(const char *fax_id, const char *from, const char *to)
{
    sqlite3_stmt *st = mfx_stmt("UPDATE faxes SET status = ?, updated_at = ? WHERE id = ?");
    sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, mfx_now_ms());
    sqlite3_bind_text(st, 3, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    mfx_info("job", "fax=%s %s -> %s", fax_id, from, to);
}

double mfx_job_backoff(int retry, bool sandbox)
{
    double secs = mfx_cfg.backoff_base * pow(2.0, retry > 0 ? retry - 1 : 0);
    if (secs > mfx_cfg.backoff_cap) secs = mfx_cfg.backoff_cap;
    /* The sandbox's simulated world runs on its own clock. */
    return sandbox ? secs * mfx_cfg.time_scale : secs;
}

int mfx_job_attempt_begin(const char *fax_id, const char *transport, int *attempt_number)
{
    struct faxrow f;
    mfx_tx_begin();
    if (load(fax_id, &f) != MFX_OK || strcmp(f.status, "queued") != 0) {
        mfx_tx_end(false);
        return MFX_ERR;
    }
    int n = f.attempts_made + 1;
    int64_t now = mfx_now_ms();
    char att_id[MFX_ID_MAX];
    mfx_id_new("att_", att_id);
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO attempts (id, fax_id, attempt_number, started_at, transport) VALUES (?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, att_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, fax_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, n);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_text(st, 5, transport, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    st = mfx_stmt(
        "UPDATE faxes SET attempts_made = ?, submitted_at = coalesce(submitted_at, ?), next_attempt_at = NULL"
        " WHERE id = ?");
    sqlite3_bind_int(st, 1, n);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, fax_id, -1, SQLITE_STATIC);
    ok = ok && sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    if (ok) {
        set_state(fax_id, "queued", "submitted");
        mfx_event_emit(f.env_id, "fax.sending", fax_id, mfx_fax_json(f.env_id, fax_id), NULL);
    }
    mfx_tx_end(ok);
    if (ok && attempt_number) *attempt_number = n;
    return ok ? MFX_OK : MFX_ERR;
}

void mfx_job_answered(const char *fax_id)
{
    struct faxrow f;
    mfx_tx_begin();
    bool ok = load(fax_id, &f) == MFX_OK && !strcmp(f.status, "submitted");
    if (ok) set_state(fax_id, "submitted", "in_progress");
    mfx_tx_end(ok);
}

/* Closes the open attempt row with the outcome. */
static void close_attempt(const char *fax_id, const struct mfx_outcome *o, int64_t now)
{
    const struct mfx_error_info *e = o->error == MFX_E__COUNT ? NULL : mfx_error_info(o->error);
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE attempts SET completed_at = ?, sip_status = ?, bit_rate = ?, ecm = ?, remote_csid = ?,"
        " pages_sent = ?, error_code = ?, error_subcode = ?, error_message = ?, transport = coalesce(?, transport)"
        " WHERE fax_id = ? AND completed_at IS NULL");
    sqlite3_bind_int64(st, 1, now);
    if (o->sip_status) sqlite3_bind_int(st, 2, o->sip_status); else sqlite3_bind_null(st, 2);
    if (o->bit_rate) sqlite3_bind_int(st, 3, o->bit_rate); else sqlite3_bind_null(st, 3);
    if (o->ecm >= 0) sqlite3_bind_int(st, 4, o->ecm); else sqlite3_bind_null(st, 4);
    mfx_bind_text(st, 5, o->remote_csid[0] ? o->remote_csid : NULL);
    sqlite3_bind_int(st, 6, o->pages_sent);
    mfx_bind_text(st, 7, e ? e->code : NULL);
    mfx_bind_text(st, 8, o->subcode[0] ? o->subcode : NULL);
    mfx_bind_text(st, 9, e ? (o->message[0] ? o->message : e->message) : NULL);
    mfx_bind_text(st, 10, o->transport[0] ? o->transport : NULL);
    sqlite3_bind_text(st, 11, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
}

/* Terminal: settle the hold, stamp the outcome and emit the one terminal event. */
static void finish(const char *fax_id, const struct faxrow *f, const struct mfx_outcome *o, int64_t now)
{
    bool delivered = o->error == MFX_E__COUNT;
    const struct mfx_error_info *e = delivered ? NULL : mfx_error_info(o->error);
    int64_t captured = delivered ? (int64_t)o->pages_sent * mfx_ledger_page_price(f->live) : 0;
    mfx_ledger_settle(f->env_id, fax_id, f->cost_held, captured);
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE faxes SET pages_sent = max(pages_sent, ?), cost_captured = ?, error_code = ?, error_subcode = ?,"
        " error_message = ?, completed_at = ?, next_attempt_at = NULL WHERE id = ?");
    sqlite3_bind_int(st, 1, o->pages_sent);
    sqlite3_bind_int64(st, 2, captured > f->cost_held ? f->cost_held : captured);
    mfx_bind_text(st, 3, e ? e->code : NULL);
    mfx_bind_text(st, 4, e && o->subcode[0] ? o->subcode : NULL);
    mfx_bind_text(st, 5, e ? (o->message[0] ? o->message : e->message) : NULL);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_text(st, 7, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    set_state(fax_id, f->status, delivered ? "delivered" : "failed");
    mfx_event_emit(f->env_id, delivered ? "fax.delivered" : "fax.failed", fax_id, mfx_fax_json(f->env_id, fax_id), NULL);
    /* Zero footprint: the PHI goes before the terminal event is delivered
     * (the event's payload is rewritten to the kept fields in this unit). */
    if (mfx_retention_zero_footprint(f->env_id)) mfx_retention_purge(fax_id, "system", "zero_footprint");
}

void mfx_job_attempt_end(const char *fax_id, const struct mfx_outcome *o)
{
    struct faxrow f;
    mfx_tx_begin();
    if (load(fax_id, &f) != MFX_OK || (strcmp(f.status, "submitted") && strcmp(f.status, "in_progress"))) {
        /* Cancelled (or already ended) while the carrier was still busy. */
        mfx_tx_end(false);
        return;
    }
    int64_t now = mfx_now_ms();
    close_attempt(fax_id, o, now);
    const struct mfx_error_info *e = o->error == MFX_E__COUNT ? NULL : mfx_error_info(o->error);
    if (e && e->retryable && f.attempts_made < f.max_attempts) {
        double wait = mfx_job_backoff(f.attempts_made, !f.live);
        int64_t next = now + (int64_t)(wait * 1000);
        sqlite3_stmt *st = mfx_stmt(
            "UPDATE faxes SET next_attempt_at = ?, pages_sent = max(pages_sent, ?), error_code = NULL,"
            " error_subcode = NULL, error_message = NULL WHERE id = ?");
        sqlite3_bind_int64(st, 1, next);
        sqlite3_bind_int(st, 2, o->pages_sent);
        sqlite3_bind_text(st, 3, fax_id, -1, SQLITE_STATIC);
        sqlite3_step(st);
        mfx_stmt_done(st);
        set_state(fax_id, f.status, "queued");
        json_object *obj = mfx_fax_json(f.env_id, fax_id);
        /* The retry event says why, even though the fax itself is not failed. */
        json_object_object_add(obj, "last_error_code", json_object_new_string(e->code));
        mfx_event_emit(f.env_id, "fax.retry_scheduled", fax_id, obj, NULL);
        mfx_info("job", "fax=%s attempt %d %s, retry in %.3fs", fax_id, f.attempts_made, e->code, wait);
    } else {
        finish(fax_id, &f, o, now);
    }
    mfx_tx_end(true);
}

int mfx_job_fail(const char *fax_id, enum mfx_err err, const char *subcode, const char *message)
{
    struct faxrow f;
    mfx_tx_begin();
    if (load(fax_id, &f) != MFX_OK || mfx_fax_status_terminal(f.status)) {
        mfx_tx_end(false);
        return MFX_ERR;
    }
    struct mfx_outcome o = { .error = err, .ecm = -1 };
    if (subcode) snprintf(o.subcode, sizeof o.subcode, "%s", subcode);
    if (message) snprintf(o.message, sizeof o.message, "%s", message);
    int64_t now = mfx_now_ms();
    close_attempt(fax_id, &o, now);
    finish(fax_id, &f, &o, now);
    mfx_tx_end(true);
    return MFX_OK;
}

int mfx_job_set_pages(const char *fax_id, int pages, const char *document_id)
{
    struct faxrow f;
    mfx_tx_begin();
    if (load(fax_id, &f) != MFX_OK) {
        mfx_tx_end(false);
        return MFX_ERR;
    }
    int64_t hold = (int64_t)pages * mfx_ledger_page_price(f.live);
    if (mfx_ledger_rehold(f.env_id, fax_id, f.cost_held, hold) != MFX_OK) {
        mfx_tx_end(true);
        char msg[160];
        snprintf(msg, sizeof msg, "The document has %d pages; the balance cannot cover them.", pages);
        mfx_job_fail(fax_id, MFX_E_insufficient_balance_at_send, "rehold", msg);
        return MFX_ERR;
    }
    sqlite3_stmt *st = mfx_stmt("UPDATE faxes SET pages = ?, cost_held = ?, document_id = coalesce(?, document_id), updated_at = ? WHERE id = ?");
    sqlite3_bind_int(st, 1, pages);
    sqlite3_bind_int64(st, 2, hold);
    mfx_bind_text(st, 3, document_id);
    sqlite3_bind_int64(st, 4, mfx_now_ms());
    sqlite3_bind_text(st, 5, fax_id, -1, SQLITE_STATIC);
    sqlite3_step(st);
    mfx_stmt_done(st);
    mfx_tx_end(true);
    return MFX_OK;
}

int mfx_job_recover(void)
{
    /* Collect first: the transitions below use the same statements. */
    char ids[256][MFX_ID_MAX];
    int total = 0, n;
    do {
        n = 0;
        sqlite3_stmt *st = mfx_stmt("SELECT id FROM faxes WHERE status IN ('submitted','in_progress') LIMIT 256");
        while (n < 256 && sqlite3_step(st) == SQLITE_ROW) snprintf(ids[n++], MFX_ID_MAX, "%s", mfx_col_text(st, 0));
        mfx_stmt_done(st);
        for (int i = 0; i < n; i++) {
            struct mfx_outcome o = { .error = MFX_E_interrupted_by_restart, .ecm = -1 };
            snprintf(o.subcode, sizeof o.subcode, "daemon_restart");
            mfx_job_attempt_end(ids[i], &o);
            mfx_warn("job", "fax=%s attempt cut short by a restart", ids[i]);
        }
        total += n;
        mfx_tx_flush();
    } while (n == 256);
    return total;
}
