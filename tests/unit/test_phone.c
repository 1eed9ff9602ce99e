/* SPDX-License-Identifier: Apache-2.0
 *
 * test_phone.c: E.164 validation and the masking of numbers in logs.
 */
#include "config.h"
#include "log.h"
#include "phone.h"
#include "tap.h"

static int e164(void)
{
    TAP_CHECK(mfx_phone_valid("+15005550001"));
    TAP_CHECK(mfx_phone_valid("+441"));
    TAP_CHECK(mfx_phone_valid("+123456789012345"));      /* 15 digits */
    TAP_CHECK(!mfx_phone_valid("+1234567890123456"));    /* 16 digits */
    TAP_CHECK(!mfx_phone_valid("15005550001"));
    TAP_CHECK(!mfx_phone_valid("+05005550001"));
    TAP_CHECK(!mfx_phone_valid("+1 500 555 0001"));
    TAP_CHECK(!mfx_phone_valid("+1"));
    TAP_CHECK(!mfx_phone_valid(""));
    TAP_CHECK(!mfx_phone_valid(NULL));
    return 0;
}

static int masking(void)
{
    char out[24];
    mfx_log_phone("+15005550001", 4, out);
    TAP_CHECK_STR(out, "+1******0001");
    mfx_log_phone("+15005550001", -1, out);
    TAP_CHECK_STR(out, "+15005550001");
    mfx_log_phone("+15005550001", 0, out);
    TAP_CHECK_STR(out, "+1**********");
    return 0;
}

static const struct tap_case cases[] = {
    { "E.164 validation", e164 },
    { "phone masking in logs", masking },
};
TAP_MAIN(cases)
