/* SPDX-License-Identifier: Apache-2.0
 *
 * render.h: the pool of mintfax-render child processes (DESIGN §2).
 * Rendering parses untrusted files, so it never runs in the daemon: each
 * document goes to a child under rlimits (CPU seconds, address space,
 * output size) and a wall-clock limit, with the decrypted document on a
 * memfd as its input and another memfd for its TIFF-F output, so no
 * plaintext ever touches the disk. At most [render] workers children run at
 * once; the rest wait in a queue.
 */
#ifndef MFX_RENDER_H
#define MFX_RENDER_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;

struct mfx_render_opts {
    const char *resolution;     /* standard|fine|superfine */
    const char *page_size;      /* letter|a4|legal or NULL */
    const char *optimize_for;   /* text|photo|auto or NULL */
    bool ecm;                   /* g4 (ECM) or g3 2-D */
    const char *cover_json;     /* cover page fields, or NULL */
    int max_pages;
    bool count_only;            /* only open it and count its pages */
};

/* The outcome of one document. On success out_fd is a memfd holding the
 * TIFF-F of out_len bytes, valid during the callback (read or dup it). On failure
 * error is a catalogued fax outcome code (document_unreadable, ...) and
 * message says why for a person. */
struct mfx_render_result {
    bool ok;
    int pages;
    int out_fd;
    size_t out_len;
    const char *error;
    const char *subcode;
    const char *message;
};

typedef void (*mfx_render_cb)(void *arg, const struct mfx_render_result *r);

int mfx_render_init(struct event_base *base, const char *render_path);
/* Queues a document (copied); cb runs exactly once, later. Returns a
 * handle for mfx_render_cancel. */
void *mfx_render_start(const unsigned char *doc, size_t len, const struct mfx_render_opts *o,
                       mfx_render_cb cb, void *arg);
/* Drops a queued or running render; its callback does not run. (At
 * shutdown, mfx_render_shutdown runs every callback with error "shutdown".) */
void mfx_render_cancel(void *handle);
int mfx_render_busy(void);
void mfx_render_shutdown(void);
/* Opens a memfd holding data; returns the fd or -1. */
int mfx_memfd_from(const char *name, const void *data, size_t len);

#endif
