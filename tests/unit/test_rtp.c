/* SPDX-License-Identifier: Apache-2.0
 *
 * test_rtp.c: the RTP header parser and writer (modules/media/rtp.c) on
 * hand-built datagrams, RFC 3550 §5.1: CSRC lists, a header extension
 * (§5.3.1), padding, a wrong version, truncation at every length, and a
 * write/parse round trip.
 */
#include "config.h"
#include "rtp.h"
#include "tap.h"

static int plain_header(void)
{
    /* V=2, M=1, PT=8, seq 0x1234, ts 0xdeadbeef, SSRC 0x01020304, 3 payload bytes */
    static const uint8_t pkt[] = { 0x80, 0x88, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 0xa, 0xb, 0xc };
    struct mfx_rtp_packet p;
    TAP_CHECK(mfx_rtp_parse(pkt, sizeof pkt, &p) == 0);
    TAP_CHECK(p.pt == 8 && p.marker);
    TAP_CHECK(p.seq == 0x1234 && p.ts == 0xdeadbeef && p.ssrc == 0x01020304);
    TAP_CHECK(p.payload == pkt + 12 && p.payload_len == 3 && p.payload[0] == 0xa);
    return 0;
}

static int csrc_extension_padding(void)
{
    /* V=2 P=1 X=1 CC=2, PT 0; two CSRCs, an extension of 1 word, 2 payload bytes, 3 padding bytes */
    static const uint8_t pkt[] = {
        0xb2, 0x00, 0x00, 0x01, 0, 0, 0, 160, 9, 9, 9, 9,
        0xc1, 0xc1, 0xc1, 0xc1, 0xc2, 0xc2, 0xc2, 0xc2,       /* CSRC list */
        0xbe, 0xde, 0x00, 0x01, 0xee, 0xee, 0xee, 0xee,       /* extension: profile, length 1, one word */
        0x55, 0x66,                                           /* payload */
        0x00, 0x00, 0x03 };                                   /* padding, count 3 */
    struct mfx_rtp_packet p;
    TAP_CHECK(mfx_rtp_parse(pkt, sizeof pkt, &p) == 0);
    TAP_CHECK(p.pt == 0 && !p.marker && p.seq == 1 && p.ts == 160 && p.ssrc == 0x09090909);
    TAP_CHECK(p.payload == pkt + 28 && p.payload_len == 2 && p.payload[0] == 0x55 && p.payload[1] == 0x66);
    return 0;
}

static int padding_only(void)
{
    /* all of the body is padding: an empty payload is valid */
    static const uint8_t pkt[] = { 0xa0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4 };
    struct mfx_rtp_packet p;
    TAP_CHECK(mfx_rtp_parse(pkt, sizeof pkt, &p) == 0);
    TAP_CHECK(p.payload_len == 0);
    return 0;
}

