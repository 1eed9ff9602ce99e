/* SPDX-License-Identifier: Apache-2.0
 *
 * test_image_place.c: re-sampling and orientation of raster pages
 * (image_place.c): area averages when shrinking, repeated rows when
 * enlarging, every EXIF orientation bringing a marked corner to the right
 * place, and page sizes from resolutions.
 */
#include "config.h"
#include "image_place.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* A placement of cw x ch content, unturned unless rotated. */
static struct mfx_placement content(int cw, int ch, int rotated)
{
    struct mfx_placement pl;
    memset(&pl, 0, sizeof pl);
    pl.width = 1728;
    pl.height = ch;
    pl.content_w = cw;
    pl.content_h = ch;
    pl.off_x = (1728 - cw) / 2;
    pl.rotated = rotated;
    return pl;
}

static int shrink_averages(void)
{
    /* A checkerboard of single pixels shrunk 2:1 is flat 50 % grey. */
    struct mfx_placement pl = content(100, 100, 0);
    struct mfx_image_place ip;
    TAP_CHECK(mfx_image_place_begin(&ip, 200, 200, MFX_ORIENT_NORMAL, &pl) == 0);
    uint8_t row[200];
    for (int y = 0; y < 200; y++) {
        for (int x = 0; x < 200; x++)
            row[x] = (x + y) & 1 ? 255 : 0;
        mfx_image_place_row(&ip, row);
    }
    mfx_image_place_finish(&ip);
    for (int i = 0; i < 100 * 100; i++)
        TAP_CHECK(ip.dst[i] >= 127 && ip.dst[i] <= 128);
    mfx_image_place_release(&ip);
    return 0;
}

static int enlarge_repeats(void)
{
    /* 98 dpi rows to 196 dpi: each row twice, exactly. */
    struct mfx_placement pl = content(64, 20, 0);
    struct mfx_image_place ip;
    TAP_CHECK(mfx_image_place_begin(&ip, 64, 10, MFX_ORIENT_NORMAL, &pl) == 0);
    uint8_t row[64];
    for (int y = 0; y < 10; y++) {
        memset(row, y * 20, sizeof row);
        mfx_image_place_row(&ip, row);
    }
    mfx_image_place_finish(&ip);
    for (int y = 0; y < 20; y++)
        for (int x = 0; x < 64; x++)
            TAP_CHECK(ip.dst[y * 64 + x] == (y / 2) * 20);
    mfx_image_place_release(&ip);
    return 0;
}

/* Where the stored top-left pixel lands, for an orientation, on a page of
 * 30 x 20 (stored 30 x 20 or 20 x 30). Returns 0 tl, 1 tr, 2 bl, 3 br. */
static int corner_of(int orient, int rotated)
{
    int transposed = orient >= 5;
    int sw = transposed ? 20 : 30, sh = transposed ? 30 : 20;
    int cw = rotated ? 20 : 30, ch = rotated ? 30 : 20;
    if (transposed && rotated) {
        cw = 30;
        ch = 20;
        sw = 30;
        sh = 20;
    }
    struct mfx_placement pl = content(cw, ch, rotated);
    struct mfx_image_place ip;
    if (mfx_image_place_begin(&ip, sw, sh, orient, &pl) < 0)
        return -1;
    uint8_t *row = malloc((size_t)sw);
    for (int y = 0; y < sh; y++) {
        memset(row, 255, (size_t)sw);
        if (y == 0)
            row[0] = 0;
        mfx_image_place_row(&ip, row);
    }
    free(row);
    mfx_image_place_finish(&ip);
    struct mfx_raster band;
    mfx_raster_init(&band, MFX_RASTER_GREY8, 1728, ch);
    mfx_image_place_band(&ip, &band, 0);
    int found = -1;
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++)
            if (band.data[(size_t)y * band.stride + pl.off_x + x] == 0)
                found = (y == 0 ? 0 : y == ch - 1 ? 2 : 9) + (x == 0 ? 0 : x == cw - 1 ? 1 : 9);
    mfx_raster_release(&band);
    mfx_image_place_release(&ip);
    return found;
}

static int orientations(void)
{
    /* Stored top-left seen after each EXIF turn (as stored: top-left). */
    static const int expect[9] = { -1, 0, 1, 3, 2, 0, 1, 3, 2 };
    for (int o = 1; o <= 8; o++) {
        int c = corner_of(o, 0);
        printf("# orientation %d: corner %d\n", o, c);
        TAP_CHECK(c == expect[o]);
    }
    /* Turned landscape (counter-clockwise): top-left goes bottom-left. */
    TAP_CHECK(corner_of(1, 1) == 2);
    return 0;
}

static int page_sizes(void)
{
    struct mfx_page_size ps;
    mfx_image_page_size(1728, 1100, 204, 98, 1, &ps);
    TAP_CHECK(ps.fit == MFX_FIT_SHRINK);
    TAP_CHECK(ps.width_pt > 609.8 && ps.width_pt < 610 && ps.height_pt > 808 && ps.height_pt < 808.3);
    mfx_image_page_size(400, 300, 0, 0, 6, &ps);       /* no dpi, turned by EXIF */
    TAP_CHECK(ps.fit == MFX_FIT_PAPER && ps.width_pt == 300 && ps.height_pt == 400);
    mfx_image_page_size(400, 300, 1, 1, 1, &ps);       /* 1 dpi is not a resolution */
    TAP_CHECK(ps.fit == MFX_FIT_PAPER);
    return 0;
}

static const struct tap_case cases[] = {
    { "shrinking averages areas", shrink_averages },
    { "enlarging 98 -> 196 dpi repeats rows", enlarge_repeats },
    { "EXIF orientations 1-8 and the landscape turn", orientations },
    { "page sizes from resolutions", page_sizes },
};

TAP_MAIN(cases)
