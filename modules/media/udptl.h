/* SPDX-License-Identifier: Apache-2.0
 *
 * udptl.h: UDPTL, the datagram transport of T.38 IFP packets (ITU-T T.38
 * §9.1 and Annex A): the ASN.1 aligned-PER UDPTLPacket with its sequence
 * number, primary IFP and error recovery (redundant secondary IFPs, or FEC
 * parity). A pure codec with no socket, clock or library underneath: the T.38
 * leg owns the UDP socket, hands each datagram to mfx_udptl_rx_feed and each
 * IFP that spandsp's t38_core produces to mfx_udptl_tx_encode. The fuzz target
 * is tests/fuzz/fuzz_udptl.c, the unit tests tests/unit/test_udptl.c.
 */
#ifndef MFX_MEDIA_UDPTL_H
#define MFX_MEDIA_UDPTL_H

#include <stddef.h>
#include <stdint.h>

#define MFX_UDPTL_MAX_IFP 512           /* largest IFP we accept or send */
#define MFX_UDPTL_MAX_DATAGRAM 1400     /* default and ceiling of the peer's T38FaxMaxDatagram */
#define MFX_UDPTL_MAX_ENTRIES 16        /* secondaries or FEC entries one datagram may carry */
#define MFX_UDPTL_MAX_REDUNDANCY 4      /* secondaries we send at most */
#define MFX_UDPTL_DEFAULT_REDUNDANCY 3
#define MFX_UDPTL_MAX_FEC_SPAN 5        /* Asterisk refuses more than 5 FEC entries; FreeSWITCH */
#define MFX_UDPTL_MAX_FEC_ENTRIES 5     /* and Asterisk recover only when span * entries < 16 */
#define MFX_UDPTL_SEQ_WINDOW 2000       /* further than this from the expected seq = a restart */

enum mfx_udptl_ec { MFX_UDPTL_EC_NONE, MFX_UDPTL_EC_REDUNDANCY, MFX_UDPTL_EC_FEC };

/* ------------------------------------------------------------------------ */
/* Stateless codec                                                           */

/* One UDPTLPacket. Decoded: every pointer points into the datagram. To
 * encode: pointers to the caller's bytes. In FEC mode (T.38 Annex A, as
 * FreeSWITCH, Asterisk and spandsp compute it), with E = n_fec entries and
 * S = seq, entry m (0 <= m < E) is the XOR of the IFPs S+m-k*E for
 * k = 1..fec_npackets, each zero-padded to the longest of them; its length is
 * that longest length. */
struct mfx_udptl_packet {
    uint16_t seq;
    const uint8_t *primary; size_t primary_len;
    enum mfx_udptl_ec ec;                 /* NONE is redundancy with no secondaries */
    int n_secondary;                      /* redundancy: secondary IFPs, [0] = seq-1, [1] = seq-2, ... */
    const uint8_t *secondary[MFX_UDPTL_MAX_ENTRIES]; size_t secondary_len[MFX_UDPTL_MAX_ENTRIES];
    int fec_npackets, n_fec;              /* FEC: span and the parity entries */
    const uint8_t *fec[MFX_UDPTL_MAX_ENTRIES]; size_t fec_len[MFX_UDPTL_MAX_ENTRIES];
};

/* Decodes one datagram into out. Returns 0, or -1 if it is malformed: short,
 * a length past the end, a fragmented length (>= 16384, X.691 §10.9.3.8),
 * more than 16 secondaries or FEC entries, an IFP or FEC entry longer than
 * MFX_UDPTL_MAX_IFP, fec-npackets outside 0..255, or bytes after the end of
 * the packet. Zero-length IFPs are accepted (some senders fill empty
 * redundancy slots so); the receiver skips them. A secondary-ifp-packets list
 * of zero entries decodes as MFX_UDPTL_EC_NONE. */
int mfx_udptl_decode(const uint8_t *buf, size_t len, struct mfx_udptl_packet *out);

/* Encodes p into out (cap bytes). Returns the datagram length, or -1 if it
 * does not fit, a primary or secondary is empty, a length is 16384 or more,
 * a count exceeds 16, or fec_npackets is outside 0..255. */
int mfx_udptl_encode(const struct mfx_udptl_packet *p, uint8_t *out, size_t cap);

/* ------------------------------------------------------------------------ */
/* Sender                                                                    */

struct mfx_udptl_tx;  /* sequence number and the last 16 IFPs, for redundancy and FEC */

