/* SPDX-License-Identifier: Apache-2.0
 *
 * crypto.h: encryption at rest (DESIGN §12). Every stored document, page file
 * and preview is sealed with AES-256-GCM under its workspace's data key; data
 * keys are stored wrapped (AES-256-GCM) by the installation's master key,
 * which lives in a file of its own (0600), never in the database. Rotating
 * the master key re-wraps the data keys; files are not re-encrypted.
 */
#ifndef MFX_CRYPTO_H
#define MFX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define MFX_DATA_KEY_LEN 32
#define MFX_KEY_ID_LEN 17          /* 16 hex chars of the key's SHA-256, and NUL */

/* Loads the master key from path, creating it (0600) when absent. Finishes a
 * rotation that was committed but not renamed (path.new). Returns 0 or -1
 * with a message for a person in *err. */
int mfx_crypto_init(const char *path, char **err);
void mfx_crypto_free(void);

/* A new random data key, wrapped by the master key: *wrapped is base64 text
 * (caller frees), key_id names the master key that wrapped it. */
void mfx_crypto_data_key_new(char **wrapped, char key_id[MFX_KEY_ID_LEN]);
/* Unwraps a data key wrapped under master key key_id. -1 if that master key
 * is not loaded or the wrapping was tampered with. */
int mfx_crypto_data_key_unwrap(const char *wrapped, const char *key_id, unsigned char key[MFX_DATA_KEY_LEN]);

/* Seals plain with key; aad (e.g. the document id) is bound into the tag.
 * Returns a new buffer (caller frees): "MFXE" 1, 12-byte nonce, ciphertext,
 * 16-byte tag. */
unsigned char *mfx_crypto_seal(const unsigned char key[MFX_DATA_KEY_LEN], const char *aad,
                               const void *plain, size_t len, size_t *out_len);
/* Opens a sealed buffer; NULL if it is not ours, or was changed (fails
 * closed). The result is NUL-terminated beyond *out_len; caller frees. */
unsigned char *mfx_crypto_open(const unsigned char key[MFX_DATA_KEY_LEN], const char *aad,
                               const void *sealed, size_t len, size_t *out_len);

/* Master key rotation, run by `mintfaxd rotate-master-key`:
 * begin writes path.new; rewrap each data key (under the current or the new
 * key) to the new key; commit renames path.new over path once the database
 * holds the rewrapped keys. */
int mfx_crypto_rotate_begin(char **err);
int mfx_crypto_rewrap(const char *wrapped, const char *key_id, char **new_wrapped, char new_key_id[MFX_KEY_ID_LEN]);
int mfx_crypto_rotate_commit(char **err);
/* The id of the key in path.new, or NULL when there is none. */
const char *mfx_crypto_pending_key_id(void);

#endif
