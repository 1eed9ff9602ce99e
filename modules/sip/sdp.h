/* SPDX-License-Identifier: Apache-2.0
 *
 * sdp.h: our side of SDP offer/answer (RFC 3264) for fax calls: G.711 audio
 * over RTP and T.38 over UDPTL. nua runs with NUTAG_MEDIA_ENABLE(0)
 * (DESIGN §10), so the SIP user agent hands us the remote SDP text and sends
 * the text we build. Parsing uses sofia-sip's SDP parser (one su_home per
 * call, so any single thread may call these functions); building prints the
 * text directly, so every byte we send is decided here. The user agent and
 * the carrier live in modules/sip/ and modules/carrier_sip/; RTP and UDPTL
 * in modules/media/.
 */
#ifndef MFX_SIP_SDP_H
#define MFX_SIP_SDP_H

#include <stdbool.h>
#include <stddef.h>

enum mfx_media_kind { MFX_MEDIA_NONE, MFX_MEDIA_AUDIO, MFX_MEDIA_T38 };

/* A stream's direction as its writer declared it (RFC 3264 §5.1): for a
 * parsed remote SDP, SENDONLY means the remote only sends to us. */
enum mfx_sdp_dir { MFX_SDP_SENDRECV, MFX_SDP_SENDONLY, MFX_SDP_RECVONLY, MFX_SDP_INACTIVE };

/* The static RTP payload types of G.711 (RFC 3551 §6); also the codec
 * identities used in accept lists, whatever number the remote uses. */
#define MFX_PT_PCMU 0
#define MFX_PT_PCMA 8

enum mfx_t38_ec { MFX_T38_EC_NONE, MFX_T38_EC_REDUNDANCY, MFX_T38_EC_FEC };

/* T.38 session parameters (ITU-T T.38 Annex D.2.3, the SDP attributes). */
struct mfx_t38_params {
    int version;              /* T38FaxVersion (0..3); 0 when absent */
    int max_bit_rate;         /* T38MaxBitRate (also T38FaxMaxRate), e.g. 14400; 0 when absent */
    bool transferred_tcf;     /* T38FaxRateManagement: transferredTCF (true) / localTCF (false);
                                 true when absent (the only choice over UDP) */
    int max_buffer;           /* T38FaxMaxBuffer, 0 = absent */
    int max_datagram;         /* T38FaxMaxDatagram (also T38MaxDatagram), 0 = absent; <= 65535 */
    enum mfx_t38_ec udp_ec;   /* T38FaxUdpEC: t38UDPRedundancy / t38UDPFEC / absent or t38UDPNoEC */
    bool fill_bit_removal, mmr, jbig;   /* T38FaxFillBitRemoval, T38FaxTranscodingMMR,
                                           T38FaxTranscodingJBIG: present = true, ":0" = false */
};

struct mfx_sdp_media {
    enum mfx_media_kind kind;  /* NONE: absent, refused (port 0) or unusable */
    char addr[64];             /* c= address (media level overrides session level), canonical
                                  IPv4 or IPv6 text; "0.0.0.0" / "::" = hold: never send there */
    int port;
    int pt;                    /* audio: the remote's payload type number chosen (the first in the
                                  remote's list that we accept), else -1 */
    int codec;                 /* audio: MFX_PT_PCMU or MFX_PT_PCMA, what pt carries (pt may be a
                                  dynamic number with an rtpmap), else -1 */
    int ptime;                 /* ms, 20 if absent or out of range (10..200) */
    int dtmf_pt;               /* telephone-event payload type, -1 if none */
    enum mfx_sdp_dir dir;      /* as declared; c=0.0.0.0 turns sendrecv into sendonly and recvonly
                                  into inactive (RFC 3264 §8.4) */
    struct mfx_t38_params t38; /* image: the parsed attributes */
};

/* Room kept for the remote's m= lines, so an answer can mirror them. No fax
 * offer has more; an SDP with more is refused as MFX_SDP_TOO_LARGE. */
