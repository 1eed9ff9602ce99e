/* SPDX-License-Identifier: Apache-2.0
 *
 * bilevel.c: thresholding, Floyd-Steinberg error diffusion and the tile
 * classifier of optimize_for=auto (see bilevel.h). Text pages are limited
 * by memory traffic, so a band is read once: one pass thresholds every
 * pixel and, in auto mode, counts "other" pixels per tile at the same
 * time, skipping runs of white eight pixels at a time. Only the tiles then
 * classified as image are read again, to be dithered over the threshold.
 */
#include "config.h"
#include "bilevel.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* "Other": neither paper nor ink, what antialiasing-free black text never
 * produces but photos, gradients and grey fills do. Tints lighter than
 * about 85 % count as paper: behind text (code listings, table stripes)
 * dithering them only adds noise, and thresholding makes them white. */
#define MID_LO 6
#define MID_HI 215

/* Luma (ITU-R BT.601) of every RGB565 value. */
static uint8_t luma565[65536];

static void luma565_init(void)
{
    if (luma565[0xFFFF])
        return;
    for (unsigned v = 0; v < 65536; v++) {
        unsigned r = (v >> 11) & 31, g = (v >> 5) & 63, b = v & 31;
        r = (r << 3) | (r >> 2);
        g = (g << 2) | (g >> 4);
        b = (b << 3) | (b >> 2);
        luma565[v] = (uint8_t)((r * 77 + g * 150 + b * 29 + 128) >> 8);
    }
}

/* rev8[b]: the bits of b in reverse order (lane 0 of a mask is pixel 0,
 * which goes to the most significant bit of a fax byte); ones8[b]: how
 * many bits b has set. */
static uint8_t rev8[256], ones8[256];

static void rev8_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        unsigned r = 0, n = 0;
        for (int k = 0; k < 8; k++) {
            r |= ((v >> k) & 1u) << (7 - k);
            n += (v >> k) & 1u;
        }
        rev8[v] = (uint8_t)r;
        ones8[v] = (uint8_t)n;
    }
}

int mfx_optimize_parse(const char *name, enum mfx_optimize *out)
{
    if (!name)
        return -1;
    if (!strcmp(name, "text"))
        *out = MFX_OPTIMIZE_TEXT;
    else if (!strcmp(name, "photo"))
        *out = MFX_OPTIMIZE_PHOTO;
    else if (!strcmp(name, "auto"))
        *out = MFX_OPTIMIZE_AUTO;
    else
        return -1;
    return 0;
}

int mfx_bilevel_init(struct mfx_bilevel *b, enum mfx_optimize mode, int width, int max_rows)
{
    luma565_init();
    rev8_init();
    memset(b, 0, sizeof *b);
    b->mode = mode;
    b->width = width;
    b->ntiles = (width + MFX_BILEVEL_TILE - 1) / MFX_BILEVEL_TILE;
    b->err_cur = calloc((size_t)width + 2, sizeof *b->err_cur);
    b->err_next = calloc((size_t)width + 2, sizeof *b->err_next);
    b->grey = malloc((size_t)width);
    b->max_tile_rows = (max_rows + MFX_BILEVEL_TILE - 1) / MFX_BILEVEL_TILE;
    size_t cells = (size_t)b->max_tile_rows * (size_t)b->ntiles;
    b->other = calloc(cells, sizeof *b->other);
    b->strong = calloc(cells, 1);
    b->image = calloc(cells, 1);
    b->image_prev = calloc((size_t)b->ntiles, 1);
    b->inked_words = (b->ntiles + 63) / 64;
    b->inked = calloc((size_t)max_rows * (size_t)b->inked_words, sizeof *b->inked);
    if (!b->err_cur || !b->err_next || !b->grey || !b->other || !b->strong || !b->image ||
        !b->image_prev || !b->inked) {
        mfx_bilevel_release(b);
        return -1;
    }
    return 0;
}

