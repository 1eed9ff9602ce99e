/* SPDX-License-Identifier: Apache-2.0
 *
 * conv_tiff.c: TIFF documents, one page per directory, any compression
 * libtiff decodes, any resolution (a 204 x 98 dpi fax page keeps its
 * physical size and is re-sampled to the resolution asked for). The chain
 * of directories is walked at open: a broken chain (a next-IFD offset past
 * the end of the file, a loop) fails the document rather than silently
 * dropping pages. Common layouts (1-bit and 8-bit grey, 8-bit RGB, in
 * strips) are read a scanline at a time; the rest go through libtiff's RGBA
 * interface a strip or tile row at a time.
 */
#include "config.h"
#include "converter.h"
#include "image_place.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

/* The RGBA path decodes this many bytes at most at a time. */
#define TIFF_CHUNK_MAX_BYTES (64u << 20)

struct tiff_doc {
    TIFF *t;
    int cur_dir;                    /* the directory libtiff has loaded */
    struct mfx_image_place ip;
    int ip_page;                    /* the page ip holds, or -1 */
    uint8_t *buf, *grey;
    uint32_t *rgba;
};

/* libtiff reports through process-wide handlers: keep the last error. */
static char tiff_last_error[200];

static void on_error(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    vsnprintf(tiff_last_error, sizeof tiff_last_error, fmt, ap);
}

static void on_warning(const char *module, const char *fmt, va_list ap)
{
    (void)module;
    (void)fmt;
    (void)ap;
}

static int tiff_sniff(const unsigned char *h, size_t len)
{
    if (len < 4)
        return 0;
    return (h[0] == 'I' && h[1] == 'I' && (h[2] == 42 || h[2] == 43) && h[3] == 0) ||
           (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && (h[3] == 42 || h[3] == 43));
}

static void tiff_doc_free(struct tiff_doc *p)
{
    if (!p)
        return;
    if (p->t)
        TIFFClose(p->t);
    mfx_image_place_release(&p->ip);
    free(p->buf);
    free(p->grey);
    free(p->rgba);
    free(p);
}

static int tiff_open(struct mfx_doc *doc, const char *path, struct mfx_render_error *err)
{
    TIFFSetErrorHandler(on_error);
    TIFFSetWarningHandler(on_warning);
    tiff_last_error[0] = '\0';
    struct tiff_doc *p = calloc(1, sizeof *p);
    if (!p)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    p->ip_page = -1;
    p->t = TIFFOpen(path, "rm");
    if (!p->t) {
        tiff_doc_free(p);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff", "the TIFF cannot be read: %s",
                               tiff_last_error[0] ? tiff_last_error : "bad header");
    }
    /* Walk the chain: every directory must read, and the last must end it. */
    int n = 1;
    while (!TIFFLastDirectory(p->t)) {
        if (!TIFFReadDirectory(p->t)) {
            mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff_ifd",
                            "the TIFF's page chain is broken after page %d%s%s", n,
                            tiff_last_error[0] ? ": " : "", tiff_last_error);
            tiff_doc_free(p);
            return -1;
        }
        n++;
    }
    p->cur_dir = n - 1;
    doc->priv = p;
    doc->pages = n;
    return 0;
}

/* Loads directory index; returns 0 or -1 with err. */
static int set_dir(struct tiff_doc *p, int index, struct mfx_render_error *err)
{
    if (p->cur_dir == index)
        return 0;
    tiff_last_error[0] = '\0';
    if (!TIFFSetDirectory(p->t, (tdir_t)index)) {
        p->cur_dir = -1;
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff", "page %d of the TIFF cannot be read: %s",
                               index + 1, tiff_last_error);
    }
    p->cur_dir = index;
    return 0;
}

struct tiff_page {
    uint32_t w, h;
    uint16_t bps, spp, photometric, planar, orientation;
    int tiled;
    double xdpi, ydpi;
};

