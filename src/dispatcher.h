/* SPDX-License-Identifier: Apache-2.0
 *
 * dispatcher.h: sends webhook deliveries (DESIGN §8): claims due ones from
 * the database, records each attempt before sending it, signs with the
 * Standard Webhooks scheme, POSTs on the shared HTTP client, and schedules
 * the retries of [webhooks] retry_schedule. State is durable: a restart
 * resumes every pending delivery at its due time.
 */
#ifndef MFX_DISPATCHER_H
#define MFX_DISPATCHER_H

struct event_base;

int mfx_dispatcher_start(struct event_base *base);
/* New deliveries exist: look for due work once the batch commits. */
void mfx_dispatcher_poke(void);
/* Deliveries in flight. */
int mfx_dispatcher_busy(void);
void mfx_dispatcher_stop(void);

#endif