void mfx_bilevel_release(struct mfx_bilevel *b)
{
    free(b->err_cur);
    free(b->err_next);
    free(b->grey);
    free(b->other);
    free(b->strong);
    free(b->image);
    free(b->image_prev);
    free(b->inked);
    memset(b, 0, sizeof *b);
}

void mfx_bilevel_begin_page(struct mfx_bilevel *b)
{
    b->row = 0;
    b->image_tiles = 0;
    b->dirty = 0;
    memset(b->err_cur, 0, ((size_t)b->width + 2) * sizeof *b->err_cur);
    memset(b->err_next, 0, ((size_t)b->width + 2) * sizeof *b->err_next);
    memset(b->image_prev, 0, (size_t)b->ntiles);
}

/* Grey value of pixel x of a row. */
static inline unsigned pixel(const struct mfx_raster *band, const uint8_t *row, int x)
{
    return band->format == MFX_RASTER_RGB565 ? luma565[((const uint16_t *)row)[x]] : row[x];
}

/* Luma of RGB565 x 256, from the 5- and 6-bit channels (BT.601 weights
 * scaled to them); white is 65273, so it fits 16 bits. Thresholds in the
 * same units: black below 128, "other" in [MID_LO, MID_HI]. */
#define L565(r, g, b) ((r) * 633u + (g) * 607u + (b) * 239u)
#define L_BLACK (128u << 8)
#define L_OTHER_LO ((unsigned)MID_LO << 8)
#define L_OTHER_HI (((unsigned)MID_HI + 1) << 8)

/* pack8(fmt, row, x): thresholds the eight pixels from x of a row (not
 * all white); returns them packed in the low byte and how many are
 * "other" above it. */
#if defined(__SSE2__)
/* Eight pixels at once (SSE2 is part of every x86-64): black and "other"
 * masks from 16-bit luma, packed with movemask. */
static inline unsigned pack8(enum mfx_raster_format fmt, const uint8_t *row, int x)
{
    __m128i blk, oth;
    if (fmt == MFX_RASTER_RGB565) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(row + 2 * x));
        __m128i r = _mm_srli_epi16(v, 11);
        __m128i g = _mm_and_si128(_mm_srli_epi16(v, 5), _mm_set1_epi16(63));
        __m128i b = _mm_and_si128(v, _mm_set1_epi16(31));
        __m128i l = _mm_add_epi16(_mm_add_epi16(_mm_mullo_epi16(r, _mm_set1_epi16(633)),
                                                _mm_mullo_epi16(g, _mm_set1_epi16(607))),
                                  _mm_mullo_epi16(b, _mm_set1_epi16(239)));
        /* Unsigned compares through the signed ones: flip the top bit. */
        __m128i sl = _mm_xor_si128(l, _mm_set1_epi16((short)0x8000));
        blk = _mm_cmplt_epi16(sl, _mm_set1_epi16((short)(L_BLACK - 32768)));
        oth = _mm_and_si128(_mm_cmpgt_epi16(sl, _mm_set1_epi16((short)(L_OTHER_LO - 1 - 32768))),
                            _mm_cmplt_epi16(sl, _mm_set1_epi16((short)(L_OTHER_HI - 32768))));
        blk = _mm_packs_epi16(blk, blk);
        oth = _mm_packs_epi16(oth, oth);
    } else {
        __m128i v = _mm_loadl_epi64((const __m128i *)(const void *)(row + x));
        __m128i sv = _mm_xor_si128(v, _mm_set1_epi8((char)0x80));
        blk = _mm_cmplt_epi8(sv, _mm_setzero_si128());
        oth = _mm_and_si128(_mm_cmpgt_epi8(sv, _mm_set1_epi8((char)(MID_LO - 1 - 128))),
                            _mm_cmplt_epi8(sv, _mm_set1_epi8((char)(MID_HI + 1 - 128))));
    }
    return rev8[(unsigned)_mm_movemask_epi8(blk) & 0xFFu] |
           (unsigned)ones8[(unsigned)_mm_movemask_epi8(oth) & 0xFFu] << 8;
}
#else
/* Eight pixels, one at a time, with the same arithmetic as the SSE2 path. */
static inline unsigned pack8(enum mfx_raster_format fmt, const uint8_t *row, int x)
{
    unsigned byte = 0, mid = 0;
    for (int k = 0; k < 8; k++) {
        unsigned l;
        if (fmt == MFX_RASTER_RGB565) {
            unsigned v = ((const uint16_t *)(const void *)row)[x + k];
            l = L565(v >> 11, (v >> 5) & 63, v & 31);
        } else {
            l = (unsigned)row[x + k] << 8 | 0x80;
        }
        byte = (byte << 1) | (l < L_BLACK);
        mid += l >= L_OTHER_LO && l < L_OTHER_HI;
    }
    return byte | mid << 8;
}
#endif

