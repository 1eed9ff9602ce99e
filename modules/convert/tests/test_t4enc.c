/* SPDX-License-Identifier: Apache-2.0
 *
 * test_t4enc.c: the T.4/T.6 encoder against libtiff's decoder. Pages of
 * every run length of both colours, random noise, vertical-mode edges and
 * all-black rows are encoded as G4 and as G3 2-D, stored in a TIFF strip
 * as they are, decoded by libtiff and compared bit for bit.
 */
#include "config.h"
#include "t4enc.h"
#include "tap.h"

#include <stdlib.h>
#include <tiffio.h>
#include <unistd.h>

#define W 1728
#define STRIDE (W / 8)

static void set_px(uint8_t *row, int x, int black)
{
    if (black)
        row[x >> 3] |= (uint8_t)(0x80 >> (x & 7));
    else
        row[x >> 3] &= (uint8_t)~(0x80 >> (x & 7));
}

/* Writes the coded page into a one-strip TIFF, reads it back with libtiff
 * and compares; returns the number of differing rows (or -1 on error). */
static int roundtrip(const uint8_t *page, int rows, enum mfx_t4_coding coding, int k)
{
    struct mfx_t4_out out = { NULL, 0, 0, 64 << 20 };
    if (mfx_t4_encode(page, STRIDE, W, rows, coding, k, &out) < 0)
        return -1;
    char path[] = "/tmp/mfx-t4enc-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    TIFF *t = TIFFOpen(path, "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, W);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, rows);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rows);
    if (coding == MFX_T4_G4) {
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
    } else {
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS);
    }
    TIFFWriteRawStrip(t, 0, out.data, (tmsize_t)out.len);
    TIFFClose(t);
    free(out.data);

    int bad = 0;
    t = TIFFOpen(path, "r");
    if (!t) {
        unlink(path);
        return -1;
    }
    uint8_t row[STRIDE];
    for (int y = 0; y < rows; y++) {
        if (TIFFReadScanline(t, row, (uint32_t)y, 0) < 0 || memcmp(row, page + (size_t)y * STRIDE, STRIDE)) {
            if (bad < 3)
                printf("# row %d differs\n", y);
            bad++;
        }
    }
    TIFFClose(t);
    unlink(path);
    return bad;
}

/* Rows whose runs take every length 0..W of both colours. */
static uint8_t *page_all_runs(int *rows_out)
{
    int rows = 2 * (W + 1);
    uint8_t *p = calloc((size_t)rows, STRIDE);
    int y = 0;
    for (int black_first = 0; black_first < 2; black_first++) {
        for (int len = 0; len <= W; len++, y++) {
            uint8_t *row = p + (size_t)y * STRIDE;
            /* a run of len, then alternating short runs to fill the row */
            int x = 0, color = black_first;
            for (int i = 0; i < len; i++)
                set_px(row, x++, color);
            int step = 1 + len % 7;
            while (x < W) {
                color ^= 1;
                for (int i = 0; i < step && x < W; i++)
                    set_px(row, x++, color);
            }
        }
    }
    *rows_out = rows;
    return p;
}

static uint8_t *page_random(int rows, unsigned seed, int density)
{
    uint8_t *p = calloc((size_t)rows, STRIDE);
    srand(seed);
    for (int y = 0; y < rows; y++) {
        uint8_t *row = p + (size_t)y * STRIDE;
        int x = 0, color = rand() & 1;
        while (x < W) {
            int len = rand() % density;
            for (int i = 0; i < len && x < W; i++)
                set_px(row, x++, color);
            color ^= 1;
        }
    }
    return p;
}

/* Slanted edges: vertical modes VL3..VR3 and pass modes. */
static uint8_t *page_edges(int rows)
{
    uint8_t *p = calloc((size_t)rows, STRIDE);
    for (int y = 0; y < rows; y++) {
        uint8_t *row = p + (size_t)y * STRIDE;
        for (int e = 0; e < 12; e++) {
            int shift = (e % 7) - 3;
            int x0 = 100 + e * 130 + (y * shift) % 60;
            if (x0 < 0)
                x0 += 60;
            for (int x = x0; x < x0 + 10 + (y % 5) && x < W; x++)
                set_px(row, x, 1);
        }
        if (y % 17 == 0)
            memset(row, 0xFF, STRIDE);      /* an all-black row */
    }
    return p;
}

