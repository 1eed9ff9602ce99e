/* SPDX-License-Identifier: Apache-2.0
 *
 * crypto.c: AES-256-GCM with OpenSSL EVP for data at rest and for wrapping
 * data keys. The master key file holds 32 random bytes, base64, one line.
 * A master key is named by the first 16 hex characters of its SHA-256, so a
 * wrapped data key says which master key opens it, and a rotation can be
 * finished after a crash at any point:
 *   - path.new exists, the database still names the old key: the rotation
 *     did not commit; the old key opens everything; a new run of
 *     rotate-master-key reuses path.new.
 *   - path.new exists, the database names it: the rotation committed; the
 *     next start renames it over path (mfx_spool_finish_rotation).
 */
#include "config.h"
#include "mfx.h"
#include "crypto.h"
#include "ids.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NONCE_LEN 12
#define TAG_LEN 16
static const unsigned char MAGIC[5] = { 'M', 'F', 'X', 'E', 1 };

struct master {
    bool loaded;
    unsigned char key[32];
    char id[MFX_KEY_ID_LEN];
};

static char *key_path;
static struct master current, next;    /* next: during or after a rotation */

static void key_id_of(const unsigned char key[32], char id[MFX_KEY_ID_LEN])
{
    char hex[65];
    mfx_sha256_hex(key, 32, hex);
    memcpy(id, hex, 16);
    id[16] = '\0';
}

/* Reads a key file: base64 of 32 bytes on one line. */
static int read_key(const char *path, struct master *m, char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return 1;
        *err = mfx_asprintf("cannot read master key %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (sb.st_mode & 077))
        mfx_warn("crypto", "master key %s is readable by others (mode %o); it should be 0600", path, sb.st_mode & 0777);
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0) n = 0;
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ')) buf[--n] = '\0';
    unsigned char raw[96];
    int len = n == 44 ? EVP_DecodeBlock(raw, (const unsigned char *)buf, (int)n) : -1;
    if (len != 33 || buf[43] != '=') {   /* 32 bytes + one padding byte counted by EVP */
        *err = mfx_asprintf("master key %s is not base64 of 32 bytes", path);
        return -1;
    }
    memcpy(m->key, raw, 32);
    key_id_of(m->key, m->id);
    m->loaded = true;
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

/* Writes a new random key to path (0600, fsynced, created exclusively). */
static int write_new_key(const char *path, struct master *m, char **err)
{
    mfx_random_bytes(m->key, 32);
    key_id_of(m->key, m->id);
    char b64[64];
    EVP_EncodeBlock((unsigned char *)b64, m->key, 32);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        *err = mfx_asprintf("cannot create master key %s: %s", path, strerror(errno));
        return -1;
    }
    size_t len = strlen(b64);
    bool ok = write(fd, b64, len) == (ssize_t)len && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    OPENSSL_cleanse(b64, sizeof b64);
    if (!ok) {
        *err = mfx_asprintf("cannot write master key %s: %s", path, strerror(errno));
        unlink(path);
        return -1;
    }
    m->loaded = true;
    return 0;
}

int mfx_crypto_init(const char *path, char **err)
{
    *err = NULL;
    key_path = mfx_strdup(path);
    int rc = read_key(path, &current, err);
    if (rc < 0) return -1;
    if (rc == 1) {
        if (write_new_key(path, &current, err) != 0) return -1;
        mfx_info("crypto", "created master key %s (id %s)", path, current.id);
    }
    char *np = mfx_asprintf("%s.new", path);
    rc = read_key(np, &next, err);
    free(np);
    if (rc < 0) return -1;
    return 0;
}

void mfx_crypto_free(void)
{
    OPENSSL_cleanse(&current, sizeof current);
    OPENSSL_cleanse(&next, sizeof next);
    free(key_path);
    key_path = NULL;
}

/* AES-256-GCM; out holds len + TAG_LEN; returns 0 or -1. */
static int gcm(bool enc, const unsigned char key[32], const unsigned char nonce[NONCE_LEN], const char *aad,
               const unsigned char *in, size_t len, unsigned char *out, unsigned char tag[TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int outl = 0, ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc);
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL);
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc);
    if (aad) ok = ok && EVP_CipherUpdate(ctx, NULL, &outl, (const unsigned char *)aad, (int)strlen(aad));
    /* EVP takes int lengths: feed large buffers in chunks. */
    size_t off = 0;
    while (ok && off < len) {
        int chunk = len - off > (1u << 30) ? (1 << 30) : (int)(len - off);
        ok = EVP_CipherUpdate(ctx, out + off, &outl, in + off, chunk);
        off += (size_t)outl;
    }
    if (ok && !enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag);
    ok = ok && EVP_CipherFinal_ex(ctx, out + off, &outl);
    if (ok && enc) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

