/* SPDX-License-Identifier: Apache-2.0
 *
 * preview.h: PNG previews of the fax pages, as the API serves them at
 * /v1/faxes/{id}/pages/{n}.png. A preview is the 1-bit page scaled to half
 * width (864 px) with its rows resampled so pixels are square again (a
 * fine page is 196 dpi down but 204 across), in 8-bit grey so small text
 * stays legible. Files are made in a hidden temporary directory inside the
 * preview directory and moved to page-N.png only when the whole render
 * succeeds.
 */
#ifndef MFX_PREVIEW_H
#define MFX_PREVIEW_H

#include <stddef.h>
#include <stdint.h>
#include "geometry.h"

#define MFX_PREVIEW_WIDTH (MFX_FAX_WIDTH / 2)

struct mfx_previews {
    char *dir;          /* where page-N.png go */
    char *tmpdir;       /* staging directory inside dir */
    int count;          /* pages staged */
    float *acc;         /* one output row of ink coverage */
    uint8_t *row;       /* one output row of grey */
};

/* Creates the staging directory in dir. Returns 0, or -1 with errno. */
int mfx_previews_begin(struct mfx_previews *pv, const char *dir);

/* Writes the preview of page (1-based; pages come in order) from its
 * packed 1-bit rows. Returns 0, or -1 on a write error. */
int mfx_previews_add(struct mfx_previews *pv,
                     int page,
                     const uint8_t *bits,
                     size_t stride,
                     int rows,
                     const struct mfx_fax_format *fmt);

/* Moves every staged preview to its name and removes the staging
 * directory. Returns 0 or -1. */
int mfx_previews_commit(struct mfx_previews *pv);

/* Removes everything staged. */
void mfx_previews_discard(struct mfx_previews *pv);

/* Preview height for a page of rows at fmt. */
int mfx_preview_height(int rows, const struct mfx_fax_format *fmt);

#endif
