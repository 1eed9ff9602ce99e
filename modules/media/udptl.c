/* SPDX-License-Identifier: Apache-2.0
 *
 * udptl.c: the UDPTL codec of udptl.h (ITU-T T.38 §9.1 and Annex A). The
 * packet is, in ASN.1 aligned PER (X.691):
 *
 *   UDPTLPacket ::= SEQUENCE {
 *     seq-number          INTEGER (0..65535),             -- 2 octets
 *     primary-ifp-packet  open type (the IFPPacket),      -- length + octets
 *     error-recovery      CHOICE {                        -- 1 bit, padded to an octet
 *       secondary-ifp-packets  SEQUENCE OF open type,     -- count, then each
 *       fec-info  SEQUENCE {
 *         fec-npackets  INTEGER,                          -- length + octets
 *         fec-data      SEQUENCE OF OCTET STRING } } }    -- count, then each
 *
 * Every length and count is a length determinant (X.691 §10.9): one octet
 * below 128, two octets 10xxxxxx xxxxxxxx below 16384, and 11xxxxxx for
 * fragments of 16K units, which no IFP needs and we refuse. The FEC parity
 * layout (which earlier IFPs entry m covers) is the one FreeSWITCH, Asterisk
 * and spandsp use; see struct mfx_udptl_packet. Nothing here allocates per
 * packet; tx and rx keep fixed rings of 16 IFPs. No library dependency, so
 * tests/fuzz/fuzz_udptl.c builds this file alone.
 */
#include "udptl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RING 16                         /* IFPs kept by tx and rx; a power of two */
#define LEN_FRAGMENT 0x4000             /* X.691 §10.9.3.8: lengths from here on are fragmented */

/* The allocation helpers of src/mfx.h abort on OOM; this file must build
 * alone for fuzzing, so it has its own. */
static void *zalloc(size_t size)
{
    void *p = calloc(1, size);
    if (!p) abort();
    return p;
}

/* ======================================================================== */
/* Length determinants and the packet                                        */

/* Reads a length determinant at *pos (X.691 §10.9.3.6-7). Returns 0 and
 * advances *pos, or -1 if it runs past len or is a fragment (§10.9.3.8). */
static int get_length(const uint8_t *buf, size_t len, size_t *pos, size_t *value)
{
    if (*pos >= len) return -1;
    uint8_t b = buf[*pos];
    if (!(b & 0x80)) {
        *value = b;
        *pos += 1;
        return 0;
    }
    if (b & 0x40) return -1;            /* fragmentation: never needed for an IFP */
    if (len - *pos < 2) return -1;
    *value = (size_t)(b & 0x3f) << 8 | buf[*pos + 1];
    *pos += 2;
    return 0;
}

/* Reads a length determinant and that many octets (an open type or an OCTET
 * STRING); at most MFX_UDPTL_MAX_IFP of them. Returns 0 with *data pointing
 * into buf, or -1. */
static int get_octets(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **data, size_t *n)
{
    if (get_length(buf, len, pos, n) < 0) return -1;
    if (*n > MFX_UDPTL_MAX_IFP || *n > len - *pos) return -1;
    *data = buf + *pos;
    *pos += *n;
    return 0;
}

