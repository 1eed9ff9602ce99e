/* SPDX-License-Identifier: Apache-2.0
 *
 * mintfax.c: entry point of the `mintfax` command-line client. It reads the
 * API key and base URL from the environment, parses the global options
 * (--json, --help, --version) that come before the command, and dispatches
 * through the command table below, which also holds each command's help
 * text. The commands themselves are in commands.c; the HTTP layer is
 * http_client.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "mintfax.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define DEFAULT_API_URL "http://127.0.0.1:8080"

/* One command: its name, what runs it, and its help. */
struct command {
    const char *name;
    int (*run)(struct mfx_cli *cli, int argc, char **argv);
    const char *args;    /* usage after the name */
    const char *summary; /* one line for the command list */
    const char *help;    /* options and details for `mintfax help NAME` */
};

static const struct command commands[] = {
    { "send", mfx_cmd_send, "TO FILE_OR_URL [options]",
      "send a fax: upload a file, or have the server fetch an http(s) URL",
      "TO is an E.164 number (+15005550001). FILE_OR_URL is a local PDF, TIFF,\n"
      "PNG or JPEG (uploaded as multipart/form-data) or an http:// or https://\n"
      "URL that the server fetches (sent as document_url).\n"
      "\n"
      "options:\n"
      "  --from FNUM_ID          sending number (fnum_...)\n"
      "  --resolution RES        standard, fine (default) or superfine\n"
      "  --retries N             retries after a failed attempt (0-10)\n"
      "  --tag KEY=VALUE         attach a tag; repeat for several\n"
      "  --header-text TEXT      text of the page header line\n"
      "  --webhook-url URL       also send this fax's events to URL\n"
      "  --idempotency-key KEY   make the request safe to repeat\n"
      "  --wait                  follow the fax until it is delivered or failed;\n"
      "                          exit 0 when delivered, 3 when failed\n" },
    { "get", mfx_cmd_get, "FAX_ID", "show a fax", "" },
    { "list", mfx_cmd_list, "[options]", "list faxes, newest first",
      "options:\n"
      "  --status STATUS   queued, submitted, in_progress, delivered or failed\n"
      "  --to NUMBER       only faxes to this number\n"
      "  --tag KEY=VALUE   only faxes with this tag; repeat to require several\n"
      "  --per-page N      faxes per page (1-100, default 20)\n"
      "  --cursor CURSOR   the next page, as printed after the previous one\n" },
    { "cancel", mfx_cmd_cancel, "FAX_ID", "stop a fax that is not finished yet",
      "The fax ends as failed with error_code cancelled and its hold is released.\n"
      "\n"
      "options:\n"
      "  --idempotency-key KEY   make the request safe to repeat\n" },
    { "resend", mfx_cmd_resend, "FAX_ID [--to NUMBER]",
      "send the document of a fax again, as a new fax",
      "options:\n"
      "  --to NUMBER             send to this number instead of the original one\n"
      "  --idempotency-key KEY   make the request safe to repeat\n"
      "  --wait                  follow the new fax as `send --wait` does\n" },
    { "balance", mfx_cmd_balance, "", "show the credit balance of the key's environment", "" },
    { "topup", mfx_cmd_topup, "AMOUNT", "add AMOUNT credits (sandbox keys only)",
      "options:\n"
      "  --idempotency-key KEY   make the request safe to repeat\n" },
    { "webhooks", mfx_cmd_webhooks, "verify --secret whsec_... [FILE]",
      "check the signature of a saved webhook request",
      "Checks a webhook request the way a receiver should (Standard Webhooks):\n"
      "the webhook-id, webhook-timestamp and webhook-signature headers are\n"
      "present, the timestamp is within the tolerance of now, and one of the\n"
      "v1 signatures is base64(HMAC-SHA256(key, \"id.timestamp.body\")), the key\n"
      "being the base64-decoded part of the secret after whsec_. Prints\n"
      "\"verified\" and exits 0, or says which check failed (missing header,\n"
      "invalid timestamp, stale timestamp, timestamp too new, signature mismatch,\n"
      "bad secret) and exits 1. Needs no API key and makes no request.\n"
      "\n"
      "FILE (default: stdin, also \"-\") holds the request as received, in raw\n"
      "HTTP form: an optional request line (POST /hook HTTP/1.1), header lines\n"
      "(Name: value; CRLF or LF; names in any case), an empty line, then the\n"
      "body byte for byte. With a Content-Length header the body is that many\n"
      "bytes (a newline added at the end is ignored); without one it is all\n"
      "that follows the empty line. Chunked bodies must be saved decoded.\n"
      "\n"
      "options:\n"
      "  --secret whsec_...   the endpoint's signing secret (default: the\n"
      "                       MINTFAX_WEBHOOK_SECRET environment variable)\n"
      "  --tolerance SECONDS  largest age (or lead) of webhook-timestamp\n"
      "                       accepted (default 300)\n"
      "  --now UNIX           judge the timestamp as of this time (for tests and\n"
      "                       old captures)\n" },
    { "events", mfx_cmd_events, "tail [--type TYPE] [--since EVT_ID]",
      "print the environment's events as they happen",
      "Polls GET /v1/events once a second and prints each new event, oldest\n"
      "first, one line each: time, type, event id, then the fax id and status\n"
      "(the error, or the next attempt of a retry) or the balance. Starts at the\n"
      "newest event (prints only later ones) unless --since is given. Honours\n"
      "Retry-After and rides out a server restart. Ctrl-C ends it (exit 0).\n"
      "\n"
      "options:\n"
      "  --type TYPE      only events of this type (fax.queued, fax.sending,\n"
      "                   fax.retry_scheduled, fax.delivered, fax.failed,\n"
      "                   balance.low, balance.topup)\n"
      "  --since EVT_ID   first print every event after this one\n"
      "  --json           print each event envelope as one line of JSON\n" },
    { "audit", mfx_cmd_audit, "export [options] | verify [options] FILE",
      "export the audit log, or check a saved copy of it",
      "audit export [--since S] [--action A]\n"
      "  Writes the audit log of the key's environment (GET /v1/workspace/audit)\n"
      "  to stdout exactly as served: JSON Lines, oldest first, one entry a line.\n"
      "  Save it as it is; verify hashes the bytes of each line.\n"
      "    --since S    only entries after sequence number S, or at or after the\n"
      "                 RFC 3339 time S\n"
      "    --action A   only entries of action A (e.g. fax.deleted); such a copy\n"
      "                 is not a whole chain and does not verify\n"
      "\n"
      "audit verify [--from-seq N --prev-hash H] FILE\n"
      "  Checks a saved copy (FILE, or - for stdin) without the server: each\n"
      "  line's hash is the hex SHA-256 of its prev_hash followed by the line up\n"
      "  to ,\"hash\":\" with } appended; each prev_hash is the hash of the line\n"
      "  before (64 zeros for the first); seq counts up by one from 1. Prints\n"
      "  \"verified: N entries, last hash H\" and exits 0, or names the first\n"
      "  broken line (line number, seq, and what is wrong: malformed line,\n"
      "  changed entry, missing or inserted entry, wrong prev_hash) and exits 1.\n"
      "  Entries removed from the end are not detectable from the copy alone:\n"
      "  compare the last hash with one noted earlier. Needs no API key.\n"
      "    --from-seq N    the copy starts at entry N (an export --since N-1)\n"
      "    --prev-hash H   the hash of entry N-1 (the last hash of the copy\n"
      "                    before), required with --from-seq above 1\n" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_help(FILE *f)
{
    fputs("usage: mintfax [--json] COMMAND [ARGS]\n"
          "\n"
          "Send and track faxes through a mintfaxd server.\n"
          "\n"
          "commands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fputs("  help      show the options of a command: mintfax help send\n"
          "\n"
          "global options (also accepted after the command):\n"
          "  --json      print the raw JSON response instead of a summary\n"
          "  --help      show this help\n"
          "  --version   show the version\n"
          "\n"
          "environment:\n"
          "  MINTFAX_API_KEY   the API key (mfx_test_... sandbox, mfx_live_... live)\n"
          "  MINTFAX_API_URL   the server (default " DEFAULT_API_URL ")\n"
          "\n"
          "exit status: 0 success, 1 usage or connection error (webhooks verify,\n"
          "audit verify: not verified), 2 API error, 3 fax failed (with --wait)\n", f);
}

/* Prints the usage and help of one command on f. Returns MFX_EXIT_OK, or
 * MFX_EXIT_USAGE when there is no such command. */
int mfx_print_command_help(const char *name, FILE *f)
{
    const struct command *c = find_command(name);
    if (!c) {
        fprintf(stderr, "error: no command '%s' (see: mintfax --help)\n", name);
        return MFX_EXIT_USAGE;
    }
    /* The summary, as a sentence. */
    fprintf(f, "usage: mintfax %s%s%s\n\n%c%s.\n", c->name, *c->args ? " " : "", c->args,
            toupper((unsigned char)c->summary[0]), c->summary + 1);
    if (*c->help)
        fprintf(f, "\n%s", c->help);
    fputs("\nevery command also takes --json (raw JSON output) and --help.\n", f);
    return MFX_EXIT_OK;
}

/* Prints "error: ..." and a pointer to the command's help on stderr.
 * Returns MFX_EXIT_USAGE so callers can `return mfx_usage_error(...)`. */
int mfx_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "\n  see: mintfax help %s\n", cmd);
    else
        fputs("\n  see: mintfax --help\n", stderr);
    return MFX_EXIT_USAGE;
}

