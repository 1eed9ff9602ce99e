/* SPDX-License-Identifier: Apache-2.0
 *
 * raster.c: allocation and clearing of page bands (see raster.h). Strides
 * follow cairo's rule (a multiple of 4 bytes) so a band can be wrapped in a
 * cairo image surface without copying.
 */
#include "config.h"
#include "raster.h"

#include <stdlib.h>
#include <string.h>

int mfx_raster_init(struct mfx_raster *r, enum mfx_raster_format format, int width, int rows)
{
    memset(r, 0, sizeof *r);
    if (width <= 0 || rows <= 0)
        return -1;
    size_t stride = ((size_t)width * (size_t)mfx_raster_bpp(format) + 3) & ~(size_t)3;
    /* 64-byte alignment keeps rows friendly to the vector loops of bilevel.c. */
    void *p = NULL;
    if (posix_memalign(&p, 64, stride * (size_t)rows) != 0)
        return -1;
    r->format = format;
    r->width = width;
    r->height = rows;
    r->cap_rows = rows;
    r->stride = stride;
    r->data = p;
    return 0;
}

void mfx_raster_release(struct mfx_raster *r)
{
    free(r->data);
    memset(r, 0, sizeof *r);
}

void mfx_raster_fill_white(struct mfx_raster *r)
{
    /* 0xFF bytes are white in both layouts. */
    memset(r->data, 0xFF, r->stride * (size_t)r->height);
}
