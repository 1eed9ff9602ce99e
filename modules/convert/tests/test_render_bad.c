/* SPDX-License-Identifier: Apache-2.0
 *
 * test_render_bad.c: hostile and broken input to mintfax-render, one case
 * each: a truncated PDF, an encrypted PDF, a PDF of 10,000 pages (refused
 * by the page count before any page is drawn), a page 200 inches long, a
 * PNG declaring 100000 x 100000 pixels in a few bytes, a JPEG declaring
 * 65000 x 65000, a text file called .pdf, an empty file, a TIFF whose page
 * chain points past its end or loops, a corrupt PNG, and a decompression
 * bomb inside a PDF that only the CPU and memory limits stop. Each must end
 * with exit status 3, one JSON line with the catalogued code, and no file
 * left behind: no output, no temporary, no preview.
 */
#include "config.h"
#include "tap.h"
#include "testutil.h"

#include <jpeglib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <tiffio.h>
#include <unistd.h>
#include <zlib.h>

static char json[2048];

/* Runs mintfax-render on in (plus extra args) and checks the failure:
 * exit 3, ok false, the error code, a message, and nothing written. */
static int expect_failure(const char *in, const char *code, const char *const *extra)
{
    const char *pv = tu_path("previews");
    mkdir(pv, 0755);
    const char *args[32] = { "--in", in, "--out", tu_path("out.tif"), "--preview-dir", pv };
    int n = 6;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    int st = tu_render(json, sizeof json, args);
    printf("# %s", json);
    TAP_CHECK(st == 3);
    TAP_CHECK(strchr(json, '\n') == json + strlen(json) - 1);     /* one line */
    TAP_CHECK_STR(tu_json_get(json, "ok"), "false");
    TAP_CHECK_STR(tu_json_get(json, "error"), code);
    TAP_CHECK(tu_json_get(json, "message") && strlen(tu_json_get(json, "message")) > 10);
    TAP_CHECK(tu_count_files("out.tif") == 0);                    /* nor out.tif.* */
    struct stat sb;
    TAP_CHECK(stat(pv, &sb) == 0);
    TAP_CHECK(rmdir(pv) == 0);                                      /* still empty */
    return 0;
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fwrite(data, 1, len, f);
    return fclose(f);
}

static int truncated_pdf(void)
{
    struct tu_pdf_page p = { 612, 792, { 0 }, 0, NULL, 1 };
    const char *pdf = tu_path("trunc.pdf");
    TAP_CHECK(tu_write_pdf(pdf, &p, 1) == 0);
    struct stat sb;
    TAP_CHECK(stat(pdf, &sb) == 0);
    TAP_CHECK(truncate(pdf, sb.st_size * 6 / 10) == 0);
    TAP_CHECK(expect_failure(pdf, "document_unreadable", NULL) == 0);
    TAP_CHECK_STR(tu_json_get(json, "reason"), "truncated");
    return 0;
}

static int encrypted_pdf(void)
{
    /* Standard security handler, revision 2: the empty user password does
     * not match /U, so the document cannot be opened without a password. */
    struct tu_pdf *p = tu_pdf_new();
    int cat = tu_pdf_reserve(p);
    int pages = tu_pdf_reserve(p);
    const char *c = "0 g 72 72 100 100 re f";
    int content = tu_pdf_stream(p, "", c, strlen(c));
    char body[256];
    snprintf(body, sizeof body, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>",
             pages, content);
    int page = tu_pdf_obj(p, body);
    snprintf(body, sizeof body, "<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", page);
    tu_pdf_set(p, pages, body);
    snprintf(body, sizeof body, "<< /Type /Catalog /Pages %d 0 R >>", pages);
    tu_pdf_set(p, cat, body);
    int enc = tu_pdf_obj(p, "<< /Filter /Standard /V 1 /R 2 /Length 40 /P -44 "
                            "/O <6F2D0E4A1E0F9C3B8D7A6C5B4E3F2A1B0C9D8E7F6A5B4C3D2E1F0A9B8C7D6E5F> "
                            "/U <0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF> >>");
    char trailer[256];
    snprintf(trailer, sizeof trailer,
             "/Encrypt %d 0 R /ID [<00112233445566778899AABBCCDDEEFF><00112233445566778899AABBCCDDEEFF>]", enc);
    const char *pdf = tu_path("enc.pdf");
    TAP_CHECK(tu_pdf_write(p, pdf, cat, trailer) == 0);
    tu_pdf_free(p);
    return expect_failure(pdf, "document_encrypted", NULL);
}