/* Loads the 64-bit word i of a row (no alignment assumed). */
static inline uint64_t word(const uint8_t *row, int i)
{
    uint64_t v;
    memcpy(&v, row + 8 * i, 8);
    return v;
}

#if defined(__SSE2__)
/* The 32 bits "pixel k of the four vectors equals the lanes of c" (bit k
 * for pixel k). */
static inline unsigned eq32(__m128i v0, __m128i v1, __m128i v2, __m128i v3, __m128i c)
{
    unsigned lo = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(_mm_cmpeq_epi16(v0, c), _mm_cmpeq_epi16(v1, c)));
    unsigned hi = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(_mm_cmpeq_epi16(v2, c), _mm_cmpeq_epi16(v3, c)));
    return lo | hi << 16;
}

/* One tile row of RGB565 (32 pixels, 64 bytes at p) that is paper only,
 * or made of at most two colours: black text on paper, coloured text, text
 * on a flat tint, a rule, a flat fill, all that antialiasing-free drawing
 * produces. Each colour is thresholded once instead of each pixel: stores
 * the four 1-bit bytes at out, adds the tile row's "other" pixels to
 * *other and returns 2 for paper, 1 otherwise; returns 0 (nothing stored)
 * for three colours or more, left to pack8(). The bits and counts are
 * those pack8() gives. */
static inline int tile565(const uint8_t *p, uint8_t *out, unsigned *other)
{
    __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
    __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
    __m128i all = _mm_and_si128(_mm_and_si128(v0, v1), _mm_and_si128(v2, v3));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(all, _mm_set1_epi32(-1))) == 0xFFFF) {
        memset(out, 0, 4);      /* paper: white is all bits set */
        return 2;
    }
    uint16_t a, b = 0;
    memcpy(&a, p, 2);
    unsigned ma = eq32(v0, v1, v2, v3, _mm_set1_epi16((short)a));
    if (ma != 0xFFFFFFFFu) {
        memcpy(&b, p + 2 * __builtin_ctz(~ma), 2);
        if ((ma | eq32(v0, v1, v2, v3, _mm_set1_epi16((short)b))) != 0xFFFFFFFFu)
            return 0;
    }
    unsigned la = L565((unsigned)a >> 11, ((unsigned)a >> 5) & 63, (unsigned)a & 31);
    unsigned lb = L565((unsigned)b >> 11, ((unsigned)b >> 5) & 63, (unsigned)b & 31);
    unsigned blk = (la < L_BLACK ? ma : 0) | (lb < L_BLACK ? ~ma : 0);
    out[0] = rev8[blk & 0xFFu];
    out[1] = rev8[(blk >> 8) & 0xFFu];
    out[2] = rev8[(blk >> 16) & 0xFFu];
    out[3] = rev8[blk >> 24];
    unsigned na = (unsigned)ones8[ma & 0xFFu] + ones8[(ma >> 8) & 0xFFu] + ones8[(ma >> 16) & 0xFFu] +
                  ones8[ma >> 24];
    *other += (la >= L_OTHER_LO && la < L_OTHER_HI ? na : 0) +
              (lb >= L_OTHER_LO && lb < L_OTHER_HI ? 32 - na : 0);
    return 1;
}
#endif

