/* SPDX-License-Identifier: Apache-2.0
 *
 * test_udptl.c: the UDPTL codec (modules/media/udptl.c, T.38 §9.1 and
 * Annex A) on datagrams written out byte by byte below: redundancy depths 0
 * to 4, an FEC packet, two-octet length determinants; encode/decode round
 * trips; the peer's max datagram; malformed input (truncation at every
 * length, lengths past the end, fragmentation, too many entries); and the
 * receiver: order, duplicates, reordering, loss recovered from redundancy
 * and from FEC parity, loss beyond recovery, sequence wrap and restart.
 */
#include "config.h"
#include "udptl.h"
#include "tap.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

#define MAX_GOT 256

/* What the receiver delivered, in order. */
struct got {
    int n;
    uint16_t seq[MAX_GOT];
    size_t len[MAX_GOT];
    uint8_t data[MAX_GOT][MFX_UDPTL_MAX_IFP];
};

static void collect(void *ctx, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct got *g = ctx;
    if (g->n >= MAX_GOT) return;
    g->seq[g->n] = seq;
    g->len[g->n] = len;
    memcpy(g->data[g->n], ifp, len);
    g->n++;
}

/* A distinct test IFP for index i, len bytes: a T.38 data IFP header byte,
 * then a pattern of i. */
static size_t make_ifp(int i, size_t len, uint8_t *out)
{
    for (size_t j = 0; j < len; j++) out[j] = (uint8_t)(j == 0 ? 0xc0 : i * 7 + j);
    return len;
}

static bool same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

/* ------------------------------------------------------------------------ */
/* Hand-built datagrams                                                      */

/* seq 1, primary 1 octet (0x00, the "no signal" indicator), secondary-ifp-packets with 0 entries */
static const uint8_t d_depth0[] = {
    0x00, 0x01,             /* seq-number 1 */
    0x01, 0x00,             /* primary: length 1, IFP 00 */
    0x00,                   /* error-recovery: CHOICE 0 (secondary-ifp-packets), 7 padding bits */
    0x00,                   /* SEQUENCE OF: 0 entries */
};

/* seq 0x0102, primary 02 (CNG), one secondary: 00 (seq 0x0101) */
static const uint8_t d_depth1[] = {
    0x01, 0x02,
    0x01, 0x02,
    0x00, 0x01,             /* redundancy, 1 entry */
    0x01, 0x00,             /* seq-1: length 1, 00 */
};

/* seq 10, primary c0 01 02, secondaries: seq 9 = 04, seq 8 = c0 aa */
static const uint8_t d_depth2[] = {
    0x00, 0x0a,
    0x03, 0xc0, 0x01, 0x02,
    0x00, 0x02,
    0x01, 0x04,
    0x02, 0xc0, 0xaa,
};

/* seq 0xfffe, primary 11, secondaries: 22, 33 33, 44 44 44 */
static const uint8_t d_depth3[] = {
    0xff, 0xfe,
    0x01, 0x11,
    0x00, 0x03,
    0x01, 0x22,
    0x02, 0x33, 0x33,
    0x03, 0x44, 0x44, 0x44,
};

/* seq 300, primary 01 02, secondaries 0a, 0b, 0c 0c, 0d */
static const uint8_t d_depth4[] = {
    0x01, 0x2c,
    0x02, 0x01, 0x02,
    0x00, 0x04,
    0x01, 0x0a,
    0x01, 0x0b,
    0x02, 0x0c, 0x0c,
    0x01, 0x0d,
};

/* seq 16, primary c0 01 02, FEC: fec-npackets 3, two parity entries aa bb and cc */
static const uint8_t d_fec[] = {
    0x00, 0x10,
    0x03, 0xc0, 0x01, 0x02,
    0x80,                   /* error-recovery: CHOICE 1 (fec-info), 7 padding bits */
    0x01, 0x03,             /* fec-npackets: INTEGER, length 1, value 3 */
    0x02,                   /* fec-data: SEQUENCE OF, 2 entries */
    0x02, 0xaa, 0xbb,       /* OCTET STRING length 2 */
    0x01, 0xcc,             /* OCTET STRING length 1 */
};

static int decode_depths(void)
{
    struct mfx_udptl_packet p;

    TAP_CHECK(mfx_udptl_decode(d_depth0, sizeof d_depth0, &p) == 0);
    TAP_CHECK(p.seq == 1 && p.ec == MFX_UDPTL_EC_NONE && p.n_secondary == 0);
    TAP_CHECK(p.primary == d_depth0 + 3 && p.primary_len == 1);

    TAP_CHECK(mfx_udptl_decode(d_depth1, sizeof d_depth1, &p) == 0);
    TAP_CHECK(p.seq == 0x0102 && p.ec == MFX_UDPTL_EC_REDUNDANCY && p.n_secondary == 1);
    TAP_CHECK(p.primary_len == 1 && p.primary[0] == 0x02);
    TAP_CHECK(p.secondary_len[0] == 1 && p.secondary[0][0] == 0x00);

    TAP_CHECK(mfx_udptl_decode(d_depth2, sizeof d_depth2, &p) == 0);
    TAP_CHECK(p.seq == 10 && p.n_secondary == 2 && p.primary_len == 3);
    TAP_CHECK(same(p.secondary[0], p.secondary_len[0], (const uint8_t[]){ 0x04 }, 1));
    TAP_CHECK(same(p.secondary[1], p.secondary_len[1], (const uint8_t[]){ 0xc0, 0xaa }, 2));

    TAP_CHECK(mfx_udptl_decode(d_depth3, sizeof d_depth3, &p) == 0);
    TAP_CHECK(p.seq == 0xfffe && p.n_secondary == 3);
    TAP_CHECK(p.secondary_len[0] == 1 && p.secondary_len[1] == 2 && p.secondary_len[2] == 3);
    TAP_CHECK(p.secondary[2][2] == 0x44);

    TAP_CHECK(mfx_udptl_decode(d_depth4, sizeof d_depth4, &p) == 0);
    TAP_CHECK(p.seq == 300 && p.n_secondary == 4 && p.primary_len == 2);
    TAP_CHECK(p.secondary[0][0] == 0x0a && p.secondary[1][0] == 0x0b && p.secondary[3][0] == 0x0d);
    TAP_CHECK(p.secondary_len[2] == 2);
    return 0;
}