static void print_version(void)
{
    const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
    printf("mintfax %s (libcurl %s, json-c %s)\n", PACKAGE_VERSION,
           cv && cv->version ? cv->version : "?", json_c_version());
}

/* Fills cli from MINTFAX_API_URL and MINTFAX_API_KEY. The URL must be
 * http(s) and is stored without trailing slashes; the key, when set, must be
 * printable (it goes into a header). Returns 0 or an exit code after
 * printing why. */
static int read_env(struct mfx_cli *cli)
{
    const char *url = getenv("MINTFAX_API_URL");
    const char *key = getenv("MINTFAX_API_KEY");

    if (!url || !*url)
        url = DEFAULT_API_URL;
    if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
        fprintf(stderr, "error: MINTFAX_API_URL must start with http:// or https://\n");
        return MFX_EXIT_USAGE;
    }
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            fprintf(stderr, "error: MINTFAX_API_URL contains a space or control character\n");
            return MFX_EXIT_USAGE;
        }
    }
    if (!(cli->base_url = strdup(url))) {
        fprintf(stderr, "error: out of memory\n");
        return MFX_EXIT_USAGE;
    }
    size_t n = strlen(cli->base_url);
    while (n > 0 && cli->base_url[n - 1] == '/')
        cli->base_url[--n] = '\0';

    /* A missing key is reported by the first request, so that
     * `mintfax CMD --help` works without one. */
    if (!key || !*key)
        return 0;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f) {
            fprintf(stderr, "error: MINTFAX_API_KEY contains a character an API key cannot have\n");
            return MFX_EXIT_USAGE;
        }
    }
    cli->api_key = key;
    return 0;
}

int main(int argc, char **argv)
{
    struct mfx_cli cli = { 0 };
    int i, rc;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_help(stdout);
            return MFX_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0) {
            print_version();
            return MFX_EXIT_OK;
        } else if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else {
            return mfx_usage_error(NULL, "unknown option %s", argv[i]);
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return MFX_EXIT_USAGE;
    }

    const char *name = argv[i];
    if (strcmp(name, "help") == 0) {
        if (i + 1 >= argc) {
            print_help(stdout);
            return MFX_EXIT_OK;
        }
        return mfx_print_command_help(argv[i + 1], stdout);
    }
    const struct command *cmd = find_command(name);
    if (!cmd)
        return mfx_usage_error(NULL, "no command '%s'", name);

    if ((rc = read_env(&cli)) != 0) {
        free(cli.base_url);
        return rc;
    }
    if (mfx_http_init() != 0) {
        free(cli.base_url);
        return MFX_EXIT_USAGE;
    }
    /* The command sees argv from its own name on, as getopt expects. */
    rc = cmd->run(&cli, argc - i, argv + i);
    fflush(stdout);
    mfx_http_cleanup();
    free(cli.base_url);
    return rc;
}
