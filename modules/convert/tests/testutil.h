/* SPDX-License-Identifier: Apache-2.0
 *
 * testutil.h: helpers shared by the mintfax-render tests: a scratch
 * directory per test program, running the mintfax-render binary and reading
 * its JSON line, decoding the TIFF it wrote, writing small PDFs by hand
 * (so each test controls MediaBox, CropBox, /Rotate, page count and
 * /Encrypt exactly), and reference rasters from Ghostscript, which shares
 * no code with our poppler + cairo path.
 */
#ifndef MFX_TESTUTIL_H
#define MFX_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Silences libtiff's warnings (the tests check results, not chatter). */
void tu_quiet_libtiff(void);

/* A scratch directory for this test program (under MFX_BUILDDIR or /tmp),
 * emptied at start. Returns its path (static). */
const char *tu_scratch(const char *name);

/* Joins the scratch directory and a file name into a static buffer (one of
 * sixteen rotating buffers: copy a path that must outlive more calls). */
const char *tu_path(const char *file);

/* The mintfax-render binary (MFX_BUILDDIR or the build tree). */
const char *tu_render_bin(void);

/* Runs mintfax-render with args (NULL-terminated); fills json (its stdout,
 * at most json_len bytes) and returns its exit status, or -1. */
int tu_render(char *json, size_t json_len, const char *const *args);

/* Extracts a JSON string or number field by name from a flat object
 * (enough for mintfax-render's one line). Returns a static buffer or NULL. */
const char *tu_json_get(const char *json, const char *key);

/* A decoded fax page: one byte per pixel, 1 = black. */
struct tu_page {
    int width, height;
    float xres, yres;
    uint16_t compression, photometric, fillorder;
    uint16_t page_no, page_total;
    uint8_t *px;
};

/* Decodes every page of a TIFF; returns how many (0 on error) and sets
 * *pages (free with tu_pages_free). */
int tu_read_tiff(const char *path, struct tu_page **pages);
void tu_pages_free(struct tu_page *pages, int n);

/* A grey raster (reference renders): 0 black .. 255 white. */
struct tu_grey {
    int width, height;
    uint8_t *px;
};

/* Renders page (1-based) of pdf with Ghostscript at rx x ry dpi (device
 * axes, /Rotate applied), grey, without antialiasing, CropBox only.
 * Returns 0 or -1. Free px. (pdftoppm cannot be used for this: with
 * different -rx and -ry it draws /Rotate 90 pages at the wrong scale.) */
int tu_reference(const char *pdf, int page, double rx, double ry, struct tu_grey *out);

/* Number of files in the scratch directory whose names start with prefix. */
int tu_count_files(const char *prefix);

/* ---- Hand-written PDFs ---- */

struct tu_pdf;

struct tu_pdf *tu_pdf_new(void);
/* Adds an object with the given body; returns its number. */
int tu_pdf_obj(struct tu_pdf *p, const char *body);
/* Adds a stream object (dict entries without /Length, then data). */
int tu_pdf_stream(struct tu_pdf *p, const char *dict, const void *data, size_t len);
/* Reserves an object number to fill later with tu_pdf_set. */
int tu_pdf_reserve(struct tu_pdf *p);
void tu_pdf_set(struct tu_pdf *p, int num, const char *body);
/* Writes the file with /Root root and extra trailer entries (or NULL). */
int tu_pdf_write(struct tu_pdf *p, const char *path, int root, const char *trailer_extra);
void tu_pdf_free(struct tu_pdf *p);

/* One page of a test PDF. */
struct tu_pdf_page {
    double w, h;            /* MediaBox, points */
    double crop[4];         /* CropBox, or all 0 */
    int rotate;             /* /Rotate */
    const char *content;    /* content stream (NULL: the default marks page) */
    int image;              /* 1: a 256x256 photo-like image is /Im1 */
};

/* Writes a PDF of n pages; Helvetica is /F1 on every page. Returns 0 or -1. */
int tu_write_pdf(const char *path, const struct tu_pdf_page *pages, int n);

/* Content stream: 18 pt black squares in the four corners of the box
 * (x0, y0, x1, y1) in PDF user space, the one at the displayed top-left
 * corner (given as corner index 0..3: 0 bottom-left, 1 bottom-right,
 * 2 top-right, 3 top-left, in user space) made 36 pt, a title and a few
 * lines of text. Returns a static buffer. */
const char *tu_marks_content(double x0, double y0, double x1, double y1, int big_corner);

#endif