static int decode_fec(void)
{
    struct mfx_udptl_packet p;
    TAP_CHECK(mfx_udptl_decode(d_fec, sizeof d_fec, &p) == 0);
    TAP_CHECK(p.seq == 16 && p.ec == MFX_UDPTL_EC_FEC && p.primary_len == 3);
    TAP_CHECK(p.fec_npackets == 3 && p.n_fec == 2 && p.n_secondary == 0);
    TAP_CHECK(same(p.fec[0], p.fec_len[0], (const uint8_t[]){ 0xaa, 0xbb }, 2));
    TAP_CHECK(same(p.fec[1], p.fec_len[1], (const uint8_t[]){ 0xcc }, 1));

    /* fec-npackets written in two octets (00 80 = 128), no entries */
    static const uint8_t two[] = { 0x00, 0x05, 0x01, 0x00, 0x80, 0x02, 0x00, 0x80, 0x00 };
    TAP_CHECK(mfx_udptl_decode(two, sizeof two, &p) == 0);
    TAP_CHECK(p.fec_npackets == 128 && p.n_fec == 0);
    return 0;
}

static int two_octet_lengths(void)
{
    /* seq 7, a 200-byte primary (length 200 = 0x80|0x00, 0xc8), one 200-byte secondary */
    uint8_t d[2 + 2 + 200 + 2 + 2 + 200];
    size_t n = 0;
    d[n++] = 0x00; d[n++] = 0x07;
    d[n++] = 0x80; d[n++] = 0xc8;
    for (int i = 0; i < 200; i++) d[n++] = (uint8_t)i;
    d[n++] = 0x00; d[n++] = 0x01;
    d[n++] = 0x80; d[n++] = 0xc8;
    for (int i = 0; i < 200; i++) d[n++] = (uint8_t)(255 - i);
    TAP_CHECK(n == sizeof d);

    struct mfx_udptl_packet p;
    TAP_CHECK(mfx_udptl_decode(d, n, &p) == 0);
    TAP_CHECK(p.seq == 7 && p.primary_len == 200 && p.primary == d + 4 && p.primary[199] == 199);
    TAP_CHECK(p.n_secondary == 1 && p.secondary_len[0] == 200 && p.secondary[0][0] == 255);

    /* The encoder writes the same bytes. */
    uint8_t out[512];
    TAP_CHECK(mfx_udptl_encode(&p, out, sizeof out) == (int)n);
    TAP_CHECK(memcmp(out, d, n) == 0);
    /* And a 127-byte IFP keeps the one-octet form, 128 takes two. */
    uint8_t ifp[128];
    make_ifp(1, sizeof ifp, ifp);
    struct mfx_udptl_packet q = { .seq = 1, .primary = ifp, .primary_len = 127 };
    TAP_CHECK(mfx_udptl_encode(&q, out, sizeof out) == 2 + 1 + 127 + 2 && out[2] == 127);
    q.primary_len = 128;
    TAP_CHECK(mfx_udptl_encode(&q, out, sizeof out) == 2 + 2 + 128 + 2 && out[2] == 0x80 && out[3] == 128);
    return 0;
}

