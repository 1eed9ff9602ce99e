/* SPDX-License-Identifier: Apache-2.0
 *
 * test_bilevel.c: 1-bit conversion (bilevel.c) on synthetic bands: the
 * threshold is exact at 50 % in both raster layouts, error diffusion keeps
 * the mean grey of flat areas, auto dithers a gradient and thresholds text
 * next to it, coloured text stays solid, light tints become paper, bands
 * of one page continue each other, tile rows of one or two colours
 * (thresholded per colour) give the bits and counts of any other, and
 * repainting leaves bands white without changing a bit.
 */
#include "config.h"
#include "bilevel.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define W 1728
#define STRIDE (W / 8)

static int bit(const uint8_t *bits, int x, int y)
{
    return (bits[(size_t)y * STRIDE + (x >> 3)] >> (7 - (x & 7))) & 1;
}

static double density(const uint8_t *bits, int x0, int x1, int y0, int y1)
{
    long n = 0, b = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++, n++)
            b += bit(bits, x, y);
    return (double)b / n;
}

static uint16_t rgb565(unsigned r, unsigned g, unsigned b)
{
    return (uint16_t)(((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3));
}

/* Converts a band filled by fill(x, y) -> grey in one go; with repaint,
 * also checks that the band is left all white (*white set to 1 if so). */
static uint8_t *convert_ex(enum mfx_optimize mode, enum mfx_raster_format fmt, int rows,
                           unsigned (*fill)(int x, int y), long *image_tiles, int repaint, int *white)
{
    struct mfx_raster band;
    struct mfx_bilevel b;
    if (mfx_raster_init(&band, fmt, W, rows) < 0 || mfx_bilevel_init(&b, mode, W, rows) < 0)
        return NULL;
    b.repaint = repaint;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < W; x++) {
            unsigned g = fill(x, y);
            if (fmt == MFX_RASTER_GREY8)
                band.data[(size_t)y * band.stride + x] = (uint8_t)g;
            else
                ((uint16_t *)(band.data + (size_t)y * band.stride))[x] = g > 255 ? (uint16_t)(g - 256)
                                                                                 : rgb565(g, g, g);
        }
    uint8_t *bits = calloc((size_t)rows, STRIDE);
    mfx_bilevel_begin_page(&b);
    mfx_bilevel_band(&b, &band, bits, STRIDE);
    if (image_tiles)
        *image_tiles = b.image_tiles;
    if (white) {
        *white = 1;
        for (int y = 0; y < rows; y++)
            for (size_t i = 0; i < (size_t)W * mfx_raster_bpp(fmt); i++)
                if (band.data[(size_t)y * band.stride + i] != 0xFF)
                    *white = 0;
    }
    mfx_bilevel_release(&b);
    mfx_raster_release(&band);
    return bits;
}

static uint8_t *convert(enum mfx_optimize mode, enum mfx_raster_format fmt, int rows,
                        unsigned (*fill)(int x, int y), long *image_tiles)
{
    return convert_ex(mode, fmt, rows, fill, image_tiles, 0, NULL);
}

static unsigned ramp_x(int x, int y) { (void)y; return (unsigned)(x * 255 / (W - 1)); }

static int threshold_exact(void)
{
    for (int f = 0; f < 2; f++) {
        uint8_t *bits = convert(MFX_OPTIMIZE_TEXT, f ? MFX_RASTER_RGB565 : MFX_RASTER_GREY8, 4, ramp_x, NULL);
        TAP_CHECK(bits);
        for (int x = 0; x < W; x++) {
            unsigned g = ramp_x(x, 0);
            /* RGB565 keeps 5-6 bits: allow the values next to 128. */
            if (f && g >= 124 && g <= 131)
                continue;
            TAP_CHECK(bit(bits, x, 2) == (g < 128));
        }
        free(bits);
    }
    return 0;
}

static unsigned flat_25(int x, int y) { (void)x; (void)y; return 191; }
static unsigned flat_75(int x, int y) { (void)x; (void)y; return 64; }

static int diffusion_keeps_mean(void)
{
    uint8_t *a = convert(MFX_OPTIMIZE_PHOTO, MFX_RASTER_GREY8, 256, flat_25, NULL);
    uint8_t *b = convert(MFX_OPTIMIZE_PHOTO, MFX_RASTER_RGB565, 256, flat_75, NULL);
    double da = density(a, 0, W, 0, 256), db = density(b, 0, W, 0, 256);
    printf("# 25%% grey -> %.3f, 75%% grey -> %.3f\n", da, db);
    TAP_CHECK(da > 0.23 && da < 0.27);
    TAP_CHECK(db > 0.72 && db < 0.78);
    free(a);
    free(b);
    return 0;
}

