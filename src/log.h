/* SPDX-License-Identifier: Apache-2.0
 *
 * log.h: the only logger. One line per event: time, level, subsystem, then
 * key=value context (req=, fax=) and a message. The macro checks the level
 * before any formatting happens. Phone numbers go through mfx_log_phone().
 */
#ifndef MFX_LOG_H
#define MFX_LOG_H

enum mfx_log_level { MFX_LOG_DEBUG = 0, MFX_LOG_INFO, MFX_LOG_WARN, MFX_LOG_ERROR };

extern int mfx_log_level;

#define mfx_log(level, subsys, ...) \
    do { if ((level) >= mfx_log_level) mfx_log_write((level), (subsys), __VA_ARGS__); } while (0)
#define mfx_debug(subsys, ...) mfx_log(MFX_LOG_DEBUG, subsys, __VA_ARGS__)
#define mfx_info(subsys, ...)  mfx_log(MFX_LOG_INFO, subsys, __VA_ARGS__)
#define mfx_warn(subsys, ...)  mfx_log(MFX_LOG_WARN, subsys, __VA_ARGS__)
#define mfx_error(subsys, ...) mfx_log(MFX_LOG_ERROR, subsys, __VA_ARGS__)

void mfx_log_write(int level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parses "debug|info|warn|error"; returns the level or -1. */
int mfx_log_level_parse(const char *name);
/* Masks a phone number for logs, keeping the last `keep` digits: "+1******0001".
 * out must hold 24 bytes. */
void mfx_log_phone(const char *e164, int keep, char out[24]);
/* Routes libevent's own warnings into this logger. */
void mfx_log_hook_libevent(void);

#endif
