/* SPDX-License-Identifier: Apache-2.0
 *
 * cover.c: the cover page templates (see cover.h). The page is drawn in
 * points on the paper chosen with --page-size, through the same placement
 * matrix as a PDF page (geometry.c), so it lands on the fax exactly like a
 * document page of that size would. Text is laid out by pango in user
 * space with hinting off, so it wraps the same at every resolution.
 */
#include "config.h"
#include "cover.h"

#include <cairo.h>
#include <json.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIELD_MAX 200       /* characters in a name, number, subject or date */
#define MESSAGE_MAX 4000

#define FONT_FAMILY "Nimbus Sans, DejaVu Sans, Sans"

static const char hipaa_notice[] =
    "This facsimile contains confidential information, which may include protected health "
    "information (PHI) that is privileged and confidential under federal and state law, including "
    "the Health Insurance Portability and Accountability Act (HIPAA). It is intended only for the "
    "use of the recipient named above. If you are not the intended recipient, you are hereby "
    "notified that any review, disclosure, copying, distribution or use of this information is "
    "strictly prohibited. If you have received this fax in error, please notify the sender "
    "immediately and destroy all copies of the original.";

/* ---- JSON ------------------------------------------------------------------ */

/* Copies the string field key of obj into *out (NULL when absent or null).
 * Returns 0, or -1 with msg set (not a string, too long). */
static int take_string(json_object *obj, const char *key, size_t max, char **out, char *msg,
                       size_t msg_len)
{
    json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(msg, msg_len, "cover: %s must be a string", key);
        return -1;
    }
    const char *s = json_object_get_string(v);
    if (g_utf8_strlen(s, -1) > (glong)max) {
        snprintf(msg, msg_len, "cover: %s is longer than %zu characters", key, max);
        return -1;
    }
    if (!g_utf8_validate(s, -1, NULL)) {
        snprintf(msg, msg_len, "cover: %s is not valid UTF-8", key);
        return -1;
    }
    *out = strdup(s);
    return *out ? 0 : -1;
}

