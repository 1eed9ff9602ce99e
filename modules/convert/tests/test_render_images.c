/* SPDX-License-Identifier: Apache-2.0
 *
 * test_render_images.c: raster documents and extras of mintfax-render. A
 * two-page G3 fax TIFF at 204 x 98 dpi re-sampled to fine (each row
 * twice) and kept at standard (bit for bit); an A4 grey LZW TIFF at
 * 300 dpi centred at its size; a tiled RGB TIFF (libtiff's RGBA path); a
 * landscape PNG with transparency and no resolution (fitted to the paper,
 * turned); a PNG at 200 dpi (placed like a Letter PDF page); a JPEG with
 * EXIF orientation 6 (shown upright); a JPEG photo (dithered); cover pages
 * (standard and hipaa, counted in the pages and in --max-pages); and PNG
 * previews (size, square pixels, all-or-nothing).
 */
#include "config.h"
#include "tap.h"
#include "testutil.h"

#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#define FAXW 1728

static char json[2048];

static double ink(const struct tu_page *pg, int x0, int y0, int x1, int y1)
{
    long n = 0, b = 0;
    for (int y = y0 < 0 ? 0 : y0; y < y1 && y < pg->height; y++)
        for (int x = x0 < 0 ? 0 : x0; x < x1 && x < pg->width; x++, n++)
            b += pg->px[(size_t)y * pg->width + x];
    return n ? (double)b / n : 0;
}

/* Runs mintfax-render; returns the page count read back (0 on failure). */
static int render(const char *in, const char *out, const char *const *extra, struct tu_page **pages)
{
    const char *args[32] = { "--in", in, "--out", out };
    int n = 4;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    int st = tu_render(json, sizeof json, args);
    if (st != 0) {
        printf("# exit %d: %s", st, json);
        return 0;
    }
    return tu_read_tiff(out, pages);
}

/* The fax test pattern: diagonal stripes and a frame, 1 = black. */
static int pattern(int x, int y, int w, int h)
{
    if (x < 8 || y < 8 || x >= w - 8 || y >= h - 8)
        return 1;
    return ((x + 3 * y) / 40) % 3 == 0;
}

static void write_fax_tiff(const char *path, int pages, int rows, uint16_t compression)
{
    TIFF *t = TIFFOpen(path, "w");
    uint8_t row[FAXW / 8];
    for (int p = 0; p < pages; p++) {
        TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, FAXW);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, rows);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_COMPRESSION, compression);
        if (compression == COMPRESSION_CCITTFAX3)
            TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING);
        TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, rows);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, 98.0);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        TIFFSetField(t, TIFFTAG_PAGENUMBER, p, pages);
        for (int y = 0; y < rows; y++) {
            memset(row, 0, sizeof row);
            for (int x = 0; x < FAXW; x++)
                if (pattern(x + p * 7, y, FAXW, rows))
                    row[x >> 3] |= (uint8_t)(0x80 >> (x & 7));
            TIFFWriteScanline(t, row, (uint32_t)y, 0);
        }
        TIFFWriteDirectory(t);
    }
    TIFFClose(t);
}

static int fax_tiff_to_fine(void)
{
    write_fax_tiff(tu_path("fax.tif"), 2, 1100, COMPRESSION_CCITTFAX3);
    struct tu_page *pg;
    int n = render(tu_path("fax.tif"), tu_path("fax-fine.tif"), NULL, &pg);
    TAP_CHECK(n == 2);
    TAP_CHECK_STR(tu_json_get(json, "type"), "tiff");
    for (int p = 0; p < 2; p++) {
        TAP_CHECK(pg[p].width == FAXW && pg[p].height == 2200 && pg[p].yres == 196.0f);
        long same = 0;
        for (int y = 0; y < 2200; y++)
            for (int x = 0; x < FAXW; x++)
                same += pg[p].px[(size_t)y * FAXW + x] == pattern(x + p * 7, y / 2, FAXW, 1100);
        double agree = (double)same / (2200.0 * FAXW);
        printf("# page %d agrees %.5f with its rows doubled\n", p + 1, agree);
        TAP_CHECK(agree >= 0.999);
    }
    tu_pages_free(pg, n);
    return 0;
}