#define MFX_SDP_MAX_MLINES 8

/* One remote m= line as an answer must repeat it when refusing it. */
struct mfx_sdp_mline {
    char media[16];            /* "audio", "image", "video", ... */
    char proto[24];            /* "RTP/AVP", "udptl", ... */
    char fmt[16];              /* the first format ("0", "t38", ...) */
};

struct mfx_sdp_parsed {
    struct mfx_sdp_media audio, image;
    int audio_index, image_index;   /* which m= line each came from (0-based), -1 if none */
    int n_mlines;                   /* every m= line of the remote SDP, in order */
    struct mfx_sdp_mline mlines[MFX_SDP_MAX_MLINES];
};

struct mfx_sdp_local {         /* what we offer or answer */
    const char *addr;          /* our IP for o= and c= (IPv4 or IPv6 literal) */
    unsigned long long sess_id, sess_version;
    enum mfx_media_kind kind;  /* NONE only in an answer: refuse every offered stream */
    int port;
    const int *pts; int n_pts; /* audio: payload types in preference order (0, 8); rtpmap lines
                                  for them */
    const int *codecs;         /* optional, parallel to pts: MFX_PT_PCMU/PCMA carried by each
                                  (needed for a dynamic number); NULL = pts are static numbers */
    int ptime;                 /* 20; 0 means 20 */
    struct mfx_t38_params t38;
    enum mfx_sdp_dir dir;
    const struct mfx_sdp_parsed *offer;  /* answering: mirror the offer's m= lines in order, ours
                                            at offer->audio_index/image_index, the others
                                            refused with port 0 (RFC 3264 §6); NULL = offering */
};

enum mfx_sdp_status {
    MFX_SDP_OK,
    MFX_SDP_MALFORMED,         /* not SDP: sofia refused it, NUL bytes, bad port */
    MFX_SDP_TOO_LARGE,         /* over MFX_SDP_MAX_LEN bytes or MFX_SDP_MAX_MLINES m= lines */
    MFX_SDP_NO_MEDIA,          /* no usable audio nor image line, and no live audio line */
    MFX_SDP_NO_COMMON_CODEC,   /* live audio line(s) but no codec we accept, no usable image */
    MFX_SDP_BAD_ADDRESS,       /* the only usable stream(s) had no c=, a host name, multicast */
};

#define MFX_SDP_MAX_LEN 16384

/* Builds our SDP (RFC 4566, CRLF line ends): one m= line for l->kind, or,
 * when answering (l->offer set), one line per offered m= line. Returns
 * malloc'd text the caller frees, or NULL when l is unusable (address not an
 * IP literal, port out of 1..65535, no payload types, payload type out of
 * 0..127, an answer kind the offer does not have): a caller bug. */
char *mfx_sdp_build(const struct mfx_sdp_local *l);

/* Parses len bytes of remote SDP (not necessarily NUL-terminated) and fills
 * *out (always fully written, kinds NONE on failure). audio = the first
 * m=audio RTP/AVP line with port != 0 that has a payload type whose codec is
 * in accept_pts (MFX_PT_PCMU, MFX_PT_PCMA; the order of the REMOTE list
 * wins); image = the first m=image udptl t38 line with port != 0. A chosen
 * line whose connection address is missing, a host name, multicast or not
 * of its address type is dropped (BAD_ADDRESS if nothing else is usable);
 * c=0.0.0.0 (or ::) is the RFC 2543 hold, kept with its direction reduced.
 * Returns MFX_SDP_OK when audio or image is usable. */
enum mfx_sdp_status mfx_sdp_parse(const char *text, size_t len, const int *accept_pts, int n_accept,
                                  struct mfx_sdp_parsed *out);

/* "ok", "malformed_sdp", "sdp_too_large", "no_media", "no_common_codec",
 * "bad_address"; static strings. */
const char *mfx_sdp_status_name(enum mfx_sdp_status s);

#endif
