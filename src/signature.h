/* SPDX-License-Identifier: Apache-2.0
 *
 * signature.h: webhook signing (DESIGN §8). Standard Webhooks:
 * "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>" where key is the
 * base64-decoded part of a "whsec_" secret; and the older mintfax header
 * "t=<timestamp>,v1=<hex HMAC-SHA256(key, timestamp.body)>".
 */
#ifndef MFX_SIGNATURE_H
#define MFX_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

/* A new secret: "whsec_" + base64 of 32 random bytes. Caller frees. */
char *mfx_webhook_secret_new(void);
/* Writes "v1,<base64>" for one secret into out (128 bytes). Returns 0, or
 * -1 if the secret is not a whsec_ secret with valid base64. */
int mfx_webhook_sign(const char *secret, const char *msg_id, int64_t timestamp,
                     const void *body, size_t len, char out[128]);
/* Writes "v1=<hex>" of the older scheme into out (80 bytes). */
int mfx_webhook_sign_legacy(const char *secret, int64_t timestamp, const void *body, size_t len, char out[80]);

#endif