static int encode_matches_hand_built(void)
{
    const uint8_t *const pkts[] = { d_depth0, d_depth1, d_depth2, d_depth3, d_depth4, d_fec };
    const size_t lens[] = { sizeof d_depth0, sizeof d_depth1, sizeof d_depth2, sizeof d_depth3,
                            sizeof d_depth4, sizeof d_fec };
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        struct mfx_udptl_packet p;
        uint8_t out[64];
        TAP_CHECK(mfx_udptl_decode(pkts[i], lens[i], &p) == 0);
        TAP_CHECK(mfx_udptl_encode(&p, out, sizeof out) == (int)lens[i]);
        TAP_CHECK(memcmp(out, pkts[i], lens[i]) == 0);
        /* One byte short of room is refused, never overrun. */
        TAP_CHECK(mfx_udptl_encode(&p, out, lens[i] - 1) == -1);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sender                                                                    */

static int round_trip_every_depth(void)
{
    for (int depth = 0; depth <= 4; depth++) {
        struct mfx_udptl_tx *tx = mfx_udptl_tx_new(depth ? MFX_UDPTL_EC_REDUNDANCY : MFX_UDPTL_EC_NONE, depth, 0);
        uint8_t ifps[12][40];
        size_t lens[12];
        for (int i = 0; i < 12; i++) {
            lens[i] = make_ifp(i, (size_t)(1 + i * 3), ifps[i]);
            uint8_t out[MFX_UDPTL_MAX_DATAGRAM];
            int n = mfx_udptl_tx_encode(tx, ifps[i], lens[i], out, sizeof out);
            TAP_CHECK(n > 0);
            struct mfx_udptl_packet p;
            TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0);
            TAP_CHECK(p.seq == i);
            TAP_CHECK(same(p.primary, p.primary_len, ifps[i], lens[i]));
            int want = i < depth ? i : depth;   /* fewer while the history is short */
            TAP_CHECK(p.n_secondary == want);
            TAP_CHECK(p.ec == (want ? MFX_UDPTL_EC_REDUNDANCY : MFX_UDPTL_EC_NONE));
            for (int k = 0; k < want; k++)      /* most recent first */
                TAP_CHECK(same(p.secondary[k], p.secondary_len[k], ifps[i - 1 - k], lens[i - 1 - k]));
        }
        mfx_udptl_tx_free(tx);
    }
    /* Out-of-range depth: < 0 is the default 3, > 4 is 4. */
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(MFX_UDPTL_EC_REDUNDANCY, -1, 0);
    uint8_t ifp[4] = { 0xc0, 1, 2, 3 }, out[200];
    struct mfx_udptl_packet p;
    int n = 0;
    for (int i = 0; i < 6; i++) n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.n_secondary == 3);
    mfx_udptl_tx_free(tx);
    tx = mfx_udptl_tx_new(MFX_UDPTL_EC_REDUNDANCY, 9, 0);
    for (int i = 0; i < 6; i++) n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.n_secondary == 4);
    mfx_udptl_tx_free(tx);
    return 0;
}

static int max_datagram_drops_secondaries(void)
{
    /* 40-byte IFPs: the datagram is 2 + 1 + 40 + 1 + 1 = 45 bytes, and each
     * secondary adds 41. A peer max of 130 leaves room for two of four. */
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(MFX_UDPTL_EC_REDUNDANCY, 4, 130);
    uint8_t ifp[40], out[MFX_UDPTL_MAX_DATAGRAM];
    struct mfx_udptl_packet p;
    int n = 0;
    for (int i = 0; i < 6; i++) {
        make_ifp(i, sizeof ifp, ifp);
        n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out);
        TAP_CHECK(n > 0 && n <= 130);
    }
    TAP_CHECK(n == 45 + 2 * 41);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.seq == 5 && p.n_secondary == 2);
    make_ifp(4, sizeof ifp, ifp);
    TAP_CHECK(same(p.secondary[0], p.secondary_len[0], ifp, sizeof ifp));

    /* The caller's buffer limits the same way: 100 bytes fit one secondary. */
    n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, 100);
    TAP_CHECK(n == 45 + 41);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.seq == 6 && p.n_secondary == 1);

    /* A primary that cannot fit at all is refused and does not use up a seq. */
    TAP_CHECK(mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, 44) == -1);
    uint8_t big[MFX_UDPTL_MAX_IFP + 1];
    make_ifp(9, sizeof big, big);
    TAP_CHECK(mfx_udptl_tx_encode(tx, big, sizeof big, out, sizeof out) == -1);
    TAP_CHECK(mfx_udptl_tx_encode(tx, big, 0, out, sizeof out) == -1);
    n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.seq == 7);
    mfx_udptl_tx_free(tx);

    /* Max datagram 44 < 45: nothing fits. 0 and > 1400 mean 1400. */
    tx = mfx_udptl_tx_new(MFX_UDPTL_EC_NONE, 0, 44);
    TAP_CHECK(mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out) == -1);
    mfx_udptl_tx_free(tx);
    tx = mfx_udptl_tx_new(MFX_UDPTL_EC_REDUNDANCY, 4, 5000);
    uint8_t large[MFX_UDPTL_MAX_IFP];
    for (int i = 0; i < 5; i++) {
        make_ifp(i, sizeof large, large);
        n = mfx_udptl_tx_encode(tx, large, sizeof large, out, sizeof out);
        TAP_CHECK(n > 0 && n <= MFX_UDPTL_MAX_DATAGRAM);
    }
    /* 518 for the primary, 514 per secondary: one fits 1400, two do not. */
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.n_secondary == 1);
    mfx_udptl_tx_free(tx);
    return 0;
}

static int tx_sequence_wraps(void)
{
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(MFX_UDPTL_EC_REDUNDANCY, 2, 0);
    uint8_t ifp[3] = { 0xc0, 0, 0 }, out[64];
    for (int i = 0; i < 65535; i++) {
        ifp[1] = (uint8_t)(i >> 8);
        ifp[2] = (uint8_t)i;
        TAP_CHECK(mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out) > 0);
    }
    struct mfx_udptl_packet p;
    /* seq 65535, then 0 carrying 65535 and 65534 as its secondaries */
    ifp[1] = 0xff; ifp[2] = 0xff;
    int n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.seq == 65535);
    ifp[1] = 0; ifp[2] = 0;
    n = mfx_udptl_tx_encode(tx, ifp, sizeof ifp, out, sizeof out);
    TAP_CHECK(mfx_udptl_decode(out, (size_t)n, &p) == 0 && p.seq == 0 && p.n_secondary == 2);
    TAP_CHECK(p.secondary[0][1] == 0xff && p.secondary[0][2] == 0xff);
    TAP_CHECK(p.secondary[1][1] == 0xff && p.secondary[1][2] == 0xfe);
    mfx_udptl_tx_free(tx);
    return 0;
}

