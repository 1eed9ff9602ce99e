/* SPDX-License-Identifier: Apache-2.0
 *
 * api_numbers.c: sending numbers (fnum_): the E.164 a fax is sent from,
 * its caller-ID name, and the T.30 TSI the far machine prints.
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "ids.h"
#include "json_row.h"
#include "phone.h"
#include "store.h"

#include <glib.h>
#include <string.h>

static json_object *number_json(sqlite3_stmt *st)
{
    json_object *o = json_object_new_object();
    mfx_json_col_text(o, "id", st, 0);
    json_object_object_add(o, "object", json_object_new_string("number"));
    mfx_json_col_text(o, "number", st, 1);
    mfx_json_col_text(o, "caller_id_name", st, 2);
    mfx_json_col_text(o, "tsi", st, 3);
    mfx_json_col_time(o, "created_at", st, 4);
    return o;
}

void mfx_api_number_list(struct mfx_req *req)
{
    struct mfx_page page;
    if (mfx_api_page_parse(req, "fnum_", &page) != 0) return;
    sqlite3_stmt *st = mfx_stmt(
        "SELECT id, number, caller_id_name, tsi, created_at FROM numbers"
        " WHERE environment_id = ?1 AND (?2 IS NULL OR id < ?2) ORDER BY id DESC LIMIT ?3");
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    mfx_bind_text(st, 2, page.cursor_id[0] ? page.cursor_id : NULL);
    sqlite3_bind_int(st, 3, page.per_page + 1);
    json_object *data = json_object_new_array();
    while (sqlite3_step(st) == SQLITE_ROW) json_object_array_add(data, number_json(st));
    mfx_stmt_done(st);
    mfx_api_page_reply(req, &page, data);
}

static bool tsi_ok(const char *s)
{
    /* T.30 §5.3.6.2.4: the TSI is digits, space and '+'. */
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == ' ' || *s == '+')) return false;
    return true;
}

void mfx_api_number_create(struct mfx_req *req)
{
    json_object *in = mfx_req_json_object(req);
    if (!in) return;
    json_object *fe = NULL, *v;
    const char *number = NULL, *name = NULL, *tsi = NULL;
    if (!json_object_object_get_ex(in, "number", &v) || !json_object_is_type(v, json_type_string) ||
        !mfx_phone_valid(json_object_get_string(v)))
        mfx_field_error(&fe, "number", "is required: an E.164 number such as +15551234567");
    else
        number = json_object_get_string(v);
    if (json_object_object_get_ex(in, "caller_id_name", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_string) || g_utf8_strlen(json_object_get_string(v), -1) > 40)
            mfx_field_error(&fe, "caller_id_name", "must be a string of at most 40 characters");
        else
            name = json_object_get_string(v);
    }
    if (json_object_object_get_ex(in, "tsi", &v) && !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_string) || strlen(json_object_get_string(v)) > 20 || !tsi_ok(json_object_get_string(v)))
            mfx_field_error(&fe, "tsi", "must be at most 20 digits, spaces or +");
        else
            tsi = json_object_get_string(v);
    }
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (strcmp(key, "number") && strcmp(key, "caller_id_name") && strcmp(key, "tsi"))
            mfx_field_error(&fe, key, "is not a field of a number");
    }
    if (fe) {
        json_object_put(in);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        return;
    }
    char id[MFX_ID_MAX];
    mfx_id_new("fnum_", id);
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt(
        "INSERT INTO numbers (id, environment_id, number, caller_id_name, tsi, created_at) VALUES (?, ?, ?, ?, ?, ?)");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, req->auth.env_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, number, -1, SQLITE_STATIC);
    mfx_bind_text(st, 4, name);
    mfx_bind_text(st, 5, tsi ? tsi : number);
    sqlite3_bind_int64(st, 6, mfx_now_ms());
    int rc = sqlite3_step(st);
    mfx_stmt_done(st);
    json_object *o = NULL;
    if (rc == SQLITE_DONE) {
        st = mfx_stmt("SELECT id, number, caller_id_name, tsi, created_at FROM numbers WHERE id = ?");
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) o = number_json(st);
        mfx_stmt_done(st);
    }
    mfx_tx_end(rc == SQLITE_DONE);
    json_object_put(in);
    if (rc == SQLITE_CONSTRAINT) {
        json_object *dup = NULL;
        mfx_field_error(&dup, "number", "is already a sending number of this environment");
        mfx_reply_error(req, MFX_E_validation_failed, NULL, dup);
        return;
    }
    if (!o) {
        mfx_reply_error(req, MFX_E_storage_unavailable, NULL, NULL);
        return;
    }
    mfx_reply_json(req, 201, o);
}
