/* SPDX-License-Identifier: Apache-2.0
 *
 * conv_png.c: PNG images (one page each) through libpng. The header is read
 * at open, so an image that declares more pixels than allowed (a "zip
 * bomb": a few kilobytes inflating to gigabytes) is refused before any
 * pixel data is inflated. Rows are decoded one at a time into
 * image_place.c; only interlaced images need the whole image in memory,
 * which is bounded separately. Transparency is composited over white.
 */
#include "config.h"
#include "converter.h"
#include "image_place.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An interlaced image is decoded whole: at most this many bytes. */
#define PNG_INTERLACED_MAX_BYTES (48u << 20)

struct png_doc {
    FILE *f;
    png_structp png;
    png_infop info;
    int w, h, interlaced;
    double xdpi, ydpi;
    struct mfx_image_place ip;
    int decoded;                    /* ip holds the page */
    png_bytep rows;                 /* one decoded row, or all (interlaced) */
    uint8_t *grey;                  /* one grey row */
    char msg[160];                  /* libpng's error message */
};

static int png_sniff(const unsigned char *head, size_t len)
{
    return len >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8);
}

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_doc *p = png_get_error_ptr(png);
    snprintf(p->msg, sizeof p->msg, "%s", msg);
    longjmp(png_jmpbuf(png), 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static void png_doc_free(struct png_doc *p)
{
    if (!p)
        return;
    png_destroy_read_struct(&p->png, &p->info, NULL);
    if (p->f)
        fclose(p->f);
    mfx_image_place_release(&p->ip);
    free(p->rows);
    free(p->grey);
    free(p);
}

static int png_open(struct mfx_doc *doc, const char *path, struct mfx_render_error *err)
{
    struct png_doc *p = calloc(1, sizeof *p);
    if (!p)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    p->f = fopen(path, "rbe");
    if (!p->f) {
        png_doc_free(p);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "io", "cannot open the PNG");
    }
    p->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, p, on_error, on_warning);
    p->info = p->png ? png_create_info_struct(p->png) : NULL;
    if (!p->png || !p->info) {
        png_doc_free(p);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    }
    if (setjmp(png_jmpbuf(p->png))) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "png", "the PNG cannot be read: %s", p->msg);
        png_doc_free(p);
        return -1;
    }
    png_set_chunk_malloc_max(p->png, 8u << 20);
    png_init_io(p->png, p->f);
    png_read_info(p->png, p->info);
    p->w = (int)png_get_image_width(p->png, p->info);
    p->h = (int)png_get_image_height(p->png, p->info);
    p->interlaced = png_get_interlace_type(p->png, p->info) != PNG_INTERLACE_NONE;
    double pixels = (double)p->w * p->h;
    if (pixels > doc->limits.max_image_pixels) {
        mfx_render_fail(err, MFX_RENDER_PAGE_TOO_LARGE, "image_pixels",
                        "the PNG is %d x %d pixels (%.0f megapixels); the limit is %.0f megapixels",
                        p->w, p->h, pixels / 1e6, doc->limits.max_image_pixels / 1e6);
        png_doc_free(p);
        return -1;
    }
    if (p->interlaced && pixels * 4 > PNG_INTERLACED_MAX_BYTES) {
        mfx_render_fail(err, MFX_RENDER_PAGE_TOO_LARGE, "image_pixels",
                        "the PNG is interlaced and too large to decode (%d x %d pixels)", p->w, p->h);
        png_doc_free(p);
        return -1;
    }
    png_uint_32 rx, ry;
    int unit;
    if (png_get_pHYs(p->png, p->info, &rx, &ry, &unit) && unit == PNG_RESOLUTION_METER) {
        p->xdpi = rx * 0.0254;
        p->ydpi = ry * 0.0254;
    }
    doc->priv = p;
    doc->pages = 1;
    return 0;
}

static int png_page_size(struct mfx_doc *doc, int index, struct mfx_page_size *out,
                         struct mfx_render_error *err)
{
    (void)index;
    (void)err;
    struct png_doc *p = doc->priv;
    mfx_image_page_size(p->w, p->h, p->xdpi, p->ydpi, MFX_ORIENT_NORMAL, out);
    return 0;
}

/* Converts one decoded row of n channels (1 G, 2 GA, 3 RGB, 4 RGBA) to grey
 * over white. */
static void to_grey(const png_byte *in, int channels, int w, uint8_t *out)
{
    for (int x = 0; x < w; x++, in += channels) {
        unsigned g, a = 255;
        if (channels <= 2) {
            g = in[0];
            if (channels == 2)
                a = in[1];
        } else {
            g = (in[0] * 77u + in[1] * 150u + in[2] * 29u + 128) >> 8;
            if (channels == 4)
                a = in[3];
        }
        out[x] = (uint8_t)((g * a + 255u * (255u - a) + 127) / 255u);
    }
}

/* Decodes the image into p->ip. Buffers hang off p (freed with it), so
 * nothing local is live across libpng's longjmp. */
static int decode(struct png_doc *p, const struct mfx_placement *pl, struct mfx_render_error *err)
{
    if (setjmp(png_jmpbuf(p->png)))
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "png", "the PNG cannot be read: %s", p->msg);
    png_set_expand(p->png);
    png_set_strip_16(p->png);
    int passes = png_set_interlace_handling(p->png);
    png_read_update_info(p->png, p->info);
    int channels = png_get_channels(p->png, p->info);
    size_t rowbytes = png_get_rowbytes(p->png, p->info);
    if (mfx_image_place_begin(&p->ip, p->w, p->h, MFX_ORIENT_NORMAL, pl) < 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
    p->grey = malloc((size_t)p->w);
    p->rows = passes > 1 ? calloc((size_t)p->h, rowbytes) : malloc(rowbytes);
    if (!p->grey || !p->rows)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
    if (passes > 1) {
        for (int pass = 0; pass < passes; pass++)
            for (int y = 0; y < p->h; y++)
                png_read_row(p->png, p->rows + (size_t)y * rowbytes, NULL);
        for (int y = 0; y < p->h; y++) {
            to_grey(p->rows + (size_t)y * rowbytes, channels, p->w, p->grey);
            mfx_image_place_row(&p->ip, p->grey);
        }
    } else {
        for (int y = 0; y < p->h; y++) {
            png_read_row(p->png, p->rows, NULL);
            to_grey(p->rows, channels, p->w, p->grey);
            mfx_image_place_row(&p->ip, p->grey);
        }
    }
    mfx_image_place_finish(&p->ip);
    p->decoded = 1;
    return 0;
}

static int png_render(struct mfx_doc *doc, int index, const struct mfx_placement *pl,
                      struct mfx_raster *band, int band_y, struct mfx_render_error *err)
{
    (void)index;
    struct png_doc *p = doc->priv;
    if (!p->decoded && decode(p, pl, err) < 0)
        return -1;
    mfx_image_place_band(&p->ip, band, band_y);
    return 0;
}

static void png_close(struct mfx_doc *doc)
{
    png_doc_free(doc->priv);
    doc->priv = NULL;
}

const struct mfx_converter mfx_conv_png = {
    .name = "png",
    .format = MFX_RASTER_GREY8,
    .sniff = png_sniff,
    .open = png_open,
    .page_size = png_page_size,
    .render = png_render,
    .close = png_close,
};
