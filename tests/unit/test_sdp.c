/* SPDX-License-Identifier: Apache-2.0
 *
 * test_sdp.c: modules/sip/sdp.c against SDP written the way real stacks
 * write it (FreeSWITCH and Asterisk T.38 re-INVITEs, a Cisco gateway that
 * keeps a refused audio line and states only T38MaxBitRate, answers with
 * dynamic PCMU or only telephone-event, IPv6, hold), broken input, and
 * build -> parse round trips. What we build is also run through sofia's
 * parser in strict mode, as an independent RFC 4566 check.
 */
#include "config.h"
#include "mfx.h"
#include "sdp.h"
#include "tap.h"

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

#include <stdlib.h>
#include <string.h>

static const int g711[] = { MFX_PT_PCMU, MFX_PT_PCMA };
static const int pcma_only[] = { MFX_PT_PCMA };

static enum mfx_sdp_status parse(const char *text, struct mfx_sdp_parsed *p)
{
    return mfx_sdp_parse(text, strlen(text), g711, 2, p);
}

/* True when every line of s ends with CRLF, s ends with one, and sofia's
 * strict parser accepts it. */
static bool valid_sdp(const char *s)
{
    size_t n = strlen(s);
    if (n < 2 || s[n - 2] != '\r' || s[n - 1] != '\n') return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    su_home_t *home = su_home_new(sizeof *home);
    sdp_parser_t *p = sdp_parse(home, s, (issize_t)n, sdp_f_strict);
    bool ok = sdp_session(p) != NULL;
    if (!ok) printf("# sofia strict: %s\n", sdp_parsing_error(p));
    sdp_parser_free(p);
    su_home_unref(home);
    return ok;
}

/* ---------------------------------------------------------------- T.38 */

static int freeswitch_t38_reinvite(void)
{
    /* As mod_sofia sends it when switching a call to T.38. */
    static const char sdp[] =
        "v=0\r\n"
        "o=FreeSWITCH 1712345678 1712345680 IN IP4 192.0.2.10\r\n"
        "s=FreeSWITCH\r\n"
        "c=IN IP4 192.0.2.10\r\n"
        "t=0 0\r\n"
        "m=image 30130 udptl t38\r\n"
        "a=T38FaxVersion:0\r\n"
        "a=T38MaxBitRate:14400\r\n"
        "a=T38FaxFillBitRemoval\r\n"
        "a=T38FaxRateManagement:transferredTCF\r\n"
        "a=T38FaxMaxBuffer:2000\r\n"
        "a=T38FaxMaxDatagram:400\r\n"
        "a=T38FaxUdpEC:t38UDPRedundancy\r\n"
        "a=T38VendorInfo:0 0 0\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.audio_index == -1);
    TAP_CHECK(p.image.kind == MFX_MEDIA_T38 && p.image_index == 0 && p.n_mlines == 1);
    TAP_CHECK_STR(p.image.addr, "192.0.2.10");
    TAP_CHECK(p.image.port == 30130 && p.image.dir == MFX_SDP_SENDRECV);
    const struct mfx_t38_params *t = &p.image.t38;
    TAP_CHECK(t->version == 0 && t->max_bit_rate == 14400 && t->transferred_tcf);
    TAP_CHECK(t->max_buffer == 2000 && t->max_datagram == 400);
    TAP_CHECK(t->udp_ec == MFX_T38_EC_REDUNDANCY);
    TAP_CHECK(t->fill_bit_removal && !t->mmr && !t->jbig);
    return 0;
}

