/* SPDX-License-Identifier: Apache-2.0
 *
 * api_documents.c: POST /v1/documents (upload once, send many times with
 * document_id) and GET /v1/documents/{id}.
 */
#include "config.h"
#include "mfx.h"
#include "api.h"
#include "document.h"
#include "multipart.h"
#include "store.h"

#include <stdlib.h>

/* An upload waiting for its check (pages counted in a render child). */
struct pending_doc {
    struct mfx_req *req;
    struct mfx_part *parts;
    int nparts;
    const struct mfx_part *file;
};

static void doc_checked(void *arg, const struct mfx_doc_check *c)
{
    struct pending_doc *p = arg;
    struct mfx_req *req = p->req;
    if (c->pages <= 0) {
        json_object *fe = NULL;
        if (c->api_err == MFX_E_validation_failed) mfx_field_error(&fe, "file", c->message);
        mfx_reply_error(req, c->api_err, c->api_err == MFX_E_validation_failed ? NULL : c->message, fe);
    } else {
        char doc_id[MFX_ID_MAX];
        enum mfx_err err;
        char *msg = NULL;
        mfx_tx_begin();
        int rc = mfx_document_store(req->auth.env_id, p->file->filename, p->file->data, p->file->len, c->pages,
                                    doc_id, &err, &msg);
        json_object *o = rc == MFX_OK ? mfx_document_json(req->auth.env_id, doc_id) : NULL;
        mfx_tx_end(rc == MFX_OK);
        if (rc == MFX_OK) mfx_reply_json(req, 201, o);
        else mfx_reply_error(req, err, msg, NULL);
        free(msg);
    }
    mfx_multipart_free(p->parts, p->nparts);
    free(p);
}

void mfx_api_document_create(struct mfx_req *req)
{
    if (!mfx_req_content_type_is(req, "multipart/form-data")) {
        mfx_reply_error(req, MFX_E_unsupported_media_type, "Upload the document as multipart/form-data with a file part.", NULL);
        return;
    }
    struct mfx_part *parts;
    int n = mfx_api_multipart(req, &parts);
    if (n < 0) return;
    const struct mfx_part *file = mfx_multipart_get(parts, n, "file");
    if (!file || mfx_multipart_count(parts, n, "file") > 1) {
        json_object *fe = NULL;
        mfx_field_error(&fe, "file", file ? "send one file part per document" : "is required");
        mfx_reply_error(req, MFX_E_validation_failed, NULL, fe);
        mfx_multipart_free(parts, n);
        return;
    }
    struct pending_doc *p = mfx_malloc(sizeof *p);
    *p = (struct pending_doc){ req, parts, n, file };
    mfx_document_check(file->data, file->len, doc_checked, p);
}

void mfx_api_document_get(struct mfx_req *req)
{
    json_object *o = mfx_document_json(req->auth.env_id, req->params[0]);
    if (!o) {
        mfx_reply_error(req, MFX_E_not_found, "No document with this id in this key's environment.", NULL);
        return;
    }
    mfx_reply_json(req, 200, o);
}
