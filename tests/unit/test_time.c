/* SPDX-License-Identifier: Apache-2.0
 *
 * test_time.c: RFC 3339 formatting and parsing, and the SSRF address rule
 * of the document fetcher.
 */
#include "config.h"
#include "mfx.h"
#include "httpc.h"
#include "tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>

static int rfc3339(void)
{
    char out[32];
    mfx_time_format(0, out);
    TAP_CHECK_STR(out, "1970-01-01T00:00:00.000Z");
    mfx_time_format(1795460367123, out);
    int64_t ms;
    TAP_CHECK(mfx_time_parse(out, &ms) == MFX_OK && ms == 1795460367123);
    TAP_CHECK(mfx_time_parse("2026-11-23T19:00:00+01:00", &ms) == MFX_OK && ms == 1795456800000);
    TAP_CHECK(mfx_time_parse("2026-11-23T19:00:00", &ms) == MFX_ERR);
    TAP_CHECK(mfx_time_parse("yesterday", &ms) == MFX_ERR);
    TAP_CHECK(mfx_time_parse("2026-11-23T19:00:00Zjunk", &ms) == MFX_ERR);
    return 0;
}

static bool v4(const char *a)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    inet_pton(AF_INET, a, &sin.sin_addr);
    return mfx_httpc_address_allowed((struct sockaddr *)&sin, false);
}

static bool v6(const char *a)
{
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
    inet_pton(AF_INET6, a, &sin6.sin6_addr);
    return mfx_httpc_address_allowed((struct sockaddr *)&sin6, false);
}

static int ssrf_rule(void)
{
    TAP_CHECK(!v4("127.0.0.1"));
    TAP_CHECK(!v4("10.1.2.3"));
    TAP_CHECK(!v4("172.20.0.1"));
    TAP_CHECK(!v4("192.168.1.1"));
    TAP_CHECK(!v4("169.254.169.254"));
    TAP_CHECK(!v4("100.64.0.1"));
    TAP_CHECK(!v4("0.0.0.0"));
    TAP_CHECK(!v4("224.0.0.1"));
    TAP_CHECK(v4("93.184.216.34"));
    TAP_CHECK(v4("172.32.0.1"));
    TAP_CHECK(!v6("::1"));
    TAP_CHECK(!v6("::"));
    TAP_CHECK(!v6("fe80::1"));
    TAP_CHECK(!v6("fd00:ec2::254"));
    TAP_CHECK(!v6("::ffff:127.0.0.1"));
    TAP_CHECK(!v6("64:ff9b::a00:1"));
    TAP_CHECK(v6("2606:2800:220:1:248:1893:25c8:1946"));
    struct sockaddr_in sin = { .sin_family = AF_INET };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    TAP_CHECK(mfx_httpc_address_allowed((struct sockaddr *)&sin, true));
    return 0;
}

static const struct tap_case cases[] = {
    { "RFC 3339 format and parse", rfc3339 },
    { "SSRF address rule", ssrf_rule },
};
TAP_MAIN(cases)
