/* SPDX-License-Identifier: Apache-2.0
 *
 * pipeline.c: the order of work for one render (see pipeline.h). Memory is
 * sized once from the tallest page: one band raster per format (at most
 * MFX_BAND_ROWS rows, so a very long page is drawn in several bands), one
 * 1-bit page and one coding buffer bounded by the output budget. After a
 * band is made 1-bit, the tile rows it found inked are painted white again
 * (mfx_bilevel's repaint), so the next band starts on paper and converters
 * that draw with cairo need not paint the whole band white first.
 */
#include "config.h"
#include "pipeline.h"
#include "converter.h"
#include "cover.h"
#include "faxtiff.h"
#include "guard.h"
#include "outfile.h"
#include "preview.h"
#include "raster.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Rows per band: a fine or superfine Letter page is one band (15 MB of
 * RGB565); Legal at superfine and longer pages take two or more. A
 * multiple of MFX_BILEVEL_TILE. */
#define MFX_BAND_ROWS 4416

#define STRIDE_1BIT (MFX_FAX_WIDTH / 8)

/* A page of the fax: which document and which of its pages. */
struct page_ref {
    struct mfx_doc *doc;
    int index;
};

struct render_state {
    const struct mfx_render_opts *o;
    struct mfx_doc doc, cover_doc;
    int has_cover;
    int total;
    struct mfx_placement *place;        /* one per fax page */
    struct mfx_raster band[2];          /* indexed by enum mfx_raster_format */
    uint8_t *bits;                      /* 1-bit page */
    struct mfx_bilevel bl;
    struct mfx_t4_out coded;
    struct mfx_outfile out;
    struct mfx_faxtiff ft;
    struct mfx_previews pv;
    int out_open, ft_open, pv_open;
};

static struct page_ref page_ref(struct render_state *s, int i)
{
    struct page_ref r;
    if (s->has_cover && i == 0) {
        r.doc = &s->cover_doc;
        r.index = 0;
    } else {
        r.doc = &s->doc;
        r.index = i - s->has_cover;
    }
    return r;
}

/* Sizes and places every page; refuses a page too long before anything is
 * drawn. Returns the tallest page's rows, or -1. */
static int place_all(struct render_state *s, struct mfx_render_error *err)
{
    int tallest = 0;
    s->place = calloc((size_t)s->total, sizeof *s->place);
    if (!s->place)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory", "out of memory");
    for (int i = 0; i < s->total; i++) {
        struct page_ref r = page_ref(s, i);
        struct mfx_page_size ps;
        if (r.doc->conv->page_size(r.doc, r.index, &ps, err) < 0 ||
            mfx_geom_place(s->o->fmt, &ps, s->o->paper, s->o->max_page_inches, &s->place[i], err) < 0) {
            if (err->page == 0)
                err->page = i + 1;
            return -1;
        }
        if (s->place[i].height > tallest)
            tallest = s->place[i].height;
    }
    return tallest;
}

/* Allocates the band rasters the pages need and the 1-bit page. */
static int alloc_buffers(struct render_state *s, int tallest, struct mfx_render_error *err)
{
    int rows = tallest < MFX_BAND_ROWS ? tallest : MFX_BAND_ROWS;
    for (int i = 0; i < s->total; i++) {
        struct page_ref r = page_ref(s, i);
        enum mfx_raster_format f = r.doc->conv->format;
        if (!s->band[f].data && mfx_raster_init(&s->band[f], f, MFX_FAX_WIDTH, rows) < 0)
            return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit",
                                   "not enough memory for a %d-row page band", rows);
    }
    s->bits = malloc((size_t)tallest * STRIDE_1BIT);
    if (!s->bits || mfx_bilevel_init(&s->bl, s->o->optimize, MFX_FAX_WIDTH, rows) < 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "memory_limit",
                               "not enough memory for a %d-row page", tallest);
    s->bl.repaint = 1;
    return 0;
}

/* Draws, converts, codes and appends page i. */
static int do_page(struct render_state *s, int i, struct mfx_render_result *res,
                   struct mfx_render_error *err)
{
    const struct mfx_render_opts *o = s->o;
    struct page_ref r = page_ref(s, i);
    const struct mfx_placement *pl = &s->place[i];
    struct mfx_raster *band = &s->band[r.doc->conv->format];

    mfx_guard_set_page(i + 1);
    mfx_bilevel_begin_page(&s->bl);
    for (int y = 0; y < pl->height; y += band->cap_rows) {
        band->height = pl->height - y < band->cap_rows ? pl->height - y : band->cap_rows;
        /* White after the repaint below: these rows, and those already. */
        int white = band->clean_rows > band->height ? band->clean_rows : band->height;
        if (r.doc->conv->render(r.doc, r.index, pl, band, y, err) < 0) {
            if (err->page == 0)
                err->page = i + 1;
            return -1;
        }
        mfx_bilevel_band(&s->bl, band, s->bits + (size_t)y * STRIDE_1BIT, STRIDE_1BIT);
        band->clean_rows = white;   /* the bands are repainted (s->bl.repaint) */
    }
    res->image_tiles += s->bl.image_tiles;

