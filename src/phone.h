/* SPDX-License-Identifier: Apache-2.0
 *
 * phone.h: E.164 numbers (^\+[1-9]\d{1,14}$).
 */
#ifndef MFX_PHONE_H
#define MFX_PHONE_H

#include <stdbool.h>

bool mfx_phone_valid(const char *s);

#endif
