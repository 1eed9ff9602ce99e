/* SPDX-License-Identifier: Apache-2.0
 *
 * json_row.h: adding a column of the current sqlite row to a JSON object
 * the way every API object wants it: SQL NULL becomes JSON null, times
 * (integer ms) become RFC 3339 strings.
 */
#ifndef MFX_JSON_ROW_H
#define MFX_JSON_ROW_H

#include <json-c/json.h>
#include <sqlite3.h>

void mfx_json_col_text(json_object *o, const char *name, sqlite3_stmt *st, int col);
void mfx_json_col_int(json_object *o, const char *name, sqlite3_stmt *st, int col);
void mfx_json_col_bool(json_object *o, const char *name, sqlite3_stmt *st, int col);
void mfx_json_col_time(json_object *o, const char *name, sqlite3_stmt *st, int col);
/* A column holding JSON text, parsed (null when NULL or unparsable). */
void mfx_json_col_json(json_object *o, const char *name, sqlite3_stmt *st, int col);

#endif
