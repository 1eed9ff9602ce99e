/* SPDX-License-Identifier: Apache-2.0
 *
 * preview.c: page previews as 8-bit grey PNG (see preview.h), written with
 * libpng. Each preview pixel is the ink coverage of the 2 x f fax pixels it
 * stands for (f = 2 * ydpi / 204 rows, fractional), so nothing is dropped.
 */
#include "config.h"
#include "preview.h"
#include "guard.h"

#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mfx_preview_height(int rows, const struct mfx_fax_format *fmt)
{
    int h = (int)lround(rows * (fmt->xdpi / fmt->ydpi) / 2.0);
    return h < 1 ? 1 : h;
}

int mfx_previews_begin(struct mfx_previews *pv, const char *dir)
{
    memset(pv, 0, sizeof *pv);
    size_t n = strlen(dir) + 32;
    pv->dir = strdup(dir);
    pv->tmpdir = malloc(n);
    pv->acc = malloc(MFX_PREVIEW_WIDTH * sizeof *pv->acc);
    pv->row = malloc(MFX_PREVIEW_WIDTH);
    if (!pv->dir || !pv->tmpdir || !pv->acc || !pv->row) {
        mfx_previews_discard(pv);
        errno = ENOMEM;
        return -1;
    }
    snprintf(pv->tmpdir, n, "%s/.mintfax-render-XXXXXX", dir);
    if (!mkdtemp(pv->tmpdir)) {
        int e = errno;
        free(pv->tmpdir);
        pv->tmpdir = NULL;
        mfx_previews_discard(pv);
        errno = e;
        return -1;
    }
    mfx_guard_track_dir(pv->tmpdir, 0);
    return 0;
}

static char *page_path(const char *dir, int page)
{
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/page-%d.png", dir, page);
    return p;
}

/* Black pixels in each pair of bits of a byte, 4 pairs packed 2 bits each. */
static uint8_t pair_ink[256];

static void pair_ink_init(void)
{
    if (pair_ink[255])
        return;
    for (int v = 0; v < 256; v++) {
        int packed = 0;
        for (int p = 0; p < 4; p++) {
            int bits = (v >> (6 - 2 * p)) & 3;
            packed |= ((bits & 1) + (bits >> 1)) << (2 * p);
        }
        pair_ink[v] = (uint8_t)packed;
    }
}

/* Adds weight x the ink of one fax row to the preview row accumulator. */
static void add_row(float *acc, const uint8_t *src, float weight)
{
    for (int i = 0; i < MFX_FAX_WIDTH / 8; i++) {
        uint8_t v = src[i];
        if (!v)
            continue;
        uint8_t p = pair_ink[v];
        for (int k = 0; k < 4; k++)
            acc[i * 4 + k] += weight * (float)((p >> (2 * k)) & 3);
    }
}

static void png_err(png_structp png, png_const_charp msg)
{
    (void)msg;
    longjmp(png_jmpbuf(png), 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

int mfx_previews_add(struct mfx_previews *pv, int page, const uint8_t *bits, size_t stride, int rows,
                     const struct mfx_fax_format *fmt)
{
    pair_ink_init();
    char *path = page_path(pv->tmpdir, page);
    if (!path)
        return -1;
    FILE *f = fopen(path, "wb");
    free(path);
    if (!f)
        return -1;
    mfx_guard_track_dir(pv->tmpdir, page);
    pv->count = page;

    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_err, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    int out_h = mfx_preview_height(rows, fmt);
    double f_rows = (double)rows / out_h;     /* fax rows per preview row */
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_compression_level(png, 6);
    png_set_IHDR(png, info, MFX_PREVIEW_WIDTH, (png_uint_32)out_h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    /* Square pixels at 102 dpi: say so, in pixels per metre. */
    png_uint_32 ppm = (png_uint_32)lround(fmt->xdpi / 2 / 0.0254);
    png_set_pHYs(png, info, ppm, ppm, PNG_RESOLUTION_METER);
    png_write_info(png, info);

    for (int oy = 0; oy < out_h; oy++) {
        double y0 = oy * f_rows, y1 = y0 + f_rows;
        memset(pv->acc, 0, MFX_PREVIEW_WIDTH * sizeof *pv->acc);
        for (int sy = (int)y0; sy < rows && sy < y1; sy++) {
            double w = fmin(y1, sy + 1.0) - fmax(y0, (double)sy);
            if (w > 0)
                add_row(pv->acc, bits + (size_t)sy * stride, (float)w);
        }
        float norm = (float)(255.0 / (2.0 * f_rows));
        for (int x = 0; x < MFX_PREVIEW_WIDTH; x++) {
            float v = 255.0f - pv->acc[x] * norm;
            pv->row[x] = (uint8_t)(v < 0 ? 0 : v + 0.5f);
        }
        png_write_row(png, pv->row);
    }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    if (fflush(f) != 0 || ferror(f)) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

int mfx_previews_commit(struct mfx_previews *pv)
{
    int moved = 0;
    for (int i = 1; i <= pv->count; i++, moved++) {
        char *from = page_path(pv->tmpdir, i), *to = page_path(pv->dir, i);
        int ok = from && to && rename(from, to) == 0;
        free(from);
        free(to);
        if (!ok)
            break;
    }
    if (moved < pv->count) {
        /* All or nothing: take back the ones already moved. */
        for (int i = 1; i <= moved; i++) {
            char *to = page_path(pv->dir, i);
            if (to)
                unlink(to);
            free(to);
        }
        mfx_previews_discard(pv);
        return -1;
    }
    rmdir(pv->tmpdir);
    mfx_guard_track_dir(NULL, 0);
    free(pv->dir);
    free(pv->tmpdir);
    free(pv->acc);
    free(pv->row);
    memset(pv, 0, sizeof *pv);
    return 0;
}

void mfx_previews_discard(struct mfx_previews *pv)
{
    if (pv->tmpdir) {
        for (int i = 1; i <= pv->count; i++) {
            char *p = page_path(pv->tmpdir, i);
            if (p)
                unlink(p);
            free(p);
        }
        rmdir(pv->tmpdir);
        mfx_guard_track_dir(NULL, 0);
    }
    free(pv->dir);
    free(pv->tmpdir);
    free(pv->acc);
    free(pv->row);
    memset(pv, 0, sizeof *pv);
}