/* Left half: a vertical gradient; right half: black "text" strokes on white. */
static unsigned half_and_half(int x, int y)
{
    if (x < W / 2)
        return (unsigned)(40 + (y * 170) / 255);
    return ((x / 3) % 5 == 0 && (y / 7) % 2 == 0) ? 0 : 255;
}

static int auto_mixed(void)
{
    long tiles;
    uint8_t *bits = convert(MFX_OPTIMIZE_AUTO, MFX_RASTER_RGB565, 256, half_and_half, &tiles);
    /* Text half: exactly the threshold. */
    for (int y = 0; y < 256; y++)
        for (int x = W / 2 + 32; x < W; x++)
            TAP_CHECK(bit(bits, x, y) == (half_and_half(x, y) < 128));
    /* Gradient half: dithered, dark at the top, light at the bottom. */
    double top = density(bits, 64, W / 2 - 64, 0, 32), bottom = density(bits, 64, W / 2 - 64, 224, 256);
    printf("# gradient: top %.2f, bottom %.2f, %ld image tiles\n", top, bottom, tiles);
    TAP_CHECK(top > 0.6 && top < 0.9 && bottom > 0.1 && bottom < 0.4);
    TAP_CHECK(tiles >= 8 * 27 && tiles <= 8 * 29);
    free(bits);
    return 0;
}

/* Solid blue "text" strokes: one colour, mostly paper around it. */
static unsigned blue_text(int x, int y)
{
    return ((x / 3) % 4 == 0 && (y / 9) % 2 == 0) ? 256 + rgb565(0, 0, 200) : 255;
}

static int coloured_text_solid(void)
{
    long tiles;
    uint8_t *bits = convert(MFX_OPTIMIZE_AUTO, MFX_RASTER_RGB565, 64, blue_text, &tiles);
    TAP_CHECK(tiles == 0);
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < W; x++)
            TAP_CHECK(bit(bits, x, y) == ((x / 3) % 4 == 0 && (y / 9) % 2 == 0));
    free(bits);
    return 0;
}

static unsigned light_tint(int x, int y) { (void)x; (void)y; return 235; }

static int light_tint_is_paper(void)
{
    long tiles;
    uint8_t *bits = convert(MFX_OPTIMIZE_AUTO, MFX_RASTER_GREY8, 64, light_tint, &tiles);
    TAP_CHECK(tiles == 0 && density(bits, 0, W, 0, 64) == 0);
    free(bits);
    return 0;
}

static int bands_continue(void)
{
    /* The same page in one band or in bands of 64 rows: identical bits. */
    const int rows = 256;
    uint8_t *whole = convert(MFX_OPTIMIZE_AUTO, MFX_RASTER_GREY8, rows, half_and_half, NULL);
    struct mfx_raster band;
    struct mfx_bilevel b;
    TAP_CHECK(mfx_raster_init(&band, MFX_RASTER_GREY8, W, 64) == 0);
    TAP_CHECK(mfx_bilevel_init(&b, MFX_OPTIMIZE_AUTO, W, 64) == 0);
    uint8_t *bits = calloc((size_t)rows, STRIDE);
    mfx_bilevel_begin_page(&b);
    for (int y0 = 0; y0 < rows; y0 += 64) {
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < W; x++)
                band.data[(size_t)y * band.stride + x] = (uint8_t)half_and_half(x, y0 + y);
        mfx_bilevel_band(&b, &band, bits + (size_t)y0 * STRIDE, STRIDE);
    }
    long diff = 0;
    for (int y = 0; y < rows; y++)
        for (int x = 0; x < W; x++)
            diff += bit(bits, x, y) != bit(whole, x, y);
    printf("# %ld pixels differ\n", diff);
    /* Tile decisions at band edges may differ slightly; the rest matches. */
    TAP_CHECK(diff < (long)W * rows / 100);
    mfx_bilevel_release(&b);
    mfx_raster_release(&band);
    free(bits);
    free(whole);
    return 0;
}

/* An RGB565 value for tile row (x / 32, y): tile rows use one, two or
 * three colours of a palette of paper, ink, greys and colours on both
 * sides of the threshold and of the "other" range. */
