/* SPDX-License-Identifier: Apache-2.0
 *
 * fuzz_sdp.c: libFuzzer target for modules/sip/sdp.c. Every input is a
 * remote SDP, parsed with both accept lists (G.711 both laws, PCMA only);
 * whatever parsed must hold its invariants and survive a round trip: our
 * offer built from the stream parses back to the same stream, and our
 * answer to it (mirroring its m= lines) parses back with our stream at the
 * same place. Any broken invariant aborts, so libFuzzer keeps the input.
 * Run by tests/fuzz/run (see tests/fuzz/README.md).
 *
 * fuzz-sources: modules/sip/sdp.c src/mem.c
 * fuzz-pkgs: sofia-sip-ua
 */
#include "config.h"
#include "mfx.h"
#include "sdp.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "fuzz_sdp: %s:%d: %s\n", __FILE__, __LINE__, #cond); abort(); } } while (0)

static bool terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

/* The invariants of a stream the parser returned. */
static void check_media(const struct mfx_sdp_media *m, enum mfx_media_kind kind)
{
    CHECK(terminated(m->addr, sizeof m->addr));
    if (m->kind == MFX_MEDIA_NONE) return;
    CHECK(m->kind == kind);
    CHECK(m->addr[0] != '\0');
    CHECK(m->port >= 1 && m->port <= 65535);
    CHECK(m->ptime >= 10 && m->ptime <= 200);
    CHECK(m->dir >= MFX_SDP_SENDRECV && m->dir <= MFX_SDP_INACTIVE);
    if (kind == MFX_MEDIA_AUDIO) {
        CHECK(m->pt >= 0 && m->pt <= 127);
        CHECK(m->codec == MFX_PT_PCMU || m->codec == MFX_PT_PCMA);
        CHECK(m->dtmf_pt >= -1 && m->dtmf_pt <= 127);
    } else {
        CHECK(m->t38.version >= 0 && m->t38.version <= 127);
        CHECK(m->t38.max_datagram >= 0 && m->t38.max_datagram <= 65535);
        CHECK(m->t38.max_bit_rate >= 0 && m->t38.max_buffer >= 0);
    }
}

/* Builds our side for stream m (as an offer, or as the answer to p) and
 * checks that it parses back as the same stream. */
static void round_trip(const struct mfx_sdp_parsed *p, const struct mfx_sdp_media *m,
                       const int *accept, int n_accept, bool answer)
{
    int pts[1] = { m->pt }, codecs[1] = { m->codec };
    struct mfx_sdp_local l = {
        .addr = m->addr, .sess_id = 1, .sess_version = 2, .kind = m->kind, .port = m->port,
        .pts = pts, .n_pts = 1, .codecs = codecs, .ptime = m->ptime, .t38 = m->t38, .dir = m->dir,
        .offer = answer ? p : NULL,
    };
    char *text = mfx_sdp_build(&l);
    CHECK(text != NULL);
    struct mfx_sdp_parsed back;
    enum mfx_sdp_status rc = mfx_sdp_parse(text, strlen(text), accept, n_accept, &back);
    if (rc != MFX_SDP_OK) fprintf(stderr, "fuzz_sdp: %s on:\n%s", mfx_sdp_status_name(rc), text);
    CHECK(rc == MFX_SDP_OK);
    const struct mfx_sdp_media *b = m->kind == MFX_MEDIA_AUDIO ? &back.audio : &back.image;
    CHECK(b->kind == m->kind && b->port == m->port && strcmp(b->addr, m->addr) == 0);
    CHECK(b->dir == m->dir);
    if (m->kind == MFX_MEDIA_AUDIO) {
        CHECK(b->pt == m->pt && b->codec == m->codec && b->ptime == m->ptime);
        if (answer) CHECK(back.audio_index == p->audio_index);
    } else {
        CHECK(memcmp(&b->t38, &m->t38, sizeof m->t38) == 0);
        if (answer) CHECK(back.image_index == p->image_index);
    }
    CHECK(back.n_mlines == (answer ? p->n_mlines : 1));
    free(text);
}

static void one(const uint8_t *data, size_t size, const int *accept, int n_accept)
{
    struct mfx_sdp_parsed p;
    enum mfx_sdp_status rc = mfx_sdp_parse((const char *)data, size, accept, n_accept, &p);
    CHECK(mfx_sdp_status_name(rc) != NULL);
    CHECK(p.n_mlines >= 0 && p.n_mlines <= MFX_SDP_MAX_MLINES);
    for (int i = 0; i < p.n_mlines; i++) {
        CHECK(terminated(p.mlines[i].media, sizeof p.mlines[i].media));
        CHECK(terminated(p.mlines[i].proto, sizeof p.mlines[i].proto));
        CHECK(terminated(p.mlines[i].fmt, sizeof p.mlines[i].fmt));
    }
    check_media(&p.audio, MFX_MEDIA_AUDIO);
    check_media(&p.image, MFX_MEDIA_T38);
    CHECK((rc == MFX_SDP_OK) == (p.audio.kind != MFX_MEDIA_NONE || p.image.kind != MFX_MEDIA_NONE));
    CHECK((p.audio_index >= 0) == (p.audio.kind == MFX_MEDIA_AUDIO) && p.audio_index < p.n_mlines);
    CHECK((p.image_index >= 0) == (p.image.kind == MFX_MEDIA_T38) && p.image_index < p.n_mlines);
    if (rc != MFX_SDP_OK) return;
    if (p.audio.kind == MFX_MEDIA_AUDIO) {
        round_trip(&p, &p.audio, accept, n_accept, false);
        round_trip(&p, &p.audio, accept, n_accept, true);
    }
    if (p.image.kind == MFX_MEDIA_T38) {
        round_trip(&p, &p.image, accept, n_accept, false);
        round_trip(&p, &p.image, accept, n_accept, true);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int g711[] = { MFX_PT_PCMU, MFX_PT_PCMA }, pcma[] = { MFX_PT_PCMA };
    one(data, size, g711, 2);
    one(data, size, pcma, 1);
    return 0;
}
