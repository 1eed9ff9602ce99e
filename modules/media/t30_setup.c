/* SPDX-License-Identifier: Apache-2.0
 *
 * t30_setup.c: the one place a spandsp T.30 engine gets configured (see
 * t30_setup.h), for the G.711 leg (audio_fax.c) and, later, T.38. The phase
 * handlers need our events, the caller's ctx, a copy of the log tag (spandsp
 * keeps the tag pointer) and whether phase B was reached; that lives in a
 * small binding per t30 state, found again by mfx_t30_detach() in a short
 * locked list (setup and detach are rare: twice per call).
 */
#include "config.h"
#include "mfx.h"
#include "log.h"
#include "t30_setup.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct binding {
    t30_state_t *t30;
    struct mfx_t30_events ev;
    void *ctx;
    bool transmit;
    bool phase_b_seen;
    char tag[MFX_ID_MAX + 8];
    struct binding *next;
};

static pthread_mutex_t bindings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct binding *bindings;

/* ---- logging: spandsp → our logger ------------------------------------- */

static void span_message(int level, const char *text)
{
    int sev = level & SPAN_LOG_SEVERITY_MASK;
    /* spandsp's WARNING lines are mostly routine ("ECM carrier not found"). */
    int ours = sev <= SPAN_LOG_ERROR ? MFX_LOG_ERROR
             : sev == SPAN_LOG_PROTOCOL_ERROR ? MFX_LOG_WARN
             : sev <= SPAN_LOG_PROTOCOL_WARNING ? MFX_LOG_INFO : MFX_LOG_DEBUG;
    if (ours < mfx_log_level) return;
    size_t n = strlen(text);
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r')) n--;
    mfx_log(ours, "t30", "%.*s", (int)n, text);
}

static void span_error(const char *text)
{
    span_message(SPAN_LOG_ERROR, text);
}

void mfx_t30_log_attach(logging_state_t *log, const char *tag)
{
    if (!log) return;
    int level = mfx_log_level <= MFX_LOG_DEBUG ? SPAN_LOG_FLOW : SPAN_LOG_PROTOCOL_WARNING;
    span_log_set_level(log, level | SPAN_LOG_SHOW_PROTOCOL | SPAN_LOG_SHOW_TAG | SPAN_LOG_SHOW_SEVERITY);
    span_log_set_tag(log, tag);
    span_log_set_message_handler(log, span_message);
    span_log_set_error_handler(log, span_error);
}

/* ---- phase handlers (T.30 §5: phases B, D, E) -------------------------- */

void mfx_t30_result_fill(t30_state_t *t30, bool transmit, int completion, struct mfx_fax_result *r)
{
    t30_stats_t st;
    t30_get_transfer_statistics(t30, &st);
    r->completion = completion;
    snprintf(r->completion_text, sizeof r->completion_text, "%s", t30_completion_code_to_str(completion));
    r->pages = transmit ? st.pages_tx : st.pages_rx;
    r->bit_rate = st.bit_rate;
    r->ecm = st.error_correcting_mode != 0;
    const char *ident = t30_get_rx_ident(t30);
    snprintf(r->remote_ident, sizeof r->remote_ident, "%s", ident ? ident : "");
}

/* Phase B (pre-message procedure) starts once the far end's DIS or DCS was
 * understood: it is a fax machine. Returns T30_ERR_OK to carry on. */
static int on_phase_b(t30_state_t *t30, void *user, int result)
{
    (void)t30;
    struct binding *b = user;
    b->phase_b_seen = true;
    mfx_debug("t30", "%s phase B: %s", b->tag, t30_frametype((uint8_t)result));
    return T30_ERR_OK;
}

/* Phase D (post-message procedure): result is the frame that ended the page
 * exchange (MCF, RTP, RTN, ...). Reports the pages confirmed so far. */
static int on_phase_d(t30_state_t *t30, void *user, int result)
{
    struct binding *b = user;
    t30_stats_t st;
    t30_get_transfer_statistics(t30, &st);
    int pages = b->transmit ? st.pages_tx : st.pages_rx;
    mfx_debug("t30", "%s phase D: %s, pages %d", b->tag, t30_frametype((uint8_t)result), pages);
    if (b->ev.page) b->ev.page(b->ctx, pages);
    return T30_ERR_OK;
}

