/* SPDX-License-Identifier: Apache-2.0
 *
 * rtp.c: RTP fixed header parsing and writing, RFC 3550 §5.1. Every length in
 * the datagram (CSRC count, extension length, padding count) is checked
 * against what was received before it is used; nothing is allocated. The
 * fuzz target tests/fuzz/fuzz_rtp.c exercises the parser.
 */
#include "rtp.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int mfx_rtp_parse(const uint8_t *pkt, size_t len, struct mfx_rtp_packet *out)
{
    if (!pkt || len < MFX_RTP_HEADER_LEN) return -1;
    /* RFC 3550 §5.1: V(2) P(1) X(1) CC(4) | M(1) PT(7) | seq(16) | ts(32) | SSRC(32) */
    if ((pkt[0] >> 6) != 2) return -1;
    bool padding = pkt[0] & 0x20, extension = pkt[0] & 0x10;
    size_t csrc_count = pkt[0] & 0x0f;
    size_t hdr = MFX_RTP_HEADER_LEN + 4 * csrc_count;
    if (hdr > len) return -1;
    if (extension) {
        /* §5.3.1: 16 bits profile-defined, 16 bits length in 32-bit words, then the words. */
        if (len - hdr < 4) return -1;
        size_t words = rd16(pkt + hdr + 2);
        hdr += 4;
        if (words * 4 > len - hdr) return -1;
        hdr += words * 4;
    }
    size_t pad = 0;
    if (padding) {
        /* §5.1: the last octet counts the padding octets, itself included. */
        pad = pkt[len - 1];
        if (pad == 0 || pad > len - hdr) return -1;
    }
    out->marker = pkt[1] & 0x80;
    out->pt = pkt[1] & 0x7f;
    out->seq = rd16(pkt + 2);
    out->ts = rd32(pkt + 4);
    out->ssrc = rd32(pkt + 8);
    out->payload = pkt + hdr;
    out->payload_len = len - hdr - pad;
    return 0;
}

size_t mfx_rtp_write(uint8_t *buf, size_t cap, const struct mfx_rtp_packet *p)
{
    if (p->pt > 127 || cap < MFX_RTP_HEADER_LEN || p->payload_len > cap - MFX_RTP_HEADER_LEN) return 0;
    buf[0] = 2 << 6;
    buf[1] = (uint8_t)((p->marker ? 0x80 : 0) | p->pt);
    buf[2] = (uint8_t)(p->seq >> 8);
    buf[3] = (uint8_t)p->seq;
    buf[4] = (uint8_t)(p->ts >> 24);
    buf[5] = (uint8_t)(p->ts >> 16);
    buf[6] = (uint8_t)(p->ts >> 8);
    buf[7] = (uint8_t)p->ts;
    buf[8] = (uint8_t)(p->ssrc >> 24);
    buf[9] = (uint8_t)(p->ssrc >> 16);
    buf[10] = (uint8_t)(p->ssrc >> 8);
    buf[11] = (uint8_t)p->ssrc;
    if (p->payload_len) memcpy(buf + MFX_RTP_HEADER_LEN, p->payload, p->payload_len);
    return MFX_RTP_HEADER_LEN + p->payload_len;
}
