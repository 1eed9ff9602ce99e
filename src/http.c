/* SPDX-License-Identifier: Apache-2.0
 *
 * http.c: the evhttp server, the route table, and what every request goes
 * through before and after its handler: request id, authentication (auth.c),
 * rate limiting (ratelimit.c), idempotency (idempotency.c), body limits, the
 * error envelope from the catalog, and the access log line. Replies wait for
 * the store's write batch to commit (store.h) before they are sent.
 */
#include "config.h"
#include "mfx.h"
#include "http.h"
#include "api.h"
#include "auth.h"
#include "idempotency.h"
#include "ratelimit.h"
#include "settings.h"
#include "store.h"
#include "ids.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <sys/queue.h>
#include <stdlib.h>
#include <string.h>

enum need { NEED_NONE, NEED_ENV, NEED_ACCOUNT, NEED_ANY };

struct route {
    enum evhttp_cmd_type method;
    const char *pattern;          /* segments; "{}" matches one segment */
    enum need need;
    void (*handler)(struct mfx_req *req);
};

#define GET EVHTTP_REQ_GET
#define POST EVHTTP_REQ_POST
#define PATCH EVHTTP_REQ_PATCH
#define PUT EVHTTP_REQ_PUT
#define DEL EVHTTP_REQ_DELETE

static const struct route routes[] = {
    { GET,  "/healthz", NEED_NONE, mfx_api_healthz },
    { GET,  "/readyz", NEED_NONE, mfx_api_readyz },
    { GET,  "/metrics", NEED_NONE, mfx_api_metrics },
    { GET,  "/v1/openapi.yaml", NEED_NONE, mfx_api_openapi },
    { GET,  "/docs/errors/{}", NEED_NONE, mfx_api_error_page },
    { GET,  "/docs/errors", NEED_NONE, mfx_api_error_page },

    { POST, "/v1/faxes", NEED_ENV, mfx_api_fax_create },
    { POST, "/v1/fax", NEED_ENV, mfx_api_fax_create },
    { GET,  "/v1/faxes", NEED_ENV, mfx_api_fax_list },
    { GET,  "/v1/fax", NEED_ENV, mfx_api_fax_list },
    { GET,  "/v1/faxes/{}", NEED_ENV, mfx_api_fax_get },
    { GET,  "/v1/fax/{}", NEED_ENV, mfx_api_fax_get },
    { DEL,  "/v1/faxes/{}", NEED_ENV, mfx_api_fax_delete },
    { DEL,  "/v1/fax/{}", NEED_ENV, mfx_api_fax_delete },
    { POST, "/v1/faxes/{}/cancel", NEED_ENV, mfx_api_fax_cancel },
    { POST, "/v1/fax/{}/cancel", NEED_ENV, mfx_api_fax_cancel },
    { POST, "/v1/faxes/{}/resend", NEED_ENV, mfx_api_fax_resend },
    { POST, "/v1/fax/{}/resend", NEED_ENV, mfx_api_fax_resend },
    { GET,  "/v1/faxes/{}/image", NEED_ENV, mfx_api_fax_image },
    { GET,  "/v1/fax/{}/image", NEED_ENV, mfx_api_fax_image },
    { GET,  "/v1/faxes/{}/pages/{}", NEED_ENV, mfx_api_fax_page },

    { POST, "/v1/documents", NEED_ENV, mfx_api_document_create },
    { GET,  "/v1/documents/{}", NEED_ENV, mfx_api_document_get },

    { GET,  "/v1/environment/balance", NEED_ENV, mfx_api_balance_get },
    { GET,  "/v1/account/balance", NEED_ENV, mfx_api_balance_get },
    { POST, "/v1/environment/topups", NEED_ENV, mfx_api_topup_create },
    { POST, "/v1/account/topups", NEED_ENV, mfx_api_topup_create },
    { GET,  "/v1/environment/settings", NEED_ENV, mfx_api_settings_get },
    { GET,  "/v1/account/settings", NEED_ENV, mfx_api_settings_get },
    { PATCH, "/v1/environment/settings", NEED_ENV, mfx_api_settings_patch },
    { PUT,  "/v1/account/settings", NEED_ENV, mfx_api_settings_patch },
    { PATCH, "/v1/account/settings", NEED_ENV, mfx_api_settings_patch },

    { GET,  "/v1/webhooks/attempts", NEED_ENV, mfx_api_webhook_attempt_list },
    { GET,  "/v1/webhooks/attempts/{}", NEED_ENV, mfx_api_webhook_attempt_get },
    { POST, "/v1/webhooks/attempts/{}/retry", NEED_ENV, mfx_api_webhook_attempt_retry },
    { POST, "/v1/webhooks", NEED_ENV, mfx_api_webhook_create },
    { POST, "/v1/account/webhooks", NEED_ENV, mfx_api_webhook_create },
    { GET,  "/v1/webhooks", NEED_ENV, mfx_api_webhook_list },
    { GET,  "/v1/account/webhooks", NEED_ENV, mfx_api_webhook_list },
    { GET,  "/v1/webhooks/{}", NEED_ENV, mfx_api_webhook_get },
    { PATCH, "/v1/webhooks/{}", NEED_ENV, mfx_api_webhook_update },
    { DEL,  "/v1/webhooks/{}", NEED_ENV, mfx_api_webhook_delete },
    { POST, "/v1/webhooks/{}/rotate_secret", NEED_ENV, mfx_api_webhook_rotate },
    { POST, "/v1/events/{}/replay", NEED_ENV, mfx_api_event_replay },

    { GET,  "/v1/events", NEED_ENV, mfx_api_event_list },
    { GET,  "/v1/events/{}", NEED_ENV, mfx_api_event_get },

    { GET,  "/v1/numbers", NEED_ENV, mfx_api_number_list },
    { POST, "/v1/numbers", NEED_ENV, mfx_api_number_create },

    { GET,  "/v1/workspace", NEED_ENV, mfx_api_workspace_self },
    { POST, "/v1/workspace/baa", NEED_ENV, mfx_api_workspace_baa },
    { GET,  "/v1/workspace/audit", NEED_ENV, mfx_api_workspace_audit },
    { GET,  "/v1/workspaces/{}/keys", NEED_ACCOUNT, mfx_api_key_list },
    { POST, "/v1/workspaces", NEED_ACCOUNT, mfx_api_workspace_create },
    { GET,  "/v1/workspaces", NEED_ACCOUNT, mfx_api_workspace_list },
    { GET,  "/v1/workspaces/{}", NEED_ACCOUNT, mfx_api_workspace_get },
    { POST, "/v1/workspaces/{}/topups", NEED_ACCOUNT, mfx_api_workspace_topup },
    { POST, "/v1/workspaces/{}/keys", NEED_ACCOUNT, mfx_api_key_create },
    { DEL,  "/v1/workspaces/{}/keys/{}", NEED_ACCOUNT, mfx_api_key_revoke },
};

