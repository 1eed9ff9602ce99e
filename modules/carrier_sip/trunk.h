/* SPDX-License-Identifier: Apache-2.0
 *
 * trunk.h: SIP trunks from the settings file's [trunk.NAME] sections, each
 * key overridable by MINTFAX_TRUNK_<NAME>_<KEY> like every setting (a trunk
 * may also be given by the environment alone, starting with its PROXY).
 */
#ifndef MFX_TRUNK_H
#define MFX_TRUNK_H

#include <stdbool.h>

enum mfx_trunk_transport { MFX_TRUNK_UDP, MFX_TRUNK_TCP, MFX_TRUNK_TLS };
enum mfx_caller_id_format { MFX_CID_E164, MFX_CID_DIGITS };
/* T.38 policy (DESIGN §10): off: audio only; auto: switch when the far end
 * re-INVITEs to T.38 or when its fax tones are heard; always: also offer
 * T.38 next to audio in the first INVITE. */
enum mfx_t38_policy { MFX_T38_OFF, MFX_T38_AUTO, MFX_T38_ALWAYS };

struct mfx_trunk {
    char *name;
    char *proxy;                 /* sip:HOST[:PORT]: where INVITEs go (request-URI host) */
    char *proxy_host;            /* HOST[:PORT] of proxy */
    char *registrar;             /* sip:HOST[:PORT], or NULL: no REGISTER */
    char *username, *password;   /* digest credentials, or NULL */
    char *outbound_proxy;        /* sip:HOST[:PORT], or NULL */
    char *from_domain;           /* host part of From; default: the proxy host */
    enum mfx_trunk_transport transport;
    enum mfx_caller_id_format caller_id_format;
    bool dial_plus;              /* keep the + of E.164 in the request-URI */
    int max_channels;
    double cps;                  /* new calls per second at most */
    int register_expires;
    enum mfx_t38_policy t38;
    int t38_redundancy;          /* UDPTL redundancy depth we send, 0..4 */
    /* run-time state, owned by carrier_sip */
    int active;
    double next_call_at;         /* monotonic seconds of the next allowed INVITE */
    bool registered;
};

/* Reads every trunk from file (may be NULL) and the environment. Returns the
 * count (0 is allowed) and an array in *out, or -1 with *err (malloc'd). */
int mfx_trunks_load(const char *file, struct mfx_trunk **out, char **err);
void mfx_trunks_free(struct mfx_trunk *t, int n);

#endif
