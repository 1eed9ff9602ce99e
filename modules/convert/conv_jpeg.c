/* SPDX-License-Identifier: Apache-2.0
 *
 * conv_jpeg.c: JPEG images (one page each) through libjpeg. The header is
 * read at open (size limit checked there). Decoding asks libjpeg for grey
 * directly and lets it scale by 1/2, 1/4 or 1/8 in the DCT when the image
 * is much larger than its place on the fax, which is most of the work saved
 * for camera photos. The EXIF orientation (APP1) is honoured, so a photo
 * taken upright is sent upright. CMYK (Adobe) is converted by hand.
 */
#include "config.h"
#include "converter.h"
#include "image_place.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>        /* after stdio.h, which it needs */

struct jpeg_doc_err {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};

struct jpeg_doc {
    FILE *f;
    struct jpeg_decompress_struct cinfo;
    struct jpeg_doc_err jerr;
    int created;
    int w, h, orient;
    double xdpi, ydpi;
    struct mfx_image_place ip;
    int decoded;
    JSAMPLE *row;                   /* one decoded row (1 or 4 samples per pixel) */
    uint8_t *grey;
};

static int jpeg_sniff(const unsigned char *head, size_t len)
{
    return len >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF;
}

static void on_error(j_common_ptr cinfo)
{
    struct jpeg_doc_err *e = (struct jpeg_doc_err *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, e->msg);
    longjmp(e->jb, 1);
}

static void on_message(j_common_ptr cinfo)
{
    (void)cinfo;    /* warnings (corrupt data recovered) stay quiet */
}

/* Reads a 16- or 32-bit EXIF integer in the byte order of the block. */
static unsigned exif_get(const unsigned char *p, int le, int n)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++)
        v |= (unsigned)p[le ? i : n - 1 - i] << (8 * i);
    return v;
}

/* The EXIF Orientation (tag 0x0112 of IFD0) from an APP1 block, or 1. */
static int exif_orientation(const unsigned char *d, unsigned len)
{
    if (len < 14 || memcmp(d, "Exif\0\0", 6))
        return MFX_ORIENT_NORMAL;
    const unsigned char *t = d + 6;
    unsigned n = len - 6;
    int le = t[0] == 'I' && t[1] == 'I';
    if (!le && !(t[0] == 'M' && t[1] == 'M'))
        return MFX_ORIENT_NORMAL;
    unsigned ifd = exif_get(t + 4, le, 4);
    if (ifd + 2 > n)
        return MFX_ORIENT_NORMAL;
    unsigned count = exif_get(t + ifd, le, 2);
    for (unsigned i = 0; i < count; i++) {
        unsigned e = ifd + 2 + 12 * i;
        if (e + 12 > n)
            break;
        if (exif_get(t + e, le, 2) == 0x0112) {
            unsigned v = exif_get(t + e + 8, le, 2);
            return v >= 1 && v <= 8 ? (int)v : MFX_ORIENT_NORMAL;
        }
    }
    return MFX_ORIENT_NORMAL;
}

static void jpeg_doc_free(struct jpeg_doc *p)
{
    if (!p)
        return;
    if (p->created)
        jpeg_destroy_decompress(&p->cinfo);
    if (p->f)
        fclose(p->f);
    mfx_image_place_release(&p->ip);
    free(p->row);
    free(p->grey);
    free(p);
}

static int jpeg_open(struct mfx_doc *doc, const char *path, struct mfx_render_error *err)
{
    struct jpeg_doc *p = calloc(1, sizeof *p);
    if (!p)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    p->f = fopen(path, "rbe");
    if (!p->f) {
        jpeg_doc_free(p);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "io", "cannot open the JPEG");
    }
    p->cinfo.err = jpeg_std_error(&p->jerr.mgr);
    p->jerr.mgr.error_exit = on_error;
    p->jerr.mgr.output_message = on_message;
    if (setjmp(p->jerr.jb)) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "jpeg", "the JPEG cannot be read: %s", p->jerr.msg);
        jpeg_doc_free(p);
        return -1;
    }
    jpeg_create_decompress(&p->cinfo);
    p->created = 1;
    jpeg_stdio_src(&p->cinfo, p->f);
    jpeg_save_markers(&p->cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&p->cinfo, TRUE);
    p->w = (int)p->cinfo.image_width;
    p->h = (int)p->cinfo.image_height;
    double pixels = (double)p->w * p->h;
    if (pixels > doc->limits.max_image_pixels) {
        mfx_render_fail(err, MFX_RENDER_PAGE_TOO_LARGE, "image_pixels",
                        "the JPEG is %d x %d pixels (%.0f megapixels); the limit is %.0f megapixels",
                        p->w, p->h, pixels / 1e6, doc->limits.max_image_pixels / 1e6);
        jpeg_doc_free(p);
        return -1;
    }
    p->orient = MFX_ORIENT_NORMAL;
    for (jpeg_saved_marker_ptr m = p->cinfo.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1)
            p->orient = exif_orientation(m->data, m->data_length);
    if (p->cinfo.saw_JFIF_marker && p->cinfo.X_density && p->cinfo.Y_density) {
        double k = p->cinfo.density_unit == 1 ? 1.0 : p->cinfo.density_unit == 2 ? 2.54 : 0.0;
        p->xdpi = p->cinfo.X_density * k;
        p->ydpi = p->cinfo.Y_density * k;
    }
    doc->priv = p;
    doc->pages = 1;
    return 0;
}