static struct evhttp *http;
static struct evhttp_bound_socket *bound;
static bool accepting = true;

/* ------------------------------------------------------------------------ */
/* Route matching                                                           */

/* Matches path against pattern, filling params; returns true on a match. */
static bool match(const char *pattern, const char *path, char *params[3])
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (p[0] == '{' && p[1] == '}') {
            const char *end = strchr(s, '/');
            size_t len = end ? (size_t)(end - s) : strlen(s);
            if (len == 0 || np >= 3) goto fail;
            params[np++] = mfx_strndup(s, len);
            p += 2;
            s += len;
            continue;
        }
        if (*p != *s) goto fail;
        p++;
        s++;
    }
    if (*p == '\0' && (*s == '\0' || (s[0] == '/' && s[1] == '\0'))) return true;
fail:
    for (int i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* Replies                                                                  */

static void req_free(struct mfx_req *req)
{
    evhttp_clear_headers(&req->query);
    free(req->path);
    for (int i = 0; i < 3; i++) free(req->params[i]);
    free(req->body);
    free(req);
}

const char *mfx_req_header(struct mfx_req *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const char *mfx_req_query(struct mfx_req *req, const char *name)
{
    return evhttp_find_header(&req->query, name);
}

bool mfx_req_content_type_is(struct mfx_req *req, const char *type)
{
    const char *ct = mfx_req_header(req, "Content-Type");
    if (!ct) return false;
    size_t n = strlen(type);
    if (strncasecmp(ct, type, n) != 0) return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

char *mfx_http_base_url(struct mfx_req *req)
{
    if (mfx_cfg.public_url[0]) return mfx_strdup(mfx_cfg.public_url);
    const char *host = req ? mfx_req_header(req, "Host") : NULL;
    if (!host || strpbrk(host, " \"<>\\")) host = mfx_cfg.listen;
    return mfx_asprintf("http://%s", host);
}

void mfx_reply_header(struct mfx_req *req, const char *name, const char *value)
{
    evhttp_add_header(evhttp_request_get_output_headers(req->ev), name, value);
}

/* A finished response waiting for the batch to commit. */
struct pending_reply {
    struct mfx_req *req;
    int status;
    struct evbuffer *body;
};

static void access_log(struct mfx_req *req, int status)
{
    static const char *names[] = { "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "CONNECT", "PATCH" };
    int m = 0;
    for (unsigned t = req->method; t > 1; t >>= 1) m++;
    mfx_info("http", "req=%s key=%s%s%s %s %s %d %lldms", req->id,
             req->auth.key_id[0] ? req->auth.key_id : "-",
             req->fax_ctx[0] ? " fax=" : "", req->fax_ctx,
             m < 9 ? names[m] : "?", req->path ? req->path : "-", status,
             (long long)(mfx_monotonic_ms() - req->started_ms));
}

static void build_error(struct mfx_req *req, enum mfx_err err, const char *detail,
                        json_object *field_errors, int *status, struct evbuffer *out);

static void send_now(void *arg, bool committed)
{
    struct pending_reply *pr = arg;
    struct mfx_req *req = pr->req;
    if (!committed) {
        /* The batch this reply depended on did not reach the disk. */
        evbuffer_drain(pr->body, evbuffer_get_length(pr->body));
        struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
        evhttp_remove_header(h, "Idempotent-Replayed");
        build_error(req, MFX_E_storage_unavailable, NULL, NULL, &pr->status, pr->body);
    }
    access_log(req, pr->status);
    evhttp_send_reply(req->ev, pr->status, NULL, pr->body);
    evbuffer_free(pr->body);
    req_free(req);
    free(pr);
}

/* Adds the common headers, records the idempotent response, and sends once
 * the batch is durable. Takes ownership of body. */
static void finish(struct mfx_req *req, int status, const char *content_type, struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req->ev);
    if (content_type) evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "X-Request-Id", req->id);
    evhttp_add_header(h, "Request-Id", req->id);
    if (req->rl_limit > 0) {
        char num[32];
        snprintf(num, sizeof num, "%ld", req->rl_limit);
        evhttp_add_header(h, "X-RateLimit-Limit", num);
        snprintf(num, sizeof num, "%ld", req->rl_remaining);
        evhttp_add_header(h, "X-RateLimit-Remaining", num);
        snprintf(num, sizeof num, "%ld", req->rl_reset);
        evhttp_add_header(h, "X-RateLimit-Reset", num);
    }
    if (req->idem_key[0]) evhttp_add_header(h, "X-Idempotency-Key", req->idem_key);
    if (req->idem_in_flight) {
        mfx_idempotency_finish(req, status, content_type, body);
        req->idem_in_flight = false;
    }
    struct pending_reply *pr = mfx_malloc(sizeof *pr);
    pr->req = req;
    pr->status = status;
    pr->body = body;
    mfx_tx_after_commit(send_now, pr);
}

void mfx_reply_json(struct mfx_req *req, int status, json_object *obj)
{
    struct evbuffer *buf = evbuffer_new();
    if (obj) {
        size_t len;
        const char *s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        evbuffer_add(buf, s, len);
        json_object_put(obj);
    }
    finish(req, status, obj ? "application/json" : NULL, buf);
}

void mfx_reply_raw(struct mfx_req *req, int status, const char *content_type, const void *data, size_t len)
{
    struct evbuffer *buf = evbuffer_new();
    evbuffer_add(buf, data, len);
    finish(req, status, content_type, buf);
}

static void build_error(struct mfx_req *req, enum mfx_err err, const char *detail,
                        json_object *field_errors, int *status, struct evbuffer *out)
{
    const struct mfx_error_info *e = mfx_error_info(err);
    char *base = mfx_http_base_url(req);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(e->code));
    json_object_object_add(o, "message", json_object_new_string(detail ? detail : e->message));
    json_object_object_add(o, "action", json_object_new_string(e->action));
    json_object_object_add(o, "action_message", json_object_new_string(e->action_text));
    char *docs = mfx_asprintf("%s/docs/errors/%s", base, e->code);
    json_object_object_add(o, "docs", json_object_new_string(docs));
    json_object_object_add(o, "request_id", json_object_new_string(req->id));
    if (field_errors) {
        json_object *ctx = json_object_new_object();
        json_object_object_add(ctx, "errors", field_errors);
        json_object_object_add(o, "context", ctx);
    }
    size_t len;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    evbuffer_add(out, s, len);
    json_object_put(o);
    free(docs);
    free(base);
    *status = e->http_status ? e->http_status : 500;
}

void mfx_reply_error(struct mfx_req *req, enum mfx_err err, const char *detail, json_object *field_errors)
{
    struct evbuffer *buf = evbuffer_new();
    int status;
    build_error(req, err, detail, field_errors, &status, buf);
    if (status == 429 || status == 503) {
        char ra[32];
        long secs = req->rl_reset > 0 ? req->rl_reset - (long)(mfx_now_ms() / 1000) : 1;
        snprintf(ra, sizeof ra, "%ld", secs > 0 ? secs : 1);
        if (!evhttp_find_header(evhttp_request_get_output_headers(req->ev), "Retry-After"))
            mfx_reply_header(req, "Retry-After", ra);
    }
    finish(req, status, "application/json", buf);
}

/* True if the JSON text has a \u0000 escape (not an escaped backslash
 * followed by "u0000"), or a raw NUL byte. json-c would truncate strings and
 * object keys at it. */
static bool has_nul_escape(const char *s, size_t len)
{
    if (memchr(s, '\0', len)) return true;
    for (size_t i = 0; i + 5 < len; i++) {
        if (s[i] != '\\' || s[i + 1] != 'u' || strncmp(s + i + 2, "0000", 4)) continue;
        size_t bs = 0;
        for (size_t j = i + 1; j-- > 0 && s[j] == '\\';) bs++;
        if (bs % 2 == 1) return true;
    }
    return false;
}

json_object *mfx_req_json_object(struct mfx_req *req)
{
    if (!mfx_req_content_type_is(req, "application/json")) {
        mfx_reply_error(req, MFX_E_unsupported_media_type, "Send the body as application/json.", NULL);
        return NULL;
    }
    if (req->body_len > (size_t)mfx_cfg.max_json_body) {
        mfx_reply_error(req, MFX_E_payload_too_large, "The JSON body is larger than the limit.", NULL);
        return NULL;
    }
    if (req->body_len == 0) {
        mfx_reply_error(req, MFX_E_invalid_json, "The request body is empty; send a JSON object.", NULL);
        return NULL;
    }
    if (has_nul_escape((const char *)req->body, req->body_len)) {
        mfx_reply_error(req, MFX_E_invalid_json, "The body contains a NUL character (\\u0000), which no field accepts.", NULL);
        return NULL;
    }
    json_tokener *tok = json_tokener_new_ex(64);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, (const char *)req->body, (int)req->body_len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t consumed = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_success) {
        /* Only white space may follow the value. */
        for (size_t i = consumed; i < req->body_len; i++)
            if (!strchr(" \t\r\n", req->body[i])) { jerr = json_tokener_error_parse_unexpected; break; }
    }
    if (!o || jerr != json_tokener_success) {
        json_object_put(o);
        char *msg = mfx_asprintf("The body is not valid JSON: %s.",
                                 jerr == json_tokener_success ? "unexpected data after the value" : json_tokener_error_desc(jerr));
        mfx_reply_error(req, MFX_E_invalid_json, msg, NULL);
        free(msg);
        return NULL;
    }
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        mfx_reply_error(req, MFX_E_invalid_json, "The body must be a JSON object.", NULL);
        return NULL;
    }
    return o;
}

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                 */