static int malformed(void)
{
    struct mfx_rtp_packet p;
    static const uint8_t v1[] = { 0x40, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
    TAP_CHECK(mfx_rtp_parse(v1, sizeof v1, &p) == -1);               /* version 1 */
    static const uint8_t v0[] = { 0x00, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
    TAP_CHECK(mfx_rtp_parse(v0, sizeof v0, &p) == -1);               /* version 0 (e.g. STUN) */
    static const uint8_t cc[] = { 0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };
    TAP_CHECK(mfx_rtp_parse(cc, sizeof cc, &p) == -1);               /* 15 CSRCs announced, 1 present */
    static const uint8_t ext[] = { 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0xff, 0xff, 1, 2, 3, 4 };
    TAP_CHECK(mfx_rtp_parse(ext, sizeof ext, &p) == -1);             /* extension longer than the datagram */
    static const uint8_t exthdr[] = { 0x90, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde };
    TAP_CHECK(mfx_rtp_parse(exthdr, sizeof exthdr, &p) == -1);       /* extension header cut */
    static const uint8_t pad0[] = { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 0 };
    TAP_CHECK(mfx_rtp_parse(pad0, sizeof pad0, &p) == -1);           /* padding count 0 */
    static const uint8_t padbig[] = { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7, 3 };
    TAP_CHECK(mfx_rtp_parse(padbig, sizeof padbig, &p) == -1);       /* more padding than body */
    static const uint8_t padhdr[] = { 0xa0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff };
    TAP_CHECK(mfx_rtp_parse(padhdr, sizeof padhdr, &p) == -1);       /* padding count inside the header */
    TAP_CHECK(mfx_rtp_parse(NULL, 0, &p) == -1);
    return 0;
}

static int truncated(void)
{
    static const uint8_t pkt[] = {
        0x91, 0x00, 0x00, 0x01, 0, 0, 0, 160, 9, 9, 9, 9,
        0xc1, 0xc1, 0xc1, 0xc1,
        0xbe, 0xde, 0x00, 0x02, 1, 1, 1, 1, 2, 2, 2, 2,
        0x55 };
    struct mfx_rtp_packet p;
    TAP_CHECK(mfx_rtp_parse(pkt, sizeof pkt, &p) == 0 && p.payload_len == 1);
    /* Every shorter prefix up to the end of the extension is malformed; after it, the payload shrinks. */
    for (size_t len = 0; len < 28; len++) TAP_CHECK(mfx_rtp_parse(pkt, len, &p) == -1);
    TAP_CHECK(mfx_rtp_parse(pkt, 28, &p) == 0 && p.payload_len == 0);
    return 0;
}

static int round_trip(void)
{
    uint8_t payload[160], buf[200];
    for (int i = 0; i < 160; i++) payload[i] = (uint8_t)(i * 7);
    struct mfx_rtp_packet in = { .pt = 0, .marker = true, .seq = 65535, .ts = 0xfffffff0u, .ssrc = 0xcafef00d,
                                 .payload = payload, .payload_len = 160 };
    size_t n = mfx_rtp_write(buf, sizeof buf, &in);
    TAP_CHECK(n == 172);
    TAP_CHECK(buf[0] == 0x80 && buf[1] == 0x80);
    struct mfx_rtp_packet out;
    TAP_CHECK(mfx_rtp_parse(buf, n, &out) == 0);
    TAP_CHECK(out.pt == 0 && out.marker && out.seq == 65535 && out.ts == 0xfffffff0u && out.ssrc == 0xcafef00d);
    TAP_CHECK(out.payload_len == 160 && memcmp(out.payload, payload, 160) == 0);
    in.pt = 8;
    in.marker = false;
    TAP_CHECK(mfx_rtp_write(buf, sizeof buf, &in) == 172 && buf[1] == 8);
    return 0;
}

static int write_limits(void)
{
    uint8_t payload[160] = { 0 }, buf[172];
    struct mfx_rtp_packet in = { .pt = 0, .payload = payload, .payload_len = 160 };
    TAP_CHECK(mfx_rtp_write(buf, 171, &in) == 0);                   /* one byte short */
    TAP_CHECK(mfx_rtp_write(buf, 172, &in) == 172);
    TAP_CHECK(mfx_rtp_write(buf, 11, &in) == 0);
    in.pt = 128;
    TAP_CHECK(mfx_rtp_write(buf, sizeof buf, &in) == 0);             /* not a 7-bit payload type */
    in.pt = 0;
    in.payload_len = 0;
    TAP_CHECK(mfx_rtp_write(buf, 12, &in) == 12);
    return 0;
}

static const struct tap_case cases[] = {
    { "RFC 3550 5.1: plain 12-byte header", plain_header },
    { "RFC 3550 5.1/5.3.1: CSRC list, extension and padding skipped", csrc_extension_padding },
    { "RFC 3550 5.1: a body made only of padding", padding_only },
    { "malformed: version, CSRC, extension and padding lengths", malformed },
    { "truncated at every length", truncated },
    { "write then parse round trip", round_trip },
    { "write refuses what does not fit", write_limits },
};

TAP_MAIN(cases)