/* Thresholds pixels [x, w) of a row, eight at a time with pixel() (the
 * end of rows whose width is not a multiple of the tile); counts "other"
 * pixels into mid (tile x / T) when mid is not NULL. */
static void scan_tail(const struct mfx_raster *band, const uint8_t *row, uint8_t *out, int x, int w,
                      uint16_t *mid, uint64_t *inked)
{
    if (x < w)
        inked[x / MFX_BILEVEL_TILE / 64] |= 1ull << (x / MFX_BILEVEL_TILE % 64);
    for (; x < w; x += 8) {
        unsigned byte = 0, m = 0;
        for (int k = 0; k < 8 && x + k < w; k++) {
            unsigned l = pixel(band, row, x + k);
            byte |= (unsigned)(l < 128) << (7 - k);
            m += l - MID_LO <= MID_HI - MID_LO;
        }
        out[x / 8] = (uint8_t)byte;
        if (mid)
            mid[x / MFX_BILEVEL_TILE] += (uint16_t)m;
    }
}

/* Thresholds rows [y0, y0 + rows) of the band (in format fmt, a constant
 * in each caller below, so the compiler makes one loop per format) at 50 %
 * into bits; with mid non-NULL, also counts each tile's "other" pixels into
 * mid. White is all bits set in both layouts, so a tile of 32 white pixels
 * is found with a few 64-bit ANDs and skipped. */
static inline void scan_fmt(enum mfx_raster_format fmt, int w, const struct mfx_raster *band, int y0,
                            int rows, uint8_t *bits, size_t stride, uint16_t *mid, uint64_t *inked,
                            int inked_words)
{
    const int T = MFX_BILEVEL_TILE;
    const int wpg = fmt == MFX_RASTER_RGB565 ? 2 : 1;   /* words per 8 pixels */
    const uint64_t ones = ~(uint64_t)0;
    for (int y = y0; y < y0 + rows; y++) {
        const uint8_t *row = band->data + (size_t)y * band->stride;
        uint8_t *out = bits + (size_t)y * stride;
        uint64_t *ink = inked + (size_t)y * inked_words;
        int x = 0;
        for (; x + T <= w; x += T) {
            int wi = x / 8 * wpg;
            uint64_t all = word(row, wi) & word(row, wi + 1) & word(row, wi + 2) & word(row, wi + 3);
            if (wpg == 2)
                all &= word(row, wi + 4) & word(row, wi + 5) & word(row, wi + 6) & word(row, wi + 7);
            if (all == ones) {
                memset(out + x / 8, 0, T / 8);
                continue;
            }
            ink[x / T / 64] |= 1ull << (x / T % 64);
            unsigned m = 0;
            for (int g = 0; g < T; g += 8) {
                int gi = (x + g) / 8 * wpg;
                uint64_t g8 = wpg == 2 ? word(row, gi) & word(row, gi + 1) : word(row, gi);
                unsigned r = g8 == ones ? 0 : pack8(fmt, row, x + g);
                out[(x + g) / 8] = (uint8_t)r;
                m += r >> 8;
            }
            if (mid)
                mid[x / T] += (uint16_t)m;
        }
        scan_tail(band, row, out, x, w, mid, ink);
    }
}

#if defined(__SSE2__)
/* scan_fmt() for RGB565 bands, a tile row at a time through tile565();
 * tile rows of three colours or more (images, gradients) go through
 * pack8() eight pixels at a time. Same bits and counts. */
