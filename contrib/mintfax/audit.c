/* SPDX-License-Identifier: Apache-2.0
 *
 * audit.c: `mintfax audit export`, which writes an environment's audit log
 * (GET /v1/workspace/audit, JSON Lines) to stdout byte for byte, and
 * `mintfax audit verify`, which checks such a copy without the server.
 *
 * Each line of the log is one entry,
 *   {"seq":N,"at":...,"actor":...,"action":...,"target":...,"details":{...},
 *    "prev_hash":"<64 hex>","hash":"<64 hex>"}
 * where hash is the hex SHA-256 of prev_hash (its 64 characters) followed by
 * the line's text up to, not including, `,"hash":"`, with "}" appended: the
 * entry as it was written before its hash was added. prev_hash is the hash
 * of the entry before (64 zeros for the first) and seq counts up by one. The
 * hash is computed over the bytes of the line as read, never over
 * re-serialised JSON. The daemon's side is src/audit.c.
 *
 * verify checks, line by line and in this order, that the line has the
 * form above (else "malformed line"), that its hash is the hash of its own
 * prev_hash and text (else "changed entry"), that its seq follows the one
 * before (else "missing or inserted entry"), and that its prev_hash is the
 * hash of the line before (else "wrong prev_hash"). It stops at the first
 * broken line, naming its line number and seq. A partial copy (exported
 * with since=N) starts at seq N+1 with the hash of entry N as prev_hash:
 * `--from-seq N+1 --prev-hash H` says so.
 *
 * export asks for pages of PAGE_LINES entries, continuing each page with
 * since=<last seq>, so a long log never has to fit in one response; it
 * waits out 429 and 503 answers as their Retry-After says.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "mintfax.h"

#define HASH_HEX 64
#define MARKER ",\"hash\":\""
#define MARKER_LEN (sizeof(MARKER) - 1)
/* `,"hash":"` + 64 hex digits + `"}` */
#define SUFFIX_LEN (MARKER_LEN + HASH_HEX + 2)
#define MAX_LINE (16u * 1024u * 1024u)   /* longest line accepted */
#define JSON_MAX_DEPTH 64
#define PAGE_LINES 2000                  /* entries asked for per request */
#define PAGE_LINES_STR "2000"
#define MAX_QUERY 1024
#define MAX_WAITS 10                     /* 429/503 answers waited out in a row */

static const char GENESIS[HASH_HEX + 1] =
    "0000000000000000000000000000000000000000000000000000000000000000";

enum { OPT_FROM_SEQ = 4000, OPT_PREV_HASH, OPT_SINCE, OPT_ACTION };

/* ---- verify -------------------------------------------------------------- */

static int is_hex64(const char *s, size_t n)
{
    if (n != HASH_HEX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* hex SHA-256 of prev (64 characters) followed by text[0, len). Returns 0,
 * or -1 when OpenSSL fails. */
static int chain_hash(const char *prev, const char *text, size_t len, char out[HASH_HEX + 1])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, prev, HASH_HEX) == 1 && EVP_DigestUpdate(ctx, text, len) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &md_len) == 1 && md_len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -1;
    for (unsigned int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Where the chain stands after the lines verified so far. */
struct chain {
    long long count;          /* lines verified */
    long long next_seq;       /* the seq the next line must have */
    long long last_seq;       /* seq of the last line verified */
    long last_line;           /* its line number */
    char prev[HASH_HEX + 1];  /* the hash the next line's prev_hash must be */
    int anchored;             /* --from-seq / --prev-hash were given */
};

/* Prints "not verified: line L (seq S): WHAT: details" and what verified
 * before it on stderr; returns MFX_EXIT_USAGE (1), the "not verified" status. */
static int broken(const struct chain *c, long line, long long seq, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int broken(const struct chain *c, long line, long long seq, const char *what, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "not verified: line %ld", line);
    if (seq > 0)
        fprintf(stderr, " (seq %lld)", seq);
    fprintf(stderr, ": %s: ", what);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c->count == 1)
        fprintf(stderr, "  the entry before it verifies (line %ld, seq %lld, hash %s)\n", c->last_line, c->last_seq,
                c->prev);
    else if (c->count > 1)
        fprintf(stderr, "  the %lld entries before it verify (up to line %ld, seq %lld, hash %s)\n", c->count,
                c->last_line, c->last_seq, c->prev);
    else
        fprintf(stderr, "  no entry before it verified\n");
    return MFX_EXIT_USAGE;
}

/* Checks one line (without its line end) against the chain and advances
 * it. Returns 0, or the exit status after printing why the line is broken. */