static void handle(struct evhttp_request *ev, void *arg)
{
    (void)arg;
    struct mfx_req *req = mfx_calloc(1, sizeof *req);
    req->ev = ev;
    req->started_ms = mfx_monotonic_ms();
    req->method = evhttp_request_get_command(ev);
    TAILQ_INIT(&req->query);
    mfx_id_new("req_", req->id);

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!raw_path || !*raw_path) raw_path = "/";
    req->path = evhttp_uridecode(raw_path, 0, NULL);
    if (!req->path) req->path = mfx_strdup("/");
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    if (qs && evhttp_parse_query_str(qs, &req->query) != 0) {
        mfx_reply_error(req, MFX_E_validation_failed, "The query string is malformed.", NULL);
        return;
    }
    /* evhttp decodes values but not keys: tag%5Bx%5D must read tag[x]. */
    struct evkeyval *kv;
    TAILQ_FOREACH(kv, &req->query, next) {
        char *key = evhttp_uridecode(kv->key, 1, NULL);
        if (key) {
            free(kv->key);
            kv->key = key;
        }
    }

    if (!accepting) {
        mfx_reply_header(req, "Connection", "close");
        mfx_reply_error(req, MFX_E_shutting_down, NULL, NULL);
        return;
    }

    /* Find the route: a path match with another method is a 405; HEAD is
     * GET without the body (evhttp drops it), OPTIONS lists the methods. */
    const struct route *rt = NULL;
    bool path_matched = false;
    char allow[64] = "";
    enum evhttp_cmd_type want = req->method == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : req->method;
    for (size_t i = 0; i < MFX_ARRAY_LEN(routes) && !rt; i++) {
        char *params[3] = { NULL, NULL, NULL };
        if (!match(routes[i].pattern, req->path, params)) continue;
        if (routes[i].method == want) {
            rt = &routes[i];
            memcpy(req->params, params, sizeof params);
        } else {
            path_matched = true;
            const char *m = routes[i].method == GET ? "GET" : routes[i].method == POST ? "POST"
                          : routes[i].method == PATCH ? "PATCH" : routes[i].method == PUT ? "PUT" : "DELETE";
            if (!strstr(allow, m) && strlen(allow) + strlen(m) + 3 < sizeof allow) {
                if (allow[0]) strcat(allow, ", ");
                strcat(allow, m);
            }
            for (int k = 0; k < 3; k++) free(params[k]);
        }
    }
    if (!rt && req->method == EVHTTP_REQ_OPTIONS && path_matched) {
        mfx_reply_header(req, "Allow", allow);
        mfx_reply_json(req, 204, NULL);
        return;
    }
    if (!rt) {
        if (path_matched) {
            mfx_reply_header(req, "Allow", allow);
            mfx_reply_error(req, MFX_E_method_not_allowed, NULL, NULL);
        } else {
            mfx_reply_error(req, MFX_E_route_not_found, NULL, NULL);
        }
        return;
    }

    if (rt->need != NEED_NONE) {
        enum mfx_err aerr = mfx_auth_check(req);
        if (aerr != MFX_E__COUNT) {
            mfx_reply_header(req, "WWW-Authenticate", "Bearer realm=\"mintfax\"");
            mfx_reply_error(req, aerr, NULL, NULL);
            return;
        }
        if (rt->need == NEED_ENV && req->auth.kind != MFX_PRINCIPAL_ENV) {
            mfx_reply_error(req, MFX_E_forbidden, "The account key manages workspaces; use a workspace key (mfx_test_ or mfx_live_) here.", NULL);
            return;
        }
        if (rt->need == NEED_ACCOUNT && req->auth.kind != MFX_PRINCIPAL_ACCOUNT) {
            mfx_reply_error(req, MFX_E_forbidden, "Only the account key (mfx_acct_) may manage workspaces.", NULL);
            return;
        }
        if (!mfx_ratelimit_check(req, rt->handler == mfx_api_fax_get ? req->params[0] : NULL))
            return;   /* replied 429 */
    }

    /* The body: bounded by evhttp (max_upload) and here per content type. */
    struct evbuffer *in = evhttp_request_get_input_buffer(ev);
    size_t len = evbuffer_get_length(in);
    req->body = mfx_malloc(len + 1);
    evbuffer_copyout(in, req->body, len);
    req->body[len] = '\0';
    req->body_len = len;

    if (req->method == POST && rt->need != NEED_NONE) {
        const char *key = mfx_req_header(req, "Idempotency-Key");
        if (key && mfx_idempotency_begin(req, key)) return;   /* replayed or refused */
    }
    bool read_only = req->method == EVHTTP_REQ_GET || req->method == EVHTTP_REQ_HEAD;
    if (read_only) mfx_read_begin();
    rt->handler(req);
    if (read_only) mfx_read_end();
}

