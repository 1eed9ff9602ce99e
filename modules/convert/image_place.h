/* SPDX-License-Identifier: Apache-2.0
 *
 * image_place.h: fax geometry for raster images (TIFF, PNG, JPEG pages).
 * A decoder pushes grey rows, top to bottom, in the order they are stored;
 * they are area-averaged on the fly to the size the page takes on the fax
 * (so a 100-megapixel scan needs memory for one row plus the small result,
 * and a fax page at 98 dpi re-sampled to 196 dpi gets each row twice). The
 * bands of the fax page are then cut from the result, turned as the
 * placement says (landscape) and as the file says (EXIF / TIFF orientation).
 */
#ifndef MFX_IMAGE_PLACE_H
#define MFX_IMAGE_PLACE_H

#include <stdint.h>
#include "geometry.h"
#include "raster.h"

/* Orientation of the stored pixels, as EXIF and TIFF number it: 1 = as
 * stored, 3 = upside down, 6 = turn 90° clockwise to view, 8 = turn 90°
 * counter-clockwise; 2, 4, 5, 7 are the mirrored variants. */
#define MFX_ORIENT_NORMAL 1

struct mfx_image_place {
    int src_w, src_h;       /* stored pixels */
    int dst_w, dst_h;       /* the result, in stored orientation */
    uint8_t *dst;           /* dst_w x dst_h grey, 255 = white */
    /* content pixel (X, Y) -> dst index: i = ax*X + bx*Y + cx, j = ay*X + by*Y + cy */
    int ax, bx, cx, ay, by, cy;
    const struct mfx_placement *pl;
    /* resampler state */
    int rows_in;            /* source rows received */
    int rows_out;           /* result rows finished */
    uint32_t *prefix;       /* src_w + 1 prefix sums of a row */
    float *hrow;            /* the row resampled across, dst_w */
    float *acc;             /* the result row being built, dst_w */
    double acc_w;           /* weight gathered in acc */
    int *x0;                /* per result column: first source column */
    float *fx0, *fx1;       /* fractional coverage of the interval ends */
    int *x1;
};

/* Size of a page of w x h stored pixels at (xdpi, ydpi) dots per inch
 * (0 if unknown) seen in orientation orient: fills ps (fit is
 * MFX_FIT_SHRINK with a size, MFX_FIT_PAPER without). */
void mfx_image_page_size(int w, int h, double xdpi, double ydpi, int orient,
                         struct mfx_page_size *ps);

/* The size of the result in stored orientation (what a decoder able to
 * scale while decoding, like libjpeg, should not go below). */
void mfx_image_place_dst_size(int orient, const struct mfx_placement *pl, int *w, int *h);

/* Prepares to receive src_w x src_h rows for the page placed by pl.
 * Returns 0, or -1 on allocation failure. */
int mfx_image_place_begin(struct mfx_image_place *ip,
                          int src_w,
                          int src_h,
                          int orient,
                          const struct mfx_placement *pl);

/* Takes the next stored row (src_w grey bytes). */
void mfx_image_place_row(struct mfx_image_place *ip, const uint8_t *row);

/* Finishes the result (rows never received count as white). */
void mfx_image_place_finish(struct mfx_image_place *ip);

/* Fills the band starting at fax row band_y (GREY8) from the result. */
void mfx_image_place_band(const struct mfx_image_place *ip, struct mfx_raster *band, int band_y);

void mfx_image_place_release(struct mfx_image_place *ip);

#endif
