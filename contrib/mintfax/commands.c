/* SPDX-License-Identifier: Apache-2.0
 *
 * commands.c: one function per `mintfax` command (send, get, list, cancel,
 * resend, balance, topup). Each parses its own options with getopt_long
 * (options may come before or after the positional arguments), checks what
 * can be checked locally (a readable file, an integer, KEY=VALUE tags),
 * builds one request for http_client.c and hands the answer to output.c, or
 * to wait.c for --wait. The server stays the judge of every value it
 * validates, so its error envelope reaches the user unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mintfax.h"

#define MAX_QUERY 8192 /* bytes of query string a list may build */

/* Long-only options get codes above the char range. */
enum {
    OPT_JSON = 1000,
    OPT_FROM,
    OPT_RESOLUTION,
    OPT_RETRIES,
    OPT_TAG,
    OPT_HEADER_TEXT,
    OPT_WEBHOOK_URL,
    OPT_IDEMPOTENCY_KEY,
    OPT_WAIT,
    OPT_STATUS,
    OPT_TO,
    OPT_PER_PAGE,
    OPT_CURSOR,
};

#define COMMON_OPTIONS \
    { "json", no_argument, NULL, OPT_JSON }, { "help", no_argument, NULL, 'h' }

/* A KEY=VALUE tag, split in place in a copy of the argument. */
struct tag {
    char *key;
    char *value;
};

/* Handles what every command's getopt loop has in common: --json, --help
 * and getopt's own errors. Returns -1 when parsing should go on, or the exit
 * code the command should return now. */
static int common_option(struct mfx_cli *cli, const char *cmd, int c, char **argv)
{
    switch (c) {
    case OPT_JSON:
        cli->json = 1;
        return -1;
    case 'h':
        mfx_print_command_help(cmd, stdout);
        return MFX_EXIT_OK;
    case ':':
        return mfx_usage_error(cmd, "option %s needs a value", argv[optind - 1]);
    default:
        if (optopt && optopt < OPT_JSON)
            return mfx_usage_error(cmd, "unknown option -%c", optopt);
        return mfx_usage_error(cmd, "unknown option %s", argv[optind - 1]);
    }
}

/* Parses a whole decimal integer within [min, max] for option `what`.
 * Returns 0 and sets *out, or prints a usage error and returns -1. */
static int parse_int(const char *cmd,  /* command, for the error message */
                     const char *what, /* option name, for the error message */
                     const char *s,    /* the text to parse */
                     long min,         /* smallest value accepted */
                     long max,         /* largest value accepted */
                     long *out)        /* OUT: the value */
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        mfx_usage_error(cmd, "%s must be a whole number, not '%s'", what, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* Splits a KEY=VALUE argument into a tag that points into a malloc'd copy
 * (t->key is that copy; free it). Returns 0, or -1 after a usage error. */
static int parse_tag(const char *cmd, const char *arg, struct tag *t)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        mfx_usage_error(cmd, "--tag takes KEY=VALUE, not '%s'", arg);
        return -1;
    }
    char *copy = strdup(arg);
    if (!copy) {
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    copy[eq - arg] = '\0';
    t->key = copy;
    t->value = copy + (eq - arg) + 1;
    return 0;
}

/* Rejects values that would break an HTTP header (CR, LF, other controls). */
static int header_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

/* Returns "/v1/faxes/<id><suffix>" with the id percent-encoded, malloc'd
 * (the caller frees), or NULL when out of memory. */
static char *fax_path(const char *id, const char *suffix)
{
    char *eid = mfx_http_escape(id);
    if (!eid)
        return NULL;
    size_t n = strlen("/v1/faxes/") + strlen(eid) + strlen(suffix) + 1;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "/v1/faxes/%s%s", eid, suffix);
    free(eid);
    return path;
}

