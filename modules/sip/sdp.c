/* SPDX-License-Identifier: Apache-2.0
 *
 * sdp.c: SDP offer/answer for fax calls (RFC 3264, RFC 4566; T.38 Annex D
 * for the image stream). mfx_sdp_parse() runs sofia-sip's parser on the
 * remote text, then picks the streams we can use: the first live G.711 audio
 * line and the first live T.38 image line, with their addresses checked
 * (we never resolve host names: that would block the SIP thread).
 * mfx_sdp_build() prints our offer or answer directly into a bounded buffer,
 * so the text we send is exactly what this file says. The SIP user agent
 * (modules/sip/) calls both on its own thread; nothing here is shared between
 * calls. tests/unit/test_sdp.c holds offers from real stacks;
 * tests/fuzz/fuzz_sdp.c fuzzes the parser and the round trip.
 */
#include "config.h"
#include "mfx.h"
#include "sdp.h"

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================== */
/* Small helpers                                                            */

/* Parses a decimal number in 0..max, allowing surrounding blanks; false on
 * anything else (sign, garbage, overflow), leaving *out alone. */
static bool parse_uint(const char *s, long max, int *out)
{
    if (!s) return false;
    while (*s == ' ' || *s == '\t') s++;
    long v = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (++digits > 9) return false;
        v = v * 10 + (*s - '0');
    }
    while (*s == ' ' || *s == '\t') s++;
    if (digits == 0 || *s != '\0' || v > max) return false;
    *out = (int)v;
    return true;
}

/* Copies s into out[size] (truncating, always terminated). */
static void copy_text(char *out, size_t size, const char *s)
{
    snprintf(out, size, "%s", s ? s : "");
}

/* ======================================================================== */
/* Parsing                                                                  */

/* RFC 4566 §9 token characters, as sofia's parser knows them. */
static bool is_token_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        || (c != '\0' && strchr("-!#$%&'*+.^_`{|}~", c) != NULL);
}

/* Checks every m= line before sofia sees it against RFC 4566 §5.14:
 * media SP port ["/" integer] SP proto 1*(SP fmt), where media and each fmt
 * are tokens and proto is tokens joined by "/". sofia 1.12.11 loops
 * forever, allocating, on a non-RTP format that starts with a non-token
 * character ("m=image 0 udptl =x", "m=audio 1 RTPP /x") or on a tab
 * after the protocol ("m=audio 1 RTP/AV\t"): found by fuzz_sdp. So fields
 * are separated by spaces only (the grammar's SP). Lines end at CR or LF
 * and may start with blanks, as in sofia's lenient mode. */
static bool media_lines_sane(const char *text, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '\r' && text[end] != '\n') end++;
        size_t j = i;
        while (j < end && (text[j] == ' ' || text[j] == '\t')) j++;
        if (end - j >= 2 && text[j] == 'm' && text[j + 1] == '=') {
            int word = 0;
            for (j += 2; j < end; word++) {
                while (j < end && text[j] == ' ') j++;
                size_t start = j, slashes = 0;
                for (; j < end && text[j] != ' '; j++) {
                    unsigned char c = (unsigned char)text[j];
                    bool ok;
                    if (word == 1)          /* port ["/" integer] */
                        ok = (c >= '0' && c <= '9') || (c == '/' && slashes++ == 0 && j > start);
                    else if (word == 2)     /* proto: tokens joined by "/" */
                        ok = is_token_char(c) || c == '/';
                    else                    /* media, fmt */
                        ok = is_token_char(c);
                    if (!ok) return false;
                }
                if (word == 1 && j > start && text[j - 1] == '/') return false;
            }
        }
        i = end + 1;
    }
    return true;
}

/* The G.711 codec an rtpmap entry carries (RFC 3551 §4.5.14: PCMU and PCMA,
 * 8000 Hz, one channel), whatever its payload number; -1 for anything else.
 * Static numbers without an a=rtpmap come pre-filled by sofia. */
static int rtpmap_codec(const sdp_rtpmap_t *rm)
{
    if (!rm->rm_encoding || rm->rm_rate != 8000) return -1;
    if (rm->rm_params && strcmp(rm->rm_params, "1") != 0) return -1;
    if (strcasecmp(rm->rm_encoding, "PCMU") == 0) return MFX_PT_PCMU;
    if (strcasecmp(rm->rm_encoding, "PCMA") == 0) return MFX_PT_PCMA;
    return -1;
}

