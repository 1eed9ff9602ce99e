/* SPDX-License-Identifier: Apache-2.0
 *
 * ledger.h: credits (DESIGN §7). Integer credits per environment: available
 * and held, never negative; every movement is a ledger row written in the
 * caller's unit of work, with balance.low / balance.topup events as they
 * happen.
 */
#ifndef MFX_LEDGER_H
#define MFX_LEDGER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

/* Holds amount for a fax; MFX_ERR (nothing changed) if available < amount. */
int mfx_ledger_hold(const char *env_id, const char *fax_id, int64_t amount);
/* Changes a fax's hold from old_amount to new_amount; MFX_ERR if the increase
 * cannot be covered (nothing changed). */
int mfx_ledger_rehold(const char *env_id, const char *fax_id, int64_t old_amount, int64_t new_amount);
/* Ends a hold: charges `captured` of it and gives the rest back. */
void mfx_ledger_settle(const char *env_id, const char *fax_id, int64_t held, int64_t captured);
/* Adds credits; emits balance.topup when event is true. */
void mfx_ledger_topup(const char *env_id, int64_t amount, bool event);
/* The balance object of an environment (NULL if none). */
json_object *mfx_ledger_balance_json(const char *env_id);
/* Price of one page in this environment. */
int64_t mfx_ledger_page_price(bool live);

#endif
