/* SPDX-License-Identifier: Apache-2.0
 *
 * test_ids.c: ULIDs (format, time prefix, monotonic order within one
 * millisecond), secret tokens and SHA-256 against a published vector.
 */
#include "config.h"
#include "ids.h"
#include "tap.h"

#include <stdlib.h>

static int ulid_format(void)
{
    char id[MFX_ID_MAX];
    mfx_id_new("fax_", id);
    TAP_CHECK(strlen(id) == 4 + 26);
    TAP_CHECK(mfx_id_valid(id, "fax_"));
    TAP_CHECK(!mfx_id_valid(id, "evt_"));
    TAP_CHECK(!mfx_id_valid("fax_01ARZ3NDEKTSV4RRFFQ69G5FA", "fax_"));     /* 25 chars */
    TAP_CHECK(!mfx_id_valid("fax_01ARZ3NDEKTSV4RRFFQ69G5FAU", "fax_"));    /* U is not Crockford */
    TAP_CHECK(mfx_id_valid("fax_01ARZ3NDEKTSV4RRFFQ69G5FAV", "fax_"));
    return 0;
}

static int ulid_time_prefix(void)
{
    /* The first 10 characters encode the millisecond time, big-endian. */
    static const char c32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    int64_t before = mfx_now_ms();
    char id[MFX_ID_MAX];
    mfx_id_new("", id);
    int64_t after = mfx_now_ms(), t = 0;
    for (int i = 0; i < 10; i++) t = t * 32 + (int64_t)(strchr(c32, id[i]) - c32);
    TAP_CHECK(t >= before && t <= after);
    return 0;
}

static int ulid_monotonic(void)
{
    char prev[MFX_ID_MAX], cur[MFX_ID_MAX];
    mfx_id_new("x_", prev);
    for (int i = 0; i < 10000; i++) {
        mfx_id_new("x_", cur);
        TAP_CHECK(strcmp(prev, cur) < 0);
        memcpy(prev, cur, sizeof prev);
    }
    return 0;
}

static int token_shape(void)
{
    char *a = mfx_token_new("mfx_test_"), *b = mfx_token_new("mfx_test_");
    TAP_CHECK(strncmp(a, "mfx_test_", 9) == 0 && strlen(a) == 9 + 32);
    TAP_CHECK(strcmp(a, b) != 0);
    for (const char *p = a + 9; *p; p++)
        TAP_CHECK((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'));
    free(a);
    free(b);
    return 0;
}

static int sha256_vector(void)
{
    char hex[65];
    mfx_sha256_hex("abc", 3, hex);   /* FIPS 180-2 appendix B.1 */
    TAP_CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    return 0;
}

static const struct tap_case cases[] = {
    { "ulid format and validation", ulid_format },
    { "ulid time prefix", ulid_time_prefix },
    { "ulid monotonic within a millisecond", ulid_monotonic },
    { "token shape and uniqueness", token_shape },
    { "sha256 FIPS vector", sha256_vector },
};
TAP_MAIN(cases)