static int fax_tiff_standard_exact(void)
{
    write_fax_tiff(tu_path("fax4.tif"), 1, 1100, COMPRESSION_CCITTFAX4);
    struct tu_page *pg;
    const char *extra[] = { "--resolution", "standard", NULL };
    TAP_CHECK(render(tu_path("fax4.tif"), tu_path("fax-std.tif"), extra, &pg) == 1);
    TAP_CHECK(pg->height == 1100 && pg->yres == 98.0f);
    for (int y = 0; y < 1100; y++)
        for (int x = 0; x < FAXW; x++)
            TAP_CHECK(pg->px[(size_t)y * FAXW + x] == pattern(x, y, FAXW, 1100));
    tu_pages_free(pg, 1);
    return 0;
}

static int a4_grey_lzw_300dpi(void)
{
    /* 2480 x 3508 at 300 dpi is A4: 1687 px wide on the fax, centred. */
    const char *path = tu_path("a4.tif");
    TIFF *t = TIFFOpen(path, "w");
    int w = 2480, h = 3508;
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 64);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, 300.0);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, 300.0);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    uint8_t *row = malloc((size_t)w);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            row[x] = (x < 60 || y < 60 || x >= w - 60 || y >= h - 60) ? 0 : 255;
        TIFFWriteScanline(t, row, (uint32_t)y, 0);
    }
    free(row);
    TIFFClose(t);
    struct tu_page *pg;
    TAP_CHECK(render(path, tu_path("a4-out.tif"), NULL, &pg) == 1);
    int rows = (int)lround(h / 300.0 * 196);
    printf("# height %d (expected %d)\n", pg->height, rows);
    TAP_CHECK(abs(pg->height - rows) <= 1);
    /* 20 px of white each side, then the frame (60/300 in = 40 px). */
    TAP_CHECK(ink(pg, 0, 0, 19, pg->height) == 0 && ink(pg, FAXW - 19, 0, FAXW, pg->height) == 0);
    TAP_CHECK(ink(pg, 22, 100, 58, 2000) > 0.98 && ink(pg, FAXW - 58, 100, FAXW - 22, 2000) > 0.98);
    TAP_CHECK(ink(pg, 100, 2, FAXW - 100, 35) > 0.98 && ink(pg, 100, pg->height - 35, FAXW - 100, pg->height - 2) > 0.98);
    TAP_CHECK(ink(pg, 100, 100, FAXW - 100, pg->height - 100) == 0);
    tu_pages_free(pg, 1);
    return 0;
}

static int tiled_rgb_tiff(void)
{
    /* Tiled RGB (read through libtiff's RGBA interface): a black square on
     * white, 4 x 4 inches at 100 dpi, centred. */
    const char *path = tu_path("tiled.tif");
    TIFF *t = TIFFOpen(path, "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 400);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 400);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_DEFLATE);
    TIFFSetField(t, TIFFTAG_TILEWIDTH, 64);
    TIFFSetField(t, TIFFTAG_TILELENGTH, 64);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, 100.0);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, 100.0);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    uint8_t tile[64 * 64 * 3];
    for (int ty = 0; ty < 400; ty += 64)
        for (int tx = 0; tx < 400; tx += 64) {
            for (int y = 0; y < 64; y++)
                for (int x = 0; x < 64; x++) {
                    int X = tx + x, Y = ty + y, black = X >= 100 && X < 300 && Y >= 100 && Y < 300;
                    uint8_t *p = tile + (y * 64 + x) * 3;
                    p[0] = black ? 0 : 255;
                    p[1] = black ? 0 : 255;
                    p[2] = black ? 0 : 255;
                }
            TIFFWriteTile(t, tile, (uint32_t)tx, (uint32_t)ty, 0, 0);
        }
    TIFFClose(t);
    struct tu_page *pg;
    TAP_CHECK(render(path, tu_path("tiled-out.tif"), NULL, &pg) == 1);
    /* 4 in square at 204 x 196 dpi: 816 x 784, centred; square 2 in inside. */
    TAP_CHECK(abs(pg->height - 784) <= 1);
    int off = (FAXW - 816) / 2;
    TAP_CHECK(ink(pg, off + 204 + 10, 196 + 10, off + 612 - 10, 588 - 10) > 0.99);
    TAP_CHECK(ink(pg, off + 10, 10, off + 190, 180) == 0);
    tu_pages_free(pg, 1);
    return 0;
}

