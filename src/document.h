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
/* Counts pages of data of type ct, stopping past max_pages. Returns MFX_OK,
 * or MFX_ERR with a message for a person in *msg (caller frees). */
int mfx_document_count_pages(const char *ct, const unsigned char *data, size_t len, int max_pages,
                             int *pages, char **msg);
/* Validates, writes (fsync) and records a document in the caller's unit.
 * Returns MFX_OK with the id and page count, or MFX_ERR with the API error
 * and a message (caller frees *msg). */
int mfx_document_store(const char *env_id, const char *filename, const unsigned char *data, size_t len,
                       char doc_id[MFX_ID_MAX], int *pages, enum mfx_err *err, char **msg);
/* The fax outcome that matches the last mfx_document_store refusal
 * (document_unsupported, document_encrypted, document_too_many_pages,
 * document_unreadable), for documents fetched from a URL. */
enum mfx_err mfx_document_refusal_outcome(void);
/* The document object, or NULL if env_id has none with this id. */
json_object *mfx_document_json(const char *env_id, const char *doc_id);
/* Path, page count and type of a document (path and ct owned by the
 * caller); MFX_NOTFOUND if missing, MFX_ERR if deleted. */
int mfx_document_locate(const char *env_id, const char *doc_id, char **path, int *pages, char **ct);
/* The document's bytes, decrypted (caller frees; *ct too, may be NULL).
 * NULL with *err = not_found, gone (deleted) or data_integrity_failed. */
unsigned char *mfx_document_read(const char *env_id, const char *doc_id, size_t *len, char **ct, enum mfx_err *err);

#endif