/* Sends req and prints the answer with `print`. Returns the exit code. */
static int run(struct mfx_cli *cli, const struct mfx_request *req,
               void (*print)(struct json_object *))
{
    struct mfx_response resp;
    if (mfx_http_send(cli, req, &resp) != 0)
        return MFX_EXIT_USAGE;
    int rc = mfx_out_result(cli, &resp, print);
    mfx_response_release(&resp);
    return rc;
}

/* Sends req, which creates or names one fax, then either prints the fax or,
 * with wait, follows it until it is terminal. Returns the exit code. */
static int run_fax(struct mfx_cli *cli, const struct mfx_request *req, int wait)
{
    struct mfx_response resp;
    int rc;

    if (mfx_http_send(cli, req, &resp) != 0)
        return MFX_EXIT_USAGE;
    const char *id = mfx_json_str(resp.json, "id");
    if (!wait || resp.status < 200 || resp.status > 299) {
        rc = mfx_out_result(cli, &resp, mfx_out_fax);
    } else if (!id || !mfx_json_str(resp.json, "status")) {
        fprintf(stderr, "error: the server answered HTTP %ld without a fax object\n",
                resp.status);
        rc = MFX_EXIT_API;
    } else {
        rc = mfx_wait_fax(cli, &resp, id);
    }
    mfx_response_release(&resp);
    return rc;
}

/* Checks that path names a regular file this user can read, so a typo is a
 * clear local error rather than a half-sent upload. Returns 0 or -1. */
static int check_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "error: cannot read %s: %s\n", path, strerror(errno));
        return -1;
    }
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    close(fd);
    if (!ok) {
        fprintf(stderr, "error: %s is not a regular file\n", path);
        return -1;
    }
    return 0;
}

static int is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0;
}

/* Appends name=value to a multipart field list the caller sized. name and
 * value are copied (freed with the list). Returns 0, or -1 when out of
 * memory. */
static int add_field(struct mfx_form_field *fields, /* OUT: the list */
                     size_t *n,                      /* OUT: entries used */
                     const char *name,
                     const char *value)
{
    char *nm = strdup(name), *v = strdup(value);
    if (!nm || !v) {
        free(nm);
        free(v);
        fprintf(stderr, "error: out of memory\n");
        return -1;
    }
    fields[*n].name = nm;
    fields[*n].value = v;
    (*n)++;
    return 0;
}

/* Adds a string member to a JSON object when value is set. */
static void json_add_str(struct json_object *o, const char *key, const char *value)
{
    if (value)
        json_object_object_add(o, key, json_object_new_string(value));
}

/* mintfax send TO FILE_OR_URL [options]: POST /v1/faxes, as multipart with
 * the file, or as JSON with document_url for an http(s) URL. */
