/* SPDX-License-Identifier: Apache-2.0
 *
 * bilevel.h: grey or colour bands to 1-bit fax rows. Text is thresholded
 * (crisp strokes); grey and photos are dithered by error diffusion
 * (Floyd-Steinberg, serpentine), so a grey area becomes a density of dots
 * instead of vanishing. optimize_for picks one for the whole page, or
 * "auto" classifies the page in 32x32 tiles and dithers only the tiles that
 * look like an image: text drawn without antialiasing is pure white paper
 * and pure ink, while a photo, a grey fill or a gradient is mostly neither
 * (light tints, under about 85 % grey, count as paper).
 * A tile at least half "neither" is image; so is a tile with some of it
 * next to an image tile (the edges of a photo, its darkest and lightest
 * parts). Text stays sharp next to a photo. Output rows are packed MSB
 * first, 1 = black (min-is-white).
 */
#ifndef MFX_BILEVEL_H
#define MFX_BILEVEL_H

#include <stddef.h>
#include <stdint.h>
#include "raster.h"

enum mfx_optimize {
    MFX_OPTIMIZE_TEXT,
    MFX_OPTIMIZE_PHOTO,
    MFX_OPTIMIZE_AUTO,
};

#define MFX_BILEVEL_TILE 32     /* tile side in pixels; bands start on tile rows */

struct mfx_bilevel {
    enum mfx_optimize mode;
    int width;
    int row;                    /* page rows done, for the serpentine direction */
    int ntiles;                 /* tiles across */
    int32_t *err_cur, *err_next;/* diffusion errors, width + 2 each (1 pad per side) */
    uint8_t *grey;              /* one row of grey */
    int max_tile_rows;          /* tile rows in the tallest band */
    uint16_t *other;            /* per tile of a band: pixels neither paper nor ink */
    uint8_t *strong, *image;    /* per tile of a band: mostly image / dithered */
    uint8_t *image_prev;        /* the last tile row of the previous band */
    long image_tiles;           /* tiles dithered on this page (for tests and logs) */
    int dirty;                  /* err_cur holds errors from the row above */
    uint64_t *inked;            /* per row of a band, a bit per tile row not all white */
    int inked_words;            /* words of inked per row */
    int repaint;                /* 1: leave each band white (see mfx_bilevel_band); 0 after init */
};

/* Parses "text", "photo" or "auto"; returns 0, or -1 if unknown. */
int mfx_optimize_parse(const char *name, enum mfx_optimize *out);

/* Prepares a converter for bands of at most max_rows rows of width pixels;
 * returns 0, or -1 on allocation failure. Free with mfx_bilevel_release. */
int mfx_bilevel_init(struct mfx_bilevel *b, enum mfx_optimize mode, int width, int max_rows);
void mfx_bilevel_release(struct mfx_bilevel *b);

/* Starts a new page: clears the diffusion state. */
void mfx_bilevel_begin_page(struct mfx_bilevel *b);

/* Converts the band's rows into 1-bit rows at bits (bits_stride bytes per
 * row, at least (width + 7) / 8). Bands of one page come in order, each
 * starting on a multiple of MFX_BILEVEL_TILE rows. With b->repaint set, the
 * band is left all white: every tile row (32 pixels of a row) found not
 * white is painted white again as soon as it is done, while it is still in
 * the cache, at the cost of the ink a page has, not of its area (see
 * struct mfx_raster's clean_rows). */
void mfx_bilevel_band(struct mfx_bilevel *b,
                      struct mfx_raster *band,
                      uint8_t *bits,            /* OUT: band->height rows */
                      size_t bits_stride);

#endif
