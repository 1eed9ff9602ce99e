/* SPDX-License-Identifier: Apache-2.0
 *
 * api_environment.c: the key's own environment: balance, top-ups (sandbox
 * keys top up their own sandbox; live credits come from the operator through
 * the account key) and settings.
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "audit.h"
#include "ledger.h"
#include "settings.h"
#include "store.h"

#include <stdio.h>

#include <string.h>

void mfx_api_balance_get(struct mfx_req *req)
{
    mfx_reply_json(req, 200, mfx_ledger_balance_json(req->auth.env_id));
}

/* Parses {"amount": 1..10,000,000}; replies and returns -1 on bad input. */
static int topup_amount(struct mfx_req *req, json_object *in, int64_t *amount)
{
    json_object *v, *fe = NULL;
    if (!json_object_object_get_ex(in, "amount", &v) || !json_object_is_type(v, json_type_int) ||
        json_object_get_int64(v) < 1 || json_object_get_int64(v) > 10000000) {
        mfx_field_error(&fe, "amount", "must be a whole number of credits from 1 to 10000000");
    }
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (strcmp(key, "amount") && strcmp(key, "environment")) mfx_field_error(&fe, key, "is not a field of a top-up");
    }
    if (fe) {
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return -1;
    }
    *amount = json_object_get_int64(v);
    return 0;
}

/* Adds credits to env_id in one unit and replies 201 with the new balance. */
void mfx_api_topup_apply(struct mfx_req *req, const char *env_id, int64_t amount)
{
    mfx_tx_begin();
    mfx_ledger_topup(env_id, amount, true);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "amount", json_object_new_int64(amount));
    mfx_audit(env_id, req->auth.key_id, "balance.topup", env_id, d);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("topup"));
    json_object_object_add(o, "amount", json_object_new_int64(amount));
    json_object_object_add(o, "balance", mfx_ledger_balance_json(env_id));
    mfx_tx_end(true);
    mfx_reply_json(req, 201, o);
}

void mfx_api_topup_create(struct mfx_req *req)
{
    if (req->auth.live) {
        mfx_reply_error(req, MFX_E_forbidden, "Live credits are added by the operator with the account key (POST /v1/workspaces/{id}/topups).", NULL);
        return;
    }
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    int64_t amount;
    if (topup_amount(req, in, &amount) == 0) mfx_api_topup_apply(req, req->auth.env_id, amount);
    json_object_put(in);
}

/* Workspace top-up by the account key: {"environment": "sandbox"|"live", "amount"}. */
int mfx_api_topup_parse(struct mfx_req *req, json_object *in, int64_t *amount)
{
    return topup_amount(req, in, amount);
}

static json_object *settings_json(const char *env_id)
{
    sqlite3_stmt *st = mfx_stmt(
        "SELECT default_retries, low_balance_threshold, auto_top_up_enabled, auto_top_up_threshold,"
        " auto_top_up_amount, retention, retention_days FROM environments WHERE id = ?");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    json_object *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        o = json_object_new_object();
        json_object_object_add(o, "object", json_object_new_string("settings"));
        json_object_object_add(o, "default_retries", mfx_col_null(st, 0) ? json_object_new_int64(mfx_cfg.default_retries)
                                                                          : json_object_new_int(sqlite3_column_int(st, 0)));
        json_object_object_add(o, "low_balance_threshold", json_object_new_int64(sqlite3_column_int64(st, 1)));
        json_object *a = json_object_new_object();
        json_object_object_add(a, "enabled", json_object_new_boolean(sqlite3_column_int(st, 2)));
        json_object_object_add(a, "threshold", json_object_new_int64(sqlite3_column_int64(st, 3)));
        json_object_object_add(a, "amount", json_object_new_int64(sqlite3_column_int64(st, 4)));
        json_object_object_add(o, "auto_top_up", a);
        json_object_object_add(o, "retention", json_object_new_string(mfx_col_text(st, 5)));
        json_object_object_add(o, "retention_days", json_object_new_int(sqlite3_column_int(st, 6)));
    }
    mfx_stmt_done(st);
    return o;
}

void mfx_api_settings_get(struct mfx_req *req)
{
    mfx_reply_json(req, 200, settings_json(req->auth.env_id));
}

/* Reads an integer member within bounds; records a field error otherwise. */
static bool get_int(json_object *in, const char *name, const char *field, int64_t min, int64_t max,
                    int64_t *out, json_object **fe)
{
    json_object *v;
    if (!json_object_object_get_ex(in, name, &v)) return false;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < min || json_object_get_int64(v) > max) {
        char msg[96];
        snprintf(msg, sizeof msg, "must be a whole number from %lld to %lld", (long long)min, (long long)max);
        mfx_field_error(fe, field, msg);
        return false;
    }
    *out = json_object_get_int64(v);
    return true;
}

