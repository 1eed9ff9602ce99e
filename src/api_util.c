/* SPDX-License-Identifier: Apache-2.0
 *
 * api_util.c: what every list endpoint and validator shares: per_page and
 * cursor parsing (a cursor is the id of the last item of the page before;
 * ids are time-ordered ULIDs, so "older than the cursor" is "id < cursor"),
 * the list envelope, and field errors for validation_failed.
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "ids.h"
#include "multipart.h"
#include "settings.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int mfx_api_multipart(struct mfx_req *req, struct mfx_part **parts)
{
    char *perr = NULL;
    int n = mfx_multipart_parse(mfx_req_header(req, "Content-Type"), req->body, req->body_len, parts, &perr);
    if (n >= 0) return n;
    json_object *fe = NULL;
    mfx_field_error(&fe, "body", perr);
    char *m = mfx_asprintf("The multipart body is malformed: %s.", perr);
    mfx_reply_error(req, MFX_E_validation_failed, m, fe);
    free(m);
    free(perr);
    return -1;
}

void mfx_field_error(json_object **errors, const char *field, const char *msg)
{
    if (!*errors) *errors = json_object_new_object();
    if (!json_object_object_get_ex(*errors, field, NULL))
        json_object_object_add(*errors, field, json_object_new_string(msg));
}

int mfx_api_page_parse(struct mfx_req *req, const char *id_prefix, struct mfx_page *page)
{
    page->per_page = 20;
    page->cursor_id[0] = '\0';
    const char *pp = mfx_req_query(req, "per_page");
    if (!pp) pp = mfx_req_query(req, "limit");
    if (pp) {
        char *end;
        long v = strtol(pp, &end, 10);
        if (!*pp || *end || *pp < '0' || *pp > '9' || v < 1 || v > mfx_cfg.max_list_page) {
            json_object *fe = NULL;
            char *msg = mfx_asprintf("must be a whole number from 1 to %lld", (long long)mfx_cfg.max_list_page);
            mfx_field_error(&fe, "per_page", msg);
            free(msg);
            mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
            return -1;
        }
        page->per_page = (int)v;
    }
    const char *cur = mfx_req_query(req, "cursor");
    if (cur && *cur) {
        if (!mfx_id_valid(cur, id_prefix)) {
            mfx_reply_error(req, MFX_E_invalid_cursor, NULL, NULL);
            return -1;
        }
        snprintf(page->cursor_id, sizeof page->cursor_id, "%s", cur);
    }
    return 0;
}

void mfx_api_page_reply(struct mfx_req *req, const struct mfx_page *page, json_object *data)
{
    size_t n = json_object_array_length(data);
    bool more = n > (size_t)page->per_page;
    if (more) json_object_array_del_idx(data, (size_t)page->per_page, n - (size_t)page->per_page);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "object", json_object_new_string("list"));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "has_more", json_object_new_boolean(more));
    json_object *last = more ? json_object_array_get_idx(data, (size_t)page->per_page - 1) : NULL;
    json_object *id = NULL;
    if (last) json_object_object_get_ex(last, "id", &id);
    json_object_object_add(o, "next_cursor", id ? json_object_new_string(json_object_get_string(id)) : NULL);
    mfx_reply_json(req, 200, o);
}
