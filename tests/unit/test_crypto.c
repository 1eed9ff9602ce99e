/* SPDX-License-Identifier: Apache-2.0
 *
 * test_crypto.c: sealing at rest (round trip, every flipped byte and a wrong
 * aad fail closed), the master key file (created 0600, reloaded the same),
 * data key wrapping and a master key rotation.
 */
#include "config.h"
#include "mfx.h"
#include "crypto.h"
#include "tap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static char *key_path(void)
{
    return mfx_asprintf("%s/master.key", dir);
}

static int seal_round_trip(void)
{
    unsigned char key[32];
    memset(key, 7, sizeof key);
    static const char doc[] = "%PDF-1.4 patient: Jane Doe";
    size_t slen, plen;
    unsigned char *sealed = mfx_crypto_seal(key, "doc_1", doc, sizeof doc - 1, &slen);
    TAP_CHECK(sealed && slen == sizeof doc - 1 + 5 + 12 + 16);
    TAP_CHECK(memmem(sealed, slen, "Jane", 4) == NULL);
    unsigned char *plain = mfx_crypto_open(key, "doc_1", sealed, slen, &plen);
    TAP_CHECK(plain && plen == sizeof doc - 1 && !memcmp(plain, doc, plen));
    free(plain);
    /* Any flipped byte, a wrong aad or a wrong key: refused. */
    for (size_t i = 0; i < slen; i++) {
        sealed[i] ^= 0x01;
        TAP_CHECK(mfx_crypto_open(key, "doc_1", sealed, slen, &plen) == NULL);
        sealed[i] ^= 0x01;
    }
    TAP_CHECK(mfx_crypto_open(key, "doc_2", sealed, slen, &plen) == NULL);
    key[0] ^= 1;
    TAP_CHECK(mfx_crypto_open(key, "doc_1", sealed, slen, &plen) == NULL);
    TAP_CHECK(mfx_crypto_open(key, "doc_1", sealed, 10, &plen) == NULL);
    free(sealed);
    return 0;
}

static int master_key_file(void)
{
    char *path = key_path(), *err = NULL;
    TAP_CHECK(mfx_crypto_init(path, &err) == 0);
    struct stat sb;
    TAP_CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600);
    char *wrapped;
    char kid[MFX_KEY_ID_LEN];
    mfx_crypto_data_key_new(&wrapped, kid);
    unsigned char a[32], b[32];
    TAP_CHECK(mfx_crypto_data_key_unwrap(wrapped, kid, a) == 0);
    mfx_crypto_free();
    /* Reloaded from the file: the same master key opens the same data key. */
    TAP_CHECK(mfx_crypto_init(path, &err) == 0);
    TAP_CHECK(mfx_crypto_data_key_unwrap(wrapped, kid, b) == 0 && !memcmp(a, b, 32));
    TAP_CHECK(mfx_crypto_data_key_unwrap(wrapped, "0000000000000000", b) == -1);
    wrapped[5] = wrapped[5] == 'A' ? 'B' : 'A';
    TAP_CHECK(mfx_crypto_data_key_unwrap(wrapped, kid, b) == -1);
    free(wrapped);
    mfx_crypto_free();
    free(path);
    return 0;
}

static int rotation(void)
{
    char *path = key_path(), *err = NULL;
    TAP_CHECK(mfx_crypto_init(path, &err) == 0);
    char *wrapped, *rewrapped;
    char kid[MFX_KEY_ID_LEN], nkid[MFX_KEY_ID_LEN];
    mfx_crypto_data_key_new(&wrapped, kid);
    unsigned char before[32], after[32];
    TAP_CHECK(mfx_crypto_data_key_unwrap(wrapped, kid, before) == 0);
    TAP_CHECK(mfx_crypto_rotate_begin(&err) == 0);
    TAP_CHECK(mfx_crypto_rewrap(wrapped, kid, &rewrapped, nkid) == 0);
    TAP_CHECK(strcmp(kid, nkid) != 0);
    TAP_CHECK(mfx_crypto_rotate_commit(&err) == 0);
    mfx_crypto_free();
    TAP_CHECK(mfx_crypto_init(path, &err) == 0);
    /* The new master opens the re-wrapped key: the same data key. */
    TAP_CHECK(mfx_crypto_data_key_unwrap(rewrapped, nkid, after) == 0 && !memcmp(before, after, 32));
    TAP_CHECK(mfx_crypto_data_key_unwrap(wrapped, kid, after) == -1);
    free(wrapped);
    free(rewrapped);
    mfx_crypto_free();
    free(path);
    return 0;
}

static const struct tap_case cases[] = {
    { "seal and open; flipped bytes, wrong aad or key fail closed", seal_round_trip },
    { "master key file created 0600 and reloaded", master_key_file },
    { "master key rotation re-wraps data keys", rotation },
};

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mfx-crypto-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    int rc = tap_run(cases, (int)MFX_ARRAY_LEN(cases));
    char *p = key_path();
    unlink(p);
    free(p);
    rmdir(dir);
    return rc;
}