void mfx_api_settings_patch(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    json_object *fe = NULL;
    static const char *const fields[] = { "default_retries", "low_balance_threshold", "auto_top_up", "retention", "retention_days", NULL };
    json_object_object_foreach(in, key, val) {
        (void)val;
        bool known = false;
        for (const char *const *f = fields; *f; f++) known = known || !strcmp(key, *f);
        if (!known) mfx_field_error(&fe, key, "is not a setting");
    }
    int64_t retries = 0, threshold = 0, days = 0, at_threshold = 0, at_amount = 0;
    bool has_retries = get_int(in, "default_retries", "default_retries", 0, 10, &retries, &fe);
    bool has_threshold = get_int(in, "low_balance_threshold", "low_balance_threshold", 0, 1000000000, &threshold, &fe);
    bool has_days = get_int(in, "retention_days", "retention_days", 1, 3650, &days, &fe);
    const char *retention = NULL;
    json_object *v;
    if (json_object_object_get_ex(in, "retention", &v)) {
        retention = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(retention, "standard") && strcmp(retention, "zero_footprint")) {
            mfx_field_error(&fe, "retention", "must be standard or zero_footprint");
            retention = NULL;
        }
    }
    int enabled = -1;
    bool has_at_threshold = false, has_at_amount = false;
    if (json_object_object_get_ex(in, "auto_top_up", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            mfx_field_error(&fe, "auto_top_up", "must be an object {enabled, threshold, amount}");
        } else {
            json_object *e;
            if (json_object_object_get_ex(v, "enabled", &e)) {
                if (json_object_is_type(e, json_type_boolean)) enabled = json_object_get_boolean(e);
                else mfx_field_error(&fe, "auto_top_up.enabled", "must be true or false");
            }
            has_at_threshold = get_int(v, "threshold", "auto_top_up.threshold", 0, 1000000000, &at_threshold, &fe);
            has_at_amount = get_int(v, "amount", "auto_top_up.amount", 1, 10000000, &at_amount, &fe);
            json_object_object_foreach(v, k2, v2) {
                (void)v2;
                if (strcmp(k2, "enabled") && strcmp(k2, "threshold") && strcmp(k2, "amount"))
                    mfx_field_error(&fe, "auto_top_up", "has only enabled, threshold and amount");
            }
        }
    }
    if (enabled == 1 && req->auth.live) mfx_field_error(&fe, "auto_top_up.enabled", "auto top-up is for sandbox environments");
    if (fe) {
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "UPDATE environments SET"
        " default_retries = CASE WHEN ?1 THEN ?2 ELSE default_retries END,"
        " low_balance_threshold = CASE WHEN ?3 THEN ?4 ELSE low_balance_threshold END,"
        " retention_days = CASE WHEN ?5 THEN ?6 ELSE retention_days END,"
        " retention = coalesce(?7, retention),"
        " auto_top_up_enabled = CASE WHEN ?8 >= 0 THEN ?8 ELSE auto_top_up_enabled END,"
        " auto_top_up_threshold = CASE WHEN ?9 THEN ?10 ELSE auto_top_up_threshold END,"
        " auto_top_up_amount = CASE WHEN ?11 THEN ?12 ELSE auto_top_up_amount END"
        " WHERE id = ?13");
    sqlite3_bind_int(st, 1, has_retries);
    sqlite3_bind_int64(st, 2, retries);
    sqlite3_bind_int(st, 3, has_threshold);
    sqlite3_bind_int64(st, 4, threshold);
    sqlite3_bind_int(st, 5, has_days);
    sqlite3_bind_int64(st, 6, days);
    mfx_bind_text(st, 7, retention);
    sqlite3_bind_int(st, 8, enabled);
    sqlite3_bind_int(st, 9, has_at_threshold);
    sqlite3_bind_int64(st, 10, at_threshold);
    sqlite3_bind_int(st, 11, has_at_amount);
    sqlite3_bind_int64(st, 12, at_amount);
    sqlite3_bind_text(st, 13, req->auth.env_id, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    if (ok) mfx_audit(req->auth.env_id, req->auth.key_id, "settings.updated", req->auth.env_id, json_object_get(in));
    json_object_put(in);          /* retention pointed into it */
    json_object *o = ok ? settings_json(req->auth.env_id) : NULL;
    mfx_tx_end(ok);
    if (!ok) mfx_reply_error(req, MFX_E_storage_unavailable, NULL, NULL);
    else mfx_reply_json(req, 200, o);
}
