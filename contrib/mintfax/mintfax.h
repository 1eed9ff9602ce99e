/* SPDX-License-Identifier: Apache-2.0
 *
 * mintfax.h: declarations shared by the files of the `mintfax` command-line
 * client, a standalone program that talks to mintfaxd over its HTTP API only
 * (it includes no daemon header). mintfax.c parses the global options and
 * dispatches, commands.c implements one function per fax and balance
 * command, webhooks.c checks saved webhook requests (`webhooks verify`),
 * events.c follows the event log (`events tail`), audit.c exports and checks
 * the audit log (`audit export`, `audit verify`), wait.c polls a fax until it
 * is terminal, http_client.c wraps libcurl with bounded buffers, and output.c
 * prints responses and error envelopes for people.
 */
#ifndef MINTFAX_CLI_H
#define MINTFAX_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

/* Exit codes: the contract scripts rely on. */
#define MFX_EXIT_OK 0         /* the request succeeded (or the fax was delivered) */
#define MFX_EXIT_USAGE 1      /* bad usage, local problem, or server unreachable */
#define MFX_EXIT_API 2        /* the API answered with an error */
#define MFX_EXIT_FAX_FAILED 3 /* --wait: the fax ended as failed */

/* Largest response body accepted; a bigger one aborts the transfer. */
#define MFX_MAX_RESPONSE (16u * 1024u * 1024u)

/* What every command needs: where the API is, the key, and the output mode.
 * Filled once by main(); the strings point into the environment or argv. */
struct mfx_cli {
    char *base_url;      /* MINTFAX_API_URL without trailing '/', malloc'd */
    const char *api_key; /* MINTFAX_API_KEY, may be NULL until a command needs it */
    int json;            /* --json: print raw response bodies */
};

/* One multipart form field (name=value), sent with the `file` part. */
struct mfx_form_field {
    char *name;
    char *value;
};

/* A request to send. Exactly one of json_body and file_path may be set; with
 * neither, a POST goes out with an empty body. Nothing here is freed by the
 * HTTP layer. */
struct mfx_request {
    const char *method;                 /* "GET", "POST", ... */
    const char *path;                   /* "/v1/faxes?status=queued", already escaped */
    const char *json_body;              /* JSON text, or NULL */
    const char *file_path;              /* multipart upload of this file, or NULL */
    const struct mfx_form_field *fields; /* multipart form fields */
    size_t n_fields;
    const char *idempotency_key;        /* Idempotency-Key header, or NULL */
};

/* A response as received. body is always NUL-terminated (possibly empty);
 * json is the parsed body when it is valid JSON, else NULL. Release with
 * mfx_response_release(). */
struct mfx_response {
    long status;             /* HTTP status */
    char *body;              /* malloc'd, NUL-terminated */
    size_t len;              /* bytes in body, without the NUL */
    struct json_object *json; /* parsed body or NULL */
    char request_id[80];     /* from Request-Id / X-Request-Id, "" if absent */
    long retry_after;        /* Retry-After in seconds, -1 if absent */
};

/* One growable string with a hard maximum size (for query strings). */
struct mfx_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

/* http_client.c */
int mfx_http_init(void);
void mfx_http_cleanup(void);
int mfx_http_send(const struct mfx_cli *cli, const struct mfx_request *req,
                  struct mfx_response *resp);
void mfx_response_release(struct mfx_response *resp);
char *mfx_http_escape(const char *s);
int mfx_buf_append(struct mfx_buf *b, const char *s);
int mfx_query_add(struct mfx_buf *q, const char *name, const char *value);

/* output.c */
const char *mfx_json_str(struct json_object *o, const char *key);
int mfx_json_int(struct json_object *o, const char *key, int64_t *out);
struct json_object *mfx_json_obj(struct json_object *o, const char *key);
void mfx_out_text(FILE *f, const char *s);
void mfx_out_raw(const struct mfx_response *resp);
int mfx_out_api_error(const struct mfx_cli *cli, const struct mfx_response *resp);
void mfx_out_fax(struct json_object *fax);
void mfx_out_fax_list(struct json_object *list);
void mfx_out_balance(struct json_object *balance);
void mfx_out_topup(struct json_object *topup);
int mfx_out_result(const struct mfx_cli *cli, const struct mfx_response *resp,
                   void (*print)(struct json_object *));

/* wait.c */
int mfx_wait_fax(const struct mfx_cli *cli, const struct mfx_response *first,
                 const char *fax_id);

/* commands.c */
int mfx_cmd_send(struct mfx_cli *cli, int argc, char **argv);
int mfx_cmd_get(struct mfx_cli *cli, int argc, char **argv);
int mfx_cmd_list(struct mfx_cli *cli, int argc, char **argv);
int mfx_cmd_cancel(struct mfx_cli *cli, int argc, char **argv);
int mfx_cmd_resend(struct mfx_cli *cli, int argc, char **argv);
int mfx_cmd_balance(struct mfx_cli *cli, int argc, char **argv);
int mfx_cmd_topup(struct mfx_cli *cli, int argc, char **argv);

/* webhooks.c */
int mfx_cmd_webhooks(struct mfx_cli *cli, int argc, char **argv);

/* events.c */
int mfx_cmd_events(struct mfx_cli *cli, int argc, char **argv);

/* audit.c */
int mfx_cmd_audit(struct mfx_cli *cli, int argc, char **argv);

/* mintfax.c */
int mfx_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int mfx_print_command_help(const char *cmd, FILE *f);

#endif