static int page_info(struct mfx_doc *doc, int index, struct tiff_page *pg, struct mfx_render_error *err)
{
    struct tiff_doc *p = doc->priv;
    if (set_dir(p, index, err) < 0)
        return -1;
    TIFF *t = p->t;
    memset(pg, 0, sizeof *pg);
    if (!TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &pg->w) || !TIFFGetField(t, TIFFTAG_IMAGELENGTH, &pg->h) ||
        pg->w == 0 || pg->h == 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff", "page %d of the TIFF has no size",
                               index + 1);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &pg->bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &pg->spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &pg->planar);
    TIFFGetFieldDefaulted(t, TIFFTAG_ORIENTATION, &pg->orientation);
    if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &pg->photometric))
        pg->photometric = PHOTOMETRIC_MINISWHITE;
    pg->tiled = TIFFIsTiled(t);
    double pixels = (double)pg->w * pg->h;
    if (pixels > doc->limits.max_image_pixels)
        return mfx_render_fail(err, MFX_RENDER_PAGE_TOO_LARGE, "image_pixels",
                               "page %d of the TIFF is %u x %u pixels (%.0f megapixels); the limit is "
                               "%.0f megapixels", index + 1, pg->w, pg->h, pixels / 1e6,
                               doc->limits.max_image_pixels / 1e6);
    float xr = 0, yr = 0;
    uint16_t unit = RESUNIT_INCH;
    TIFFGetFieldDefaulted(t, TIFFTAG_RESOLUTIONUNIT, &unit);
    if (TIFFGetField(t, TIFFTAG_XRESOLUTION, &xr) && TIFFGetField(t, TIFFTAG_YRESOLUTION, &yr) &&
        unit != RESUNIT_NONE) {
        double k = unit == RESUNIT_CENTIMETER ? 2.54 : 1.0;
        pg->xdpi = xr * k;
        pg->ydpi = yr * k;
    }
    return 0;
}

static int tiff_page_size(struct mfx_doc *doc, int index, struct mfx_page_size *out,
                          struct mfx_render_error *err)
{
    struct tiff_page pg;
    if (page_info(doc, index, &pg, err) < 0)
        return -1;
    mfx_image_page_size((int)pg.w, (int)pg.h, pg.xdpi, pg.ydpi, pg.orientation, out);
    /* A TIFF with a resolution is a document: its pages keep their size. */
    if (out->fit == MFX_FIT_SHRINK)
        out->fit = MFX_FIT_NONE;
    return 0;
}

/* 1 if the page can be read with TIFFReadScanline and converted here. */
static int simple_layout(const struct tiff_page *pg)
{
    if (pg->tiled || (pg->planar != PLANARCONFIG_CONTIG && pg->spp > 1))
        return 0;
    if (pg->spp == 1 && (pg->bps == 1 || pg->bps == 8) &&
        (pg->photometric == PHOTOMETRIC_MINISWHITE || pg->photometric == PHOTOMETRIC_MINISBLACK))
        return 1;
    return (pg->spp == 3 || pg->spp == 4) && pg->bps == 8 && pg->photometric == PHOTOMETRIC_RGB;
}

/* Converts one scanline of a simple layout to grey (255 white). */
static void scan_to_grey(const struct tiff_page *pg, const uint8_t *in, uint8_t *out)
{
    uint32_t w = pg->w;
    int white_is_zero = pg->photometric == PHOTOMETRIC_MINISWHITE;
    if (pg->bps == 1) {
        for (uint32_t x = 0; x < w; x++) {
            int bit = (in[x >> 3] >> (7 - (x & 7))) & 1;
            out[x] = (bit ^ white_is_zero) ? 255 : 0;
        }
    } else if (pg->spp == 1) {
        for (uint32_t x = 0; x < w; x++)
            out[x] = white_is_zero ? (uint8_t)(255 - in[x]) : in[x];
    } else {
        for (uint32_t x = 0; x < w; x++, in += pg->spp)
            out[x] = (uint8_t)((in[0] * 77u + in[1] * 150u + in[2] * 29u + 128) >> 8);
    }
}

static int decode_scanlines(struct tiff_doc *p, const struct tiff_page *pg, int index,
                            struct mfx_render_error *err)
{
    p->buf = malloc((size_t)TIFFScanlineSize(p->t));
    p->grey = malloc(pg->w);
    if (!p->buf || !p->grey)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
    for (uint32_t y = 0; y < pg->h; y++) {
        if (TIFFReadScanline(p->t, p->buf, y, 0) < 0)
            return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff",
                                   "page %d of the TIFF is damaged at row %u: %s", index + 1, y,
                                   tiff_last_error);
        scan_to_grey(pg, p->buf, p->grey);
        mfx_image_place_row(&p->ip, p->grey);
    }
    return 0;
}