int mfx_udptl_decode(const uint8_t *buf, size_t len, struct mfx_udptl_packet *out)
{
    if (!buf || !out) return -1;
    memset(out, 0, sizeof *out);
    size_t pos = 0, n;
    if (len < 2) return -1;
    out->seq = (uint16_t)(buf[0] << 8 | buf[1]);
    pos = 2;
    if (get_octets(buf, len, &pos, &out->primary, &out->primary_len) < 0) return -1;
    if (pos >= len) return -1;
    /* The CHOICE index is the first bit; the other seven pad to the octet. */
    bool fec = buf[pos++] & 0x80;
    if (!fec) {
        if (get_length(buf, len, &pos, &n) < 0 || n > MFX_UDPTL_MAX_ENTRIES) return -1;
        out->ec = n ? MFX_UDPTL_EC_REDUNDANCY : MFX_UDPTL_EC_NONE;
        out->n_secondary = (int)n;
        for (size_t i = 0; i < n; i++)
            if (get_octets(buf, len, &pos, &out->secondary[i], &out->secondary_len[i]) < 0) return -1;
    } else {
        out->ec = MFX_UDPTL_EC_FEC;
        /* fec-npackets: an unconstrained INTEGER (X.691 §12.2.6): a length
         * and that many octets. Senders write one octet; FreeSWITCH and
         * Asterisk read it unsigned, so we do too, and take 0x00 0x80.. too. */
        size_t ilen;
        if (get_length(buf, len, &pos, &ilen) < 0 || ilen < 1 || ilen > 2 || ilen > len - pos) return -1;
        unsigned v = buf[pos];
        if (ilen == 2) v = v << 8 | buf[pos + 1];
        pos += ilen;
        if (v > 255) return -1;
        out->fec_npackets = (int)v;
        if (get_length(buf, len, &pos, &n) < 0 || n > MFX_UDPTL_MAX_ENTRIES) return -1;
        out->n_fec = (int)n;
        for (size_t i = 0; i < n; i++)
            if (get_octets(buf, len, &pos, &out->fec[i], &out->fec_len[i]) < 0) return -1;
    }
    return pos == len ? 0 : -1;         /* nothing may follow the packet */
}

/* Appends a length determinant (n < 16384). Returns 0, or -1 if it does not
 * fit in cap. */
static int put_length(uint8_t *out, size_t cap, size_t *pos, size_t n)
{
    if (n >= LEN_FRAGMENT) return -1;
    if (n < 0x80) {
        if (cap - *pos < 1) return -1;
        out[(*pos)++] = (uint8_t)n;
    } else {
        if (cap - *pos < 2) return -1;
        out[(*pos)++] = (uint8_t)(0x80 | n >> 8);
        out[(*pos)++] = (uint8_t)(n & 0xff);
    }
    return 0;
}

/* Appends a length determinant and n octets. Returns 0 or -1. */
static int put_octets(uint8_t *out, size_t cap, size_t *pos, const uint8_t *data, size_t n)
{
    if (put_length(out, cap, pos, n) < 0 || cap - *pos < n) return -1;
    if (n) memcpy(out + *pos, data, n);
    *pos += n;
    return 0;
}

int mfx_udptl_encode(const struct mfx_udptl_packet *p, uint8_t *out, size_t cap)
{
    size_t pos = 0;
    if (!p || !out || cap < 2 || !p->primary || p->primary_len == 0) return -1;
    out[pos++] = (uint8_t)(p->seq >> 8);
    out[pos++] = (uint8_t)(p->seq & 0xff);
    if (put_octets(out, cap, &pos, p->primary, p->primary_len) < 0 || pos >= cap) return -1;
    if (p->ec != MFX_UDPTL_EC_FEC) {
        int n = p->ec == MFX_UDPTL_EC_REDUNDANCY ? p->n_secondary : 0;
        if (n < 0 || n > MFX_UDPTL_MAX_ENTRIES) return -1;
        out[pos++] = 0x00;              /* secondary-ifp-packets */
        if (put_length(out, cap, &pos, (size_t)n) < 0) return -1;
        for (int i = 0; i < n; i++) {
            /* X.691 §10.2 would turn an empty open type into one zero octet, an
             * IFP that is not one; an IFP is never empty, so refuse it. */
            if (!p->secondary[i] || p->secondary_len[i] == 0) return -1;
            if (put_octets(out, cap, &pos, p->secondary[i], p->secondary_len[i]) < 0) return -1;
        }
    } else {
        if (p->fec_npackets < 0 || p->fec_npackets > 255) return -1;
        if (p->n_fec < 0 || p->n_fec > MFX_UDPTL_MAX_ENTRIES) return -1;
        out[pos++] = 0x80;              /* fec-info */
        /* A non-negative INTEGER in the fewest octets of two's complement. */
        if (p->fec_npackets < 0x80) {
            if (cap - pos < 2) return -1;
            out[pos++] = 1;
        } else {
            if (cap - pos < 3) return -1;
            out[pos++] = 2;
            out[pos++] = 0;
        }
        out[pos++] = (uint8_t)p->fec_npackets;
        if (put_length(out, cap, &pos, (size_t)p->n_fec) < 0) return -1;
        for (int i = 0; i < p->n_fec; i++) {
            if (!p->fec[i] && p->fec_len[i]) return -1;
            if (put_octets(out, cap, &pos, p->fec[i], p->fec_len[i]) < 0) return -1;
        }
    }
    return (int)pos;
}

