/* SPDX-License-Identifier: Apache-2.0
 *
 * audio_fax.h: one G.711 fax leg (DESIGN §10 "Audio fax"): a UDP socket
 * carrying RTP (rtp.h) with PCMU or PCMA at ptime 20, the fixed-delay jitter
 * buffer (jitter.h) and a spandsp fax_state_t configured by t30_setup.h, all
 * driven by the shared media clock (media_clock.h): each tick drains the
 * socket, takes one frame from the jitter buffer into fax_rx (or
 * fax_rx_fillin when it is missing), and sends the 160 samples fax_tx makes
 * as one RTP packet. The SIP carrier owns the leg: it creates it before the
 * SDP offer/answer (for the local port), starts it with the far end's
 * address and payload type, and frees it at hang-up. The media runs on the
 * clock's media thread; these functions and the callbacks belong to the
 * clock's owner thread (its loop runs the callbacks).
 */
#ifndef MFX_MEDIA_AUDIO_FAX_H
#define MFX_MEDIA_AUDIO_FAX_H

#include <stdbool.h>
#include <stdint.h>
#include "jitter.h"
#include "media_clock.h"
#include "t30_setup.h"

struct mfx_audio_fax;

#define MFX_AUDIO_JITTER_DELAY 3          /* frames (60 ms): the default playout delay */
#define MFX_AUDIO_JITTER_CAPACITY 50      /* frames (1 s) */

/* FAX runs spandsp; the other two are a peer that is not a fax machine
 * (tests, the test peer): it sends silence or a speech-like signal and
 * never reports done. */
enum mfx_audio_mode { MFX_AUDIO_FAX, MFX_AUDIO_SILENCE, MFX_AUDIO_SPEECH };

/* Impairments applied to what this leg SENDS (tests, the test peer). */
struct mfx_audio_impair {
    double loss_pct;                  /* packets dropped at random, 0..100 */
    int jitter_ms;                    /* each packet delayed by a random 0..jitter_ms of media time */
    double noise_dbm0;                /* 0 = no noise, e.g. -45: AWGN added before encoding */
    unsigned seed;                    /* 0: a random seed */
};

struct mfx_audio_fax_callbacks {
    void (*page)(void *ctx, int pages_so_far);                /* may be NULL; once per page, in order; may free the leg */
    void (*done)(void *ctx, const struct mfx_fax_result *r);  /* exactly once, after the pages; may free the leg */
};

/* The fax tone callback (mfx_audio_fax_set_fax_tone); ctx is the leg's. It
 * is not a member of mfx_audio_fax_callbacks because the callers' two-member
 * positional initializers would then fail -Wmissing-field-initializers. */
typedef void (*mfx_audio_fax_tone_fn)(void *ctx, int tone);

/* Creates a leg with a nonblocking UDP socket bound to local_ip (numeric
 * IPv4 or IPv6) on an ephemeral port (an even one when the kernel offers it
 * within a few tries, RFC 3550 §11). In MFX_AUDIO_FAX mode p is required
 * and configures T.30 (the strings are copied); otherwise p may be NULL.
 * imp (may be NULL) is copied. Media flows only after
 * mfx_audio_fax_start(). Returns the leg, or NULL with *err (free it).
 * Free the leg with mfx_audio_fax_free(). */
struct mfx_audio_fax *mfx_audio_fax_new(struct mfx_media_clock *clk,       /* the shared media clock */
                                        const char *local_ip,              /* e.g. "127.0.0.1" */
                                        enum mfx_audio_mode mode,
                                        const struct mfx_fax_params *p,    /* FAX mode: what to send/receive */
                                        const struct mfx_audio_impair *imp,/* NULL: none; applied to what WE send */
                                        const struct mfx_audio_fax_callbacks *cb,
                                        void *ctx,                         /* passed to cb */
                                        char **err);                       /* OUT: why it failed */

/* Asks for fn(ctx, tone) once, from the owner's loop, when
 * the RECEIVED audio carries a fax answer tone (CED, 2100 Hz, T.30 §4.3.1)
 * or a V.21 HDLC preamble (the flags before DIS): the far end is a fax, time
 * for the T.38 re-INVITE (DESIGN §10, t38 = auto). tone is spandsp's
 * MODEM_CONNECT_TONES_* value: MODEM_CONNECT_TONES_FAX_CED (= _ANS; _ANS_PR,
 * _ANSAM or _ANSAM_PR for its modem variants) or
 * MODEM_CONNECT_TONES_FAX_PREAMBLE. Works in every mode (SILENCE and SPEECH
 * too); the detector (spandsp's modem_connect_tones_rx with
 * MODEM_CONNECT_TONES_FAX_CED_OR_PREAMBLE) runs only until the tone is
 * heard. Call it any time; fn NULL stops listening (and cancels a report
 * not yet delivered); once a tone was heard, a new fn is not called. fn may
 * free the leg. */
void mfx_audio_fax_set_fax_tone(struct mfx_audio_fax *a, mfx_audio_fax_tone_fn fn);

/* The local UDP port, for the SDP (m=audio <port>). */
int mfx_audio_fax_local_port(const struct mfx_audio_fax *a);

/* Sets the jitter buffer's playout delay and capacity in 20 ms frames (see
 * mfx_jitter_new); before start only. Returns 0, or -1 if out of range or
 * already started. */
int mfx_audio_fax_set_jitter(struct mfx_audio_fax *a, int delay_frames, int capacity_frames);
/* The same from a delay in milliseconds (rounded down to 20 ms frames),
 * with room for four times the delay plus 16 frames of early packets. */
int mfx_audio_fax_set_jitter_ms(struct mfx_audio_fax *a, int delay_ms);

/* Starts media towards remote_ip:remote_port (numeric, same family as the
 * local address) with payload type pt (0 PCMU, 8 PCMA; RFC 3551 §6). Calling
 * it again (a re-INVITE) changes the address and payload type. Only packets
 * from exactly that address and port are accepted. Returns 0, or -1 with
 * *err (free it). */
int mfx_audio_fax_start(struct mfx_audio_fax *a, const char *remote_ip, int remote_port, int pt, char **err);

/* Stops media and frees the leg: done has not been and will not be called
 * after this returns (also when phase E was reached but done not yet
 * delivered). Safe from inside the done and page callbacks. */
void mfx_audio_fax_free(struct mfx_audio_fax *a);

/* The T.30 state so far (e.g. the far end hung up before phase E): the
 * completion is T30_ERR_CALLDROPPED until phase E, then phase E's. Returns
 * 0, or -1 if the leg has no fax engine (SILENCE/SPEECH). */
int mfx_audio_fax_result(struct mfx_audio_fax *a, struct mfx_fax_result *out);

struct mfx_audio_stats {
    uint64_t rx_packets;              /* accepted and given to the jitter buffer */
    uint64_t tx_packets;              /* sent (after impairment) */
    uint64_t rx_wrong_source;         /* from another address than the remote one (or before start) */
    uint64_t rx_bad;                  /* not RTP (mfx_rtp_parse failed) or oversized */
    uint64_t rx_unknown_pt;           /* RTP with another payload type */
    struct mfx_jitter_stats jb;
    uint64_t tx_lost;                 /* dropped by the loss impairment */
};
void mfx_audio_fax_stats(struct mfx_audio_fax *a, struct mfx_audio_stats *out);

#endif
