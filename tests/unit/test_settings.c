/* SPDX-License-Identifier: Apache-2.0
 *
 * test_settings.c: the directive table: defaults, a file, environment
 * overrides (MINTFAX_<SECTION>_<KEY>), and refusals with a readable message.
 */
#include "config.h"
#include "mfx.h"
#include "settings.h"
#include "tap.h"

#include <stdlib.h>
#include <unistd.h>

static char *write_conf(const char *text)
{
    char *path = strdup("/tmp/mfx-test-conf-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) abort();
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
    close(fd);
    return path;
}

static int defaults(void)
{
    char *err;
    TAP_CHECK(mfx_config_load(NULL, &err) == 0);
    TAP_CHECK(mfx_cfg.time_scale == 1.0);
    TAP_CHECK(mfx_cfg.max_pages == 200);
    TAP_CHECK_STR(mfx_cfg.listen, "127.0.0.1:8080");
    mfx_config_free();
    return 0;
}

static int file_and_env(void)
{
    char *path = write_conf("[sandbox]\ntime_scale = 0.5\n[limits]\nmax_pages = 7\n");
    setenv("MINTFAX_SANDBOX_TIME_SCALE", "0.01", 1);
    char *err;
    int rc = mfx_config_load(path, &err);
    unsetenv("MINTFAX_SANDBOX_TIME_SCALE");
    unlink(path);
    free(path);
    TAP_CHECK(rc == 0);
    TAP_CHECK(mfx_cfg.time_scale == 0.01);   /* the environment wins */
    TAP_CHECK(mfx_cfg.max_pages == 7);
    mfx_config_free();
    return 0;
}

static int refusals(void)
{
    char *err = NULL;
    char *path = write_conf("[sandbox]\ntime_scal = 1\n");
    TAP_CHECK(mfx_config_load(path, &err) == -1 && strstr(err, "is not a setting"));
    free(err);
    unlink(path);
    free(path);
    path = write_conf("[limits]\nmax_pages = lots\n");
    TAP_CHECK(mfx_config_load(path, &err) == -1 && strstr(err, "not a whole number"));
    free(err);
    unlink(path);
    free(path);
    setenv("MINTFAX_LIMITS_MAX_PAGES", "0", 1);
    TAP_CHECK(mfx_config_load(NULL, &err) == -1 && strstr(err, "MINTFAX_LIMITS_MAX_PAGES") && strstr(err, "out of range"));
    unsetenv("MINTFAX_LIMITS_MAX_PAGES");
    free(err);
    mfx_config_free();
    return 0;
}

static const struct tap_case cases[] = {
    { "defaults", defaults },
    { "file then environment override", file_and_env },
    { "unknown keys and bad values are refused", refusals },
};
TAP_MAIN(cases)