static int asterisk_t38_reinvite(void)
{
    /* Asterisk-style: lower-case names from some builds, the T38MaxDatagram
     * and T38FaxMaxRate aliases, explicit :0 flags, FEC, localTCF. */
    static const char sdp[] =
        "v=0\r\n"
        "o=root 1821 1822 IN IP4 198.51.100.5\r\n"
        "s=Asterisk PBX 16.2.1\r\n"
        "c=IN IP4 198.51.100.5\r\n"
        "t=0 0\r\n"
        "m=image 4402 udptl t38\r\n"
        "a=t38faxversion:1\r\n"
        "a=T38FaxMaxRate:9600\r\n"
        "a=T38FaxRateManagement:localTCF\r\n"
        "a=T38MaxDatagram:272\r\n"
        "a=T38FaxMaxIFP:40\r\n"
        "a=T38FaxUdpEC:t38UDPFEC\r\n"
        "a=T38FaxFillBitRemoval:0\r\n"
        "a=T38FaxTranscodingMMR:1\r\n"
        "a=T38FaxTranscodingJBIG\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK(p.image.kind == MFX_MEDIA_T38 && p.image.port == 4402);
    const struct mfx_t38_params *t = &p.image.t38;
    TAP_CHECK(t->version == 1 && t->max_bit_rate == 9600 && !t->transferred_tcf);
    TAP_CHECK(t->max_datagram == 272 && t->max_buffer == 0);   /* MaxIFP is not a datagram size */
    TAP_CHECK(t->udp_ec == MFX_T38_EC_FEC);
    TAP_CHECK(!t->fill_bit_removal && t->mmr && t->jbig);
    return 0;
}

static int cisco_t38_bitrate_only(void)
{
    /* A gateway that keeps the refused audio line and states only the bit
     * rate: the defaults fill the rest, and our answer mirrors both lines. */
    static const char sdp[] =
        "v=0\r\n"
        "o=CiscoSystemsSIP-GW-UserAgent 4711 2119 IN IP4 203.0.113.7\r\n"
        "s=SIP Call\r\n"
        "c=IN IP4 203.0.113.7\r\n"
        "t=0 0\r\n"
        "m=audio 0 RTP/AVP 0\r\n"
        "m=image 17424 udptl t38\r\n"
        "c=IN IP4 203.0.113.8\r\n"
        "a=T38MaxBitRate:9600\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE);
    TAP_CHECK(p.image.kind == MFX_MEDIA_T38 && p.image_index == 1 && p.n_mlines == 2);
    TAP_CHECK_STR(p.image.addr, "203.0.113.8");            /* media-level c= wins */
    const struct mfx_t38_params *t = &p.image.t38;
    TAP_CHECK(t->version == 0 && t->max_bit_rate == 9600 && t->transferred_tcf);
    TAP_CHECK(t->max_buffer == 0 && t->max_datagram == 0 && t->udp_ec == MFX_T38_EC_NONE);
    TAP_CHECK(!t->fill_bit_removal && !t->mmr && !t->jbig);

    struct mfx_sdp_local l = {
        .addr = "192.0.2.1", .sess_id = 7, .sess_version = 8, .kind = MFX_MEDIA_T38, .port = 40000,
        .t38 = { .version = 0, .max_bit_rate = 9600, .transferred_tcf = true, .max_datagram = 400,
                 .udp_ec = MFX_T38_EC_REDUNDANCY },
        .offer = &p,
    };
    char *ans = mfx_sdp_build(&l);
    TAP_CHECK(ans && valid_sdp(ans));
    const char *audio = strstr(ans, "m=audio 0 RTP/AVP 0\r\n");
    const char *image = strstr(ans, "m=image 40000 udptl t38\r\n");
    TAP_CHECK(audio && image && audio < image);
    struct mfx_sdp_parsed back;
    TAP_CHECK(parse(ans, &back) == MFX_SDP_OK);
    TAP_CHECK(back.n_mlines == 2 && back.image_index == 1 && back.image.t38.max_datagram == 400);
    free(ans);
    return 0;
}