static void scan_565(int w, const struct mfx_raster *band, int y0, int rows, uint8_t *bits, size_t stride,
                     uint16_t *mid, uint64_t *inked, int inked_words)
{
    const int T = MFX_BILEVEL_TILE;
    const int full = w / T * T;
    for (int y = y0; y < y0 + rows; y++) {
        const uint8_t *row = band->data + (size_t)y * band->stride;
        uint8_t *out = bits + (size_t)y * stride;
        uint64_t *ink = inked + (size_t)y * inked_words;
        for (int x = 0; x < full; x += T) {
            unsigned m = 0;
            int kind = tile565(row + 2 * x, out + x / 8, &m);
            if (kind != 2)
                ink[x / T / 64] |= 1ull << (x / T % 64);
            if (!kind) {
                for (int g = 0; g < T; g += 8) {
                    unsigned r = pack8(MFX_RASTER_RGB565, row, x + g);
                    out[(x + g) / 8] = (uint8_t)r;
                    m += r >> 8;
                }
            }
            if (mid && m)
                mid[x / T] += (uint16_t)m;
        }
        scan_tail(band, row, out, full, w, mid, ink);
    }
}
#endif

static void scan(const struct mfx_bilevel *b, const struct mfx_raster *band, int y0, int rows,
                 uint8_t *bits, size_t stride, uint16_t *mid)
{
#if defined(__SSE2__)
    if (band->format == MFX_RASTER_RGB565) {
        scan_565(b->width, band, y0, rows, bits, stride, mid, b->inked, b->inked_words);
        return;
    }
#endif
    if (band->format == MFX_RASTER_RGB565)
        scan_fmt(MFX_RASTER_RGB565, b->width, band, y0, rows, bits, stride, mid, b->inked, b->inked_words);
    else
        scan_fmt(MFX_RASTER_GREY8, b->width, band, y0, rows, bits, stride, mid, b->inked, b->inked_words);
}

/* Grey values of pixels [x0, x1) of row y, into b->grey[x0..x1). */
static void grey_span(struct mfx_bilevel *b, const struct mfx_raster *band, int y, int x0, int x1)
{
    const uint8_t *row = band->data + (size_t)y * band->stride;
    if (band->format == MFX_RASTER_RGB565) {
        const uint16_t *px = (const uint16_t *)row;
        for (int x = x0; x < x1; x++)
            b->grey[x] = luma565[px[x]];
    } else {
        memcpy(b->grey + x0, row + x0, (size_t)(x1 - x0));
    }
}

/* Floyd-Steinberg over pixels [x0, x1) of one row, serpentine: even page
 * rows run left to right, odd rows right to left. Errors are kept x16 in
 * err_cur/err_next, index x + 1. */
static void diffuse_span(struct mfx_bilevel *b, uint8_t *out, int x0, int x1, int rtl)
{
    int32_t *cur = b->err_cur, *next = b->err_next;
    const uint8_t *g = b->grey;
    if (!rtl) {
        for (int x = x0; x < x1; x++) {
            int v = g[x] + cur[x + 1] / 16;
            int black = v < 128;
            int e = v - (black ? 0 : 255);
            uint8_t m = (uint8_t)(0x80u >> (x & 7));
            out[x >> 3] = black ? (uint8_t)(out[x >> 3] | m) : (uint8_t)(out[x >> 3] & ~m);
            cur[x + 2] += e * 7;
            next[x] += e * 3;
            next[x + 1] += e * 5;
            next[x + 2] += e;
        }
    } else {
        for (int x = x1 - 1; x >= x0; x--) {
            int v = g[x] + cur[x + 1] / 16;
            int black = v < 128;
            int e = v - (black ? 0 : 255);
            uint8_t m = (uint8_t)(0x80u >> (x & 7));
            out[x >> 3] = black ? (uint8_t)(out[x >> 3] | m) : (uint8_t)(out[x >> 3] & ~m);
            cur[x] += e * 7;
            next[x + 2] += e * 3;
            next[x + 1] += e * 5;
            next[x] += e;
        }
    }
}

/* Ends a row that diffused errors: the next row's become current. */
static void next_row(struct mfx_bilevel *b)
{
    int32_t *t = b->err_cur;
    b->err_cur = b->err_next;
    b->err_next = t;
    memset(b->err_next, 0, ((size_t)b->width + 2) * sizeof *b->err_next);
    b->dirty = 1;
}

