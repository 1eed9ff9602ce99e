/* SPDX-License-Identifier: Apache-2.0
 *
 * ratelimit.c: a sliding-window counter per key (the previous fixed window's
 * count weighted by how much of it still overlaps, plus the current one's;
 * the approximation Cloudflare and others use), and a last-poll table for the
 * per-fax polling rule. Both tables live in memory and are pruned so their
 * size stays bounded by the number of active keys and recent polls.
 */
#include "config.h"
#include "mfx.h"
#include "ratelimit.h"
#include "settings.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct window {
    int64_t start_ms;     /* start of the current fixed window */
    long current, previous;
};

static GHashTable *windows;   /* key id -> struct window */
static GHashTable *polls;     /* "key id/fax id" -> int64 ms */

#define MAX_POLL_ENTRIES 100000

static gboolean poll_old(gpointer k, gpointer v, gpointer cutoff)
{
    (void)k;
    return *(int64_t *)v < *(int64_t *)cutoff;
}

/* The first moment (ms) at which one more request fits: the weighted count
 * prev * (1 - elapsed/win) + cur must reach limit - 1, either later in this
 * window (as prev's weight fades) or in the next one (as cur's does). */
static int64_t allowed_again(const struct window *w, long limit, int64_t win)
{
    double need = (double)limit - 1;
    if (w->current <= need && w->previous > 0) {
        double frac = 1.0 - (need - (double)w->current) / (double)w->previous;
        return w->start_ms + (int64_t)ceil(frac * (double)win);
    }
    double frac = w->current > 0 ? 1.0 - need / (double)w->current : 0;
    if (frac < 0) frac = 0;
    return w->start_ms + win + (int64_t)ceil(frac * (double)win);
}

bool mfx_ratelimit_check(struct mfx_req *req, const char *fax_id)
{
    if (!windows) {
        windows = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
        polls = g_hash_table_new_full(g_str_hash, g_str_equal, free, free);
    }
    int64_t now = mfx_now_ms();
    int64_t win = (int64_t)(mfx_cfg.rate_window * 1000);
    if (win < 1) win = 1;
    struct window *w = g_hash_table_lookup(windows, req->auth.key_id);
    if (!w) {
        w = mfx_calloc(1, sizeof *w);
        w->start_ms = now - now % win;
        g_hash_table_insert(windows, mfx_strdup(req->auth.key_id), w);
    }
    int64_t start = now - now % win;
    if (start != w->start_ms) {
        w->previous = start - w->start_ms == win ? w->current : 0;
        w->current = 0;
        w->start_ms = start;
    }
    double overlap = 1.0 - (double)(now - start) / (double)win;
    double used = w->previous * overlap + w->current;
    long limit = (long)mfx_cfg.rate_requests;
    req->rl_limit = limit;
    req->rl_reset = (long)((start + win + 999) / 1000);

    if (used + 1 > limit) {
        req->rl_remaining = 0;
        int64_t ok_at = allowed_again(w, limit, win);
        long secs = (long)((ok_at - now + 999) / 1000);
        if (secs < 1) secs = 1;
        req->rl_reset = (long)((ok_at + 999) / 1000);
        char ra[32];
        snprintf(ra, sizeof ra, "%ld", secs);
        mfx_reply_header(req, "Retry-After", ra);
        mfx_reply_error(req, MFX_E_rate_limit_exceeded, NULL, NULL);
        return false;
    }
    w->current++;
    req->rl_remaining = limit - (long)ceil(used + 1);
    if (req->rl_remaining < 0) req->rl_remaining = 0;

    if (fax_id && mfx_cfg.poll_interval > 0) {
        char *k = mfx_asprintf("%s/%s", req->auth.key_id, fax_id);
        int64_t *last = g_hash_table_lookup(polls, k);
        int64_t min_gap = (int64_t)(mfx_cfg.poll_interval * 1000);
        if (last && now - *last < min_gap) {
            char ra[32];
            snprintf(ra, sizeof ra, "%lld", (long long)((min_gap - (now - *last) + 999) / 1000));
            free(k);
            mfx_reply_header(req, "Retry-After", ra);
            char *msg = mfx_asprintf("This fax was polled less than %g s ago; poll at most once every %g s or use webhooks.",
                                     mfx_cfg.poll_interval, mfx_cfg.poll_interval);
            mfx_reply_error(req, MFX_E_rate_limit_exceeded, msg, NULL);
            free(msg);
            return false;
        }
        if (g_hash_table_size(polls) >= MAX_POLL_ENTRIES) {
            int64_t cutoff = now - min_gap;
            g_hash_table_foreach_remove(polls, poll_old, &cutoff);
        }
        int64_t *v = mfx_malloc(sizeof *v);
        *v = now;
        g_hash_table_replace(polls, k, v);
    }
    return true;
}

void mfx_ratelimit_free(void)
{
    if (windows) g_hash_table_destroy(windows);
    if (polls) g_hash_table_destroy(polls);
    windows = polls = NULL;
}
