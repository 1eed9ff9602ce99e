/* SPDX-License-Identifier: Apache-2.0
 *
 * t4enc.h: a fast encoder for fax pages: ITU-T T.6 (Group 4, "MMR", used
 * with ECM) and T.4 two-dimensional coding (Group 3 "MR", K rows per 1-D
 * row, EOL before every row, fill bits so each EOL ends on a byte). The
 * input is packed 1-bit rows, MSB first, 1 = black; the output is the
 * coded bit stream, MSB first (TIFF FillOrder 1). faxtiff.c stores it.
 *
 * libtiff can encode too, but it was the slowest stage of a page; this one
 * finds changing elements a 64-bit word at a time. tests/test_t4enc.c
 * decodes its output with libtiff for every run length.
 */
#ifndef MFX_T4ENC_H
#define MFX_T4ENC_H

#include <stddef.h>
#include <stdint.h>

enum mfx_t4_coding {
    MFX_T4_G4,      /* T.6, ends with EOFB */
    MFX_T4_G3_2D,   /* T.4 2-D with fill bits, ends with RTC */
};

/* A growing output buffer, bounded: encoding fails rather than pass max. */
struct mfx_t4_out {
    uint8_t *data;  /* owned; free() it */
    size_t len, cap;
    size_t max;     /* bytes allowed in total */
};

/* Encodes rows x width pixels (rows of stride bytes) appended to out.
 * k is the T.4 K parameter (G3 only: 2 at 98 dpi, 4 at 196 dpi). Returns
 * 0, or -1 if out->max would be passed or memory ran out. */
int mfx_t4_encode(const uint8_t *bits,
                  size_t stride,
                  int width,
                  int rows,
                  enum mfx_t4_coding coding,
                  int k,
                  struct mfx_t4_out *out);  /* OUT: appended */

#endif