static bool accepted(int codec, const int *accept_pts, int n_accept)
{
    for (int i = 0; accept_pts && i < n_accept; i++)
        if (accept_pts[i] == codec) return true;
    return false;
}

static enum mfx_sdp_dir dir_of(unsigned mode)
{
    switch (mode & 3) {
    case sdp_sendrecv: return MFX_SDP_SENDRECV;
    case sdp_sendonly: return MFX_SDP_SENDONLY;
    case sdp_recvonly: return MFX_SDP_RECVONLY;
    default:           return MFX_SDP_INACTIVE;
    }
}

/* The connection address of m (RFC 4566 §5.7: media level, else session
 * level) as canonical text in out[64]. Only unicast IP literals of the
 * declared address type are usable: no host names (resolving would block
 * the SIP thread), no multicast. *hold is set for 0.0.0.0 / :: (RFC 3264
 * §8.4: the RFC 2543 way to say "do not send to me"). Returns false when
 * the address is unusable. */
static bool media_address(const sdp_session_t *sdp, const sdp_media_t *m, char out[64], bool *hold)
{
    const sdp_connection_t *c = m->m_connections ? m->m_connections : sdp->sdp_connection;
    *hold = false;
    if (!c || !c->c_address || c->c_nettype != sdp_net_in || c->c_mcast) return false;
    if (c->c_addrtype == sdp_addr_ip4) {
        struct in_addr a;
        if (inet_pton(AF_INET, c->c_address, &a) != 1) return false;
        uint32_t h = ntohl(a.s_addr);
        if ((h >> 28) == 0xe) return false;                 /* 224.0.0.0/4 */
        if (h == 0xffffffffu) return false;                 /* broadcast */
        *hold = h == 0;
        return inet_ntop(AF_INET, &a, out, 64) != NULL;
    }
    if (c->c_addrtype == sdp_addr_ip6) {
        struct in6_addr a;
        if (inet_pton(AF_INET6, c->c_address, &a) != 1) return false;
        if (IN6_IS_ADDR_MULTICAST(&a)) return false;
        *hold = IN6_IS_ADDR_UNSPECIFIED(&a);
        return inet_ntop(AF_INET6, &a, out, 64) != NULL;
    }
    return false;
}

/* Fills the address, port and direction shared by both stream kinds;
 * false when the address is unusable. */
static bool fill_common(const sdp_session_t *sdp, const sdp_media_t *m, struct mfx_sdp_media *out)
{
    bool hold;
    if (!media_address(sdp, m, out->addr, &hold)) {
        out->addr[0] = '\0';
        return false;
    }
    out->port = (int)m->m_port;
    out->dir = dir_of(m->m_mode);
    if (hold) {
        /* The peer must not be sent to: keep only its own sending. */
        if (out->dir == MFX_SDP_SENDRECV) out->dir = MFX_SDP_SENDONLY;
        else if (out->dir == MFX_SDP_RECVONLY) out->dir = MFX_SDP_INACTIVE;
    }
    return true;
}

/* a=ptime (RFC 4566 §6) at media level, else session level; 20 when absent
 * or outside 10..200 ms (a fax call never needs anything else). */
static int media_ptime(const sdp_session_t *sdp, const sdp_media_t *m)
{
    const sdp_attribute_t *a = sdp_attribute_find(m->m_attributes, "ptime");
    if (!a) a = sdp_attribute_find(sdp->sdp_attributes, "ptime");
    int v;
    if (a && parse_uint(a->a_value, 200, &v) && v >= 10) return v;
    return 20;
}

/* The T.38 attributes of T.38 Annex D.2.3, matched without regard to case
 * as stacks vary. Aliases seen in the wild and accepted by Asterisk
 * (res_pjsip_t38, chan_sip): T38FaxMaxRate for T38MaxBitRate and
 * T38MaxDatagram for T38FaxMaxDatagram. T38FaxMaxIFP (the largest IFP
 * packet, a different quantity) and T38FaxUdpECDepth/FECMaxSpan are
 * ignored. */
