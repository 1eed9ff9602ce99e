/* SPDX-License-Identifier: Apache-2.0
 *
 * api_events.c: GET /v1/events (newest first; filters type and fax_id) and
 * GET /v1/events/{id}. Events are stored whole when they happen (events.c).
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "events.h"
#include "store.h"

#include <string.h>

static const char *const TYPES[] = { "fax.queued", "fax.sending", "fax.retry_scheduled", "fax.delivered",
                                     "fax.failed", "balance.low", "balance.topup", NULL };

void mfx_api_event_list(struct mfx_req *req)
{
    struct mfx_page page;
    if (mfx_api_page_parse(req, "evt_", &page) != 0) return;
    const char *type = mfx_req_query(req, "type");
    const char *fax = mfx_req_query(req, "fax_id");
    json_object *fe = NULL;
    if (type) {
        bool ok = false;
        for (const char *const *t = TYPES; *t; t++) ok = ok || !strcmp(*t, type);
        if (!ok) mfx_field_error(&fe, "type", "is not an event type");
    }
    if (fax && strlen(fax) > 64) mfx_field_error(&fe, "fax_id", "is not a fax id");
    if (fe) {
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    sqlite3_stmt *st = mfx_stmt(
        "SELECT payload FROM events WHERE environment_id = ?1 AND (?2 IS NULL OR id < ?2)"
        " AND (?3 IS NULL OR type = ?3) AND (?4 IS NULL OR fax_id = ?4) ORDER BY id DESC LIMIT ?5");
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 2, page.cursor_id[0] ? page.cursor_id : NULL);
    mfx_bind_text(st, 3, type);
    mfx_bind_text(st, 4, fax);
    sqlite3_bind_int(st, 5, page.per_page + 1);
    json_object *data = json_object_new_array();
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_object *e = json_tokener_parse(mfx_col_text(st, 0));
        if (e) json_object_array_add(data, e);
    }
    mfx_stmt_done(st);
    mfx_api_page_reply(req, &page, data);
}

void mfx_api_event_get(struct mfx_req *req)
{
    json_object *e = mfx_event_get(req->auth.env_id, req->params[0]);
    if (!e) {
        mfx_reply_error(req, MFX_E_not_found, "No event with this id in this key's environment.", NULL);
        return;
    }
    mfx_reply_json(req, 200, e);
}
