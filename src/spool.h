/* SPDX-License-Identifier: Apache-2.0
 *
 * spool.h: the files mintfax keeps under DATA_DIR (documents now; page
 * files and previews with the documents issue). Every file is sealed with
 * its workspace's data key (crypto.h) before it touches the disk, written
 * durably (temp file, fsync, rename, fsync of the directory), and read back
 * only through mfx_spool_read, which fails closed on any change.
 */
#ifndef MFX_SPOOL_H
#define MFX_SPOOL_H

#include <stddef.h>
#include "errors.h"
#include "mfx.h"

/* Creates the data key of a new workspace (in the caller's unit). */
int mfx_spool_workspace_key_create(const char *ws_id);
/* Seals data for env_id (aad binds it to its id) and writes it to
 * DATA_DIR/<kind>/<env_id>/<id>. Returns the path (caller frees) or NULL. */
char *mfx_spool_write(const char *env_id, const char *kind, const char *id, const void *data, size_t len);
/* Reads and opens a sealed file of at most max bytes. On failure returns
 * NULL with *err: gone (no file) or data_integrity_failed (changed, or not
 * ours). Result is NUL-terminated; caller frees. */
unsigned char *mfx_spool_read(const char *env_id, const char *id, const char *path, size_t max, size_t *len,
                              enum mfx_err *err);
/* Overwrites nothing, unlinks path and fsyncs its directory. */
void mfx_spool_unlink(const char *path);
/* Re-wraps every workspace data key under the master key being rotated to
 * (mintfaxd rotate-master-key). Returns how many, or -1 with *err. */
int mfx_spool_rewrap_all(char **err);
/* At start: finishes a rotation whose re-wrap committed before its rename. */
int mfx_spool_finish_rotation(char **err);
void mfx_spool_free(void);

#endif
