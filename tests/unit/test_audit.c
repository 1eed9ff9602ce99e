/* SPDX-License-Identifier: Apache-2.0
 *
 * test_audit.c: the audit chain's line check on a real sqlite file: a chain
 * of entries verifies; a changed entry, a removed entry and a reordered pair
 * are each reported at the first broken entry; the database refuses UPDATE
 * and DELETE of entries.
 */
#include "config.h"
#include "mfx.h"
#include "audit.h"
#include "store.h"
#include "tap.h"

#include <stdlib.h>
#include <unistd.h>

static char db_path[64];

/* The published lines of env "env_t", in order; caller frees each and the array. */
static char **lines(int *n)
{
    sqlite3_stmt *st;
    sqlite3_prepare_v2(mfx_db(), "SELECT entry, hash FROM audit_log WHERE environment_id = 'env_t' ORDER BY seq", -1, &st, NULL);
    char **out = calloc(64, sizeof *out);
    *n = 0;
    while (sqlite3_step(st) == SQLITE_ROW && *n < 64) {
        const char *e = (const char *)sqlite3_column_text(st, 0);
        out[(*n)++] = mfx_asprintf("%.*s,\"hash\":\"%s\"}", (int)strlen(e) - 1, e, sqlite3_column_text(st, 1));
    }
    sqlite3_finalize(st);
    return out;
}

/* Returns the 1-based index of the first bad line, or 0 if all verify. */
static int first_break(char **l, int n)
{
    char prev[65] = MFX_AUDIT_GENESIS, next[65];
    const char *why;
    for (int i = 0; i < n; i++) {
        if (mfx_audit_check_line(l[i], prev, i + 1, next, &why) != 0) return i + 1;
        memcpy(prev, next, 65);
    }
    return 0;
}

static int chain(void)
{
    mfx_exec("INSERT INTO workspaces (id, name, created_at) VALUES ('ws_t', 't', 0);"
             "INSERT INTO environments (id, workspace_id, type, low_balance_threshold, created_at) VALUES ('env_t', 'ws_t', 'sandbox', 0, 0);");
    for (int i = 0; i < 5; i++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "i", json_object_new_int(i));
        mfx_tx_begin();
        mfx_audit("env_t", "key_x", "fax.created", "fax_y", d);
        mfx_tx_end(true);
    }
    int n;
    char **l = lines(&n);
    TAP_CHECK(n == 5);
    TAP_CHECK(first_break(l, n) == 0);
    char *err = NULL;
    TAP_CHECK(mfx_audit_verify_all(&err) == 0);

    char *saved = l[2];
    l[2] = mfx_strdup(saved);
    char *p = strstr(l[2], "\"i\":2");
    TAP_CHECK(p);
    p[4] = '9';                                    /* an edited entry */
    TAP_CHECK(first_break(l, n) == 3);
    free(l[2]);
    l[2] = saved;
    char *tmp = l[1]; l[1] = l[2]; l[2] = tmp;     /* two entries swapped */
    TAP_CHECK(first_break(l, n) == 2);
    tmp = l[1]; l[1] = l[2]; l[2] = tmp;
    free(l[3]);
    memmove(&l[3], &l[4], sizeof *l);              /* an entry removed */
    TAP_CHECK(first_break(l, n - 1) == 4);
    for (int i = 0; i < n - 1; i++) free(l[i]);
    free(l);
    return 0;
}

static int append_only(void)
{
    TAP_CHECK(sqlite3_exec(mfx_db(), "UPDATE audit_log SET entry = 'x' WHERE seq = 1", NULL, NULL, NULL) != SQLITE_OK);
    TAP_CHECK(sqlite3_exec(mfx_db(), "DELETE FROM audit_log WHERE seq = 1", NULL, NULL, NULL) != SQLITE_OK);
    /* Dropping the guard and editing is caught by the verifier. */
    sqlite3_exec(mfx_db(), "DROP TRIGGER audit_log_no_update;"
                 "UPDATE audit_log SET entry = replace(entry, 'key_x', 'key_z') WHERE seq = 2", NULL, NULL, NULL);
    char *err = NULL;
    TAP_CHECK(mfx_audit_verify_all(&err) == -1 && strstr(err, "entry 2"));
    free(err);
    return 0;
}

static const struct tap_case cases[] = {
    { "a chain verifies; an edit, a swap and a removal break it where they happen", chain },
    { "entries cannot be updated or deleted; a forced edit fails verification", append_only },
};

int main(void)
{
    snprintf(db_path, sizeof db_path, "/tmp/mfx-audit-%d.db", (int)getpid());
    char *err = NULL;
    if (mfx_store_open(db_path, NULL, &err) != 0) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    int rc = tap_run(cases, (int)MFX_ARRAY_LEN(cases));
    mfx_store_close();
    unlink(db_path);
    char *wal = mfx_asprintf("%s-wal", db_path), *shm = mfx_asprintf("%s-shm", db_path);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    return rc;
}
