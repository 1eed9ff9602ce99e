/* SPDX-License-Identifier: Apache-2.0
 *
 * guard.h: what keeps a hostile document from hurting more than its own
 * render. mintfax-render applies resource limits to itself before it reads
 * the document (RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, no core files, and a
 * wall-clock alarm), and handles the fatal signals: the CPU limit, the
 * alarm, and a crash inside a library (often an allocation refused under
 * RLIMIT_AS that poppler turns into abort()). The handler removes the
 * temporary files it was told about, prints the one JSON failure line the
 * caller expects, and exits with status 3.
 */
#ifndef MFX_GUARD_H
#define MFX_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct mfx_guard_limits {
    double cpu_seconds;     /* 0: no limit */
    uint64_t max_memory;    /* address space in bytes; 0: no limit */
    uint64_t max_output;    /* largest file written, bytes; 0: no limit */
    double wall_seconds;    /* 0: no alarm */
};

/* Applies the limits and installs the signal handlers. Returns 0, or -1
 * with a message in msg. */
int mfx_guard_apply(const struct mfx_guard_limits *l, char *msg, size_t msg_len);

/* A named temporary file to unlink on a fatal signal (NULL: none). */
void mfx_guard_track_file(const char *path);

/* A temporary directory of preview files page-1.png .. page-<count>.png
 * to remove on a fatal signal (NULL: none). */
void mfx_guard_track_dir(const char *dir, int count);

/* The page being rendered (1-based), for the failure line. */
void mfx_guard_set_page(int page);

/* The result line has been printed: a fatal signal from now on (a library
 * destructor at exit) must not print a second one. Also cancels the alarm. */
void mfx_guard_done(void);

/* 1 when built with AddressSanitizer, which cannot run under RLIMIT_AS. */
int mfx_guard_asan(void);

#endif
