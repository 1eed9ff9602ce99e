/* SPDX-License-Identifier: Apache-2.0
 *
 * api_faxes.c: /v1/faxes. Creation accepts JSON (document_url or
 * document_id) and multipart/form-data (a file part plus the same fields);
 * both are first turned into one JSON object of fields, then validated by
 * one function, so the two forms cannot drift apart. A fax, its document,
 * its hold and its fax.queued event commit together or not at all.
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "audit.h"
#include "document.h"
#include "fax.h"
#include "job.h"
#include "log.h"
#include "module.h"
#include "multipart.h"
#include "phone.h"
#include "preview.h"
#include "spool.h"
#include "retention.h"
#include "scheduler.h"
#include "settings.h"
#include "store.h"
#include "tenancy.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- field access ------------------------------------------------------- */

static const char *str_field(json_object *in, const char *name, size_t max, json_object **errors)
{
    json_object *v;
    if (!json_object_object_get_ex(in, name, &v) || json_object_is_type(v, json_type_null)) return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        mfx_field_error(errors, name, "must be a string");
        return NULL;
    }
    const char *s = json_object_get_string(v);
    if (strlen(s) > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be at most %zu characters", max);
        mfx_field_error(errors, name, msg);
        return NULL;
    }
    return s;
}

static bool enum_ok(const char *v, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (!strcmp(v, *allowed)) return true;
    return false;
}

static const char *enum_field(json_object *in, const char *name, const char *const *allowed, json_object **errors)
{
    const char *v = str_field(in, name, 32, errors);
    if (v && !enum_ok(v, allowed)) {
        GString *msg = g_string_new("must be one of:");
        for (const char *const *a = allowed; *a; a++) g_string_append_printf(msg, " %s", *a);
        mfx_field_error(errors, name, msg->str);
        g_string_free(msg, TRUE);
        return NULL;
    }
    return v;
}

/* An integer field in [min, max]; returns def if absent. */
static int int_field(json_object *in, const char *name, int min, int max, int def, json_object **errors)
{
    json_object *v;
    if (!json_object_object_get_ex(in, name, &v) || json_object_is_type(v, json_type_null)) return def;
    if (!json_object_is_type(v, json_type_int)) {
        mfx_field_error(errors, name, "must be a whole number");
        return def;
    }
    int64_t n = json_object_get_int64(v);
    if (n < min || n > max) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be from %d to %d", min, max);
        mfx_field_error(errors, name, msg);
        return def;
    }
    return (int)n;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

static bool http_url(const char *s)
{
    if (strncmp(s, "https://", 8) && strncmp(s, "http://", 7)) return false;
    struct evhttp_uri *u = evhttp_uri_parse_with_flags(s, 0);
    bool ok = u && evhttp_uri_get_host(u) && *evhttp_uri_get_host(u);
    if (u) evhttp_uri_free(u);
    for (const char *p = s; ok && *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) ok = false;
    return ok;
}

static const char *url_field(json_object *in, const char *name, json_object **errors)
{
    const char *v = str_field(in, name, (size_t)mfx_cfg.max_url_length, errors);
    if (v && !http_url(v)) {
        mfx_field_error(errors, name, "must be an absolute http:// or https:// URL");
        return NULL;
    }
    return v;
}

/* tags (or its alias metadata): an object of at most max_tags string values. */
static json_object *tags_field(json_object *in, json_object **errors)
{
    json_object *v = NULL, *alias = NULL;
    json_object_object_get_ex(in, "tags", &v);
    json_object_object_get_ex(in, "metadata", &alias);
    if (v && alias) {
        mfx_field_error(errors, "metadata", "send tags or metadata, not both");
        return NULL;
    }
    const char *name = v ? "tags" : "metadata";
    if (!v) v = alias;
    if (!v || json_object_is_type(v, json_type_null)) return NULL;
    if (!json_object_is_type(v, json_type_object)) {
        mfx_field_error(errors, name, "must be an object of string values");
        return NULL;
    }
    if (json_object_object_length(v) > mfx_cfg.max_tags) {
        char msg[64];
        snprintf(msg, sizeof msg, "must have at most %lld entries", (long long)mfx_cfg.max_tags);
        mfx_field_error(errors, name, msg);
        return NULL;
    }
    json_object_object_foreach(v, key, val) {
        size_t klen = g_utf8_strlen(key, -1);
        if (klen < 1 || klen > 40 || !g_utf8_validate(key, -1, NULL)) {
            mfx_field_error(errors, name, "keys must be 1 to 40 characters");
            return NULL;
        }
        if (!json_object_is_type(val, json_type_string) || g_utf8_strlen(json_object_get_string(val), -1) > 500) {
            mfx_field_error(errors, name, "values must be strings of at most 500 characters");
            return NULL;
        }
    }
    return v;
}

