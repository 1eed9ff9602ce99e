/* SPDX-License-Identifier: Apache-2.0
 *
 * pipeline.h: one document (plus an optional cover page) to one TIFF-F
 * file. The order is what keeps hostile input cheap: sniff and open, count
 * the pages and refuse too many, size and place every page (refusing one
 * that is too long) — all before a single pixel is drawn. Then each page is
 * drawn in bands (converter), made 1-bit (bilevel.c), coded (t4enc.c) and
 * appended (faxtiff.c), with an optional preview (preview.c). The output
 * appears only when every page is done (outfile.c).
 */
#ifndef MFX_PIPELINE_H
#define MFX_PIPELINE_H

#include <stdint.h>
#include "bilevel.h"
#include "geometry.h"
#include "render_error.h"
#include "t4enc.h"

struct mfx_cover;

struct mfx_render_opts {
    const char *in_path;
    const char *out_path;
    const char *preview_dir;            /* NULL: no previews */
    const struct mfx_fax_format *fmt;
    const struct mfx_paper *paper;      /* cover pages, images without a size */
    enum mfx_optimize optimize;
    enum mfx_t4_coding coding;
    const struct mfx_cover *cover;      /* NULL: no cover page */
    int max_pages;                      /* cover included */
    double max_page_inches;
    uint64_t max_output;                /* bytes of TIFF */
    double max_image_pixels;            /* decoded pixels per raster page */
    int durable;                        /* fsync the TIFF before it is named */
};

struct mfx_render_result {
    int pages;                          /* cover included */
    uint64_t bytes;                     /* size of the TIFF */
    const char *type;                   /* "pdf", "tiff", "png", "jpeg" */
    long image_tiles;                   /* tiles dithered (optimize auto/photo) */
};

/* Renders o->in_path into o->out_path. Returns 0 with res filled, or -1
 * with err set and nothing left at out_path or in the preview directory. */
int mfx_render_document(const struct mfx_render_opts *o,
                        struct mfx_render_result *res,    /* OUT */
                        struct mfx_render_error *err);    /* OUT */

#endif
