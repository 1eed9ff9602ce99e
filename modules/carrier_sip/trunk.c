/* SPDX-License-Identifier: Apache-2.0
 *
 * trunk.c: reads [trunk.NAME] sections. The keys form a small table like the
 * core's directives (name, parser, default), so unknown keys and bad values
 * are refused with a message a person can act on, and the environment
 * overrides each key as MINTFAX_TRUNK_<NAME>_<KEY> (NAME upper-cased, '-' and
 * '.' as '_'). conf/mintfax.conf shows an example trunk.
 */
#include "config.h"
#include "trunk.h"
#include "mfx.h"

#include <ctype.h>
#include <glib.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

enum ktype { K_URI, K_STR, K_INT, K_DBL, K_BOOL, K_TRANSPORT, K_CID, K_T38 };

static const struct key {
    const char *name;
    enum ktype type;
    size_t offset;
    const char *def;
    double min, max;
} keys[] = {
#define O(f) offsetof(struct mfx_trunk, f)
    { "proxy", K_URI, O(proxy), NULL, 0, 0 },
    { "registrar", K_URI, O(registrar), NULL, 0, 0 },
    { "username", K_STR, O(username), NULL, 0, 0 },
    { "password", K_STR, O(password), NULL, 0, 0 },
    { "outbound_proxy", K_URI, O(outbound_proxy), NULL, 0, 0 },
    { "from_domain", K_STR, O(from_domain), NULL, 0, 0 },
    { "transport", K_TRANSPORT, O(transport), "udp", 0, 0 },
    { "caller_id_format", K_CID, O(caller_id_format), "e164", 0, 0 },
    { "dial_plus", K_BOOL, O(dial_plus), "true", 0, 0 },
    { "max_channels", K_INT, O(max_channels), "30", 1, 10000 },
    { "cps", K_DBL, O(cps), "10", 0.1, 1000 },
    { "register_expires", K_INT, O(register_expires), "3600", 60, 86400 },
    { "t38", K_T38, O(t38), "auto", 0, 0 },
    { "t38_redundancy", K_INT, O(t38_redundancy), "3", 0, 4 },
#undef O
};

static const struct key *key_find(const char *name)
{
    for (size_t i = 0; i < MFX_ARRAY_LEN(keys); i++)
        if (!strcmp(keys[i].name, name)) return &keys[i];
    return NULL;
}

/* A sip: or sips: URI with a host; returns a message or NULL. */
static const char *check_uri(const char *v)
{
    const char *h = !strncmp(v, "sip:", 4) ? v + 4 : !strncmp(v, "sips:", 5) ? v + 5 : NULL;
    if (!h || !*h || strchr(h, ' ') || strchr(h, '@') || strlen(v) > 200)
        return "is not a SIP URI like sip:HOST:PORT";
    return NULL;
}

/* Stores text as key k of t; returns a message or NULL. */
static const char *set_key(struct mfx_trunk *t, const struct key *k, const char *v)
{
    void *f = (char *)t + k->offset;
    char *end;
    switch (k->type) {
    case K_URI:
        if (check_uri(v)) return check_uri(v);
        /* fall through */
    case K_STR:
        free(*(char **)f);
        *(char **)f = *v ? mfx_strdup(v) : NULL;
        return NULL;
    case K_INT: {
        long x = strtol(v, &end, 10);
        if (end == v || *end) return "is not a whole number";
        if (x < k->min || x > k->max) return "is out of range";
        *(int *)f = (int)x;
        return NULL;
    }
    case K_DBL: {
        double x = strtod(v, &end);
        if (end == v || *end) return "is not a number";
        if (x < k->min || x > k->max) return "is out of range";
        *(double *)f = x;
        return NULL;
    }
    case K_BOOL:
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) *(bool *)f = true;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) *(bool *)f = false;
        else return "is not true or false";
        return NULL;
    case K_TRANSPORT:
        if (!strcmp(v, "udp")) *(enum mfx_trunk_transport *)f = MFX_TRUNK_UDP;
        else if (!strcmp(v, "tcp")) *(enum mfx_trunk_transport *)f = MFX_TRUNK_TCP;
        else if (!strcmp(v, "tls")) *(enum mfx_trunk_transport *)f = MFX_TRUNK_TLS;
        else return "is not udp, tcp or tls";
        return NULL;
    case K_CID:
        if (!strcmp(v, "e164")) *(enum mfx_caller_id_format *)f = MFX_CID_E164;
        else if (!strcmp(v, "digits")) *(enum mfx_caller_id_format *)f = MFX_CID_DIGITS;
        else return "is not e164 or digits";
        return NULL;
    case K_T38:
        if (!strcmp(v, "off")) *(enum mfx_t38_policy *)f = MFX_T38_OFF;
        else if (!strcmp(v, "auto")) *(enum mfx_t38_policy *)f = MFX_T38_AUTO;
        else if (!strcmp(v, "always")) *(enum mfx_t38_policy *)f = MFX_T38_ALWAYS;
        else return "is not off, auto or always";
        return NULL;
    }
    return "has an unknown type";
}

/* MINTFAX_TRUNK_<NAME>_ for a trunk name. */
static char *env_prefix(const char *name)
{
    char *p = mfx_asprintf("MINTFAX_TRUNK_%s_", name);
    for (char *c = p; *c; c++) *c = (*c == '-' || *c == '.') ? '_' : (char)toupper((unsigned char)*c);
    return p;
}

