/* SPDX-License-Identifier: Apache-2.0
 *
 * audit.h: the append-only audit log of each environment (DESIGN §13).
 * Every entry is one JSON line
 *   {"seq","at","actor","action","target","details","prev_hash","hash"}
 * where hash = hex SHA-256 of prev_hash followed by the line's text up to
 * (not including) ',"hash"' with '}' appended, so any edit, insertion or
 * removal breaks the chain from that entry on. The database refuses UPDATE
 * and DELETE of entries (triggers); mintfaxd refuses to start on a broken
 * chain unless told to continue.
 */
#ifndef MFX_AUDIT_H
#define MFX_AUDIT_H

#include <json-c/json.h>
#include <stddef.h>
#include "mfx.h"

#define MFX_AUDIT_GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Appends an entry in the caller's unit. actor is a key id or "system"
 * (never a key); details (may be NULL) is owned by the call. */
void mfx_audit(const char *env_id, const char *actor, const char *action, const char *target, json_object *details);
/* Appends the same entry to both environments of a workspace. */
void mfx_audit_workspace(const char *ws_id, const char *actor, const char *action, const char *target,
                         json_object *details);
/* Checks one line against the previous hash; fills next_hash (65 bytes).
 * Returns 0, or -1 with a reason (static string). */
int mfx_audit_check_line(const char *line, const char *prev_hash, long long expect_seq, char next_hash[65],
                         const char **why);
/* Verifies every stored chain; returns 0 or -1 with a message naming the
 * environment and the first broken entry (caller frees). */
int mfx_audit_verify_all(char **err);

#endif
