/* SPDX-License-Identifier: Apache-2.0
 *
 * test_render_pdf.c: golden tests of mintfax-render on PDFs written by the
 * test itself (testutil.c): Letter, Legal, A4 (centred), Tabloid (shrunk),
 * A4 and Letter landscape, /Rotate 90 and 270, a CropBox, the three
 * resolutions, G3 against G4, a grey ramp and a photo. Each output TIFF is
 * decoded with libtiff and checked for its Class F tags, its size, and its
 * pixels against a reference raster from Ghostscript (another
 * interpreter and rasteriser than our poppler + cairo) placed by geometry computed here
 * independently: >= 99 % of pixels agree and >= 95 % of the ink matches
 * within a pixel. Each page carries black squares in its four corners (one
 * bigger, at the displayed top-left): all four must be there, so nothing
 * was cut off, and the big one where the turn puts it. Dithered areas are
 * compared by ink density in 16x16 blocks, since two dithers never agree
 * pixel for pixel.
 */
#include "config.h"
#include "tap.h"
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FAXW 1728

struct expect {
    double ydpi;
    int landscape;
    double s;               /* shrink factor */
    int cw, ch, off_x;      /* content footprint on the fax page */
    double pxx, pxy;        /* fax pixels per point */
};

/* The geometry rules of geometry.h, computed again here from the page box
 * as displayed (dw x dh points). */
static struct expect expect_for(double dw, double dh, double ydpi)
{
    struct expect e;
    e.ydpi = ydpi;
    e.landscape = dw > dh;
    double across = e.landscape ? dh : dw, down = e.landscape ? dw : dh;
    e.s = fmin(1.0, FAXW / (across * 204.0 / 72.0));
    e.pxx = 204.0 / 72.0 * e.s;
    e.pxy = ydpi / 72.0 * e.s;
    e.cw = (int)lround(across * e.pxx);
    e.ch = (int)lround(down * e.pxy);
    e.off_x = (FAXW - e.cw) / 2;
    return e;
}

/* Fraction of black pixels in [x0, x1) x [y0, y1) of a page. */
static double ink(const struct tu_page *pg, int x0, int y0, int x1, int y1)
{
    long n = 0, b = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < pg->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < pg->width; x++, n++)
            b += pg->px[(size_t)y * pg->width + x];
    return n ? (double)b / n : 0;
}

/* Checks the four corner marks (18 pt, the big one 36 pt). big is the fax
 * corner expected to hold the big mark: 0 top-left, 1 top-right,
 * 2 bottom-left, 3 bottom-right. */
static int check_marks(const struct tu_page *pg, const struct expect *e, int big)
{
    double mx = 18 * e->pxx, my = 18 * e->pxy;
    int left = e->off_x, right = e->off_x + e->cw, top = 0, bottom = e->ch;
    int cx[4] = { left, right, left, right }, cy[4] = { top, top, bottom, bottom };
    int sx[4] = { 1, -1, 1, -1 }, sy[4] = { 1, 1, -1, -1 };
    for (int c = 0; c < 4; c++) {
        /* the middle half of the 18 pt square at this corner */
        int x0 = cx[c] + (int)(sx[c] * mx * 0.25), x1 = cx[c] + (int)(sx[c] * mx * 0.75);
        int y0 = cy[c] + (int)(sy[c] * my * 0.25), y1 = cy[c] + (int)(sy[c] * my * 0.75);
        double k = ink(pg, x0 < x1 ? x0 : x1, y0 < y1 ? y0 : y1, x0 < x1 ? x1 : x0, y0 < y1 ? y1 : y0);
        if (k < 0.95) {
            printf("# corner mark %d missing (ink %.2f)\n", c, k);
            return 1;
        }
        /* between 18 and 36 pt from the corner along the diagonal */
        int bx0 = cx[c] + (int)(sx[c] * mx * 1.3), bx1 = cx[c] + (int)(sx[c] * mx * 1.7);
        int by0 = cy[c] + (int)(sy[c] * my * 1.3), by1 = cy[c] + (int)(sy[c] * my * 1.7);
        double kb = ink(pg, bx0 < bx1 ? bx0 : bx1, by0 < by1 ? by0 : by1, bx0 < bx1 ? bx1 : bx0,
                        by0 < by1 ? by1 : by0);
        if ((c == big) != (kb > 0.9)) {
            printf("# big mark: corner %d ink %.2f, expected it at corner %d\n", c, kb, big);
            return 1;
        }
    }
    /* Outside the content: white (A4 margins, nothing spilling). */
    if (e->off_x > 2 && (ink(pg, 0, 0, e->off_x - 1, pg->height) > 0 ||
                         ink(pg, right + 1, 0, FAXW, pg->height) > 0)) {
        printf("# ink in the side margins\n");
        return 1;
    }
    return 0;
}