static bool valid_name(const char *n)
{
    if (!*n || strlen(n) > 32) return false;
    for (const char *c = n; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '-') return false;
    return true;
}

static struct mfx_trunk *add_trunk(struct mfx_trunk **arr, int *n, const char *name)
{
    for (int i = 0; i < *n; i++)
        if (!strcmp((*arr)[i].name, name)) return &(*arr)[i];
    *arr = realloc(*arr, sizeof **arr * (size_t)(*n + 1));
    if (!*arr) abort();
    struct mfx_trunk *t = &(*arr)[(*n)++];
    memset(t, 0, sizeof *t);
    t->name = mfx_strdup(name);
    for (size_t i = 0; i < MFX_ARRAY_LEN(keys); i++)
        if (keys[i].def) set_key(t, &keys[i], keys[i].def);
    return t;
}

/* Trunks named only by the environment: MINTFAX_TRUNK_<NAME>_PROXY, where
 * NAME has no '_' (it is read back lower-cased). */
static void env_only_trunks(struct mfx_trunk **arr, int *n)
{
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "MINTFAX_TRUNK_", 14)) continue;
        const char *name = *e + 14;
        const char *us = strchr(name, '_');
        if (!us || strncmp(us, "_PROXY=", 7)) continue;
        char lower[40];
        size_t len = (size_t)(us - name);
        if (len == 0 || len >= sizeof lower) continue;
        for (size_t i = 0; i < len; i++) lower[i] = (char)tolower((unsigned char)name[i]);
        lower[len] = 0;
        bool known = false;
        for (int i = 0; i < *n; i++) {
            char *p = env_prefix((*arr)[i].name);
            known |= !strncmp(*e, p, strlen(p));
            free(p);
        }
        if (!known && valid_name(lower)) add_trunk(arr, n, lower);
    }
}

static char *host_of(const char *uri)
{
    const char *h = strchr(uri, ':') + 1;
    size_t n = strcspn(h, ";?>");
    return g_strndup(h, n);
}

int mfx_trunks_load(const char *file, struct mfx_trunk **out, char **err)
{
    struct mfx_trunk *arr = NULL;
    int n = 0;
    *err = NULL;
    if (file) {
        GKeyFile *kf = g_key_file_new();
        if (!g_key_file_load_from_file(kf, file, G_KEY_FILE_NONE, NULL)) {
            g_key_file_free(kf);
            *err = mfx_asprintf("%s: cannot be read", file);
            return -1;
        }
        gchar **groups = g_key_file_get_groups(kf, NULL);
        for (gchar **g = groups; *g && !*err; g++) {
            if (strncmp(*g, "trunk.", 6)) continue;
            if (!valid_name(*g + 6)) {
                *err = mfx_asprintf("%s: [%s]: a trunk name is 1 to 32 letters, digits or '-'", file, *g);
                break;
            }
            struct mfx_trunk *t = add_trunk(&arr, &n, *g + 6);
            gchar **ks = g_key_file_get_keys(kf, *g, NULL, NULL);
            for (gchar **k = ks; ks && *k && !*err; k++) {
                const struct key *key = key_find(*k);
                if (!key) {
                    *err = mfx_asprintf("%s: [%s] %s is not a trunk setting", file, *g, *k);
                    break;
                }
                gchar *v = g_key_file_get_value(kf, *g, *k, NULL);
                g_strstrip(v);
                const char *msg = set_key(t, key, v);
                if (msg) *err = mfx_asprintf("%s: [%s] %s = \"%s\" %s", file, *g, *k, v, msg);
                g_free(v);
            }
            g_strfreev(ks);
        }
        g_strfreev(groups);
        g_key_file_free(kf);
    }
    if (!*err) env_only_trunks(&arr, &n);
    for (int i = 0; i < n && !*err; i++) {
        struct mfx_trunk *t = &arr[i];
        char *prefix = env_prefix(t->name);
        for (size_t k = 0; k < MFX_ARRAY_LEN(keys) && !*err; k++) {
            char *var = mfx_asprintf("%s%s", prefix, keys[k].name);
            for (char *c = var; *c; c++) *c = (char)toupper((unsigned char)*c);
            const char *v = getenv(var);
            const char *msg = v ? set_key(t, &keys[k], v) : NULL;
            if (msg) *err = mfx_asprintf("%s=\"%s\" %s", var, v, msg);
            free(var);
        }
        free(prefix);
        if (!*err && !t->proxy)
            *err = mfx_asprintf("[trunk.%s] has no proxy (proxy = sip:HOST:PORT)", t->name);
        if (!*err) {
            char *h = host_of(t->proxy);
            t->proxy_host = mfx_strdup(h);
            g_free(h);
        }
    }
    if (*err) {
        mfx_trunks_free(arr, n);
        return -1;
    }
    *out = arr;
    return n;
}

void mfx_trunks_free(struct mfx_trunk *t, int n)
{
    for (int i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].proxy_host);
        for (size_t k = 0; k < MFX_ARRAY_LEN(keys); k++)
            if (keys[k].type == K_URI || keys[k].type == K_STR) free(*(char **)((char *)&t[i] + keys[k].offset));
    }
    free(t);
}
