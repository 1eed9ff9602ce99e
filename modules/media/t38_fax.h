/* SPDX-License-Identifier: Apache-2.0
 *
 * t38_fax.h: one T.38 fax leg (DESIGN §10 "T.38"), the same shape as the
 * G.711 leg in audio_fax.h: a UDP socket carrying UDPTL (udptl.h, ITU-T T.38
 * §9.1 and Annex A) and a spandsp t38_terminal_state_t (T.38 termination
 * with T.30 underneath, configured by t30_setup.h), driven by the shared
 * media clock (media_clock.h): datagrams are read when they arrive, through
 * the UDPTL receiver into t38_core_rx_ifp_packet; each tick advances spandsp
 * by 160 samples
 * with t38_terminal_send_timeout, which paces what it sends (indicators,
 * training, image data) in real media time. The SIP carrier owns the leg: it
 * creates it for the local port of its m=image line, starts it with the far
 * end's address and what SDP negotiated (struct mfx_t38_session), and frees
 * it at hang-up. The media runs on the clock's media thread (the socket is
 * read on its loop); these functions and the callbacks belong to the
 * clock's owner thread, as for audio_fax.h.
 */
#ifndef MFX_MEDIA_T38_FAX_H
#define MFX_MEDIA_T38_FAX_H

#include <stdbool.h>
#include <stdint.h>
#include "media_clock.h"
#include "t30_setup.h"
#include "udptl.h"

struct mfx_t38_fax;

/* What SDP negotiated (RFC 4612 / T.38 Annex D attributes; the carrier maps
 * the SDP onto this). A zeroed struct is T.38 version 0, 14400 bit/s,
 * localTCF, 1400-byte datagrams and no error correction. */
struct mfx_t38_session {
    int version;                      /* T38FaxVersion 0..3 (outside: clamped) */
    int max_bit_rate;                 /* T38MaxBitRate; <= 0: 14400. Below 14400 V.17 is off, below 7200 V.29 */
    bool transferred_tcf;             /* T38FaxRateManagement: transferredTCF (true) or localTCF */
    int max_datagram;                 /* the PEER's T38FaxMaxDatagram; <= 0 or > 1400: 1400 */
    enum mfx_udptl_ec ec;             /* T38FaxUdpEC: the error correction WE send */
    int redundancy;                   /* redundancy depth; <= 0: 3, > 4: 4 (MFX_UDPTL_EC_REDUNDANCY only) */
};

/* Impairments applied to the datagrams this leg SENDS (tests, the test
 * peer), each decided at random per datagram with the seeded generator. */
struct mfx_t38_impair {
    double loss_pct;                  /* dropped, 0..100 */
    double dup_pct;                   /* sent twice */
    double reorder_pct;               /* held back and sent right after the next one */
    unsigned seed;                    /* 0: a random seed */
};

struct mfx_t38_fax_callbacks {
    void (*page)(void *ctx, int pages_so_far);                /* may be NULL; may free the leg */
    void (*done)(void *ctx, const struct mfx_fax_result *r);  /* exactly once, after the pages; may free the leg */
};

/* Creates a leg with a nonblocking UDP socket bound to local_ip (numeric
 * IPv4 or IPv6) on an ephemeral port, and a T.38 terminal that sends
 * (p->transmit: the calling party) or receives, its T.30 configured from p
 * (ECM as p->ecm; the strings are copied). p is required; imp (may be NULL)
 * and cb (may be NULL) are copied. Nothing is sent before
 * mfx_t38_fax_start(). Returns the leg, or NULL with *err (free it). Free
 * the leg with mfx_t38_fax_free(). */
struct mfx_t38_fax *mfx_t38_fax_new(struct mfx_media_clock *clk,        /* the shared media clock */
                                    const char *local_ip,               /* e.g. "127.0.0.1" */
                                    const struct mfx_fax_params *p,     /* what to send / receive */
                                    const struct mfx_t38_impair *imp,   /* NULL: none; on what WE send */
                                    const struct mfx_t38_fax_callbacks *cb,
                                    void *ctx,                          /* passed to cb */
                                    char **err);                        /* OUT: why it failed */

/* The local UDP port, for the SDP (m=image <port> udptl t38). */
int mfx_t38_fax_local_port(const struct mfx_t38_fax *t);

/* Starts the fax towards remote_ip:remote_port (numeric, the local
 * address's family) with the negotiated session s (copied): T.38 version,
 * rate management, fastest image data rate (and the modems T.30 may use),
 * the UDPTL sender's error correction and the peer's max datagram. Only
 * datagrams from exactly that address and port are accepted. Calling it
 * again (a re-INVITE that moves the media) changes only the address: the
 * UDPTL sequence numbers and the session stay. Returns 0, or -1 with *err
 * (free it). */
int mfx_t38_fax_start(struct mfx_t38_fax *t,
                      const char *remote_ip,              /* numeric */
                      int remote_port,
                      const struct mfx_t38_session *s,    /* NULL: a zeroed session */
                      char **err);                        /* OUT: why it failed */

/* Stops the leg and frees it: done has not been and will not be called
 * after this returns (also when phase E was reached but done not yet
 * delivered). Safe from inside the done and page callbacks. */
void mfx_t38_fax_free(struct mfx_t38_fax *t);

/* The T.30 state so far: the completion is T30_ERR_CALLDROPPED until phase
 * E, then phase E's. Returns 0. */
int mfx_t38_fax_result(struct mfx_t38_fax *t, struct mfx_fax_result *out);

struct mfx_t38_stats {
    uint64_t rx_datagrams;            /* from the remote address, given to the UDPTL receiver */
    uint64_t tx_datagrams;            /* sent (spandsp's repeats and impairment duplicates included) */
    uint64_t rx_wrong_source;         /* from another address than the remote one (or before start) */
    struct mfx_udptl_stats udptl;     /* the UDPTL receiver: malformed, duplicates, recovered, lost, ... */
    uint64_t rx_oversized;            /* longer than any datagram we accept: dropped */
    uint64_t tx_ifps;                 /* IFPs spandsp gave us to send */
    uint64_t tx_encode_failed;        /* an IFP that did not fit the peer's max datagram: the fax ends */
    uint64_t tx_lost, tx_duplicated, tx_reordered;  /* by the impairment */
};
void mfx_t38_fax_stats(struct mfx_t38_fax *t, struct mfx_t38_stats *out);

#endif