/* Renders the reference of page `page` of pdf for e, thresholded, turned to
 * portrait and placed on a fax-width canvas. Returns malloc'd 0/1 pixels. */
static uint8_t *reference(const char *pdf, int page, const struct expect *e, int h)
{
    struct tu_grey g;
    double rx = e->landscape ? e->ydpi * e->s : 204.0 * e->s;
    double ry = e->landscape ? 204.0 * e->s : e->ydpi * e->s;
    if (tu_reference(pdf, page, rx, ry, &g) < 0)
        return NULL;
    uint8_t *canvas = calloc((size_t)FAXW * h, 1);
    int rw = e->landscape ? g.height : g.width, rh = e->landscape ? g.width : g.height;
    for (int y = 0; y < rh && y < h; y++)
        for (int x = 0; x < rw && e->off_x + x < FAXW; x++) {
            /* turned counter-clockwise: fax (x, y) <- landscape (W - 1 - y, x) */
            uint8_t v = e->landscape ? g.px[(size_t)x * g.width + (g.width - 1 - y)]
                                     : g.px[(size_t)y * g.width + x];
            canvas[(size_t)y * FAXW + e->off_x + x] = v < 128;
        }
    free(g.px);
    return canvas;
}

/* Pixel agreement and ink match (within one pixel both ways) of a page
 * with a reference, at the best shift of at most one pixel. Rows outside
 * skip_y0..skip_y1 only (skip_y1 <= skip_y0: all rows). */
static void compare(const struct tu_page *pg, const uint8_t *ref, int y_from, int y_to, double *agree,
                    double *recall, double *precision)
{
    *agree = *recall = *precision = 0;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            long same = 0, total = 0, ref_ink = 0, ref_hit = 0, our_ink = 0, our_hit = 0;
            for (int y = y_from + 1; y < y_to - 1; y++)
                for (int x = 1; x < FAXW - 1; x++) {
                    int a = pg->px[(size_t)y * FAXW + x];
                    int ry = y + dy, rx = x + dx;
                    int b = ref[(size_t)ry * FAXW + rx];
                    total++;
                    same += a == b;
                    if (b) {
                        ref_ink++;
                        int hit = 0;
                        for (int k = -1; k <= 1 && !hit; k++)
                            for (int l = -1; l <= 1 && !hit; l++)
                                hit = pg->px[(size_t)(y + k) * FAXW + x + l];
                        ref_hit += hit;
                    }
                    if (a) {
                        our_ink++;
                        int hit = 0;
                        for (int k = -1; k <= 1 && !hit; k++)
                            for (int l = -1; l <= 1 && !hit; l++) {
                                int yy = ry + k, xx = rx + l;
                                if (yy >= 0 && yy < pg->height && xx >= 0 && xx < FAXW)
                                    hit = ref[(size_t)yy * FAXW + xx];
                            }
                        our_hit += hit;
                    }
                }
            double ag = total ? (double)same / total : 0;
            if (ag > *agree) {
                *agree = ag;
                *recall = ref_ink ? (double)ref_hit / ref_ink : 1;
                *precision = our_ink ? (double)our_hit / our_ink : 1;
            }
        }
}

static const double ydpi_of[3] = { 98, 196, 391 };
static const char *const res_name[3] = { "standard", "fine", "superfine" };

