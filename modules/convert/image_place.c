/* SPDX-License-Identifier: Apache-2.0
 *
 * image_place.c: streaming area-average resampling and orientation of
 * raster pages (see image_place.h). Across a row, each result pixel is the
 * integral of the (piecewise constant) source row over its interval, read
 * from prefix sums; down the page, source rows are weighted by how much of
 * each result row they cover. Shrinking and enlarging are the same code.
 */
#include "config.h"
#include "image_place.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mfx_image_page_size(int w, int h, double xdpi, double ydpi, int orient, struct mfx_page_size *ps)
{
    if (orient >= 5 && orient <= 8) {
        int t = w;
        w = h;
        h = t;
        double d = xdpi;
        xdpi = ydpi;
        ydpi = d;
    }
    /* Resolutions outside 20..10000 dpi are taken as unknown. */
    if (xdpi >= 20 && xdpi <= 10000 && ydpi >= 20 && ydpi <= 10000) {
        ps->width_pt = w / xdpi * 72.0;
        ps->height_pt = h / ydpi * 72.0;
        ps->fit = MFX_FIT_SHRINK;
    } else {
        ps->width_pt = w;
        ps->height_pt = h;
        ps->fit = MFX_FIT_PAPER;
    }
}

/* i = p*x + q*y + r, j = s*x + t*y + u: display pixel -> stored pixel for
 * an orientation, on a stored grid of tw x th. */
static void orient_map(int orient, int tw, int th, int m[6])
{
    static const int tab[9][4] = {
        /* p, q, s, t */
        { 1, 0, 0, 1 },     /* 0: unused, as 1 */
        { 1, 0, 0, 1 },     /* 1: as stored */
        { -1, 0, 0, 1 },    /* 2: mirrored across */
        { -1, 0, 0, -1 },   /* 3: upside down */
        { 1, 0, 0, -1 },    /* 4: mirrored down */
        { 0, 1, 1, 0 },     /* 5: transposed */
        { 0, 1, -1, 0 },    /* 6: turn 90° clockwise to view */
        { 0, -1, -1, 0 },   /* 7: transverse */
        { 0, -1, 1, 0 },    /* 8: turn 90° counter-clockwise to view */
    };
    if (orient < 1 || orient > 8)
        orient = 1;
    m[0] = tab[orient][0];
    m[1] = tab[orient][1];
    m[3] = tab[orient][2];
    m[4] = tab[orient][3];
    /* Offsets: a coefficient of -1 on i needs tw - 1, on j needs th - 1. */
    m[2] = (m[0] < 0 || m[1] < 0) ? tw - 1 : 0;
    m[5] = (m[3] < 0 || m[4] < 0) ? th - 1 : 0;
}

void mfx_image_place_dst_size(int orient, const struct mfx_placement *pl, int *w, int *h)
{
    int dw = pl->rotated ? pl->content_h : pl->content_w;
    int dh = pl->rotated ? pl->content_w : pl->content_h;
    int transposed = orient >= 5 && orient <= 8;
    *w = transposed ? dh : dw;
    *h = transposed ? dw : dh;
}

int mfx_image_place_begin(struct mfx_image_place *ip, int src_w, int src_h, int orient,
                          const struct mfx_placement *pl)
{
    memset(ip, 0, sizeof *ip);
    ip->pl = pl;
    ip->src_w = src_w;
    ip->src_h = src_h;
    int cw = pl->content_w, ch = pl->content_h;
    /* Content -> display: as is, or undoing the placement's quarter turn
     * (x = DW - 1 - Y, y = X). */
    int dw = pl->rotated ? ch : cw, dh = pl->rotated ? cw : ch;
    int c2d[6] = { 1, 0, 0, 0, 1, 0 };  /* x = c2d[0]X + c2d[1]Y + c2d[2]; y = ... */
    if (pl->rotated) {
        int r[6] = { 0, -1, dw - 1, 1, 0, 0 };
        memcpy(c2d, r, sizeof r);
    }
    int transposed = orient >= 5 && orient <= 8;
    ip->dst_w = transposed ? dh : dw;
    ip->dst_h = transposed ? dw : dh;
    int d2s[6];
    orient_map(orient, ip->dst_w, ip->dst_h, d2s);
    /* Compose: stored = d2s(c2d(X, Y)). */
    ip->ax = d2s[0] * c2d[0] + d2s[1] * c2d[3];
    ip->bx = d2s[0] * c2d[1] + d2s[1] * c2d[4];
    ip->cx = d2s[0] * c2d[2] + d2s[1] * c2d[5] + d2s[2];
    ip->ay = d2s[3] * c2d[0] + d2s[4] * c2d[3];
    ip->by = d2s[3] * c2d[1] + d2s[4] * c2d[4];
    ip->cy = d2s[3] * c2d[2] + d2s[4] * c2d[5] + d2s[5];

    int tw = ip->dst_w, th = ip->dst_h;
    ip->dst = malloc((size_t)tw * (size_t)th);
    ip->prefix = malloc(((size_t)src_w + 1) * sizeof *ip->prefix);
    ip->hrow = malloc((size_t)tw * sizeof *ip->hrow);
    ip->acc = calloc((size_t)tw, sizeof *ip->acc);
    ip->x0 = malloc((size_t)tw * sizeof *ip->x0);
    ip->x1 = malloc((size_t)tw * sizeof *ip->x1);
    ip->fx0 = malloc((size_t)tw * sizeof *ip->fx0);
    ip->fx1 = malloc((size_t)tw * sizeof *ip->fx1);
    if (!ip->dst || !ip->prefix || !ip->hrow || !ip->acc || !ip->x0 || !ip->x1 || !ip->fx0 || !ip->fx1) {
        mfx_image_place_release(ip);
        return -1;
    }
    /* Result column x covers source columns [x*sw/tw, (x+1)*sw/tw). */
    double step = (double)src_w / tw;
    for (int x = 0; x < tw; x++) {
        double a = x * step, b = (x + 1) * step;
        if (b > src_w)
            b = src_w;
        ip->x0[x] = (int)a;
        ip->fx0[x] = (float)(a - (int)a);
        ip->x1[x] = (int)b;
        ip->fx1[x] = (float)(b - (int)b);
    }
    return 0;
}

