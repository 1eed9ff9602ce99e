/* SPDX-License-Identifier: Apache-2.0
 *
 * retention.h: removing a fax's PHI (DESIGN §12, §5): its document's bytes,
 * tags/metadata, numbers, URLs, cover text, and every copy of those in event
 * payloads and idempotency records, keeping the billing record (id, status,
 * pages, cost, timestamps). Run on DELETE /v1/faxes/{id}, when a
 * zero_footprint fax becomes terminal (before its terminal event goes out),
 * and by the sweeper for standard retention after retention_days.
 */
#ifndef MFX_RETENTION_H
#define MFX_RETENTION_H

#include <stdbool.h>

struct event_base;

/* Purges a terminal fax inside the caller's unit; files are unlinked and the
 * WAL checkpointed once the unit's batch commits. Returns 1 if the document
 * itself was removed, 0 if only the fax was purged, -1 if the fax is not
 * terminal or unknown. actor: key id or "system" (audit). */
int mfx_retention_purge(const char *fax_id, const char *actor, const char *reason);
/* True if the environment's retention is zero_footprint. */
bool mfx_retention_zero_footprint(const char *env_id);
/* Starts the standard-retention sweeper. */
void mfx_retention_start(struct event_base *base);
/* Runs one sweep now; returns how many faxes were purged. */
int mfx_retention_sweep(void);
void mfx_retention_stop(void);

#endif
