/* SPDX-License-Identifier: Apache-2.0
 *
 * mkdocs.c: writes the generated half of the rendering benchmark's PDF set
 * (bench/render/run): documents like the ones people fax, drawn with cairo
 * and pango so they look like real producer output (embedded font subsets,
 * images, vector rules): a one-page letter, a two-page invoice with tinted
 * table rows, a three-page form, a page with a photo, a landscape
 * spreadsheet, an A4 report, a Legal contract and a two-page scan. Each
 * page carries small corner marks. Usage: mkdocs DIR [COPIES]; COPIES
 * variants of each (different text) are written, default 8.
 */
#include "config.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const words[] = {
    "fax", "invoice", "patient", "order", "delivery", "account", "payment", "contract", "clause",
    "party", "agreement", "shipment", "schedule", "reference", "amount", "balance", "signature",
    "please", "confirm", "receipt", "within", "business", "days", "regarding", "the", "of", "and",
    "to", "our", "your", "this", "document", "is", "for", "attached", "record", "number",
};

/* A paragraph of n pseudo-random words (seeded), malloc'd. */
static char *para(unsigned *seed, int n)
{
    size_t cap = (size_t)n * 14 + 2, len = 0;
    char *s = malloc(cap);
    for (int i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        const char *w = words[(*seed >> 16) % (sizeof words / sizeof words[0])];
        len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? " " : "", w);
    }
    snprintf(s + len, cap - len, ".");
    if (s[0] >= 'a' && s[0] <= 'z')
        s[0] = (char)(s[0] - 32);
    return s;
}

static double text(cairo_t *cr, double x, double y, double w, const char *font, const char *t)
{
    PangoLayout *l = pango_cairo_create_layout(cr);
    PangoFontDescription *fd = pango_font_description_from_string(font);
    pango_layout_set_font_description(l, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(l, (int)(w * PANGO_SCALE));
    pango_layout_set_wrap(l, PANGO_WRAP_WORD);
    pango_layout_set_text(l, t, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, l);
    int lw, lh;
    pango_layout_get_size(l, &lw, &lh);
    g_object_unref(l);
    return (double)lh / PANGO_SCALE;
}

static void marks(cairo_t *cr, double w, double h)
{
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, 0, 0, 8, 8);
    cairo_rectangle(cr, w - 8, 0, 8, 8);
    cairo_rectangle(cr, 0, h - 8, 8, 8);
    cairo_rectangle(cr, w - 8, h - 8, 8, 8);
    cairo_fill(cr);
}

/* Body text pages. */
static void prose(cairo_t *cr, unsigned *seed, double w, double h, double top)
{
    double y = top;
    while (y < h - 110) {
        char *p = para(seed, 40 + (int)(*seed % 60));
        y += text(cr, 72, y, w - 144, "Serif 11", p) + 9;
        free(p);
    }
}

static cairo_t *page_begin(cairo_surface_t *s, double w, double h)
{
    cairo_pdf_surface_set_size(s, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 0, 0, 0);
    return cr;
}

static void page_end(cairo_t *cr, double w, double h)
{
    marks(cr, w, h);
    cairo_show_page(cr);
    cairo_destroy(cr);
}

static void letter(const char *path, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 612, 792);
    cairo_t *cr = page_begin(s, 612, 792);
    cairo_set_source_rgb(cr, 0.1, 0.2, 0.5);
    cairo_rectangle(cr, 72, 60, 40, 40);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, 124, 62, 300, "Sans Bold 18", "Acme Medical Group");
    text(cr, 124, 86, 300, "Sans 9", "12 Main Street, Springfield  ·  +1 555 0100");
    text(cr, 72, 150, 300, "Sans 11", "Dr. Jane Roe\nRiverside Clinic\n400 River Road\nSpringfield");
    char *p;
    double y = 260;
    for (int i = 0; i < 5; i++) {
        p = para(&seed, 60);
        y += text(cr, 72, y, 468, "Sans 11", p) + 10;
        free(p);
    }
    text(cr, 72, y + 20, 300, "Sans 11", "Sincerely,\n\n\nJohn Doe, MD");
    page_end(cr, 612, 792);
    cairo_surface_destroy(s);
}

