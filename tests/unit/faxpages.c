/* SPDX-License-Identifier: Apache-2.0
 *
 * faxpages.c: the test document of faxpages.h. Page p's bitmap (1 = black,
 * MSB first) has a frame, stripes, a checkerboard, a diagonal and
 * pseudo-random "text" runs that differ per page, so a page that arrives as
 * another page, or with a row missing, does not compare equal.
 */
#include "config.h"
#include "mfx.h"
#include "faxpages.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#define WIDTH MFX_FAXPAGES_WIDTH
#define ROWS MFX_FAXPAGES_ROWS
#define STRIDE (WIDTH / 8)

static void make_page(int p, uint8_t *bits)
{
    memset(bits, 0, (size_t)STRIDE * ROWS);
    uint32_t x = 0x12345u + (uint32_t)p * 7919u;
    for (int r = 0; r < ROWS; r++) {
        uint8_t *row = bits + (size_t)r * STRIDE;
        for (int c = 0; c < WIDTH; c++) {
            bool black = false;
            if (r < 4 || r >= ROWS - 4 || c < 8 || c >= WIDTH - 8) black = true;                 /* frame */
            else if (r >= 20 && r < 60) black = ((c / (8 + 4 * p)) % 2) == 0;                     /* stripes */
            else if (r >= 80 && r < 160 && c >= 100 && c < 500) black = ((r / 10 + c / 10) % 2) == 0;
            else if (c - 600 == r * 2 + p * 5 || c - 601 == r * 2 + p * 5) black = true;          /* diagonal */
            if (black) row[c / 8] |= (uint8_t)(0x80 >> (c % 8));
        }
        if (r >= 180 && r < 300 && r % 12 < 8) {                                                   /* "text" */
            for (int c = 900; c < 1700;) {
                x = x * 1103515245u + 12345u;
                int run = 2 + (int)((x >> 16) % 14);
                bool black = (x >> 8) & 1;
                for (int k = 0; k < run && c < 1700; k++, c++)
                    if (black) row[c / 8] |= (uint8_t)(0x80 >> (c % 8));
            }
        }
    }
}

int mfx_faxpages_write(const char *path, int pages, bool g4)
{
    TIFF *t = TIFFOpen(path, "w");
    if (!t) return -1;
    uint8_t *bits = mfx_malloc((size_t)STRIDE * ROWS);
    for (int p = 0; p < pages; p++) {
        make_page(p, bits);
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, WIDTH);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, ROWS);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, ROWS);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0f);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, 196.0f);                /* fine */
        TIFFSetField(t, TIFFTAG_PAGENUMBER, p, pages);
        if (g4) {
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        } else {
            TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
            TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS);
        }
        for (int r = 0; r < ROWS; r++)
            if (TIFFWriteScanline(t, bits + (size_t)r * STRIDE, (uint32_t)r, 0) < 0) goto fail;
        if (!TIFFWriteDirectory(t)) goto fail;
    }
    free(bits);
    TIFFClose(t);
    return 0;
fail:
    free(bits);
    TIFFClose(t);
    return -1;
}

int mfx_faxpages_compare(const char *path, int pages)
{
    TIFF *t = TIFFOpen(path, "r");
    if (!t) return -1;
    uint8_t *want = mfx_malloc((size_t)STRIDE * ROWS);
    uint8_t *got = mfx_malloc((size_t)TIFFScanlineSize(t) + STRIDE);
    int matched = 0;
    do {
        uint32_t w = 0, h = 0;
        TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
        if (matched >= pages || w != WIDTH || h != ROWS) {
            printf("# page %d: %ux%u\n", matched + 1, w, h);
            matched = -1;
            break;
        }
        free(got);
        got = mfx_malloc((size_t)TIFFScanlineSize(t) + STRIDE);
        make_page(matched, want);
        for (uint32_t r = 0; r < h; r++) {
            if (TIFFReadScanline(t, got, r, 0) < 0 || memcmp(got, want + (size_t)r * STRIDE, STRIDE) != 0) {
                printf("# page %d row %u differs\n", matched + 1, r);
                matched = -1;
                break;
            }
        }
        if (matched < 0) break;
        matched++;
    } while (TIFFReadDirectory(t));
    free(want);
    free(got);
    TIFFClose(t);
    return matched;
}

double mfx_test_media_speed(void)
{
    const char *s = getenv("MFX_TEST_MEDIA_SPEED");
    if (s && atof(s) > 0) return atof(s);
    const char *san = getenv("MFX_SANITIZERS");
    return san && *san ? 6 : 12;
}

void mfx_test_run_loop_ms(struct event_base *base, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(base, &tv);
    event_base_dispatch(base);
}