static int ten_thousand_pages(void)
{
    /* 10,000 real page objects; refused from the page count alone, so it
     * takes far less than the CPU limit given. */
    struct tu_pdf *p = tu_pdf_new();
    int cat = tu_pdf_reserve(p);
    int pages = tu_pdf_reserve(p);
    const char *c = "0 g 72 72 100 100 re f";
    int content = tu_pdf_stream(p, "", c, strlen(c));
    size_t klen = 10000 * 12 + 64, kl = 0;
    char *kids = malloc(klen);
    char body[256];
    for (int i = 0; i < 10000; i++) {
        snprintf(body, sizeof body, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R >>",
                 pages, content);
        kl += (size_t)snprintf(kids + kl, klen - kl, "%d 0 R ", tu_pdf_obj(p, body));
    }
    char *tree = malloc(klen + 64);
    snprintf(tree, klen + 64, "<< /Type /Pages /Kids [%s] /Count 10000 >>", kids);
    tu_pdf_set(p, pages, tree);
    free(tree);
    free(kids);
    snprintf(body, sizeof body, "<< /Type /Catalog /Pages %d 0 R >>", pages);
    tu_pdf_set(p, cat, body);
    const char *pdf = tu_path("many.pdf");
    TAP_CHECK(tu_pdf_write(p, pdf, cat, NULL) == 0);
    tu_pdf_free(p);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    const char *extra[] = { "--max-pages", "200", "--cpu-seconds", "5", NULL };
    TAP_CHECK(expect_failure(pdf, "document_too_many_pages", extra) == 0);
    gettimeofday(&t1, NULL);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_usec - t0.tv_usec) / 1e6;
    printf("# refused in %.2f s\n", s);
    TAP_CHECK(strstr(tu_json_get(json, "message"), "10000 pages") != NULL);
    TAP_CHECK(s < 3.0);
    return 0;
}

static int page_200_inches(void)
{
    struct tu_pdf_page p = { 612, 14400, { 0 }, 0, "0 g 0 0 612 14400 re f", 0 };
    const char *pdf = tu_path("long.pdf");
    TAP_CHECK(tu_write_pdf(pdf, &p, 1) == 0);
    TAP_CHECK(expect_failure(pdf, "document_page_too_large", NULL) == 0);
    TAP_CHECK_STR(tu_json_get(json, "page"), "1");
    TAP_CHECK_STR(tu_json_get(json, "reason"), "page_length");
    return 0;
}

/* Appends a PNG chunk (length, type, data, CRC). */
static size_t png_chunk(uint8_t *out, const char *type, const uint8_t *data, uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    uLong crc = crc32(0, out + 4, len + 4);
    out[8 + len] = (uint8_t)(crc >> 24);
    out[9 + len] = (uint8_t)(crc >> 16);
    out[10 + len] = (uint8_t)(crc >> 8);
    out[11 + len] = (uint8_t)crc;
    return 12 + len;
}

static int png_bomb(void)
{
    /* 100000 x 100000 grey pixels declared (10 gigapixels); the file is a
     * few hundred bytes. */
    uint8_t buf[4096], ihdr[13] = { 0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0, 8, 0, 0, 0, 0 };
    size_t n = 0;
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    n += 8;
    n += png_chunk(buf + n, "IHDR", ihdr, 13);
    uint8_t raw[1024] = { 0 }, z[1024];
    uLongf zl = sizeof z;
    compress(z, &zl, raw, sizeof raw);
    n += png_chunk(buf + n, "IDAT", z, (uint32_t)zl);
    n += png_chunk(buf + n, "IEND", NULL, 0);
    const char *png = tu_path("bomb.png");
    TAP_CHECK(write_file(png, buf, n) == 0);
    TAP_CHECK(expect_failure(png, "document_page_too_large", NULL) == 0);
    TAP_CHECK_STR(tu_json_get(json, "reason"), "image_pixels");
    return 0;
}

