/* SPDX-License-Identifier: Apache-2.0
 *
 * scheduler.c: one timer wakes at the earliest next_attempt_at of a queued
 * fax (or when poked); each wake claims due faxes up to the free channels of
 * their carrier. A fax moves through at most three stages here:
 *   fetching   its document_url is downloaded (fetch.c) and stored;
 *   rendering  its document becomes TIFF-F pages in a child (render.c), and
 *              the pages are sealed into the spool; the hold is re-made for
 *              the real page count;
 *   calling    the carrier sends the pages (a retry starts here).
 * The table of running jobs lives only in memory: after a crash, job.c's
 * recovery turns open attempts into interrupted ones, and a fax that was
 * fetching or rendering is simply claimed again.
 */
#include "config.h"
#include "mfx.h"
#include "scheduler.h"
#include "document.h"
#include "fax.h"
#include "fetch.h"
#include "idempotency.h"
#include "job.h"
#include "log.h"
#include "module.h"
#include "render.h"
#include "settings.h"
#include "spool.h"
#include "store.h"

#include <event2/event.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum stage { J_FETCHING, J_RENDERING, J_CALLING };

struct job {
    char fax_id[MFX_ID_MAX];
    char env_id[MFX_ID_MAX];
    bool live;
    enum stage stage;
    const struct mfx_carrier *carrier;
    void *handle;                 /* the carrier's call, or the render */
    bool detached;                /* cancelled: ignore what comes back */
    char *to, *from, *csid, *header_text, *resolution, *page_size, *optimize_for, *cover;
    char *document_id, *document_url, *pages_file;
    int pages;
    bool ecm;
    bool t38_off;                 /* the fax says t38 = off */
};

static struct event *wake_ev;
static struct event *housekeeping_ev;
static GHashTable *jobs;          /* fax id -> struct job */
static bool draining;
static int calls_sandbox, calls_live;

static void job_free(struct job *j)
{
    char **strs[] = { &j->to, &j->from, &j->csid, &j->header_text, &j->resolution, &j->page_size,
                      &j->optimize_for, &j->cover, &j->document_id, &j->document_url, &j->pages_file };
    for (size_t i = 0; i < MFX_ARRAY_LEN(strs); i++) free(*strs[i]);
    free(j);
}

static int *calls_of(const struct job *j)
{
    return j->live ? &calls_live : &calls_sandbox;
}

static void job_remove(struct job *j)
{
    g_hash_table_remove(jobs, j->fax_id);
    job_free(j);
    mfx_scheduler_poke();
}

static int free_channels(bool live);

/* ---- calling ------------------------------------------------------------- */

static void on_answered(void *ctx)
{
    struct job *j = ctx;
    if (!j->detached) mfx_job_answered(j->fax_id);
}

static void on_done(void *ctx, const struct mfx_outcome *o)
{
    struct job *j = ctx;
    (*calls_of(j))--;
    if (j->detached) {
        job_free(j);      /* already out of the table */
        return;
    }
    mfx_job_attempt_end(j->fax_id, o);
    job_remove(j);
}

static const struct mfx_call_callbacks callbacks = { on_answered, on_done };

/* The pages, decrypted into a memfd for the carrier; -1 with *err. */
static int open_pages(struct job *j, enum mfx_err *err)
{
    size_t len;
    unsigned char *tiff = mfx_spool_read(j->env_id, j->fax_id, j->pages_file, (size_t)mfx_cfg.render_max_output, &len, err);
    if (!tiff) return -1;
    int fd = mfx_memfd_from("mintfax-pages", tiff, len);
    free(tiff);
    if (fd < 0) *err = MFX_E_storage_unavailable;
    return fd;
}

