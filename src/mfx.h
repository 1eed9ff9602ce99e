/* SPDX-License-Identifier: Apache-2.0
 *
 * mfx.h: the few things every core file needs: return codes, allocation that
 * aborts on OOM, time helpers and the limits of string buffers. Included first.
 */
#ifndef MFX_H
#define MFX_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/* Return codes of internal functions; API and fax outcome codes live in errors.def. */
enum mfx_rc {
    MFX_OK = 0,
    MFX_ERR = -1,        /* failed; the caller has been told why (log or error out-param) */
    MFX_AGAIN = -2,      /* in progress, call again later */
    MFX_DECLINED = -3,   /* not mine: try the next module */
    MFX_NOTFOUND = -4,
};

const char *mfx_strerror(int rc);

#define MFX_ID_MAX 64        /* "fax_" + 26 ULID chars, with room for longer prefixes */

void *mfx_malloc(size_t n);
void *mfx_calloc(size_t n, size_t size);
void *mfx_realloc(void *p, size_t n);
char *mfx_strdup(const char *s);
char *mfx_strndup(const char *s, size_t n);
char *mfx_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int64_t mfx_now_ms(void);                 /* wall clock, ms since the epoch */
int64_t mfx_monotonic_ms(void);           /* for durations and timers */
/* RFC 3339 UTC with millisecond precision and 'Z'; out must hold 32 bytes. */
void mfx_time_format(int64_t ms, char out[32]);
/* Parses RFC 3339 (with Z or an offset); returns MFX_OK and ms, or MFX_ERR. */
int mfx_time_parse(const char *s, int64_t *ms);

#define MFX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
