/* SPDX-License-Identifier: Apache-2.0
 *
 * udp.h: what the media legs (audio_fax.c: RTP, t38_fax.c: UDPTL) share
 * about their UDP sockets: numeric addresses, the one source they accept,
 * binding an ephemeral port (even for RTP, RFC 3550 §11), and a small
 * seeded generator for impairment decisions in tests and benchmarks.
 */
#ifndef MFX_UDP_H
#define MFX_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Parses a numeric IPv4/IPv6 address and port; 0, or -1 if not numeric. */
int mfx_udp_parse_addr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);
/* Same family, address and port. */
bool mfx_udp_same_addr(const struct sockaddr_storage *x, const struct sockaddr_storage *y);
/* The port of ss, or -1 for another family. */
int mfx_udp_port_of(const struct sockaddr_storage *ss);
/* Opens a nonblocking UDP socket on local_ip with an ephemeral port; with
 * even, tries up to 16 times for an even one. Returns the fd and sets
 * *port_out, or -1 (errno set). */
int mfx_udp_open(const char *local_ip, bool even, int *port_out);

/* Fills buf from getrandom, or a time/pid mix when there is no entropy. */
void mfx_udp_random_bytes(void *buf, size_t n);
/* xorshift64*: the next value of the generator in *state (non-zero). */
uint64_t mfx_udp_rnd(uint64_t *state);
/* The next value as a double in [0, 1). */
double mfx_udp_rnd_unit(uint64_t *state);

#endif
