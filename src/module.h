/* SPDX-License-Identifier: Apache-2.0
 *
 * module.h: the registry of carrier modules, filled once at start-up.
 */
#ifndef MFX_MODULE_H
#define MFX_MODULE_H

#include "module_api.h"

/* Registers a carrier; returns -1 with a message for a duplicate name or a
 * wrong ABI version. */
int mfx_module_register(const struct mfx_carrier *c, char **err);
/* The carrier with this name, or NULL. */
const struct mfx_carrier *mfx_module_carrier(const char *name);
/* The carrier that serves an environment: sandbox, or [carrier] live. */
const struct mfx_carrier *mfx_module_carrier_for(bool live);
/* Starts and stops every registered carrier. */
int mfx_module_start_all(struct event_base *base, char **err);
void mfx_module_stop_all(void);

/* The built-in carriers. */
extern const struct mfx_carrier mfx_carrier_sandbox;
extern const struct mfx_carrier mfx_carrier_sip;

#endif