/* Dithers the image tiles (flags of its tile row) of row y over its
 * thresholded bits. */
static void diffuse_image_tiles(struct mfx_bilevel *b, const uint8_t *image, const struct mfx_raster *band,
                                int y, uint8_t *out)
{
    const int T = MFX_BILEVEL_TILE;
    int rtl = b->row & 1;
    for (int t = 0; t < b->ntiles;) {
        if (!image[t]) {
            t++;
            continue;
        }
        int t1 = t;
        while (t1 < b->ntiles && image[t1])
            t1++;
        int x0 = t * T, x1 = t1 * T < b->width ? t1 * T : b->width;
        grey_span(b, band, y, x0, x1);
        diffuse_span(b, out, x0, x1, rtl);
        t = t1;
    }
    next_row(b);
}

/* Marks the tiles of tile row r that are strong: at least half "other". */
static void strong_row(struct mfx_bilevel *b, int r, int band_rows)
{
    const int T = MFX_BILEVEL_TILE, nt = b->ntiles;
    int h = band_rows - r * T < T ? band_rows - r * T : T;
    for (int t = 0; t < nt; t++) {
        int w = t == nt - 1 ? b->width - t * T : T;
        b->strong[r * nt + t] = 2 * b->other[r * nt + t] >= w * h;
    }
}

/* Classifies the tiles of tile row r of a band of trows tile rows (strong
 * known for rows r - 1 .. r + 1): image if strong, or if at least 1/16
 * "other" with a strong tile among its eight neighbours (the tile row
 * above the band counts through image_prev). Returns how many are image. */
static int classify_row(struct mfx_bilevel *b, int r, int trows, int band_rows)
{
    const int T = MFX_BILEVEL_TILE, nt = b->ntiles;
    int h = band_rows - r * T < T ? band_rows - r * T : T, n = 0;
    for (int t = 0; t < nt; t++) {
        int w = t == nt - 1 ? b->width - t * T : T;
        int img = b->strong[r * nt + t];
        if (!img && 16 * b->other[r * nt + t] >= w * h) {
            for (int dr = -1; dr <= 1 && !img; dr++)
                for (int dt = -1; dt <= 1 && !img; dt++) {
                    int rr = r + dr, tt = t + dt;
                    if (tt < 0 || tt >= nt || rr >= trows)
                        continue;
                    img = rr < 0 ? b->image_prev[tt] : b->strong[rr * nt + tt];
                }
        }
        b->image[r * nt + t] = (uint8_t)img;
        n += img;
    }
    return n;
}

/* Paints the 32-pixel tile row at p (RGB565) white. */
static inline void white64(uint8_t *p)
{
#if defined(__SSE2__)
    const __m128i w = _mm_set1_epi32(-1);
    _mm_storeu_si128((__m128i *)(void *)p, w);
    _mm_storeu_si128((__m128i *)(void *)(p + 16), w);
    _mm_storeu_si128((__m128i *)(void *)(p + 32), w);
    _mm_storeu_si128((__m128i *)(void *)(p + 48), w);
#else
    memset(p, 0xFF, 64);
#endif
}

/* Paints white again the tile rows of band rows [y0, y0 + rows) that the
 * scan marked inked (all of them after error diffusion). Called while
 * those rows are still in the cache. */
static void repaint_rows(const struct mfx_bilevel *b, struct mfx_raster *band, int y0, int rows, int all)
{
    const int T = MFX_BILEVEL_TILE;
    const size_t bpp = band->format == MFX_RASTER_RGB565 ? 2 : 1;
    for (int y = y0; y < y0 + rows; y++) {
        uint8_t *row = band->data + (size_t)y * band->stride;
        if (all) {
            memset(row, 0xFF, (size_t)band->width * bpp);
            continue;
        }
        const uint64_t *ink = b->inked + (size_t)y * b->inked_words;
        for (int i = 0; i < b->inked_words; i++)
            for (uint64_t m = ink[i]; m; m &= m - 1) {
                int x = (i * 64 + __builtin_ctzll(m)) * T;
                if (bpp == 2 && x + T <= band->width)
                    white64(row + 2 * (size_t)x);
                else
                    memset(row + (size_t)x * bpp, 0xFF,
                           (size_t)(x + T <= band->width ? T : band->width - x) * bpp);
            }
    }
}