/* ---- validation --------------------------------------------------------- */

static const char *const RESOLUTIONS[] = { "standard", "fine", "superfine", NULL };
static const char *const PAGE_SIZES[] = { "letter", "a4", "legal", NULL };
static const char *const OPTIMIZE[] = { "text", "photo", "auto", NULL };
static const char *const COVERS[] = { "standard", "hipaa", NULL };
static const char *const T38[] = { "auto", "off", NULL };

static const char *const FAX_FIELDS[] = {
    "to", "document_url", "document_id", "from_number", "csid", "header_text", "resolution",
    "page_size", "optimize_for", "cover_page", "recipient_name", "sender_name", "subject",
    "message", "retries", "max_attempts", "tags", "metadata", "webhook_url", "ecm", "t38", NULL
};

static int env_default_retries(const char *env_id)
{
    sqlite3_stmt *st = mfx_stmt("SELECT default_retries FROM environments WHERE id = ?");
    sqlite3_bind_text(st, 1, env_id, -1, SQLITE_STATIC);
    int r = (int)mfx_cfg.default_retries;
    if (sqlite3_step(st) == SQLITE_ROW && !mfx_col_null(st, 0)) r = sqlite3_column_int(st, 0);
    mfx_stmt_done(st);
    return r;
}

static bool number_exists(const char *env_id, const char *id)
{
    return mfx_exists("SELECT 1 FROM numbers WHERE id = ? AND environment_id = ?", id, env_id);
}

/* Fills s from the fields; collects problems in *errors. cover (owned by the
 * caller afterwards) receives the cover page object. has_file: a multipart
 * file part came with the request. */
