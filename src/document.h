/* SPDX-License-Identifier: Apache-2.0
 *
 * document.h: stored documents: type sniffing by content, page counting
 * (poppler for PDF, libtiff for TIFF, one page for PNG/JPEG), and the files
 * under DATA_DIR/documents/. Rendering to fax pages is the documents issue.
 */
#ifndef MFX_DOCUMENT_H
#define MFX_DOCUMENT_H

#include <json-c/json.h>
#include <stddef.h>
#include "errors.h"
#include "mfx.h"

/* "application/pdf", "image/tiff", "image/png", "image/jpeg", or NULL. */
const char *mfx_document_sniff(const unsigned char *data, size_t len);
/* What checking a document found: pages > 0, or an API error (api_err:
 * validation_failed, unsupported_media_type, payload_too_large, or
 * shutting_down with outcome MFX_E__COUNT when mintfaxd stops) with the
 * matching fax outcome (document_unreadable, document_encrypted, ...) and
 * a message for a person. */
struct mfx_doc_check {
    int pages;
    enum mfx_err api_err, outcome;
    const char *reason;
    const char *message;
};
typedef void (*mfx_doc_check_cb)(void *arg, const struct mfx_doc_check *c);
/* Checks a document: size and type here, the page count in a render child
 * (an untrusted file is never parsed by the daemon). cb runs exactly once,
 * possibly before this returns. */
void mfx_document_check(const unsigned char *data, size_t len, mfx_doc_check_cb cb, void *arg);
/* Writes (sealed, fsync) and records a checked document in the caller's
 * unit. Returns MFX_OK with the id, or MFX_ERR (storage_unavailable) with a
 * message (caller frees *msg). */
int mfx_document_store(const char *env_id, const char *filename, const unsigned char *data, size_t len,
                       int pages, char doc_id[MFX_ID_MAX], enum mfx_err *err, char **msg);
/* The document object, or NULL if env_id has none with this id. */
json_object *mfx_document_json(const char *env_id, const char *doc_id);
/* Path, page count and type of a document (path and ct owned by the
 * caller); MFX_NOTFOUND if missing, MFX_ERR if deleted. */
int mfx_document_locate(const char *env_id, const char *doc_id, char **path, int *pages, char **ct);
/* The document's bytes, decrypted (caller frees; *ct too, may be NULL).
 * NULL with *err = not_found, gone (deleted) or data_integrity_failed. */
unsigned char *mfx_document_read(const char *env_id, const char *doc_id, size_t *len, char **ct, enum mfx_err *err);

#endif
