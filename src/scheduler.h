/* SPDX-License-Identifier: Apache-2.0
 *
 * scheduler.h: picks due faxes from the database (so a restart resumes
 * everything), fetches document_url documents, and hands calls to the
 * carrier of the fax's environment within its channel limit.
 */
#ifndef MFX_SCHEDULER_H
#define MFX_SCHEDULER_H

#include <stdbool.h>

struct event_base;

int mfx_scheduler_start(struct event_base *base);
/* Something changed (a fax was queued): look for due work soon. */
void mfx_scheduler_poke(void);
/* Cancels the call of fax_id if one is running (its outcome is ignored). */
void mfx_scheduler_detach(const char *fax_id);
/* Stops starting new work (shutdown). */
void mfx_scheduler_drain(void);
/* Calls and fetches in flight. */
int mfx_scheduler_busy(void);
void mfx_scheduler_free(void);

#endif