static int check_line(struct chain *c, long lineno, char *line, size_t len)
{
    /* The form: ...,"hash":"<64 hex>"} with a JSON object before it. */
    if (len < SUFFIX_LEN + 2 || line[len - 1] != '}' || line[len - 2] != '"' ||
        memcmp(line + len - SUFFIX_LEN, MARKER, MARKER_LEN) != 0 ||
        !is_hex64(line + len - HASH_HEX - 2, HASH_HEX))
        return broken(c, lineno, 0, "malformed line",
                      "it does not end with ,\"hash\":\"<64 lowercase hex digits>\"} (is this a "
                      "GET /v1/workspace/audit export, saved unchanged?)");
    const char *hash = line + len - HASH_HEX - 2;
    size_t entry_len = len - SUFFIX_LEN + 1;   /* the text before the marker, and "}" */

    /* The entry: the line up to the marker with "}" in its place. */
    char saved = line[entry_len - 1];
    line[entry_len - 1] = '}';
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    struct json_object *entry = NULL;
    if (tok) {
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        entry = json_tokener_parse_ex(tok, line, (int)entry_len);
        if (entry && (json_tokener_get_error(tok) != json_tokener_success ||
                      json_tokener_get_parse_end(tok) != entry_len)) {
            json_object_put(entry);
            entry = NULL;
        }
        json_tokener_free(tok);
    }
    int rc = 0;
    struct json_object *v;
    long long seq = 0;
    const char *prev_hash = NULL;
    if (!entry || !json_object_is_type(entry, json_type_object)) {
        rc = broken(c, lineno, 0, "malformed line", "it is not one JSON object");
        goto out;
    }
    if (!json_object_object_get_ex(entry, "seq", &v) || !json_object_is_type(v, json_type_int) ||
        (seq = json_object_get_int64(v)) < 1) {
        rc = broken(c, lineno, 0, "malformed line", "it has no \"seq\" (a whole number from 1)");
        goto out;
    }
    if (!json_object_object_get_ex(entry, "prev_hash", &v) || !json_object_is_type(v, json_type_string) ||
        !is_hex64(json_object_get_string(v), (size_t)json_object_get_string_len(v))) {
        rc = broken(c, lineno, seq, "malformed line", "its \"prev_hash\" is not 64 lowercase hex digits");
        goto out;
    }
    prev_hash = json_object_get_string(v);

    /* The entry's own hash, over its own prev_hash and text. */
    char computed[HASH_HEX + 1];
    if (chain_hash(prev_hash, line, entry_len, computed) != 0) {
        fprintf(stderr, "error: OpenSSL could not compute SHA-256\n");
        rc = MFX_EXIT_USAGE;
        goto out;
    }
    if (memcmp(computed, hash, HASH_HEX) != 0) {
        rc = broken(c, lineno, seq, "changed entry",
                    "its hash is not the SHA-256 of its prev_hash and its text, so the entry was changed "
                    "after it was written (computed %s)", computed);
        goto out;
    }

    /* Its place in the chain. */
    if (seq != c->next_seq) {
        if (c->count == 0 && !c->anchored)
            rc = broken(c, lineno, seq, "missing or inserted entry",
                        "the first entry of a log is seq 1, this one is seq %lld (entries before it are "
                        "missing; for a partial export give --from-seq %lld --prev-hash <hash of entry %lld>)",
                        seq, seq, seq - 1);
        else if (c->count == 0)
            rc = broken(c, lineno, seq, "missing or inserted entry",
                        "expected seq %lld (--from-seq), found seq %lld", c->next_seq, seq);
        else if (seq == c->next_seq + 1)
            rc = broken(c, lineno, seq, "missing or inserted entry",
                        "seq %lld follows seq %lld: entry %lld is missing (removed, or moved)", seq, c->last_seq,
                        c->next_seq);
        else if (seq > c->next_seq)
            rc = broken(c, lineno, seq, "missing or inserted entry",
                        "seq %lld follows seq %lld: entries %lld to %lld are missing (removed, or moved)", seq,
                        c->last_seq, c->next_seq, seq - 1);
        else
            rc = broken(c, lineno, seq, "missing or inserted entry",
                        "seq %lld follows seq %lld: an entry was inserted, repeated or moved", seq, c->last_seq);
        goto out;
    }
    if (strcmp(prev_hash, c->prev) != 0) {
        if (c->count == 0 && !c->anchored)
            rc = broken(c, lineno, seq, "wrong prev_hash",
                        "the first entry of a log has 64 zeros as prev_hash, this one has %s", prev_hash);
        else if (c->count == 0)
            rc = broken(c, lineno, seq, "wrong prev_hash",
                        "it is %s, not the --prev-hash given (%s)", prev_hash, c->prev);
        else
            rc = broken(c, lineno, seq, "wrong prev_hash",
                        "it is not the hash of line %ld (seq %lld): one of the two was replaced and "
                        "re-hashed, or the chain was spliced", c->last_line, c->last_seq);
        goto out;
    }
    memcpy(c->prev, computed, sizeof(c->prev));
    c->count++;
    c->last_seq = seq;
    c->next_seq = seq + 1;
    c->last_line = lineno;
out:
    line[entry_len - 1] = saved;
    json_object_put(entry);
    return rc;
}