static int fec_tx_layout(void)
{
    /* span 2, entries 2: after the wind-up (4 IFPs), datagram S carries entry 0
     * = IFP(S-4) ^ IFP(S-2) and entry 1 = IFP(S-3) ^ IFP(S-1). */
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(MFX_UDPTL_EC_FEC, 0, 0);
    TAP_CHECK(mfx_udptl_tx_set_fec(tx, 2, 2) == 0);
    TAP_CHECK(mfx_udptl_tx_set_fec(tx, 0, 2) == -1 && mfx_udptl_tx_set_fec(tx, 6, 1) == -1);
    TAP_CHECK(mfx_udptl_tx_set_fec(tx, 4, 4) == -1 && mfx_udptl_tx_set_fec(tx, 5, 3) == 0);
    TAP_CHECK(mfx_udptl_tx_set_fec(tx, 2, 2) == 0);
    uint8_t ifps[8][6];
    size_t lens[8];
    struct mfx_udptl_packet p;
    uint8_t out[128];
    const int want_entries[8] = { 0, 0, 1, 1, 2, 2, 2, 2 };  /* history / span, up to 2 */
    for (int i = 0; i < 8; i++) {
        lens[i] = make_ifp(i, (size_t)(i % 3 + 3), ifps[i]);   /* 3, 4 or 5 bytes */
        int n = mfx_udptl_tx_encode(tx, ifps[i], lens[i], out, sizeof out);
        TAP_CHECK(n > 0 && mfx_udptl_decode(out, (size_t)n, &p) == 0);
        TAP_CHECK(p.ec == MFX_UDPTL_EC_FEC && p.seq == i && p.n_fec == want_entries[i]);
        TAP_CHECK(p.fec_npackets == (want_entries[i] ? 2 : 0));
        int e = p.n_fec;
        for (int m = 0; m < e; m++) {
            uint8_t par[6] = { 0 };
            size_t plen = 0;
            for (int k = 1; k <= 2; k++) {
                int s = i + m - k * e;
                for (size_t j = 0; j < lens[s]; j++) par[j] ^= ifps[s][j];
                if (lens[s] > plen) plen = lens[s];
            }
            TAP_CHECK(same(p.fec[m], p.fec_len[m], par, plen));
        }
    }
    mfx_udptl_tx_free(tx);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Malformed input                                                           */

static int truncated_everywhere(void)
{
    const uint8_t *const pkts[] = { d_depth0, d_depth1, d_depth2, d_depth3, d_depth4, d_fec };
    const size_t lens[] = { sizeof d_depth0, sizeof d_depth1, sizeof d_depth2, sizeof d_depth3,
                            sizeof d_depth4, sizeof d_fec };
    struct mfx_udptl_packet p;
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t n = 0; n < lens[i]; n++)
            TAP_CHECK(mfx_udptl_decode(pkts[i], n, &p) == -1);
        /* One byte more than the packet is malformed too. */
        uint8_t longer[64];
        memcpy(longer, pkts[i], lens[i]);
        longer[lens[i]] = 0;
        TAP_CHECK(mfx_udptl_decode(longer, lens[i] + 1, &p) == -1);
    }
    /* The 200-byte packet, at every length too. */
    uint8_t d[2 + 2 + 200 + 2];
    memset(d, 0x55, sizeof d);
    d[0] = 0; d[1] = 1; d[2] = 0x80; d[3] = 200; d[204] = 0; d[205] = 0;
    TAP_CHECK(mfx_udptl_decode(d, sizeof d, &p) == 0);
    for (size_t n = 0; n < sizeof d; n++) TAP_CHECK(mfx_udptl_decode(d, n, &p) == -1);
    return 0;
}

