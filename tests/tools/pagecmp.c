/* SPDX-License-Identifier: Apache-2.0
 *
 * pagecmp.c: compares the decoded bitmaps of two bilevel multi-page TIFFs
 * (what mintfax rendered and what the far fax machine received), page by
 * page, whatever their compression. Prints one JSON object:
 *   {"pages_a":3,"pages_b":3,"pages":[{"width_a":1728,...,"diff_rows":0},...]}
 * Exit status 0 when every page has the same size and no row differs, 1 when
 * they differ, 2 on errors. Photometric interpretation is normalised so
 * that 1 always means black.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

static void quiet(const char *m, const char *f, va_list ap)
{
    (void)m;
    (void)f;
    (void)ap;
}

/* Reads the current page into a packed bitmap (1 = black); NULL on error. */
static uint8_t *read_page(TIFF *t, uint32_t *w, uint32_t *h, tmsize_t *stride)
{
    uint16_t bps = 1, photo = PHOTOMETRIC_MINISWHITE;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_PHOTOMETRIC, &photo);
    if (bps != 1 || *w == 0 || *w > 10000 || *h > 100000) return NULL;
    *stride = TIFFScanlineSize(t);
    uint8_t *bits = calloc((size_t)*h, (size_t)*stride);
    if (!bits) return NULL;
    for (uint32_t y = 0; y < *h; y++) {
        if (TIFFReadScanline(t, bits + (size_t)y * (size_t)*stride, y, 0) < 0) {
            free(bits);
            return NULL;
        }
        if (photo == PHOTOMETRIC_MINISBLACK)
            for (tmsize_t i = 0; i < *stride; i++) bits[(size_t)y * (size_t)*stride + (size_t)i] ^= 0xff;
    }
    /* Bits past the width in the last byte are padding: clear them. */
    if (*w % 8)
        for (uint32_t y = 0; y < *h; y++)
            bits[(size_t)y * (size_t)*stride + *w / 8] &= (uint8_t)(0xff << (8 - *w % 8));
    return bits;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pagecmp A.tif B.tif\n");
        return 2;
    }
    TIFFSetWarningHandler(quiet);
    TIFF *a = TIFFOpen(argv[1], "r"), *b = TIFFOpen(argv[2], "r");
    if (!a || !b) {
        fprintf(stderr, "pagecmp: cannot open %s\n", !a ? argv[1] : argv[2]);
        return 2;
    }
    int pa = TIFFNumberOfDirectories(a), pb = TIFFNumberOfDirectories(b);
    int same = pa == pb;
    printf("{\"pages_a\":%d,\"pages_b\":%d,\"pages\":[", pa, pb);
    for (int p = 0; p < pa && p < pb; p++) {
        TIFFSetDirectory(a, (tdir_t)p);
        TIFFSetDirectory(b, (tdir_t)p);
        uint32_t wa, ha, wb, hb;
        tmsize_t sa, sb;
        uint8_t *ba = read_page(a, &wa, &ha, &sa), *bb = read_page(b, &wb, &hb, &sb);
        long diff = -1;
        if (ba && bb && wa == wb && sa == sb) {
            diff = 0;
            uint32_t rows = ha < hb ? ha : hb;
            for (uint32_t y = 0; y < rows; y++)
                diff += memcmp(ba + (size_t)y * (size_t)sa, bb + (size_t)y * (size_t)sb, (size_t)sa) != 0;
            diff += (long)(ha > hb ? ha - hb : hb - ha);
        }
        if (diff != 0) same = 0;
        printf("%s{\"width_a\":%u,\"height_a\":%u,\"width_b\":%u,\"height_b\":%u,\"diff_rows\":%ld}",
               p ? "," : "", ba ? wa : 0, ba ? ha : 0, bb ? wb : 0, bb ? hb : 0, diff);
        free(ba);
        free(bb);
    }
    printf("]}\n");
    TIFFClose(a);
    TIFFClose(b);
    return same ? 0 : 1;
}
