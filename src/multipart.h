/* SPDX-License-Identifier: Apache-2.0
 *
 * multipart.h: a bounded parser for multipart/form-data request bodies
 * (RFC 7578). Parts point into the caller's body buffer; nothing is copied
 * but the header values.
 */
#ifndef MFX_MULTIPART_H
#define MFX_MULTIPART_H

#include <stddef.h>

#define MFX_MULTIPART_MAX_PARTS 64

struct mfx_part {
    char *name;                  /* form field name; owned */
    char *filename;              /* NULL if not a file part; owned */
    char *content_type;          /* NULL if absent; owned */
    const unsigned char *data;   /* into the body */
    size_t len;
};

/* Parses body using the boundary from content_type. Returns the number of
 * parts (array in *parts, free with mfx_multipart_free), or -1 with a
 * message for the caller in *err (caller frees). */
int mfx_multipart_parse(const char *content_type, const unsigned char *body, size_t len,
                        struct mfx_part **parts, char **err);
void mfx_multipart_free(struct mfx_part *parts, int n);
/* The first part named name, or NULL. */
const struct mfx_part *mfx_multipart_get(const struct mfx_part *parts, int n, const char *name);
/* How many parts are named name. */
int mfx_multipart_count(const struct mfx_part *parts, int n, const char *name);

#endif