enum t38_attr { T38_VERSION, T38_BITRATE, T38_RATEMGMT, T38_MAXBUF, T38_MAXDGRAM, T38_UDPEC,
                T38_FILLBIT, T38_MMR, T38_JBIG };
static const struct { const char *name; enum t38_attr id; } t38_attrs[] = {
    { "T38FaxVersion", T38_VERSION },
    { "T38MaxBitRate", T38_BITRATE },
    { "T38FaxMaxRate", T38_BITRATE },
    { "T38FaxRateManagement", T38_RATEMGMT },
    { "T38FaxMaxBuffer", T38_MAXBUF },
    { "T38FaxMaxDatagram", T38_MAXDGRAM },
    { "T38MaxDatagram", T38_MAXDGRAM },
    { "T38FaxUdpEC", T38_UDPEC },
    { "T38FaxFillBitRemoval", T38_FILLBIT },
    { "T38FaxTranscodingMMR", T38_MMR },
    { "T38FaxTranscodingJBIG", T38_JBIG },
};

/* A boolean T.38 attribute: present without a value means true (T.38
 * Annex D), ":0" false; some stacks write ":1" or ":true". */
static bool t38_flag(const char *value)
{
    int v;
    if (!value) return true;
    if (parse_uint(value, 999999999, &v)) return v != 0;
    while (*value == ' ') value++;
    return strncasecmp(value, "true", 4) == 0;
}

/* Reads the T.38 attributes of an image line into *t. Values that do not
 * parse or are out of range leave the field at its default. */
static void parse_t38(const sdp_media_t *m, struct mfx_t38_params *t)
{
    for (const sdp_attribute_t *a = m->m_attributes; a; a = a->a_next) {
        if (!a->a_name) continue;
        size_t k;
        for (k = 0; k < MFX_ARRAY_LEN(t38_attrs); k++)
            if (strcasecmp(a->a_name, t38_attrs[k].name) == 0) break;
        if (k == MFX_ARRAY_LEN(t38_attrs)) continue;
        const char *v = a->a_value;
        switch (t38_attrs[k].id) {
        case T38_VERSION:  parse_uint(v, 127, &t->version); break;
        case T38_BITRATE:  parse_uint(v, 1000000, &t->max_bit_rate); break;
        case T38_MAXBUF:   parse_uint(v, 1000000, &t->max_buffer); break;
        case T38_MAXDGRAM: parse_uint(v, 65535, &t->max_datagram); break;
        case T38_RATEMGMT:
            if (v && strcasecmp(v, "localTCF") == 0) t->transferred_tcf = false;
            else if (v && strcasecmp(v, "transferredTCF") == 0) t->transferred_tcf = true;
            break;
        case T38_UDPEC:
            if (!v) break;
            if (strcasecmp(v, "t38UDPRedundancy") == 0) t->udp_ec = MFX_T38_EC_REDUNDANCY;
            else if (strcasecmp(v, "t38UDPFEC") == 0) t->udp_ec = MFX_T38_EC_FEC;
            else if (strcasecmp(v, "t38UDPNoEC") == 0) t->udp_ec = MFX_T38_EC_NONE;
            break;
        case T38_FILLBIT:  t->fill_bit_removal = t38_flag(v); break;
        case T38_MMR:      t->mmr = t38_flag(v); break;
        case T38_JBIG:     t->jbig = t38_flag(v); break;
        }
    }
}

static bool has_t38_format(const sdp_media_t *m)
{
    for (const sdp_list_t *l = m->m_format; l; l = l->l_next)
        if (l->l_text && strcasecmp(l->l_text, "t38") == 0) return true;
    return false;
}

static void media_init(struct mfx_sdp_media *md)
{
    memset(md, 0, sizeof *md);
    md->kind = MFX_MEDIA_NONE;
    md->pt = md->codec = md->dtmf_pt = -1;
    md->ptime = 20;
    md->dir = MFX_SDP_SENDRECV;
    md->t38.transferred_tcf = true;
}

