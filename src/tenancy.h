/* SPDX-License-Identifier: Apache-2.0
 *
 * tenancy.h: workspaces and their two environments (sandbox, live), and the
 * first start of an installation (account key + default workspace).
 */
#ifndef MFX_TENANCY_H
#define MFX_TENANCY_H

#include <json-c/json.h>
#include "mfx.h"

struct mfx_new_workspace {
    char id[MFX_ID_MAX];
    char sandbox_env[MFX_ID_MAX], live_env[MFX_ID_MAX];
    char sandbox_key_id[MFX_ID_MAX], live_key_id[MFX_ID_MAX];
    char *sandbox_key, *live_key;       /* secrets, shown once; owned */
};

/* Creates a workspace, both environments and a key for each, inside the
 * caller's unit. Free the secrets with mfx_new_workspace_clear(). */
int mfx_workspace_create(const char *name, struct mfx_new_workspace *out);
void mfx_new_workspace_clear(struct mfx_new_workspace *w);
/* The workspace object, or NULL if there is none with this id. */
json_object *mfx_workspace_json(const char *ws_id);
/* True if the workspace has signed the BAA. */
bool mfx_workspace_baa_signed(const char *ws_id);
bool mfx_workspace_exists(const char *ws_id);
/* Finds the environment of type "sandbox"/"live" of a workspace. */
int mfx_environment_find(const char *ws_id, const char *type, char env_id[MFX_ID_MAX]);
/* Workspace id and type ("sandbox"/"live") of an environment; MFX_NOTFOUND if none. */
int mfx_environment_info(const char *env_id, char ws_id[MFX_ID_MAX], char type[8]);

/* First start: if the database has no account key, creates it (or stores the
 * configured one) and a default workspace, prints the keys once and writes
 * DATA_DIR/initial-keys.json (0600). Returns 0 or -1 with *err. */
int mfx_tenancy_bootstrap(const char *data_dir, char **err);

#endif
