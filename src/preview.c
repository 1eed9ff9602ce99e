/* SPDX-License-Identifier: Apache-2.0
 *
 * preview.c: libtiff reads the page from memory (client procs), rows are
 * repeated or dropped to reach 196 lines per inch (standard 98 doubles,
 * fine 196 stays, superfine 391 halves), and libpng writes a 1-bit PNG into
 * a growing buffer.
 */
#include "config.h"
#include "mfx.h"
#include "preview.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

struct mem {
    const unsigned char *data;
    size_t len, pos;
};

static tsize_t m_read(thandle_t h, tdata_t buf, tsize_t n)
{
    struct mem *m = (struct mem *)h;
    size_t k = m->len - m->pos < (size_t)n ? m->len - m->pos : (size_t)n;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return (tsize_t)k;
}
static tsize_t m_write(thandle_t h, tdata_t b, tsize_t n) { (void)h; (void)b; (void)n; return -1; }
static toff_t m_seek(thandle_t h, toff_t off, int whence)
{
    struct mem *m = (struct mem *)h;
    uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
    m->pos = base + off > m->len ? m->len : (size_t)(base + off);
    return m->pos;
}
static int m_close(thandle_t h) { (void)h; return 0; }
static toff_t m_size(thandle_t h) { return ((struct mem *)h)->len; }
static int m_map(thandle_t h, tdata_t *b, toff_t *s) { (void)h; (void)b; (void)s; return 0; }
static void m_unmap(thandle_t h, tdata_t b, toff_t s) { (void)h; (void)b; (void)s; }

struct out {
    unsigned char *buf;
    size_t len, cap;
};

static void png_out(png_structp p, png_bytep data, png_size_t n)
{
    struct out *o = png_get_io_ptr(p);
    if (o->len + n > o->cap) {
        while (o->len + n > o->cap) o->cap = o->cap ? o->cap * 2 : 65536;
        o->buf = mfx_realloc(o->buf, o->cap);
    }
    memcpy(o->buf + o->len, data, n);
    o->len += n;
}

static void png_flush(png_structp p) { (void)p; }

int mfx_preview_png(const unsigned char *tiff, size_t len, int page, unsigned char **png, size_t *png_len)
{
    *png = NULL;
    struct mem m = { tiff, len, 0 };
    TIFFSetErrorHandler(NULL);
    TIFFSetWarningHandler(NULL);
    TIFF *t = TIFFClientOpen("pages", "rm", (thandle_t)&m, m_read, m_write, m_seek, m_close, m_size, m_map, m_unmap);
    if (!t) return -1;
    if (page < 1 || page > 10000 || !TIFFSetDirectory(t, (tdir_t)(page - 1))) {
        TIFFClose(t);
        return 1;
    }
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, photometric = PHOTOMETRIC_MINISWHITE;
    float yres = 196;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_PHOTOMETRIC, &photometric);
    TIFFGetField(t, TIFFTAG_YRESOLUTION, &yres);
    if (bps != 1 || w == 0 || w > 4096 || h == 0 || h > 40000) {
        TIFFClose(t);
        return -1;
    }
    /* Rows out per row in, as a ratio num/den: 98 dpi -> 2/1, 391 -> 1/2. */
    int num = yres < 120 ? 2 : 1, den = yres > 300 ? 2 : 1;
    tsize_t rowbytes = TIFFScanlineSize(t);
    unsigned char *row = mfx_malloc((size_t)rowbytes);
    struct out o = { 0 };
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    int rc = -1;
    if (!info || setjmp(png_jmpbuf(p))) goto out;
    png_set_write_fn(p, &o, png_out, png_flush);
    uint32_t out_h = h * (uint32_t)num / (uint32_t)den;
    png_set_IHDR(p, info, w, out_h, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (uint32_t y = 0; y < h; y++) {
        if (TIFFReadScanline(t, row, y, 0) < 0) goto out;
        if (photometric == PHOTOMETRIC_MINISWHITE)
            for (tsize_t i = 0; i < rowbytes; i++) row[i] = (unsigned char)~row[i];   /* PNG grey: 0 is black */
        if (den == 2 && (y & 1)) continue;
        for (int k = 0; k < num; k++) png_write_row(p, row);
    }
    png_write_end(p, NULL);
    rc = 0;
out:
    png_destroy_write_struct(&p, info ? &info : NULL);
    free(row);
    TIFFClose(t);
    if (rc == 0) {
        *png = o.buf;
        *png_len = o.len;
    } else {
        free(o.buf);
    }
    return rc;
}
