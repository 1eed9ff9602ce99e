/* SPDX-License-Identifier: Apache-2.0
 *
 * faxtiff.c: the TIFF Class F container around pages coded by t4enc.c
 * (see faxtiff.h). libtiff writes the directories; the strips are stored as
 * they are (TIFFWriteRawStrip), so libtiff's own codec never runs.
 */
#include "config.h"
#include "faxtiff.h"

#include <string.h>
#include <unistd.h>

int mfx_faxtiff_k(const struct mfx_fax_format *fmt)
{
    return fmt->ydpi < 150 ? 2 : 4;
}

int mfx_faxtiff_open(struct mfx_faxtiff *ft, int fd, const struct mfx_fax_format *fmt,
                     enum mfx_t4_coding coding, int pages_total)
{
    memset(ft, 0, sizeof *ft);
    int dfd = dup(fd);
    if (dfd < 0)
        return -1;
    ft->tif = TIFFFdOpen(dfd, "fax.tif", "w");
    if (!ft->tif) {
        close(dfd);
        return -1;
    }
    ft->fmt = fmt;
    ft->coding = coding;
    ft->pages_total = pages_total;
    return 0;
}

int mfx_faxtiff_add_page(struct mfx_faxtiff *ft, uint8_t *coded, size_t len, int rows)
{
    TIFF *t = ft->tif;
    TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, (uint32_t)MFX_FAX_WIDTH);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, (uint32_t)rows);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 1);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISWHITE);
    TIFFSetField(t, TIFFTAG_FILLORDER, FILLORDER_LSB2MSB);
    TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    TIFFSetField(t, TIFFTAG_XRESOLUTION, (float)ft->fmt->xdpi);
    TIFFSetField(t, TIFFTAG_YRESOLUTION, (float)ft->fmt->ydpi);
    TIFFSetField(t, TIFFTAG_RESOLUTIONUNIT, RESUNIT_INCH);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, (uint32_t)rows);
    TIFFSetField(t, TIFFTAG_PAGENUMBER, (uint16_t)ft->pages_done, (uint16_t)ft->pages_total);
    TIFFSetField(t, TIFFTAG_SOFTWARE, "mintfax-render " PACKAGE_VERSION);
    if (ft->coding == MFX_T4_G4) {
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX4);
        TIFFSetField(t, TIFFTAG_GROUP4OPTIONS, 0);
    } else {
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_CCITTFAX3);
        TIFFSetField(t, TIFFTAG_GROUP3OPTIONS, GROUP3OPT_2DENCODING | GROUP3OPT_FILLBITS);
    }
    /* Codec tags (registered by setting the compression above). */
    TIFFSetField(t, TIFFTAG_CLEANFAXDATA, CLEANFAXDATA_CLEAN);

    TIFFReverseBits(coded, (tmsize_t)len);
    if (TIFFWriteRawStrip(t, 0, coded, (tmsize_t)len) != (tmsize_t)len)
        return -1;
    if (!TIFFWriteDirectory(t))
        return -1;
    ft->pages_done++;
    return 0;
}

int mfx_faxtiff_close(struct mfx_faxtiff *ft)
{
    int rc = -1;
    if (ft->tif) {
        rc = TIFFFlush(ft->tif) ? 0 : -1;
        TIFFClose(ft->tif);     /* closes the dup'd descriptor */
    }
    ft->tif = NULL;
    return rc;
}
