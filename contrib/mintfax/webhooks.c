/* SPDX-License-Identifier: Apache-2.0
 *
 * webhooks.c: `mintfax webhooks verify`, which checks a saved webhook
 * request the way a receiver should (Standard Webhooks, DESIGN §8): the
 * webhook-id, webhook-timestamp and webhook-signature headers are present,
 * the timestamp is within a tolerance of now, and one of the space-separated
 * "v1,<base64>" signatures is the HMAC-SHA256 of "id.timestamp.body" keyed
 * by the base64-decoded part of the secret after "whsec_". It says which
 * check failed. This command makes no request, so it needs no API key; the
 * HMAC is OpenSSL's. The daemon's signing side is src/signature.c.
 *
 * The saved request is read from a file or stdin, in raw HTTP form: an
 * optional request line ("POST /hook HTTP/1.1"), header lines
 * ("Name: value", CRLF or LF), an empty line, then the body as received.
 * With a Content-Length header the body is that many bytes (so a newline an
 * editor added at the end does not matter); without one it is everything
 * after the empty line.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "mintfax.h"

#define MAX_REQUEST (16u * 1024u * 1024u) /* largest saved request read */
#define MAX_HEADERS 100
#define DEFAULT_TOLERANCE 300L            /* seconds, as the reference libraries */

enum { OPT_SECRET = 2000, OPT_TOLERANCE, OPT_NOW };

/* One header of the saved request; name and value point into the buffer. */
struct header {
    const char *name;
    char *value;
};

/* The saved request, split in place in buf (which it owns). */
struct saved_request {
    char *buf;
    size_t len;
    struct header headers[MAX_HEADERS];
    size_t n_headers;
    const char *body;
    size_t body_len;
};

/* Reads all of f into a malloc'd buffer (NUL-terminated, *len without the
 * NUL), at most MAX_REQUEST bytes. Returns NULL after printing why. */