static int png_corrupt(void)
{
    /* A valid header, then image data that does not inflate. */
    uint8_t buf[4096], ihdr[13] = { 0, 0, 1, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0 };   /* 256 x 256 */
    size_t n = 0;
    memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
    n += 8;
    n += png_chunk(buf + n, "IHDR", ihdr, 13);
    uint8_t junk[300];
    for (int i = 0; i < 300; i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    n += png_chunk(buf + n, "IDAT", junk, sizeof junk);
    n += png_chunk(buf + n, "IEND", NULL, 0);
    const char *png = tu_path("corrupt.png");
    TAP_CHECK(write_file(png, buf, n) == 0);
    return expect_failure(png, "document_unreadable", NULL);
}

static int jpeg_bomb(void)
{
    /* A real 16 x 16 JPEG whose SOF is patched to 65000 x 65000. */
    const char *path = tu_path("bomb.jpg");
    FILE *f = fopen(path, "wb");
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = 16;
    ci.image_height = 16;
    ci.input_components = 1;
    ci.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&ci);
    jpeg_start_compress(&ci, TRUE);
    JSAMPLE row[16] = { 0 };
    JSAMPROW rp[1] = { row };
    for (int i = 0; i < 16; i++)
        jpeg_write_scanlines(&ci, rp, 1);
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    fclose(f);
    /* Patch the SOF0 marker's height and width. */
    f = fopen(path, "r+b");
    uint8_t b[4096];
    size_t n = fread(b, 1, sizeof b, f);
    int patched = 0;
    for (size_t i = 0; i + 9 < n; i++)
        if (b[i] == 0xFF && b[i + 1] == 0xC0) {
            b[i + 5] = 0xFD;
            b[i + 6] = 0xE8;
            b[i + 7] = 0xFD;
            b[i + 8] = 0xE8;
            patched = 1;
            break;
        }
    fseek(f, 0, SEEK_SET);
    fwrite(b, 1, n, f);
    fclose(f);
    TAP_CHECK(patched);
    return expect_failure(path, "document_page_too_large", NULL);
}

static int text_called_pdf(void)
{
    const char *path = tu_path("letter.pdf");
    const char *text = "Dear Sir,\nplease find attached the invoice.\n";
    TAP_CHECK(write_file(path, text, strlen(text)) == 0);
    return expect_failure(path, "document_unsupported", NULL);
}

static int empty_file(void)
{
    const char *path = tu_path("empty.pdf");
    TAP_CHECK(write_file(path, "", 0) == 0);
    TAP_CHECK(expect_failure(path, "document_unreadable", NULL) == 0);
    TAP_CHECK_STR(tu_json_get(json, "reason"), "empty");
    return 0;
}

/* A two-page 1-bit TIFF whose first directory's next-IFD offset is then
 * replaced by next (a function of the first IFD's offset and file size). */
static int broken_tiff(const char *name, int loop)
{
    const char *path = tu_path(name);
    TIFF *t = TIFFOpen(path, "w");
    uint8_t row[216];
    memset(row, 0x0F, sizeof row);
    for (int p = 0; p < 2; p++) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 1728);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, 100);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 100);
        TIFFSetField(t, TIFFTAG_XRESOLUTION, 204.0);
        TIFFSetField(t, TIFFTAG_YRESOLUTION, 196.0);
        TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
        for (int y = 0; y < 100; y++)
            TIFFWriteScanline(t, row, (uint32_t)y, 0);
        TIFFWriteDirectory(t);
    }
    TIFFClose(t);
    FILE *f = fopen(path, "r+b");
    uint8_t h[8];
    if (fread(h, 1, 8, f) != 8 || h[0] != 'I')
        return -1;
    uint32_t ifd = h[4] | h[5] << 8 | h[6] << 16 | (uint32_t)h[7] << 24;
    uint8_t cnt[2];
    fseek(f, (long)ifd, SEEK_SET);
    if (fread(cnt, 1, 2, f) != 2)
        return -1;
    long next_at = (long)ifd + 2 + 12 * (cnt[0] | cnt[1] << 8);
    fseek(f, 0, SEEK_END);
    uint32_t next = loop ? ifd : (uint32_t)ftell(f) + 4096;
    uint8_t v[4] = { (uint8_t)next, (uint8_t)(next >> 8), (uint8_t)(next >> 16), (uint8_t)(next >> 24) };
    fseek(f, next_at, SEEK_SET);
    fwrite(v, 1, 4, f);
    fclose(f);
    return 0;
}

static int tiff_ifd_past_end(void)
{
    TAP_CHECK(broken_tiff("past.tif", 0) == 0);
    TAP_CHECK(expect_failure(tu_path("past.tif"), "document_unreadable", NULL) == 0);
    TAP_CHECK_STR(tu_json_get(json, "reason"), "tiff_ifd");
    return 0;
}

static int tiff_ifd_loop(void)
{
    TAP_CHECK(broken_tiff("loop.tif", 1) == 0);
    TAP_CHECK(expect_failure(tu_path("loop.tif"), "document_unreadable", NULL) == 0);
    TAP_CHECK_STR(tu_json_get(json, "reason"), "tiff_ifd");
    return 0;
}