static int jpeg_page_size(struct mfx_doc *doc, int index, struct mfx_page_size *out,
                          struct mfx_render_error *err)
{
    (void)index;
    (void)err;
    struct jpeg_doc *p = doc->priv;
    mfx_image_page_size(p->w, p->h, p->xdpi, p->ydpi, p->orient, out);
    return 0;
}

/* Decodes the image into p->ip; buffers hang off p so nothing local lives
 * across libjpeg's longjmp. */
static int decode(struct jpeg_doc *p, const struct mfx_placement *pl, struct mfx_render_error *err)
{
    if (setjmp(p->jerr.jb))
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "jpeg", "the JPEG cannot be read: %s", p->jerr.msg);
    struct jpeg_decompress_struct *ci = &p->cinfo;
    int cmyk = ci->jpeg_color_space == JCS_CMYK || ci->jpeg_color_space == JCS_YCCK;
    ci->out_color_space = cmyk ? JCS_CMYK : JCS_GRAYSCALE;
    /* Shrink in the DCT as far as the result still has enough pixels. */
    int tw, th;
    mfx_image_place_dst_size(p->orient, pl, &tw, &th);
    ci->scale_num = 1;
    ci->scale_denom = 1;
    for (unsigned d = 8; d > 1; d /= 2) {
        if ((p->w + (int)d - 1) / (int)d >= tw && (p->h + (int)d - 1) / (int)d >= th) {
            ci->scale_denom = d;
            break;
        }
    }
    ci->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(ci);
    int ow = (int)ci->output_width, oh = (int)ci->output_height, nc = ci->output_components;
    if (mfx_image_place_begin(&p->ip, ow, oh, p->orient, pl) < 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
    p->row = malloc((size_t)ow * (size_t)nc);
    p->grey = malloc((size_t)ow);
    if (!p->row || !p->grey)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit", "out of memory for the image");
    int inverted = ci->saw_Adobe_marker;    /* Adobe writes CMYK inverted */
    while (ci->output_scanline < ci->output_height) {
        JSAMPROW rows[1] = { p->row };
        jpeg_read_scanlines(ci, rows, 1);
        if (!cmyk) {
            mfx_image_place_row(&p->ip, p->row);
            continue;
        }
        for (int x = 0; x < ow; x++) {
            const JSAMPLE *s = p->row + 4 * x;
            unsigned c = s[0], m = s[1], y = s[2], k = s[3];
            if (!inverted) {
                c = 255 - c;
                m = 255 - m;
                y = 255 - y;
                k = 255 - k;
            }
            /* Now 255 = no ink: r = c' * k' / 255 and so on. */
            unsigned r = c * k / 255, g = m * k / 255, b = y * k / 255;
            p->grey[x] = (uint8_t)((r * 77 + g * 150 + b * 29 + 128) >> 8);
        }
        mfx_image_place_row(&p->ip, p->grey);
    }
    jpeg_finish_decompress(ci);
    mfx_image_place_finish(&p->ip);
    p->decoded = 1;
    return 0;
}

static int jpeg_render(struct mfx_doc *doc, int index, const struct mfx_placement *pl,
                       struct mfx_raster *band, int band_y, struct mfx_render_error *err)
{
    (void)index;
    struct jpeg_doc *p = doc->priv;
    if (!p->decoded && decode(p, pl, err) < 0)
        return -1;
    mfx_image_place_band(&p->ip, band, band_y);
    return 0;
}

static void jpeg_close(struct mfx_doc *doc)
{
    jpeg_doc_free(doc->priv);
    doc->priv = NULL;
}

const struct mfx_converter mfx_conv_jpeg = {
    .name = "jpeg",
    .format = MFX_RASTER_GREY8,
    .sniff = jpeg_sniff,
    .open = jpeg_open,
    .page_size = jpeg_page_size,
    .render = jpeg_render,
    .close = jpeg_close,
};
