/* SPDX-License-Identifier: Apache-2.0
 *
 * idempotency.h: Idempotency-Key on POST (DESIGN §5): scoped to the
 * environment (or the account), remembered for [idempotency] ttl with a
 * SHA-256 of the canonical request; the first response is replayed byte for
 * byte, a different request with the same key is a 409.
 */
#ifndef MFX_IDEMPOTENCY_H
#define MFX_IDEMPOTENCY_H

#include <event2/buffer.h>
#include "http.h"

/* Called before the handler. Returns true if it already replied (replay or
 * error); false to run the handler, with req->idem_in_flight set. */
bool mfx_idempotency_begin(struct mfx_req *req, const char *key);
/* Records the response of a request that began above (in the batch). */
void mfx_idempotency_finish(struct mfx_req *req, int status, const char *content_type, struct evbuffer *body);
/* Deletes records older than the TTL; returns how many. */
int mfx_idempotency_sweep(void);
void mfx_idempotency_free(void);

#endif
