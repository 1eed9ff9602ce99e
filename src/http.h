/* SPDX-License-Identifier: Apache-2.0
 *
 * http.h: the HTTP server (libevent evhttp), the route table and the request
 * context every API handler receives. A handler answers exactly once through
 * mfx_reply_*(), which adds the common headers (request id, rate limit),
 * records the response for an Idempotency-Key, waits for the write batch to
 * commit and frees the request.
 */
#ifndef MFX_HTTP_H
#define MFX_HTTP_H

#include <sys/queue.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "mfx.h"
#include "errors.h"

struct event_base;

enum mfx_principal_kind { MFX_PRINCIPAL_NONE = 0, MFX_PRINCIPAL_ACCOUNT, MFX_PRINCIPAL_ENV };

/* Who is calling: filled by authentication from the bearer key. */
struct mfx_principal {
    enum mfx_principal_kind kind;
    char key_id[MFX_ID_MAX];
    char workspace_id[MFX_ID_MAX];   /* environment keys only */
    char env_id[MFX_ID_MAX];         /* environment keys only */
    bool live;                       /* environment type */
};

struct mfx_req {
    struct evhttp_request *ev;
    char id[MFX_ID_MAX];             /* req_... */
    enum evhttp_cmd_type method;
    char *path;                      /* decoded, without the query; owned */
    struct evkeyvalq query;          /* parsed query string */
    char *params[3];                 /* {placeholders} of the route, in order; owned */
    struct mfx_principal auth;
    unsigned char *body;             /* owned, NUL-terminated copy */
    size_t body_len;
    char idem_key[256];              /* Idempotency-Key, "" if none */
    char idem_hash[65];              /* SHA-256 of the canonical request */
    bool idem_in_flight;
    long rl_limit, rl_remaining, rl_reset;
    int64_t started_ms;
    char fax_ctx[MFX_ID_MAX];        /* fax id for the access log, "" if none */
};

/* Starts the HTTP server on host:port; returns -1 with *err set. */
int mfx_http_start(struct event_base *base, const char *listen, char **err);
/* Stops accepting new requests (shutdown); requests in flight finish. */
void mfx_http_stop_accepting(void);
void mfx_http_free(void);
/* The base URL for links (public_url, or http://Host of the request). Caller frees. */
char *mfx_http_base_url(struct mfx_req *req);

/* Replies with a JSON body (takes ownership of body; may be NULL for 204). */
void mfx_reply_json(struct mfx_req *req, int status, json_object *body);
/* Replies with the catalogued error; detail (may be NULL) replaces the catalog
 * message, field_errors (may be NULL, ownership taken) goes to context.errors. */
void mfx_reply_error(struct mfx_req *req, enum mfx_err err, const char *detail, json_object *field_errors);
/* Replies with raw bytes (copied). */
void mfx_reply_raw(struct mfx_req *req, int status, const char *content_type, const void *data, size_t len);
/* Adds a response header before replying. */
void mfx_reply_header(struct mfx_req *req, const char *name, const char *value);

/* Request helpers. */
const char *mfx_req_header(struct mfx_req *req, const char *name);
const char *mfx_req_query(struct mfx_req *req, const char *name);
/* True if the Content-Type's media type equals type (parameters ignored). */
bool mfx_req_content_type_is(struct mfx_req *req, const char *type);
/* Parses the body as a JSON object; on failure replies with the error itself
 * and returns NULL. The caller owns the object. */
json_object *mfx_req_json_object(struct mfx_req *req);

#endif
