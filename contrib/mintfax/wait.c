/* SPDX-License-Identifier: Apache-2.0
 *
 * wait.c: `--wait`, which follows one fax until it is delivered or failed by
 * polling GET /v1/faxes/{id}. It never polls faster than once a second (the
 * daemon refuses faster polls of one fax with 429), measured from the end of
 * the previous answer; it slows down while nothing changes, sleeps until
 * next_attempt_at when a retry is scheduled, honours Retry-After on 429 and
 * 503, and prints one progress line per change (status, attempt started or
 * ended, next attempt). The final fax is printed by output.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mintfax.h"

#define MAX_TRANSIENT 5   /* consecutive 5xx or connection failures tolerated */
#define MAX_RATE_LIMITED 60 /* consecutive 429 answers tolerated */
#define MAX_SLEEP 30.0    /* longest sleep between two polls, seconds */

/* What has been reported so far, so each change prints once. */
struct progress {
    char status[32];
    size_t attempts_started; /* attempts whose start was printed */
    size_t attempts_ended;   /* attempts whose outcome was printed */
    char next_at[48];        /* next_attempt_at last printed */
};

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps for secs seconds, resuming after signals that did not kill us. */
static void sleep_for(double secs)
{
    if (secs <= 0)
        return;
    struct timespec ts = { .tv_sec = (time_t)secs,
                           .tv_nsec = (long)((secs - (double)(time_t)secs) * 1e9) };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Converts an RFC 3339 UTC time ("2024-05-01T12:00:00.123Z") to seconds
 * since the epoch. Returns -1 when s does not look like one. */
static time_t parse_time(const char *s)
{
    struct tm tm = { 0 };
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                     &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

/* Starts a progress line with the local time and the fax id. */
static void stamp(FILE *f, const char *fax_id)
{
    char buf[16];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
    fprintf(f, "[%s] ", buf);
    mfx_out_text(f, fax_id);
    fputc(' ', f);
}

/* Prints the outcome of one finished attempt. */
static void report_attempt_end(FILE *f, const char *fax_id, struct json_object *a, size_t i)
{
    int64_t pages = 0, sip = 0;
    const char *err = mfx_json_str(a, "error_code");

    stamp(f, fax_id);
    fprintf(f, "attempt %zu ", i + 1);
    if (err) {
        fputs("failed: ", f);
        mfx_out_text(f, err);
        if (mfx_json_int(a, "sip_status", &sip))
            fprintf(f, " (SIP %" PRId64 ")", sip);
        const char *msg = mfx_json_str(a, "error_message");
        if (msg) {
            fputs(" ", f);
            mfx_out_text(f, msg);
        }
    } else {
        fputs("ended", f);
        if (mfx_json_int(a, "pages_sent", &pages))
            fprintf(f, ", %" PRId64 " page%s sent", pages, pages == 1 ? "" : "s");
    }
    fputc('\n', f);
}

/* Compares the fax with what was already reported and prints what changed,
 * in the order it happened: attempts that ended, a new status, attempts
 * that started, a newly scheduled retry. An attempt that started and ended
 * between two polls gets only its outcome line. Returns 1 when something
 * was printed (the poll interval then resets). */
static int report(FILE *f, const char *fax_id, struct json_object *fax, struct progress *p)
{
    int changed = 0;
    struct json_object *attempts;
    size_t n = 0;

    if (json_object_object_get_ex(fax, "attempts", &attempts) &&
        json_object_is_type(attempts, json_type_array))
        n = json_object_array_length(attempts);

    /* Outcomes, in attempt order (attempts end one after the other). */
    while (p->attempts_ended < n) {
        size_t i = p->attempts_ended;
        struct json_object *a = json_object_array_get_idx(attempts, i);
        if (!mfx_json_str(a, "completed_at"))
            break;
        report_attempt_end(f, fax_id, a, i);
        p->attempts_ended = i + 1;
        if (p->attempts_started < i + 1)
            p->attempts_started = i + 1;
        changed = 1;
    }

    const char *status = mfx_json_str(fax, "status");
    if (status && strcmp(status, p->status) != 0) {
        stamp(f, fax_id);
        fputs("status ", f);
        mfx_out_text(f, status);
        if (strcmp(status, "failed") == 0) {
            const char *err = mfx_json_str(fax, "error_code");
            if (err) {
                fputs(": ", f);
                mfx_out_text(f, err);
            }
        }
        fputc('\n', f);
        snprintf(p->status, sizeof(p->status), "%s", status);
        changed = 1;
    }

    /* Attempts under way that were not reported yet. */
    for (size_t i = p->attempts_started; i < n; i++) {
        struct json_object *a = json_object_array_get_idx(attempts, i);
        const char *transport = mfx_json_str(a, "transport");
        stamp(f, fax_id);
        fprintf(f, "attempt %zu started", i + 1);
        if (transport) {
            fputs(" (", f);
            mfx_out_text(f, transport);
            fputc(')', f);
        }
        fputc('\n', f);
        p->attempts_started = i + 1;
        changed = 1;
    }

    const char *next = mfx_json_str(fax, "next_attempt_at");
    if (next && strcmp(next, p->next_at) != 0) {
        int64_t left;
        stamp(f, fax_id);
        fputs("next attempt at ", f);
        mfx_out_text(f, next);
        if (mfx_json_int(fax, "retries_remaining", &left))
            fprintf(f, " (%" PRId64 " retr%s left)", left, left == 1 ? "y" : "ies");
        fputc('\n', f);
        changed = 1;
    }
    snprintf(p->next_at, sizeof(p->next_at), "%s", next ? next : "");
    fflush(f);
    return changed;
}

static int is_terminal(const char *status)
{
    return status && (strcmp(status, "delivered") == 0 || strcmp(status, "failed") == 0);
}

/* How long to wait before the next poll: once a second while things move,
 * slower after a long quiet spell, and until next_attempt_at (at most
 * MAX_SLEEP) when a retry is scheduled. Never under one second. */
static double next_delay(struct json_object *fax, int quiet_polls)
{
    double d = quiet_polls < 10 ? 1.0 : quiet_polls < 30 ? 2.0 : 5.0;
    const char *status = mfx_json_str(fax, "status");
    time_t at = parse_time(mfx_json_str(fax, "next_attempt_at"));
    if (status && strcmp(status, "queued") == 0 && at > 0) {
        double until = difftime(at, time(NULL));
        if (until > d)
            d = until < MAX_SLEEP ? until : MAX_SLEEP;
    }
    return d;
}

/* Polls fax_id until it is terminal. first is the response that created or
 * named the fax (its body is the first state reported). Progress goes to
 * stdout, or to stderr with --json (stdout then gets only the final fax as
 * raw JSON). Returns MFX_EXIT_OK when delivered, MFX_EXIT_FAX_FAILED when
 * failed, MFX_EXIT_API or MFX_EXIT_USAGE when polling itself failed. */
int mfx_wait_fax(const struct mfx_cli *cli, const struct mfx_response *first,
                 const char *fax_id)
{
    FILE *f = cli->json ? stderr : stdout;
    struct progress p = { .status = "" };
    struct mfx_response cur = { .retry_after = -1 };
    const struct mfx_response *last = first;
    int rc = MFX_EXIT_USAGE, transient = 0, limited = 0, quiet = 0;
    char *path = NULL;
    char *eid = mfx_http_escape(fax_id);

    size_t plen = eid ? strlen(eid) + sizeof("/v1/faxes/") : 0;
    if (!eid || !(path = malloc(plen))) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    snprintf(path, plen, "/v1/faxes/%s", eid);

    report(f, fax_id, first->json, &p);
    double delay = next_delay(first->json, quiet);
    double last_answer = now_mono();

    while (!is_terminal(mfx_json_str(last->json, "status"))) {
        sleep_for(last_answer + delay - now_mono());

        struct mfx_response r;
        struct mfx_request req = { .method = "GET", .path = path };
        int sent = mfx_http_send(cli, &req, &r);
        last_answer = now_mono();

        if (sent != 0 || r.status == 502 || r.status == 503 || r.status == 504) {
            /* Transient: the server restarting, or a proxy in front of it. */
            int answered = sent == 0;
            if (++transient > MAX_TRANSIENT) {
                if (answered) {
                    rc = mfx_out_api_error(cli, &r);
                    mfx_response_release(&r);
                }
                goto out;
            }
            delay = (double)(1 << transient);
            if (answered && r.retry_after >= 0)
                delay = (double)r.retry_after;
            delay = delay > MAX_SLEEP ? MAX_SLEEP : delay < 1.0 ? 1.0 : delay;
            if (answered)
                fprintf(stderr, "note: the server answered HTTP %ld; polling again in %.0f s\n",
                        r.status, delay);
            else
                fprintf(stderr, "note: polling again in %.0f s (%d of %d)\n", delay,
                        transient, MAX_TRANSIENT);
            if (answered)
                mfx_response_release(&r);
            continue;
        }
        transient = 0;

        if (r.status == 429) {
            if (++limited > MAX_RATE_LIMITED) {
                rc = mfx_out_api_error(cli, &r);
                mfx_response_release(&r);
                goto out;
            }
            delay = r.retry_after >= 1 ? (double)r.retry_after : 1.0;
            if (delay > 600.0)
                delay = 600.0;
            fprintf(stderr, "note: rate limited; waiting %.0f s as Retry-After asks\n", delay);
            mfx_response_release(&r);
            continue;
        }
        limited = 0;

        if (r.status < 200 || r.status > 299) {
            rc = mfx_out_api_error(cli, &r);
            mfx_response_release(&r);
            goto out;
        }
        if (!r.json || !json_object_is_type(r.json, json_type_object) ||
            !mfx_json_str(r.json, "status")) {
            fprintf(stderr, "error: GET %s answered HTTP %ld without a fax object\n",
                    path, r.status);
            mfx_response_release(&r);
            rc = MFX_EXIT_API;
            goto out;
        }
        mfx_response_release(&cur);
        cur = r;
        last = &cur;
        quiet = report(f, fax_id, cur.json, &p) ? 0 : quiet + 1;
        delay = next_delay(cur.json, quiet);
    }

    if (cli->json) {
        mfx_out_raw(last);
    } else {
        fputc('\n', stdout);
        mfx_out_fax(last->json);
    }
    rc = strcmp(mfx_json_str(last->json, "status"), "delivered") == 0
             ? MFX_EXIT_OK : MFX_EXIT_FAX_FAILED;
out:
    mfx_response_release(&cur);
    free(path);
    free(eid);
    return rc;
}
