/* SPDX-License-Identifier: Apache-2.0
 *
 * multipart.c: multipart/form-data (RFC 7578, framing from RFC 2046 §5.1.1).
 * The boundary comes from the Content-Type parameter; each part's headers are
 * bounded (8 KiB) and only Content-Disposition and Content-Type are read.
 * Binary data may contain anything but the delimiter "\r\n--boundary".
 */
#include "config.h"
#include "mfx.h"
#include "multipart.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const unsigned char *find(const unsigned char *hay, size_t hlen, const char *needle, size_t nlen)
{
    if (nlen == 0 || hlen < nlen) return NULL;
    return memmem(hay, hlen, needle, nlen);
}

/* Extracts parameter `param` (e.g. boundary, name, filename) from a header
 * value; handles quoted and bare values. Returns an owned string or NULL. */
static char *header_param(const char *value, const char *param)
{
    size_t plen = strlen(param);
    const char *p = value;
    while ((p = strchr(p, ';')) != NULL) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (strncasecmp(p, param, plen) != 0 || p[plen] != '=') continue;
        p += plen + 1;
        if (*p == '"') {
            p++;
            char *out = mfx_malloc(strlen(p) + 1);
            size_t n = 0;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                out[n++] = *p++;
            }
            out[n] = '\0';
            return out;
        }
        size_t n = strcspn(p, "; \t");
        return mfx_strndup(p, n);
    }
    return NULL;
}

/* True if what follows a delimiter candidate makes it a real delimiter. */
static bool delimiter_ends(const unsigned char *p, const unsigned char *end)
{
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') return true;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return end - p >= 2 && p[0] == '\r' && p[1] == '\n';
}

void mfx_multipart_free(struct mfx_part *parts, int n)
{
    if (!parts) return;
    for (int i = 0; i < n; i++) {
        free(parts[i].name);
        free(parts[i].filename);
        free(parts[i].content_type);
    }
    free(parts);
}

const struct mfx_part *mfx_multipart_get(const struct mfx_part *parts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (parts[i].name && strcmp(parts[i].name, name) == 0) return &parts[i];
    return NULL;
}

int mfx_multipart_count(const struct mfx_part *parts, int n, const char *name)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        if (parts[i].name && strcmp(parts[i].name, name) == 0) c++;
    return c;
}

int mfx_multipart_parse(const char *content_type, const unsigned char *body, size_t len,
                        struct mfx_part **out, char **err)
{
    *out = NULL;
    *err = NULL;
    char *boundary = content_type ? header_param(content_type, "boundary") : NULL;
    if (!boundary || !*boundary || strlen(boundary) > 70) {
        free(boundary);
        *err = mfx_strdup("the multipart Content-Type has no valid boundary");
        return -1;
    }
    char *delim = mfx_asprintf("--%s", boundary);
    size_t dlen = strlen(delim);
    free(boundary);

    struct mfx_part *parts = mfx_calloc(MFX_MULTIPART_MAX_PARTS, sizeof *parts);
    int n = 0;
    /* The first delimiter may be at the very start (no preceding CRLF). */
    const unsigned char *p = find(body, len, delim, dlen);
    if (!p) { *err = mfx_strdup("the multipart body has no boundary line"); goto fail; }
    for (;;) {
        p += dlen;
        size_t left = len - (size_t)(p - body);
        if (left >= 2 && p[0] == '-' && p[1] == '-') break;     /* close delimiter */
        /* Skip transport padding and the CRLF after the delimiter. */
        while (left > 0 && (*p == ' ' || *p == '\t')) { p++; left--; }
        if (left < 2 || p[0] != '\r' || p[1] != '\n') { *err = mfx_strdup("a multipart boundary line is malformed"); goto fail; }
        p += 2; left -= 2;
        const unsigned char *hend = find(p, left < 8192 ? left : 8192, "\r\n\r\n", 4);
        const unsigned char *data;
        if (left >= 2 && p[0] == '\r' && p[1] == '\n') {
            hend = p - 2;                                     /* a part without headers */
            data = p + 2;
        } else if (!hend) {
            *err = mfx_strdup("a multipart part's headers are missing or too long");
            goto fail;
        } else {
            data = hend + 4;
        }
        if (n >= MFX_MULTIPART_MAX_PARTS) { *err = mfx_strdup("too many multipart parts"); goto fail; }
        struct mfx_part *part = &parts[n++];
        /* Headers: one per line. */
        const unsigned char *line = p;
        while (line < hend) {
            const unsigned char *eol = find(line, (size_t)(hend - line) + 2, "\r\n", 2);
            if (!eol) eol = hend;
            char *h = mfx_strndup((const char *)line, (size_t)(eol - line));
            if (!strncasecmp(h, "Content-Disposition:", 20)) {
                free(part->name);
                free(part->filename);
                part->name = header_param(h, "name");
                part->filename = header_param(h, "filename");
            } else if (!strncasecmp(h, "Content-Type:", 13)) {
                const char *v = h + 13;
                while (*v == ' ' || *v == '\t') v++;
                free(part->content_type);
                part->content_type = mfx_strdup(v);
            }
            free(h);
            line = eol + 2;
        }
        char *next_delim = mfx_asprintf("\r\n%s", delim);
        const unsigned char *next = data;
        /* A delimiter counts only when followed by "--" or white space and CRLF
         * (RFC 2046 §5.1.1); "\r\n--boundaryX" inside binary data does not. */
        for (;;) {
            next = find(next, len - (size_t)(next - body), next_delim, dlen + 2);
            if (!next || delimiter_ends(next + dlen + 2, body + len)) break;
            next++;
        }
        free(next_delim);
        if (!next) { *err = mfx_strdup("the multipart body ends before its closing boundary"); goto fail; }
        part->data = data;
        part->len = (size_t)(next - data);
        p = next + 2;
    }
    free(delim);
    *out = parts;
    return n;
fail:
    free(delim);
    mfx_multipart_free(parts, n);
    return -1;
}
