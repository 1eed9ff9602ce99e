/* SPDX-License-Identifier: Apache-2.0
 *
 * test_geometry.c: the placement rules of geometry.h, one case each: the
 * formats, A4 centred unscaled, Letter shrunk to 1728, Legal whole, larger
 * pages fitted, landscape turned (with the matrix sending the page's top
 * edge to the fax's left edge), the length limit's precise code, nonsense
 * boxes, and images fitted to the paper.
 */
#include "config.h"
#include "geometry.h"
#include "tap.h"

#include <math.h>

static const struct mfx_fax_format *fine(void) { return mfx_fax_format_by_name("fine"); }
static const struct mfx_paper *letter(void) { return mfx_paper_by_name("letter"); }

static int place(double w, double h, enum mfx_fit fit, const char *res, struct mfx_placement *pl,
                 struct mfx_render_error *err)
{
    struct mfx_page_size ps = { w, h, fit };
    return mfx_geom_place(mfx_fax_format_by_name(res), &ps, letter(), MFX_PAGE_MAX_INCHES_DEFAULT, pl, err);
}

static int formats(void)
{
    TAP_CHECK(mfx_fax_format_by_name("standard")->ydpi == 98);
    TAP_CHECK(fine()->ydpi == 196);
    TAP_CHECK(mfx_fax_format_by_name("superfine")->ydpi == 391);
    TAP_CHECK(fine()->xdpi == 204);
    TAP_CHECK(mfx_fax_format_by_name("ultra") == NULL);
    TAP_CHECK(mfx_paper_by_name("legal")->height_pt == 1008);
    TAP_CHECK(mfx_paper_by_name("tabloid") == NULL);
    return 0;
}

static int a4_centred(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(595.2756, 841.8898, MFX_FIT_NONE, "fine", &pl, &err) == 0);
    TAP_CHECK(pl.scale == 1.0 && !pl.rotated);
    TAP_CHECK(pl.content_w == 1687 && pl.off_x == 20 && pl.width == 1728);
    TAP_CHECK(pl.height == (int)lround(841.8898 / 72 * 196));
    return 0;
}

static int letter_shrunk(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(612, 792, MFX_FIT_NONE, "fine", &pl, &err) == 0);
    /* 8.5 in at 204 dpi is 1734 px: one factor for both axes. */
    TAP_CHECK(fabs(pl.scale - 1728.0 / 1734.0) < 1e-9);
    TAP_CHECK(pl.content_w == 1728 && pl.off_x == 0);
    TAP_CHECK(pl.height == (int)lround(792.0 / 72 * 196 * pl.scale));
    TAP_CHECK(fabs(pl.px_per_pt_x / pl.px_per_pt_y - 204.0 / 196.0) < 1e-12);
    return 0;
}

static int legal_whole(void)
{
    struct mfx_placement l, g;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(612, 792, MFX_FIT_NONE, "standard", &l, &err) == 0);
    TAP_CHECK(place(612, 1008, MFX_FIT_NONE, "standard", &g, &err) == 0);
    TAP_CHECK(g.scale == l.scale);                  /* same width rule, no extra shrink */
    TAP_CHECK(g.height == (int)lround(1008.0 / 72 * 98 * g.scale));
    TAP_CHECK(g.height > l.height * 14 / 11 - 2);
    return 0;
}

static int larger_fitted(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(842, 1191, MFX_FIT_NONE, "fine", &pl, &err) == 0);    /* A3 */
    TAP_CHECK(pl.content_w == 1728 && pl.scale < 0.73 && pl.scale > 0.70);
    return 0;
}

static int landscape_turned(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(842, 595, MFX_FIT_NONE, "fine", &pl, &err) == 0);
    TAP_CHECK(pl.rotated && pl.scale == 1.0);
    TAP_CHECK(pl.content_w == (int)lround(595 / 72.0 * 204) && pl.height == (int)lround(842 / 72.0 * 196));
    /* The page's top-left corner (0, 0) goes to the fax's bottom-left, its
     * top-right (842, 0) to the top-left: the top edge becomes the left. */
    double m[6];
    mfx_geom_band_matrix(&pl, 0, m);
    double x = m[0] * 0 + m[2] * 0 + m[4], y = m[1] * 0 + m[3] * 0 + m[5];
    TAP_CHECK(fabs(x - pl.off_x) < 1e-9 && fabs(y - 842 * pl.px_per_pt_y) < 1e-6);
    x = m[0] * 842 + m[2] * 0 + m[4];
    y = m[1] * 842 + m[3] * 0 + m[5];
    TAP_CHECK(fabs(x - pl.off_x) < 1e-9 && fabs(y) < 1e-6);
    /* A band starting at row 100 is the same picture moved up 100 rows. */
    double mb[6];
    mfx_geom_band_matrix(&pl, 100, mb);
    TAP_CHECK(fabs(mb[5] - (m[5] - 100)) < 1e-9);
    return 0;
}

static int too_long_refused(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(612, 14400, MFX_FIT_NONE, "fine", &pl, &err) == -1);   /* 200 in */
    TAP_CHECK(err.code == MFX_RENDER_PAGE_TOO_LARGE);
    TAP_CHECK_STR(err.reason, "page_length");
    TAP_CHECK_STR(mfx_render_code_name(err.code), "document_page_too_large");
    /* 39 in fits under the 40 in default. */
    struct mfx_render_error ok = { 0 };
    TAP_CHECK(place(612, 39 * 72, MFX_FIT_NONE, "fine", &pl, &ok) == 0);
    return 0;
}

static int nonsense_box(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    TAP_CHECK(place(0, 792, MFX_FIT_NONE, "fine", &pl, &err) == -1);
    TAP_CHECK(err.code == MFX_RENDER_UNREADABLE);
    struct mfx_render_error e2 = { 0 };
    TAP_CHECK(place(NAN, 792, MFX_FIT_NONE, "fine", &pl, &e2) == -1);
    return 0;
}

static int images_fit_paper(void)
{
    struct mfx_placement pl;
    struct mfx_render_error err = { 0 };
    /* 200 x 100 px without a size: fitted to Letter turned landscape. */
    TAP_CHECK(place(200, 100, MFX_FIT_PAPER, "fine", &pl, &err) == 0);
    TAP_CHECK(pl.rotated && fabs(pl.page_w_pt - 792) < 1e-9 && fabs(pl.page_h_pt - 396) < 1e-9);
    /* A 2 x 2 in image with a size keeps it (shrink only). */
    TAP_CHECK(place(144, 144, MFX_FIT_SHRINK, "fine", &pl, &err) == 0);
    TAP_CHECK(pl.content_w == 408 && pl.off_x == 660);
    /* A 20 x 30 in image with a size is shrunk to the paper. */
    TAP_CHECK(place(1440, 2160, MFX_FIT_SHRINK, "fine", &pl, &err) == 0);
    TAP_CHECK(pl.page_h_pt <= 792 + 1e-9 && pl.page_w_pt <= 612 + 1e-9);
    return 0;
}

static const struct tap_case cases[] = {
    { "fax formats and papers by name", formats },
    { "A4: 1687 px, centred, unscaled", a4_centred },
    { "Letter: shrunk to 1728 px, one factor", letter_shrunk },
    { "Legal: whole and longer", legal_whole },
    { "A3: fitted to the width", larger_fitted },
    { "landscape: turned counter-clockwise", landscape_turned },
    { "200 in page: document_page_too_large", too_long_refused },
    { "empty or NaN box: unreadable", nonsense_box },
    { "images: fitted to the paper", images_fit_paper },
};

TAP_MAIN(cases)
