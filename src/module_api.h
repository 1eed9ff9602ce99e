/* SPDX-License-Identifier: Apache-2.0
 *
 * module_api.h: the contract between the core and a carrier module. A
 * carrier is a const table with a name, an ABI version and function
 * pointers; the core registers the built-in tables at start-up and picks one
 * by name (sandbox keys: "sandbox"; live keys: [carrier] live).
 *
 * A call runs asynchronously on the core's event loop: the carrier reports
 * progress and exactly one result through the callbacks it was given.
 */
#ifndef MFX_MODULE_API_H
#define MFX_MODULE_API_H

#include <stdbool.h>
#include "errors.h"
#include "job.h"

struct event_base;

#define MFX_CARRIER_ABI 1

/** \brief What the core asks a carrier to send. Strings live until the
 *  call's done callback returns. */
struct mfx_call_request {
    const char *fax_id;
    const char *to;                 /**< E.164 */
    const char *from;               /**< E.164 or NULL */
    const char *csid;               /**< our TSI, or NULL */
    const char *header_text;
    const char *resolution;         /**< standard|fine|superfine */
    int pages_fd;                   /**< the TIFF-F pages (a memfd, seekable); the carrier
                                         closes it when the call is over */
    int pages;                      /**< page count of the document */
    int attempt_number;             /**< 1 for the first attempt */
    bool ecm;
    /** The fallback ladder (DESIGN §10): how many earlier attempts of this
     *  fax failed in T.30 (training, pages, negotiation). The carrier takes
     *  that many steps down: T.38 off (if it uses T.38), ECM off, V.17 off. */
    int fallback;
    bool t38_off;                   /**< the fax asked for no T.38 (its t38 = off) */
};

/** \brief How a carrier reports back. ctx is the core's. */
struct mfx_call_callbacks {
    /** The far end answered: the fax is now in progress. */
    void (*answered)(void *ctx);
    /** The call ended; exactly once per send (also after cancel). */
    void (*done)(void *ctx, const struct mfx_outcome *outcome);
};

struct mfx_carrier {
    const char *name;
    int abi_version;                /**< MFX_CARRIER_ABI */
    const char *transport;          /**< for attempts[].transport */
    /** \brief Starts the carrier on the loop; returns 0 or -1 with *err. */
    int (*start)(struct event_base *base, char **err);
    /** \brief Stops it; calls still running are cancelled. May be NULL. */
    void (*stop)(void);
    /** \brief A refusal at submission (e.g. a sandbox magic number), checked
     *  before a fax is created: MFX_E__COUNT to accept. May be NULL. */
    enum mfx_err (*precheck)(const char *to);
    /** \brief Starts a call; returns an opaque handle for cancel. */
    void *(*send)(const struct mfx_call_request *rq, const struct mfx_call_callbacks *cb, void *ctx);
    /** \brief Cancels a call: its done callback still runs, with cancelled. */
    void (*cancel)(void *handle);
    /** \brief Calls in flight at most (channels). */
    int (*max_channels)(void);
};

/** \brief A numeric setting by section and key (the directive table of
 *  settings.c), so a module needs no core struct layout. NaN if unknown. */
double mfx_setting_number(const char *section, const char *key);

/** \brief A text setting by section and key; NULL if unknown. Owned by the
 *  settings, valid until they are freed. */
const char *mfx_setting_string(const char *section, const char *key);

/** \brief The settings file given with --config, or NULL: a module reads its
 *  own sections from it (carrier_sip: [trunk.NAME]). */
const char *mfx_config_file(void);

#endif
