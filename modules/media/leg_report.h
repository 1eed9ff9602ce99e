/* SPDX-License-Identifier: Apache-2.0
 *
 * leg_report.h: what a fax leg (audio_fax.c, t38_fax.c) learns on the media
 * thread and must tell its owner: the pages so far, the fax tone it heard,
 * phase E. The media thread notes each one (clock lock held) and posts the
 * report; on the owner's loop the leg takes ONE item at a time with
 * mfx_leg_report_next() and calls the matching callback, so a callback may
 * free the leg. Order: pages (each one, in order), then the tone, then
 * phase E.
 */
#ifndef MFX_MEDIA_LEG_REPORT_H
#define MFX_MEDIA_LEG_REPORT_H

#include <stdbool.h>
#include "media_clock.h"
#include "t30_setup.h"

struct mfx_leg_report {
    struct mfx_media_post post;       /* its fn/ctx: the leg's deliver function */
    int pages, pages_told;
    int tone;                         /* 0 until heard */
    bool tone_told, tone_wanted;      /* tone_wanted: the owner listens (set under the lock) */
    bool phase_e, done_told;
    struct mfx_fax_result result;
};

enum mfx_leg_item { MFX_LEG_NOTHING, MFX_LEG_PAGE, MFX_LEG_TONE, MFX_LEG_DONE };

/* Media thread, lock held: note a page count, a tone (the first one only),
 * phase E (the first one only), and post the report. */
void mfx_leg_report_page(struct mfx_leg_report *r, struct mfx_media_clock *c, int pages);
void mfx_leg_report_tone(struct mfx_leg_report *r, struct mfx_media_clock *c, int tone);
void mfx_leg_report_done(struct mfx_leg_report *r, struct mfx_media_clock *c, const struct mfx_fax_result *res);

/* Owner's loop, from the post's fn: takes the lock, returns the next item
 * untold (filling *pages, *tone or *res) and posts the report again when
 * more is waiting. */
enum mfx_leg_item mfx_leg_report_next(struct mfx_leg_report *r, struct mfx_media_clock *c, int *pages, int *tone,
                                      struct mfx_fax_result *res);

/* Owner: the fax's result so far (lock taken here): phase E's once it came,
 * else T.30's state now with T30_ERR_CALLDROPPED (the call ended first). */
void mfx_leg_report_result(struct mfx_leg_report *r, struct mfx_media_clock *c, t30_state_t *t30, bool transmit,
                           struct mfx_fax_result *out);

#endif
