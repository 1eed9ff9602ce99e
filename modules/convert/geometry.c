/* SPDX-License-Identifier: Apache-2.0
 *
 * geometry.c: fax formats, paper sizes and the placement of a page on a fax
 * page (the rules are in geometry.h). Converters draw through the placement;
 * tests/test_geometry.c checks the rules one by one.
 */
#include "config.h"
#include "geometry.h"

#include <math.h>
#include <string.h>

static const struct mfx_fax_format formats[] = {
    { "standard", MFX_FAX_XDPI, 98.0 },
    { "fine", MFX_FAX_XDPI, 196.0 },
    { "superfine", MFX_FAX_XDPI, 391.0 },
};

static const struct mfx_paper papers[] = {
    { "letter", 612.0, 792.0 },
    { "a4", 595.2756, 841.8898 },   /* 210 x 297 mm */
    { "legal", 612.0, 1008.0 },
};

const struct mfx_fax_format *mfx_fax_format_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(formats[i].name, name))
            return &formats[i];
    return NULL;
}

const struct mfx_paper *mfx_paper_by_name(const char *name)
{
    for (size_t i = 0; name && i < sizeof papers / sizeof papers[0]; i++)
        if (!strcmp(papers[i].name, name))
            return &papers[i];
    return NULL;
}

/* Scales (w, h) to fit inside the paper, turned to the same orientation.
 * With shrink_only, a size that already fits is kept. */
static void fit_to_paper(double *w, double *h, const struct mfx_paper *paper, int shrink_only)
{
    double pw = paper->width_pt, ph = paper->height_pt;
    if (*w > *h) {
        double t = pw;
        pw = ph;
        ph = t;
    }
    double s = fmin(pw / *w, ph / *h);
    if (shrink_only && s >= 1.0)
        return;
    *w *= s;
    *h *= s;
}

int mfx_geom_place(const struct mfx_fax_format *fmt, const struct mfx_page_size *ps,
                   const struct mfx_paper *paper, double max_len_in,
                   struct mfx_placement *pl, struct mfx_render_error *err)
{
    memset(pl, 0, sizeof *pl);
    double w = ps->width_pt, h = ps->height_pt;
    /* 1e6 pt is 219 miles: anything bigger is a corrupt box, not a page. */
    if (!(w > 0.0 && h > 0.0 && w < 1e6 && h < 1e6))
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "page_box",
                               "the page has no usable size (%g x %g pt)", w, h);
    if (ps->fit != MFX_FIT_NONE)
        fit_to_paper(&w, &h, paper, ps->fit == MFX_FIT_SHRINK);
    pl->page_w_pt = w;
    pl->page_h_pt = h;

    /* Landscape pages are turned: the fax page's width is the page's height. */
    pl->rotated = w > h;
    double across = pl->rotated ? h : w, down = pl->rotated ? w : h;

    double full_x = fmt->xdpi / 72.0, full_y = fmt->ydpi / 72.0;
    double natural_w = across * full_x;
    pl->scale = natural_w > MFX_FAX_WIDTH ? MFX_FAX_WIDTH / natural_w : 1.0;
    pl->px_per_pt_x = full_x * pl->scale;
    pl->px_per_pt_y = full_y * pl->scale;

    double len_in = down / 72.0 * pl->scale;
    if (len_in > max_len_in)
        return mfx_render_fail(err, MFX_RENDER_PAGE_TOO_LARGE, "page_length",
                               "the page is %.1f inches long once fitted to the fax width; "
                               "the limit is %.0f inches", len_in, max_len_in);

    pl->width = MFX_FAX_WIDTH;
    pl->content_w = (int)lround(across * pl->px_per_pt_x);
    if (pl->content_w > MFX_FAX_WIDTH)
        pl->content_w = MFX_FAX_WIDTH;
    if (pl->content_w < 1)
        pl->content_w = 1;
    pl->content_h = (int)lround(down * pl->px_per_pt_y);
    if (pl->content_h < 1)
        pl->content_h = 1;
    pl->height = pl->content_h;
    pl->off_x = (MFX_FAX_WIDTH - pl->content_w) / 2;
    pl->off_y = 0;
    return 0;
}

void mfx_geom_band_matrix(const struct mfx_placement *pl, int band_y, double m[6])
{
    double sx = pl->px_per_pt_x, sy = pl->px_per_pt_y;
    if (!pl->rotated) {
        /* x = off_x + sx*u, y = off_y + sy*v */
        m[0] = sx; m[1] = 0; m[2] = 0; m[3] = sy;
        m[4] = pl->off_x;
        m[5] = pl->off_y - band_y;
    } else {
        /* Turned counter-clockwise: the page's top edge (v = 0) becomes the
         * left edge, its right edge (u = W) the top: x = off_x + sx*v,
         * y = off_y + sy*(W - u). */
        m[0] = 0; m[1] = -sy; m[2] = sx; m[3] = 0;
        m[4] = pl->off_x;
        m[5] = pl->off_y + sy * pl->page_w_pt - band_y;
    }
}