/* Renders a one-page PDF and checks tags, size, reference and marks.
 * big: the fax corner of the big mark. */
static int golden(const struct tu_pdf_page *page, int res, int big, const char *optimize)
{
    const char *pdf = tu_path("g.pdf"), *tif = tu_path("g.tif");
    if (tu_write_pdf(pdf, page, 1) < 0)
        return 1;
    char json[1024];
    const char *args[] = { "--in", pdf, "--out", tif, "--resolution", res_name[res], "--optimize-for",
                           optimize, NULL };
    int st = tu_render(json, sizeof json, args);
    if (st != 0) {
        printf("# exit %d: %s", st, json);
        return 1;
    }
    TAP_CHECK_STR(tu_json_get(json, "ok"), "true");
    TAP_CHECK_STR(tu_json_get(json, "pages"), "1");
    TAP_CHECK_STR(tu_json_get(json, "resolution"), res_name[res]);
    struct tu_page *pg;
    TAP_CHECK(tu_read_tiff(tif, &pg) == 1);
    int rc = 1;
    double dw = page->crop[2] > 0 ? page->crop[2] - page->crop[0] : page->w;
    double dh = page->crop[2] > 0 ? page->crop[3] - page->crop[1] : page->h;
    if (page->rotate % 180) {
        double t = dw;
        dw = dh;
        dh = t;
    }
    struct expect e = expect_for(dw, dh, ydpi_of[res]);
    uint8_t *ref = NULL;
    if (pg->width != FAXW || pg->xres != 204.0f || pg->yres != (float)ydpi_of[res] || pg->compression != 4 ||
        pg->photometric != 0 || pg->fillorder != 2 || pg->page_no != 0 || pg->page_total != 1) {
        printf("# tags: %dx%d res %gx%g comp %u phot %u fill %u page %u/%u\n", pg->width, pg->height,
               pg->xres, pg->yres, pg->compression, pg->photometric, pg->fillorder, pg->page_no,
               pg->page_total);
        goto out;
    }
    if (abs(pg->height - e.ch) > 1) {
        printf("# height %d, expected %d\n", pg->height, e.ch);
        goto out;
    }
    ref = reference(pdf, 1, &e, pg->height);
    if (!ref)
        goto out;
    double agree, recall, precision;
    compare(pg, ref, 0, pg->height, &agree, &recall, &precision);
    printf("# agree %.4f, ink recall %.3f, precision %.3f\n", agree, recall, precision);
    if (agree < 0.99 || recall < 0.95 || precision < 0.95)
        goto out;
    if (check_marks(pg, &e, big))
        goto out;
    rc = 0;
out:
    free(ref);
    tu_pages_free(pg, 1);
    return rc;
}

static struct tu_pdf_page plain(double w, double h, int rotate, int big_user_corner)
{
    struct tu_pdf_page p = { w, h, { 0, 0, 0, 0 }, rotate, NULL, 0 };
    static char content[8][4096];
    static int k;
    char *c = content[k++ & 7];
    snprintf(c, 4096, "%s", tu_marks_content(0, 0, w, h, big_user_corner));
    p.content = c;
    return p;
}

/* Fax corners: 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right.
 * User-space corners: 0 bottom-left, 1 bottom-right, 2 top-right, 3 top-left. */
static int letter_fine(void)
{
    struct tu_pdf_page p = plain(612, 792, 0, 3);
    return golden(&p, 1, 0, "text");
}

static int letter_standard(void)
{
    struct tu_pdf_page p = plain(612, 792, 0, 3);
    return golden(&p, 0, 0, "text");
}

static int letter_superfine(void)
{
    struct tu_pdf_page p = plain(612, 792, 0, 3);
    return golden(&p, 2, 0, "text");
}

static int legal_whole(void)
{
    /* Legal stays whole: 14 inches of page, longer than Letter. */
    struct tu_pdf_page p = plain(612, 1008, 0, 3);
    return golden(&p, 1, 0, "text");
}