int mfx_cover_parse(const char *json, struct mfx_cover *c, char *msg, size_t msg_len)
{
    memset(c, 0, sizeof *c);
    json_tokener *tok = json_tokener_new();
    json_object *obj = tok ? json_tokener_parse_ex(tok, json, (int)strlen(json)) : NULL;
    int ok = obj && json_tokener_get_error(tok) == json_tokener_success;
    json_tokener_free(tok);
    if (!ok || !json_object_is_type(obj, json_type_object)) {
        snprintf(msg, msg_len, "cover: not a JSON object");
        json_object_put(obj);
        return -1;
    }
    int rc = -1;
    char *tmpl = NULL;
    if (take_string(obj, "template", 16, &tmpl, msg, msg_len) < 0)
        goto out;
    if (!tmpl || !strcmp(tmpl, "standard")) {
        c->tmpl = MFX_COVER_STANDARD;
    } else if (!strcmp(tmpl, "hipaa")) {
        c->tmpl = MFX_COVER_HIPAA;
    } else {
        snprintf(msg, msg_len, "cover: template must be \"standard\" or \"hipaa\"");
        goto out;
    }
    if (take_string(obj, "recipient_name", FIELD_MAX, &c->recipient_name, msg, msg_len) < 0 ||
        take_string(obj, "recipient_number", FIELD_MAX, &c->recipient_number, msg, msg_len) < 0 ||
        take_string(obj, "sender_name", FIELD_MAX, &c->sender_name, msg, msg_len) < 0 ||
        take_string(obj, "sender_number", FIELD_MAX, &c->sender_number, msg, msg_len) < 0 ||
        take_string(obj, "subject", FIELD_MAX, &c->subject, msg, msg_len) < 0 ||
        take_string(obj, "message", MESSAGE_MAX, &c->message, msg, msg_len) < 0 ||
        take_string(obj, "date", FIELD_MAX, &c->date, msg, msg_len) < 0)
        goto out;
    if (!c->date) {
        char buf[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        c->date = strdup(buf);
    }
    rc = 0;
out:
    free(tmpl);
    json_object_put(obj);
    if (rc < 0)
        mfx_cover_release(c);
    return rc;
}

void mfx_cover_release(struct mfx_cover *c)
{
    free(c->recipient_name);
    free(c->recipient_number);
    free(c->sender_name);
    free(c->sender_number);
    free(c->subject);
    free(c->message);
    free(c->date);
    memset(c, 0, sizeof *c);
}

/* ---- Drawing ------------------------------------------------------------------ */

struct cover_doc {
    const struct mfx_cover *c;
    const struct mfx_paper *paper;
    int total_pages;
};

/* Lays out text in a box width wide at (x, y) and draws it; at most
 * max_height tall (the rest is ellipsized) when max_height > 0. Returns the
 * height used, in points. */
static double draw_text(cairo_t *cr, PangoContext *ctx, double x, double y, double width, double max_height,
                        const char *font, const char *text, int markup)
{
    PangoLayout *layout = pango_layout_new(ctx);
    PangoFontDescription *fd = pango_font_description_from_string(font);
    pango_layout_set_font_description(layout, fd);
    pango_font_description_free(fd);
    pango_layout_set_width(layout, (int)(width * PANGO_SCALE));
    pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    if (max_height > 0) {
        pango_layout_set_height(layout, (int)(max_height * PANGO_SCALE));
        pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
    }
    if (markup)
        pango_layout_set_markup(layout, text, -1);
    else
        pango_layout_set_text(layout, text, -1);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
    int w, h;
    pango_layout_get_size(layout, &w, &h);
    g_object_unref(layout);
    return (double)h / PANGO_SCALE;
}

/* One "Label:  value" row of the header table; returns its height. */
static double draw_field(cairo_t *cr, PangoContext *ctx, double x, double y, double width, const char *label,
                         const char *value, const char *value2)
{
    char both[2 * FIELD_MAX * 4 + 8];
    const char *v = value && *value ? value : "";
    if (value2 && *value2) {
        snprintf(both, sizeof both, "%s%s%s", v, *v ? "  \xc2\xb7  " : "", value2);
        v = both;
    }
    draw_text(cr, ctx, x, y, 100, 0, FONT_FAMILY " Bold 13", label, 0);
    double h = draw_text(cr, ctx, x + 100, y, width - 100, 0, FONT_FAMILY " 13", *v ? v : "\xe2\x80\x94", 0);
    return h < 18 ? 18 : h;
}

static void draw_cover(cairo_t *cr, PangoContext *ctx, const struct cover_doc *cd, double pw, double ph)
{
    const struct mfx_cover *c = cd->c;
    const double margin = 54, width = pw - 2 * margin;
    double y = margin;

    cairo_set_source_rgb(cr, 0, 0, 0);
    double title_h = draw_text(cr, ctx, margin, y, width, 0, FONT_FAMILY " Bold 40", "FAX", 0);
    if (c->tmpl == MFX_COVER_HIPAA)
        draw_text(cr, ctx, margin + 130, y + 14, width - 130, 0, FONT_FAMILY " Bold 16", "CONFIDENTIAL", 0);
    y += title_h + 6;
    cairo_rectangle(cr, margin, y, width, 3);
    cairo_fill(cr);
    y += 18;

    char pages[64];
    snprintf(pages, sizeof pages, "%d (including this cover page)", cd->total_pages);
    y += draw_field(cr, ctx, margin, y, width, "To:", c->recipient_name, c->recipient_number) + 8;
    y += draw_field(cr, ctx, margin, y, width, "From:", c->sender_name, c->sender_number) + 8;
    y += draw_field(cr, ctx, margin, y, width, "Subject:", c->subject, NULL) + 8;
    y += draw_field(cr, ctx, margin, y, width, "Date:", c->date, NULL) + 8;
    y += draw_field(cr, ctx, margin, y, width, "Pages:", pages, NULL) + 8;
    y += 4;
    cairo_rectangle(cr, margin, y, width, 1);
    cairo_fill(cr);
    y += 16;

    /* The notice goes at the foot of the page; the message fills between. */
    double notice_top = ph - margin;
    if (c->tmpl == MFX_COVER_HIPAA) {
        PangoLayout *probe = pango_layout_new(ctx);
        PangoFontDescription *fd = pango_font_description_from_string(FONT_FAMILY " 10");
        pango_layout_set_font_description(probe, fd);
        pango_font_description_free(fd);
        pango_layout_set_width(probe, (int)((width - 24) * PANGO_SCALE));
        pango_layout_set_wrap(probe, PANGO_WRAP_WORD);
        pango_layout_set_text(probe, hipaa_notice, -1);
        int w, h;
        pango_layout_get_size(probe, &w, &h);
        g_object_unref(probe);
        double box_h = (double)h / PANGO_SCALE + 44;
        notice_top = ph - margin - box_h;
        cairo_set_line_width(cr, 2);
        cairo_rectangle(cr, margin, notice_top, width, box_h);
        cairo_stroke(cr);
        draw_text(cr, ctx, margin + 12, notice_top + 10, width - 24, 0, FONT_FAMILY " Bold 11",
                  "CONFIDENTIALITY NOTICE", 0);
        draw_text(cr, ctx, margin + 12, notice_top + 30, width - 24, 0, FONT_FAMILY " 10", hipaa_notice, 0);
    }
    if (c->message && *c->message) {
        y += draw_text(cr, ctx, margin, y, width, 0, FONT_FAMILY " Bold 13", "Message", 0) + 6;
        double room = notice_top - 18 - y;
        if (room > 20)
            draw_text(cr, ctx, margin, y, width, room, FONT_FAMILY " 12", c->message, 0);
    }
}

static int cover_page_size(struct mfx_doc *doc, int index, struct mfx_page_size *out,
                           struct mfx_render_error *err)
{
    (void)index;
    (void)err;
    struct cover_doc *cd = doc->priv;
    out->width_pt = cd->paper->width_pt;
    out->height_pt = cd->paper->height_pt;
    out->fit = MFX_FIT_NONE;
    return 0;
}

static int cover_render(struct mfx_doc *doc, int index, const struct mfx_placement *pl,
                        struct mfx_raster *band, int band_y, struct mfx_render_error *err)
{
    (void)index;
    struct cover_doc *cd = doc->priv;
    cairo_surface_t *s = cairo_image_surface_create_for_data(band->data, CAIRO_FORMAT_RGB16_565,
                                                             band->width, band->height,
                                                             (int)band->stride);
    cairo_t *cr = cairo_create(s);
    if (band->clean_rows < band->height) {
        cairo_set_source_rgb(cr, 1, 1, 1);     /* paper, unless already there */
        cairo_paint(cr);
    }
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);

    double m[6];
    mfx_geom_band_matrix(pl, band_y, m);
    cairo_matrix_t mat;
    cairo_matrix_init(&mat, m[0], m[1], m[2], m[3], m[4], m[5]);
    cairo_set_matrix(cr, &mat);

    PangoContext *ctx = pango_cairo_create_context(cr);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_NONE);
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
    cairo_set_font_options(cr, fo);
    pango_cairo_context_set_font_options(ctx, fo);
    cairo_font_options_destroy(fo);
    pango_cairo_update_context(cr, ctx);
    /* Lay text out in user space (points): with the fax's non-square pixels
     * in the context matrix, pango measures glyph advances in device space
     * and squeezes every line at 204x98. Cairo still draws with the CTM. */
    pango_context_set_matrix(ctx, NULL);

    draw_cover(cr, ctx, cd, pl->page_w_pt, pl->page_h_pt);
    g_object_unref(ctx);

    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "cover", "the cover page could not be drawn: %s",
                               cairo_status_to_string(st));
    return 0;
}