/* Dithers the image tiles of tile row r (or drops the diffusion errors if
 * it has none), then repaints its rows if asked. */
static void finish_row(struct mfx_bilevel *b, struct mfx_raster *band, int r, uint8_t *bits,
                       size_t bits_stride)
{
    const int T = MFX_BILEVEL_TILE, nt = b->ntiles;
    int rows = band->height - r * T < T ? band->height - r * T : T;
    const uint8_t *image = b->image + (size_t)r * nt;
    if (!memchr(image, 1, (size_t)nt)) {
        /* Nothing to diffuse: drop what the rows above pushed down. */
        if (b->dirty) {
            memset(b->err_cur, 0, ((size_t)b->width + 2) * sizeof *b->err_cur);
            b->dirty = 0;
        }
        b->row += rows;
    } else {
        for (int y = r * T; y < r * T + rows; y++, b->row++)
            diffuse_image_tiles(b, image, band, y, bits + (size_t)y * bits_stride);
    }
    if (b->repaint)
        repaint_rows(b, band, r * T, rows, 0);
}

void mfx_bilevel_band(struct mfx_bilevel *b, struct mfx_raster *band, uint8_t *bits, size_t bits_stride)
{
    const int T = MFX_BILEVEL_TILE, nt = b->ntiles;
    int trows = (band->height + T - 1) / T;
    if (trows > b->max_tile_rows)
        trows = b->max_tile_rows;   /* cannot happen: bands are at most max_rows */
    if (b->mode == MFX_OPTIMIZE_PHOTO) {
        for (int y = 0; y < band->height; y++, b->row++) {
            grey_span(b, band, y, 0, b->width);
            diffuse_span(b, bits + (size_t)y * bits_stride, 0, b->width, b->row & 1);
            next_row(b);
            if (b->repaint)
                repaint_rows(b, band, y, 1, 1);
        }
        b->image_tiles += (long)nt * trows;
        return;
    }
    memset(b->inked, 0, (size_t)band->height * (size_t)b->inked_words * sizeof *b->inked);
    if (b->mode == MFX_OPTIMIZE_TEXT) {
        for (int r = 0; r < trows; r++) {
            int rows = band->height - r * T < T ? band->height - r * T : T;
            scan(b, band, r * T, rows, bits, bits_stride, NULL);
            if (b->repaint)
                repaint_rows(b, band, r * T, rows, 0);
        }
        b->row += band->height;
        return;
    }
    /* Auto, a tile row at a time: one pass thresholds it and counts its
     * "other" pixels; the tile row above it, whose neighbours are all
     * known now, is classified and only its image tiles are read again,
     * to be dithered; then it is repainted, still in the cache. */
    memset(b->other, 0, (size_t)trows * nt * sizeof *b->other);
    for (int r = 0; r < trows; r++) {
        int rows = band->height - r * T < T ? band->height - r * T : T;
        scan(b, band, r * T, rows, bits, bits_stride, b->other + (size_t)r * nt);
        strong_row(b, r, band->height);
        if (r > 0) {
            b->image_tiles += classify_row(b, r - 1, trows, band->height);
            finish_row(b, band, r - 1, bits, bits_stride);
        }
    }
    b->image_tiles += classify_row(b, trows - 1, trows, band->height);
    finish_row(b, band, trows - 1, bits, bits_stride);
    memcpy(b->image_prev, b->image + (size_t)(trows - 1) * nt, (size_t)nt);
}
