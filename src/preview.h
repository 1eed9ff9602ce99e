/* SPDX-License-Identifier: Apache-2.0
 *
 * preview.h: a PNG of one page of a fax's TIFF-F, made on request from the
 * sealed pages (nothing extra is stored), with the fax's non-square pixels
 * made square so the page looks as it will print.
 */
#ifndef MFX_PREVIEW_H
#define MFX_PREVIEW_H

#include <stddef.h>

/* Renders page (1-based) of the TIFF in memory as a 1-bit greyscale PNG.
 * Returns 0 with *png (caller frees) and *png_len, 1 if there is no such
 * page, -1 if the TIFF cannot be read. */
int mfx_preview_png(const unsigned char *tiff, size_t len, int page, unsigned char **png, size_t *png_len);

#endif