/* Starts the attempt once its queued -> submitted change is durable. */
static void place_call(void *arg, bool committed)
{
    struct job *j = arg;
    if (!committed || j->detached) {
        (*calls_of(j))--;
        if (j->detached) job_free(j);
        else job_remove(j);
        return;
    }
    enum mfx_err err = MFX_E__COUNT;
    int fd = open_pages(j, &err);
    if (fd < 0) {
        /* Pages changed on disk or gone: the fax cannot be sent as rendered. */
        struct mfx_outcome o = { .error = MFX_E_document_unreadable, .ecm = -1 };
        snprintf(o.subcode, sizeof o.subcode, "%s", err == MFX_E_data_integrity_failed ? "pages_integrity_failed" : "pages_missing");
        (*calls_of(j))--;
        mfx_job_attempt_end(j->fax_id, &o);
        job_remove(j);
        return;
    }
    sqlite3_stmt *st = mfx_stmt("SELECT attempts_made FROM faxes WHERE id = ?");
    sqlite3_bind_text(st, 1, j->fax_id, -1, SQLITE_STATIC);
    int n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1;
    mfx_stmt_done(st);
    /* Steps down the fallback ladder: attempts that failed in T.30, and any
     * T.38 attempt that failed after the call was answered. */
    st = mfx_stmt("SELECT COUNT(*) FROM attempts WHERE fax_id = ? AND (error_code IN "
                  "('line_quality', 'negotiation_failed', 'timeout') OR (transport = 't38' AND error_code IN "
                  "('transmission_interrupted', 'not_a_fax_machine')))");
    sqlite3_bind_text(st, 1, j->fax_id, -1, SQLITE_STATIC);
    int fallback = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    mfx_stmt_done(st);
    struct mfx_call_request rq = {
        .fax_id = j->fax_id, .to = j->to, .from = j->from, .csid = j->csid,
        .header_text = j->header_text, .resolution = j->resolution,
        .pages_fd = fd, .pages = j->pages, .attempt_number = n, .ecm = j->ecm,
        .fallback = fallback, .t38_off = j->t38_off,
    };
    j->stage = J_CALLING;
    j->handle = j->carrier->send(&rq, &callbacks, j);
}

static void begin_attempt(struct job *j)
{
    if (draining) {
        /* Stopping: no new call starts; the fax stays queued (its pages are
         * kept) and goes out after the next start. */
        job_remove(j);
        return;
    }
    if (j->carrier && free_channels(j->live) <= 0) {
        /* Rendered while the channels filled up: the fax stays queued with
         * its pages, and a call's end pokes the scheduler to place it. */
        job_remove(j);
        return;
    }
    if (!j->carrier) {
        mfx_job_fail(j->fax_id, MFX_E_no_route, "no_live_carrier",
                     "This installation has no live carrier configured ([carrier] live = none).");
        job_remove(j);
        return;
    }
    if (mfx_job_attempt_begin(j->fax_id, j->carrier->transport, NULL) != MFX_OK) {
        job_remove(j);
        return;
    }
    (*calls_of(j))++;
    mfx_tx_after_commit(place_call, j);
}

/* ---- rendering ----------------------------------------------------------- */

/* Maps the renderer's error to a catalogued fax outcome. */
static enum mfx_err render_error(const char *code)
{
    const struct mfx_error_info *e = code ? mfx_error_lookup(code) : NULL;
    if (!e || e->http_status) return MFX_E_document_unreadable;
    return (enum mfx_err)(e - mfx_error_info((enum mfx_err)0));
}

