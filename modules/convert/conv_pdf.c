/* SPDX-License-Identifier: Apache-2.0
 *
 * conv_pdf.c: PDF pages through poppler-glib into cairo. A page is drawn in
 * bands straight at fax geometry (geometry.c gives the matrix): white
 * paper first (unless the band is still white from the page before: the
 * pipeline repaints only what a page inked), a clip to the page's CropBox,
 * then poppler's printing path
 * (annotations as printed). Antialiasing is off: a 1-bit fax keeps stroke
 * edges sharp without it, rendering is faster, and optimize_for=auto can
 * then tell images (mid greys) from text (black and white).
 *
 * Images that poppler draws larger than they are (a 150 or 200 dpi scan
 * on a 204 dpi fax page) are sampled to the nearest pixel instead of
 * bilinearly: see the image filter section below.
 *
 * A file without %%EOF near its end is refused as truncated, although
 * poppler could rebuild its cross-reference table: sending the first half
 * of a document as if it were whole is worse than failing.
 */
#include "config.h"
#include "converter.h"

#include <cairo.h>
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct pdf_doc {
    PopplerDocument *pd;
    PopplerPage *page;      /* the page being rendered (bands of one page) */
    int page_index;
};

/* ---- Image filter ------------------------------------------------------------ */

/* poppler 22 asks cairo for CAIRO_FILTER_GOOD on every image it scales by
 * less than 4x, printing or not, and offers no option. Enlarging with
 * GOOD is bilinear, and pixman has no fast path for it from an RGB24
 * image onto an RGB565 band: a page-sized scan took 2.5 times as long to
 * draw as with nearest-pixel sampling, which is what Ghostscript does for
 * images without /Interpolate. An enlarged image loses nothing when
 * sampled (every image pixel covers one fax pixel or more); bilinear only
 * blurs pixel edges that the 1-bit threshold then cuts again. So, while
 * poppler draws a page (page_cr set), this definition of
 * cairo_pattern_set_filter(), which the dynamic linker finds before
 * cairo's own for poppler's calls, turns GOOD, BEST and BILINEAR into
 * NEAREST for image patterns drawn at least at their own size, and passes
 * everything else on unchanged. Images drawn smaller keep GOOD (cairo's
 * box filter): thin strokes of a 300 dpi scan survive being averaged, not
 * being sampled. */
static cairo_t *page_cr;

/* 1 if the image of pattern covers at least one device pixel per image
 * pixel both ways under page_cr's current matrix (poppler's image space
 * is the unit square: the matrix gives the image's size on the band). */
static int drawn_enlarged(cairo_pattern_t *pattern)
{
    cairo_surface_t *img;
    if (cairo_pattern_get_surface(pattern, &img) != CAIRO_STATUS_SUCCESS ||
        cairo_surface_get_type(img) != CAIRO_SURFACE_TYPE_IMAGE)
        return 0;
    int w = cairo_image_surface_get_width(img), h = cairo_image_surface_get_height(img);
    cairo_matrix_t m;
    cairo_get_matrix(page_cr, &m);
    return w > 0 && h > 0 && hypot(m.xx, m.yx) >= w && hypot(m.xy, m.yy) >= h;
}

void cairo_pattern_set_filter(cairo_pattern_t *pattern, cairo_filter_t filter)
{
    static void (*next)(cairo_pattern_t *, cairo_filter_t);
    if (!next) {
        void *sym = dlsym(RTLD_NEXT, "cairo_pattern_set_filter");
        if (!sym)
            return;     /* cannot happen with a shared libcairo; GOOD stays */
        memcpy(&next, &sym, sizeof next);
    }
    if (page_cr && (filter == CAIRO_FILTER_GOOD || filter == CAIRO_FILTER_BEST ||
                    filter == CAIRO_FILTER_BILINEAR) && drawn_enlarged(pattern))
        filter = CAIRO_FILTER_NEAREST;
    next(pattern, filter);
}

/* ---- Converter ----------------------------------------------------------------- */

static int pdf_sniff(const unsigned char *head, size_t len)
{
    /* The header may follow up to 1024 bytes of junk (PDF 32000-1 Annex H.3). */
    size_t lim = len < MFX_SNIFF_BYTES ? len : MFX_SNIFF_BYTES;
    return lim >= 5 && memmem(head, lim, "%PDF-", 5) != NULL;
}

/* 1 if "%%EOF" occurs in the last 1024 bytes of fd, not counting trailing
 * white space and NULs (padding some writers and transports add). */