int mfx_cmd_send(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        { "from", required_argument, NULL, OPT_FROM },
        { "resolution", required_argument, NULL, OPT_RESOLUTION },
        { "retries", required_argument, NULL, OPT_RETRIES },
        { "tag", required_argument, NULL, OPT_TAG },
        { "header-text", required_argument, NULL, OPT_HEADER_TEXT },
        { "webhook-url", required_argument, NULL, OPT_WEBHOOK_URL },
        { "idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY },
        { "wait", no_argument, NULL, OPT_WAIT },
        { NULL, 0, NULL, 0 },
    };
    const char *from = NULL, *resolution = NULL, *retries_arg = NULL;
    const char *header_text = NULL, *webhook_url = NULL, *idem = NULL;
    long retries = 0;
    int wait = 0, rc = MFX_EXIT_USAGE, c;
    size_t n_tags = 0, n_fields = 0;
    struct tag *tags = calloc((size_t)argc + 1, sizeof(*tags));
    struct mfx_form_field *fields = NULL;
    struct json_object *body = NULL;
    char *tag_name = NULL;

    if (!tags) {
        fprintf(stderr, "error: out of memory\n");
        return MFX_EXIT_USAGE;
    }
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_FROM: from = optarg; break;
        case OPT_RESOLUTION: resolution = optarg; break;
        case OPT_RETRIES: retries_arg = optarg; break;
        case OPT_HEADER_TEXT: header_text = optarg; break;
        case OPT_WEBHOOK_URL: webhook_url = optarg; break;
        case OPT_IDEMPOTENCY_KEY: idem = optarg; break;
        case OPT_WAIT: wait = 1; break;
        case OPT_TAG:
            if (parse_tag("send", optarg, &tags[n_tags]) != 0)
                goto out;
            n_tags++;
            break;
        default:
            if ((rc = common_option(cli, "send", c, argv)) >= 0)
                goto out;
            rc = MFX_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        mfx_usage_error("send", "send takes TO and FILE_OR_URL");
        goto out;
    }
    const char *to = argv[optind], *doc = argv[optind + 1];
    if (retries_arg && parse_int("send", "--retries", retries_arg, INT_MIN, INT_MAX, &retries) != 0)
        goto out;
    if (idem && !header_safe(idem)) {
        mfx_usage_error("send", "--idempotency-key must not contain control characters");
        goto out;
    }

    struct mfx_request req = { .method = "POST", .path = "/v1/faxes", .idempotency_key = idem };
    if (is_url(doc)) {
        body = json_object_new_object();
        json_add_str(body, "to", to);
        json_add_str(body, "document_url", doc);
        json_add_str(body, "from_number", from);
        json_add_str(body, "resolution", resolution);
        if (retries_arg)
            json_object_object_add(body, "retries", json_object_new_int64(retries));
        json_add_str(body, "header_text", header_text);
        json_add_str(body, "webhook_url", webhook_url);
        if (n_tags) {
            struct json_object *t = json_object_new_object();
            for (size_t i = 0; i < n_tags; i++)
                json_object_object_add(t, tags[i].key, json_object_new_string(tags[i].value));
            json_object_object_add(body, "tags", t);
        }
        req.json_body = json_object_to_json_string_ext(
            body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    } else {
        if (check_file(doc) != 0)
            goto out;
        fields = calloc(n_tags + 6, sizeof(*fields));
        if (!fields) {
            fprintf(stderr, "error: out of memory\n");
            goto out;
        }
        if (add_field(fields, &n_fields, "to", to) != 0 ||
            (from && add_field(fields, &n_fields, "from_number", from) != 0) ||
            (resolution && add_field(fields, &n_fields, "resolution", resolution) != 0) ||
            (retries_arg && add_field(fields, &n_fields, "retries", retries_arg) != 0) ||
            (header_text && add_field(fields, &n_fields, "header_text", header_text) != 0) ||
            (webhook_url && add_field(fields, &n_fields, "webhook_url", webhook_url) != 0))
            goto out;
        for (size_t i = 0; i < n_tags; i++) {
            size_t len = strlen(tags[i].key) + sizeof("tags[]");
            free(tag_name);
            if (!(tag_name = malloc(len))) {
                fprintf(stderr, "error: out of memory\n");
                goto out;
            }
            snprintf(tag_name, len, "tags[%s]", tags[i].key);
            if (add_field(fields, &n_fields, tag_name, tags[i].value) != 0)
                goto out;
        }
        req.file_path = doc;
        req.fields = fields;
        req.n_fields = n_fields;
    }
    rc = run_fax(cli, &req, wait);

out:
    free(tag_name);
    if (fields) {
        for (size_t i = 0; i < n_fields; i++) {
            free(fields[i].name);
            free(fields[i].value);
        }
        free(fields);
    }
    for (size_t i = 0; i < n_tags; i++)
        free(tags[i].key);
    free(tags);
    if (body)
        json_object_put(body);
    return rc;
}

/* Parses a command that takes only the common options and `want`
 * positional arguments. Returns -1 when the caller should go on with
 * argv[optind..], or the exit code to return. */