static void validate(struct mfx_req *req, json_object *in, bool has_file, struct mfx_fax_spec *s,
                     json_object **cover, json_object **errors)
{
    memset(s, 0, sizeof *s);
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (!enum_ok(key, FAX_FIELDS) && strcmp(key, "file"))
            mfx_field_error(errors, key, "is not a field of a fax");
    }
    json_object *tv;
    if (!json_object_object_get_ex(in, "to", &tv) || json_object_is_type(tv, json_type_null)) {
        mfx_field_error(errors, "to", "is required");
    } else {
        s->to = str_field(in, "to", 32, errors);
        if (s->to && !mfx_phone_valid(s->to))
            mfx_field_error(errors, "to", "must be an E.164 number such as +15005550001");
    }
    s->document_url = url_field(in, "document_url", errors);
    s->document_id = str_field(in, "document_id", 64, errors);
    int sources = (has_file ? 1 : 0) + (json_object_object_get_ex(in, "document_url", NULL) ? 1 : 0) +
                  (json_object_object_get_ex(in, "document_id", NULL) ? 1 : 0);
    if (sources == 0) mfx_field_error(errors, "file", "send one of file, document_url or document_id");
    else if (sources > 1) mfx_field_error(errors, "file", "send only one of file, document_url or document_id");
    if (s->document_id) {
        int pages = 0;
        int rc = mfx_document_locate(req->auth.env_id, s->document_id, NULL, &pages, NULL);
        if (rc == MFX_NOTFOUND) mfx_field_error(errors, "document_id", "no such document in this environment");
        else if (rc == MFX_ERR) mfx_field_error(errors, "document_id", "the document was deleted");
        else s->pages = pages;
    }
    s->from_number = str_field(in, "from_number", 64, errors);
    if (s->from_number && !number_exists(req->auth.env_id, s->from_number))
        mfx_field_error(errors, "from_number", "no such sending number (fnum_) in this environment");
    s->csid = str_field(in, "csid", 20, errors);
    if (s->csid && !printable_ascii(s->csid)) mfx_field_error(errors, "csid", "must be printable ASCII");
    s->header_text = str_field(in, "header_text", 50, errors);
    if (s->header_text && !printable_ascii(s->header_text)) mfx_field_error(errors, "header_text", "must be printable ASCII");
    s->resolution = enum_field(in, "resolution", RESOLUTIONS, errors);
    if (!s->resolution) s->resolution = "fine";
    s->page_size = enum_field(in, "page_size", PAGE_SIZES, errors);
    s->optimize_for = enum_field(in, "optimize_for", OPTIMIZE, errors);
    s->t38 = enum_field(in, "t38", T38, errors);
    if (!s->t38) s->t38 = "auto";
    const char *cp = enum_field(in, "cover_page", COVERS, errors);
    static const char *const cover_fields[] = { "recipient_name", "sender_name", "subject", "message", NULL };
    *cover = NULL;
    for (const char *const *f = cover_fields; *f; f++) {
        const char *v = str_field(in, *f, !strcmp(*f, "message") ? 2000 : 200, errors);
        if (!v) continue;
        if (!cp) {
            mfx_field_error(errors, *f, "needs cover_page");
            continue;
        }
        if (!*cover) *cover = json_object_new_object();
        json_object_object_add(*cover, *f, json_object_new_string(v));
    }
    if (cp) {
        if (!*cover) *cover = json_object_new_object();
        json_object_object_add(*cover, "type", json_object_new_string(cp));
    }
    s->cover_page = *cover;
    s->tags = tags_field(in, errors);
    s->webhook_url = url_field(in, "webhook_url", errors);
    json_object *ecm;
    s->ecm = true;
    if (json_object_object_get_ex(in, "ecm", &ecm) && !json_object_is_type(ecm, json_type_null)) {
        if (!json_object_is_type(ecm, json_type_boolean)) mfx_field_error(errors, "ecm", "must be true or false");
        else s->ecm = json_object_get_boolean(ecm);
    }
    bool has_retries = json_object_object_get_ex(in, "retries", NULL);
    bool has_max = json_object_object_get_ex(in, "max_attempts", NULL);
    if (has_retries && has_max) mfx_field_error(errors, "max_attempts", "send retries or max_attempts, not both");
    int retries = env_default_retries(req->auth.env_id);
    retries = int_field(in, "retries", 0, 10, retries, errors);
    s->max_attempts = has_max ? int_field(in, "max_attempts", 1, 11, retries + 1, errors) : retries + 1;
    if (s->pages > mfx_cfg.max_pages) mfx_field_error(errors, "document_id", "the document has more pages than the limit");
}

/* Multipart form fields to the JSON shape of a fax request. Numbers and
 * booleans arrive as text; tags as tags[KEY] fields or one JSON object. */
static json_object *form_to_json(const struct mfx_part *parts, int n, json_object **errors)
{
    json_object *o = json_object_new_object();
    for (int i = 0; i < n; i++) {
        const struct mfx_part *p = &parts[i];
        if (!p->name || p->filename || !strcmp(p->name, "file")) continue;
        if (p->len > 4096 || memchr(p->data, 0, p->len) || !g_utf8_validate((const char *)p->data, (gssize)p->len, NULL)) {
            mfx_field_error(errors, p->name, "must be UTF-8 text of at most 4096 bytes, without NUL characters");
            continue;
        }
        char *text = mfx_strndup((const char *)p->data, p->len);
        json_object *val = NULL;
        if (!strncmp(p->name, "tags[", 5) || !strncmp(p->name, "metadata[", 9)) {
            const char *open = strchr(p->name, '[');
            size_t klen = strlen(open + 1);
            if (klen < 2 || open[klen] != ']') {
                mfx_field_error(errors, p->name, "tag fields look like tags[KEY]");
            } else {
                char *key = mfx_strndup(open + 1, klen - 1);
                const char *group = !strncmp(p->name, "tags", 4) ? "tags" : "metadata";
                json_object *t;
                if (!json_object_object_get_ex(o, group, &t)) {
                    t = json_object_new_object();
                    json_object_object_add(o, group, t);
                }
                json_object_object_add(t, key, json_object_new_string(text));
                free(key);
            }
            free(text);
            continue;
        }
        if (!strcmp(p->name, "retries") || !strcmp(p->name, "max_attempts")) {
            char *end;
            long v = strtol(text, &end, 10);
            val = *text && !*end ? json_object_new_int64(v) : json_object_new_string(text);
        } else if (!strcmp(p->name, "ecm")) {
            val = !strcmp(text, "true") ? json_object_new_boolean(1)
                : !strcmp(text, "false") ? json_object_new_boolean(0) : json_object_new_string(text);
        } else if (!strcmp(p->name, "tags") || !strcmp(p->name, "metadata")) {
            val = json_tokener_parse(text);
            if (!val) val = json_object_new_string(text);   /* reported as "must be an object" */
        } else {
            val = json_object_new_string(text);
        }
        json_object_object_add(o, p->name, val);
        free(text);
    }
    return o;
}

