/* SPDX-License-Identifier: Apache-2.0
 *
 * fax.h: the fax resource: creating the row (with its hold and fax.queued
 * event) and rendering the fax object. The state machine that moves a fax
 * through its life is in job.h.
 */
#ifndef MFX_FAX_H
#define MFX_FAX_H

#include <json-c/json.h>
#include <stdbool.h>
#include "errors.h"
#include "mfx.h"

/* A validated request for a new fax. Strings are owned by the caller. */
struct mfx_fax_spec {
    const char *to;
    const char *from_number;        /* fnum_ id or NULL */
    const char *csid;
    const char *header_text;
    const char *resolution;         /* standard|fine|superfine */
    const char *page_size;          /* letter|a4|legal or NULL */
    const char *optimize_for;       /* text|photo|auto or NULL */
    json_object *cover_page;        /* {type, recipient_name, ...} or NULL; borrowed */
    json_object *tags;              /* object of strings; borrowed; may be NULL */
    const char *webhook_url;
    int max_attempts;               /* 1..11 */
    bool ecm;
    const char *t38;                /* auto|off */
    const char *document_id;        /* exactly one of document_id / document_url */
    const char *document_url;
    int pages;                      /* known page count, or 0 when not yet known */
    const char *resent_from;
};

/* Inserts the fax, holds its estimated cost and emits fax.queued, all in the
 * caller's unit. Returns MFX_OK with fax_id, or MFX_ERR with *err set
 * (insufficient_balance). */
int mfx_fax_insert(const char *env_id, bool live, const struct mfx_fax_spec *s, const char *idem_key,
                   char fax_id[MFX_ID_MAX], enum mfx_err *err);
/* The fax object (DESIGN §5), or NULL if env_id has no such fax. */
json_object *mfx_fax_json(const char *env_id, const char *fax_id);
/* The fax object as JSON text, from a cache that is valid only while the
 * database is unchanged (sqlite3_total_changes of the one writer
 * connection), so it can never serve a stale fax. NULL if env_id has no
 * such fax. The text belongs to the cache: copy it before the next call. */
const char *mfx_fax_json_text(const char *env_id, const char *fax_id, size_t *len);
void mfx_fax_cache_free(void);
/* Environment of a fax (any environment), for internal callers. */
int mfx_fax_env(const char *fax_id, char env_id[MFX_ID_MAX], bool *live);
/* True for delivered and failed. */
bool mfx_fax_status_terminal(const char *status);

#endif
