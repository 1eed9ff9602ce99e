/* SPDX-License-Identifier: Apache-2.0
 *
 * t30_setup.h: the T.30 configuration shared by every fax transport: G.711
 * audio now (audio_fax.c, spandsp fax_state_t), T.38 later (a
 * t38_terminal_state_t). One call configures modems, compressions, ECM,
 * identity, page header and files, routes spandsp's log lines into our
 * logger with a tag, and turns the phase B/D/E callbacks (T.30 §5, figure
 * 1) into mfx_t30_events.
 */
#ifndef MFX_MEDIA_T30_SETUP_H
#define MFX_MEDIA_T30_SETUP_H

#include <stdbool.h>
#include <spandsp.h>

struct mfx_fax_params {
    bool transmit;              /* true: send tx_tiff; false: receive into rx_tiff */
    const char *tx_tiff;        /* a path, e.g. /proc/self/fd/N of a memfd */
    const char *rx_tiff;
    const char *ident;          /* our TSI (sender) / CSID (receiver), may be NULL */
    const char *header_text;    /* sender page header info (t30_set_tx_page_header_info), NULL: no header line */
    bool ecm;
    int modems;                 /* T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17 mask; 0 = all three */
    const char *log_tag;        /* e.g. the fax id */
};

struct mfx_fax_result {
    int completion;             /* T30_ERR_*; T30_ERR_OK on success */
    char completion_text[96];   /* t30_completion_code_to_str */
    int pages;                  /* tx: pages the far end confirmed; rx: pages received */
    int bit_rate;
    bool ecm;
    char remote_ident[24];
    bool remote_fax_seen;       /* phase B reached: the far end is a fax machine */
};

struct mfx_t30_events {
    void (*page)(void *ctx, int pages_so_far);                    /* phase D: a page was confirmed / received */
    void (*done)(void *ctx, const struct mfx_fax_result *r);      /* phase E */
};

/* Configures t30 from p: modems (0 = V.27ter, V.29 and V.17), T.4 1-D/2-D
 * and T.6 compression, ECM, ident (truncated to T30_MAX_IDENT_LEN), page
 * header (truncated to T30_MAX_PAGE_HEADER_INFO), the file to send or
 * receive (spandsp opens it when phase B begins), spandsp logging into our
 * logger (subsystem "t30", tagged p->log_tag), and phase B/D/E handlers that
 * call ev with ctx. Every string in p is copied, and so is *ev (ev->page
 * may be NULL). The events are called from inside fax_rx/fax_tx (or the
 * T.38 equivalents): a done handler must not free the fax state from there;
 * defer that. Call mfx_t30_detach() before the t30 state is freed. */
void mfx_t30_setup(t30_state_t *t30, const struct mfx_fax_params *p, const struct mfx_t30_events *ev, void *ctx);

/* Removes what mfx_t30_setup() attached: no event is called after this.
 * Harmless if t30 was never set up. */
void mfx_t30_detach(t30_state_t *t30);

/* Routes a spandsp logging state (e.g. fax_get_logging_state(), the modems'
 * log) into our logger with a tag; tag must outlive log (spandsp keeps the
 * pointer). The level follows mfx_log_level at the time of the call. */
void mfx_t30_log_attach(logging_state_t *log, const char *tag);

/* Whether phase B was reached since mfx_t30_setup(): the far end is a fax
 * machine. */
bool mfx_t30_remote_fax_seen(t30_state_t *t30);

/* Fills r from t30's statistics after phase E (or at any time); completion
 * is passed in, remote_fax_seen is left as is. */
void mfx_t30_result_fill(t30_state_t *t30, bool transmit, int completion, struct mfx_fax_result *r);

#endif
