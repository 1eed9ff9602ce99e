/* SPDX-License-Identifier: Apache-2.0
 *
 * jitter.h: a fixed-delay jitter buffer for 20 ms G.711 frames (160 samples
 * at 8 kHz, one byte each). It never stretches or squeezes time: fax modems
 * hate that. Frames are placed by RTP timestamp (RFC 3550 §5.1) relative to
 * the stream, so reordered packets land in place; duplicates, late packets
 * and lost frames are counted. One tick of the media clock (media_clock.h)
 * takes one frame out. Not thread-safe: one owner (audio_fax.c).
 */
#ifndef MFX_MEDIA_JITTER_H
#define MFX_MEDIA_JITTER_H

#include <stddef.h>
#include <stdint.h>

#define MFX_JITTER_FRAME 160              /* samples (= G.711 bytes) per 20 ms frame */
#define MFX_JITTER_MAX_DELAY 250          /* frames: 5 s */
#define MFX_JITTER_MAX_CAPACITY 1000      /* frames: 20 s */
#define MFX_JITTER_LATE_RESYNC 10         /* consecutive late packets that mean "the timeline moved" */

struct mfx_jitter;

/* Creates a buffer that holds playout back by delay_frames ticks after the
 * first packet of a stream and keeps at most capacity_frames frames ahead of
 * the playout point. Returns NULL unless 0 <= delay_frames <=
 * MFX_JITTER_MAX_DELAY and delay_frames < capacity_frames <=
 * MFX_JITTER_MAX_CAPACITY. Free with mfx_jitter_free(). */
struct mfx_jitter *mfx_jitter_new(int delay_frames, int capacity_frames);
void mfx_jitter_free(struct mfx_jitter *jb);

/* The byte that fills the part of a frame no packet covered (packets shorter
 * than a frame, e.g. ptime 10). Default 0xFF, silence in G.711 mu-law; use
 * 0xD5 for A-law. */
void mfx_jitter_set_fill(struct mfx_jitter *jb, uint8_t fill);

/* Stores one packet's payload (n bytes = n samples starting at ts). The first
 * packet sets the stream's origin; reordered packets land by timestamp; bytes
 * already held are duplicates; packets behind the playout point are late and
 * dropped. A new SSRC, a jump of more than the capacity either way, or
 * MFX_JITTER_LATE_RESYNC late packets in a row restart the stream at this
 * packet (a resync: what was buffered is dropped and playout primes again).
 * seq is not used for placement (the timestamp is), only kept for logs. */
void mfx_jitter_put(struct mfx_jitter *jb, uint32_t ssrc, uint16_t seq, uint32_t ts, const uint8_t *payload,
                    size_t n);

/* Called once per 20 ms tick. Returns 1 with out[160] filled with the next
 * frame; 0 if that frame is missing (the caller uses fax_rx_fillin(..., 160));
 * -1 while priming (nothing received yet, or the delay has not yet elapsed
 * since the stream started or resynced: the caller feeds fill-in too). */
int mfx_jitter_get(struct mfx_jitter *jb, uint8_t out[MFX_JITTER_FRAME]);

/* received: every packet given to put (late and duplicate ones included);
 * played/missing: frames returned by get as 1/0; late, duplicate: packets
 * dropped as such; resyncs: restarts after the first packet. */
struct mfx_jitter_stats {
    uint64_t received, played, missing, late, duplicate, resyncs;
};
void mfx_jitter_stats(const struct mfx_jitter *jb, struct mfx_jitter_stats *out);

#endif
