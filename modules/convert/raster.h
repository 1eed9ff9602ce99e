/* SPDX-License-Identifier: Apache-2.0
 *
 * raster.h: a band of page pixels that a converter draws into, before the
 * band is made 1-bit (bilevel.c). Two layouts: 8-bit grey (raster images)
 * and cairo's CAIRO_FORMAT_RGB16_565 (PDF and cover pages drawn with
 * cairo). 16 bits rather than 32 halve the memory a page band takes and
 * the bytes moved per page, which is what limits speed on text pages; 5-6
 * bits per channel are plenty for a 1-bit result. The buffer is allocated
 * once at its largest size and reused for every band of every page.
 */
#ifndef MFX_RASTER_H
#define MFX_RASTER_H

#include <stddef.h>
#include <stdint.h>

enum mfx_raster_format {
    MFX_RASTER_GREY8,       /* 1 byte per pixel, 0 black .. 255 white */
    MFX_RASTER_RGB565,      /* cairo RGB16_565: uint16_t rrrrrggggggbbbbb */
};

struct mfx_raster {
    enum mfx_raster_format format;
    int width;              /* pixels */
    int height;             /* rows in use (<= capacity rows) */
    int cap_rows;           /* rows the buffer can hold */
    size_t stride;          /* bytes per row (a multiple of 4) */
    unsigned char *data;    /* owned; freed by mfx_raster_release */
    size_t mapped;          /* bytes mmap'd for data, or 0 (malloc'd) */
    int clean_rows;         /* rows [0, clean_rows) are known to be white:
                             * a converter that paints paper may skip them.
                             * 0 after init; the pipeline keeps it (its
                             * 1-bit pass paints each band's ink white again). */
};

/* Allocates a width x rows buffer in format; returns 0, or -1 when the
 * allocation fails (the memory limit, usually). */
int mfx_raster_init(struct mfx_raster *r, enum mfx_raster_format format, int width, int rows);

/* Frees the buffer; r can be initialised again. */
void mfx_raster_release(struct mfx_raster *r);

/* Paints rows [0, r->height) white. */
void mfx_raster_fill_white(struct mfx_raster *r);

/* Bytes per pixel of a format. */
static inline int mfx_raster_bpp(enum mfx_raster_format f) { return f == MFX_RASTER_GREY8 ? 1 : 2; }

#endif
