/* SPDX-License-Identifier: Apache-2.0
 *
 * fdlimit.h: the descriptor limit of a process that holds many calls.
 */
#ifndef MFX_FDLIMIT_H
#define MFX_FDLIMIT_H

/* Raises the soft RLIMIT_NOFILE to the hard one (capped at 2^20). Each call
 * holds a descriptor or two (its media socket, the TIFF spandsp reads or
 * writes) besides the API's connections, and Debian's default soft limit of
 * 1024 runs out near 450 concurrent calls. Children inherit it, harmlessly.
 * Best effort: failures change nothing. */
void mfx_raise_fd_limit(void);

#endif
