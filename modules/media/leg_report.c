/* SPDX-License-Identifier: Apache-2.0
 *
 * leg_report.c: a fax leg's report to its owner (leg_report.h).
 */
#include "config.h"
#include "mfx.h"
#include "leg_report.h"

#include <string.h>

void mfx_leg_report_page(struct mfx_leg_report *r, struct mfx_media_clock *c, int pages)
{
    if (pages <= r->pages) return;
    r->pages = pages;
    mfx_media_clock_post(c, &r->post);
}

void mfx_leg_report_tone(struct mfx_leg_report *r, struct mfx_media_clock *c, int tone)
{
    if (r->tone || !tone) return;
    r->tone = tone;
    mfx_media_clock_post(c, &r->post);
}

void mfx_leg_report_done(struct mfx_leg_report *r, struct mfx_media_clock *c, const struct mfx_fax_result *res)
{
    if (r->phase_e) return;
    r->phase_e = true;
    r->result = *res;
    mfx_media_clock_post(c, &r->post);
}

void mfx_leg_report_result(struct mfx_leg_report *r, struct mfx_media_clock *c, t30_state_t *t30, bool transmit,
                           struct mfx_fax_result *out)
{
    mfx_media_clock_lock(c);
    if (r->phase_e) {
        *out = r->result;
    } else {
        memset(out, 0, sizeof *out);
        mfx_t30_result_fill(t30, transmit, T30_ERR_CALLDROPPED, out);
        out->remote_fax_seen = mfx_t30_remote_fax_seen(t30);
    }
    mfx_media_clock_unlock(c);
}

static bool tone_waiting(const struct mfx_leg_report *r)
{
    return r->tone && !r->tone_told && r->tone_wanted;
}

enum mfx_leg_item mfx_leg_report_next(struct mfx_leg_report *r, struct mfx_media_clock *c, int *pages, int *tone,
                                      struct mfx_fax_result *res)
{
    enum mfx_leg_item what = MFX_LEG_NOTHING;
    mfx_media_clock_lock(c);
    if (r->pages_told < r->pages) {
        what = MFX_LEG_PAGE;
        *pages = ++r->pages_told;
    } else if (tone_waiting(r)) {
        what = MFX_LEG_TONE;
        r->tone_told = true;
        *tone = r->tone;
    } else if (r->phase_e && !r->done_told) {
        what = MFX_LEG_DONE;
        r->done_told = true;
        *res = r->result;
    }
    if (r->pages_told < r->pages || tone_waiting(r) || (r->phase_e && !r->done_told))
        mfx_media_clock_post(c, &r->post);
    mfx_media_clock_unlock(c);
    return what;
}