/* Checks a magic number of the environment's carrier; replies if refused. */
static bool precheck_refused(struct mfx_req *req, const char *to)
{
    if (req->auth.live && mfx_cfg.require_baa_for_live && !mfx_workspace_baa_signed(req->auth.workspace_id)) {
        mfx_reply_error(req, MFX_E_baa_required, NULL, NULL);
        return true;
    }
    const struct mfx_carrier *c = mfx_module_carrier_for(req->auth.live);
    enum mfx_err e = c && c->precheck ? c->precheck(to) : MFX_E__COUNT;
    if (e == MFX_E__COUNT) return false;
    json_object *fe = NULL;
    if (e == MFX_E_validation_failed) mfx_field_error(&fe, "to", "this sandbox number always fails validation");
    mfx_reply_error(req, e, NULL, fe);
    return true;
}

/* Replies with what a document check found wrong with an upload. */
static void reply_check_failed(struct mfx_req *req, const struct mfx_doc_check *c)
{
    json_object *fe = NULL;
    if (c->api_err == MFX_E_validation_failed) mfx_field_error(&fe, "file", c->message);
    mfx_reply_error(req, c->api_err, c->api_err == MFX_E_validation_failed ? NULL : c->message, fe);
}

/* Inserts the fax (and the uploaded file, whose pages were counted) in one
 * unit and replies 201. */
static void create_and_reply(struct mfx_req *req, struct mfx_fax_spec *s, const struct mfx_part *file, int file_pages)
{
    char doc_id[MFX_ID_MAX], fax_id[MFX_ID_MAX];
    enum mfx_err err = MFX_E__COUNT;
    char *msg = NULL;
    mfx_tx_begin();
    if (file) {
        if (mfx_document_store(req->auth.env_id, file->filename, file->data, file->len, file_pages, doc_id, &err, &msg) != MFX_OK) {
            mfx_tx_end(false);
            mfx_reply_error(req, err, msg, NULL);
            free(msg);
            return;
        }
        s->document_id = doc_id;
        s->pages = file_pages;
    }
    if (mfx_fax_insert(req->auth.env_id, req->auth.live, s, req->idem_key, fax_id, &err) != MFX_OK) {
        mfx_tx_end(false);
        mfx_reply_error(req, err, NULL, NULL);
        return;
    }
    json_object *details = json_object_new_object();
    json_object_object_add(details, "pages", s->pages > 0 ? json_object_new_int(s->pages) : NULL);
    if (s->resent_from) json_object_object_add(details, "resent_from", json_object_new_string(s->resent_from));
    mfx_audit(req->auth.env_id, req->auth.key_id, "fax.created", fax_id, details);
    json_object *obj = mfx_fax_json(req->auth.env_id, fax_id);
    mfx_tx_end(true);
    snprintf(req->fax_ctx, sizeof req->fax_ctx, "%s", fax_id);
    char to_masked[24];
    mfx_log_phone(s->to, mfx_cfg.log_phone_digits, to_masked);
    mfx_info("api", "req=%s fax=%s queued to %s pages=%d", req->id, fax_id, to_masked, s->pages);
    char *loc = mfx_asprintf("/v1/faxes/%s", fax_id);
    mfx_reply_header(req, "Location", loc);
    free(loc);
    mfx_scheduler_poke();
    mfx_reply_json(req, 201, obj);
}

/* A fax request waiting for its uploaded file's check (render child). It
 * owns what the spec points into. */
struct pending_create {
    struct mfx_req *req;
    json_object *in, *cover;
    struct mfx_part *parts;
    int nparts;
    const struct mfx_part *file;
    struct mfx_fax_spec s;
};