static int malformed_fields(void)
{
    struct mfx_udptl_packet p;
    /* primary length 5, only 3 octets follow */
    static const uint8_t past_end[] = { 0x00, 0x01, 0x05, 0x01, 0x02, 0x03 };
    TAP_CHECK(mfx_udptl_decode(past_end, sizeof past_end, &p) == -1);
    /* a secondary of length 4 with 2 octets */
    static const uint8_t sec_past_end[] = { 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x04, 0xaa, 0xbb };
    TAP_CHECK(mfx_udptl_decode(sec_past_end, sizeof sec_past_end, &p) == -1);
    /* a two-octet length with its second octet missing */
    static const uint8_t half_len[] = { 0x00, 0x01, 0x80 };
    TAP_CHECK(mfx_udptl_decode(half_len, sizeof half_len, &p) == -1);
    /* fragmentation: 11000001 = one 16K fragment follows */
    static const uint8_t frag[] = { 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00 };
    TAP_CHECK(mfx_udptl_decode(frag, sizeof frag, &p) == -1);
    /* a fragmented secondary count */
    static const uint8_t frag_count[] = { 0x00, 0x01, 0x01, 0x00, 0x00, 0xc1 };
    TAP_CHECK(mfx_udptl_decode(frag_count, sizeof frag_count, &p) == -1);
    /* an IFP of 513 octets: 0x82 0x01 */
    static uint8_t big[2 + 2 + 513 + 2];
    big[2] = 0x82; big[3] = 0x01;
    TAP_CHECK(mfx_udptl_decode(big, sizeof big, &p) == -1);
    big[3] = 0x00;                                  /* 512 with one spare: 512 + the trailer */
    TAP_CHECK(mfx_udptl_decode(big, sizeof big - 1, &p) == 0 && p.primary_len == 512);
    /* fec-npackets of length 0, of length 3, and above 255 */
    static const uint8_t npk0[] = { 0x00, 0x01, 0x01, 0x00, 0x80, 0x00, 0x00 };
    TAP_CHECK(mfx_udptl_decode(npk0, sizeof npk0, &p) == -1);
    static const uint8_t npk3[] = { 0x00, 0x01, 0x01, 0x00, 0x80, 0x03, 0x00, 0x00, 0x01, 0x00 };
    TAP_CHECK(mfx_udptl_decode(npk3, sizeof npk3, &p) == -1);
    static const uint8_t npk256[] = { 0x00, 0x01, 0x01, 0x00, 0x80, 0x02, 0x01, 0x00, 0x00 };
    TAP_CHECK(mfx_udptl_decode(npk256, sizeof npk256, &p) == -1);

    /* 16 secondaries are fine, 17 are not; the same for FEC entries. */
    uint8_t many[2 + 2 + 2 + 17 * 2];
    size_t n = 0;
    many[n++] = 0; many[n++] = 20; many[n++] = 1; many[n++] = 0xaa;
    many[n++] = 0x00; many[n++] = 16;
    for (int i = 0; i < 16; i++) { many[n++] = 1; many[n++] = (uint8_t)i; }
    TAP_CHECK(mfx_udptl_decode(many, n, &p) == 0 && p.n_secondary == 16 && p.secondary[15][0] == 15);
    many[5] = 17;
    many[n++] = 1; many[n++] = 16;
    TAP_CHECK(mfx_udptl_decode(many, n, &p) == -1);

    uint8_t fec[2 + 2 + 3 + 1 + 17 * 2];
    n = 0;
    fec[n++] = 0; fec[n++] = 20; fec[n++] = 1; fec[n++] = 0xaa;
    fec[n++] = 0x80; fec[n++] = 1; fec[n++] = 1; fec[n++] = 16;
    for (int i = 0; i < 16; i++) { fec[n++] = 1; fec[n++] = (uint8_t)i; }
    TAP_CHECK(mfx_udptl_decode(fec, n, &p) == 0 && p.n_fec == 16);
    fec[7] = 17;
    fec[n++] = 1; fec[n++] = 16;
    TAP_CHECK(mfx_udptl_decode(fec, n, &p) == -1);

    /* The encoder refuses what it must not write. */
    uint8_t out[64], one = 1;
    struct mfx_udptl_packet q = { .seq = 1, .primary = &one, .primary_len = 0 };
    TAP_CHECK(mfx_udptl_encode(&q, out, sizeof out) == -1);           /* empty primary */
    q.primary_len = 1;
    q.ec = MFX_UDPTL_EC_REDUNDANCY;
    q.n_secondary = 17;
    TAP_CHECK(mfx_udptl_encode(&q, out, sizeof out) == -1);
    q.n_secondary = 1;
    q.secondary[0] = &one;
    q.secondary_len[0] = 0;
    TAP_CHECK(mfx_udptl_encode(&q, out, sizeof out) == -1);           /* empty secondary */
    q.ec = MFX_UDPTL_EC_FEC;
    q.fec_npackets = 256;
    TAP_CHECK(mfx_udptl_encode(&q, out, sizeof out) == -1);
    return 0;
}

