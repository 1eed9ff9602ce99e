/* SPDX-License-Identifier: Apache-2.0
 *
 * auth.h: API keys. Keys are shown once; the database keeps a SHA-256 of each
 * and its first characters for display.
 */
#ifndef MFX_AUTH_H
#define MFX_AUTH_H

#include "http.h"

/* Authenticates the bearer key into req->auth; returns MFX_E__COUNT when the
 * key is good, else the catalogued error (unauthenticated). */
enum mfx_err mfx_auth_check(struct mfx_req *req);

/* Drops a revoked key from the cache of good keys: it stops working at once. */
void mfx_auth_forget(const char *key_id);
void mfx_auth_free(void);

/* Creates a key of kind "account", "sandbox" or "live" (workspace_id and
 * env_id NULL for account). Writes the id to key_id; returns the secret,
 * which the caller frees and shows once. Runs inside the caller's unit. */
char *mfx_auth_key_create(const char *kind, const char *workspace_id, const char *env_id,
                          const char *name, char key_id[MFX_ID_MAX]);
/* Stores a key whose secret was given (account_key from config). */
void mfx_auth_key_store(const char *kind, const char *secret, const char *workspace_id,
                        const char *env_id, const char *name, char key_id[MFX_ID_MAX]);

#endif