static int t38_bad_values_keep_defaults(void)
{
    static const char sdp[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.3\r\nt=0 0\r\n"
        "m=image 5000 UDPTL T38\r\n"
        "a=T38FaxVersion:-1\r\n"
        "a=T38MaxBitRate:fast\r\n"
        "a=T38FaxMaxDatagram:99999999999\r\n"
        "a=T38FaxMaxBuffer\r\n"
        "a=T38FaxRateManagement:sometimes\r\n"
        "a=T38FaxUdpEC\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    const struct mfx_t38_params *t = &p.image.t38;
    TAP_CHECK(p.image.kind == MFX_MEDIA_T38);
    TAP_CHECK(t->version == 0 && t->max_bit_rate == 0 && t->max_datagram == 0 && t->max_buffer == 0);
    TAP_CHECK(t->transferred_tcf && t->udp_ec == MFX_T38_EC_NONE);
    return 0;
}

/* ---------------------------------------------------------------- audio */

static int audio_remote_order_wins(void)
{
    static const char sdp[] =
        "v=0\r\n"
        "o=- 3849271 3849271 IN IP4 198.51.100.20\r\n"
        "s=-\r\n"
        "c=IN IP4 198.51.100.20\r\n"
        "t=0 0\r\n"
        "m=audio 16384 RTP/AVP 18 8 0 101\r\n"
        "a=rtpmap:18 G729/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=fmtp:101 0-16\r\n"
        "a=ptime:30\r\n"
        "a=sendrecv\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_AUDIO && p.audio_index == 0);
    TAP_CHECK(p.audio.pt == 8 && p.audio.codec == MFX_PT_PCMA);   /* 8 before 0 remotely */
    TAP_CHECK(p.audio.dtmf_pt == 101 && p.audio.ptime == 30 && p.audio.port == 16384);
    TAP_CHECK_STR(p.audio.addr, "198.51.100.20");
    TAP_CHECK(p.image.kind == MFX_MEDIA_NONE && p.image_index == -1);
    return 0;
}

static int audio_dynamic_pcmu(void)
{
    static const char sdp[] =
        "v=0\r\n"
        "o=- 1 2 IN IP4 198.51.100.21\r\n"
        "s=-\r\n"
        "c=IN IP4 198.51.100.21\r\n"
        "t=0 0\r\n"
        "m=audio 20000 RTP/AVP 96 97\r\n"
        "a=rtpmap:96 pcmu/8000/1\r\n"
        "a=rtpmap:97 telephone-event/8000\r\n"
        "a=ptime:5000\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.pt == 96 && p.audio.codec == MFX_PT_PCMU && p.audio.dtmf_pt == 97);
    TAP_CHECK(p.audio.ptime == 20);                               /* out of range */
    TAP_CHECK(mfx_sdp_parse(sdp, strlen(sdp), pcma_only, 1, &p) == MFX_SDP_NO_COMMON_CODEC);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.audio.pt == -1);

    /* Answering it keeps the offerer's number for the codec (RFC 3264 §6.1). */
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    int pts[] = { p.audio.pt }, codecs[] = { p.audio.codec };
    struct mfx_sdp_local l = { .addr = "192.0.2.1", .sess_id = 1, .sess_version = 1,
                               .kind = MFX_MEDIA_AUDIO, .port = 30000, .pts = pts, .n_pts = 1,
                               .codecs = codecs, .ptime = 20, .offer = &p };
    char *ans = mfx_sdp_build(&l);
    TAP_CHECK(ans && valid_sdp(ans));
    TAP_CHECK(strstr(ans, "m=audio 30000 RTP/AVP 96\r\na=rtpmap:96 PCMU/8000\r\n") != NULL);
    free(ans);
    return 0;
}

static int audio_second_line_and_image(void)
{
    /* The first audio line shares nothing, the second does; an image line
     * is usable too (an offer of both). */
    static const char sdp[] =
        "v=0\r\n"
        "o=- 1 2 IN IP4 198.51.100.22\r\n"
        "s=-\r\n"
        "c=IN IP4 198.51.100.22\r\n"
        "t=0 0\r\n"
        "m=audio 20000 RTP/AVP 9\r\n"
        "m=audio 20002 RTP/AVP 0\r\n"
        "m=image 20004 udptl t38\r\n"
        "a=T38FaxVersion:3\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK(p.n_mlines == 3 && p.audio_index == 1 && p.image_index == 2);
    TAP_CHECK(p.audio.port == 20002 && p.audio.pt == 0 && p.audio.dtmf_pt == -1 && p.audio.ptime == 20);
    TAP_CHECK(p.image.port == 20004 && p.image.t38.version == 3);
    return 0;
}

