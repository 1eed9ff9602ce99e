/* SPDX-License-Identifier: Apache-2.0
 *
 * converter.h: the interface every input type implements. A converter is a
 * const table (name, content sniffer, open, page size, render, close); the
 * table of built-ins is in converter.c, which picks one by the first bytes
 * of the file, never by its name. The pipeline (pipeline.c) asks a page's
 * size, places it with geometry.c, then has the converter draw the page a
 * band at a time into a raster of the converter's format.
 *
 * Converters: conv_pdf.c (poppler-glib + cairo), conv_tiff.c (libtiff),
 * conv_png.c (libpng), conv_jpeg.c (libjpeg); the three raster ones share
 * image_place.c for resampling to fax geometry.
 */
#ifndef MFX_CONVERTER_H
#define MFX_CONVERTER_H

#include <stddef.h>
#include "geometry.h"
#include "raster.h"
#include "render_error.h"

#define MFX_SNIFF_BYTES 1024    /* how much of the file sniff() is shown */

/* Limits that apply while reading a document. */
struct mfx_open_limits {
    double max_image_pixels;    /* decoded pixels per raster page */
    const struct mfx_paper *paper;  /* for images without a physical size */
};

/* An open document; converters keep their state behind priv. */
struct mfx_doc {
    const struct mfx_converter *conv;
    int pages;                  /* set by open() */
    struct mfx_open_limits limits;
    void *priv;
};

struct mfx_converter {
    const char *name;                   /* "pdf", "tiff", "png", "jpeg" */
    enum mfx_raster_format format;      /* what render() draws into */
    /* 1 if the first bytes are this type's. */
    int (*sniff)(const unsigned char *head, size_t len);
    /* Opens path into doc (conv and limits already set): sets doc->pages
     * and doc->priv. Returns 0, or -1 with err set. */
    int (*open)(struct mfx_doc *doc, const char *path, struct mfx_render_error *err);
    /* The size of page index (0-based) as displayed. Returns 0 or -1. */
    int (*page_size)(struct mfx_doc *doc, int index, struct mfx_page_size *out,
                     struct mfx_render_error *err);
    /* Draws rows [band_y, band_y + band->height) of page index, placed by
     * pl, into band (already the right format and width; the converter
     * paints the background white, or may leave it when band->clean_rows
     * says those rows are white already). Bands of a page come in order. */
    int (*render)(struct mfx_doc *doc, int index, const struct mfx_placement *pl,
                  struct mfx_raster *band, int band_y, struct mfx_render_error *err);
    /* Frees priv. */
    void (*close)(struct mfx_doc *doc);
};

extern const struct mfx_converter mfx_conv_pdf;
extern const struct mfx_converter mfx_conv_tiff;
extern const struct mfx_converter mfx_conv_png;
extern const struct mfx_converter mfx_conv_jpeg;

/* The converter whose sniff() accepts head, or NULL. */
const struct mfx_converter *mfx_converter_sniff(const unsigned char *head, size_t len);

/* Sniffs the file at path and opens it. Returns 0 with doc filled, or -1
 * with err set: unreadable (empty, I/O), unsupported (unknown type), or
 * whatever the converter's open() says. */
int mfx_doc_open(struct mfx_doc *doc,
                 const char *path,
                 const struct mfx_open_limits *limits,
                 struct mfx_render_error *err);     /* OUT */

/* Closes an open document (safe on a zeroed one). */
void mfx_doc_close(struct mfx_doc *doc);

#endif
