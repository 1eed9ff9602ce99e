/* SPDX-License-Identifier: Apache-2.0
 *
 * ids.c: ULIDs (https://github.com/ulid/spec: 48-bit time, 80-bit randomness,
 * Crockford base32) with the monotonic rule, so ids made in one millisecond
 * still sort in creation order; keys from OpenSSL's RNG; SHA-256 via EVP.
 */
#include "config.h"
#include "ids.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void mfx_random_bytes(void *buf, size_t len)
{
    if (RAND_bytes(buf, (int)len) != 1) {
        fprintf(stderr, "mintfaxd: the random number generator failed\n");
        abort();
    }
}

void mfx_id_new(const char *prefix, char out[MFX_ID_MAX])
{
    static int64_t last_ms;
    static uint8_t last_rand[10];
    int64_t ms = mfx_now_ms();
    uint8_t rnd[10];

    if (ms <= last_ms) {
        /* Same (or earlier) millisecond: increment the previous randomness. */
        ms = last_ms;
        memcpy(rnd, last_rand, sizeof rnd);
        for (int i = 9; i >= 0 && ++rnd[i] == 0; i--)
            ;
    } else {
        mfx_random_bytes(rnd, sizeof rnd);
        rnd[0] &= 0x7f;   /* leave room to increment without overflow */
    }
    last_ms = ms;
    memcpy(last_rand, rnd, sizeof rnd);

    uint8_t b[16];
    for (int i = 0; i < 6; i++) b[i] = (uint8_t)((uint64_t)ms >> (40 - 8 * i));
    memcpy(b + 6, rnd, 10);

    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    char *u = out + plen;
    /* 128 bits into 26 base32 chars: the first char carries the top 3 bits. */
    int bit = -2;          /* 26*5 = 130 bits: two leading zero bits */
    for (int c = 0; c < 26; c++, bit += 5) {
        unsigned v = 0;
        for (int k = 0; k < 5; k++) {
            int pos = bit + k;
            unsigned one = 0;
            if (pos >= 0) one = (b[pos / 8] >> (7 - pos % 8)) & 1;
            v = (v << 1) | one;
        }
        u[c] = crockford[v];
    }
    u[26] = '\0';
}

bool mfx_id_valid(const char *s, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (strncmp(s, prefix, plen) != 0 || strlen(s) != plen + 26) return false;
    for (const char *p = s + plen; *p; p++)
        if (!strchr(crockford, *p)) return false;
    return s[plen] <= '7';
}

char *mfx_token_new(const char *prefix)
{
    static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t plen = strlen(prefix);
    char *out = mfx_malloc(plen + 33);
    memcpy(out, prefix, plen);
    /* Rejection sampling: only bytes below 248 (4 x 62) keep the draw unbiased. */
    int n = 0;
    while (n < 32) {
        uint8_t rnd[48];
        mfx_random_bytes(rnd, sizeof rnd);
        for (size_t i = 0; i < sizeof rnd && n < 32; i++)
            if (rnd[i] < 248) out[plen + n++] = b62[rnd[i] % 62];
    }
    out[plen + 32] = '\0';
    return out;
}

void mfx_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}
