/* SPDX-License-Identifier: Apache-2.0
 *
 * outfile.h: an output file that appears whole or not at all. It is created
 * without a name (O_TMPFILE) where the file system allows, so a render that
 * is killed leaves nothing behind; commit() gives it its name atomically
 * (link to a temporary name, then rename over the target), after an fsync
 * of the file and before one of its directory when asked (durable), so a
 * crash of the machine cannot leave an empty file under the name either.
 * Elsewhere a named temporary file is used and guard.c unlinks it if a
 * fatal signal arrives.
 */
#ifndef MFX_OUTFILE_H
#define MFX_OUTFILE_H

struct mfx_outfile {
    int fd;                 /* -1 when closed */
    char *path;             /* the final name */
    char *tmp_path;         /* named temporary, or NULL (anonymous file) */
    int durable;            /* fsync file and directory at commit */
};

/* Creates the file that will become path (in path's directory); durable
 * asks for the fsyncs at commit. Returns 0, or -1 with errno set. A path
 * "fd:N" names an open descriptor given by the parent (mintfaxd passes a
 * memfd so no page touches the disk in the clear): it is written from
 * offset 0, committed as is, and emptied on discard. */
int mfx_outfile_create(struct mfx_outfile *of, const char *path, int durable);

/* Flushes, names and closes the file. Returns 0, or -1 with errno set (the
 * temporary is then removed). */
int mfx_outfile_commit(struct mfx_outfile *of);

/* Closes and removes the file: nothing is left at path or a temporary name. */
void mfx_outfile_discard(struct mfx_outfile *of);

#endif
