/* SPDX-License-Identifier: Apache-2.0
 *
 * output.c: everything the client prints about a response. --json prints
 * the body byte for byte; otherwise short summaries of faxes, fax lists,
 * balances and top-ups, and the API error envelope (message, what to do,
 * docs link, request id, per-field validation errors). Every accessor here
 * tolerates missing fields and wrong types, because the body comes from the
 * network; strings are printed with control characters escaped, because some
 * (a remote fax machine's CSID, tags) come from third parties.
 */
#include <inttypes.h>
#include <string.h>

#include "mintfax.h"

/* Returns o[key] when it is a string, else NULL. The string belongs to o. */
const char *mfx_json_str(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Stores o[key] in *out and returns 1 when it is an integer; returns 0 and
 * leaves *out alone otherwise (missing, null, string, double...). */
int mfx_json_int(struct json_object *o, const char *key, int64_t *out)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return 0;
    *out = json_object_get_int64(v);
    return 1;
}

/* Returns o[key] when it is an object, else NULL. Borrowed from o. */
struct json_object *mfx_json_obj(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

/* Returns o[key] when it is an array, else NULL. Borrowed from o. */
static struct json_object *json_arr(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) ||
        !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

/* Prints s with control characters (and DEL) as \xNN so that text from the
 * network cannot move the cursor or recolour the terminal. NULL prints "-". */
void mfx_out_text(FILE *f, const char *s)
{
    if (!s) {
        fputc('-', f);
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\x%02x", *p);
        else
            fputc(*p, f);
    }
}

/* Prints "  label: value\n" when value is set; nothing otherwise. */
static void line_str(FILE *f, const char *label, const char *value)
{
    if (!value || !*value)
        return;
    fprintf(f, "  %-14s ", label);
    mfx_out_text(f, value);
    fputc('\n', f);
}

/* Prints the body exactly as received, adding a final newline if it has
 * none, so `--json` output can be piped into jq. */
void mfx_out_raw(const struct mfx_response *resp)
{
    if (resp->len)
        fwrite(resp->body, 1, resp->len, stdout);
    if (!resp->len || resp->body[resp->len - 1] != '\n')
        fputc('\n', stdout);
}

/* Prints a JSON value of unknown type: strings as text, others as JSON. */
static void out_any(FILE *f, struct json_object *v)
{
    if (v && json_object_is_type(v, json_type_string))
        mfx_out_text(f, json_object_get_string(v));
    else
        mfx_out_text(f, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

/* Prints a non-2xx response on stderr as the error envelope describes it
 * (with --json the raw body also goes to stdout for scripts). A body that
 * is not an envelope (a proxy's HTML page, say) is reported by status.
 * Returns MFX_EXIT_API. */
int mfx_out_api_error(const struct mfx_cli *cli, const struct mfx_response *resp)
{
    struct json_object *env = resp->json;
    const char *message = mfx_json_str(env, "message");
    const char *code = mfx_json_str(env, "error");
    const char *rid = mfx_json_str(env, "request_id");

    if (cli->json && resp->len)
        mfx_out_raw(resp);
    if (!rid && resp->request_id[0])
        rid = resp->request_id;

    if (!message && !code) {
        fprintf(stderr, "error: the server answered HTTP %ld without a mintfax error body\n",
                resp->status);
        if (rid) {
            fputs("  request id: ", stderr);
            mfx_out_text(stderr, rid);
            fputc('\n', stderr);
        }
        return MFX_EXIT_API;
    }
    fputs("error: ", stderr);
    mfx_out_text(stderr, message ? message : code);
    fputc('\n', stderr);

    const char *action_message = mfx_json_str(env, "action_message");
    const char *what = action_message ? action_message : mfx_json_str(env, "action");
    if (what) {
        fputs("  what to do: ", stderr);
        mfx_out_text(stderr, what);
        fputc('\n', stderr);
    }
    if (resp->status == 429 || resp->status == 503) {
        if (resp->retry_after >= 0)
            fprintf(stderr, "  retry after: %ld s\n", resp->retry_after);
    }
    const char *docs = mfx_json_str(env, "docs");
    if (docs) {
        fputs("  docs: ", stderr);
        mfx_out_text(stderr, docs);
        fputc('\n', stderr);
    }
    if (rid) {
        fputs("  request id: ", stderr);
        mfx_out_text(stderr, rid);
        fputc('\n', stderr);
    }

    struct json_object *ctx = mfx_json_obj(env, "context");
    struct json_object *errors = mfx_json_obj(ctx, "errors");
    if (errors) {
        json_object_object_foreach(errors, field, msg) {
            fputs("  field ", stderr);
            mfx_out_text(stderr, field);
            fputs(": ", stderr);
            out_any(stderr, msg);
            fputc('\n', stderr);
        }
    }
    if (ctx) {
        json_object_object_foreach(ctx, key, val) {
            if (strcmp(key, "errors") == 0)
                continue;
            fputs("  ", stderr);
            mfx_out_text(stderr, key);
            fputs(": ", stderr);
            out_any(stderr, val);
            fputc('\n', stderr);
        }
    }
    return MFX_EXIT_API;
}

/* Prints the tags object as "k=v, k=v" on one line. */
static void out_tags(struct json_object *tags)
{
    if (!tags || json_object_object_length(tags) == 0)
        return;
    printf("  %-14s ", "tags:");
    int first = 1;
    json_object_object_foreach(tags, k, v) {
        if (!first)
            fputs(", ", stdout);
        first = 0;
        mfx_out_text(stdout, k);
        fputc('=', stdout);
        out_any(stdout, v);
    }
    fputc('\n', stdout);
}

/* Prints one delivery attempt on one line: number, transport, times and
 * outcome. */
static void out_attempt(struct json_object *a)
{
    int64_t n = 0, ms = 0, sip = 0, rate = 0, pages = 0;
    const char *transport = mfx_json_str(a, "transport");
    const char *err = mfx_json_str(a, "error_code");

    printf("    #");
    if (mfx_json_int(a, "attempt_number", &n))
        printf("%" PRId64, n);
    else
        fputc('?', stdout);
    fputs(" ", stdout);
    mfx_out_text(stdout, transport);
    fputs(" started ", stdout);
    mfx_out_text(stdout, mfx_json_str(a, "started_at"));
    if (!mfx_json_str(a, "completed_at")) {
        fputs(", in progress\n", stdout);
        return;
    }
    if (mfx_json_int(a, "duration_ms", &ms))
        printf(", %.1f s", (double)ms / 1000.0);
    if (mfx_json_int(a, "pages_sent", &pages))
        printf(", %" PRId64 " page%s", pages, pages == 1 ? "" : "s");
    if (mfx_json_int(a, "bit_rate", &rate) && rate > 0)
        printf(", %" PRId64 " bit/s", rate);
    if (mfx_json_int(a, "sip_status", &sip))
        printf(", SIP %" PRId64, sip);
    if (err) {
        fputs(": ", stdout);
        mfx_out_text(stdout, err);
        const char *sub = mfx_json_str(a, "error_subcode");
        if (sub) {
            fputs(" (", stdout);
            mfx_out_text(stdout, sub);
            fputc(')', stdout);
        }
    } else {
        fputs(": ok", stdout);
    }
    fputc('\n', stdout);
}

/* Prints a fax object as a short block: id and status, then the fields a
 * person checks (number, pages, attempts, error, cost, times). */
void mfx_out_fax(struct json_object *fax)
{
    int64_t v = 0, sent = 0, max = 0, left = 0;

    mfx_out_text(stdout, mfx_json_str(fax, "id"));
    fputs("  ", stdout);
    mfx_out_text(stdout, mfx_json_str(fax, "status"));
    const char *env = mfx_json_str(fax, "environment");
    if (env) {
        fputs("  (", stdout);
        mfx_out_text(stdout, env);
        fputc(')', stdout);
    }
    fputc('\n', stdout);

    line_str(stdout, "to:", mfx_json_str(fax, "to"));
    line_str(stdout, "from:", mfx_json_str(fax, "from_number"));
    if (mfx_json_int(fax, "pages", &v)) {
        mfx_json_int(fax, "pages_sent", &sent);
        printf("  %-14s %" PRId64 " (%" PRId64 " sent)\n", "pages:", v, sent);
    }
    line_str(stdout, "resolution:", mfx_json_str(fax, "resolution"));
    line_str(stdout, "resent from:", mfx_json_str(fax, "resent_from"));

    struct json_object *attempts = json_arr(fax, "attempts");
    size_t n_att = attempts ? json_object_array_length(attempts) : 0;
    if (mfx_json_int(fax, "max_attempts", &max)) {
        printf("  %-14s %zu of %" PRId64, "attempts:", n_att, max);
        if (mfx_json_int(fax, "retries_remaining", &left))
            printf(", %" PRId64 " retr%s left", left, left == 1 ? "y" : "ies");
        fputc('\n', stdout);
    } else if (n_att) {
        printf("  %-14s %zu\n", "attempts:", n_att);
    }
    for (size_t i = 0; i < n_att; i++) {
        struct json_object *a = json_object_array_get_idx(attempts, i);
        if (a && json_object_is_type(a, json_type_object))
            out_attempt(a);
    }
    line_str(stdout, "next attempt:", mfx_json_str(fax, "next_attempt_at"));

    const char *err = mfx_json_str(fax, "error_code");
    if (err) {
        printf("  %-14s ", "error:");
        mfx_out_text(stdout, err);
        const char *sub = mfx_json_str(fax, "error_subcode");
        if (sub) {
            fputs(" (", stdout);
            mfx_out_text(stdout, sub);
            fputc(')', stdout);
        }
        const char *msg = mfx_json_str(fax, "error_message");
        if (msg) {
            fputs(": ", stdout);
            mfx_out_text(stdout, msg);
        }
        fputc('\n', stdout);
    }

    struct json_object *cost = mfx_json_obj(fax, "cost");
    if (cost) {
        int64_t held = 0, captured = 0;
        const char *cur = mfx_json_str(cost, "currency");
        mfx_json_int(cost, "held", &held);
        mfx_json_int(cost, "captured", &captured);
        printf("  %-14s held %" PRId64 ", captured %" PRId64 " ", "cost:", held, captured);
        mfx_out_text(stdout, cur ? cur : "credits");
        fputc('\n', stdout);
    }
    out_tags(mfx_json_obj(fax, "tags"));
    line_str(stdout, "webhook url:", mfx_json_str(fax, "webhook_url"));
    line_str(stdout, "created:", mfx_json_str(fax, "created_at"));
    line_str(stdout, "completed:", mfx_json_str(fax, "completed_at"));
}

/* Prints s escaped (or "-") on stdout, then spaces up to width columns. */
static void out_padded(const char *s, size_t width)
{
    mfx_out_text(stdout, s);
    for (size_t w = s ? strlen(s) : 1; w < width; w++)
        fputc(' ', stdout);
    fputc(' ', stdout);
}

/* Prints a list response as one line per fax and, when there is a next
 * page, the cursor to ask for it. */
void mfx_out_fax_list(struct json_object *list)
{
    struct json_object *data = json_arr(list, "data");
    size_t n = data ? json_object_array_length(data) : 0;

    if (n == 0)
        puts("no faxes");
    for (size_t i = 0; i < n; i++) {
        struct json_object *fax = json_object_array_get_idx(data, i);
        int64_t pages;
        const char *id = mfx_json_str(fax, "id");
        const char *status = mfx_json_str(fax, "status");
        const char *to = mfx_json_str(fax, "to");
        const char *err = mfx_json_str(fax, "error_code");

        out_padded(id, 30);
        out_padded(status, 11);
        out_padded(to, 16);
        if (mfx_json_int(fax, "pages", &pages))
            printf("%4" PRId64 "p  ", pages);
        else
            fputs("   -   ", stdout);
        mfx_out_text(stdout, mfx_json_str(fax, "created_at"));
        if (err) {
            fputs("  ", stdout);
            mfx_out_text(stdout, err);
        }
        fputc('\n', stdout);
    }

    struct json_object *more;
    const char *cursor = mfx_json_str(list, "next_cursor");
    if (json_object_object_get_ex(list, "has_more", &more) &&
        json_object_get_boolean(more) && cursor) {
        fputs("more: mintfax list --cursor ", stdout);
        mfx_out_text(stdout, cursor);
        fputs("  (with the same filters)\n", stdout);
    }
}

/* Prints a balance object: available and held credits, the threshold and
 * the auto top-up setting. */
void mfx_out_balance(struct json_object *b)
{
    int64_t available = 0, held = 0, threshold = 0;
    const char *cur = mfx_json_str(b, "currency");
    const char *type = mfx_json_str(b, "type");

    mfx_json_int(b, "available", &available);
    mfx_json_int(b, "held", &held);
    printf("available: %" PRId64 " ", available);
    mfx_out_text(stdout, cur ? cur : "credits");
    printf(" (%" PRId64 " held)", held);
    if (type) {
        fputs("  ", stdout);
        mfx_out_text(stdout, type);
    }
    fputc('\n', stdout);
    if (mfx_json_int(b, "low_balance_threshold", &threshold))
        printf("low-balance threshold: %" PRId64 "\n", threshold);
    struct json_object *auto_top_up = mfx_json_obj(b, "auto_top_up");
    struct json_object *enabled;
    if (auto_top_up && json_object_object_get_ex(auto_top_up, "enabled", &enabled)) {
        if (json_object_get_boolean(enabled)) {
            int64_t at = 0, amount = 0;
            mfx_json_int(auto_top_up, "threshold", &at);
            mfx_json_int(auto_top_up, "amount", &amount);
            printf("auto top-up: %" PRId64 " when below %" PRId64 "\n", amount, at);
        } else {
            puts("auto top-up: off");
        }
    }
}

/* Prints a top-up: the amount added and the balance after it. */
void mfx_out_topup(struct json_object *t)
{
    int64_t amount = 0;
    if (mfx_json_int(t, "amount", &amount))
        printf("topped up %" PRId64 "\n", amount);
    struct json_object *b = mfx_json_obj(t, "balance");
    if (b)
        mfx_out_balance(b);
}

/* The common end of a command: on a 2xx answer print the raw body (--json)
 * or the summary `print` makes of the JSON object; on anything else print
 * the error. Returns the exit code. */
int mfx_out_result(const struct mfx_cli *cli, const struct mfx_response *resp,
                   void (*print)(struct json_object *))
{
    if (resp->status < 200 || resp->status > 299)
        return mfx_out_api_error(cli, resp);
    if (cli->json) {
        mfx_out_raw(resp);
        return MFX_EXIT_OK;
    }
    if (!resp->json || !json_object_is_type(resp->json, json_type_object)) {
        fprintf(stderr, "error: the server answered HTTP %ld with a body that is not a JSON object\n",
                resp->status);
        return MFX_EXIT_API;
    }
    print(resp->json);
    return MFX_EXIT_OK;
}