/* ======================================================================== */
/* Sender                                                                    */

struct ifp_slot {
    uint16_t seq;
    bool valid;
    uint16_t len;
    uint8_t data[MFX_UDPTL_MAX_IFP];
};

struct mfx_udptl_tx {
    enum mfx_udptl_ec ec;
    int depth;                          /* redundancy: secondaries per datagram */
    int fec_span, fec_entries;
    size_t max_datagram;
    uint16_t seq;                       /* of the next datagram */
    unsigned history;                   /* IFPs sent so far, up to RING */
    struct ifp_slot ring[RING];         /* indexed by seq % RING */
    uint8_t parity[MFX_UDPTL_MAX_FEC_ENTRIES][MFX_UDPTL_MAX_IFP];
};

struct mfx_udptl_tx *mfx_udptl_tx_new(enum mfx_udptl_ec ec, int redundancy_depth, int max_datagram)
{
    struct mfx_udptl_tx *tx = zalloc(sizeof *tx);
    tx->ec = ec == MFX_UDPTL_EC_REDUNDANCY || ec == MFX_UDPTL_EC_FEC ? ec : MFX_UDPTL_EC_NONE;
    tx->depth = redundancy_depth < 0 ? MFX_UDPTL_DEFAULT_REDUNDANCY
              : redundancy_depth > MFX_UDPTL_MAX_REDUNDANCY ? MFX_UDPTL_MAX_REDUNDANCY : redundancy_depth;
    tx->max_datagram = max_datagram <= 0 || max_datagram > MFX_UDPTL_MAX_DATAGRAM
                     ? MFX_UDPTL_MAX_DATAGRAM : (size_t)max_datagram;
    tx->fec_span = 3;
    tx->fec_entries = 3;
    return tx;
}

void mfx_udptl_tx_free(struct mfx_udptl_tx *tx)
{
    free(tx);
}

int mfx_udptl_tx_set_fec(struct mfx_udptl_tx *tx, int span, int entries)
{
    if (span < 1 || span > MFX_UDPTL_MAX_FEC_SPAN || entries < 1 || entries > MFX_UDPTL_MAX_FEC_ENTRIES
        || span * entries >= RING)
        return -1;
    tx->fec_span = span;
    tx->fec_entries = entries;
    return 0;
}

/* Fills p's FEC entries for the datagram seq with `entries` parity entries
 * over span IFPs each (T.38 Annex A, the layout of struct mfx_udptl_packet):
 * entry m is the XOR of IFPs seq+m-k*entries, k = 1..span, zero-padded to the
 * longest. The caller has checked that all span * entries IFPs are in the
 * ring. */
static void fill_fec(struct mfx_udptl_tx *tx, struct mfx_udptl_packet *p, int span, int entries)
{
    p->fec_npackets = entries ? span : 0;
    p->n_fec = entries;
    for (int m = 0; m < entries; m++) {
        uint8_t *par = tx->parity[m];
        size_t plen = 0;
        for (int k = 1; k <= span; k++) {
            const struct ifp_slot *s = &tx->ring[(uint16_t)(p->seq + m - k * entries) % RING];
            for (size_t j = 0; j < s->len; j++)
                par[j] = j < plen ? par[j] ^ s->data[j] : s->data[j];
            if (s->len > plen) plen = s->len;
        }
        p->fec[m] = par;
        p->fec_len[m] = plen;
    }
}