static int a4_centred(void)
{
    /* A4 is 1687 px at 204 dpi: unscaled, 20 px of white each side. */
    struct tu_pdf_page p = plain(595.28, 841.89, 0, 3);
    struct expect e = expect_for(595.28, 841.89, 196);
    TAP_CHECK(e.cw == 1687 && e.off_x == 20 && e.s == 1.0);
    return golden(&p, 1, 0, "text");
}

static int tabloid_shrunk(void)
{
    /* 11 x 17 in: shrunk to the fax width, 13.2 in long. */
    struct tu_pdf_page p = plain(792, 1224, 0, 3);
    return golden(&p, 1, 0, "text");
}

static int a4_landscape(void)
{
    /* Turned counter-clockwise: the displayed top-left lands bottom-left. */
    struct tu_pdf_page p = plain(841.89, 595.28, 0, 3);
    return golden(&p, 1, 2, "text");
}

static int letter_landscape(void)
{
    struct tu_pdf_page p = plain(792, 612, 0, 3);
    return golden(&p, 1, 2, "text");
}

static int rotate_90(void)
{
    /* /Rotate 90 shows the portrait box as landscape; its displayed
     * top-left is the box's bottom-left (user corner 0). */
    struct tu_pdf_page p = plain(612, 792, 90, 0);
    return golden(&p, 1, 2, "text");
}

static int rotate_270(void)
{
    /* /Rotate 270: the displayed top-left is the box's top-right (2). */
    struct tu_pdf_page p = plain(612, 792, 270, 2);
    return golden(&p, 1, 2, "text");
}

static int rotate_180(void)
{
    /* Upside down stays portrait: displayed top-left is bottom-right (1). */
    struct tu_pdf_page p = plain(612, 792, 180, 1);
    return golden(&p, 1, 0, "text");
}

static int cropbox(void)
{
    /* Only the CropBox is the page; a black block outside it must not show. */
    static char c[6000];
    snprintf(c, sizeof c, "0 g 0 0 612 40 re f 0 0 40 792 re f\n%s",
             tu_marks_content(72, 72, 540, 720, 3));
    struct tu_pdf_page p = { 612, 792, { 72, 72, 540, 720 }, 0, c, 0 };
    return golden(&p, 1, 0, "text");
}

static int g3_same_pixels(void)
{
    struct tu_pdf_page p = plain(612, 792, 0, 3);
    const char *pdf = tu_path("g3.pdf");
    TAP_CHECK(tu_write_pdf(pdf, &p, 1) == 0);
    char json[1024];
    const char *a4[] = { "--in", pdf, "--out", tu_path("g4.tif"), "--encoding", "g4", NULL };
    const char *a3[] = { "--in", pdf, "--out", tu_path("g3.tif"), "--encoding", "g3", NULL };
    TAP_CHECK(tu_render(json, sizeof json, a4) == 0);
    TAP_CHECK(tu_render(json, sizeof json, a3) == 0);
    TAP_CHECK_STR(tu_json_get(json, "encoding"), "g3");
    struct tu_page *p4, *p3;
    TAP_CHECK(tu_read_tiff(tu_path("g4.tif"), &p4) == 1);
    TAP_CHECK(tu_read_tiff(tu_path("g3.tif"), &p3) == 1);
    TAP_CHECK(p3->compression == 3 && p4->compression == 4);
    TAP_CHECK(p3->height == p4->height);
    TAP_CHECK(!memcmp(p3->px, p4->px, (size_t)p3->width * p3->height));
    tu_pages_free(p4, 1);
    tu_pages_free(p3, 1);
    return 0;
}

static int multi_page_numbers(void)
{
    struct tu_pdf_page pages[4] = { plain(612, 792, 0, 3), plain(612, 1008, 0, 3),
                                    plain(842, 595, 0, 3), plain(595, 842, 90, 0) };
    const char *pdf = tu_path("multi.pdf"), *tif = tu_path("multi.tif");
    TAP_CHECK(tu_write_pdf(pdf, pages, 4) == 0);
    char json[1024];
    const char *args[] = { "--in", pdf, "--out", tif, NULL };
    TAP_CHECK(tu_render(json, sizeof json, args) == 0);
    TAP_CHECK_STR(tu_json_get(json, "pages"), "4");
    struct tu_page *pg;
    TAP_CHECK(tu_read_tiff(tif, &pg) == 4);
    for (int i = 0; i < 4; i++) {
        TAP_CHECK(pg[i].width == FAXW && pg[i].page_no == i && pg[i].page_total == 4);
    }
    TAP_CHECK(pg[1].height > pg[0].height);     /* Legal is longer */
    tu_pages_free(pg, 4);
    return 0;
}