/* Remembers what an answer needs to refuse this m= line (RFC 3264 §6). */
static void record_mline(const sdp_media_t *m, struct mfx_sdp_mline *ml)
{
    copy_text(ml->media, sizeof ml->media, m->m_type_name);
    copy_text(ml->proto, sizeof ml->proto, m->m_proto_name);
    if (m->m_rtpmaps)
        snprintf(ml->fmt, sizeof ml->fmt, "%u", (unsigned)m->m_rtpmaps->rm_pt);
    else if (m->m_format && m->m_format->l_text)
        copy_text(ml->fmt, sizeof ml->fmt, m->m_format->l_text);
    else
        copy_text(ml->fmt, sizeof ml->fmt, "0");
    /* A cut protocol name may turn into (or out of) RTP, whose formats must
     * be numbers: a number is a valid format either way. */
    if (m->m_proto_name && strlen(m->m_proto_name) >= sizeof ml->proto)
        copy_text(ml->fmt, sizeof ml->fmt, "0");
    /* An empty token would make the refusal line invalid. */
    if (!ml->media[0]) copy_text(ml->media, sizeof ml->media, "unknown");
    if (!ml->proto[0]) copy_text(ml->proto, sizeof ml->proto, "RTP/AVP");
}

/* Tries m as our audio stream: a live RTP/AVP line carrying a codec we
 * accept, first in the remote's order (RFC 3264 §6.1: the offerer's list is
 * in its preference order). Returns 1 when taken, 0 when it has no common
 * codec, -1 when its address is unusable. */
static int try_audio(const sdp_session_t *sdp, const sdp_media_t *m, const int *accept_pts,
                     int n_accept, struct mfx_sdp_media *out)
{
    const sdp_rtpmap_t *chosen = NULL;
    int codec = -1, dtmf = -1;
    for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm; rm = rm->rm_next) {
        int c = rtpmap_codec(rm);
        if (!chosen && c >= 0 && accepted(c, accept_pts, n_accept)) {
            chosen = rm;
            codec = c;
        }
        if (dtmf < 0 && rm->rm_encoding && rm->rm_rate == 8000
            && strcasecmp(rm->rm_encoding, "telephone-event") == 0)
            dtmf = rm->rm_pt;
    }
    if (!chosen) return 0;
    if (!fill_common(sdp, m, out)) return -1;
    out->kind = MFX_MEDIA_AUDIO;
    out->pt = chosen->rm_pt;
    out->codec = codec;
    out->dtmf_pt = dtmf;
    out->ptime = media_ptime(sdp, m);
    return 1;
}

enum mfx_sdp_status mfx_sdp_parse(const char *text, size_t len, const int *accept_pts, int n_accept,
                                  struct mfx_sdp_parsed *out)
{
    memset(out, 0, sizeof *out);
    media_init(&out->audio);
    media_init(&out->image);
    out->audio_index = out->image_index = -1;

    if (len > MFX_SDP_MAX_LEN) return MFX_SDP_TOO_LARGE;
    /* RFC 4566 §5: text, no NUL (sofia would silently stop at one). */
    if (!text || len == 0 || memchr(text, '\0', len)) return MFX_SDP_MALFORMED;
    if (!media_lines_sane(text, len)) return MFX_SDP_MALFORMED;

    enum mfx_sdp_status rc = MFX_SDP_MALFORMED;
    su_home_t *home = su_home_new(sizeof *home);
    if (!home) {
        fprintf(stderr, "mintfax: out of memory parsing SDP\n");
        abort();
    }
    /* Lenient parsing (real stacks omit s= or t=); c= is checked per chosen
     * stream below, so a missing one is BAD_ADDRESS, not MALFORMED. */
    sdp_parser_t *parser = sdp_parse(home, text, (issize_t)len, sdp_f_c_missing);
    const sdp_session_t *sdp = sdp_session(parser);
    if (!sdp) goto out;

    int n = 0;
    for (const sdp_media_t *m = sdp->sdp_media; m; m = m->m_next)
        if (++n > MFX_SDP_MAX_MLINES) {
            rc = MFX_SDP_TOO_LARGE;
            goto out;
        }