static void file_checked(void *arg, const struct mfx_doc_check *c)
{
    struct pending_create *p = arg;
    if (c->pages <= 0) reply_check_failed(p->req, c);
    else create_and_reply(p->req, &p->s, p->file, c->pages);
    json_object_put(p->cover);
    json_object_put(p->in);
    mfx_multipart_free(p->parts, p->nparts);
    free(p);
}

void mfx_api_fax_create(struct mfx_req *req)
{
    json_object *in = NULL, *errors = NULL, *cover = NULL;
    struct mfx_part *parts = NULL;
    int nparts = 0;
    const struct mfx_part *file = NULL;

    if (mfx_req_content_type_is(req, "multipart/form-data")) {
        nparts = mfx_api_multipart(req, &parts);
        if (nparts < 0) return;
        file = mfx_multipart_get(parts, nparts, "file");
        if (mfx_multipart_count(parts, nparts, "file") > 1) mfx_field_error(&errors, "file", "send one file part per fax");
        in = form_to_json(parts, nparts, &errors);
    } else if (mfx_req_content_type_is(req, "application/json")) {
        in = mfx_req_json_object(req);
        if (!in) return;
    } else {
        mfx_reply_error(req, MFX_E_unsupported_media_type,
                        "Send application/json (with document_url or document_id) or multipart/form-data (with a file part).", NULL);
        return;
    }

    struct mfx_fax_spec s;
    validate(req, in, file != NULL, &s, &cover, &errors);
    if (errors) {
        mfx_reply_error(req, MFX_E_validation_failed, NULL, errors);
    } else if (!precheck_refused(req, s.to)) {
        if (file) {
            /* The file is checked (pages counted) in a render child first. */
            struct pending_create *p = mfx_calloc(1, sizeof *p);
            *p = (struct pending_create){ req, in, cover, parts, nparts, file, s };
            mfx_document_check(file->data, file->len, file_checked, p);
            return;
        }
        create_and_reply(req, &s, NULL, 0);
    }
    json_object_put(cover);
    json_object_put(in);
    mfx_multipart_free(parts, nparts);
}

/* ---- reading ------------------------------------------------------------ */

/* Replies 404 and returns NULL when the fax is not in the key's environment. */
static json_object *fax_or_404(struct mfx_req *req)
{
    snprintf(req->fax_ctx, sizeof req->fax_ctx, "%.*s", MFX_ID_MAX - 1, req->params[0]);
    json_object *o = mfx_fax_json(req->auth.env_id, req->params[0]);
    if (!o) mfx_reply_error(req, MFX_E_not_found, "No fax with this id in this key's environment.", NULL);
    return o;
}

void mfx_api_fax_get(struct mfx_req *req)
{
    snprintf(req->fax_ctx, sizeof req->fax_ctx, "%.*s", MFX_ID_MAX - 1, req->params[0]);
    size_t len;
    const char *text = mfx_fax_json_text(req->auth.env_id, req->params[0], &len);
    if (!text) mfx_reply_error(req, MFX_E_not_found, "No fax with this id in this key's environment.", NULL);
    else mfx_reply_raw(req, 200, "application/json", text, len);
}

static const char *const STATUSES[] = { "queued", "submitted", "in_progress", "delivered", "failed", NULL };

