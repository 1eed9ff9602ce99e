/* SPDX-License-Identifier: Apache-2.0
 *
 * events.c: `mintfax events tail`, which prints the environment's events as
 * they happen by polling GET /v1/events (DESIGN §8). The list is newest
 * first; each poll pages back until it reaches the newest event already
 * printed, then prints the new ones oldest first, so every event is printed
 * once and in order. It polls once a second (measured from the previous
 * answer), honours Retry-After on 429 and 503, rides out a server restart
 * (after the first answer) with a note on stderr, and ends on Ctrl-C or
 * SIGTERM with status 0. Without --since it starts at the newest event and
 * prints only what happens afterwards; --since evt_... first prints every
 * event after that one. Lines are "time type id subject"; --json prints
 * each event envelope as one JSON line instead.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mintfax.h"

#define PAGE_SIZE "100"
#define MAX_QUERY 1024
#define MAX_BACKOFF 30.0  /* longest wait after a failed poll, seconds */
#define ID_MAX 64

enum { OPT_TYPE = 3000, OPT_SINCE };

static volatile sig_atomic_t stop_requested;

/* First Ctrl-C: finish cleanly at the next check. A second one: leave now. */
static void on_signal(int sig)
{
    (void)sig;
    if (stop_requested)
        _exit(MFX_EXIT_OK);
    stop_requested = 1;
}

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps secs seconds, or less when a stop is requested. */
static void nap(double secs)
{
    double until = now_mono() + secs;
    while (!stop_requested) {
        double left = until - now_mono();
        if (left <= 0)
            return;
        struct timespec ts = { .tv_sec = (time_t)left,
                               .tv_nsec = (long)((left - (double)(time_t)left) * 1e9) };
        if (nanosleep(&ts, NULL) != 0 && errno != EINTR)
            return;
    }
}

/* True when s looks like an event id: evt_ and 26 Crockford base32 characters. */
static int is_event_id(const char *s)
{
    if (strncmp(s, "evt_", 4) != 0 || strlen(s) != 30)
        return 0;
    for (const char *p = s + 4; *p; p++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", *p))
            return 0;
    return 1;
}

/* Prints one event: as one JSON line with --json, else
 * "TIME  TYPE  ID  SUBJECT" where the subject is the fax and its status, or
 * the balance. Text from the server is printed with controls escaped. */
static void print_event(const struct mfx_cli *cli, struct json_object *e)
{
    if (cli->json) {
        fputs(json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), stdout);
        fputc('\n', stdout);
        fflush(stdout);
        return;
    }
    const char *type = mfx_json_str(e, "type");
    struct json_object *obj = mfx_json_obj(mfx_json_obj(e, "data"), "object");
    const char *kind = mfx_json_str(obj, "object");
    int64_t n;

    mfx_out_text(stdout, mfx_json_str(e, "timestamp"));
    fputs("  ", stdout);
    mfx_out_text(stdout, type);
    for (size_t w = type ? strlen(type) : 1; w < 19; w++)
        fputc(' ', stdout);
    fputs("  ", stdout);
    mfx_out_text(stdout, mfx_json_str(e, "id"));
    fputs("  ", stdout);
    if (kind && strcmp(kind, "fax") == 0) {
        mfx_out_text(stdout, mfx_json_str(obj, "id"));
        fputc(' ', stdout);
        mfx_out_text(stdout, mfx_json_str(obj, "status"));
        const char *err = mfx_json_str(obj, "error_code");
        const char *last = mfx_json_str(obj, "last_error_code");
        const char *next = mfx_json_str(obj, "next_attempt_at");
        if (type && strcmp(type, "fax.retry_scheduled") == 0) {
            if (last) {
                fputs(" after ", stdout);
                mfx_out_text(stdout, last);
            }
            if (next) {
                fputs(", next attempt at ", stdout);
                mfx_out_text(stdout, next);
            }
        } else if (err) {
            fputs(": ", stdout);
            mfx_out_text(stdout, err);
        }
        struct json_object *attempts;
        if (type && strcmp(type, "fax.sending") == 0 && json_object_object_get_ex(obj, "attempts", &attempts) &&
            json_object_is_type(attempts, json_type_array))
            printf(" (attempt %zu)", json_object_array_length(attempts));
    } else if (kind && strcmp(kind, "balance") == 0) {
        fputs("balance", stdout);
        if (mfx_json_int(obj, "topup_amount", &n))
            printf(" +%" PRId64, n);
        if (mfx_json_int(obj, "available", &n))
            printf(" available %" PRId64, n);
        if (mfx_json_int(obj, "held", &n))
            printf(" held %" PRId64, n);
        if (mfx_json_int(obj, "low_balance_threshold", &n))
            printf(" (threshold %" PRId64 ")", n);
    } else {
        mfx_out_text(stdout, kind);
    }
    fputc('\n', stdout);
    fflush(stdout);
}