int mfx_http_start(struct event_base *base, const char *listen, char **err)
{
    *err = NULL;
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host) {
        *err = mfx_asprintf("--listen \"%s\" is not HOST:PORT", listen);
        return -1;
    }
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) {
        *err = mfx_asprintf("--listen \"%s\" has no valid port", listen);
        return -1;
    }
    http = evhttp_new(base);
    evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                                     EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
                                     EVHTTP_REQ_OPTIONS);
    /* Multipart framing adds a little to the largest file. */
    evhttp_set_max_body_size(http, mfx_cfg.max_upload + 65536);
    evhttp_set_max_headers_size(http, 65536);
    evhttp_set_timeout(http, 60);
    evhttp_set_default_content_type(http, "application/json");
    evhttp_set_gencb(http, handle, NULL);
    bound = evhttp_bind_socket_with_handle(http, host, (ev_uint16_t)port);
    if (!bound) {
        *err = mfx_asprintf("cannot listen on %s", listen);
        return -1;
    }
    return 0;
}

void mfx_http_stop_accepting(void)
{
    accepting = false;
    if (http && bound) {
        evhttp_del_accept_socket(http, bound);
        bound = NULL;
    }
}

void mfx_http_free(void)
{
    if (http) evhttp_free(http);
    http = NULL;
}