/* Ink density of 16x16 blocks of ours against the reference grey, over
 * fax rows [y0, y1) and columns [x0, x1). Returns the share of blocks
 * within 0.15 and sets *mean_err. */
static double density_match(const struct tu_page *pg, const struct tu_grey *g, const struct expect *e,
                            int x0, int x1, int y0, int y1, double *mean_err)
{
    int n = 0, good = 0;
    double sum = 0;
    for (int by = y0; by + 16 <= y1; by += 16)
        for (int bx = x0; bx + 16 <= x1; bx += 16) {
            double ours = ink(pg, bx, by, bx + 16, by + 16), theirs = 0;
            for (int y = by; y < by + 16; y++)
                for (int x = bx; x < bx + 16; x++) {
                    int gx = x - e->off_x;
                    if (gx >= 0 && gx < g->width && y < g->height)
                        theirs += (255 - g->px[(size_t)y * g->width + gx]) / 255.0;
                }
            theirs /= 256;
            double d = fabs(ours - theirs);
            sum += d;
            good += d <= 0.15;
            n++;
        }
    *mean_err = n ? sum / n : 1;
    return n ? (double)good / n : 0;
}

/* A page: grey bars (or a photo) in the top half, text in the bottom half. */
static int grey_page(int photo, const char *optimize, double *density_ok, double *mean_err, double *text_agree,
                     long *mid_black_share)
{
    static char c[8192];
    int n = 0;
    n += snprintf(c + n, sizeof c - (size_t)n, "%s", tu_marks_content(0, 0, 612, 792, 3));
    if (photo) {
        n += snprintf(c + n, sizeof c - (size_t)n, "q 432 0 0 330 90 420 cm /Im1 Do Q\n");
    } else {
        for (int i = 0; i < 16; i++)
            n += snprintf(c + n, sizeof c - (size_t)n, "%.4f g %d 420 27 330 re f\n", i / 15.0, 90 + 27 * i);
    }
    snprintf(c + n, sizeof c - (size_t)n, "0 g BT /F1 11 Tf 72 300 Td 13 TL (Text under the %s stays sharp: "
             "threshold, not dither.) Tj T* (ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz) Tj ET\n",
             photo ? "photo" : "ramp");
    struct tu_pdf_page p = { 612, 792, { 0 }, 0, c, 1 };
    const char *pdf = tu_path("grey.pdf"), *tif = tu_path("grey.tif");
    if (tu_write_pdf(pdf, &p, 1) < 0)
        return 1;
    char json[1024];
    const char *args[] = { "--in", pdf, "--out", tif, "--optimize-for", optimize, NULL };
    if (tu_render(json, sizeof json, args) != 0) {
        printf("# %s", json);
        return 1;
    }
    struct tu_page *pg;
    if (tu_read_tiff(tif, &pg) != 1)
        return 1;
    struct expect e = expect_for(612, 792, 196);
    struct tu_grey g;
    int rc = 1;
    if (tu_reference(pdf, 1, 204 * e.s, 196 * e.s, &g) < 0)
        goto out;
    /* The image area: x 90..522 pt, y (from the top) 42..372 pt; inset. */
    int ix0 = e.off_x + (int)(95 * e.pxx), ix1 = e.off_x + (int)(517 * e.pxx);
    int iy0 = (int)(48 * e.pxy), iy1 = (int)(366 * e.pxy);
    *density_ok = density_match(pg, &g, &e, ix0, ix1, iy0, iy1, mean_err);
    /* Share of the bar at 50 % grey that came out black. */
    *mid_black_share = (long)(100 * ink(pg, e.off_x + (int)((90 + 27 * 7.5 - 10) * e.pxx), iy0,
                                        e.off_x + (int)((90 + 27 * 7.5 + 10) * e.pxx), iy1));
    /* The text area: exact, against the thresholded reference. */
    uint8_t *ref = calloc((size_t)FAXW * pg->height, 1);
    for (int y = 0; y < g.height && y < pg->height; y++)
        for (int x = 0; x < g.width && e.off_x + x < FAXW; x++)
            ref[(size_t)y * FAXW + e.off_x + x] = g.px[(size_t)y * g.width + x] < 128;
    double recall, precision;
    compare(pg, ref, (int)(440 * e.pxy), (int)(520 * e.pxy), text_agree, &recall, &precision);
    free(ref);
    free(g.px);
    rc = 0;
out:
    tu_pages_free(pg, 1);
    return rc;
}

