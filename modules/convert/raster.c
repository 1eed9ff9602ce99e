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
#include <sys/mman.h>

/* Bands from this size on are mapped on their own, on transparent huge
 * pages where the kernel allows (a Letter page band is 7 MB: 4 faults of
 * 2 MB instead of some 1,800 of 4 KB, a tenth of a short render's time). */
#define HUGE_ALIGN ((size_t)2 << 20)

int mfx_raster_init(struct mfx_raster *r, enum mfx_raster_format format, int width, int rows)
{
    memset(r, 0, sizeof *r);
    if (width <= 0 || rows <= 0)
        return -1;
    size_t stride = ((size_t)width * (size_t)mfx_raster_bpp(format) + 3) & ~(size_t)3;
    size_t bytes = stride * (size_t)rows;
    void *p = NULL;
    if (bytes >= HUGE_ALIGN) {
        size_t mapped = (bytes + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
        p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return -1;
#ifdef MADV_HUGEPAGE
        madvise(p, mapped, MADV_HUGEPAGE);
#endif
        r->mapped = mapped;
    } else if (posix_memalign(&p, 64, bytes) != 0) {
        /* 64-byte alignment keeps rows friendly to the vector loops. */
        return -1;
    }
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
    if (r->mapped)
        munmap(r->data, r->mapped);
    else
        free(r->data);
    memset(r, 0, sizeof *r);
}

void mfx_raster_fill_white(struct mfx_raster *r)
{
    /* 0xFF bytes are white in both layouts. */
    memset(r->data, 0xFF, r->stride * (size_t)r->height);
}