static int zero_length_ifps(void)
{
    /* Asterisk notes senders that put empty secondaries in the list: they
     * decode, and the receiver skips them. seq 2, primary 02, secondaries:
     * seq 1 empty, seq 0 = 00. */
    static const uint8_t d[] = { 0x00, 0x02, 0x01, 0x02, 0x00, 0x02, 0x00, 0x01, 0x00 };
    struct mfx_udptl_packet p;
    TAP_CHECK(mfx_udptl_decode(d, sizeof d, &p) == 0 && p.n_secondary == 2 && p.secondary_len[0] == 0);
    static struct got g;
    memset(&g, 0, sizeof g);
    struct mfx_udptl_rx *rx = mfx_udptl_rx_new(collect, &g);
    TAP_CHECK(mfx_udptl_rx_feed(rx, d, sizeof d) == 0);
    TAP_CHECK(g.n == 2 && g.seq[0] == 0 && g.seq[1] == 2);
    mfx_udptl_rx_free(rx);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Receiver                                                                  */

/* A sender and receiver pair over a scripted channel: datagrams[i] is the
 * encoding of IFP i. */
struct link {
    struct got got;
    uint8_t ifp[64][48];
    size_t ifp_len[64];
    uint8_t dg[64][MFX_UDPTL_MAX_DATAGRAM];
    size_t dg_len[64];
};

static int link_build(struct link *l, enum mfx_udptl_ec ec, int depth, int n)
{
    memset(l, 0, sizeof *l);
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(ec, depth, 0);
    for (int i = 0; i < n; i++) {
        l->ifp_len[i] = make_ifp(i, (size_t)(8 + i % 5), l->ifp[i]);
        int r = mfx_udptl_tx_encode(tx, l->ifp[i], l->ifp_len[i], l->dg[i], sizeof l->dg[i]);
        if (r <= 0) return -1;
        l->dg_len[i] = (size_t)r;
    }
    mfx_udptl_tx_free(tx);
    return 0;
}

/* Feeds datagrams in the order given (-1 ends). */
static struct mfx_udptl_rx *link_feed(struct link *l, const int *order)
{
    struct mfx_udptl_rx *rx = mfx_udptl_rx_new(collect, &l->got);
    for (int i = 0; order[i] >= 0; i++) mfx_udptl_rx_feed(rx, l->dg[order[i]], l->dg_len[order[i]]);
    return rx;
}

/* True if the receiver delivered exactly IFPs `seqs` (-1 ends), intact. */
static bool delivered(const struct link *l, const int *seqs)
{
    int n = 0;
    for (; seqs[n] >= 0; n++) {
        if (n >= l->got.n || l->got.seq[n] != seqs[n]) return false;
        if (!same(l->got.data[n], l->got.len[n], l->ifp[seqs[n]], l->ifp_len[seqs[n]])) return false;
    }
    return n == l->got.n;
}

static struct link lk;

static int rx_in_order(void)
{
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 10) == 0);
    struct mfx_udptl_rx *rx = link_feed(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -1 }));
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.datagrams == 10 && st.delivered == 10 && st.recovered == 0 && st.lost == 0);
    TAP_CHECK(st.duplicates == 0 && st.late == 0 && st.malformed == 0 && st.restarts == 0);
    /* A malformed datagram is counted and changes nothing. */
    TAP_CHECK(mfx_udptl_rx_feed(rx, d_depth1, 3) == -1);
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.datagrams == 11 && st.malformed == 1 && lk.got.n == 10);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_duplicates(void)
{
    /* spandsp asks for indicators to be sent 3 times: the same datagram. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 4) == 0);
    struct mfx_udptl_rx *rx = link_feed(&lk, (const int[]){ 0, 0, 0, 1, 1, 2, 3, 3, 1, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, -1 }));
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.duplicates == 5 && st.late == 0 && st.lost == 0);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_reorder(void)
{
    /* With redundancy, 3 before 2 brings 2 along; 2 itself is then a duplicate. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 6) == 0);
    struct mfx_udptl_rx *rx = link_feed(&lk, (const int[]){ 0, 1, 3, 2, 4, 5, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, -1 }));
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 1 && st.duplicates == 1 && st.lost == 0);
    mfx_udptl_rx_free(rx);

    /* Without: 2 is skipped when 3 arrives (nothing is held back), then late. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_NONE, 0, 6) == 0);
    rx = link_feed(&lk, (const int[]){ 0, 1, 3, 2, 4, 5, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 3, 4, 5, -1 }));
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.lost == 1 && st.late == 1 && st.recovered == 0 && st.duplicates == 0);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_loss_redundancy(void)
{
    struct mfx_udptl_stats st;
    /* Depth 3: one lost (4), then two in a row (7, 8): all recovered. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 12) == 0);
    struct mfx_udptl_rx *rx = link_feed(&lk, (const int[]){ 0, 1, 2, 3, 5, 6, 9, 10, 11, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -1 }));
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 3 && st.lost == 0);
    mfx_udptl_rx_free(rx);

    /* Three in a row (3, 4, 5) is still within depth 3. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 8) == 0);
    rx = link_feed(&lk, (const int[]){ 0, 1, 2, 6, 7, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, -1 }));
    mfx_udptl_rx_free(rx);

    /* Five in a row (2..6) with depth 3: 2 and 3 are skipped, 4, 5, 6 recovered. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 10) == 0);
    rx = link_feed(&lk, (const int[]){ 0, 1, 7, 8, 3, 9, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 4, 5, 6, 7, 8, 9, -1 }));
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.lost == 2 && st.recovered == 3 && st.late == 1);
    mfx_udptl_rx_free(rx);

    /* Depth 1 loses the older of two. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 1, 6) == 0);
    rx = link_feed(&lk, (const int[]){ 0, 1, 4, 5, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 3, 4, 5, -1 }));
    mfx_udptl_rx_free(rx);

    /* A gap longer than the 16 the receiver can see: counted, not looped over. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 40) == 0);
    rx = link_feed(&lk, (const int[]){ 0, 1, 39, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 36, 37, 38, 39, -1 }));
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.lost == 34 && st.recovered == 3);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_first_datagram(void)
{
    /* The first datagram seen is seq 2: its secondaries 0 and 1 come first. */
    TAP_CHECK(link_build(&lk, MFX_UDPTL_EC_REDUNDANCY, 3, 4) == 0);
    struct mfx_udptl_rx *rx = link_feed(&lk, (const int[]){ 2, 3, 1, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, -1 }));
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.duplicates == 1);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_fec_hand_built(void)
{
    /* FEC with fec-npackets 2 and one entry: datagram 3 carries IFP1 ^ IFP2.
     * IFP 0 = 00, IFP 1 = c0 11 22, IFP 2 = c0 05 (lost), IFP 3 = 02.
     * Parity = c0^c0, 11^05, 22^00 = 00 14 22 (the length of the longest). */
    static const uint8_t d0[] = { 0x00, 0x00, 0x01, 0x00, 0x80, 0x01, 0x00, 0x00 };
    static const uint8_t d1[] = { 0x00, 0x01, 0x03, 0xc0, 0x11, 0x22, 0x80, 0x01, 0x00, 0x00 };
    static const uint8_t d3[] = {
        0x00, 0x03,
        0x01, 0x02,
        0x80, 0x01, 0x02,       /* fec-npackets 2 */
        0x01,                   /* one entry */
        0x03, 0x00, 0x14, 0x22,
    };
    static struct got g;
    memset(&g, 0, sizeof g);
    struct mfx_udptl_rx *rx = mfx_udptl_rx_new(collect, &g);
    TAP_CHECK(mfx_udptl_rx_feed(rx, d0, sizeof d0) == 0);
    TAP_CHECK(mfx_udptl_rx_feed(rx, d1, sizeof d1) == 0);
    TAP_CHECK(mfx_udptl_rx_feed(rx, d3, sizeof d3) == 0);
    TAP_CHECK(g.n == 4 && g.seq[2] == 2 && g.seq[3] == 3);
    /* IFP 2 was 2 bytes; the parity cannot tell, so it comes back zero-padded
     * to 3 (as FreeSWITCH and Asterisk deliver it). */
    TAP_CHECK(same(g.data[2], g.len[2], (const uint8_t[]){ 0xc0, 0x05, 0x00 }, 3));
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 1 && st.lost == 0);
    mfx_udptl_rx_free(rx);

    /* Without IFP 1 too, two of the group are missing: both lost. */
    memset(&g, 0, sizeof g);
    rx = mfx_udptl_rx_new(collect, &g);
    TAP_CHECK(mfx_udptl_rx_feed(rx, d0, sizeof d0) == 0);
    TAP_CHECK(mfx_udptl_rx_feed(rx, d3, sizeof d3) == 0);
    TAP_CHECK(g.n == 2 && g.seq[0] == 0 && g.seq[1] == 3);
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 0 && st.lost == 2);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_fec_round_trip(void)
{
    /* Our FEC sender (span 3, 3 entries, Asterisk's defaults) and receiver,
     * IFPs of mixed lengths. Losing 12 alone, then 16 and 17 (different
     * groups, both rebuilt from datagram 18's entries). */
    memset(&lk, 0, sizeof lk);
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(MFX_UDPTL_EC_FEC, 0, 0);
    for (int i = 0; i < 24; i++) {
        lk.ifp_len[i] = make_ifp(i, 10, lk.ifp[i]);
        int r = mfx_udptl_tx_encode(tx, lk.ifp[i], lk.ifp_len[i], lk.dg[i], sizeof lk.dg[i]);
        TAP_CHECK(r > 0);
        lk.dg_len[i] = (size_t)r;
    }
    mfx_udptl_tx_free(tx);
    struct mfx_udptl_rx *rx = link_feed(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15,
                                                           18, 19, 20, 21, 22, 23, -1 });
    int all[25];
    for (int i = 0; i < 24; i++) all[i] = i;
    all[24] = -1;
    TAP_CHECK(delivered(&lk, all));
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 3 && st.lost == 0);
    mfx_udptl_rx_free(rx);

    /* Datagram 18's groups are {9,12,15}, {10,13,16} and {11,14,17}: losing
     * 14 to 17 rebuilds 15 and 16, but leaves the last group short of two. */
    memset(&lk.got, 0, sizeof lk.got);
    rx = link_feed(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 18, -1 });
    TAP_CHECK(delivered(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 18, -1 }));
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 2 && st.lost == 2);
    mfx_udptl_rx_free(rx);

    /* The same FEC stream with a small peer max datagram: fewer entries, and
     * the parity is computed again for that stride, so it still rebuilds. */
    memset(&lk, 0, sizeof lk);
    tx = mfx_udptl_tx_new(MFX_UDPTL_EC_FEC, 0, 40);
    for (int i = 0; i < 24; i++) {
        lk.ifp_len[i] = make_ifp(i, 10, lk.ifp[i]);
        int r = mfx_udptl_tx_encode(tx, lk.ifp[i], lk.ifp_len[i], lk.dg[i], sizeof lk.dg[i]);
        TAP_CHECK(r > 0 && r <= 40);
        lk.dg_len[i] = (size_t)r;
        struct mfx_udptl_packet p;
        TAP_CHECK(mfx_udptl_decode(lk.dg[i], lk.dg_len[i], &p) == 0 && p.n_fec <= 2);
    }
    mfx_udptl_tx_free(tx);
    rx = link_feed(&lk, (const int[]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20,
                                       21, 22, 23, -1 });
    TAP_CHECK(delivered(&lk, all));
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_sequence_wrap(void)
{
    /* Hand-encoded around the wrap: 65533 .. 1, redundancy 2. */
    uint8_t ifp[5][2], dg[5][32];
    size_t dlen[5];
    const uint16_t seqs[5] = { 65533, 65534, 65535, 0, 1 };
    for (int i = 0; i < 5; i++) {
        ifp[i][0] = 0xc0;
        ifp[i][1] = (uint8_t)seqs[i];
        struct mfx_udptl_packet p = { .seq = seqs[i], .primary = ifp[i], .primary_len = 2,
                                      .ec = MFX_UDPTL_EC_REDUNDANCY };
        for (int k = 0; k < 2 && i - 1 - k >= 0; k++) {
            p.secondary[k] = ifp[i - 1 - k];
            p.secondary_len[k] = 2;
            p.n_secondary = k + 1;
        }
        int r = mfx_udptl_encode(&p, dg[i], sizeof dg[i]);
        TAP_CHECK(r > 0);
        dlen[i] = (size_t)r;
    }
    static struct got g;
    /* In order across the wrap. */
    memset(&g, 0, sizeof g);
    struct mfx_udptl_rx *rx = mfx_udptl_rx_new(collect, &g);
    for (int i = 0; i < 5; i++) TAP_CHECK(mfx_udptl_rx_feed(rx, dg[i], dlen[i]) == 0);
    TAP_CHECK(g.n == 5);
    for (int i = 0; i < 5; i++) TAP_CHECK(g.seq[i] == seqs[i] && g.data[i][1] == (uint8_t)seqs[i]);
    /* 65535 again after 0 and 1: a duplicate, not a restart. */
    TAP_CHECK(mfx_udptl_rx_feed(rx, dg[2], dlen[2]) == 0);
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.duplicates == 1 && st.restarts == 0 && g.n == 5);
    mfx_udptl_rx_free(rx);

    /* 65535 and 0 lost: 1 brings both back. */
    memset(&g, 0, sizeof g);
    rx = mfx_udptl_rx_new(collect, &g);
    TAP_CHECK(mfx_udptl_rx_feed(rx, dg[0], dlen[0]) == 0);
    TAP_CHECK(mfx_udptl_rx_feed(rx, dg[1], dlen[1]) == 0);
    TAP_CHECK(mfx_udptl_rx_feed(rx, dg[4], dlen[4]) == 0);
    TAP_CHECK(g.n == 5);
    for (int i = 0; i < 5; i++) TAP_CHECK(g.seq[i] == seqs[i] && g.data[i][1] == (uint8_t)seqs[i]);
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.recovered == 2 && st.lost == 0);
    mfx_udptl_rx_free(rx);
    return 0;
}