static int grey_ramp_auto(void)
{
    double ok, err, text;
    long mid;
    TAP_CHECK(grey_page(0, "auto", &ok, &err, &text, &mid) == 0);
    printf("# ramp: %.3f of blocks within 0.15 (mean error %.3f), 50%% bar %ld%% black, text %.4f\n", ok,
           err, mid, text);
    TAP_CHECK(ok >= 0.95 && err <= 0.08);
    TAP_CHECK(mid >= 35 && mid <= 65);
    TAP_CHECK(text >= 0.99);
    return 0;
}

static int grey_ramp_text_mode(void)
{
    /* optimize_for=text thresholds: the 50 % bar is solid, not dotted. */
    double ok, err, text;
    long mid;
    TAP_CHECK(grey_page(0, "text", &ok, &err, &text, &mid) == 0);
    printf("# text mode: 50%% bar %ld%% black, blocks within 0.15: %.3f\n", mid, ok);
    TAP_CHECK(mid <= 2 || mid >= 98);
    TAP_CHECK(ok < 0.9);
    return 0;
}

static int photo_auto(void)
{
    double ok, err, text;
    long mid;
    TAP_CHECK(grey_page(1, "auto", &ok, &err, &text, &mid) == 0);
    printf("# photo: %.3f of blocks within 0.15 (mean error %.3f), text %.4f\n", ok, err, text);
    TAP_CHECK(ok >= 0.95 && err <= 0.08);
    TAP_CHECK(text >= 0.99);
    return 0;
}

static int photo_mode(void)
{
    double ok, err, text;
    long mid;
    TAP_CHECK(grey_page(1, "photo", &ok, &err, &text, &mid) == 0);
    printf("# photo mode: %.3f of blocks within 0.15 (mean error %.3f)\n", ok, err);
    TAP_CHECK(ok >= 0.95 && err <= 0.08);
    return 0;
}

static const struct tap_case cases[] = {
    { "letter, fine: tags, size, reference, corner marks", letter_fine },
    { "letter, standard (204x98)", letter_standard },
    { "letter, superfine (204x391)", letter_superfine },
    { "legal kept whole, longer than letter", legal_whole },
    { "A4 centred unscaled (1687 px, 20 px margins)", a4_centred },
    { "tabloid shrunk to 1728 px", tabloid_shrunk },
    { "A4 landscape turned to portrait", a4_landscape },
    { "letter landscape turned to portrait", letter_landscape },
    { "/Rotate 90 turned to portrait", rotate_90 },
    { "/Rotate 270 turned to portrait", rotate_270 },
    { "/Rotate 180 stays upright", rotate_180 },
    { "CropBox honoured, outside hidden", cropbox },
    { "g3 2-D decodes to the same pixels as g4", g3_same_pixels },
    { "mixed pages: count and PageNumber n/m", multi_page_numbers },
    { "grey ramp, auto: dithered to density, text exact", grey_ramp_auto },
    { "grey ramp, text: thresholded", grey_ramp_text_mode },
    { "photo, auto: dithered to density, text exact", photo_auto },
    { "photo, photo mode", photo_mode },
};

int main(void)
{
    tu_scratch("test_render_pdf");
    return tap_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
