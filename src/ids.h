/* SPDX-License-Identifier: Apache-2.0
 *
 * ids.h: identifiers (type prefix + ULID), secret tokens (API keys) and the
 * SHA-256 helpers used to store keys and fingerprint requests.
 */
#ifndef MFX_IDS_H
#define MFX_IDS_H

#include <stddef.h>
#include "mfx.h"

/* Writes prefix + a 26-char ULID (48-bit ms time, 80 random bits, monotonic
 * within one millisecond) into out (MFX_ID_MAX bytes). */
void mfx_id_new(const char *prefix, char out[MFX_ID_MAX]);
/* True if s is prefix followed by exactly 26 Crockford base32 characters. */
bool mfx_id_valid(const char *s, const char *prefix);
/* A secret: prefix + 32 base62 characters from 24 random bytes. Caller frees. */
char *mfx_token_new(const char *prefix);
/* Lower-case hex SHA-256 of data; out holds 65 bytes. */
void mfx_sha256_hex(const void *data, size_t len, char out[65]);
/* Fills buf with cryptographically random bytes (aborts if the RNG fails). */
void mfx_random_bytes(void *buf, size_t len);

#endif