static int has_eof_marker(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return 0;
    char tail[4096];
    off_t end = st.st_size;
    /* Skip the padding, a block at a time, up to 1 MiB of it. */
    for (int blocks = 0; end > 0 && blocks < 256; blocks++) {
        off_t from = end > (off_t)sizeof tail ? end - (off_t)sizeof tail : 0;
        ssize_t n = pread(fd, tail, (size_t)(end - from), from);
        if (n <= 0)
            return 0;
        ssize_t i = n;
        while (i > 0 && (tail[i - 1] == ' ' || tail[i - 1] == '\r' || tail[i - 1] == '\n' ||
                         tail[i - 1] == '\t' || tail[i - 1] == '\0' || tail[i - 1] == '\f'))
            i--;
        end = from + i;
        if (i > 0)
            break;
    }
    off_t from = end > 1024 ? end - 1024 : 0;
    ssize_t n = pread(fd, tail, (size_t)(end - from), from);
    return n >= 5 && memmem(tail, (size_t)n, "%%EOF", 5) != NULL;
}

static int pdf_open(struct mfx_doc *doc, const char *path, struct mfx_render_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "io", "cannot open the PDF: %s",
                               strerror(errno));
    if (!has_eof_marker(fd)) {
        close(fd);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "truncated",
                               "the PDF is truncated (no %%%%EOF at its end)");
    }
    GError *gerr = NULL;
    PopplerDocument *pd = poppler_document_new_from_fd(fd, NULL, &gerr);   /* takes fd */
    if (!pd) {
        int rc;
        if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
            rc = mfx_render_fail(err, MFX_RENDER_ENCRYPTED, "password",
                                 "the PDF is encrypted and needs a password to open");
        else
            rc = mfx_render_fail(err, MFX_RENDER_UNREADABLE, "pdf", "the PDF cannot be read: %s",
                                 gerr ? gerr->message : "unknown error");
        if (gerr)
            g_error_free(gerr);
        return rc;
    }
    int n = poppler_document_get_n_pages(pd);
    if (n <= 0) {
        g_object_unref(pd);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "pdf", "the PDF has no pages");
    }
    struct pdf_doc *p = calloc(1, sizeof *p);
    if (!p) {
        g_object_unref(pd);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    }
    p->pd = pd;
    p->page_index = -1;
    doc->priv = p;
    doc->pages = n;
    return 0;
}

/* The PopplerPage for index, kept while its bands are drawn. */
static PopplerPage *get_page(struct pdf_doc *p, int index)
{
    if (p->page_index != index) {
        if (p->page)
            g_object_unref(p->page);
        p->page = poppler_document_get_page(p->pd, index);
        p->page_index = p->page ? index : -1;
    }
    return p->page;
}

static int pdf_page_size(struct mfx_doc *doc, int index, struct mfx_page_size *out,
                         struct mfx_render_error *err)
{
    struct pdf_doc *p = doc->priv;
    PopplerPage *page = get_page(p, index);
    if (!page)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "pdf", "page %d cannot be read", index + 1);
    /* The CropBox, with /Rotate applied. */
    poppler_page_get_size(page, &out->width_pt, &out->height_pt);
    out->fit = MFX_FIT_NONE;
    return 0;
}

static int pdf_render(struct mfx_doc *doc, int index, const struct mfx_placement *pl,
                      struct mfx_raster *band, int band_y, struct mfx_render_error *err)
{
    struct pdf_doc *p = doc->priv;
    PopplerPage *page = get_page(p, index);
    if (!page)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "pdf", "page %d cannot be read", index + 1);

    cairo_surface_t *s = cairo_image_surface_create_for_data(band->data, CAIRO_FORMAT_RGB16_565,
                                                             band->width, band->height,
                                                             (int)band->stride);
    cairo_t *cr = cairo_create(s);
    if (band->clean_rows < band->height) {
        cairo_set_source_rgb(cr, 1, 1, 1);     /* paper, unless already there */
        cairo_paint(cr);
    }

    cairo_set_antialias(cr, CAIRO_ANTIALIAS_NONE);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_NONE);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);

    double m[6];
    mfx_geom_band_matrix(pl, band_y, m);
    cairo_matrix_t mat;
    cairo_matrix_init(&mat, m[0], m[1], m[2], m[3], m[4], m[5]);
    cairo_set_matrix(cr, &mat);
    /* Nothing outside the page box may reach the margins. */
    cairo_rectangle(cr, 0, 0, pl->page_w_pt, pl->page_h_pt);
    cairo_clip(cr);
    page_cr = cr;
    poppler_page_render_for_printing(page, cr);
    page_cr = NULL;

    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, st == CAIRO_STATUS_NO_MEMORY ? "memory" : "pdf",
                               "page %d could not be drawn: %s", index + 1, cairo_status_to_string(st));
    return 0;
}

static void pdf_close(struct mfx_doc *doc)
{
    struct pdf_doc *p = doc->priv;
    if (!p)
        return;
    if (p->page)
        g_object_unref(p->page);
    g_object_unref(p->pd);
    free(p);
    doc->priv = NULL;
}

const struct mfx_converter mfx_conv_pdf = {
    .name = "pdf",
    .format = MFX_RASTER_RGB565,
    .sniff = pdf_sniff,
    .open = pdf_open,
    .page_size = pdf_page_size,
    .render = pdf_render,
    .close = pdf_close,
};