static int rx_restart(void)
{
    /* A jump of more than 2000 either way is a new sequence, as in spandsp. */
    uint8_t ifp[1] = { 0x02 }, dg[16];
    static struct got g;
    memset(&g, 0, sizeof g);
    struct mfx_udptl_rx *rx = mfx_udptl_rx_new(collect, &g);
    const uint16_t seqs[] = { 100, 101, 5000, 5001, 3, 4, 2 };
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        struct mfx_udptl_packet p = { .seq = seqs[i], .primary = ifp, .primary_len = 1 };
        int r = mfx_udptl_encode(&p, dg, sizeof dg);
        TAP_CHECK(r > 0 && mfx_udptl_rx_feed(rx, dg, (size_t)r) == 0);
    }
    TAP_CHECK(g.n == 6 && g.seq[2] == 5000 && g.seq[4] == 3 && g.seq[5] == 4);
    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx, &st);
    TAP_CHECK(st.restarts == 2 && st.late == 1 && st.lost == 0);
    mfx_udptl_rx_free(rx);
    return 0;
}

static const struct tap_case cases[] = {
    { "decode: redundancy depths 0 to 4 (T.38 Annex A secondary-ifp-packets)", decode_depths },
    { "decode: fec-info with fec-npackets and two parity entries", decode_fec },
    { "two-octet length determinants for a 200-byte IFP (X.691 10.9.3.7)", two_octet_lengths },
    { "encode writes the hand-built datagrams byte for byte", encode_matches_hand_built },
    { "tx: encode/decode round trip at every redundancy depth", round_trip_every_depth },
    { "tx: the peer's max datagram drops secondaries, never the limit", max_datagram_drops_secondaries },
    { "tx: sequence number wraps 65535 -> 0", tx_sequence_wraps },
    { "tx: FEC wind-up and parity layout", fec_tx_layout },
    { "malformed: truncation at every length, one byte extra", truncated_everywhere },
    { "malformed: lengths past the end, fragments, too many entries", malformed_fields },
    { "zero-length secondaries decode and are skipped", zero_length_ifps },
    { "rx: in order; malformed counted", rx_in_order },
    { "rx: duplicates dropped and counted", rx_duplicates },
    { "rx: reordering with and without redundancy", rx_reorder },
    { "rx: loss recovered from redundancy, loss beyond the depth skipped", rx_loss_redundancy },
    { "rx: the first datagram delivers its secondaries", rx_first_datagram },
    { "rx: FEC rebuilds one missing IFP of a group (hand-built)", rx_fec_hand_built },
    { "rx: FEC round trip, losses and a small max datagram", rx_fec_round_trip },
    { "rx: sequence wrap 65535 -> 0, with and without loss", rx_sequence_wrap },
    { "rx: a jump beyond 2000 restarts the sequence", rx_restart },
};
TAP_MAIN(cases)