/* Writes a PNG (colour type ct) from a generator; dpi 0 for no pHYs. */
static int write_png(const char *path, int w, int h, int ct, double dpi,
                     void (*px)(int x, int y, uint8_t *out))
{
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, ct, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (dpi > 0)
        png_set_pHYs(png, info, (png_uint_32)lround(dpi / 0.0254), (png_uint_32)lround(dpi / 0.0254),
                     PNG_RESOLUTION_METER);
    png_write_info(png, info);
    int ch = ct == PNG_COLOR_TYPE_RGBA ? 4 : ct == PNG_COLOR_TYPE_RGB ? 3 : 1;
    uint8_t *row = malloc((size_t)w * ch);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            px(x, y, row + (size_t)x * ch);
        png_write_row(png, row);
    }
    free(row);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return fclose(f);
}

/* Landscape RGBA: transparent background, an opaque black bar along the
 * top edge (y < 100) and a black block at the left end of it. */
static void px_landscape(int x, int y, uint8_t *o)
{
    int bar = y < 100, block = x < 200 && y < 300;
    o[0] = o[1] = o[2] = 0;
    o[3] = bar || block ? 255 : 0;
}

static int png_landscape_fitted(void)
{
    const char *path = tu_path("land.png");
    TAP_CHECK(write_png(path, 1600, 1000, PNG_COLOR_TYPE_RGBA, 0, px_landscape) == 0);
    struct tu_page *pg;
    TAP_CHECK(render(path, tu_path("land-out.tif"), NULL, &pg) == 1);
    TAP_CHECK_STR(tu_json_get(json, "type"), "png");
    /* Fitted to Letter turned landscape (792 x 495 pt), then turned back:
     * 495 pt across (1403 px), 792 pt down (2156 rows). */
    printf("# %d rows\n", pg->height);
    TAP_CHECK(abs(pg->height - 2156) <= 2);
    int cw = (int)lround(495 * 204 / 72.0), off = (FAXW - cw) / 2;
    /* The image's top edge is now the left edge; transparency is white. */
    TAP_CHECK(ink(pg, off + 5, 100, off + 40, pg->height - 100) > 0.98);
    TAP_CHECK(ink(pg, off + 200, 100, off + cw - 10, pg->height / 2) == 0);
    /* The block at the image's top-left (200 x 300 px) ends at the page's
     * bottom-left: 420 px across, 280 rows up; nothing at the top-left. */
    TAP_CHECK(ink(pg, off + 200, pg->height - 250, off + 400, pg->height - 20) > 0.98);
    TAP_CHECK(ink(pg, off + 200, 20, off + 400, 250) < 0.02);
    tu_pages_free(pg, 1);
    return 0;
}

static void px_letter_frame(int x, int y, uint8_t *o)
{
    o[0] = (x < 20 || y < 20 || x >= 1700 - 20 || y >= 2200 - 20) ? 0 : 255;
}

static int png_200dpi_letter(void)
{
    const char *path = tu_path("letter.png");
    TAP_CHECK(write_png(path, 1700, 2200, PNG_COLOR_TYPE_GRAY, 200, px_letter_frame) == 0);
    struct tu_page *pg;
    TAP_CHECK(render(path, tu_path("letter-out.tif"), NULL, &pg) == 1);
    /* 8.5 x 11 in: like a Letter PDF page, shrunk to 1728, 2149 rows. */
    TAP_CHECK(abs(pg->height - 2149) <= 1);
    TAP_CHECK(ink(pg, 0, 100, 10, 2000) > 0.98 && ink(pg, FAXW - 10, 100, FAXW, 2000) > 0.98);
    TAP_CHECK(ink(pg, 100, 0, FAXW - 100, 10) > 0.98 && ink(pg, 100, pg->height - 10, FAXW - 100, pg->height) > 0.98);
    tu_pages_free(pg, 1);
    return 0;
}

/* Writes a grey JPEG from a generator, with an EXIF orientation if > 0. */
static int write_jpeg(const char *path, int w, int h, int orientation, void (*px)(int, int, uint8_t *))
{
    FILE *f = fopen(path, "wb");
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 92, TRUE);
    ci.write_JFIF_header = FALSE;
    jpeg_start_compress(&ci, TRUE);
    if (orientation > 0) {
        /* "Exif\0\0", little-endian TIFF header, IFD0 with one entry. */
        uint8_t app1[] = { 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
                           0x12, 0x01, 3, 0, 1, 0, 0, 0, (uint8_t)orientation, 0, 0, 0, 0, 0, 0, 0 };
        jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, sizeof app1);
    }
    uint8_t *row = malloc((size_t)w);
    JSAMPROW rp[1] = { row };
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++)
            px(x, y, row + x);
        jpeg_write_scanlines(&ci, rp, 1);
    }
    free(row);
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    return fclose(f);
}

