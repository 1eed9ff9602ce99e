/* SPDX-License-Identifier: Apache-2.0
 *
 * mem.c: allocation wrappers that abort on out-of-memory (as redis's zmalloc
 * does), so that callers never carry untestable NULL branches, plus the time
 * helpers every file uses. Sizes a caller controls are bounded before they get
 * here.
 */
#include "config.h"
#include "mfx.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void oom(size_t n)
{
    fprintf(stderr, "mintfaxd: out of memory allocating %zu bytes\n", n);
    abort();
}

void *mfx_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *mfx_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *mfx_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *mfx_strdup(const char *s)
{
    return mfx_strndup(s, strlen(s));
}

char *mfx_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = mfx_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *mfx_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    char *p = mfx_malloc((size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

const char *mfx_strerror(int rc)
{
    switch (rc) {
    case MFX_OK: return "ok";
    case MFX_ERR: return "failed";
    case MFX_AGAIN: return "in progress";
    case MFX_DECLINED: return "declined";
    case MFX_NOTFOUND: return "not found";
    default: return "unknown";
    }
}

int64_t mfx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mfx_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mfx_time_format(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

int mfx_time_parse(const char *s, int64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p) return MFX_ERR;
    int64_t frac = 0;
    if (*p == '.') {
        int digits = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (digits < 3) { frac = frac * 10 + (*p - '0'); digits++; }
            p++;
        }
        if (digits == 0) return MFX_ERR;
        while (digits++ < 3) frac *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int sign = *p == '-' ? -1 : 1;
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
        offset = sign * (hh * 3600 + mm * 60);
        p += 6;
    } else {
        return MFX_ERR;
    }
    if (*p) return MFX_ERR;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - offset) * 1000 + frac;
    return MFX_OK;
}
