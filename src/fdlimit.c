/* SPDX-License-Identifier: Apache-2.0
 *
 * fdlimit.c: see fdlimit.h.
 */
#include "config.h"
#include "mfx.h"
#include "fdlimit.h"
#include "log.h"

#include <sys/resource.h>

#define FD_LIMIT_CAP 1048576

void mfx_raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > FD_LIMIT_CAP ? FD_LIMIT_CAP : rl.rlim_max;
    if (rl.rlim_cur >= want) return;
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
        mfx_debug("main", "descriptor limit raised from %llu to %llu", (unsigned long long)was,
                  (unsigned long long)want);
}
