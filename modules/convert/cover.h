/* SPDX-License-Identifier: Apache-2.0
 *
 * cover.h: fax cover pages, drawn with cairo and laid out with pango, put in
 * front of the document as page 1. Two templates: "standard" (recipient,
 * sender, subject, date, page count, message) and "hipaa", which adds the
 * confidentiality notice expected on faxes that carry protected health
 * information. The cover is given to mintfax-render as JSON:
 *   {"template": "standard"|"hipaa", "recipient_name", "recipient_number",
 *    "sender_name", "sender_number", "subject", "message", "date"}
 * every field optional; the date defaults to today (UTC).
 */
#ifndef MFX_COVER_H
#define MFX_COVER_H

#include <stddef.h>
#include "converter.h"

enum mfx_cover_template {
    MFX_COVER_STANDARD,
    MFX_COVER_HIPAA,
};

struct mfx_cover {
    enum mfx_cover_template tmpl;
    char *recipient_name, *recipient_number;
    char *sender_name, *sender_number;
    char *subject, *message, *date;     /* all malloc'd or NULL */
};

/* Parses the JSON text of a cover. Returns 0, or -1 with a message for
 * people in msg (bad JSON, unknown template, a field too long). Release
 * with mfx_cover_release. */
int mfx_cover_parse(const char *json, struct mfx_cover *c, char *msg, size_t msg_len);
void mfx_cover_release(struct mfx_cover *c);

/* Opens the cover as a one-page document on paper; total_pages is what
 * the cover announces (the cover included). Returns 0 or -1. */
int mfx_cover_doc_open(struct mfx_doc *doc,
                       const struct mfx_cover *c,
                       const struct mfx_paper *paper,
                       int total_pages,
                       struct mfx_render_error *err);

extern const struct mfx_converter mfx_conv_cover;

#endif
