/* SPDX-License-Identifier: Apache-2.0
 *
 * ledger.c: the credit movements. Each one is an UPDATE of the environment
 * guarded by the database's CHECK (available >= 0, held >= 0) plus a ledger
 * row with the balances after it, so the ledger alone can rebuild a balance.
 * Crossing below the low-balance threshold emits balance.low once per
 * crossing; auto top-up (a sandbox convenience) tops up when enabled.
 */
#include "config.h"
#include "mfx.h"
#include "ledger.h"
#include "events.h"
#include "log.h"
#include "settings.h"
#include "store.h"
#include "tenancy.h"

#include <string.h>

struct balance {
    int64_t available, held, threshold;
    bool auto_enabled;
    int64_t auto_threshold, auto_amount;
    bool live;
};

static int load(const char *env_id, struct balance *b)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT available, held, low_balance_threshold, auto_top_up_enabled, auto_top_up_threshold,"
        " auto_top_up_amount, type FROM environments WHERE id = ?");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    int rc = MFX_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        b->available = sqlite3_column_int64(st, 0);
        b->held = sqlite3_column_int64(st, 1);
        b->threshold = sqlite3_column_int64(st, 2);
        b->auto_enabled = sqlite3_column_int(st, 3) != 0;
        b->auto_threshold = sqlite3_column_int64(st, 4);
        b->auto_amount = sqlite3_column_int64(st, 5);
        b->live = strcmp(mfx_col_text(st, 6), "live") == 0;
        rc = MFX_OK;
    }
    mfx_stmt_done(st);
    return rc;
}

/* Applies deltas to available and held and writes the ledger row. Returns
 * MFX_ERR if a balance would go negative (the CHECK refuses it). */
static int move(const char *env_id, const char *fax_id, const char *kind, int64_t amount,
                int64_t d_available, int64_t d_held)
{
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE environments SET available = available + ?, held = held + ? WHERE id = ?"
        " AND available + ? >= 0 AND held + ? >= 0");
    sqlite3_bind_int64(st, 1, d_available);
    sqlite3_bind_int64(st, 2, d_held);
    sqlite3_bind_text(st, 3, env_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, d_available);
    sqlite3_bind_int64(st, 5, d_held);
    bool ok = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(mfx_db()) == 1;
    mfx_stmt_done(st);
    if (!ok) return MFX_ERR;
    st = mfx_stmt(
        "INSERT INTO ledger (environment_id, at, kind, amount, fax_id, available_after, held_after)"
        " SELECT id, ?, ?, ?, ?, available, held FROM environments WHERE id = ?");
    sqlite3_bind_int64(st, 1, mfx_now_ms());
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, amount);
    mfx_bind_text(st, 4, fax_id);
    sqlite3_bind_text(st, 5, env_id, -1, SQLITE_STATIC);
    ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    return ok ? MFX_OK : MFX_ERR;
}

/* After available went down: balance.low on crossing, then auto top-up. */
static void after_decrease(const char *env_id, int64_t before)
{
    struct balance b;
    if (load(env_id, &b) != MFX_OK) return;
    if (before >= b.threshold && b.available < b.threshold)
        mfx_event_emit(env_id, "balance.low", NULL, mfx_ledger_balance_json(env_id), NULL);
    if (b.auto_enabled && b.auto_amount > 0 && b.available < b.auto_threshold)
        mfx_ledger_topup(env_id, b.auto_amount, true);
}

int mfx_ledger_hold(const char *env_id, const char *fax_id, int64_t amount)
{
    struct balance b;
    if (load(env_id, &b) != MFX_OK || b.available < amount) return MFX_ERR;
    if (move(env_id, fax_id, "hold", amount, -amount, amount) != MFX_OK) return MFX_ERR;
    if (amount > 0) after_decrease(env_id, b.available);
    return MFX_OK;
}

int mfx_ledger_rehold(const char *env_id, const char *fax_id, int64_t old_amount, int64_t new_amount)
{
    struct balance b;
    int64_t delta = new_amount - old_amount;
    if (delta == 0) return MFX_OK;
    if (load(env_id, &b) != MFX_OK || b.available < delta) return MFX_ERR;
    if (move(env_id, fax_id, "rehold", delta, -delta, delta) != MFX_OK) return MFX_ERR;
    if (delta > 0) after_decrease(env_id, b.available);
    return MFX_OK;
}

void mfx_ledger_settle(const char *env_id, const char *fax_id, int64_t held, int64_t captured)
{
    if (captured > held) captured = held;   /* never charge more than was held */
    if (captured > 0 && move(env_id, fax_id, "capture", captured, 0, -captured) != MFX_OK)
        mfx_error("ledger", "fax=%s capture of %lld failed", fax_id, (long long)captured);
    if (held - captured > 0 && move(env_id, fax_id, "release", held - captured, held - captured, -(held - captured)) != MFX_OK)
        mfx_error("ledger", "fax=%s release of %lld failed", fax_id, (long long)(held - captured));
}

void mfx_ledger_topup(const char *env_id, int64_t amount, bool event)
{
    if (move(env_id, NULL, "topup", amount, amount, 0) != MFX_OK) {
        mfx_error("ledger", "topup of %lld for %s failed", (long long)amount, env_id);
        return;
    }
    if (event) {
        json_object *bal = mfx_ledger_balance_json(env_id);
        json_object_object_add(bal, "topup_amount", json_object_new_int64(amount));
        mfx_event_emit(env_id, "balance.topup", NULL, bal, NULL);
    }
}

json_object *mfx_ledger_balance_json(const char *env_id)
{
    struct balance b;
    if (load(env_id, &b) != MFX_OK) return NULL;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("balance"));
    json_object_object_add(o, "type", json_object_new_string(b.live ? "live" : "sandbox"));
    json_object_object_add(o, "available", json_object_new_int64(b.available));
    json_object_object_add(o, "held", json_object_new_int64(b.held));
    json_object_object_add(o, "currency", json_object_new_string(mfx_cfg.currency));
    json_object_object_add(o, "low_balance_threshold", json_object_new_int64(b.threshold));
    json_object *a = json_object_new_object();
    json_object_object_add(a, "enabled", json_object_new_boolean(b.auto_enabled));
    json_object_object_add(a, "threshold", json_object_new_int64(b.auto_threshold));
    json_object_object_add(a, "amount", json_object_new_int64(b.auto_amount));
    json_object_object_add(o, "auto_top_up", a);
    return o;
}

int64_t mfx_ledger_page_price(bool live)
{
    return live ? mfx_cfg.price_live : mfx_cfg.price_sandbox;
}
