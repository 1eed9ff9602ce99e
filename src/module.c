/* SPDX-License-Identifier: Apache-2.0
 *
 * module.c: a small registry of carriers by name, checked for duplicates
 * and ABI version as nginx checks its modules.
 */
#include "config.h"
#include "mfx.h"
#include "module.h"
#include "settings.h"

#include <stdio.h>
#include <string.h>

#define MAX_CARRIERS 8
static const struct mfx_carrier *carriers[MAX_CARRIERS];
static int ncarriers;

int mfx_module_register(const struct mfx_carrier *c, char **err)
{
    if (c->abi_version != MFX_CARRIER_ABI) {
        *err = mfx_asprintf("carrier %s has ABI %d, this mintfaxd needs %d", c->name, c->abi_version, MFX_CARRIER_ABI);
        return -1;
    }
    if (mfx_module_carrier(c->name)) {
        *err = mfx_asprintf("carrier %s is duplicate", c->name);
        return -1;
    }
    if (ncarriers == MAX_CARRIERS) {
        *err = mfx_strdup("too many carriers");
        return -1;
    }
    carriers[ncarriers++] = c;
    return 0;
}

const struct mfx_carrier *mfx_module_carrier(const char *name)
{
    for (int i = 0; i < ncarriers; i++)
        if (!strcmp(carriers[i]->name, name)) return carriers[i];
    return NULL;
}

const struct mfx_carrier *mfx_module_carrier_for(bool live)
{
    return mfx_module_carrier(live ? mfx_cfg.live_carrier : "sandbox");
}

int mfx_module_start_all(struct event_base *base, char **err)
{
    for (int i = 0; i < ncarriers; i++)
        if (carriers[i]->start && carriers[i]->start(base, err) != 0) return -1;
    return 0;
}

void mfx_module_stop_all(void)
{
    for (int i = ncarriers - 1; i >= 0; i--)
        if (carriers[i]->stop) carriers[i]->stop();
    ncarriers = 0;
}