static int answer_only_telephone_event(void)
{
    static const char sdp[] =
        "v=0\r\no=- 5 5 IN IP4 198.51.100.30\r\ns=-\r\nc=IN IP4 198.51.100.30\r\nt=0 0\r\n"
        "m=audio 40000 RTP/AVP 101\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_NO_COMMON_CODEC);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.image.kind == MFX_MEDIA_NONE);
    TAP_CHECK(p.n_mlines == 1);   /* still there, so a refusal can mirror it */
    static const char srtp[] =
        "v=0\r\no=- 5 5 IN IP4 198.51.100.30\r\ns=-\r\nc=IN IP4 198.51.100.30\r\nt=0 0\r\n"
        "m=audio 40000 RTP/SAVP 0\r\n";
    TAP_CHECK(parse(srtp, &p) == MFX_SDP_NO_COMMON_CODEC);
    return 0;
}

static int port_zero_is_refused(void)
{
    static const char sdp[] =
        "v=0\r\no=- 5 6 IN IP4 198.51.100.31\r\ns=-\r\nc=IN IP4 198.51.100.31\r\nt=0 0\r\n"
        "m=audio 0 RTP/AVP 0 8\r\n"
        "m=image 0 udptl t38\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_NO_MEDIA);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.image.kind == MFX_MEDIA_NONE);
    static const char video[] =
        "v=0\r\no=- 5 6 IN IP4 198.51.100.31\r\ns=-\r\nc=IN IP4 198.51.100.31\r\nt=0 0\r\n"
        "m=video 5000 RTP/AVP 31\r\n";
    TAP_CHECK(parse(video, &p) == MFX_SDP_NO_MEDIA);
    static const char none[] = "v=0\r\no=- 5 6 IN IP4 198.51.100.31\r\ns=-\r\nt=0 0\r\n";
    TAP_CHECK(parse(none, &p) == MFX_SDP_NO_MEDIA);
    static const char image_port0[] =
        "v=0\r\no=- 5 6 IN IP4 198.51.100.31\r\ns=-\r\nc=IN IP4 198.51.100.31\r\nt=0 0\r\n"
        "m=audio 6000 RTP/AVP 8\r\n"
        "m=image 0 udptl t38\r\n";
    TAP_CHECK(parse(image_port0, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_AUDIO && p.image.kind == MFX_MEDIA_NONE);
    return 0;
}

/* ---------------------------------------------------------------- addresses */

static int ipv6_connection(void)
{
    static const char sdp[] =
        "v=0\r\no=- 1 1 IN IP6 2001:DB8::10\r\ns=-\r\nc=IN IP6 2001:DB8:0:0::10\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(sdp, &p) == MFX_SDP_OK);
    TAP_CHECK_STR(p.audio.addr, "2001:db8::10");                 /* canonical text */
    static const char mixed[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 2001:db8::10\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    TAP_CHECK(parse(mixed, &p) == MFX_SDP_BAD_ADDRESS);
    return 0;
}

static int missing_or_bad_connection(void)
{
    static const char missing[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    static const char host[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 media.example.com\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    static const char mcast[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 224.2.1.1/127\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    static const char mcast6[] =
        "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ff0e::1\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(missing, &p) == MFX_SDP_BAD_ADDRESS);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.audio.addr[0] == '\0');
    TAP_CHECK(parse(host, &p) == MFX_SDP_BAD_ADDRESS);
    TAP_CHECK(parse(mcast, &p) == MFX_SDP_BAD_ADDRESS);
    TAP_CHECK(parse(mcast6, &p) == MFX_SDP_BAD_ADDRESS);
    /* A bad audio address does not spoil a good image line. */
    static const char image_ok[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n"
        "m=image 7080 udptl t38\r\nc=IN IP4 192.0.2.9\r\n";
    TAP_CHECK(parse(image_ok, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.image.kind == MFX_MEDIA_T38);
    TAP_CHECK_STR(p.image.addr, "192.0.2.9");
    return 0;
}

static int hold_and_directions(void)
{
    static const char rfc2543_hold[] =
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\n";
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(rfc2543_hold, &p) == MFX_SDP_OK);
    TAP_CHECK_STR(p.audio.addr, "0.0.0.0");
    TAP_CHECK(p.audio.dir == MFX_SDP_SENDONLY);
    static const char hold_recvonly[] =
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\na=recvonly\r\n";
    TAP_CHECK(parse(hold_recvonly, &p) == MFX_SDP_OK && p.audio.dir == MFX_SDP_INACTIVE);
    static const char session_sendonly[] =
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=sendonly\r\n"
        "m=audio 7078 RTP/AVP 0\r\n"
        "m=image 7080 udptl t38\r\na=inactive\r\n";
    TAP_CHECK(parse(session_sendonly, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.dir == MFX_SDP_SENDONLY && p.image.dir == MFX_SDP_INACTIVE);
    static const char media_recvonly[] =
        "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0\r\na=recvonly\r\n";
    TAP_CHECK(parse(media_recvonly, &p) == MFX_SDP_OK && p.audio.dir == MFX_SDP_RECVONLY);
    return 0;
}

/* ---------------------------------------------------------------- garbage */

static int garbage_and_limits(void)
{
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse("", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("hello world", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=1\r\no=- 1 1 IN IP4 192.0.2.1\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- x 1 IN IP4 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n", &p)
              == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=audio 70000 RTP/AVP 0\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=audio 7000 RTP/AVP 300\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(mfx_sdp_parse(NULL, 0, g711, 2, &p) == MFX_SDP_MALFORMED);
    /* sofia 1.12.11 would loop allocating forever on this format (fuzz_sdp). */
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=image 5000 udptl t38 =x\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "  m=image 0 udptl v=P6 2001:DB8::10\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=audio 7078 RTPP /VA0\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=audio 2TPR0000 /AVP 9\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=image 7078 udptl\t\t\r\n", &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=image 7078 udptl t38  \r\n", &p) == MFX_SDP_OK);
    TAP_CHECK(parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nc=IN IP4 192.0.2.1\r\n"
                    "m=audio 7078/2 RTP/AVP 0\r\n", &p) == MFX_SDP_OK && p.audio.port == 7078);
    static const char nul[] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n\0c=IN IP4 192.0.2.1\r\n";
    TAP_CHECK(mfx_sdp_parse(nul, sizeof nul - 1, g711, 2, &p) == MFX_SDP_MALFORMED);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_NONE && p.n_mlines == 0);

    /* Over 16 KiB: refused before parsing, whatever it holds. */
    size_t big = MFX_SDP_MAX_LEN + 1;
    char *huge = mfx_malloc(big);
    memset(huge, 'a', big);
    TAP_CHECK(mfx_sdp_parse(huge, big, g711, 2, &p) == MFX_SDP_TOO_LARGE);
    free(huge);

    /* Nine m= lines: more than any fax offer. */
    char many[2048] = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n";
    for (int i = 0; i < MFX_SDP_MAX_MLINES + 1; i++)
        strcat(many, "m=audio 7000 RTP/AVP 0\r\n");
    TAP_CHECK(parse(many, &p) == MFX_SDP_TOO_LARGE);
    return 0;
}

static int length_not_nul_terminated(void)
{
    /* Only len bytes count: the buffer goes on with an m= line that must be
     * ignored, and has no NUL where len ends. */
    static const char buf[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 8\r\n"
        "m=image 7002 udptl t38\r\n";
    size_t len = (size_t)(strstr(buf, "m=image") - buf);
    struct mfx_sdp_parsed p;
    TAP_CHECK(mfx_sdp_parse(buf, len, g711, 2, &p) == MFX_SDP_OK);
    TAP_CHECK(p.n_mlines == 1 && p.image.kind == MFX_MEDIA_NONE && p.audio.pt == 8);
    /* Bare LF line ends, as some stacks send. */
    static const char lf[] = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
                             "m=audio 7000 RTP/AVP 0\n";
    TAP_CHECK(parse(lf, &p) == MFX_SDP_OK && p.audio.pt == 0);
    return 0;
}

/* ---------------------------------------------------------------- build */

static int build_audio_offer_round_trip(void)
{
    struct mfx_sdp_local l = { .addr = "192.0.2.55", .sess_id = 1700000000123ULL, .sess_version = 1,
                               .kind = MFX_MEDIA_AUDIO, .port = 31000, .pts = g711, .n_pts = 2,
                               .ptime = 20, .dir = MFX_SDP_SENDRECV };
    char *s = mfx_sdp_build(&l);
    TAP_CHECK(s && valid_sdp(s));
    TAP_CHECK_STR(s,
        "v=0\r\n"
        "o=mintfax 1700000000123 1 IN IP4 192.0.2.55\r\n"
        "s=mintfax\r\n"
        "c=IN IP4 192.0.2.55\r\n"
        "t=0 0\r\n"
        "m=audio 31000 RTP/AVP 0 8\r\n"
        "a=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:8 PCMA/8000\r\n"
        "a=ptime:20\r\n"
        "a=sendrecv\r\n");
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(s, &p) == MFX_SDP_OK);
    TAP_CHECK(p.audio.kind == MFX_MEDIA_AUDIO && p.audio.pt == 0 && p.audio.codec == 0);
    TAP_CHECK(p.audio.port == 31000 && p.audio.ptime == 20 && p.audio.dir == MFX_SDP_SENDRECV);
    TAP_CHECK_STR(p.audio.addr, "192.0.2.55");
    TAP_CHECK(mfx_sdp_parse(s, strlen(s), pcma_only, 1, &p) == MFX_SDP_OK && p.audio.pt == 8);
    free(s);
    return 0;
}

static int build_t38_round_trip(void)
{
    struct mfx_sdp_local l = {
        .addr = "2001:db8::55", .sess_id = 9, .sess_version = 10, .kind = MFX_MEDIA_T38, .port = 31002,
        .t38 = { .version = 2, .max_bit_rate = 14400, .transferred_tcf = true, .max_buffer = 1800,
                 .max_datagram = 400, .udp_ec = MFX_T38_EC_REDUNDANCY, .fill_bit_removal = true,
                 .mmr = false, .jbig = true },
        .dir = MFX_SDP_SENDRECV,
    };
    char *s = mfx_sdp_build(&l);
    TAP_CHECK(s && valid_sdp(s));
    TAP_CHECK(strstr(s, "c=IN IP6 2001:db8::55\r\n") && strstr(s, "o=mintfax 9 10 IN IP6 2001:db8::55\r\n"));
    TAP_CHECK(strstr(s, "a=T38FaxFillBitRemoval\r\n") && !strstr(s, "MMR"));
    struct mfx_sdp_parsed p;
    TAP_CHECK(parse(s, &p) == MFX_SDP_OK);
    TAP_CHECK(p.image.kind == MFX_MEDIA_T38 && p.image.port == 31002);
    TAP_CHECK_STR(p.image.addr, "2001:db8::55");
    TAP_CHECK(memcmp(&p.image.t38, &l.t38, sizeof l.t38) == 0);
    free(s);

    l.t38 = (struct mfx_t38_params){ .version = 0, .transferred_tcf = false, .udp_ec = MFX_T38_EC_FEC,
                                     .mmr = true };
    l.dir = MFX_SDP_RECVONLY;
    s = mfx_sdp_build(&l);
    TAP_CHECK(s && valid_sdp(s));
    TAP_CHECK(strstr(s, "a=T38FaxRateManagement:localTCF\r\n") && !strstr(s, "T38MaxBitRate"));
    TAP_CHECK(parse(s, &p) == MFX_SDP_OK);
    TAP_CHECK(memcmp(&p.image.t38, &l.t38, sizeof l.t38) == 0 && p.image.dir == MFX_SDP_RECVONLY);
    free(s);
    return 0;
}

static int build_refuses_bad_input(void)
{
    const int bad_pt[] = { 200 }, g729[] = { 18 };
    struct mfx_sdp_local ok = { .addr = "192.0.2.1", .kind = MFX_MEDIA_AUDIO, .port = 4000,
                                .pts = g711, .n_pts = 2 };
    char *s = mfx_sdp_build(&ok);
    TAP_CHECK(s && strstr(s, "a=ptime:20\r\n"));                 /* ptime 0 means 20 */
    free(s);
    struct mfx_sdp_local l = ok;
    l.addr = "sip.example.com";
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.addr = NULL;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.port = 0;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.port = 65536;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.n_pts = 0;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.pts = bad_pt; l.n_pts = 1;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.pts = g729; l.n_pts = 1;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.kind = MFX_MEDIA_NONE;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.kind = MFX_MEDIA_T38; l.t38.max_datagram = 70000;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    TAP_CHECK(mfx_sdp_build(NULL) == NULL);

    /* Answering with a kind the offer lacks is a bug; refusing all is not. */
    struct mfx_sdp_parsed p;
    static const char audio_only[] =
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 0\r\n";
    TAP_CHECK(parse(audio_only, &p) == MFX_SDP_OK);
    l = ok; l.kind = MFX_MEDIA_T38; l.offer = &p;
    TAP_CHECK(mfx_sdp_build(&l) == NULL);
    l = ok; l.kind = MFX_MEDIA_NONE; l.offer = &p;
    s = mfx_sdp_build(&l);
    TAP_CHECK(s && valid_sdp(s) && strstr(s, "m=audio 0 RTP/AVP 0\r\n"));
    free(s);
    return 0;
}

static int status_names(void)
{
    TAP_CHECK_STR(mfx_sdp_status_name(MFX_SDP_OK), "ok");
    TAP_CHECK_STR(mfx_sdp_status_name(MFX_SDP_MALFORMED), "malformed_sdp");
    TAP_CHECK_STR(mfx_sdp_status_name(MFX_SDP_TOO_LARGE), "sdp_too_large");
    TAP_CHECK_STR(mfx_sdp_status_name(MFX_SDP_NO_MEDIA), "no_media");
    TAP_CHECK_STR(mfx_sdp_status_name(MFX_SDP_NO_COMMON_CODEC), "no_common_codec");
    TAP_CHECK_STR(mfx_sdp_status_name(MFX_SDP_BAD_ADDRESS), "bad_address");
    return 0;
}

static const struct tap_case cases[] = {
    { "FreeSWITCH T.38 re-INVITE", freeswitch_t38_reinvite },
    { "Asterisk T.38: aliases, case, :0 flags, FEC, localTCF", asterisk_t38_reinvite },
    { "Cisco T.38 with T38MaxBitRate only; answer mirrors the refused audio line",
      cisco_t38_bitrate_only },
    { "T.38 values that do not parse keep the defaults", t38_bad_values_keep_defaults },
    { "audio: the remote's order wins, dtmf and ptime read", audio_remote_order_wins },
    { "audio: dynamic PCMU maps to PCMU, answered at the same number", audio_dynamic_pcmu },
    { "audio: second line when the first shares nothing; image alongside", audio_second_line_and_image },
    { "answer with only telephone-event (or SRTP) is no_common_codec", answer_only_telephone_event },
    { "port 0, video only, no m= lines are no_media", port_zero_is_refused },
    { "IPv6 c= in canonical form; type mismatch is bad_address", ipv6_connection },
    { "missing c=, host name, multicast are bad_address", missing_or_bad_connection },
    { "c=0.0.0.0 hold and a= directions", hold_and_directions },
    { "garbage, NUL, bad port and payload, size limits", garbage_and_limits },
    { "only len bytes are parsed; bare LF accepted", length_not_nul_terminated },
    { "build audio offer: exact text, valid, parses back", build_audio_offer_round_trip },
    { "build T.38 (IPv6): valid, every parameter parses back", build_t38_round_trip },
    { "build refuses bad input; answer refusing all streams", build_refuses_bad_input },
    { "status names", status_names },
};

TAP_MAIN(cases)