/* What one poll ended with. */
enum poll_result { POLL_OK, POLL_UNREACHABLE, POLL_TRANSIENT, POLL_RATE_LIMITED, POLL_FATAL };

/* Fetches the events newer than last (all of them when last is empty), newest
 * first, into *out (a new array the caller releases). limit_one asks for
 * just the newest event (to learn where "now" is). On POLL_RATE_LIMITED and
 * POLL_TRANSIENT *retry_after is the server's Retry-After (or -1); on
 * POLL_FATAL the error was printed and *rc is the exit status. */
static enum poll_result poll_events(const struct mfx_cli *cli,
                                    const char *type,      /* --type, or NULL */
                                    const char *last,      /* newest id printed, or "" */
                                    int limit_one,
                                    struct json_object **out, /* OUT: the new events */
                                    long *retry_after,        /* OUT: on 429/503 */
                                    int *rc)                  /* OUT: on POLL_FATAL */
{
    char cursor[ID_MAX + 1] = "";
    *out = json_object_new_array();
    *retry_after = -1;
    for (;;) {
        struct mfx_buf path = { .max = MAX_QUERY };
        struct mfx_buf q = { .max = MAX_QUERY };
        int bad = mfx_query_add(&q, "per_page", limit_one ? "1" : PAGE_SIZE);
        if (!bad && type)
            bad = mfx_query_add(&q, "type", type);
        if (!bad && cursor[0])
            bad = mfx_query_add(&q, "cursor", cursor);
        if (!bad)
            bad = mfx_buf_append(&path, "/v1/events") || mfx_buf_append(&path, q.data);
        free(q.data);
        if (bad) {
            free(path.data);
            fprintf(stderr, "error: the query is too long\n");
            *rc = MFX_EXIT_USAGE;
            return POLL_FATAL;
        }
        struct mfx_request req = { .method = "GET", .path = path.data };
        struct mfx_response resp;
        int sent = mfx_http_send(cli, &req, &resp);
        free(path.data);
        if (sent != 0)
            return POLL_UNREACHABLE;   /* why was printed */
        if (resp.status == 429 || resp.status == 503 || resp.status == 502 || resp.status == 504) {
            *retry_after = resp.retry_after;
            enum poll_result r = resp.status == 429 ? POLL_RATE_LIMITED : POLL_TRANSIENT;
            if (r == POLL_TRANSIENT)
                fprintf(stderr, "note: GET /v1/events answered HTTP %ld\n", resp.status);
            mfx_response_release(&resp);
            return r;
        }
        struct json_object *data;
        if (resp.status < 200 || resp.status > 299 || !resp.json ||
            !json_object_object_get_ex(resp.json, "data", &data) || !json_object_is_type(data, json_type_array)) {
            if (resp.status >= 200 && resp.status <= 299)
                fprintf(stderr, "error: GET /v1/events answered HTTP %ld without a list of events\n", resp.status);
            *rc = resp.status >= 200 && resp.status <= 299 ? MFX_EXIT_API : mfx_out_api_error(cli, &resp);
            mfx_response_release(&resp);
            return POLL_FATAL;
        }
        int reached = 0;
        for (size_t i = 0; i < json_object_array_length(data); i++) {
            struct json_object *e = json_object_array_get_idx(data, i);
            const char *id = mfx_json_str(e, "id");
            if (!id)
                continue;
            /* Ids are ULIDs: they sort by creation time. */
            if (last[0] && strcmp(id, last) <= 0) {
                reached = 1;
                break;
            }
            json_object_array_add(*out, json_object_get(e));
        }
        struct json_object *more;
        const char *next = mfx_json_str(resp.json, "next_cursor");
        int has_more = json_object_object_get_ex(resp.json, "has_more", &more) && json_object_get_boolean(more);
        if (reached || limit_one || !has_more || !next || strlen(next) > ID_MAX) {
            mfx_response_release(&resp);
            return POLL_OK;
        }
        snprintf(cursor, sizeof(cursor), "%s", next);
        mfx_response_release(&resp);
    }
}