/* Stored landscape 400 x 300 with a black square in its top-left corner. */
static void px_corner(int x, int y, uint8_t *o)
{
    *o = x < 80 && y < 80 ? 0 : 255;
}

static int jpeg_exif_orientation(void)
{
    /* Orientation 6: turn 90° clockwise to view. Viewed, the image is
     * portrait 300 x 400 and the square is at its top-right. */
    const char *path = tu_path("phone.jpg");
    TAP_CHECK(write_jpeg(path, 400, 300, 6, px_corner) == 0);
    struct tu_page *pg;
    TAP_CHECK(render(path, tu_path("phone-out.tif"), NULL, &pg) == 1);
    TAP_CHECK_STR(tu_json_get(json, "type"), "jpeg");
    /* Fitted to Letter: 594 x 792 pt (portrait, no turn). */
    int cw = (int)lround(594 * 204 / 72.0 * fmin(1.0, 1728 / (594 * 204 / 72.0)));
    int off = (FAXW - cw) / 2;
    printf("# %d x %d, content %d\n", pg->width, pg->height, cw);
    TAP_CHECK(ink(pg, off + cw - 200, 20, off + cw - 20, 200) > 0.95);     /* top-right */
    TAP_CHECK(ink(pg, off + 20, 20, off + 200, 200) < 0.05);                /* not top-left */
    TAP_CHECK(ink(pg, off + cw - 200, pg->height - 200, off + cw - 20, pg->height - 20) < 0.05);
    tu_pages_free(pg, 1);
    return 0;
}

static void px_photo(int x, int y, uint8_t *o)
{
    double v = 128 + 100 * sin(x / 40.0) * cos(y / 55.0);
    *o = (uint8_t)v;
}

static int jpeg_photo_dithered(void)
{
    const char *path = tu_path("photo.jpg");
    TAP_CHECK(write_jpeg(path, 1200, 900, 0, px_photo) == 0);
    struct tu_page *pg;
    TAP_CHECK(render(path, tu_path("photo-out.tif"), NULL, &pg) == 1);
    /* Dithered, not thresholded: mid-grey areas are a mix, and the page's
     * ink is about the image's mean darkness (50 %). */
    double total = ink(pg, 0, 0, FAXW, pg->height);
    printf("# photo ink %.3f\n", total);
    TAP_CHECK(total > 0.40 && total < 0.60);
    int mixed = 0, blocks = 0;
    for (int y = 0; y + 16 <= pg->height; y += 64)
        for (int x = 0; x + 16 <= FAXW; x += 64, blocks++) {
            double k = ink(pg, x, y, x + 16, y + 16);
            mixed += k > 0.05 && k < 0.95;
        }
    TAP_CHECK(mixed > blocks / 2);
    tu_pages_free(pg, 1);
    return 0;
}

static int cover_pages(void)
{
    struct tu_pdf_page p = { 612, 792, { 0 }, 0, NULL, 0 };
    const char *pdf = tu_path("doc.pdf");
    TAP_CHECK(tu_write_pdf(pdf, &p, 1) == 0);
    const char *std_cover = "{\"template\":\"standard\",\"recipient_name\":\"Dr. Jane Roe\","
                            "\"recipient_number\":\"+15005550001\",\"sender_name\":\"Acme Clinic\","
                            "\"subject\":\"Lab results\",\"message\":\"Please call us back.\","
                            "\"date\":\"2025-01-02\"}";
    const char *hipaa_cover = "{\"template\":\"hipaa\",\"recipient_name\":\"Dr. Jane Roe\"}";
    const char *e1[] = { "--cover", std_cover, NULL };
    struct tu_page *pg;
    TAP_CHECK(render(pdf, tu_path("c1.tif"), e1, &pg) == 2);
    TAP_CHECK_STR(tu_json_get(json, "pages"), "2");
    TAP_CHECK_STR(tu_json_get(json, "cover"), "true");
    TAP_CHECK(pg[0].page_no == 0 && pg[0].page_total == 2);
    /* The title "FAX" in the top-left, the heavy rule under it. */
    TAP_CHECK(ink(pg, 150, 150, 450, 300) > 0.1);
    double std_foot = ink(pg, 150, pg[0].height - 500, FAXW - 150, pg[0].height - 150);
    tu_pages_free(pg, 2);

    const char *e2[] = { "--cover", hipaa_cover, NULL };
    TAP_CHECK(render(pdf, tu_path("c2.tif"), e2, &pg) == 2);
    double hipaa_foot = ink(pg, 150, pg[0].height - 500, FAXW - 150, pg[0].height - 150);
    printf("# foot ink: standard %.4f, hipaa %.4f\n", std_foot, hipaa_foot);
    TAP_CHECK(hipaa_foot > 0.02 && std_foot < 0.001);       /* the notice */
    tu_pages_free(pg, 2);

    /* The cover counts against --max-pages. */
    const char *args[] = { "--in", pdf, "--out", tu_path("c3.tif"), "--cover", hipaa_cover, "--max-pages", "1", NULL };
    TAP_CHECK(tu_render(json, sizeof json, args) == 3);
    TAP_CHECK_STR(tu_json_get(json, "error"), "document_too_many_pages");
    /* A bad cover is the caller's mistake: usage. */
    const char *bad[] = { "--in", pdf, "--out", tu_path("c4.tif"), "--cover", "{\"template\":\"fancy\"}", NULL };
    TAP_CHECK(tu_render(json, sizeof json, bad) == 2);
    return 0;
}