static int decode_rgba(struct tiff_doc *p, const struct tiff_page *pg, int index,
                       struct mfx_render_error *err)
{
    char emsg[1024];
    if (!TIFFRGBAImageOK(p->t, emsg))
        return mfx_render_fail(err, MFX_RENDER_UNSUPPORTED, "tiff_layout",
                               "page %d of the TIFF uses a layout that cannot be read: %s", index + 1, emsg);
    uint32_t chunk = 0;
    if (pg->tiled)
        TIFFGetField(p->t, TIFFTAG_TILELENGTH, &chunk);
    else
        TIFFGetFieldDefaulted(p->t, TIFFTAG_ROWSPERSTRIP, &chunk);
    if (chunk == 0 || chunk > pg->h)
        chunk = pg->h;
    if ((double)chunk * pg->w * 4 > TIFF_CHUNK_MAX_BYTES)
        return mfx_render_fail(err, MFX_RENDER_PAGE_TOO_LARGE, "image_pixels",
                               "page %d of the TIFF is stored in blocks too large to decode", index + 1);
    TIFFRGBAImage img;
    if (!TIFFRGBAImageBegin(&img, p->t, 0, emsg))
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff", "page %d of the TIFF cannot be read: %s",
                               index + 1, emsg);
    img.req_orientation = ORIENTATION_TOPLEFT;
    p->rgba = malloc((size_t)chunk * pg->w * 4);
    p->grey = malloc(pg->w);
    int rc = 0;
    if (!p->rgba || !p->grey)
        rc = mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
    for (uint32_t y = 0; rc == 0 && y < pg->h; y += chunk) {
        uint32_t rows = pg->h - y < chunk ? pg->h - y : chunk;
        img.row_offset = (int)y;
        img.col_offset = 0;
        if (!TIFFRGBAImageGet(&img, p->rgba, pg->w, rows)) {
            rc = mfx_render_fail(err, MFX_RENDER_UNREADABLE, "tiff",
                                 "page %d of the TIFF is damaged near row %u: %s", index + 1, y,
                                 tiff_last_error);
            break;
        }
        for (uint32_t r = 0; r < rows; r++) {
            const uint32_t *px = p->rgba + (size_t)r * pg->w;
            for (uint32_t x = 0; x < pg->w; x++) {
                uint32_t v = px[x];
                unsigned a = TIFFGetA(v);
                unsigned g = (TIFFGetR(v) * 77u + TIFFGetG(v) * 150u + TIFFGetB(v) * 29u + 128) >> 8;
                p->grey[x] = (uint8_t)((g * a + 255u * (255u - a) + 127) / 255u);
            }
            mfx_image_place_row(&p->ip, p->grey);
        }
    }
    TIFFRGBAImageEnd(&img);
    return rc;
}

static int tiff_render(struct mfx_doc *doc, int index, const struct mfx_placement *pl,
                       struct mfx_raster *band, int band_y, struct mfx_render_error *err)
{
    struct tiff_doc *p = doc->priv;
    if (p->ip_page != index) {
        mfx_image_place_release(&p->ip);
        free(p->buf);
        free(p->grey);
        free(p->rgba);
        p->buf = p->grey = NULL;
        p->rgba = NULL;
        p->ip_page = -1;
        struct tiff_page pg;
        if (page_info(doc, index, &pg, err) < 0)
            return -1;
        int simple = simple_layout(&pg);
        /* libtiff's RGBA reader already applies orientations 1-4 itself. */
        int orient = simple || pg.orientation > 4 ? pg.orientation : MFX_ORIENT_NORMAL;
        if (mfx_image_place_begin(&p->ip, (int)pg.w, (int)pg.h, orient, pl) < 0)
            return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
        tiff_last_error[0] = '\0';
        if ((simple ? decode_scanlines(p, &pg, index, err) : decode_rgba(p, &pg, index, err)) < 0)
            return -1;
        mfx_image_place_finish(&p->ip);
        p->ip_page = index;
    }
    mfx_image_place_band(&p->ip, band, band_y);
    return 0;
}

static void tiff_close(struct mfx_doc *doc)
{
    tiff_doc_free(doc->priv);
    doc->priv = NULL;
}

const struct mfx_converter mfx_conv_tiff = {
    .name = "tiff",
    .format = MFX_RASTER_GREY8,
    .sniff = tiff_sniff,
    .open = tiff_open,
    .page_size = tiff_page_size,
    .render = tiff_render,
    .close = tiff_close,
};
