/* SPDX-License-Identifier: Apache-2.0
 *
 * faxtiff.h: writes coded pages (t4enc.c) as one multi-page TIFF Class F
 * file (RFC 2306): 1728 wide, 204 x 98|196|391 dpi, min-is-white,
 * FillOrder 2 (bits in line order, as spandsp and fax modems keep them),
 * one strip per page, PageNumber n/m, CleanFaxData, and Compression 4 (G4)
 * or 3 with T4Options 2-D + fill bits (G3).
 */
#ifndef MFX_FAXTIFF_H
#define MFX_FAXTIFF_H

#include <stddef.h>
#include <stdint.h>
#include <tiffio.h>
#include "geometry.h"
#include "t4enc.h"

struct mfx_faxtiff {
    TIFF *tif;
    const struct mfx_fax_format *fmt;
    enum mfx_t4_coding coding;
    int pages_total;
    int pages_done;
};

/* Starts a TIFF on fd (the caller keeps fd open and owns it; libtiff gets a
 * dup). Returns 0 or -1. */
int mfx_faxtiff_open(struct mfx_faxtiff *ft,
                     int fd,
                     const struct mfx_fax_format *fmt,
                     enum mfx_t4_coding coding,
                     int pages_total);

/* Appends one page: coded is the T.4/T.6 stream of rows x 1728 pixels
 * (MSB first); it is bit-reversed in place for FillOrder 2. Returns 0, or
 * -1 on a write error (disk full, the file size limit). */
int mfx_faxtiff_add_page(struct mfx_faxtiff *ft, uint8_t *coded, size_t len, int rows);

/* Finishes the file; returns 0 or -1. Frees ft's resources either way. */
int mfx_faxtiff_close(struct mfx_faxtiff *ft);

/* The T.4 K parameter for a resolution (§4.2.1: 2 at standard, 4 above). */
int mfx_faxtiff_k(const struct mfx_fax_format *fmt);

#endif