/* The part f of source pixel x (0 past the row's end). */
static inline float part(const uint8_t *row, int src_w, int x, float f)
{
    return x < src_w && f > 0 ? f * row[x] : 0.0f;
}

/* Writes the finished result row r from acc. */
static void emit_row(struct mfx_image_place *ip)
{
    uint8_t *out = ip->dst + (size_t)ip->rows_out * (size_t)ip->dst_w;
    float norm = ip->acc_w > 0 ? (float)(1.0 / ip->acc_w) : 0.0f;
    for (int x = 0; x < ip->dst_w; x++) {
        float v = ip->acc_w > 0 ? ip->acc[x] * norm : 255.0f;
        out[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
    }
    memset(ip->acc, 0, (size_t)ip->dst_w * sizeof *ip->acc);
    ip->acc_w = 0;
    ip->rows_out++;
}

void mfx_image_place_row(struct mfx_image_place *ip, const uint8_t *row)
{
    if (ip->rows_in >= ip->src_h || ip->rows_out >= ip->dst_h)
        return;
    /* Across: prefix sums, then one interval per result column. */
    uint32_t s = 0;
    ip->prefix[0] = 0;
    for (int x = 0; x < ip->src_w; x++) {
        s += row[x];
        ip->prefix[x + 1] = s;
    }
    double step = (double)ip->src_w / ip->dst_w;
    float inv = (float)(1.0 / step);
    for (int x = 0; x < ip->dst_w; x++) {
        /* Integral over [a, b): whole pixels from the prefix sums (exact,
         * in integers), plus the partial pixels at both ends. */
        int x0 = ip->x0[x], x1 = ip->x1[x];
        float v = (float)(ip->prefix[x1] - ip->prefix[x0]) + part(row, ip->src_w, x1, ip->fx1[x]) -
                  part(row, ip->src_w, x0, ip->fx0[x]);
        ip->hrow[x] = v * inv;
    }
    /* Down: this source row covers result rows [y0, y1). */
    double scale = (double)ip->dst_h / ip->src_h;
    double y0 = ip->rows_in * scale, y1 = (ip->rows_in + 1) * scale;
    ip->rows_in++;
    while (ip->rows_out < ip->dst_h && ip->rows_out < y1) {
        int r = ip->rows_out;
        double w = fmin(y1, r + 1.0) - fmax(y0, (double)r);
        if (w > 0) {
            for (int x = 0; x < ip->dst_w; x++)
                ip->acc[x] += (float)w * ip->hrow[x];
            ip->acc_w += w;
        }
        if (r + 1.0 <= y1 + 1e-9)
            emit_row(ip);
        else
            break;
    }
}

void mfx_image_place_finish(struct mfx_image_place *ip)
{
    while (ip->rows_out < ip->dst_h)
        emit_row(ip);
}

void mfx_image_place_band(const struct mfx_image_place *ip, struct mfx_raster *band, int band_y)
{
    const struct mfx_placement *pl = ip->pl;
    int cw = pl->content_w, ch = pl->content_h;
    int step = ip->ax + ip->ay * ip->dst_w;
    for (int y = 0; y < band->height; y++) {
        uint8_t *out = band->data + (size_t)y * band->stride;
        int Y = band_y + y - pl->off_y;
        memset(out, 0xFF, (size_t)band->width);
        if (Y < 0 || Y >= ch)
            continue;
        long idx = (long)(ip->by * Y + ip->cy) * ip->dst_w + (ip->bx * Y + ip->cx);
        uint8_t *o = out + pl->off_x;
        for (int X = 0; X < cw; X++, idx += step)
            o[X] = ip->dst[idx];
    }
}

void mfx_image_place_release(struct mfx_image_place *ip)
{
    free(ip->dst);
    free(ip->prefix);
    free(ip->hrow);
    free(ip->acc);
    free(ip->x0);
    free(ip->x1);
    free(ip->fx0);
    free(ip->fx1);
    memset(ip, 0, sizeof *ip);
}