void mfx_api_fax_list(struct mfx_req *req)
{
    struct mfx_page page;
    if (mfx_api_page_parse(req, "fax_", &page) != 0) return;
    json_object *errors = NULL;
    GString *sql = g_string_new("SELECT f.id FROM faxes f WHERE f.environment_id = ?1");
    const char *status = mfx_req_query(req, "status");
    const char *to = mfx_req_query(req, "to");
    const char *code = mfx_req_query(req, "error_code");
    const char *after = mfx_req_query(req, "created_after");
    const char *before = mfx_req_query(req, "created_before");
    int64_t after_ms = 0, before_ms = 0;
    if (status && !enum_ok(status, STATUSES)) mfx_field_error(&errors, "status", "must be queued, submitted, in_progress, delivered or failed");
    if (to && !mfx_phone_valid(to)) mfx_field_error(&errors, "to", "must be an E.164 number");
    if (after && mfx_time_parse(after, &after_ms) != MFX_OK) mfx_field_error(&errors, "created_after", "must be an RFC 3339 time");
    if (before && mfx_time_parse(before, &before_ms) != MFX_OK) mfx_field_error(&errors, "created_before", "must be an RFC 3339 time");
    if (code && strlen(code) > 64) mfx_field_error(&errors, "error_code", "is too long");
    /* tag[KEY]=VALUE filters, all of which must match. */
    GPtrArray *tag_keys = g_ptr_array_new(), *tag_vals = g_ptr_array_new();
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &req->query, next) {
        size_t klen = strlen(kv->key);
        if (strncmp(kv->key, "tag[", 4) || klen < 6 || kv->key[klen - 1] != ']') {
            if (!strncmp(kv->key, "tag", 3)) mfx_field_error(&errors, kv->key, "tag filters look like tag[KEY]=VALUE");
            continue;
        }
        if (tag_keys->len >= 10) { mfx_field_error(&errors, "tag", "at most 10 tag filters"); break; }
        g_ptr_array_add(tag_keys, kv->key);
        g_ptr_array_add(tag_vals, kv->value);
    }
    if (errors) {
        g_ptr_array_free(tag_keys, TRUE);
        g_ptr_array_free(tag_vals, TRUE);
        g_string_free(sql, TRUE);
        mfx_reply_error(req, MFX_E_validation_failed, NULL, errors);
        return;
    }
    if (page.cursor_id[0]) g_string_append(sql, " AND f.id < ?2");
    if (status) g_string_append(sql, " AND f.status = ?3");
    if (to) g_string_append(sql, " AND f.to_number = ?4");
    if (code) g_string_append(sql, " AND f.error_code = ?5");
    if (after) g_string_append(sql, " AND f.created_at > ?6");
    if (before) g_string_append(sql, " AND f.created_at < ?7");
    for (guint i = 0; i < tag_keys->len; i++)
        g_string_append_printf(sql, " AND EXISTS (SELECT 1 FROM json_each(f.tags) WHERE key = ?%u AND value = ?%u)",
                               20 + 2 * i, 21 + 2 * i);
    g_string_append(sql, " ORDER BY f.id DESC LIMIT ?8");
    sqlite3_stmt *st;
    sqlite3_prepare_v2(mfx_db(), sql->str, -1, &st, NULL);
    sqlite3_bind_text(st, 1, req->auth.env_id, -1, SQLITE_STATIC);
    if (page.cursor_id[0]) sqlite3_bind_text(st, 2, page.cursor_id, -1, SQLITE_STATIC);
    if (status) sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
    if (to) sqlite3_bind_text(st, 4, to, -1, SQLITE_STATIC);
    if (code) sqlite3_bind_text(st, 5, code, -1, SQLITE_STATIC);
    if (after) sqlite3_bind_int64(st, 6, after_ms);
    if (before) sqlite3_bind_int64(st, 7, before_ms);
    sqlite3_bind_int(st, 8, page.per_page + 1);
    for (guint i = 0; i < tag_keys->len; i++) {
        const char *k = g_ptr_array_index(tag_keys, i);
        sqlite3_bind_text(st, (int)(20 + 2 * i), k + 4, (int)strlen(k) - 5, SQLITE_STATIC);
        sqlite3_bind_text(st, (int)(21 + 2 * i), g_ptr_array_index(tag_vals, i), -1, SQLITE_STATIC);
    }
    GPtrArray *ids = g_ptr_array_new_with_free_func(free);
    while (sqlite3_step(st) == SQLITE_ROW) g_ptr_array_add(ids, mfx_strdup(mfx_col_text(st, 0)));
    sqlite3_finalize(st);
    json_object *data = json_object_new_array();
    for (guint i = 0; i < ids->len; i++) {
        json_object *o = mfx_fax_json(req->auth.env_id, g_ptr_array_index(ids, i));
        if (o) json_object_array_add(data, o);
    }
    g_ptr_array_free(ids, TRUE);
    g_ptr_array_free(tag_keys, TRUE);
    g_ptr_array_free(tag_vals, TRUE);
    g_string_free(sql, TRUE);
    mfx_api_page_reply(req, &page, data);
}

/* ---- actions ------------------------------------------------------------ */

static const char *status_of(json_object *fax)
{
    json_object *s;
    json_object_object_get_ex(fax, "status", &s);
    return json_object_get_string(s);
}