static void cover_close(struct mfx_doc *doc)
{
    free(doc->priv);
    doc->priv = NULL;
}

static int cover_sniff(const unsigned char *head, size_t len)
{
    (void)head;
    (void)len;
    return 0;   /* never a file type */
}

static int cover_open_file(struct mfx_doc *doc, const char *path, struct mfx_render_error *err)
{
    (void)doc;
    (void)path;
    return mfx_render_fail(err, MFX_RENDER_UNSUPPORTED, "type", "a cover page is not a file");
}

const struct mfx_converter mfx_conv_cover = {
    .name = "cover",
    .format = MFX_RASTER_RGB565,
    .sniff = cover_sniff,
    .open = cover_open_file,
    .page_size = cover_page_size,
    .render = cover_render,
    .close = cover_close,
};

int mfx_cover_doc_open(struct mfx_doc *doc, const struct mfx_cover *c, const struct mfx_paper *paper,
                       int total_pages, struct mfx_render_error *err)
{
    memset(doc, 0, sizeof *doc);
    struct cover_doc *cd = calloc(1, sizeof *cd);
    if (!cd)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    cd->c = c;
    cd->paper = paper;
    cd->total_pages = total_pages;
    doc->conv = &mfx_conv_cover;
    doc->pages = 1;
    doc->priv = cd;
    return 0;
}