static const uint16_t palette[] = {
    0xFFFF, 0x0000, 0x8410, 0x7BEF, 0xC618, 0xEF7D, 0x001F, 0xF800, 0x07E0, 0x0841, 0x39E7, 0xDEFB,
};
#define NPAL (sizeof palette / sizeof palette[0])

static unsigned mixed_tiles(int x, int y)
{
    unsigned h = (unsigned)(x / 32) * 2654435761u ^ (unsigned)y * 40503u;
    h ^= h >> 13;
    unsigned colours = 1 + h % 3, pick = (unsigned)x * 7u % 13u % colours;
    return 256 + palette[(h / 3 + pick * 5) % NPAL];
}

/* The threshold of BT.601 luma in RGB565 units, as bilevel.c computes it. */
static int black565(uint16_t v)
{
    return ((unsigned)(v >> 11) * 633u + ((unsigned)(v >> 5) & 63) * 607u + (v & 31u) * 239u) < (128u << 8);
}

static unsigned flat_grey565(int x, int y) { (void)x; (void)y; return 256 + 0x8410; }

static int few_colour_tiles(void)
{
    uint8_t *bits = convert(MFX_OPTIMIZE_TEXT, MFX_RASTER_RGB565, 96, mixed_tiles, NULL);
    TAP_CHECK(bits);
    long wrong = 0;
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < W; x++)
            wrong += bit(bits, x, y) != black565((uint16_t)(mixed_tiles(x, y) - 256));
    printf("# %ld pixels thresholded wrongly\n", wrong);
    TAP_CHECK(wrong == 0);
    free(bits);
    /* One colour, "other" everywhere: every tile is image. */
    long tiles;
    bits = convert(MFX_OPTIMIZE_AUTO, MFX_RASTER_RGB565, 64, flat_grey565, &tiles);
    TAP_CHECK(tiles == (W / 32) * 2);
    free(bits);
    return 0;
}

/* Gradient and text, blue text, tiles of one to three colours, in every
 * mode and both layouts: with repaint the band ends white and the bits
 * are those without it. */
static int repaint_keeps_bits(void)
{
    unsigned (*fills[])(int, int) = { half_and_half, blue_text, mixed_tiles };
    for (int m = 0; m < 3; m++)
        for (int f = 0; f < 2; f++)
            for (size_t k = 0; k < sizeof fills / sizeof fills[0]; k++) {
                enum mfx_optimize mode = m == 0 ? MFX_OPTIMIZE_TEXT : m == 1 ? MFX_OPTIMIZE_PHOTO
                                                                         : MFX_OPTIMIZE_AUTO;
                enum mfx_raster_format fmt = f ? MFX_RASTER_RGB565 : MFX_RASTER_GREY8;
                if (!f && fills[k] != half_and_half)
                    continue;       /* the others are RGB565 values */
                long ta, tb;
                int white = 0;
                uint8_t *a = convert_ex(mode, fmt, 100, fills[k], &ta, 0, NULL);
                uint8_t *b = convert_ex(mode, fmt, 100, fills[k], &tb, 1, &white);
                TAP_CHECK(a && b);
                TAP_CHECK(white);
                TAP_CHECK(ta == tb && memcmp(a, b, (size_t)100 * STRIDE) == 0);
                free(a);
                free(b);
            }
    return 0;
}

static int optimize_names(void)
{
    enum mfx_optimize o;
    TAP_CHECK(mfx_optimize_parse("text", &o) == 0 && o == MFX_OPTIMIZE_TEXT);
    TAP_CHECK(mfx_optimize_parse("photo", &o) == 0 && o == MFX_OPTIMIZE_PHOTO);
    TAP_CHECK(mfx_optimize_parse("auto", &o) == 0 && o == MFX_OPTIMIZE_AUTO);
    TAP_CHECK(mfx_optimize_parse("graphics", &o) == -1);
    return 0;
}

static const struct tap_case cases[] = {
    { "threshold at 50 %, grey and RGB565", threshold_exact },
    { "error diffusion keeps the mean of flat greys", diffusion_keeps_mean },
    { "auto: gradient dithered, text thresholded", auto_mixed },
    { "auto: coloured text stays solid", coloured_text_solid },
    { "auto: light tints are paper", light_tint_is_paper },
    { "bands of a page continue each other", bands_continue },
    { "tile rows of one, two and three colours", few_colour_tiles },
    { "repaint leaves bands white, bits unchanged", repaint_keeps_bits },
    { "optimize_for names", optimize_names },
};

TAP_MAIN(cases)
