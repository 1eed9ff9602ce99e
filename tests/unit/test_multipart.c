/* SPDX-License-Identifier: Apache-2.0
 *
 * test_multipart.c: the multipart/form-data parser on well-formed bodies,
 * binary data that resembles a boundary, and malformed input.
 */
#include "config.h"
#include "mfx.h"
#include "multipart.h"
#include "tap.h"

#include <stdlib.h>

static int parse(const char *ct, const char *body, size_t len, struct mfx_part **parts, char **err)
{
    return mfx_multipart_parse(ct, (const unsigned char *)body, len, parts, err);
}

static int two_fields_and_file(void)
{
    static const char body[] =
        "--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\n+15005550001\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a b.pdf\"\r\n"
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--XyZnot\x00\xff\r\n"
        "--XyZ--\r\n";
    struct mfx_part *p;
    char *err;
    int n = parse("multipart/form-data; boundary=XyZ", body, sizeof body - 1, &p, &err);
    TAP_CHECK(n == 2);
    TAP_CHECK_STR(p[0].name, "to");
    TAP_CHECK(p[0].len == 12 && !memcmp(p[0].data, "+15005550001", 12));
    TAP_CHECK_STR(p[1].filename, "a b.pdf");
    TAP_CHECK_STR(p[1].content_type, "application/pdf");
    TAP_CHECK(p[1].len == 20);   /* "%PDF-1.4\r\n--XyZnot\0\xff" */
    TAP_CHECK(mfx_multipart_get(p, n, "file") == &p[1]);
    mfx_multipart_free(p, n);
    return 0;
}

static int quoted_boundary(void)
{
    static const char body[] = "--a\"b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a\"b--";
    struct mfx_part *p;
    char *err;
    int n = parse("multipart/form-data; boundary=\"a\\\"b\"", body, sizeof body - 1, &p, &err);
    TAP_CHECK(n == 1);
    TAP_CHECK_STR(p[0].name, "x");
    mfx_multipart_free(p, n);
    return 0;
}

static int malformed(void)
{
    struct mfx_part *p;
    char *err = NULL;
    TAP_CHECK(parse("multipart/form-data", "x", 1, &p, &err) == -1 && err);
    free(err);
    TAP_CHECK(parse("multipart/form-data; boundary=q", "no boundary here", 16, &p, &err) == -1 && err);
    free(err);
    static const char unterminated[] = "--q\r\nContent-Disposition: form-data; name=a\r\n\r\nabc";
    TAP_CHECK(parse("multipart/form-data; boundary=q", unterminated, sizeof unterminated - 1, &p, &err) == -1);
    free(err);
    static const char noheaders_end[] = "--q\r\nContent-Disposition: form-data; name=a";
    TAP_CHECK(parse("multipart/form-data; boundary=q", noheaders_end, sizeof noheaders_end - 1, &p, &err) == -1);
    free(err);
    return 0;
}

static int too_many_parts(void)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    for (int i = 0; i < MFX_MULTIPART_MAX_PARTS + 1; i++)
        fprintf(f, "--q\r\nContent-Disposition: form-data; name=f%d\r\n\r\nv\r\n", i);
    fprintf(f, "--q--\r\n");
    fclose(f);
    struct mfx_part *p;
    char *err = NULL;
    TAP_CHECK(parse("multipart/form-data; boundary=q", body, len, &p, &err) == -1 && err);
    free(err);
    free(body);
    return 0;
}

static const struct tap_case cases[] = {
    { "fields and a binary file part", two_fields_and_file },
    { "quoted boundary parameter", quoted_boundary },
    { "malformed bodies are refused", malformed },
    { "part count is bounded", too_many_parts },
};
TAP_MAIN(cases)