static int decompression_bomb_pdf(void)
{
    /* A 30000 x 30000 grey image (900 MB inflated) from about 1 MB of
     * Flate data: only the CPU and memory limits stop it. */
    const size_t side = 30000, total = side * side;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit(&zs, 9);
    size_t cap = total / 900 + 65536, len = 0;
    uint8_t *out = malloc(cap), *zero = calloc(1, 1 << 20);
    for (size_t done = 0; done < total;) {
        size_t chunk = total - done < (1u << 20) ? total - done : (1u << 20);
        done += chunk;
        zs.next_in = zero;
        zs.avail_in = (uInt)chunk;
        do {
            zs.next_out = out + len;
            zs.avail_out = (uInt)(cap - len);
            deflate(&zs, done == total ? Z_FINISH : Z_NO_FLUSH);
            len = cap - zs.avail_out;
        } while (zs.avail_in > 0 || (done == total && len < cap && zs.avail_out == 0));
    }
    deflateEnd(&zs);
    free(zero);
    struct tu_pdf *p = tu_pdf_new();
    int cat = tu_pdf_reserve(p), pages = tu_pdf_reserve(p);
    int img = tu_pdf_stream(p, "/Type /XObject /Subtype /Image /Width 30000 /Height 30000 /ColorSpace "
                               "/DeviceGray /BitsPerComponent 8 /Filter /FlateDecode", out, len);
    free(out);
    const char *c = "q 612 0 0 792 0 0 cm /Im1 Do Q";
    int content = tu_pdf_stream(p, "", c, strlen(c));
    char body[512];
    snprintf(body, sizeof body, "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Resources << /XObject "
             "<< /Im1 %d 0 R >> >> /Contents %d 0 R >>", pages, img, content);
    int page = tu_pdf_obj(p, body);
    snprintf(body, sizeof body, "<< /Type /Pages /Kids [%d 0 R] /Count 1 >>", page);
    tu_pdf_set(p, pages, body);
    snprintf(body, sizeof body, "<< /Type /Catalog /Pages %d 0 R >>", pages);
    tu_pdf_set(p, cat, body);
    const char *pdf = tu_path("bomb.pdf");
    TAP_CHECK(tu_pdf_write(p, pdf, cat, NULL) == 0);
    tu_pdf_free(p);
    const char *extra[] = { "--cpu-seconds", "2", "--max-memory", "512M", NULL };
    return expect_failure(pdf, "document_unreadable", extra);
}

static int old_output_kept(void)
{
    /* A failed render leaves an earlier file at the same path untouched. */
    const char *out = tu_path("out.tif");
    TAP_CHECK(write_file(out, "previous", 8) == 0);
    const char *in = tu_path("empty2.pdf");
    TAP_CHECK(write_file(in, "", 0) == 0);
    const char *args[] = { "--in", in, "--out", out, NULL };
    TAP_CHECK(tu_render(json, sizeof json, args) == 3);
    struct stat sb;
    TAP_CHECK(stat(out, &sb) == 0 && sb.st_size == 8);
    TAP_CHECK(tu_count_files("out.tif") == 1);
    unlink(out);
    return 0;
}

static int usage_errors(void)
{
    const char *a1[] = { "--out", tu_path("x.tif"), NULL };
    TAP_CHECK(tu_render(json, sizeof json, a1) == 2);
    TAP_CHECK_STR(tu_json_get(json, "error"), "usage");
    const char *a2[] = { "--in", "a.pdf", "--out", "b.tif", "--resolution", "ultra", NULL };
    TAP_CHECK(tu_render(json, sizeof json, a2) == 2);
    const char *a3[] = { "--in", "a.pdf", "--out", "b.tif", "--cover", "{not json", NULL };
    TAP_CHECK(tu_render(json, sizeof json, a3) == 2);
    const char *a4[] = { "--in", "a.pdf", "--out", "b.tif", "--bogus", NULL };
    TAP_CHECK(tu_render(json, sizeof json, a4) == 2);
    return 0;
}

static const struct tap_case cases[] = {
    { "truncated PDF: document_unreadable (truncated)", truncated_pdf },
    { "encrypted PDF without password: document_encrypted", encrypted_pdf },
    { "10,000 pages: document_too_many_pages before rendering", ten_thousand_pages },
    { "a page 200 inches long: document_page_too_large", page_200_inches },
    { "PNG declaring 100000 x 100000: document_page_too_large", png_bomb },
    { "corrupt PNG data: document_unreadable", png_corrupt },
    { "JPEG declaring 65000 x 65000: document_page_too_large", jpeg_bomb },
    { "a text file called .pdf: document_unsupported", text_called_pdf },
    { "an empty file: document_unreadable (empty)", empty_file },
    { "TIFF page chain past the end: document_unreadable", tiff_ifd_past_end },
    { "TIFF page chain looping: document_unreadable", tiff_ifd_loop },
    { "decompression bomb in a PDF: stopped by the limits", decompression_bomb_pdf },
    { "a failed render keeps the previous output", old_output_kept },
    { "usage errors exit 2", usage_errors },
};

int main(void)
{
    tu_quiet_libtiff();
    tu_scratch("test_render_bad");
    return tap_run(cases, (int)(sizeof cases / sizeof cases[0]));
}