/* True (after replying 410) if the fax's PHI was deleted. */
static bool purged_410(struct mfx_req *req, json_object *fax)
{
    json_object *p;
    if (!json_object_object_get_ex(fax, "purged", &p) || !json_object_get_boolean(p)) return false;
    mfx_reply_error(req, MFX_E_gone, "This fax's document and details were deleted (on request, or by the environment's "
                    "retention: zero_footprint or retention_days); upload the document again to send a new fax.", NULL);
    return true;
}

void mfx_api_fax_cancel(struct mfx_req *req)
{
    json_object *o = fax_or_404(req);
    if (!o) return;
    if (mfx_fax_status_terminal(status_of(o))) {
        json_object_put(o);
        mfx_reply_error(req, MFX_E_invalid_state, "The fax is already delivered or failed; only a fax still on its way can be cancelled.", NULL);
        return;
    }
    json_object_put(o);
    mfx_scheduler_detach(req->params[0]);
    mfx_tx_begin();
    mfx_job_fail(req->params[0], MFX_E_cancelled, "cancelled_by_request", NULL);
    mfx_audit(req->auth.env_id, req->auth.key_id, "fax.cancelled", req->params[0], NULL);
    mfx_tx_end(true);
    mfx_info("api", "req=%s fax=%s cancelled", req->id, req->params[0]);
    mfx_reply_json(req, 200, mfx_fax_json(req->auth.env_id, req->params[0]));
}

void mfx_api_fax_resend(struct mfx_req *req)
{
    json_object *orig = fax_or_404(req);
    if (!orig) return;
    if (purged_410(req, orig)) {
        json_object_put(orig);
        return;
    }
    json_object *in = NULL;
    if (req->body_len > 0) {
        in = mfx_req_json_object(req);
        if (!in) { json_object_put(orig); return; }
    } else {
        in = json_object_new_object();
    }
    static const char *const allowed[] = { "to", "webhook_url", "retries", "max_attempts", "tags", "metadata", NULL };
    json_object *errors = NULL;
    json_object_object_foreach(in, key, val) {
        (void)val;
        if (!enum_ok(key, allowed)) mfx_field_error(&errors, key, "cannot be changed on resend");
    }
    /* Start from the original fax's fields, then apply the overrides. */
    json_object *fields = json_object_new_object();
    static const char *const copied[] = { "to", "from_number", "csid", "header_text", "resolution", "page_size",
                                          "optimize_for", "tags", "webhook_url", "ecm", "t38", "document_id", NULL };
    for (const char *const *f = copied; *f; f++) {
        json_object *v;
        if (json_object_object_get_ex(orig, *f, &v) && v) json_object_object_add(fields, *f, json_object_get(v));
    }
    json_object *cover;
    if (json_object_object_get_ex(orig, "cover_page", &cover) && cover) {
        json_object_object_foreach(cover, ck, cv) {
            json_object_object_add(fields, !strcmp(ck, "type") ? "cover_page" : ck, json_object_get(cv));
        }
    }
    json_object *ma;
    json_object_object_get_ex(orig, "max_attempts", &ma);
    json_object_object_add(fields, "max_attempts", json_object_get(ma));
    json_object_object_foreach(in, k2, v2) {
        if (!strcmp(k2, "retries")) json_object_object_del(fields, "max_attempts");
        if (!strcmp(k2, "metadata")) json_object_object_del(fields, "tags");
        json_object_object_add(fields, k2, json_object_get(v2));
    }
    json_object *doc;
    if (!json_object_object_get_ex(orig, "document_id", &doc) || !doc) {
        json_object_put(fields);
        json_object_put(in);
        json_object_put(orig);
        json_object_put(errors);
        mfx_reply_error(req, MFX_E_invalid_state, "The fax's document has not been fetched yet; resend it once it has an image.", NULL);
        return;
    }
    if (mfx_document_locate(req->auth.env_id, json_object_get_string(doc), NULL, NULL, NULL) != MFX_OK) {
        json_object_put(fields);
        json_object_put(in);
        json_object_put(orig);
        json_object_put(errors);
        mfx_reply_error(req, MFX_E_gone, "The fax's document was deleted; upload it again to send a new fax.", NULL);
        return;
    }
    struct mfx_fax_spec s;
    json_object *cov = NULL;
    if (!errors) validate(req, fields, false, &s, &cov, &errors);
    if (errors) {
        mfx_reply_error(req, MFX_E_validation_failed, NULL, errors);
    } else if (!precheck_refused(req, s.to)) {
        s.resent_from = req->params[0];
        create_and_reply(req, &s, NULL, 0);
    }
    json_object_put(cov);
    json_object_put(fields);
    json_object_put(in);
    json_object_put(orig);
}

