/* SPDX-License-Identifier: Apache-2.0
 *
 * t30_memory.h: a whole T.30 fax exchange run in memory, with no clock:
 * spandsp's T.38 terminal as the sender, another as the receiving fax
 * machine, IFP packets passed straight between them and time advanced in
 * 20 ms steps as fast as the CPU goes. The sandbox's delivered path runs it
 * so a sandbox success proves the pages are transmittable.
 */
#ifndef MFX_T30_MEMORY_H
#define MFX_T30_MEMORY_H

#include <stdbool.h>

struct mfx_t30_result {
    int completion;              /* T30_ERR_*; 0 is success */
    char completion_text[96];
    int pages_sent;              /* pages the sender got confirmed */
    int pages_received;          /* pages the receiver kept */
    int bit_rate;
    bool ecm;
    char remote_ident[24];       /* the receiver's CSID as the sender saw it */
    double simulated_seconds;    /* T.30 protocol time of the exchange */
};

/* Sends tx_tiff (a TIFF-F file path, e.g. /proc/self/fd/N of a memfd) and
 * receives into rx_tiff; tsi is the sender's ident (may be NULL). Returns 0
 * when the exchange ran to its end (see r->completion for how it ended),
 * -1 if it could not start. */
int mfx_t30_memory_run(const char *tx_tiff, const char *rx_tiff, const char *tsi, bool ecm,
                       struct mfx_t30_result *r);

#endif