/* mintfax audit verify [--from-seq N --prev-hash H] [FILE] */
static int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "from-seq", required_argument, NULL, OPT_FROM_SEQ },
        { "prev-hash", required_argument, NULL, OPT_PREV_HASH },
        { NULL, 0, NULL, 0 },
    };
    struct chain c = { .next_seq = 1 };
    const char *prev_hash = NULL;
    int c_opt, have_from = 0;

    memcpy(c.prev, GENESIS, sizeof(c.prev));
    optind = 0;
    while ((c_opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c_opt) {
        case OPT_FROM_SEQ: {
            char *e;
            errno = 0;
            long long n = strtoll(optarg, &e, 10);
            if (errno || e == optarg || *e || n < 1 || !isdigit((unsigned char)optarg[0]))
                return mfx_usage_error("audit", "--from-seq must be a sequence number from 1, not '%s'", optarg);
            c.next_seq = n;
            have_from = 1;
            break;
        }
        case OPT_PREV_HASH:
            prev_hash = optarg;
            break;
        case 'h':
            mfx_print_command_help("audit", stdout);
            return MFX_EXIT_OK;
        case ':':
            return mfx_usage_error("audit", "option %s needs a value", argv[optind - 1]);
        default:
            return mfx_usage_error("audit", "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return mfx_usage_error("audit", "verify takes one FILE (or - for stdin)");
    if (prev_hash) {
        char lower[HASH_HEX + 1];
        size_t n = strlen(prev_hash);
        for (size_t i = 0; i < n && i < HASH_HEX; i++)
            lower[i] = (char)tolower((unsigned char)prev_hash[i]);
        if (n != HASH_HEX || (lower[HASH_HEX] = '\0', !is_hex64(lower, n)))
            return mfx_usage_error("audit", "--prev-hash must be 64 hex digits (the hash of the entry "
                                   "before the first one in FILE)");
        if (!have_from)
            return mfx_usage_error("audit", "--prev-hash goes with --from-seq (the seq of the first entry "
                                   "in FILE)");
        memcpy(c.prev, lower, sizeof(c.prev));
    } else if (have_from && c.next_seq > 1) {
        return mfx_usage_error("audit", "--from-seq %lld needs --prev-hash (the hash of entry %lld)",
                               c.next_seq, c.next_seq - 1);
    }
    c.anchored = have_from;

    const char *path = argc - optind == 1 ? argv[optind] : "-";
    const char *what = strcmp(path, "-") == 0 ? "stdin" : path;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot read %s: %s\n", path, strerror(errno));
        return MFX_EXIT_USAGE;
    }

    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    long lineno = 0, blank = 0;   /* blank: the first empty line not yet followed by an entry */
    int rc = MFX_EXIT_OK;
    errno = 0;
    while ((got = getline(&line, &cap, f)) != -1) {
        lineno++;
        size_t len = (size_t)got;
        if (len > MAX_LINE) {
            rc = broken(&c, lineno, 0, "malformed line", "it is longer than %u MiB", MAX_LINE / (1024u * 1024u));
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0) {
            /* Empty lines at the end (an editor's) are harmless. */
            if (!blank)
                blank = lineno;
            continue;
        }
        if (blank) {
            rc = broken(&c, blank, 0, "malformed line", "an empty line between entries");
            break;
        }
        if (memchr(line, '\0', len)) {
            rc = broken(&c, lineno, 0, "malformed line", "it contains a NUL byte");
            break;
        }
        if ((rc = check_line(&c, lineno, line, len)) != 0)
            break;
        errno = 0;
    }
    if (rc == MFX_EXIT_OK && ferror(f)) {
        fprintf(stderr, "error: cannot read %s: %s\n", what, strerror(errno ? errno : EIO));
        rc = MFX_EXIT_USAGE;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (rc == MFX_EXIT_OK)
        printf("verified: %lld entries, last hash %s\n", c.count, c.prev);
    return rc;
}

/* ---- export -------------------------------------------------------------- */

/* Sleeps secs seconds (whole seconds, at least 1). */
static void wait_seconds(long secs)
{
    struct timespec ts = { .tv_sec = secs < 1 ? 1 : secs, .tv_nsec = 0 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* The seq at the start of an entry line ({"seq":N,...}), or -1. */
static long long line_seq(const char *line, size_t len)
{
    static const char head[] = "{\"seq\":";
    if (len < sizeof(head) || memcmp(line, head, sizeof(head) - 1) != 0)
        return -1;
    const char *p = line + sizeof(head) - 1;
    if (!isdigit((unsigned char)*p))
        return -1;
    char *e;
    errno = 0;
    long long v = strtoll(p, &e, 10);
    return errno || *e != ',' ? -1 : v;
}

/* mintfax audit export [--since S] [--action A] */
static int cmd_export(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "since", required_argument, NULL, OPT_SINCE },
        { "action", required_argument, NULL, OPT_ACTION },
        { NULL, 0, NULL, 0 },
    };
    const char *since = NULL, *action = NULL;
    int c;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SINCE: since = optarg; break;
        case OPT_ACTION: action = optarg; break;
        case 'h':
            mfx_print_command_help("audit", stdout);
            return MFX_EXIT_OK;
        case ':':
            return mfx_usage_error("audit", "option %s needs a value", argv[optind - 1]);
        default:
            return mfx_usage_error("audit", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return mfx_usage_error("audit", "export takes no arguments (only --since and --action)");
    if (since && !*since)
        return mfx_usage_error("audit", "--since needs a sequence number or an RFC 3339 time");
    if (action && !*action)
        return mfx_usage_error("audit", "--action needs an action, such as fax.deleted");

    char next_since[32] = "";
    int waits = 0;
    for (;;) {
        struct mfx_buf q = { .max = MAX_QUERY };
        const char *s = next_since[0] ? next_since : since;
        if ((s && mfx_query_add(&q, "since", s) != 0) || (action && mfx_query_add(&q, "action", action) != 0) ||
            mfx_query_add(&q, "limit", PAGE_LINES_STR) != 0) {
            free(q.data);
            fprintf(stderr, "error: --since or --action is too long\n");
            return MFX_EXIT_USAGE;
        }
        char path[MAX_QUERY + 32];
        snprintf(path, sizeof(path), "/v1/workspace/audit%s", q.data);
        free(q.data);

        struct mfx_request req = { .method = "GET", .path = path };
        struct mfx_response resp;
        if (mfx_http_send(cli, &req, &resp) != 0)
            return MFX_EXIT_USAGE;
        if ((resp.status == 429 || resp.status == 503) && waits < MAX_WAITS) {
            long secs = resp.retry_after > 0 ? resp.retry_after : 1;
            if (secs > 60)
                secs = 60;
            waits++;
            mfx_response_release(&resp);
            wait_seconds(secs);
            continue;
        }
        if (resp.status < 200 || resp.status > 299) {
            int rc = mfx_out_api_error(cli, &resp);
            mfx_response_release(&resp);
            return rc;
        }
        waits = 0;
        if (resp.len > 0 && resp.body[resp.len - 1] != '\n') {
            fprintf(stderr, "error: the server's audit log does not end with a line end (cut short?)\n");
            mfx_response_release(&resp);
            return MFX_EXIT_API;
        }
        /* Count the lines and find the last one's seq. */
        long long lines = 0;
        const char *last = NULL;
        for (const char *p = resp.body; p < resp.body + resp.len;) {
            const char *nl = memchr(p, '\n', (size_t)(resp.body + resp.len - p));
            last = p;
            lines++;
            p = nl + 1;
        }
        if (resp.len && fwrite(resp.body, 1, resp.len, stdout) != resp.len) {
            fprintf(stderr, "error: cannot write the audit log: %s\n", strerror(errno));
            mfx_response_release(&resp);
            return MFX_EXIT_USAGE;
        }
        if (lines < PAGE_LINES) {
            mfx_response_release(&resp);
            break;
        }
        long long seq = line_seq(last, (size_t)(resp.body + resp.len - last));
        mfx_response_release(&resp);
        if (seq < 1) {
            fprintf(stderr, "error: the server's audit log has a line that does not start with {\"seq\":N,\n");
            return MFX_EXIT_API;
        }
        snprintf(next_since, sizeof(next_since), "%lld", seq);
    }
    if (fflush(stdout) != 0) {
        fprintf(stderr, "error: cannot write the audit log: %s\n", strerror(errno));
        return MFX_EXIT_USAGE;
    }
    return MFX_EXIT_OK;
}

/* mintfax audit SUBCOMMAND ... */
int mfx_cmd_audit(struct mfx_cli *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2)
            return mfx_usage_error("audit", "audit needs a subcommand: export or verify");
        return mfx_print_command_help("audit", stdout);
    }
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return cmd_export(cli, argc - 1, argv + 1);
    return mfx_usage_error("audit", "no subcommand 'audit %s' (there are: export, verify)", argv[1]);
}
