/* SPDX-License-Identifier: Apache-2.0
 *
 * signature.c: HMAC-SHA256 signatures of webhook deliveries with OpenSSL.
 * The key is the secret's base64 payload decoded, as the Standard Webhooks
 * reference libraries do, so their verify() accepts what we send.
 */
#include "config.h"
#include "mfx.h"
#include "signature.h"
#include "ids.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mfx_webhook_secret_new(void)
{
    unsigned char raw[32];
    mfx_random_bytes(raw, sizeof raw);
    char b64[64];
    EVP_EncodeBlock((unsigned char *)b64, raw, sizeof raw);
    return mfx_asprintf("whsec_%s", b64);
}

/* Decodes the secret's key into key (64 bytes max); returns its length or -1. */
static int secret_key(const char *secret, unsigned char key[64])
{
    if (strncmp(secret, "whsec_", 6) != 0) return -1;
    const char *b64 = secret + 6;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0 || n > 84) return -1;
    unsigned char buf[66];
    int len = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)n);
    if (len < 0) return -1;
    /* EVP_DecodeBlock counts padding bytes as data: take them off. */
    if (b64[n - 1] == '=') len--;
    if (b64[n - 2] == '=') len--;
    if (len <= 0 || len > 64) return -1;
    memcpy(key, buf, (size_t)len);
    return len;
}

static int hmac_parts(const char *secret, const char *const parts[], const size_t lens[], int nparts,
                      unsigned char md[32])
{
    unsigned char key[64];
    int klen = secret_key(secret, key);
    if (klen < 0) return -1;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outl = 0;
    int ok = EVP_MAC_init(ctx, key, (size_t)klen, params);
    for (int i = 0; ok && i < nparts; i++) ok = EVP_MAC_update(ctx, (const unsigned char *)parts[i], lens[i]);
    ok = ok && EVP_MAC_final(ctx, md, &outl, 32);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    return ok && outl == 32 ? 0 : -1;
}

int mfx_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp,
                     const void *body, size_t len, char out[128])
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
    const char *parts[] = { msg_id, ".", ts, ".", body };
    size_t lens[] = { strlen(msg_id), 1, strlen(ts), 1, len };
    unsigned char md[32];
    if (hmac_parts(secret, parts, lens, 5, md) != 0) return -1;
    memcpy(out, "v1,", 3);
    EVP_EncodeBlock((unsigned char *)out + 3, md, 32);
    return 0;
}

int mfx_webhook_sign_legacy(const char *secret, int64_t timestamp, const void *body, size_t len, char out[80])
{
    char ts[24];
    snprintf(ts, sizeof ts, "%lld", (long long)timestamp);
    const char *parts[] = { ts, ".", body };
    size_t lens[] = { strlen(ts), 1, len };
    unsigned char md[32];
    if (hmac_parts(secret, parts, lens, 3, md) != 0) return -1;
    memcpy(out, "v1=", 3);
    for (int i = 0; i < 32; i++) snprintf(out + 3 + 2 * i, 3, "%02x", md[i]);
    return 0;
}
