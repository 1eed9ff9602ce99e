/* SPDX-License-Identifier: Apache-2.0
 *
 * test_signature.c: webhook signatures against the Standard Webhooks test
 * vector shared by its reference libraries (secret, msg id, timestamp and
 * payload below give the signature below), the legacy header, and bad
 * secrets.
 */
#include "config.h"
#include "mfx.h"
#include "signature.h"
#include "tap.h"

#include <stdlib.h>

static int standard_vector(void)
{
    static const char body[] = "{\"test\": 2432232314}";
    char sig[128];
    TAP_CHECK(mfx_webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                               1614265330, body, sizeof body - 1, sig) == 0);
    TAP_CHECK_STR(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    return 0;
}

static int legacy_header(void)
{
    /* HMAC-SHA256(base64-decoded key, "1614265330.{\"test\": 2432232314}"), computed independently. */
    static const char body[] = "{\"test\": 2432232314}";
    char sig[80];
    TAP_CHECK(mfx_webhook_sign_legacy("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 1614265330, body, sizeof body - 1, sig) == 0);
    TAP_CHECK_STR(sig, "v1=e96203c6de850e7dc1fde7489ef6140b402d3a5a64fe250cd2eef9830fac1cef");
    return 0;
}

static int new_secrets(void)
{
    char *a = mfx_webhook_secret_new(), *b = mfx_webhook_secret_new();
    TAP_CHECK(strncmp(a, "whsec_", 6) == 0 && strlen(a) == 6 + 44);
    TAP_CHECK(strcmp(a, b) != 0);
    char sig[128];
    TAP_CHECK(mfx_webhook_sign(a, "evt_x", 1, "{}", 2, sig) == 0);
    free(a);
    free(b);
    return 0;
}

static int bad_secrets(void)
{
    char sig[128];
    TAP_CHECK(mfx_webhook_sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m", 1, "{}", 2, sig) == -1);
    TAP_CHECK(mfx_webhook_sign("whsec_", "m", 1, "{}", 2, sig) == -1);
    TAP_CHECK(mfx_webhook_sign("whsec_abc", "m", 1, "{}", 2, sig) == -1);
    return 0;
}

static const struct tap_case cases[] = {
    { "Standard Webhooks test vector", standard_vector },
    { "legacy X-Mintfax-Signature value", legacy_header },
    { "new secrets are whsec_ + 32 random bytes", new_secrets },
    { "malformed secrets are refused", bad_secrets },
};
TAP_MAIN(cases)
