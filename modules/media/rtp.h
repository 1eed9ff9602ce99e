/* SPDX-License-Identifier: Apache-2.0
 *
 * rtp.h: the RTP fixed header (RFC 3550 §5.1), parsed and written. Only what
 * a G.711 fax leg needs: no RTCP (RFC 3550 §6), no SRTP. The leg that uses it
 * is audio_fax.c; the jitter buffer that orders what it parses is jitter.c.
 */
#ifndef MFX_MEDIA_RTP_H
#define MFX_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MFX_RTP_HEADER_LEN 12         /* RFC 3550 §5.1, without CSRCs or extension */
#define MFX_RTP_PT_PCMU 0             /* RFC 3551 §6, table 4 */
#define MFX_RTP_PT_PCMA 8

struct mfx_rtp_packet {
    uint8_t pt;                       /* payload type, 0..127 */
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload;           /* parse: points into the datagram; write: the caller's bytes */
    size_t payload_len;
};

/* Parses one datagram (RFC 3550 §5.1): version 2; the CSRC list, a header
 * extension (§5.3.1) and padding (the P bit, §5.1) are skipped. Returns 0, or
 * -1 when the datagram is malformed: shorter than a header, another version,
 * or CSRC/extension/padding lengths that do not fit. out->payload points into
 * pkt (may be empty). */
int mfx_rtp_parse(const uint8_t *pkt, size_t len, struct mfx_rtp_packet *out);

/* Writes a 12-byte header (V=2, no padding, extension or CSRC) followed by
 * p->payload into buf, which holds cap bytes. Returns the datagram length, or
 * 0 if it does not fit or p->pt is not a 7-bit payload type. */
size_t mfx_rtp_write(uint8_t *buf, size_t cap, const struct mfx_rtp_packet *p);

#endif