static void on_phase_e(t30_state_t *t30, void *user, int completion)
{
    struct binding *b = user;
    struct mfx_fax_result r;
    memset(&r, 0, sizeof r);
    mfx_t30_result_fill(t30, b->transmit, completion, &r);
    r.remote_fax_seen = b->phase_b_seen;
    mfx_info("t30", "%s phase E: %s (%d), pages %d, %d bit/s, ecm %s, remote \"%s\"", b->tag, r.completion_text,
             completion, r.pages, r.bit_rate, r.ecm ? "on" : "off", r.remote_ident);
    if (b->ev.done) b->ev.done(b->ctx, &r);
}

/* ---- setup ------------------------------------------------------------- */

static struct binding *find_locked(t30_state_t *t30, struct binding ***link)
{
    struct binding **pp = &bindings;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->t30 == t30) break;
    if (link) *link = pp;
    return *pp;
}

void mfx_t30_setup(t30_state_t *t30, const struct mfx_fax_params *p, const struct mfx_t30_events *ev, void *ctx)
{
    pthread_mutex_lock(&bindings_lock);
    struct binding *b = find_locked(t30, NULL);
    if (!b) {
        b = mfx_calloc(1, sizeof *b);
        b->t30 = t30;
        b->next = bindings;
        bindings = b;
    }
    pthread_mutex_unlock(&bindings_lock);
    b->ev = *ev;
    b->ctx = ctx;
    b->transmit = p->transmit;
    b->phase_b_seen = false;
    snprintf(b->tag, sizeof b->tag, "%s", p->log_tag ? p->log_tag : "fax");
    mfx_t30_log_attach(t30_get_logging_state(t30), b->tag);

    int modems = p->modems & (T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_supported_modems(t30, modems ? modems : T30_SUPPORT_V27TER | T30_SUPPORT_V29 | T30_SUPPORT_V17);
    t30_set_supported_compressions(t30, T30_SUPPORT_T4_1D_COMPRESSION | T30_SUPPORT_T4_2D_COMPRESSION |
                                        T30_SUPPORT_T6_COMPRESSION);
    t30_set_ecm_capability(t30, p->ecm);

    /* T.30 §5.3.6.2.4 / spandsp: at most 20 characters of ident, 50 of header. */
    char ident[T30_MAX_IDENT_LEN + 1], header[T30_MAX_PAGE_HEADER_INFO + 1];
    snprintf(ident, sizeof ident, "%s", p->ident ? p->ident : "");
    t30_set_tx_ident(t30, p->ident ? ident : NULL);
    snprintf(header, sizeof header, "%s", p->header_text ? p->header_text : "");
    t30_set_tx_page_header_info(t30, p->header_text ? header : NULL);

    /* spandsp copies the names and opens the files when phase B begins;
     * without one the call ends with T30_ERR_FILEERROR. */
    if (p->transmit && p->tx_tiff) t30_set_tx_file(t30, p->tx_tiff, -1, -1);
    else if (!p->transmit && p->rx_tiff) t30_set_rx_file(t30, p->rx_tiff, -1);

    t30_set_phase_b_handler(t30, on_phase_b, b);
    t30_set_phase_d_handler(t30, on_phase_d, b);
    t30_set_phase_e_handler(t30, on_phase_e, b);
}

bool mfx_t30_remote_fax_seen(t30_state_t *t30)
{
    pthread_mutex_lock(&bindings_lock);
    struct binding *b = find_locked(t30, NULL);
    bool seen = b && b->phase_b_seen;
    pthread_mutex_unlock(&bindings_lock);
    return seen;
}

void mfx_t30_detach(t30_state_t *t30)
{
    pthread_mutex_lock(&bindings_lock);
    struct binding **link;
    struct binding *b = find_locked(t30, &link);
    if (b) *link = b->next;
    pthread_mutex_unlock(&bindings_lock);
    if (!b) return;
    t30_set_phase_b_handler(t30, NULL, NULL);
    t30_set_phase_d_handler(t30, NULL, NULL);
    t30_set_phase_e_handler(t30, NULL, NULL);
    span_log_set_tag(t30_get_logging_state(t30), NULL);
    free(b);
}