static void invoice(const char *path, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 612, 792);
    for (int pg = 0; pg < 2; pg++) {
        cairo_t *cr = page_begin(s, 612, 792);
        text(cr, 72, 60, 400, "Sans Bold 22", pg ? "Invoice (continued)" : "INVOICE 2025-0042");
        double y = 130;
        for (int r = 0; r < 26; r++, y += 20) {
            if (r % 2 == 0) {
                cairo_set_source_rgb(cr, 0.92, 0.92, 0.92);     /* a light tint */
                cairo_rectangle(cr, 72, y - 3, 468, 20);
                cairo_fill(cr);
            }
            cairo_set_source_rgb(cr, 0, 0, 0);
            char line[128];
            seed = seed * 1103515245u + 12345u;
            snprintf(line, sizeof line, "Item %02d  %s", r + 1, words[(seed >> 16) % 30]);
            text(cr, 78, y, 300, "Sans 10", line);
            snprintf(line, sizeof line, "%5u.%02u", (seed >> 8) % 900 + 10, seed % 100);
            text(cr, 460, y, 80, "Monospace 10", line);
        }
        cairo_set_line_width(cr, 1);
        cairo_move_to(cr, 72, y + 4);
        cairo_line_to(cr, 540, y + 4);
        cairo_stroke(cr);
        text(cr, 380, y + 12, 160, "Sans Bold 12", pg ? "Total due: 12,345.67" : "Subtotal: 6,170.00");
        page_end(cr, 612, 792);
    }
    cairo_surface_destroy(s);
}

static void form(const char *path, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 612, 792);
    for (int pg = 0; pg < 3; pg++) {
        cairo_t *cr = page_begin(s, 612, 792);
        text(cr, 72, 54, 468, "Sans Bold 16", "Patient Intake Form");
        cairo_set_line_width(cr, 0.75);
        double y = 100;
        for (int f = 0; f < 16; f++, y += 38) {
            char *p = para(&seed, 3);
            text(cr, 72, y, 200, "Sans 9", p);
            free(p);
            cairo_rectangle(cr, 230, y - 4, 310, 22);
            cairo_stroke(cr);
            if (f % 3 == 0)
                for (int k = 0; k < 4; k++) {
                    cairo_rectangle(cr, 240 + k * 70, y + 24, 9, 9);
                    cairo_stroke(cr);
                }
        }
        page_end(cr, 612, 792);
    }
    cairo_surface_destroy(s);
}

/* A photo-like image surface. */
static cairo_surface_t *photo(int w, int h, unsigned seed)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    unsigned char *d = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    double ph = (seed % 100) / 10.0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double v = 0.5 + 0.35 * sin(x / 37.0 + ph) * cos(y / 29.0) + 0.1 * sin((x * y) / 900.0);
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            uint32_t r = (uint32_t)(v * 255), g = (uint32_t)(v * 230), b = (uint32_t)(v * 200);
            ((uint32_t *)(d + y * stride))[x] = r << 16 | g << 8 | b;
        }
    cairo_surface_mark_dirty(img);
    return img;
}

static void photo_page(const char *path, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 612, 792);
    cairo_t *cr = page_begin(s, 612, 792);
    text(cr, 72, 60, 468, "Sans Bold 16", "Site inspection, photo 3");
    cairo_surface_t *img = photo(900, 650, seed);
    cairo_save(cr);
    cairo_translate(cr, 72, 100);
    cairo_scale(cr, 468.0 / 900, 338.0 / 650);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    char *p = para(&seed, 90);
    text(cr, 72, 460, 468, "Sans 10", p);
    free(p);
    page_end(cr, 612, 792);
    cairo_surface_destroy(s);
}