/* mintfax events tail [--type T] [--since evt_...] [--json] */
static int cmd_tail(struct mfx_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { "type", required_argument, NULL, OPT_TYPE },
        { "since", required_argument, NULL, OPT_SINCE },
        { NULL, 0, NULL, 0 },
    };
    const char *type = NULL, *since = NULL;
    char last[ID_MAX + 1] = "";
    int c, rc = MFX_EXIT_OK;

    optind = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': cli->json = 1; break;
        case OPT_TYPE: type = optarg; break;
        case OPT_SINCE: since = optarg; break;
        case 'h':
            mfx_print_command_help("events", stdout);
            return MFX_EXIT_OK;
        case ':':
            return mfx_usage_error("events", "option %s needs a value", argv[optind - 1]);
        default:
            return mfx_usage_error("events", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return mfx_usage_error("events", "tail takes no arguments besides options ('%s')", argv[optind]);
    if (since && !is_event_id(since))
        return mfx_usage_error("events", "--since takes an event id (evt_ and 26 characters), not '%s'", since);

    struct sigaction sa = { 0 };
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* Where to start: after --since, or after the newest event now. */
    int first = 1, failures = 0;
    if (since)
        snprintf(last, sizeof(last), "%s", since);
    double delay = 0;
    double last_answer = now_mono();
    while (!stop_requested) {
        nap(last_answer + delay - now_mono());
        if (stop_requested)
            break;
        struct json_object *events = NULL;
        long retry_after = -1;
        int limit_one = first && !since;
        enum poll_result r = poll_events(cli, type, last, limit_one, &events, &retry_after, &rc);
        last_answer = now_mono();
        if (r == POLL_FATAL) {
            json_object_put(events);
            return rc;
        }
        if (r == POLL_UNREACHABLE && first) {
            /* Never reached: a wrong URL, or no server (printed already). */
            json_object_put(events);
            return MFX_EXIT_USAGE;
        }
        if (r == POLL_UNREACHABLE || r == POLL_TRANSIENT) {
            json_object_put(events);
            failures++;
            delay = retry_after > 0 ? (double)retry_after : (double)(1 << (failures < 5 ? failures : 5));
            if (delay > MAX_BACKOFF)
                delay = MAX_BACKOFF;
            fprintf(stderr, "note: could not poll the events; trying again in %.0f s\n", delay);
            continue;
        }
        if (r == POLL_RATE_LIMITED) {
            json_object_put(events);
            delay = retry_after >= 1 ? (double)retry_after : 1.0;
            if (delay > 600.0)
                delay = 600.0;
            fprintf(stderr, "note: rate limited; waiting %.0f s as Retry-After asks\n", delay);
            continue;
        }
        if (failures)
            fprintf(stderr, "note: polling again\n");
        failures = 0;
        delay = 1.0;
        size_t n = json_object_array_length(events);
        if (n > 0) {
            const char *newest = mfx_json_str(json_object_array_get_idx(events, 0), "id");
            if (!limit_one) {
                for (size_t i = n; i-- > 0;)
                    print_event(cli, json_object_array_get_idx(events, i));
            }
            if (newest)
                snprintf(last, sizeof(last), "%s", newest);
        }
        json_object_put(events);
        first = 0;
    }
    fflush(stdout);
    return MFX_EXIT_OK;
}

/* mintfax events SUBCOMMAND ... */
int mfx_cmd_events(struct mfx_cli *cli, int argc, char **argv)
{
    if (argc < 2)
        return mfx_usage_error("events", "events needs a subcommand: tail");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return mfx_print_command_help("events", stdout);
    if (strcmp(argv[1], "tail") == 0)
        return cmd_tail(cli, argc - 1, argv + 1);
    return mfx_usage_error("events", "no subcommand 'events %s' (there is: tail)", argv[1]);
}