    bool live_audio = false, bad_address = false;
    int i = 0;
    for (const sdp_media_t *m = sdp->sdp_media; m; m = m->m_next, i++) {
        record_mline(m, &out->mlines[i]);
        if (m->m_port > 65535) goto out;   /* RFC 4566 §5.14: port is 16 bits */
        bool live = m->m_port != 0 && !m->m_rejected;
        if (!live) continue;

        if (m->m_type == sdp_media_audio) {
            live_audio = true;
            if (out->audio_index < 0 && m->m_proto == sdp_proto_rtp) {
                int r = try_audio(sdp, m, accept_pts, n_accept, &out->audio);
                if (r > 0) out->audio_index = i;
                else if (r < 0) {
                    bad_address = true;
                    media_init(&out->audio);
                }
            }
        } else if (m->m_type == sdp_media_image && m->m_proto == sdp_proto_udptl
                   && out->image_index < 0 && has_t38_format(m)) {
            if (fill_common(sdp, m, &out->image)) {
                out->image.kind = MFX_MEDIA_T38;
                parse_t38(m, &out->image.t38);
                out->image_index = i;
            } else {
                bad_address = true;
                media_init(&out->image);
            }
        }
    }
    out->n_mlines = i;

    if (out->audio_index >= 0 || out->image_index >= 0) rc = MFX_SDP_OK;
    else if (bad_address) rc = MFX_SDP_BAD_ADDRESS;
    else if (live_audio) rc = MFX_SDP_NO_COMMON_CODEC;
    else rc = MFX_SDP_NO_MEDIA;

out:
    if (rc != MFX_SDP_OK) {
        /* Nothing half-filled reaches the caller. */
        struct mfx_sdp_parsed keep = *out;
        memset(out, 0, sizeof *out);
        media_init(&out->audio);
        media_init(&out->image);
        out->audio_index = out->image_index = -1;
        if (rc != MFX_SDP_MALFORMED && rc != MFX_SDP_TOO_LARGE) {
            out->n_mlines = keep.n_mlines;
            memcpy(out->mlines, keep.mlines, sizeof out->mlines);
        }
    }
    sdp_parser_free(parser);
    su_home_unref(home);
    return rc;
}

const char *mfx_sdp_status_name(enum mfx_sdp_status s)
{
    switch (s) {
    case MFX_SDP_OK:              return "ok";
    case MFX_SDP_MALFORMED:       return "malformed_sdp";
    case MFX_SDP_TOO_LARGE:       return "sdp_too_large";
    case MFX_SDP_NO_MEDIA:        return "no_media";
    case MFX_SDP_NO_COMMON_CODEC: return "no_common_codec";
    case MFX_SDP_BAD_ADDRESS:     return "bad_address";
    }
    return "unknown";
}

/* ======================================================================== */
/* Building                                                                 */

/* A bounded text buffer: appends fail softly and mark overflow. */
struct out_buf {
    char text[4096];
    size_t len;
    bool overflow;
};

static void put(struct out_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out_buf *b, const char *fmt, ...)
{
    if (b->overflow) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->text + b->len, sizeof b->text - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b->text - b->len) b->overflow = true;
    else b->len += (size_t)n;
}

static const char *dir_name(enum mfx_sdp_dir d)
{
    switch (d) {
    case MFX_SDP_SENDONLY: return "sendonly";
    case MFX_SDP_RECVONLY: return "recvonly";
    case MFX_SDP_INACTIVE: return "inactive";
    default:               return "sendrecv";
    }
}

/* Our audio line: RTP/AVP with the payload types in preference order, an
 * rtpmap for each (RFC 4566 §6; static ones too, for stacks that want
 * them), ptime and the direction. Returns false on a bad payload list. */
static bool put_audio(struct out_buf *b, const struct mfx_sdp_local *l)
{
    if (!l->pts || l->n_pts < 1 || l->n_pts > 16) return false;
    put(b, "m=audio %d RTP/AVP", l->port);
    for (int i = 0; i < l->n_pts; i++) {
        if (l->pts[i] < 0 || l->pts[i] > 127) return false;
        put(b, " %d", l->pts[i]);
    }
    put(b, "\r\n");
    for (int i = 0; i < l->n_pts; i++) {
        int codec = l->codecs ? l->codecs[i] : l->pts[i];
        if (codec == MFX_PT_PCMU) put(b, "a=rtpmap:%d PCMU/8000\r\n", l->pts[i]);
        else if (codec == MFX_PT_PCMA) put(b, "a=rtpmap:%d PCMA/8000\r\n", l->pts[i]);
        else return false;   /* we only ever send G.711 */
    }
    int ptime = l->ptime > 0 ? l->ptime : 20;
    if (ptime > 200) return false;
    put(b, "a=ptime:%d\r\n", ptime);
    put(b, "a=%s\r\n", dir_name(l->dir));
    return true;
}