static void on_rendered(void *arg, const struct mfx_render_result *r)
{
    struct job *j = arg;
    j->handle = NULL;
    if (j->detached) {
        job_free(j);
        return;
    }
    if (!r->ok && r->error && !strcmp(r->error, "shutdown")) {
        job_remove(j);                   /* rendered again after the next start */
        return;
    }
    if (!r->ok) {
        mfx_info("scheduler", "fax=%s rendering failed: %s", j->fax_id, r->subcode ? r->subcode : r->error);
        mfx_job_fail(j->fax_id, render_error(r->error), r->subcode, r->message);
        job_remove(j);
        return;
    }
    unsigned char *tiff = mfx_malloc(r->out_len + 1);
    size_t off = 0;
    while (off < r->out_len) {
        ssize_t n = pread(r->out_fd, tiff + off, r->out_len - off, (off_t)off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    char *path = off == r->out_len ? mfx_spool_write(j->env_id, "pages", j->fax_id, tiff, off) : NULL;
    free(tiff);
    if (!path) {
        mfx_warn("scheduler", "fax=%s storing its pages failed; it will be rendered again", j->fax_id);
        job_remove(j);
        return;
    }
    mfx_tx_begin();
    sqlite3_stmt *st = mfx_stmt("UPDATE faxes SET pages_file = ? WHERE id = ?");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, j->fax_id, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    mfx_stmt_done(st);
    mfx_tx_end(ok);
    j->pages_file = path;
    if (mfx_job_set_pages(j->fax_id, r->pages, NULL) != MFX_OK) {
        job_remove(j);         /* failed for the balance; job.c said so */
        return;
    }
    j->pages = r->pages;
    begin_attempt(j);
}

/* The cover page's JSON for the renderer, or NULL. Caller frees. */
static char *cover_json(const struct job *j)
{
    if (!j->cover) return NULL;
    json_object *in = json_tokener_parse(j->cover);
    if (!in) return NULL;
    json_object *o = json_object_new_object(), *v;
    if (json_object_object_get_ex(in, "type", &v)) json_object_object_add(o, "template", json_object_get(v));
    static const char *const fields[] = { "recipient_name", "sender_name", "subject", "message" };
    for (size_t i = 0; i < MFX_ARRAY_LEN(fields); i++)
        if (json_object_object_get_ex(in, fields[i], &v)) json_object_object_add(o, fields[i], json_object_get(v));
    json_object_object_add(o, "recipient_number", json_object_new_string(j->to));
    if (j->from) json_object_object_add(o, "sender_number", json_object_new_string(j->from));
    char *s = mfx_strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    json_object_put(in);
    return s;
}

static void begin_render(struct job *j)
{
    size_t len;
    enum mfx_err err = MFX_E__COUNT;
    unsigned char *doc = mfx_document_read(j->env_id, j->document_id, &len, NULL, &err);
    if (!doc) {
        mfx_job_fail(j->fax_id, MFX_E_document_unreadable,
                     err == MFX_E_data_integrity_failed ? "document_integrity_failed" : "document_missing",
                     err == MFX_E_data_integrity_failed ? "The stored document failed its integrity check."
                                                        : "The fax's document was deleted before it could be sent.");
        job_remove(j);
        return;
    }
    char *cover = cover_json(j);
    struct mfx_render_opts o = {
        .resolution = j->resolution, .page_size = j->page_size, .optimize_for = j->optimize_for,
        .ecm = j->ecm, .cover_json = cover, .max_pages = (int)mfx_cfg.max_pages,
    };
    j->stage = J_RENDERING;
    j->handle = mfx_render_start(doc, len, &o, on_rendered, j);
    free(doc);
    free(cover);
}

/* ---- document_url --------------------------------------------------------- */

/* A fetched document waiting for its check. */
struct fetched {
    struct job *job;
    unsigned char *data;
    size_t len;
};

static void on_checked(void *arg, const struct mfx_doc_check *c)
{
    struct fetched *f = arg;
    struct job *j = f->job;
    if (j->detached) {
        job_free(j);
    } else if (c->api_err == MFX_E_shutting_down) {
        job_remove(j);                   /* fetched again after the next start */
    } else if (c->pages <= 0) {
        mfx_job_fail(j->fax_id, c->outcome, c->reason, c->message);
        job_remove(j);
    } else {
        char doc_id[MFX_ID_MAX];
        enum mfx_err err;
        char *msg = NULL;
        mfx_tx_begin();
        int rc = mfx_document_store(j->env_id, NULL, f->data, f->len, c->pages, doc_id, &err, &msg);
        mfx_tx_end(rc == MFX_OK);
        free(msg);
        if (rc != MFX_OK) {
            /* Our fault, not the document's: it is fetched again later. */
            mfx_warn("scheduler", "fax=%s storing the fetched document failed; retrying", j->fax_id);
            job_remove(j);
        } else if (mfx_job_set_pages(j->fax_id, c->pages, doc_id) != MFX_OK) {
            job_remove(j);
        } else {
            j->document_id = mfx_strdup(doc_id);
            begin_render(j);
        }
    }
    free(f->data);
    free(f);
}

static void on_fetched(void *arg, const struct mfx_fetch_result *r)
{
    struct job *j = arg;
    if (j->detached) {
        job_free(j);
        return;
    }
    if (!r->ok && !strcmp(r->subcode, "shutdown")) {
        /* Stopping: the fax stays queued and is fetched after the next start. */
        g_hash_table_remove(jobs, j->fax_id);
        job_free(j);
        return;
    }
    if (!r->ok) {
        mfx_info("scheduler", "fax=%s document_url failed: %s", j->fax_id, r->subcode);
        mfx_job_fail(j->fax_id, MFX_E_document_fetch_failed, r->subcode, r->message);
        job_remove(j);
        return;
    }
    /* The bytes are only valid during this callback: keep them for the check. */
    struct fetched *f = mfx_malloc(sizeof *f);
    f->job = j;
    f->len = r->len;
    f->data = mfx_malloc(r->len + 1);
    memcpy(f->data, r->data, r->len);
    mfx_document_check(f->data, f->len, on_checked, f);
}

/* ---- the due-work loop ------------------------------------------------------ */

static int free_channels(bool live)
{
    const struct mfx_carrier *c = mfx_module_carrier_for(live);
    int max = c && c->max_channels ? c->max_channels() : 1000;
    int used = live ? calls_live : calls_sandbox;
    return max > used ? max - used : 0;
}

static char *col_dup(sqlite3_stmt *st, int col)
{
    return mfx_col_null(st, col) ? NULL : mfx_strdup(mfx_col_text(st, col));
}

static void run_due(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    if (draining) return;
    int64_t now = mfx_now_ms();
    /* Claim in two passes: collect, then act (acting writes to the same tables). */
    struct job *claimed[256];
    int n = 0;
    int room_sandbox = free_channels(false), room_live = free_channels(true);
    sqlite3_stmt *st = mfx_stmt(
        "SELECT f.id, f.environment_id, e.type, f.to_number, n.number, f.csid, f.header_text, f.resolution,"
        " f.page_size, f.optimize_for, f.cover_page, f.document_id, f.document_url, f.pages_file, f.pages, f.ecm, f.t38"
        " FROM faxes f JOIN environments e ON e.id = f.environment_id"
        " LEFT JOIN numbers n ON n.id = f.from_number"
        " WHERE f.status = 'queued' AND f.next_attempt_at <= ? ORDER BY f.next_attempt_at LIMIT 512");
    sqlite3_bind_int64(st, 1, now);
    while (n < 256 && sqlite3_step(st) == SQLITE_ROW) {
        const char *id = mfx_col_text(st, 0);
        if (g_hash_table_contains(jobs, id)) continue;
        bool live = !strcmp(mfx_col_text(st, 2), "live");
        int *room = live ? &room_live : &room_sandbox;
        if (*room <= 0) continue;
        (*room)--;
        struct job *j = mfx_calloc(1, sizeof *j);
        snprintf(j->fax_id, sizeof j->fax_id, "%s", id);
        snprintf(j->env_id, sizeof j->env_id, "%s", mfx_col_text(st, 1));
        j->live = live;
        j->to = col_dup(st, 3);
        j->from = col_dup(st, 4);
        j->csid = col_dup(st, 5);
        j->header_text = col_dup(st, 6);
        j->resolution = col_dup(st, 7);
        j->page_size = col_dup(st, 8);
        j->optimize_for = col_dup(st, 9);
        j->cover = col_dup(st, 10);
        j->document_id = col_dup(st, 11);
        j->document_url = col_dup(st, 12);
        j->pages_file = col_dup(st, 13);
        j->pages = sqlite3_column_int(st, 14);
        j->ecm = sqlite3_column_int(st, 15) != 0;
        j->t38_off = !strcmp(mfx_col_text(st, 16), "off");
        j->carrier = mfx_module_carrier_for(live);
        claimed[n++] = j;
    }
    mfx_stmt_done(st);

    for (int i = 0; i < n; i++) {
        struct job *j = claimed[i];
        g_hash_table_insert(jobs, j->fax_id, j);
        if (!j->document_id) {
            j->stage = J_FETCHING;
            mfx_fetch_start(j->document_url, (size_t)mfx_cfg.max_upload, on_fetched, j);
        } else if (!j->pages_file) {
            begin_render(j);
        } else {
            begin_attempt(j);
        }
    }

    /* Sleep until the next due fax, at most a minute (a safety net). */
    st = mfx_stmt("SELECT min(next_attempt_at) FROM faxes WHERE status = 'queued'");
    int64_t next = now + 60000;
    if (sqlite3_step(st) == SQLITE_ROW && !mfx_col_null(st, 0)) {
        int64_t due = sqlite3_column_int64(st, 0);
        if (due < next) next = due;
    }
    mfx_stmt_done(st);
    if (n == 256) next = now;   /* more may be waiting */
    else if (n == 0 && next <= now) next = now + 1000;   /* all due ones busy or no channel free: a
                                                            call's end pokes us sooner */
    int64_t wait = next - mfx_now_ms();
    if (wait < 0) wait = 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000) };
    evtimer_add(wake_ev, &tv);
}