static int simple_args(struct mfx_cli *cli, /* OUT: --json sets cli->json */
                       const char *cmd,     /* command name, for messages */
                       int argc,
                       char **argv,         /* argv[0] is the command name */
                       int want,            /* positional arguments required */
                       const char *what)    /* them, in words, for the error */
{
    static const struct option opts[] = { COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1)
        if ((rc = common_option(cli, cmd, c, argv)) >= 0)
            return rc;
    if (argc - optind != want)
        return mfx_usage_error(cmd, "%s takes %s", cmd, what);
    if (want == 1 && argv[optind][0] == '\0')
        return mfx_usage_error(cmd, "the fax id is empty");
    return -1;
}

/* mintfax get FAX_ID: GET /v1/faxes/{id}. */
int mfx_cmd_get(struct mfx_cli *cli, int argc, char **argv)
{
    int rc = simple_args(cli, "get", argc, argv, 1, "one FAX_ID");
    if (rc >= 0)
        return rc;
    char *path = fax_path(argv[optind], "");
    if (!path) {
        fprintf(stderr, "error: out of memory\n");
        return MFX_EXIT_USAGE;
    }
    struct mfx_request req = { .method = "GET", .path = path };
    rc = run(cli, &req, mfx_out_fax);
    free(path);
    return rc;
}

/* mintfax list [filters]: GET /v1/faxes with the filters as query
 * parameters; tag filters become tag[KEY]=VALUE. */
int mfx_cmd_list(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        { "status", required_argument, NULL, OPT_STATUS },
        { "to", required_argument, NULL, OPT_TO },
        { "tag", required_argument, NULL, OPT_TAG },
        { "per-page", required_argument, NULL, OPT_PER_PAGE },
        { "cursor", required_argument, NULL, OPT_CURSOR },
        { NULL, 0, NULL, 0 },
    };
    struct mfx_buf q = { .max = MAX_QUERY };
    struct mfx_buf path = { .max = MAX_QUERY + 64 };
    int rc = MFX_EXIT_USAGE, c, bad = 0;
    long per_page;

    optind = 0;
    while (!bad && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_STATUS: bad = mfx_query_add(&q, "status", optarg); break;
        case OPT_TO: bad = mfx_query_add(&q, "to", optarg); break;
        case OPT_CURSOR: bad = mfx_query_add(&q, "cursor", optarg); break;
        case OPT_PER_PAGE:
            if (parse_int("list", "--per-page", optarg, INT_MIN, INT_MAX, &per_page) != 0)
                goto out;
            bad = mfx_query_add(&q, "per_page", optarg);
            break;
        case OPT_TAG: {
            struct tag t;
            if (parse_tag("list", optarg, &t) != 0)
                goto out;
            /* Brackets stay literal: the server matches the name tag[KEY]. */
            char *ekey = mfx_http_escape(t.key);
            size_t len = ekey ? strlen(ekey) + sizeof("tag[]") : 0;
            char *name = ekey ? malloc(len) : NULL;
            if (name) {
                snprintf(name, len, "tag[%s]", ekey);
                bad = mfx_query_add(&q, name, t.value);
            } else {
                bad = -1;
            }
            free(name);
            free(ekey);
            free(t.key);
            break;
        }
        default:
            if ((rc = common_option(cli, "list", c, argv)) >= 0)
                goto out;
            rc = MFX_EXIT_USAGE;
        }
    }
    if (bad) {
        mfx_usage_error("list", "the filters are too long (more than %d bytes)", MAX_QUERY);
        goto out;
    }
    if (optind != argc) {
        mfx_usage_error("list", "list takes no arguments besides options ('%s')", argv[optind]);
        goto out;
    }
    if (mfx_buf_append(&path, "/v1/faxes") != 0 || (q.len && mfx_buf_append(&path, q.data) != 0)) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    struct mfx_request req = { .method = "GET", .path = path.data };
    rc = run(cli, &req, mfx_out_fax_list);
out:
    free(q.data);
    free(path.data);
    return rc;
}

