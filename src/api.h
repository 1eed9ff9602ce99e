/* SPDX-License-Identifier: Apache-2.0
 *
 * api.h: the handlers of the HTTP API, one file per resource (api_*.c), and
 * the small helpers they share (list paging, validation errors).
 */
#ifndef MFX_API_H
#define MFX_API_H

#include "http.h"

/* api_health.c */
void mfx_api_healthz(struct mfx_req *req);
void mfx_api_readyz(struct mfx_req *req);
void mfx_api_metrics(struct mfx_req *req);
/* api_docs.c */
void mfx_api_openapi(struct mfx_req *req);
void mfx_api_error_page(struct mfx_req *req);
/* api_faxes.c */
void mfx_api_fax_create(struct mfx_req *req);
void mfx_api_fax_list(struct mfx_req *req);
void mfx_api_fax_get(struct mfx_req *req);
void mfx_api_fax_cancel(struct mfx_req *req);
void mfx_api_fax_resend(struct mfx_req *req);
void mfx_api_fax_delete(struct mfx_req *req);
void mfx_api_fax_image(struct mfx_req *req);
void mfx_api_fax_page(struct mfx_req *req);
/* api_documents.c */
void mfx_api_document_create(struct mfx_req *req);
void mfx_api_document_get(struct mfx_req *req);
/* api_environment.c */
void mfx_api_balance_get(struct mfx_req *req);
void mfx_api_topup_create(struct mfx_req *req);
void mfx_api_settings_get(struct mfx_req *req);
void mfx_api_settings_patch(struct mfx_req *req);
/* Validates {"amount"} of a top-up; replies and returns -1 on bad input. */
int mfx_api_topup_parse(struct mfx_req *req, json_object *in, int64_t *amount);
/* Adds credits to env_id in one unit and replies 201 with the new balance. */
void mfx_api_topup_apply(struct mfx_req *req, const char *env_id, int64_t amount);
/* api_workspaces.c */
void mfx_api_workspace_self(struct mfx_req *req);
void mfx_api_workspace_create(struct mfx_req *req);
void mfx_api_workspace_list(struct mfx_req *req);
void mfx_api_workspace_get(struct mfx_req *req);
void mfx_api_workspace_topup(struct mfx_req *req);
void mfx_api_key_create(struct mfx_req *req);
void mfx_api_key_revoke(struct mfx_req *req);
void mfx_api_key_list(struct mfx_req *req);
void mfx_api_workspace_baa(struct mfx_req *req);
void mfx_api_workspace_audit(struct mfx_req *req);
/* api_events.c */
void mfx_api_event_list(struct mfx_req *req);
void mfx_api_event_get(struct mfx_req *req);
/* api_webhooks.c */
void mfx_api_webhook_create(struct mfx_req *req);
void mfx_api_webhook_list(struct mfx_req *req);
void mfx_api_webhook_get(struct mfx_req *req);
void mfx_api_webhook_update(struct mfx_req *req);
void mfx_api_webhook_delete(struct mfx_req *req);
void mfx_api_webhook_rotate(struct mfx_req *req);
void mfx_api_webhook_attempt_list(struct mfx_req *req);
void mfx_api_webhook_attempt_get(struct mfx_req *req);
void mfx_api_webhook_attempt_retry(struct mfx_req *req);
void mfx_api_event_replay(struct mfx_req *req);
/* api_numbers.c */
void mfx_api_number_list(struct mfx_req *req);
void mfx_api_number_create(struct mfx_req *req);

/* List paging shared by every list endpoint: reads per_page (1..max) and
 * cursor; on bad input replies with the error and returns -1. */
struct mfx_page {
    int per_page;
    char cursor_id[MFX_ID_MAX];       /* "" when starting at the top */
};
int mfx_api_page_parse(struct mfx_req *req, const char *id_prefix, struct mfx_page *page);
/* Replies {"data": data, "has_more", "next_cursor"}: data holds up to
 * per_page + 1 items; the extra one only tells that more exist. */
void mfx_api_page_reply(struct mfx_req *req, const struct mfx_page *page, json_object *data);

/* Parses the multipart/form-data body into parts (free with
 * mfx_multipart_free); on a malformed body replies 422 (context.errors.body)
 * and returns -1. */
struct mfx_part;
int mfx_api_multipart(struct mfx_req *req, struct mfx_part **parts);

/* Collects field errors for one validation_failed reply. */
void mfx_field_error(json_object **errors, const char *field, const char *msg);

#endif
