/* SPDX-License-Identifier: Apache-2.0
 *
 * tap.h: a tiny TAP producer for the C unit tests. Each test file is a table
 * of named cases; each case reports one "ok N - name" line through
 * automake's TAP driver, so every case counts in the summary.
 */
#ifndef MFX_TAP_H
#define MFX_TAP_H

#include <stdio.h>
#include <string.h>

struct tap_case {
    const char *name;
    int (*fn)(void);      /* returns 0 on pass; use TAP_CHECK inside */
};

#define TAP_CHECK(cond) do { if (!(cond)) { \
    printf("# %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); return 1; } } while (0)
#define TAP_CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_)) { printf("# %s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, \
        a_ ? a_ : "(null)", b_ ? b_ : "(null)"); return 1; } } while (0)

static inline int tap_run(const struct tap_case *cases, int n)
{
    int failed = 0;
    printf("1..%d\n", n);
    for (int i = 0; i < n; i++) {
        int rc = cases[i].fn();
        printf("%s %d - %s\n", rc == 0 ? "ok" : "not ok", i + 1, cases[i].name);
        fflush(stdout);
        failed += rc != 0;
    }
    return failed ? 1 : 0;
}

#define TAP_MAIN(cases) int main(void) { return tap_run(cases, (int)(sizeof cases / sizeof cases[0])); }

#endif
