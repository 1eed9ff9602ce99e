/* SPDX-License-Identifier: Apache-2.0
 *
 * outfile.c: atomic creation of mintfax-render's output (see outfile.h).
 */
#include "config.h"
#include "outfile.h"
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The directory part of path, malloc'd. */
static char *dir_of(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    char *d = strdup(dirname(copy));
    free(copy);
    return d;
}

/* The descriptor of an "fd:N" path, or -1. */
static int given_fd(const char *path)
{
    if (strncmp(path, "fd:", 3) != 0) return -1;
    char *end;
    long fd = strtol(path + 3, &end, 10);
    return *end || end == path + 3 || fd < 0 || fd > 1023 ? -1 : (int)fd;
}

int mfx_outfile_create(struct mfx_outfile *of, const char *path, int durable)
{
    of->fd = -1;
    of->durable = durable;
    of->tmp_path = NULL;
    int gfd = given_fd(path);
    if (gfd >= 0) {
        of->path = strdup(path);
        if (!of->path || ftruncate(gfd, 0) < 0 || lseek(gfd, 0, SEEK_SET) < 0) {
            free(of->path);
            of->path = NULL;
            return -1;
        }
        of->fd = gfd;
        return 0;
    }
    of->path = strdup(path);
    char *dir = dir_of(path);
    if (!of->path || !dir) {
        free(dir);
        free(of->path);
        of->path = NULL;
        errno = ENOMEM;
        return -1;
    }
#ifdef O_TMPFILE
    of->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
#endif
    if (of->fd < 0) {
        /* No O_TMPFILE here: a hidden named temporary instead. */
        size_t n = strlen(path) + 16;
        of->tmp_path = malloc(n);
        if (of->tmp_path) {
            snprintf(of->tmp_path, n, "%s.XXXXXX", path);
            of->fd = mkostemp(of->tmp_path, O_CLOEXEC);
        }
        if (of->fd < 0) {
            int e = of->tmp_path ? errno : ENOMEM;
            free(of->tmp_path);
            free(of->path);
            of->tmp_path = of->path = NULL;
            free(dir);
            errno = e;
            return -1;
        }
        mfx_guard_track_file(of->tmp_path);
    }
    free(dir);
    return 0;
}

/* fsyncs the directory holding path, so the new name survives a crash. */
static void sync_dir(const char *path)
{
    char *dir = dir_of(path);
    if (!dir)
        return;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(dir);
}

int mfx_outfile_commit(struct mfx_outfile *of)
{
    int rc = -1, e = 0;
    if (given_fd(of->path) >= 0) {
        /* The parent reads it: nothing to name. */
        close(of->fd);
        of->fd = -1;
        free(of->path);
        of->path = NULL;
        return 0;
    }
    if (of->durable && fsync(of->fd) < 0) {
        e = errno;
        goto out;
    }
    if (of->tmp_path) {
        if (rename(of->tmp_path, of->path) < 0) {
            e = errno;
            goto out;
        }
        mfx_guard_track_file(NULL);
        free(of->tmp_path);
        of->tmp_path = NULL;
    } else {
        /* Give the anonymous file a temporary name, then move it over path. */
        char proc[64], *tmp = NULL;
        size_t n = strlen(of->path) + 32;
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", of->fd);
        tmp = malloc(n);
        if (!tmp) {
            e = ENOMEM;
            goto out;
        }
        snprintf(tmp, n, "%s.%ld.tmp", of->path, (long)getpid());
        unlink(tmp);
        if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) < 0) {
            e = errno;
            free(tmp);
            goto out;
        }
        if (rename(tmp, of->path) < 0) {
            e = errno;
            unlink(tmp);
            free(tmp);
            goto out;
        }
        free(tmp);
    }
    if (of->durable)
        sync_dir(of->path);
    rc = 0;
out:
    close(of->fd);
    of->fd = -1;
    if (rc < 0)
        mfx_outfile_discard(of);
    free(of->path);
    of->path = NULL;
    errno = e;
    return rc;
}

void mfx_outfile_discard(struct mfx_outfile *of)
{
    if (of->fd >= 0 && of->path && given_fd(of->path) >= 0) {
        /* The parent's memfd: leave it empty (it sees no "ok" either way). */
        int rc = ftruncate(of->fd, 0);
        (void)rc;
    }
    if (of->fd >= 0)
        close(of->fd);
    of->fd = -1;
    if (of->tmp_path) {
        unlink(of->tmp_path);
        mfx_guard_track_file(NULL);
        free(of->tmp_path);
        of->tmp_path = NULL;
    }
    free(of->path);
    of->path = NULL;
}