static void housekeeping(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    int n = mfx_idempotency_sweep();
    if (n) mfx_info("scheduler", "forgot %d expired idempotency keys", n);
}

int mfx_scheduler_start(struct event_base *base)
{
    jobs = g_hash_table_new(g_str_hash, g_str_equal);
    wake_ev = evtimer_new(base, run_due, NULL);
    housekeeping_ev = event_new(base, -1, EV_PERSIST, housekeeping, NULL);
    struct timeval every = { 600, 0 };
    event_add(housekeeping_ev, &every);
    int n = mfx_job_recover();
    if (n) mfx_info("scheduler", "%d faxes were mid-attempt at the last stop; they are requeued or failed", n);
    mfx_scheduler_poke();
    return 0;
}

void mfx_scheduler_poke(void)
{
    if (!wake_ev || draining) return;
    struct timeval now = { 0, 0 };
    evtimer_add(wake_ev, &now);
}

void mfx_scheduler_detach(const char *fax_id)
{
    struct job *j = jobs ? g_hash_table_lookup(jobs, fax_id) : NULL;
    if (!j) return;
    g_hash_table_remove(jobs, fax_id);
    j->detached = true;
    if (j->stage == J_RENDERING && j->handle) {
        mfx_render_cancel(j->handle);     /* its callback will not run */
        job_free(j);
    } else if (j->stage == J_CALLING && j->handle && j->carrier->cancel) {
        j->carrier->cancel(j->handle);    /* on_done frees it */
    }
}

void mfx_scheduler_drain(void)
{
    draining = true;
    if (wake_ev) evtimer_del(wake_ev);
}

int mfx_scheduler_busy(void)
{
    return jobs ? (int)g_hash_table_size(jobs) : 0;
}

void mfx_scheduler_free(void)
{
    if (wake_ev) event_free(wake_ev);
    if (housekeeping_ev) event_free(housekeeping_ev);
    wake_ev = housekeeping_ev = NULL;
    if (jobs) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, jobs);
        while (g_hash_table_iter_next(&it, &k, &v)) job_free(v);
        g_hash_table_destroy(jobs);
        jobs = NULL;
    }
}
