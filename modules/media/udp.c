/* SPDX-License-Identifier: Apache-2.0
 *
 * udp.c: socket and random helpers shared by the RTP and UDPTL legs (see
 * udp.h).
 */
#include "config.h"
#include "udp.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define EVEN_PORT_TRIES 16

int mfx_udp_parse_addr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM,
                              .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
    char portstr[8];
    snprintf(portstr, sizeof portstr, "%d", port);
    struct addrinfo *res = NULL;
    if (!ip || getaddrinfo(ip, portstr, &hints, &res) != 0 || !res) return -1;
    if (res->ai_addrlen > sizeof *ss) {
        freeaddrinfo(res);
        return -1;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

bool mfx_udp_same_addr(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
    if (x->ss_family != y->ss_family) return false;
    if (x->ss_family == AF_INET) {
        const struct sockaddr_in *p = (const void *)x, *q = (const void *)y;
        return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
    }
    if (x->ss_family == AF_INET6) {
        const struct sockaddr_in6 *p = (const void *)x, *q = (const void *)y;
        return p->sin6_port == q->sin6_port && memcmp(&p->sin6_addr, &q->sin6_addr, sizeof p->sin6_addr) == 0;
    }
    return false;
}

int mfx_udp_port_of(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)(const void *)ss)->sin_port);
    if (ss->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)(const void *)ss)->sin6_port);
    return -1;
}

int mfx_udp_open(const char *local_ip, bool even, int *port_out)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (mfx_udp_parse_addr(local_ip, 0, &ss, &len) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = -1;
    for (int i = 0; i < (even ? EVEN_PORT_TRIES : 1); i++) {
        if (fd >= 0) close(fd);
        fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        struct sockaddr_storage bound;
        socklen_t blen = sizeof bound;
        if (bind(fd, (struct sockaddr *)&ss, len) != 0 ||
            getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        *port_out = mfx_udp_port_of(&bound);
        if (*port_out % 2 == 0) break;
    }
    return fd;
}

void mfx_udp_random_bytes(void *buf, size_t n)
{
    if (getrandom(buf, n, 0) == (ssize_t)n) return;
    /* No entropy source: still different per leg and per run. */
    uint64_t x = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)buf ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        ((uint8_t *)buf)[i] = (uint8_t)(x >> 56);
    }
}

uint64_t mfx_udp_rnd(uint64_t *state)
{
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return *state * 0x2545F4914F6CDD1DULL;
}

double mfx_udp_rnd_unit(uint64_t *state)
{
    return (double)(mfx_udp_rnd(state) >> 11) / 9007199254740992.0;   /* [0, 1) */
}
