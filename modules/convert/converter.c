/* SPDX-License-Identifier: Apache-2.0
 *
 * converter.c: the table of built-in converters, content sniffing and
 * opening a document through the converter that claims it. The converters
 * themselves are in conv_*.c.
 */
#include "config.h"
#include "converter.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct mfx_converter *const builtins[] = {
    &mfx_conv_pdf,
    &mfx_conv_tiff,
    &mfx_conv_png,
    &mfx_conv_jpeg,
};

const struct mfx_converter *mfx_converter_sniff(const unsigned char *head, size_t len)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (builtins[i]->sniff(head, len))
            return builtins[i];
    return NULL;
}

int mfx_doc_open(struct mfx_doc *doc, const char *path, const struct mfx_open_limits *limits,
                 struct mfx_render_error *err)
{
    memset(doc, 0, sizeof *doc);
    doc->limits = *limits;

    /* A FIFO or device would block or never end: only regular files. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "io", "cannot open the document: %s",
                               strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "io", "the document is not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "empty", "the document is empty (0 bytes)");
    }
    unsigned char head[MFX_SNIFF_BYTES];
    ssize_t n = pread(fd, head, sizeof head, 0);
    close(fd);
    if (n <= 0)
        return mfx_render_fail(err, MFX_RENDER_UNREADABLE, "io", "cannot read the document");

    const struct mfx_converter *conv = mfx_converter_sniff(head, (size_t)n);
    if (!conv)
        return mfx_render_fail(err, MFX_RENDER_UNSUPPORTED, "type",
                               "the document is not a PDF, TIFF, PNG or JPEG file");
    doc->conv = conv;
    if (conv->open(doc, path, err) < 0) {
        doc->conv = NULL;
        return -1;
    }
    return 0;
}

void mfx_doc_close(struct mfx_doc *doc)
{
    if (doc->conv && doc->conv->close)
        doc->conv->close(doc);
    memset(doc, 0, sizeof *doc);
}