    /* Code into a buffer bounded by what is left of the output budget. */
    struct stat st;
    uint64_t used = fstat(s->out.fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    uint64_t left = o->max_output > used + 4096 ? o->max_output - used - 4096 : 0;
    s->coded.len = 0;
    s->coded.max = left;
    if (mfx_t4_encode(s->bits, STRIDE_1BIT, MFX_FAX_WIDTH, pl->height, o->coding,
                      mfx_faxtiff_k(o->fmt), &s->coded) < 0 ||
        s->coded.len + 4096 > left) {
        err->page = i + 1;
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "output_limit",
                               "the fax image would be larger than the %llu-byte limit",
                               (unsigned long long)o->max_output);
    }
    if (mfx_faxtiff_add_page(&s->ft, s->coded.data, s->coded.len, pl->height) < 0) {
        err->page = i + 1;
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write",
                               "cannot write the fax image: %s", strerror(errno ? errno : EIO));
    }
    if (s->pv_open &&
        mfx_previews_add(&s->pv, i + 1, s->bits, STRIDE_1BIT, pl->height, o->fmt) < 0) {
        err->page = i + 1;
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write",
                               "cannot write the preview of page %d", i + 1);
    }
    return 0;
}

static void state_release(struct render_state *s)
{
    if (s->ft_open)
        mfx_faxtiff_close(&s->ft);
    if (s->out_open)
        mfx_outfile_discard(&s->out);
    if (s->pv_open)
        mfx_previews_discard(&s->pv);
    mfx_doc_close(&s->doc);
    mfx_doc_close(&s->cover_doc);
    free(s->place);
    mfx_raster_release(&s->band[0]);
    mfx_raster_release(&s->band[1]);
    free(s->bits);
    mfx_bilevel_release(&s->bl);
    free(s->coded.data);
}

int mfx_render_document(const struct mfx_render_opts *o, struct mfx_render_result *res,
                        struct mfx_render_error *err)
{
    int rc = -1;
    struct render_state s;
    memset(&s, 0, sizeof s);
    memset(res, 0, sizeof *res);
    s.o = o;

    struct mfx_open_limits lim = { o->max_image_pixels, o->paper };
    if (mfx_doc_open(&s.doc, o->in_path, &lim, err) < 0)
        goto out;
    res->type = s.doc.conv->name;
    s.has_cover = o->cover != NULL;
    s.total = s.doc.pages + s.has_cover;
    /* The page count comes first: nothing is drawn for a document over the limit. */
    if (s.total > o->max_pages) {
        mfx_render_fail(err, MFX_RENDER_TOO_MANY_PAGES, "max_pages",
                        "the document has %d pages%s; the limit is %d", s.total,
                        s.has_cover ? " with the cover page" : "", o->max_pages);
        goto out;
    }
    if (s.has_cover && mfx_cover_doc_open(&s.cover_doc, o->cover, o->paper, s.total, err) < 0)
        goto out;

    int tallest = place_all(&s, err);
    if (tallest < 0 || alloc_buffers(&s, tallest, err) < 0)
        goto out;

    if (mfx_outfile_create(&s.out, o->out_path, o->durable) < 0) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write", "cannot create %s: %s", o->out_path,
                        strerror(errno));
        goto out;
    }
    s.out_open = 1;
    if (mfx_faxtiff_open(&s.ft, s.out.fd, o->fmt, o->coding, s.total) < 0) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write", "cannot start the TIFF file");
        goto out;
    }
    s.ft_open = 1;
    if (o->preview_dir) {
        if (mfx_previews_begin(&s.pv, o->preview_dir) < 0) {
            mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write", "cannot write previews in %s: %s",
                            o->preview_dir, strerror(errno));
            goto out;
        }
        s.pv_open = 1;
    }

    for (int i = 0; i < s.total; i++)
        if (do_page(&s, i, res, err) < 0)
            goto out;

    s.ft_open = 0;
    if (mfx_faxtiff_close(&s.ft) < 0) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write", "cannot finish the fax image");
        goto out;
    }
    struct stat st;
    if (fstat(s.out.fd, &st) == 0)
        res->bytes = (uint64_t)st.st_size;
    if (res->bytes > o->max_output) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "output_limit",
                        "the fax image would be larger than the %llu-byte limit",
                        (unsigned long long)o->max_output);
        goto out;
    }
    s.out_open = 0;
    if (mfx_outfile_commit(&s.out) < 0) {
        mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write", "cannot save %s: %s", o->out_path,
                        strerror(errno));
        goto out;
    }
    if (s.pv_open) {
        s.pv_open = 0;
        if (mfx_previews_commit(&s.pv) < 0) {
            /* The TIFF is already in place: take it back, all or nothing. */
            unlink(o->out_path);
            mfx_render_fail(err, MFX_RENDER_UNREADABLE, "write", "cannot save the previews");
            goto out;
        }
    }
    res->pages = s.total;
    rc = 0;
out:
    mfx_guard_set_page(0);
    state_release(&s);
    return rc;
}
