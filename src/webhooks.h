/* SPDX-License-Identifier: Apache-2.0
 *
 * webhooks.h: webhook endpoints of an environment and the fan-out of each
 * event into deliveries (the outbox rows the dispatcher sends). Fan-out runs
 * in the same unit of work as the event, so a committed event always has its
 * deliveries and an uncommitted one never does.
 */
#ifndef MFX_WEBHOOKS_H
#define MFX_WEBHOOKS_H

#include <json-c/json.h>
#include <stdbool.h>
#include "mfx.h"

/* Creates deliveries of an event to every active endpoint of env_id that
 * subscribes to type, and to the fax's webhook_url. Returns how many. When
 * out is given, each delivery's {id, endpoint_id, url} is appended to it. */
int mfx_webhooks_fanout(const char *env_id, const char *event_id, const char *type, const char *fax_id,
                        json_object *out);
/* The endpoint object (no secret), or NULL if env_id has no such endpoint. */
json_object *mfx_webhook_endpoint_json(const char *env_id, const char *id);
/* Secrets that sign a delivery now: the endpoint's (and its old one during
 * the rotation grace), or, for a fax's webhook_url (endpoint_id NULL), those
 * of every active endpoint of the environment. NULL-terminated; free with
 * g_strfreev. Empty when nothing can sign. */
char **mfx_webhook_signing_secrets(const char *env_id, const char *endpoint_id);
/* True if url is an http(s) URL whose host is not a blocked IP literal. */
bool mfx_webhook_url_ok(const char *url, const char **why);

#endif
