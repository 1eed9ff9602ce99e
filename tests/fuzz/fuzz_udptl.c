/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_udptl.c: libFuzzer target for the UDPTL codec (modules/media/udptl.c).
 * fuzz-sources: modules/media/udptl.c
 *
 * The input is decoded whole as one datagram (a decoded packet must encode
 * and decode back to the same fields), then split into chunks, each a length
 * octet and up to that many bytes: every chunk is fed to a receiver as a
 * datagram, and sent as an IFP through a sender whose datagrams (which must
 * decode, carry that IFP and respect the max datagram) go to a second
 * receiver. The first octet picks the sender's mode, depth and max datagram.
 * Any broken invariant aborts. Run by tests/fuzz/run (tests/fuzz/README.md);
 * by hand: clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Isrc
 *          -Imodules/media tests/fuzz/fuzz_udptl.c modules/media/udptl.c
 */
#include "udptl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
    unsigned sum;
    size_t count;
};

/* Touches every delivered byte, so ASan sees any read out of bounds. */
static void on_ifp(void *ctx, const uint8_t *ifp, size_t len, uint16_t seq)
{
    struct sink *s = ctx;
    if (len == 0 || len > MFX_UDPTL_MAX_IFP) abort();
    for (size_t i = 0; i < len; i++) s->sum += ifp[i];
    s->sum += seq;
    s->count++;
}

static bool same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

/* Encodes a decoded packet again and checks the result decodes to the same
 * fields. Packets with empty IFPs cannot be written (X.691 §10.2), so they
 * are skipped. */
static void check_round_trip(const struct mfx_udptl_packet *p)
{
    if (p->primary_len == 0) return;
    for (int i = 0; i < p->n_secondary; i++)
        if (p->secondary_len[i] == 0) return;
    static uint8_t out[65536];
    int n = mfx_udptl_encode(p, out, sizeof out);
    if (n <= 0) abort();
    struct mfx_udptl_packet q;
    if (mfx_udptl_decode(out, (size_t)n, &q) != 0) abort();
    if (q.seq != p->seq || q.ec != p->ec || q.n_secondary != p->n_secondary || q.n_fec != p->n_fec
        || q.fec_npackets != p->fec_npackets)
        abort();
    if (!same_bytes(q.primary, q.primary_len, p->primary, p->primary_len)) abort();
    for (int i = 0; i < p->n_secondary; i++)
        if (!same_bytes(q.secondary[i], q.secondary_len[i], p->secondary[i], p->secondary_len[i])) abort();
    for (int i = 0; i < p->n_fec; i++)
        if (!same_bytes(q.fec[i], q.fec_len[i], p->fec[i], p->fec_len[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mfx_udptl_packet p;
    if (mfx_udptl_decode(data, size, &p) == 0) check_round_trip(&p);
    if (size == 0) return 0;

    uint8_t mode = data[0];
    enum mfx_udptl_ec ec = (enum mfx_udptl_ec)(mode % 3);
    int depth = (mode >> 2) % 6 - 1;                    /* -1 (default) .. 4 */
    int max_datagram = (mode >> 5) * 200;               /* 0 (default), 200 .. 1400 */
    struct sink s1 = { 0 }, s2 = { 0 };
    struct mfx_udptl_rx *rx = mfx_udptl_rx_new(on_ifp, &s1);
    struct mfx_udptl_rx *rx2 = mfx_udptl_rx_new(on_ifp, &s2);
    struct mfx_udptl_tx *tx = mfx_udptl_tx_new(ec, depth, max_datagram);
    if (ec == MFX_UDPTL_EC_FEC) mfx_udptl_tx_set_fec(tx, 1 + (mode >> 2) % 5, 1 + (mode >> 4) % 3);

    size_t pos = 1;
    while (pos < size) {
        size_t n = data[pos++];
        if (n > size - pos) n = size - pos;
        const uint8_t *chunk = data + pos;
        pos += n;

        mfx_udptl_rx_feed(rx, chunk, n);

        uint8_t dg[MFX_UDPTL_MAX_DATAGRAM];
        int len = mfx_udptl_tx_encode(tx, chunk, n, dg, sizeof dg);
        if (len < 0) continue;
        size_t limit = max_datagram ? (size_t)max_datagram : MFX_UDPTL_MAX_DATAGRAM;
        if ((size_t)len > limit) abort();
        if (mfx_udptl_decode(dg, (size_t)len, &p) != 0) abort();
        if (!same_bytes(p.primary, p.primary_len, chunk, n)) abort();
        /* Drop every fourth datagram on the way to the second receiver. */
        if (p.seq % 4 != 3 && mfx_udptl_rx_feed(rx2, dg, (size_t)len) != 0) abort();
    }

    struct mfx_udptl_stats st;
    mfx_udptl_rx_stats(rx2, &st);
    if (st.malformed != 0 || st.delivered != s2.count) abort();
    mfx_udptl_rx_stats(rx, &st);
    if (st.delivered != s1.count) abort();
    mfx_udptl_rx_free(rx);
    mfx_udptl_rx_free(rx2);
    mfx_udptl_tx_free(tx);
    return 0;
}
