/* SPDX-License-Identifier: Apache-2.0
 *
 * events.c: builds the event envelope once, when the event happens, and
 * stores it whole: {id, object, type, created, workspace_id, environment,
 * data: {object}} plus the older guide's event, event_id and timestamp, so a
 * replay or a late delivery shows the object as it was at that moment.
 */
#include "config.h"
#include "mfx.h"
#include "events.h"
#include "ids.h"
#include "log.h"
#include "store.h"
#include "tenancy.h"
#include "webhooks.h"

#include <string.h>

void mfx_event_emit(const char *env_id, const char *type, const char *fax_id, json_object *object,
                    char out_id[MFX_ID_MAX])
{
    char id[MFX_ID_MAX], ws[MFX_ID_MAX], envtype[8], ts[32];
    if (mfx_environment_info(env_id, ws, envtype) != MFX_OK) {
        json_object_put(object);
        return;
    }
    mfx_id_new("evt_", id);
    int64_t now = mfx_now_ms();
    mfx_time_format(now, ts);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "id", json_object_new_string(id));
    json_object_object_add(e, "object", json_object_new_string("event"));
    json_object_object_add(e, "type", json_object_new_string(type));
    json_object_object_add(e, "created", json_object_new_int64(now / 1000));
    json_object_object_add(e, "workspace_id", json_object_new_string(ws));
    json_object_object_add(e, "environment", json_object_new_string(envtype));
    json_object *data = json_object_new_object();
    json_object_object_add(data, "object", object);
    json_object_object_add(e, "data", data);
    json_object_object_add(e, "event", json_object_new_string(type));
    json_object_object_add(e, "event_id", json_object_new_string(id));
    json_object_object_add(e, "timestamp", json_object_new_string(ts));

    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO events (id, environment_id, type, fax_id, created_at, payload) VALUES (?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
    mfx_bind_text(st, 4, fax_id);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_text(st, 6, json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                      -1, SQLITE_TRANSIENT);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok) mfx_error("events", "storing %s failed: %s", type, sqlite3_errmsg(mfx_db()));
    mfx_stmt_done(st);
    if (ok) mfx_webhooks_fanout(env_id, id, type, fax_id, NULL);
    mfx_debug("events", "%s%s%s %s", fax_id ? "fax=" : "", fax_id ? fax_id : "", fax_id ? "" : "-", type);
    if (out_id) memcpy(out_id, id, MFX_ID_MAX);
    json_object_put(e);
}

json_object *mfx_event_get(const char *env_id, const char *event_id)
{
    sqlite3_stmt *st = mfx_stmt("SELECT payload FROM events WHERE id = ? AND environment_id = ?");
    sqlite3_bind_text(st, 1, event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, env_id, -1, SQLITE_STATIC);
    json_object *o = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) o = json_tokener_parse(mfx_col_text(st, 0));
    mfx_stmt_done(st);
    return o;
}
