/* SPDX-License-Identifier: Apache-2.0
 *
 * job.h: the fax state machine of DESIGN §6. Every transition runs in one
 * unit of work with its attempt row, ledger movement and events, so a fax
 * reaches exactly one terminal state, with exactly one terminal event.
 *
 *   queued -> submitted -> in_progress -> delivered
 *      ^          |             |
 *      +----------+-------------+ (retryable outcome, retries left)
 *                 +-------------+-> failed
 */
#ifndef MFX_JOB_H
#define MFX_JOB_H

#include <stdbool.h>
#include "errors.h"
#include "mfx.h"

/* What one attempt came to; error == MFX_E__COUNT means delivered. */
struct mfx_outcome {
    enum mfx_err error;
    char subcode[64];
    char message[256];
    int pages_sent;
    int sip_status;          /* 0: none */
    int bit_rate;            /* 0: none */
    int ecm;                 /* -1: unknown */
    char remote_csid[24];
    char transport[8];       /* "" keeps the attempt's transport; else g711, t38 */
};

/* queued -> submitted: records attempt n (returned) and emits fax.sending. */
int mfx_job_attempt_begin(const char *fax_id, const char *transport, int *attempt_number);
/* submitted -> in_progress (the far end answered). */
void mfx_job_answered(const char *fax_id);
/* Ends the open attempt with its outcome: delivered, a retry, or failed. */
void mfx_job_attempt_end(const char *fax_id, const struct mfx_outcome *o);
/* Fails a fax that is not terminal, closing an open attempt (cancel,
 * document failure). Returns MFX_ERR if the fax is already terminal. */
int mfx_job_fail(const char *fax_id, enum mfx_err err, const char *subcode, const char *message);
/* Sets the real page count once the document is known; re-holds credits.
 * Returns MFX_ERR (and fails the fax) if the balance cannot cover it. */
int mfx_job_set_pages(const char *fax_id, int pages, const char *document_id);
/* At start-up: closes attempts cut short by a stop and requeues or fails
 * their faxes. Returns how many faxes were recovered. */
int mfx_job_recover(void);
/* Seconds before retry n (1-based) under the configured backoff. */
double mfx_job_backoff(int retry, bool sandbox);

#endif