static void landscape(const char *path, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 792, 612);
    for (int pg = 0; pg < 2; pg++) {
        cairo_t *cr = page_begin(s, 792, 612);
        text(cr, 54, 36, 600, "Sans Bold 14", "Quarterly shipments");
        cairo_set_line_width(cr, 0.5);
        for (int r = 0; r <= 24; r++) {
            cairo_move_to(cr, 54, 70 + r * 20);
            cairo_line_to(cr, 738, 70 + r * 20);
        }
        for (int c = 0; c <= 9; c++) {
            cairo_move_to(cr, 54 + c * 76, 70);
            cairo_line_to(cr, 54 + c * 76, 550);
        }
        cairo_stroke(cr);
        for (int r = 0; r < 24; r++)
            for (int c = 0; c < 9; c++) {
                char cell[32];
                seed = seed * 1103515245u + 12345u;
                snprintf(cell, sizeof cell, "%u", (seed >> 12) % 100000);
                text(cr, 58 + c * 76, 73 + r * 20, 70, "Sans 9", cell);
            }
        page_end(cr, 792, 612);
    }
    cairo_surface_destroy(s);
}

static void multi(const char *path, double w, double h, int pages, const char *title, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, w, h);
    for (int pg = 0; pg < pages; pg++) {
        cairo_t *cr = page_begin(s, w, h);
        text(cr, 72, 60, w - 144, "Serif Bold 16", title);
        prose(cr, &seed, w, h, 100);
        page_end(cr, w, h);
    }
    cairo_surface_destroy(s);
}

/* A scanned page: a grey raster with noise and text-like dark strokes. */
static void scan(const char *path, unsigned seed)
{
    cairo_surface_t *s = cairo_pdf_surface_create(path, 612, 792);
    for (int pg = 0; pg < 2; pg++) {
        cairo_t *cr = page_begin(s, 612, 792);
        int w = 1275, h = 1650;     /* 150 dpi */
        cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
        unsigned char *d = cairo_image_surface_get_data(img);
        int stride = cairo_image_surface_get_stride(img);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                seed = seed * 1103515245u + 12345u;
                int v = 235 + (int)((seed >> 16) % 16);
                int line = (y / 24) % 2 == 0 && y % 24 > 6 && x > 120 && x < w - 120 &&
                           ((x / 9 + y / 24) % 7) < 5 && ((x % 9) < 2 || (y % 24) == 12);
                if (line)
                    v = 30 + (int)((seed >> 20) % 40);
                ((uint32_t *)(d + y * stride))[x] = (uint32_t)(v << 16 | v << 8 | v);
            }
        cairo_surface_mark_dirty(img);
        cairo_scale(cr, 612.0 / w, 792.0 / h);
        cairo_set_source_surface(cr, img, 0, 0);
        cairo_paint(cr);
        cairo_identity_matrix(cr);
        cairo_surface_destroy(img);
        page_end(cr, 612, 792);
    }
    cairo_surface_destroy(s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: mkdocs DIR [COPIES]\n");
        return 2;
    }
    int copies = argc > 2 ? atoi(argv[2]) : 8;
    char path[4096];
    for (int i = 0; i < copies; i++) {
        unsigned seed = 1000u + (unsigned)i * 7919u;
#define OUT(name) (snprintf(path, sizeof path, "%s/gen-%02d-%s.pdf", argv[1], i, name), path)
        letter(OUT("letter"), seed);
        invoice(OUT("invoice"), seed + 1);
        form(OUT("form"), seed + 2);
        photo_page(OUT("photo"), seed + 3);
        landscape(OUT("landscape"), seed + 4);
        multi(OUT("a4-report"), 595.28, 841.89, 5, "Annual report", seed + 5);
        multi(OUT("legal-contract"), 612, 1008, 4, "Service agreement", seed + 6);
        scan(OUT("scan"), seed + 7);
#undef OUT
    }
    return 0;
}