static char *read_all(FILE *f, const char *what, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fprintf(stderr, "error: out of memory\n");
        return NULL;
    }
    for (;;) {
        if (cap - n < 4096) {
            if (cap > MAX_REQUEST) {
                fprintf(stderr, "error: %s is larger than %u MiB\n", what, MAX_REQUEST / (1024u * 1024u));
                free(buf);
                return NULL;
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                fprintf(stderr, "error: out of memory\n");
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "error: cannot read %s: %s\n", what, strerror(errno));
                free(buf);
                return NULL;
            }
            break;
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Finds the end of the line starting at p (before its CRLF or LF); sets
 * *next to the start of the following line. Returns NULL when no line end
 * is left. */
static char *line_end(char *p, char *end, char **next)
{
    char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
        return NULL;
    *next = nl + 1;
    return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

static int is_request_line(const char *p, const char *eol)
{
    /* "METHOD SP target SP HTTP/x" */
    const char *sp = memchr(p, ' ', (size_t)(eol - p));
    if (!sp || sp == p)
        return 0;
    for (const char *c = p; c < sp; c++)
        if (*c < 'A' || *c > 'Z')
            return 0;
    const char *last = eol;
    while (last > sp && last[-1] != ' ')
        last--;
    return last > sp + 1 && eol - last > 5 && memcmp(last, "HTTP/", 5) == 0;
}

/* Returns the value of header name (case-insensitive; the first one), or
 * NULL. */
static const char *header_get(const struct saved_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (strcasecmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

/* Trims spaces and tabs at both ends of [p, e) in place; returns the start. */
static char *trim(char *p, char *e)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
    *e = '\0';
    return p;
}

/* Splits r->buf into headers and body. Returns 0, or -1 after printing
 * what is wrong with the format. */
static int parse_request(struct saved_request *r, const char *what)
{
    char *p = r->buf, *end = r->buf + r->len, *next, *eol;

    /* Leading blank lines (a copy and paste) are skipped. */
    while ((eol = line_end(p, end, &next)) != NULL && eol == p)
        p = next;
    eol = line_end(p, end, &next);
    if (eol && is_request_line(p, eol))
        p = next;
    for (;;) {
        eol = line_end(p, end, &next);
        if (!eol) {
            fprintf(stderr, "error: %s has no empty line between the headers and the body\n"
                    "  expected: [POST /path HTTP/1.1], header lines \"Name: value\", an empty line, the body\n",
                    what);
            return -1;
        }
        if (eol == p) {
            p = next;
            break;
        }
        if ((*p == ' ' || *p == '\t') && r->n_headers > 0) {
            /* An obsolete folded line continues the previous value. */
            struct header *h = &r->headers[r->n_headers - 1];
            char *more = trim(p, eol);
            size_t a = strlen(h->value), b = strlen(more);
            memmove(h->value + a + 1, more, b + 1);   /* in place: more lies after value */
            h->value[a] = ' ';
            p = next;
            continue;
        }
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p) {
            fprintf(stderr, "error: %s: \"%.*s\" is not a header line (Name: value)\n", what,
                    (int)(eol - p > 60 ? 60 : eol - p), p);
            return -1;
        }
        if (r->n_headers == MAX_HEADERS) {
            fprintf(stderr, "error: %s has more than %d headers\n", what, MAX_HEADERS);
            return -1;
        }
        *colon = '\0';
        r->headers[r->n_headers].name = trim(p, colon);
        r->headers[r->n_headers].value = trim(colon + 1, eol);
        r->n_headers++;
        p = next;
    }
    r->body = p;
    r->body_len = (size_t)(end - p);

    const char *te = header_get(r, "Transfer-Encoding");
    if (te && strcasecmp(te, "identity") != 0) {
        fprintf(stderr, "error: %s has Transfer-Encoding: %s; save the decoded body instead\n", what, te);
        return -1;
    }
    const char *cl = header_get(r, "Content-Length");
    if (cl) {
        char *e;
        errno = 0;
        unsigned long long n = strtoull(cl, &e, 10);
        if (errno || e == cl || *e || cl[0] == '-') {
            fprintf(stderr, "error: %s: Content-Length \"%s\" is not a number\n", what, cl);
            return -1;
        }
        if (n > r->body_len) {
            fprintf(stderr, "error: %s: the body has %zu bytes, fewer than its Content-Length of %llu "
                    "(was the request saved whole?)\n", what, r->body_len, n);
            return -1;
        }
        r->body_len = (size_t)n;
    }
    return 0;
}

/* Decodes the key of a secret: the base64 after "whsec_" (the prefix is
 * optional, as in the reference libraries). Returns its length (1..64) with
 * the key in key[], or -1 when it is not base64 or is empty. */
static int secret_key(const char *secret, unsigned char key[64])
{
    if (strncmp(secret, "whsec_", 6) == 0)
        secret += 6;
    size_t n = strlen(secret);
    if (n == 0 || n % 4 != 0 || n > 88)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = secret[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' || (c == '=' && i >= n - 2 && (i == n - 1 || secret[n - 1] == '='));
        if (!ok)
            return -1;
    }
    unsigned char buf[70];
    int len = EVP_DecodeBlock(buf, (const unsigned char *)secret, (int)n);
    if (len < 0)
        return -1;
    /* EVP_DecodeBlock counts the padding as data bytes. */
    if (secret[n - 1] == '=')
        len--;
    if (secret[n - 2] == '=')
        len--;
    if (len <= 0 || len > 64)
        return -1;
    memcpy(key, buf, (size_t)len);
    return len;
}

/* Writes the base64 HMAC-SHA256 of "id.timestamp.body" into out (at least
 * 45 bytes). Returns 0, or -1 when OpenSSL fails. */
static int sign(const unsigned char *key, int key_len, const char *id, const char *ts,
                const char *body, size_t body_len, char out[64])
{
    size_t n = strlen(id) + strlen(ts) + 2 + body_len;
    unsigned char *msg = malloc(n ? n : 1);
    if (!msg)
        return -1;
    size_t off = 0;
    memcpy(msg + off, id, strlen(id));
    off += strlen(id);
    msg[off++] = '.';
    memcpy(msg + off, ts, strlen(ts));
    off += strlen(ts);
    msg[off++] = '.';
    memcpy(msg + off, body, body_len);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    unsigned char *ok = HMAC(EVP_sha256(), key, key_len, msg, n, md, &md_len);
    free(msg);
    if (!ok || md_len != 32)
        return -1;
    EVP_EncodeBlock((unsigned char *)out, md, 32);
    return 0;
}

/* Prints why the request is not verified and returns the exit status. */
static int not_verified(const char *check, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int not_verified(const char *check, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "not verified: %s: ", check);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return MFX_EXIT_USAGE;
}

/* Parses a whole number of seconds for option what. Returns 0 or -1 after a
 * usage error. */
static int parse_seconds(const char *what, const char *s, long long min, long long *out)
{
    char *e;
    errno = 0;
    long long v = strtoll(s, &e, 10);
    if (errno || e == s || *e || v < min) {
        mfx_usage_error("webhooks", "%s must be a whole number of seconds%s, not '%s'", what,
                        min > 0 ? " above 0" : "", s);
        return -1;
    }
    *out = v;
    return 0;
}

/* mintfax webhooks verify --secret whsec_... [--tolerance S] [--now UNIX] [FILE] */
static int cmd_verify(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "secret", required_argument, NULL, OPT_SECRET },
        { "tolerance", required_argument, NULL, OPT_TOLERANCE },
        { "now", required_argument, NULL, OPT_NOW },
        { NULL, 0, NULL, 0 },
    };
    const char *secret = getenv("MINTFAX_WEBHOOK_SECRET");
    long long tolerance = DEFAULT_TOLERANCE, now = (long long)time(NULL);
    struct saved_request r = { 0 };
    int c, rc = MFX_EXIT_USAGE;
    (void)cli;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_SECRET: secret = optarg; break;
        case OPT_TOLERANCE:
            if (parse_seconds("--tolerance", optarg, 0, &tolerance) != 0)
                return MFX_EXIT_USAGE;
            break;
        case OPT_NOW:
            if (parse_seconds("--now", optarg, 0, &now) != 0)
                return MFX_EXIT_USAGE;
            break;
        case 'h':
            mfx_print_command_help("webhooks", stdout);
            return MFX_EXIT_OK;
        case ':':
            return mfx_usage_error("webhooks", "option %s needs a value", argv[optind - 1]);
        default:
            return mfx_usage_error("webhooks", "unknown option %s", argv[optind - 1]);
        }
    }
    if (argc - optind > 1)
        return mfx_usage_error("webhooks", "verify takes at most one FILE (or reads stdin)");
    if (!secret || !*secret)
        return mfx_usage_error("webhooks", "verify needs --secret whsec_... (or MINTFAX_WEBHOOK_SECRET)");

    unsigned char key[64];
    int key_len = secret_key(secret, key);
    if (key_len < 0)
        return not_verified("bad secret", "the secret is not whsec_ followed by base64 (as shown when the "
                            "endpoint was created or rotated)");

    const char *path = argc - optind == 1 ? argv[optind] : "-";
    const char *what = strcmp(path, "-") == 0 ? "stdin" : path;
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "error: cannot read %s: %s\n", path, strerror(errno));
        return MFX_EXIT_USAGE;
    }
    r.buf = read_all(f, what, &r.len);
    if (f != stdin)
        fclose(f);
    if (!r.buf)
        goto out;
    if (parse_request(&r, what) != 0)
        goto out;

    static const char *const required[] = { "webhook-id", "webhook-timestamp", "webhook-signature" };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        const char *v = header_get(&r, required[i]);
        if (!v || !*v) {
            rc = not_verified("missing header", "%s is not in the request", required[i]);
            goto out;
        }
    }
    const char *id = header_get(&r, "webhook-id");
    const char *ts = header_get(&r, "webhook-timestamp");
    const char *sigs = header_get(&r, "webhook-signature");

    char *e;
    errno = 0;
    long long t = strtoll(ts, &e, 10);
    if (errno || e == ts || *e || ts[0] == '-' || ts[0] == '+') {
        rc = not_verified("invalid timestamp", "webhook-timestamp \"%s\" is not unix seconds", ts);
        goto out;
    }
    if (now - t > tolerance) {
        rc = not_verified("stale timestamp", "signed %lld s ago, more than the tolerance of %lld s "
                          "(a replayed or delayed request?)", now - t, tolerance);
        goto out;
    }
    if (t - now > tolerance) {
        rc = not_verified("timestamp too new", "signed %lld s in the future, more than the tolerance of "
                          "%lld s (check the clocks)", t - now, tolerance);
        goto out;
    }

    char expected[64];
    if (sign(key, key_len, id, ts, r.body, r.body_len, expected) != 0) {
        fprintf(stderr, "error: OpenSSL could not compute the HMAC\n");
        goto out;
    }
    size_t exp_len = strlen(expected);
    int total = 0, matched = 0;
    const char *p = sigs;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        size_t n = (size_t)(p - tok);
        if (n == 0)
            break;
        if (n > 3 && strncmp(tok, "v1,", 3) == 0) {
            total++;
            if (!matched && n - 3 == exp_len && CRYPTO_memcmp(tok + 3, expected, exp_len) == 0)
                matched = total;
        }
    }
    if (!matched) {
        rc = total ? not_verified("signature mismatch", "none of the %d v1 signature%s in webhook-signature is "
                                  "this secret's HMAC of the id, timestamp and body (wrong secret, or "
                                  "the body was changed)", total, total == 1 ? "" : "s")
                   : not_verified("signature mismatch", "webhook-signature has no v1 signature");
        goto out;
    }
    printf("verified: webhook-id ");
    mfx_out_text(stdout, id);
    if (now >= t)
        printf(", signed %lld s ago", now - t);
    else
        printf(", signed %lld s ahead of this clock", t - now);
    printf(", signature %d of %d matches\n", matched, total);
    rc = MFX_EXIT_OK;
out:
    OPENSSL_cleanse(key, sizeof(key));
    free(r.buf);
    return rc;
}

/* mintfax webhooks SUBCOMMAND ... */
int mfx_cmd_webhooks(struct mfx_cli *cli, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        if (argc < 2) {
            mfx_usage_error("webhooks", "webhooks needs a subcommand: verify");
            return MFX_EXIT_USAGE;
        }
        return mfx_print_command_help("webhooks", stdout);
    }
    if (strcmp(argv[1], "verify") == 0)
        return cmd_verify(cli, argc - 1, argv + 1);
    return mfx_usage_error("webhooks", "no subcommand 'webhooks %s' (there is: verify)", argv[1]);
}
