/* SPDX-License-Identifier: Apache-2.0
 *
 * faxpages.h: the test document shared by the fax leg tests
 * (test_audio_fax.c over G.711, test_t38_fax.c over T.38): a multi-page
 * TIFF-F made with libtiff (1728 wide, fine resolution, G4 or T.4 2-D, black
 * patterns that differ per page), and a row-for-row comparison of a received
 * TIFF with the pages sent.
 */
#ifndef MFX_TEST_FAXPAGES_H
#define MFX_TEST_FAXPAGES_H

#include <stdbool.h>

#define MFX_FAXPAGES_WIDTH 1728
#define MFX_FAXPAGES_ROWS 320             /* short pages keep the tests quick */

/* Writes `pages` pages to path, T.6 (g4) or T.4 2-D. Returns 0, or -1. */
int mfx_faxpages_write(const char *path, int pages, bool g4);

/* Compares every page of the TIFF at path with the first `pages` pages
 * mfx_faxpages_write makes. Returns how many pages match exactly, or -1 on a
 * mismatch (a line starting with "#" says where) or an unreadable file. */
int mfx_faxpages_compare(const char *path, int pages);

/* The media clock speed of the fax tests: MFX_TEST_MEDIA_SPEED, else 12x
 * (6x under the sanitizers, which make every tick several times dearer):
 * fast enough for a quick suite, slow enough that a busy 2-core machine
 * still delivers packets within the jitter buffer's wall-clock delay. */
double mfx_test_media_speed(void);

/* Runs base for ms milliseconds of wall time (the media clock's posts keep
 * an event pending, so a loop never returns for lack of events). */
struct event_base;
void mfx_test_run_loop_ms(struct event_base *base, int ms);

#endif