int mfx_udptl_tx_encode(struct mfx_udptl_tx *tx, const uint8_t *ifp, size_t len, uint8_t *out, size_t cap)
{
    if (!tx || !ifp || !out || len == 0 || len > MFX_UDPTL_MAX_IFP) return -1;
    size_t limit = cap < tx->max_datagram ? cap : tx->max_datagram;
    struct mfx_udptl_packet p;
    memset(&p, 0, sizeof p);
    p.seq = tx->seq;
    p.primary = ifp;
    p.primary_len = len;
    p.ec = tx->ec;
    int rc = -1;

    if (tx->ec == MFX_UDPTL_EC_FEC) {
        /* Wind up like the other implementations: only entries whose IFPs
         * have all been sent, fewer entries while the history is short. */
        int span = tx->fec_span, entries = tx->fec_entries;
        if ((int)tx->history < span * entries) entries = (int)tx->history / span;
        /* The stride of the parity is the entry count, so dropping entries
         * means computing the parity again (FreeSWITCH only patches the count,
         * which makes its receiver rebuild garbage). */
        for (; entries >= 0 && rc < 0; entries--) {
            fill_fec(tx, &p, span, entries);
            rc = mfx_udptl_encode(&p, out, limit);
        }
    } else {
        int n = tx->ec == MFX_UDPTL_EC_REDUNDANCY ? tx->depth : 0;
        if (n > (int)tx->history) n = (int)tx->history;
        for (int i = 0; i < n; i++) {
            const struct ifp_slot *s = &tx->ring[(uint16_t)(tx->seq - 1 - i) % RING];
            p.secondary[i] = s->data;
            p.secondary_len[i] = s->len;
        }
        /* Drop the oldest secondaries until the datagram fits. */
        for (; n >= 0 && rc < 0; n--) {
            p.n_secondary = n;
            rc = mfx_udptl_encode(&p, out, limit);
        }
    }
    if (rc < 0) return -1;

    struct ifp_slot *s = &tx->ring[tx->seq % RING];
    s->seq = tx->seq;
    s->valid = true;
    s->len = (uint16_t)len;
    memcpy(s->data, ifp, len);
    if (tx->history < RING) tx->history++;
    tx->seq++;
    return rc;
}

/* ======================================================================== */
/* Receiver                                                                  */

struct mfx_udptl_rx {
    mfx_udptl_ifp_fn fn;
    void *ctx;
    bool started;
    uint16_t next;                      /* the seq expected next */
    struct ifp_slot ring[RING];         /* delivered IFPs by seq % RING; valid = delivered */
    struct mfx_udptl_stats st;
};

struct mfx_udptl_rx *mfx_udptl_rx_new(mfx_udptl_ifp_fn fn, void *ctx)
{
    struct mfx_udptl_rx *rx = zalloc(sizeof *rx);
    rx->fn = fn;
    rx->ctx = ctx;
    return rx;
}

void mfx_udptl_rx_free(struct mfx_udptl_rx *rx)
{
    free(rx);
}

void mfx_udptl_rx_stats(const struct mfx_udptl_rx *rx, struct mfx_udptl_stats *out)
{
    *out = rx->st;
}

/* True if the IFP seq was delivered and is still in the ring. */
static bool have(const struct mfx_udptl_rx *rx, uint16_t seq)
{
    const struct ifp_slot *s = &rx->ring[seq % RING];
    return s->valid && s->seq == seq;
}

/* Records seq as skipped: its slot no longer holds anything. */
static void forget(struct mfx_udptl_rx *rx, uint16_t seq)
{
    struct ifp_slot *s = &rx->ring[seq % RING];
    s->valid = false;
    s->seq = seq;
}

/* Stores an IFP in the ring and hands it to the callback (empty ones are
 * only recorded as skipped: spandsp refuses them). */
static void deliver(struct mfx_udptl_rx *rx, uint16_t seq, const uint8_t *ifp, size_t len)
{
    if (len == 0 || len > MFX_UDPTL_MAX_IFP) {
        forget(rx, seq);
        return;
    }
    struct ifp_slot *s = &rx->ring[seq % RING];
    if (s->data != ifp) memmove(s->data, ifp, len);
    s->seq = seq;
    s->len = (uint16_t)len;
    s->valid = true;
    rx->st.delivered++;
    if (rx->fn) rx->fn(rx->ctx, s->data, len, seq);
}

/* Tries to rebuild the missing IFP `want` from p's FEC entries: the entry
 * whose group holds want must have every other member delivered (in the
 * ring). Writes the IFP into buf (MFX_UDPTL_MAX_IFP bytes) and returns its
 * length, which is the parity's: the longest of the group, so a shorter IFP
 * comes back zero-padded, as in every UDPTL implementation. Returns 0 if it
 * cannot be rebuilt. */
