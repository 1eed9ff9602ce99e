/* SPDX-License-Identifier: Apache-2.0
 *
 * phone.c: E.164 validation as DESIGN §4 states it: a plus, a non-zero
 * country digit, then 1 to 14 more digits, nothing else (no spaces, dashes
 * or brackets: clients normalise before sending).
 */
#include "config.h"
#include "phone.h"

#include <string.h>

bool mfx_phone_valid(const char *s)
{
    if (!s || s[0] != '+' || s[1] < '1' || s[1] > '9') return false;
    size_t n = strlen(s + 1);
    if (n < 2 || n > 15) return false;
    for (size_t i = 1; i <= n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}