/* Our image line (T.38 Annex D.2.3): udptl t38 and the session parameters;
 * absent numbers (0) are left out, flags are written only when true. */
static bool put_image(struct out_buf *b, const struct mfx_sdp_local *l)
{
    const struct mfx_t38_params *t = &l->t38;
    if (t->version < 0 || t->version > 127 || t->max_bit_rate < 0 || t->max_buffer < 0
        || t->max_datagram < 0 || t->max_datagram > 65535)
        return false;
    put(b, "m=image %d udptl t38\r\n", l->port);
    put(b, "a=T38FaxVersion:%d\r\n", t->version);
    if (t->max_bit_rate > 0) put(b, "a=T38MaxBitRate:%d\r\n", t->max_bit_rate);
    put(b, "a=T38FaxRateManagement:%s\r\n", t->transferred_tcf ? "transferredTCF" : "localTCF");
    if (t->max_buffer > 0) put(b, "a=T38FaxMaxBuffer:%d\r\n", t->max_buffer);
    if (t->max_datagram > 0) put(b, "a=T38FaxMaxDatagram:%d\r\n", t->max_datagram);
    if (t->udp_ec == MFX_T38_EC_REDUNDANCY) put(b, "a=T38FaxUdpEC:t38UDPRedundancy\r\n");
    else if (t->udp_ec == MFX_T38_EC_FEC) put(b, "a=T38FaxUdpEC:t38UDPFEC\r\n");
    if (t->fill_bit_removal) put(b, "a=T38FaxFillBitRemoval\r\n");
    if (t->mmr) put(b, "a=T38FaxTranscodingMMR\r\n");
    if (t->jbig) put(b, "a=T38FaxTranscodingJBIG\r\n");
    put(b, "a=%s\r\n", dir_name(l->dir));
    return true;
}

static bool put_ours(struct out_buf *b, const struct mfx_sdp_local *l)
{
    if (l->port < 1 || l->port > 65535) return false;
    if (l->kind == MFX_MEDIA_AUDIO) return put_audio(b, l);
    if (l->kind == MFX_MEDIA_T38) return put_image(b, l);
    return false;
}

char *mfx_sdp_build(const struct mfx_sdp_local *l)
{
    if (!l || !l->addr) return NULL;
    const char *ipver;
    unsigned char scratch[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, l->addr, scratch) == 1) ipver = "IP4";
    else if (inet_pton(AF_INET6, l->addr, scratch) == 1) ipver = "IP6";
    else return NULL;

    struct out_buf *b = mfx_calloc(1, sizeof *b);
    char *result = NULL;
    /* RFC 4566 §5: v, o, s, c, t in this order; one c= for the session. */
    put(b, "v=0\r\n");
    put(b, "o=mintfax %llu %llu IN %s %s\r\n", l->sess_id, l->sess_version, ipver, l->addr);
    put(b, "s=mintfax\r\n");
    put(b, "c=IN %s %s\r\n", ipver, l->addr);
    put(b, "t=0 0\r\n");

    if (!l->offer) {
        if (!put_ours(b, l)) goto out;
    } else {
        /* RFC 3264 §6: the answer has exactly the offer's m= lines, in
         * order; the ones we do not take carry port 0. */
        const struct mfx_sdp_parsed *o = l->offer;
        int ours = l->kind == MFX_MEDIA_AUDIO ? o->audio_index
                 : l->kind == MFX_MEDIA_T38 ? o->image_index : -1;
        if (l->kind != MFX_MEDIA_NONE && ours < 0) goto out;
        if (o->n_mlines < 1 || o->n_mlines > MFX_SDP_MAX_MLINES) goto out;
        for (int i = 0; i < o->n_mlines; i++) {
            if (i == ours) {
                if (!put_ours(b, l)) goto out;
            } else {
                const struct mfx_sdp_mline *ml = &o->mlines[i];
                put(b, "m=%s 0 %s %s\r\n", ml->media, ml->proto, ml->fmt);
            }
        }
    }
    if (!b->overflow) result = mfx_strdup(b->text);
out:
    free(b);
    return result;
}