/* A new sender; free with mfx_udptl_tx_free. redundancy_depth: how many
 * earlier IFPs each datagram repeats in MFX_UDPTL_EC_REDUNDANCY mode; < 0
 * means the default 3, > 4 is taken as 4. max_datagram: the peer's
 * T38FaxMaxDatagram; 0 or more than 1400 means 1400. FEC mode starts with
 * span 3 and 3 entries (Asterisk's defaults): see mfx_udptl_tx_set_fec. The
 * first datagram has seq 0. Never returns NULL (aborts on OOM). */
struct mfx_udptl_tx *mfx_udptl_tx_new(enum mfx_udptl_ec ec, int redundancy_depth, int max_datagram);
void mfx_udptl_tx_free(struct mfx_udptl_tx *tx);

/* FEC parameters: each datagram carries `entries` parity entries over the
 * span * entries IFPs before it. Returns 0, or -1 unless 1 <= span <= 5,
 * 1 <= entries <= 5 and span * entries <= 15 (the limits FreeSWITCH and
 * Asterisk receivers work with). */
int mfx_udptl_tx_set_fec(struct mfx_udptl_tx *tx, int span, int entries);

/* Builds the datagram for the next IFP (1..MFX_UDPTL_MAX_IFP bytes) into out
 * (cap bytes): sequence number, primary, then as many of the previous IFPs
 * (most recent first) or FEC entries as fit both cap and the peer's max
 * datagram, dropping secondaries or entries rather than exceeding it. Returns
 * the length, or -1 (nothing consumed: the sequence number does not advance)
 * if the IFP is empty or too long or the primary alone does not fit. An IFP
 * spandsp asks to send `count` times is encoded once and the same datagram
 * sent count times: the copies share the sequence number. */
int mfx_udptl_tx_encode(struct mfx_udptl_tx *tx, const uint8_t *ifp, size_t len, uint8_t *out, size_t cap);

/* ------------------------------------------------------------------------ */
/* Receiver                                                                  */

struct mfx_udptl_rx;  /* the next expected seq and the last 16 delivered IFPs */

/* Called for each IFP, in sequence order and once per sequence number; ifp is
 * valid during the call only. It must not feed or free the same receiver. */
typedef void (*mfx_udptl_ifp_fn)(void *ctx, const uint8_t *ifp, size_t len, uint16_t seq);

/* A new receiver delivering to fn(ctx, ...); free with mfx_udptl_rx_free.
 * Never returns NULL (aborts on OOM). */
struct mfx_udptl_rx *mfx_udptl_rx_new(mfx_udptl_ifp_fn fn, void *ctx);
void mfx_udptl_rx_free(struct mfx_udptl_rx *rx);

/* Feeds one datagram and delivers, in sequence order and each exactly once,
 * the IFPs it can; nothing is ever held back for later (T.38 is real time):
 *  - the first datagram sets the sequence: its secondaries, oldest first,
 *    then its primary;
 *  - seq == expected: the primary;
 *  - expected < seq <= expected + 2000 (a gap): the missing IFPs it carries
 *    as secondaries, or that one of its FEC entries rebuilds (exactly one
 *    IFP of the entry's group missing), oldest first, then the primary. What
 *    stays missing is skipped and counted lost; a late copy that arrives
 *    afterwards is dropped (spandsp learns about the gap from the seq
 *    numbers it sees, and would drop it too);
 *  - expected - 2000 <= seq < expected: dropped, counted duplicate when that
 *    seq was delivered (known for the last 16) and late otherwise;
 *  - anything further away is a restart: the primary, and the sequence
 *    continues from it (the same window as spandsp's t38_core).
 * Sequence arithmetic is modulo 2^16. Returns 0, or -1 if the datagram was
 * malformed (counted, nothing delivered). */
int mfx_udptl_rx_feed(struct mfx_udptl_rx *rx, const uint8_t *buf, size_t len);

struct mfx_udptl_stats {
    uint64_t datagrams;     /* fed, malformed included */
    uint64_t malformed;
    uint64_t duplicates;    /* a seq already delivered */
    uint64_t late;          /* a seq already skipped as lost */
    uint64_t recovered;     /* IFPs delivered from secondaries or FEC */
    uint64_t lost;          /* seqs skipped */
    uint64_t restarts;      /* sequence jumps beyond the window */
    uint64_t delivered;     /* IFPs handed to the callback */
};
void mfx_udptl_rx_stats(const struct mfx_udptl_rx *rx, struct mfx_udptl_stats *out);

#endif
