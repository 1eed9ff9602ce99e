/* SPDX-License-Identifier: Apache-2.0
 *
 * geometry.h: where a page lands on a fax page. A fax page is 1728 pixels
 * wide at 204 dpi across and 98, 196 or 391 dpi down (ITU-T T.4 §2.2), so
 * pixels are not square: x and y are scaled separately, with one shrink
 * factor for both so the page keeps its proportions. The rules, as a printer
 * would apply them:
 *   - a landscape page is turned 90° counter-clockwise (its top goes to the
 *     left edge), whether it is landscape by its box or by /Rotate;
 *   - a page no wider than 1728 px (A4: 1687 px) keeps its size, centred;
 *   - a wider page (Letter: 1734 px, or anything larger) shrinks to 1728 px;
 *   - the length follows: Legal stays whole and longer, never cropped;
 *   - a page longer than the limit after that is refused.
 * Raster images without a physical size are fitted to the chosen paper.
 */
#ifndef MFX_GEOMETRY_H
#define MFX_GEOMETRY_H

#include "render_error.h"

#define MFX_FAX_WIDTH 1728
#define MFX_FAX_XDPI 204.0
/* Pages longer than this (after fitting the width) are refused. */
#define MFX_PAGE_MAX_INCHES_DEFAULT 40.0

struct mfx_fax_format {
    const char *name;       /* "standard", "fine", "superfine" */
    double xdpi, ydpi;      /* 204 x 98|196|391 */
};

struct mfx_paper {
    const char *name;       /* "letter", "a4", "legal" */
    double width_pt, height_pt;
};

enum mfx_fit {
    MFX_FIT_NONE,           /* a document page: its own size (PDF, TIFF with dpi) */
    MFX_FIT_SHRINK,         /* an image with a size: shrunk to the paper if larger */
    MFX_FIT_PAPER,          /* an image without a size: fitted to the paper */
};

/* The size of one page as displayed (CropBox, /Rotate applied), in points
 * (1/72 inch); for MFX_FIT_PAPER only the proportions count. */
struct mfx_page_size {
    double width_pt, height_pt;
    enum mfx_fit fit;
};

/* Where a page goes: the transform from page points (origin top-left, as
 * displayed) to fax pixels. */
struct mfx_placement {
    int width, height;          /* the fax page: 1728 x rows */
    int rotated;                /* 1: turned 90° counter-clockwise */
    double scale;               /* shrink factor (<= 1) on the physical size */
    double px_per_pt_x;         /* fax pixels per page point, along fax x */
    double px_per_pt_y;         /* ... along fax y */
    int off_x, off_y;           /* where the turned page's top-left lands */
    int content_w, content_h;   /* the turned page's footprint, in fax pixels */
    double page_w_pt, page_h_pt;/* the page as displayed, before turning */
};

/* Looks up a fax resolution or a paper by name; NULL if unknown. */
const struct mfx_fax_format *mfx_fax_format_by_name(const char *name);
const struct mfx_paper *mfx_paper_by_name(const char *name);

/* Computes the placement of a page of size ps at format fmt; paper is used
 * by MFX_FIT_SHRINK/MFX_FIT_PAPER pages. Returns 0, or -1 with err set
 * (MFX_RENDER_PAGE_TOO_LARGE when longer than max_len_in inches, or
 * MFX_RENDER_UNREADABLE for a nonsensical size). */
int mfx_geom_place(const struct mfx_fax_format *fmt,
                   const struct mfx_page_size *ps,
                   const struct mfx_paper *paper,
                   double max_len_in,
                   struct mfx_placement *pl,        /* OUT */
                   struct mfx_render_error *err);   /* OUT */

/* The affine transform page points -> pixels of a band starting at fax row
 * band_y, as cairo_matrix_init() takes it: xx, yx, xy, yy, x0, y0. */
void mfx_geom_band_matrix(const struct mfx_placement *pl, int band_y, double m[6]);

#endif