static int g4_all_runs(void)
{
    int rows;
    uint8_t *p = page_all_runs(&rows);
    int bad = roundtrip(p, rows, MFX_T4_G4, 0);
    free(p);
    TAP_CHECK(bad == 0);
    return 0;
}

static int g3_all_runs(void)
{
    int rows;
    uint8_t *p = page_all_runs(&rows);
    int bad = roundtrip(p, rows, MFX_T4_G3_2D, 4);
    free(p);
    TAP_CHECK(bad == 0);
    return 0;
}

static int g4_random(void)
{
    for (unsigned seed = 1; seed <= 4; seed++) {
        uint8_t *p = page_random(300, seed, seed == 1 ? 4 : seed * 40);
        int bad = roundtrip(p, 300, MFX_T4_G4, 0);
        free(p);
        TAP_CHECK(bad == 0);
    }
    return 0;
}

static int g3_random(void)
{
    for (unsigned seed = 1; seed <= 4; seed++) {
        uint8_t *p = page_random(300, seed, seed * 30);
        int bad = roundtrip(p, 300, MFX_T4_G3_2D, seed % 2 ? 2 : 4);
        free(p);
        TAP_CHECK(bad == 0);
    }
    return 0;
}

static int edges_both(void)
{
    uint8_t *p = page_edges(400);
    TAP_CHECK(roundtrip(p, 400, MFX_T4_G4, 0) == 0);
    TAP_CHECK(roundtrip(p, 400, MFX_T4_G3_2D, 2) == 0);
    free(p);
    return 0;
}

static int repeated_rows(void)
{
    /* Runs of identical rows take the encoder's shortcut (all V0): they
     * must decode the same in G4 and in G3, where 1-D rows break them. */
    uint8_t *p = page_random(40, 5, 50);
    uint8_t *page = malloc((size_t)400 * STRIDE);
    for (int y = 0; y < 400; y++)
        memcpy(page + (size_t)y * STRIDE, p + (size_t)(y / 10) * STRIDE, STRIDE);
    TAP_CHECK(roundtrip(page, 400, MFX_T4_G4, 0) == 0);
    TAP_CHECK(roundtrip(page, 400, MFX_T4_G3_2D, 4) == 0);
    TAP_CHECK(roundtrip(page, 400, MFX_T4_G3_2D, 2) == 0);
    free(page);
    free(p);
    return 0;
}

static int white_page_small(void)
{
    /* A white fine page codes to a few bytes per row (V0 per row in G4). */
    uint8_t *p = calloc(2200, STRIDE);
    struct mfx_t4_out out = { NULL, 0, 0, 1 << 20 };
    TAP_CHECK(mfx_t4_encode(p, STRIDE, W, 2200, MFX_T4_G4, 0, &out) == 0);
    TAP_CHECK(out.len < 400);
    free(out.data);
    TAP_CHECK(roundtrip(p, 2200, MFX_T4_G4, 0) == 0);
    free(p);
    return 0;
}

static int output_cap(void)
{
    /* Noise does not fit in 1 KiB: the encoder refuses instead of passing it. */
    uint8_t *p = page_random(200, 9, 3);
    struct mfx_t4_out out = { NULL, 0, 0, 1024 };
    TAP_CHECK(mfx_t4_encode(p, STRIDE, W, 200, MFX_T4_G4, 0, &out) == -1);
    TAP_CHECK(out.len <= 1024);
    free(out.data);
    free(p);
    return 0;
}

static const struct tap_case cases[] = {
    { "g4: every run length of both colours decodes", g4_all_runs },
    { "g3 2-D: every run length of both colours decodes", g3_all_runs },
    { "g4: random pages decode", g4_random },
    { "g3 2-D: random pages, K=2 and K=4, decode", g3_random },
    { "vertical and pass modes, all-black rows", edges_both },
    { "repeated rows (the V0 shortcut)", repeated_rows },
    { "a white page is tiny", white_page_small },
    { "the output cap is enforced", output_cap },
};

static void quiet(const char *m, const char *f, va_list ap) { (void)m; (void)f; (void)ap; }

int main(void)
{
    TIFFSetWarningHandler(quiet);
    return tap_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
