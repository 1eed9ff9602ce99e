/* SPDX-License-Identifier: Apache-2.0
 *
 * log.c: writes one line per event to stderr (journald or a pipe takes it from
 * there). Lines are built whole and written with one write(2) so concurrent
 * processes (render children, later) never interleave within a line.
 */
#include "config.h"
#include "mfx.h"
#include "log.h"

#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int mfx_log_level = MFX_LOG_INFO;

static const char *level_names[] = { "DEBUG", "INFO", "WARN", "ERROR" };

void mfx_log_write(int level, const char *subsys, const char *fmt, ...)
{
    char line[2048];
    char ts[32];
    mfx_time_format(mfx_now_ms(), ts);
    int n = snprintf(line, sizeof line, "%s %-5s %s ", ts, level_names[level & 3], subsys);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line - 1) n = sizeof line - 2;
    /* One event, one line: fold any newline a message carried. */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r') line[i] = ' ';
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

int mfx_log_level_parse(const char *name)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

void mfx_log_phone(const char *e164, int keep, char out[24])
{
    size_t len = strlen(e164);
    if (len > 23) len = 23;
    size_t start = e164[0] == '+' ? 2 : 0;   /* keep the + and the first digit */
    for (size_t i = 0; i < len; i++) {
        bool shown = i < start || (keep >= 0 && i + (size_t)keep >= len);
        out[i] = shown || keep < 0 ? e164[i] : '*';
    }
    out[len] = '\0';
}

static void libevent_log(int severity, const char *msg)
{
    int level = severity == EVENT_LOG_DEBUG ? MFX_LOG_DEBUG
              : severity == EVENT_LOG_MSG ? MFX_LOG_INFO
              : severity == EVENT_LOG_WARN ? MFX_LOG_WARN : MFX_LOG_ERROR;
    mfx_log(level, "libevent", "%s", msg);
}

void mfx_log_hook_libevent(void)
{
    event_set_log_callback(libevent_log);
}
