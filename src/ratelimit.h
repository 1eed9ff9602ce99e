/* SPDX-License-Identifier: Apache-2.0
 *
 * ratelimit.h: per-key request limits (a sliding window, sandbox and live
 * keys apart since every key is its own bucket) and the one-poll-per-second
 * rule for GET of a single fax.
 */
#ifndef MFX_RATELIMIT_H
#define MFX_RATELIMIT_H

#include "http.h"

/* Counts the request and fills req->rl_*; returns false after replying 429.
 * fax_id names the fax of a single-fax GET (poll limit), else NULL. */
bool mfx_ratelimit_check(struct mfx_req *req, const char *fax_id);
void mfx_ratelimit_free(void);

#endif
