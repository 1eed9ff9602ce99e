/* SPDX-License-Identifier: Apache-2.0
 *
 * api_health.c: /healthz (the process answers), /readyz (the database
 * answers a query; 503 otherwise, and while shutting down) and /metrics
 * (Prometheus text: faxes by status, jobs in flight).
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "scheduler.h"
#include "store.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

void mfx_api_healthz(struct mfx_req *req)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    mfx_reply_json(req, 200, o);
}

void mfx_api_readyz(struct mfx_req *req)
{
    sqlite3_stmt *st = mfx_stmt("SELECT count(*) FROM schema_migrations");
    bool db_ok = sqlite3_step(st) == SQLITE_ROW;
    mfx_stmt_done(st);
    json_object *o = json_object_new_object();
    json_object *checks = json_object_new_object();
    json_object_object_add(checks, "database", json_object_new_string(db_ok ? "ok" : "failing"));
    json_object_object_add(o, "status", json_object_new_string(db_ok ? "ready" : "not_ready"));
    json_object_object_add(o, "checks", checks);
    mfx_reply_json(req, db_ok ? 200 : 503, o);
}

void mfx_api_metrics(struct mfx_req *req)
{
    GString *out = g_string_new("# HELP mintfax_faxes Faxes by environment type and status.\n# TYPE mintfax_faxes gauge\n");
    sqlite3_stmt *st = mfx_stmt(
        "SELECT e.type, f.status, count(*) FROM faxes f JOIN environments e ON e.id = f.environment_id"
        " GROUP BY e.type, f.status");
    while (sqlite3_step(st) == SQLITE_ROW)
        g_string_append_printf(out, "mintfax_faxes{environment=\"%s\",status=\"%s\"} %lld\n",
                               mfx_col_text(st, 0), mfx_col_text(st, 1), (long long)sqlite3_column_int64(st, 2));
    mfx_stmt_done(st);
    g_string_append_printf(out, "# HELP mintfax_jobs_in_flight Calls and document fetches running now.\n"
                                "# TYPE mintfax_jobs_in_flight gauge\nmintfax_jobs_in_flight %d\n",
                           mfx_scheduler_busy());
    mfx_reply_raw(req, 200, "text/plain; version=0.0.4", out->str, out->len);
    g_string_free(out, TRUE);
}
