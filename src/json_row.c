/* SPDX-License-Identifier: Apache-2.0
 *
 * json_row.c: see json_row.h.
 */
#include "config.h"
#include "mfx.h"
#include "json_row.h"
#include "store.h"

void mfx_json_col_text(json_object *o, const char *name, sqlite3_stmt *st, int col)
{
    json_object_object_add(o, name, mfx_col_null(st, col) ? NULL : json_object_new_string(mfx_col_text(st, col)));
}

void mfx_json_col_int(json_object *o, const char *name, sqlite3_stmt *st, int col)
{
    json_object_object_add(o, name, mfx_col_null(st, col) ? NULL : json_object_new_int64(sqlite3_column_int64(st, col)));
}

void mfx_json_col_bool(json_object *o, const char *name, sqlite3_stmt *st, int col)
{
    json_object_object_add(o, name, mfx_col_null(st, col) ? NULL : json_object_new_boolean(sqlite3_column_int(st, col) != 0));
}

void mfx_json_col_time(json_object *o, const char *name, sqlite3_stmt *st, int col)
{
    if (mfx_col_null(st, col)) {
        json_object_object_add(o, name, NULL);
        return;
    }
    char ts[32];
    mfx_time_format(sqlite3_column_int64(st, col), ts);
    json_object_object_add(o, name, json_object_new_string(ts));
}

void mfx_json_col_json(json_object *o, const char *name, sqlite3_stmt *st, int col)
{
    json_object_object_add(o, name, mfx_col_null(st, col) ? NULL : json_tokener_parse(mfx_col_text(st, col)));
}