static size_t fec_rebuild(const struct mfx_udptl_rx *rx, const struct mfx_udptl_packet *p, uint16_t want,
                          uint8_t *buf)
{
    int span = p->fec_npackets, entries = p->n_fec;
    if (span < 1 || entries < 1 || span * entries > RING) return 0;
    /* want = seq + m - k*entries for one m in 0..entries-1 and k in 1..span. */
    int back = (uint16_t)(p->seq - want);          /* 1..RING: want is in the gap */
    if (back < 1 || back > span * entries) return 0;
    int m = (entries - back % entries) % entries;
    size_t plen = p->fec_len[m];
    if (plen == 0 || plen > MFX_UDPTL_MAX_IFP) return 0;
    memcpy(buf, p->fec[m], plen);
    for (int k = 1; k <= span; k++) {
        uint16_t member = (uint16_t)(p->seq + m - k * entries);
        if (member == want) continue;
        if (!have(rx, member)) return 0;           /* a second member missing */
        const struct ifp_slot *s = &rx->ring[member % RING];
        if (s->len > plen) return 0;               /* inconsistent parity */
        for (size_t j = 0; j < s->len; j++) buf[j] ^= s->data[j];
    }
    return plen;
}

int mfx_udptl_rx_feed(struct mfx_udptl_rx *rx, const uint8_t *buf, size_t len)
{
    struct mfx_udptl_packet p;
    rx->st.datagrams++;
    if (mfx_udptl_decode(buf, len, &p) < 0) {
        rx->st.malformed++;
        return -1;
    }

    if (!rx->started) {
        /* Deliver what the first datagram carries, oldest first. */
        rx->started = true;
        for (int i = p.n_secondary; i > 0; i--)
            deliver(rx, (uint16_t)(p.seq - i), p.secondary[i - 1], p.secondary_len[i - 1]);
        deliver(rx, p.seq, p.primary, p.primary_len);
        rx->next = (uint16_t)(p.seq + 1);
        return 0;
    }

    uint16_t ahead = (uint16_t)(p.seq - rx->next);  /* distance, modulo 2^16 */
    int d = ahead < 0x8000 ? (int)ahead : (int)ahead - 0x10000;
    if (d < 0 && d >= -MFX_UDPTL_SEQ_WINDOW) {
        if (have(rx, p.seq)) rx->st.duplicates++;
        else rx->st.late++;
        return 0;
    }
    if (d > MFX_UDPTL_SEQ_WINDOW || d < 0) {
        /* A jump (the peer restarted its numbering): carry on from here. */
        rx->st.restarts++;
        for (int i = 0; i < RING; i++) rx->ring[i].valid = false;
        deliver(rx, p.seq, p.primary, p.primary_len);
        rx->next = (uint16_t)(p.seq + 1);
        return 0;
    }

    /* d IFPs are missing: rx->next .. seq-1. Only the last RING of them can be
     * recovered; the others are lost. */
    int reach = d < RING ? d : RING;
    rx->st.lost += (uint64_t)(d - reach);
    for (int back = reach; back >= 1; back--) {
        uint16_t want = (uint16_t)(p.seq - back);
        if (p.ec == MFX_UDPTL_EC_REDUNDANCY && back <= p.n_secondary && p.secondary_len[back - 1] > 0) {
            rx->st.recovered++;
            deliver(rx, want, p.secondary[back - 1], p.secondary_len[back - 1]);
            continue;
        }
        if (p.ec == MFX_UDPTL_EC_FEC) {
            uint8_t tmp[MFX_UDPTL_MAX_IFP];
            size_t n = fec_rebuild(rx, &p, want, tmp);
            if (n > 0) {
                rx->st.recovered++;
                deliver(rx, want, tmp, n);
                continue;
            }
        }
        rx->st.lost++;
        forget(rx, want);
    }
    deliver(rx, p.seq, p.primary, p.primary_len);
    rx->next = (uint16_t)(p.seq + 1);
    return 0;
}
