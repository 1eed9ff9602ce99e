/* SPDX-License-Identifier: Apache-2.0
 *
 * events.h: the event log (DESIGN §8). Events are written in the same unit
 * of work as the change they describe (the outbox); the webhook dispatcher
 * (a later issue) reads them from there.
 */
#ifndef MFX_EVENTS_H
#define MFX_EVENTS_H

#include <json-c/json.h>
#include "mfx.h"

/* Writes an event whose data.object is `object` (ownership taken) in the
 * caller's unit; fax_id may be NULL. out_id (may be NULL) gets the id. */
void mfx_event_emit(const char *env_id, const char *type, const char *fax_id, json_object *object,
                    char out_id[MFX_ID_MAX]);
/* The stored envelope of an event in env_id, or NULL. */
json_object *mfx_event_get(const char *env_id, const char *event_id);

#endif