void mfx_api_fax_delete(struct mfx_req *req)
{
    json_object *o = fax_or_404(req);
    if (!o) return;
    bool terminal = mfx_fax_status_terminal(status_of(o));
    json_object_put(o);
    if (!terminal) {
        mfx_reply_error(req, MFX_E_invalid_state, "Only a delivered or failed fax can be deleted; cancel it first.", NULL);
        return;
    }
    mfx_tx_begin();
    int rc = mfx_retention_purge(req->params[0], req->auth.key_id, "deleted_by_request");
    mfx_tx_end(rc >= 0);
    mfx_reply_json(req, 200, mfx_fax_json(req->auth.env_id, req->params[0]));
}

/* The fax's rendered pages, decrypted (caller frees), or NULL after replying:
 * 410 once purged, 409 before they are rendered, 500 if they fail their
 * integrity check. */
static unsigned char *pages_or_reply(struct mfx_req *req, size_t *len)
{
    json_object *o = fax_or_404(req);
    if (!o) return NULL;
    bool gone = purged_410(req, o);
    json_object_put(o);
    if (gone) return NULL;
    char *path = NULL;
    sqlite3_stmt *st = mfx_stmt("SELECT pages_file FROM faxes WHERE id = ? AND environment_id = ?");
    sqlite3_bind_text(st, 1, req->params[0], -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, req->auth.env_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && !mfx_col_null(st, 0)) path = mfx_strdup(mfx_col_text(st, 0));
    mfx_stmt_done(st);
    if (!path) {
        bool ended = false;
        json_object *f = mfx_fax_json(req->auth.env_id, req->params[0]);
        if (f) ended = mfx_fax_status_terminal(status_of(f));
        json_object_put(f);
        mfx_reply_error(req, MFX_E_invalid_state, ended ? "The fax ended before its pages were rendered; it has no pages."
                                                        : "The fax's pages are not rendered yet; try again once it is submitted.", NULL);
        return NULL;
    }
    enum mfx_err err = MFX_E__COUNT;
    unsigned char *tiff = mfx_spool_read(req->auth.env_id, req->params[0], path, (size_t)mfx_cfg.render_max_output, len, &err);
    free(path);
    if (!tiff) mfx_reply_error(req, err, err == MFX_E_gone ? "The fax's pages were deleted." : NULL, NULL);
    return tiff;
}

void mfx_api_fax_image(struct mfx_req *req)
{
    size_t len;
    unsigned char *tiff = pages_or_reply(req, &len);
    if (!tiff) return;
    char *disp = mfx_asprintf("inline; filename=\"%s.tif\"", req->params[0]);
    mfx_reply_header(req, "Content-Disposition", disp);
    free(disp);
    mfx_reply_raw(req, 200, "image/tiff", tiff, len);
    free(tiff);
}

void mfx_api_fax_page(struct mfx_req *req)
{
    /* /v1/faxes/{id}/pages/{n}.png */
    const char *p = req->params[1];
    char *end;
    long n = strtol(p, &end, 10);
    if (end == p || strcmp(end, ".png") || n < 1 || n > 100000 || *p < '1' || *p > '9') {
        mfx_reply_error(req, MFX_E_route_not_found, "Pages are addressed as /v1/faxes/{id}/pages/{n}.png, n from 1.", NULL);
        return;
    }
    size_t len;
    unsigned char *tiff = pages_or_reply(req, &len);
    if (!tiff) return;
    unsigned char *png = NULL;
    size_t png_len = 0;
    int rc = mfx_preview_png(tiff, len, (int)n, &png, &png_len);
    free(tiff);
    if (rc == 1) mfx_reply_error(req, MFX_E_not_found, "The fax has no page with this number.", NULL);
    else if (rc != 0) mfx_reply_error(req, MFX_E_data_integrity_failed, NULL, NULL);
    else mfx_reply_raw(req, 200, "image/png", png, png_len);
    free(png);
}