unsigned char *mfx_crypto_seal(const unsigned char key[MFX_DATA_KEY_LEN], const char *aad,
                               const void *plain, size_t len, size_t *out_len)
{
    size_t total = sizeof MAGIC + NONCE_LEN + len + TAG_LEN;
    unsigned char *out = mfx_malloc(total);
    memcpy(out, MAGIC, sizeof MAGIC);
    unsigned char *nonce = out + sizeof MAGIC;
    mfx_random_bytes(nonce, NONCE_LEN);
    if (gcm(true, key, nonce, aad, plain, len, nonce + NONCE_LEN, nonce + NONCE_LEN + len) != 0) {
        free(out);
        return NULL;
    }
    *out_len = total;
    return out;
}

unsigned char *mfx_crypto_open(const unsigned char key[MFX_DATA_KEY_LEN], const char *aad,
                               const void *sealed, size_t len, size_t *out_len)
{
    const unsigned char *in = sealed;
    if (len < sizeof MAGIC + NONCE_LEN + TAG_LEN || memcmp(in, MAGIC, sizeof MAGIC) != 0) return NULL;
    size_t clen = len - sizeof MAGIC - NONCE_LEN - TAG_LEN;
    const unsigned char *nonce = in + sizeof MAGIC;
    unsigned char tag[TAG_LEN];
    memcpy(tag, nonce + NONCE_LEN + clen, TAG_LEN);
    unsigned char *out = mfx_malloc(clen + 1);
    if (gcm(false, key, nonce, aad, nonce + NONCE_LEN, clen, out, tag) != 0) {
        OPENSSL_cleanse(out, clen);
        free(out);
        return NULL;   /* changed or not ours: fail closed */
    }
    out[clen] = '\0';
    *out_len = clen;
    return out;
}

/* Wraps a data key under master m as base64 text. */
static char *wrap(const struct master *m, const unsigned char dk[MFX_DATA_KEY_LEN])
{
    size_t n;
    unsigned char *sealed = mfx_crypto_seal(m->key, "mintfax-data-key", dk, MFX_DATA_KEY_LEN, &n);
    char *b64 = mfx_malloc(4 * ((n + 2) / 3) + 1);
    EVP_EncodeBlock((unsigned char *)b64, sealed, (int)n);
    free(sealed);
    return b64;
}

void mfx_crypto_data_key_new(char **wrapped, char key_id[MFX_KEY_ID_LEN])
{
    unsigned char dk[MFX_DATA_KEY_LEN];
    mfx_random_bytes(dk, sizeof dk);
    *wrapped = wrap(&current, dk);
    memcpy(key_id, current.id, MFX_KEY_ID_LEN);
    OPENSSL_cleanse(dk, sizeof dk);
}

int mfx_crypto_data_key_unwrap(const char *wrapped, const char *key_id, unsigned char key[MFX_DATA_KEY_LEN])
{
    const struct master *m = current.loaded && !strcmp(current.id, key_id) ? &current
                           : next.loaded && !strcmp(next.id, key_id) ? &next : NULL;
    if (!m) return -1;
    size_t blen = strlen(wrapped);
    if (blen == 0 || blen % 4 || blen > 256) return -1;
    unsigned char raw[200];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)wrapped, (int)blen);
    if (n < 0) return -1;
    if (wrapped[blen - 1] == '=') n--;
    if (wrapped[blen - 2] == '=') n--;
    size_t dlen;
    unsigned char *dk = mfx_crypto_open(m->key, "mintfax-data-key", raw, (size_t)n, &dlen);
    if (!dk || dlen != MFX_DATA_KEY_LEN) {
        free(dk);
        return -1;
    }
    memcpy(key, dk, MFX_DATA_KEY_LEN);
    OPENSSL_cleanse(dk, dlen);
    free(dk);
    return 0;
}

int mfx_crypto_rotate_begin(char **err)
{
    *err = NULL;
    if (next.loaded) return 0;     /* a rotation was begun: finish it with that key */
    char *np = mfx_asprintf("%s.new", key_path);
    int rc = write_new_key(np, &next, err);
    free(np);
    return rc;
}

int mfx_crypto_rewrap(const char *wrapped, const char *key_id, char **new_wrapped, char new_key_id[MFX_KEY_ID_LEN])
{
    unsigned char dk[MFX_DATA_KEY_LEN];
    if (!next.loaded || mfx_crypto_data_key_unwrap(wrapped, key_id, dk) != 0) return -1;
    *new_wrapped = wrap(&next, dk);
    memcpy(new_key_id, next.id, MFX_KEY_ID_LEN);
    OPENSSL_cleanse(dk, sizeof dk);
    return 0;
}

int mfx_crypto_rotate_commit(char **err)
{
    *err = NULL;
    char *np = mfx_asprintf("%s.new", key_path);
    int rc = rename(np, key_path);
    if (rc != 0) *err = mfx_asprintf("cannot rename %s to %s: %s", np, key_path, strerror(errno));
    free(np);
    if (rc == 0) {
        char *dir = mfx_strdup(key_path);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) { fsync(dfd); close(dfd); }
        free(dir);
        current = next;
        memset(&next, 0, sizeof next);
    }
    return rc;
}

const char *mfx_crypto_pending_key_id(void)
{
    return next.loaded ? next.id : NULL;
}