/* mintfax cancel FAX_ID: POST /v1/faxes/{id}/cancel with an empty body. */
int mfx_cmd_cancel(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        { "idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY },
        { NULL, 0, NULL, 0 },
    };
    const char *idem = NULL;
    int c, rc;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == OPT_IDEMPOTENCY_KEY)
            idem = optarg;
        else if ((rc = common_option(cli, "cancel", c, argv)) >= 0)
            return rc;
    }
    if (argc - optind != 1 || !argv[optind][0])
        return mfx_usage_error("cancel", "cancel takes one FAX_ID");
    if (idem && !header_safe(idem))
        return mfx_usage_error("cancel", "--idempotency-key must not contain control characters");
    char *path = fax_path(argv[optind], "/cancel");
    if (!path) {
        fprintf(stderr, "error: out of memory\n");
        return MFX_EXIT_USAGE;
    }
    struct mfx_request req = { .method = "POST", .path = path, .idempotency_key = idem };
    rc = run(cli, &req, mfx_out_fax);
    free(path);
    return rc;
}

/* mintfax resend FAX_ID [--to N] [--wait]: POST /v1/faxes/{id}/resend with
 * a JSON body ({} or {"to": N}). */
int mfx_cmd_resend(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        { "to", required_argument, NULL, OPT_TO },
        { "idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY },
        { "wait", no_argument, NULL, OPT_WAIT },
        { NULL, 0, NULL, 0 },
    };
    const char *to = NULL, *idem = NULL;
    int c, rc, wait = 0;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == OPT_TO)
            to = optarg;
        else if (c == OPT_IDEMPOTENCY_KEY)
            idem = optarg;
        else if (c == OPT_WAIT)
            wait = 1;
        else if ((rc = common_option(cli, "resend", c, argv)) >= 0)
            return rc;
    }
    if (argc - optind != 1 || !argv[optind][0])
        return mfx_usage_error("resend", "resend takes one FAX_ID");
    if (idem && !header_safe(idem))
        return mfx_usage_error("resend", "--idempotency-key must not contain control characters");
    char *path = fax_path(argv[optind], "/resend");
    if (!path) {
        fprintf(stderr, "error: out of memory\n");
        return MFX_EXIT_USAGE;
    }
    struct json_object *body = json_object_new_object();
    json_add_str(body, "to", to);
    struct mfx_request req = {
        .method = "POST",
        .path = path,
        .idempotency_key = idem,
        .json_body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
    };
    rc = run_fax(cli, &req, wait);
    json_object_put(body);
    free(path);
    return rc;
}

/* mintfax balance: GET /v1/environment/balance. */
int mfx_cmd_balance(struct mfx_cli *cli, int argc, char **argv)
{
    int rc = simple_args(cli, "balance", argc, argv, 0, "no arguments");
    if (rc >= 0)
        return rc;
    struct mfx_request req = { .method = "GET", .path = "/v1/environment/balance" };
    return run(cli, &req, mfx_out_balance);
}

/* mintfax topup AMOUNT: POST /v1/environment/topups {"amount": AMOUNT}. */
int mfx_cmd_topup(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        COMMON_OPTIONS,
        { "idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY },
        { NULL, 0, NULL, 0 },
    };
    const char *idem = NULL;
    int c, rc;
    long amount;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (c == OPT_IDEMPOTENCY_KEY)
            idem = optarg;
        else if ((rc = common_option(cli, "topup", c, argv)) >= 0)
            return rc;
    }
    if (argc - optind != 1)
        return mfx_usage_error("topup", "topup takes one AMOUNT (whole credits)");
    if (parse_int("topup", "AMOUNT", argv[optind], LONG_MIN, LONG_MAX, &amount) != 0)
        return MFX_EXIT_USAGE;
    if (idem && !header_safe(idem))
        return mfx_usage_error("topup", "--idempotency-key must not contain control characters");
    struct json_object *body = json_object_new_object();
    json_object_object_add(body, "amount", json_object_new_int64(amount));
    struct mfx_request req = {
        .method = "POST",
        .path = "/v1/environment/topups",
        .idempotency_key = idem,
        .json_body = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN),
    };
    rc = run(cli, &req, mfx_out_topup);
    json_object_put(body);
    return rc;
}