static int read_png_size(const char *path, int *w, int *h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    uint8_t b[24];
    size_t n = fread(b, 1, 24, f);
    fclose(f);
    if (n != 24 || memcmp(b, "\x89PNG", 4))
        return -1;
    *w = b[16] << 24 | b[17] << 16 | b[18] << 8 | b[19];
    *h = b[20] << 24 | b[21] << 16 | b[22] << 8 | b[23];
    return 0;
}

static int previews(void)
{
    struct tu_pdf_page pages[2] = { { 612, 792, { 0 }, 0, NULL, 0 }, { 612, 1008, { 0 }, 0, NULL, 0 } };
    char dir[4200];
    snprintf(dir, sizeof dir, "%s", tu_path("pv"));
    const char *pdf = tu_path("pv.pdf");
    mkdir(dir, 0755);
    TAP_CHECK(tu_write_pdf(pdf, pages, 2) == 0);
    const char *extra[] = { "--preview-dir", dir, "--resolution", "standard", NULL };
    struct tu_page *pg;
    TAP_CHECK(render(pdf, tu_path("pv.tif"), extra, &pg) == 2);
    for (int i = 0; i < 2; i++) {
        char name[64];
        snprintf(name, sizeof name, "pv/page-%d.png", i + 1);
        int w, h;
        TAP_CHECK(read_png_size(tu_path(name), &w, &h) == 0);
        /* Half width, rows scaled so pixels are square again. */
        int expect_h = (int)lround(pg[i].height * (204.0 / 98.0) / 2.0);
        printf("# preview %d: %d x %d (fax page %d rows)\n", i + 1, w, h, pg[i].height);
        TAP_CHECK(w == 864 && h == expect_h);
    }
    tu_pages_free(pg, 2);
    /* Nothing else in the directory (the staging directory is gone). */
    int n = 0;
    char cmd[64];
    for (int i = 1; i <= 3; i++) {
        snprintf(cmd, sizeof cmd, "pv/page-%d.png", i);
        n += access(tu_path(cmd), F_OK) == 0;
    }
    TAP_CHECK(n == 2);
    TAP_CHECK(rmdir(dir) != 0);     /* not empty: only the two pages */
    unlink(tu_path("pv/page-1.png"));
    unlink(tu_path("pv/page-2.png"));
    TAP_CHECK(rmdir(dir) == 0);     /* and nothing hidden */
    return 0;
}

static const struct tap_case cases[] = {
    { "G3 fax TIFF 204x98, 2 pages, to fine: rows doubled", fax_tiff_to_fine },
    { "G4 fax TIFF at standard: bit for bit", fax_tiff_standard_exact },
    { "A4 grey LZW TIFF at 300 dpi: centred, frame whole", a4_grey_lzw_300dpi },
    { "tiled RGB TIFF at 100 dpi: actual size, centred", tiled_rgb_tiff },
    { "landscape PNG with alpha, no dpi: fitted and turned", png_landscape_fitted },
    { "PNG at 200 dpi: placed like a Letter page", png_200dpi_letter },
    { "JPEG with EXIF orientation 6: upright", jpeg_exif_orientation },
    { "JPEG photo: dithered", jpeg_photo_dithered },
    { "cover pages: standard, hipaa notice, counted", cover_pages },
    { "previews: half width, square pixels, nothing staged left", previews },
};

int main(void)
{
    tu_quiet_libtiff();
    tu_scratch("test_render_images");
    return tap_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
