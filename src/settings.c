/* SPDX-License-Identifier: Apache-2.0
 *
 * settings.c: the directive table. Each row names a section and key, a type,
 * bounds, a default and where the value lands in struct mfx_config; the
 * loader walks the table three times (defaults, file, environment) and
 * validates each value against its bounds, so there is no strcmp chain to
 * forget a setting in.
 */
#include "config.h"
#include "mfx.h"
#include "settings.h"
#include "log.h"
#include "module_api.h"

#include <ctype.h>
#include <errno.h>
#include <glib.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mfx_config mfx_cfg;

enum dtype { D_STR, D_INT, D_DBL, D_BOOL };

struct directive {
    const char *section;
    const char *key;
    enum dtype type;
    size_t offset;
    const char *def;        /* default, as text */
    double min, max;        /* bounds for numbers */
    const char *help;
};

#define F(field) offsetof(struct mfx_config, field)

static const struct directive directives[] = {
    { "server", "listen", D_STR, F(listen), "127.0.0.1:8080", 0, 0,
      "HOST:PORT the HTTP API listens on (--listen overrides)" },
    { "server", "data_dir", D_STR, F(data_dir), "./mintfax-data", 0, 0,
      "directory for the database, documents and keys (--data-dir overrides)" },
    { "server", "public_url", D_STR, F(public_url), "", 0, 0,
      "base URL used in docs links; empty: derived from the request's Host header" },
    { "server", "account_key", D_STR, F(account_key), "", 0, 0,
      "preset account key (mfx_acct_...); empty: one is generated at first start" },
    { "server", "log_level", D_STR, F(log_level), "info", 0, 0,
      "debug, info, warn or error" },
    { "server", "max_json_body", D_INT, F(max_json_body), "1048576", 1024, 67108864,
      "largest JSON request body in bytes (413 above)" },
    { "server", "max_upload", D_INT, F(max_upload), "52428800", 1024, 1073741824,
      "largest multipart upload in bytes (413 above)" },
    { "server", "shutdown_timeout", D_DBL, F(shutdown_timeout), "10", 0, 600,
      "seconds SIGTERM waits for calls in flight before closing" },
    { "server", "log_phone_digits", D_INT, F(log_phone_digits), "4", -1, 15,
      "digits of a phone number shown in logs (-1 shows all)" },
    { "store", "db_path", D_STR, F(db_path), "", 0, 0,
      "sqlite database file; empty: DATA_DIR/mintfax.db" },
    { "limits", "max_pages", D_INT, F(max_pages), "200", 1, 10000,
      "most pages one fax may have" },
    { "limits", "max_tags", D_INT, F(max_tags), "20", 0, 100,
      "most tags (metadata pairs) one fax may carry" },
    { "limits", "max_url_length", D_INT, F(max_url_length), "2048", 64, 65536,
      "longest document_url or webhook_url" },
    { "limits", "max_list_page", D_INT, F(max_list_page), "100", 1, 1000,
      "largest per_page of a list" },
    { "sandbox", "time_scale", D_DBL, F(time_scale), "1.0", 0, 1000,
      "multiplies simulated sandbox time (ring, page time, the 90 s of MFX-SLOW)" },
    { "sandbox", "max_channels", D_INT, F(sandbox_max_channels), "100", 1, 100000,
      "sandbox calls in flight at once" },
    { "sandbox", "initial_credits", D_INT, F(sandbox_initial_credits), "10000", 0, 1000000000,
      "credits a new sandbox environment starts with" },
    { "billing", "price_per_page_sandbox", D_INT, F(price_sandbox), "7", 0, 1000000,
      "credits per page sent in the sandbox" },
    { "billing", "price_per_page_live", D_INT, F(price_live), "7", 0, 1000000,
      "credits per page sent live" },
    { "billing", "estimate_pages", D_INT, F(estimate_pages), "1", 1, 10000,
      "pages held for a document whose page count is not known yet" },
    { "billing", "low_balance_threshold", D_INT, F(low_balance_threshold), "500", 0, 1000000000,
      "default threshold for balance.low of a new environment" },
    { "billing", "currency", D_STR, F(currency), "credits", 0, 0,
      "currency name shown on balances and costs" },
    { "retry", "default_retries", D_INT, F(default_retries), "3", 0, 10,
      "retries of a fax that does not say (environment settings override)" },
    { "retry", "backoff_base", D_DBL, F(backoff_base), "30", 0, 86400,
      "seconds before the first retry; doubles each retry" },
    { "retry", "backoff_cap", D_DBL, F(backoff_cap), "1800", 0, 86400,
      "longest wait between retries, seconds" },
    { "ratelimit", "requests", D_INT, F(rate_requests), "100", 1, 10000000,
      "requests one key may make per window" },
    { "ratelimit", "window", D_DBL, F(rate_window), "1", 0.001, 3600,
      "length of the sliding rate-limit window, seconds" },
    { "ratelimit", "poll_interval", D_DBL, F(poll_interval), "1", 0, 3600,
      "least seconds between two GETs of the same fax by one key (0: no limit)" },
    { "idempotency", "ttl", D_DBL, F(idempotency_ttl), "86400", 1, 2592000,
      "seconds an Idempotency-Key is remembered" },
    { "documents", "allow_private", D_BOOL, F(allow_private), "false", 0, 0,
      "let document_url reach loopback and private addresses (tests only)" },
    { "documents", "fetch_timeout", D_DBL, F(fetch_timeout), "30", 1, 600,
      "seconds a document_url fetch may take" },
    { "documents", "fetch_max_redirects", D_INT, F(fetch_max_redirects), "3", 0, 20,
      "redirects a document_url fetch follows" },
    { "carrier", "live", D_STR, F(live_carrier), "none", 0, 0,
      "carrier for live keys: none (live faxes fail with no_route) or sip" },
    { "sip", "listen", D_STR, F(sip_listen), "0.0.0.0:5060", 0, 0,
      "address and port the SIP user agent binds (UDP and TCP); trunks are [trunk.NAME] sections" },
    { "sip", "media_address", D_STR, F(sip_media_address), "", 0, 0,
      "IP address for RTP and SDP; empty: the listen address, or the one that routes to the trunk" },
    { "sip", "user_agent", D_STR, F(sip_user_agent), "mintfax/" PACKAGE_VERSION, 0, 0,
      "User-Agent header of every SIP request" },
    { "sip", "ring_timeout", D_DBL, F(sip_ring_timeout), "60", 1, 600,
      "seconds a call may ring before it is cancelled as no_answer" },
    { "sip", "tls_listen", D_STR, F(sip_tls_listen), "", 0, 0,
      "address and port for SIP over TLS (needed by trunks with transport = tls); empty: no TLS" },
    { "sip", "tls_cert_dir", D_STR, F(sip_tls_cert_dir), "", 0, 0,
      "directory with agent.pem (our key and certificate) and cafile.pem (the CAs we trust)" },
    { "sip", "tls_verify", D_BOOL, F(sip_tls_verify), "true", 0, 0,
      "verify the TLS certificate of the trunk against cafile.pem" },
    { "media", "speed", D_DBL, F(media_speed), "1", 1, 50,
      "media clock speed: 1 is real time; tests run faster (both ends must use the same)" },
    { "media", "jitter_delay", D_INT, F(media_jitter_delay), "60", 20, 400,
      "milliseconds of fixed jitter-buffer delay on received RTP" },
    { "webhooks", "retry_schedule", D_STR, F(webhook_retry_schedule), "0,10,100,1000", 0, 0,
      "seconds before each delivery attempt, comma separated; the count is the number of attempts" },
    { "webhooks", "timeout", D_DBL, F(webhook_timeout), "30", 0.1, 300,
      "seconds a receiver has to answer 2xx" },
    { "webhooks", "allow_private", D_BOOL, F(webhook_allow_private), "false", 0, 0,
      "let webhook URLs reach loopback and private addresses (tests only)" },
    { "webhooks", "rotation_grace", D_DBL, F(webhook_rotation_grace), "86400", 0, 2592000,
      "seconds the old secret still signs after rotate_secret" },
    { "webhooks", "max_in_flight", D_INT, F(webhook_max_in_flight), "256", 1, 100000,
      "deliveries in flight at once" },
    { "webhooks", "max_endpoints", D_INT, F(webhook_max_endpoints), "20", 1, 1000,
      "webhook endpoints one environment may have" },
    { "render", "program", D_STR, F(render_program), "", 0, 0,
      "the mintfax-render program; empty: the one beside mintfaxd (or in the build tree)" },
    { "render", "workers", D_INT, F(render_workers), "0", 0, 256,
      "render children at once; 0: one per core" },
    { "render", "timeout", D_DBL, F(render_timeout), "120", 1, 3600,
      "wall-clock seconds one document may take to render" },
    { "render", "cpu_seconds", D_DBL, F(render_cpu_seconds), "60", 1, 3600,
      "CPU seconds a render child may use (RLIMIT_CPU)" },
    { "render", "max_memory", D_INT, F(render_max_memory), "1073741824", 67108864, 68719476736,
      "address space of a render child in bytes (RLIMIT_AS)" },
    { "render", "max_output", D_INT, F(render_max_output), "104857600", 65536, 4294967296,
      "largest TIFF-F a render child may write, bytes" },
    { "security", "master_key_file", D_STR, F(master_key_file), "", 0, 0,
      "file with the master key that wraps the data keys (created 0600 if absent); empty: DATA_DIR/master.key" },
    { "compliance", "require_baa_for_live", D_BOOL, F(require_baa_for_live), "false", 0, 0,
      "refuse live faxes (403 baa_required) of workspaces that have not signed the BAA" },
    { "compliance", "allow_broken_audit", D_BOOL, F(allow_broken_audit), "false", 0, 0,
      "start even if a stored audit chain is broken (also --allow-broken-audit); the break is logged" },
    { "retention", "sweep_interval", D_DBL, F(retention_sweep_interval), "3600", 0.05, 86400,
      "seconds between two runs of the retention sweeper" },
    { "retention", "day_seconds", D_DBL, F(retention_day_seconds), "86400", 0.001, 86400,
      "length of a retention day in seconds (tests shorten it)" },
};

/* Parses "0,10,100,1000" into delays; returns the count or -1. */
static int parse_schedule(const char *text, double delays[MFX_MAX_WEBHOOK_ATTEMPTS])
{
    int n = 0;
    const char *p = text;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0 || v > 7 * 86400 || n == MFX_MAX_WEBHOOK_ATTEMPTS) return -1;
        delays[n++] = v;
        while (*end == ' ') end++;
        if (*end == ',') end++;
        else if (*end) return -1;
        p = end;
        while (*p == ' ') p++;
    }
    return n > 0 ? n : -1;
}

static void *field_ptr(const struct directive *d)
{
    return (char *)&mfx_cfg + d->offset;
}

/* Stores text as the directive's value; returns NULL or a message (static). */
static const char *set_value(const struct directive *d, const char *text)
{
    char *end;
    switch (d->type) {
    case D_STR: {
        char **p = field_ptr(d);
        free(*p);
        *p = mfx_strdup(text);
        return NULL;
    }
    case D_INT: {
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (end == text || *end || errno) return "is not a whole number";
        if (v < d->min || v > d->max) return "is out of range";
        *(int64_t *)field_ptr(d) = v;
        return NULL;
    }
    case D_DBL: {
        double v = strtod(text, &end);
        if (end == text || *end) return "is not a number";
        if (v < d->min || v > d->max) return "is out of range";
        *(double *)field_ptr(d) = v;
        return NULL;
    }
    case D_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes") || !strcmp(text, "1") || !strcmp(text, "on"))
            *(bool *)field_ptr(d) = true;
        else if (!strcmp(text, "false") || !strcmp(text, "no") || !strcmp(text, "0") || !strcmp(text, "off"))
            *(bool *)field_ptr(d) = false;
        else
            return "is not true or false";
        return NULL;
    }
    return "has an unknown type";
}

static void env_name(const struct directive *d, char out[128])
{
    snprintf(out, 128, "MINTFAX_%s_%s", d->section, d->key);
    for (char *p = out; *p; p++)
        *p = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
}

static bool known(const char *section, const char *key)
{
    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++)
        if (!strcmp(directives[i].section, section) && !strcmp(directives[i].key, key))
            return true;
    return false;
}

static char *config_file;

const char *mfx_config_file(void)
{
    return config_file;
}

const char *mfx_setting_string(const char *section, const char *key)
{
    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++) {
        const struct directive *d = &directives[i];
        if (d->type == D_STR && !strcmp(d->section, section) && !strcmp(d->key, key))
            return *(char **)field_ptr(d);
    }
    return NULL;
}

int mfx_config_load(const char *file, char **err)
{
    *err = NULL;
    free(config_file);
    config_file = file ? mfx_strdup(file) : NULL;
    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++)
        set_value(&directives[i], directives[i].def);

    if (file) {
        GKeyFile *kf = g_key_file_new();
        GError *gerr = NULL;
        if (!g_key_file_load_from_file(kf, file, G_KEY_FILE_NONE, &gerr)) {
            *err = mfx_asprintf("%s: %s", file, gerr->message);
            g_error_free(gerr);
            g_key_file_free(kf);
            return -1;
        }
        /* Unknown keys are an error: a typo must not silently keep a default. */
        gsize ngroups = 0;
        gchar **groups = g_key_file_get_groups(kf, &ngroups);
        for (gsize g = 0; g < ngroups && !*err; g++) {
            if (!strncmp(groups[g], "trunk.", 6)) continue;   /* read by carrier_sip */
            gsize nkeys = 0;
            gchar **keys = g_key_file_get_keys(kf, groups[g], &nkeys, NULL);
            for (gsize k = 0; k < nkeys && !*err; k++)
                if (!known(groups[g], keys[k]))
                    *err = mfx_asprintf("%s: [%s] %s is not a setting", file, groups[g], keys[k]);
            g_strfreev(keys);
        }
        g_strfreev(groups);
        for (size_t i = 0; i < MFX_ARRAY_LEN(directives) && !*err; i++) {
            const struct directive *d = &directives[i];
            gchar *v = g_key_file_get_value(kf, d->section, d->key, NULL);
            if (!v) continue;
            g_strstrip(v);
            const char *msg = set_value(d, v);
            if (msg) *err = mfx_asprintf("%s: [%s] %s = \"%s\" %s", file, d->section, d->key, v, msg);
            g_free(v);
        }
        g_key_file_free(kf);
        if (*err) return -1;
    }

    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++) {
        char name[128];
        env_name(&directives[i], name);
        const char *v = getenv(name);
        if (!v) continue;
        const char *msg = set_value(&directives[i], v);
        if (msg) {
            *err = mfx_asprintf("%s=\"%s\" %s", name, v, msg);
            return -1;
        }
    }
    if (mfx_log_level_parse(mfx_cfg.log_level) < 0) {
        *err = mfx_asprintf("[server] log_level = \"%s\" is not debug, info, warn or error", mfx_cfg.log_level);
        return -1;
    }
    mfx_cfg.webhook_attempts = parse_schedule(mfx_cfg.webhook_retry_schedule, mfx_cfg.webhook_delays);
    if (mfx_cfg.webhook_attempts < 0) {
        *err = mfx_asprintf("[webhooks] retry_schedule = \"%s\" is not 1 to %d comma-separated seconds (0 to 604800)",
                            mfx_cfg.webhook_retry_schedule, MFX_MAX_WEBHOOK_ATTEMPTS);
        return -1;
    }
    if (strcmp(mfx_cfg.live_carrier, "none") && strcmp(mfx_cfg.live_carrier, "sip")) {
        *err = mfx_asprintf("[carrier] live = \"%s\" is not none or sip", mfx_cfg.live_carrier);
        return -1;
    }
    return 0;
}

void mfx_config_print(void)
{
    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++) {
        const struct directive *d = &directives[i];
        char name[128];
        env_name(d, name);
        printf("%s.%s = %s\t%s\t# %s\n", d->section, d->key, d->def, name, d->help);
    }
}

double mfx_setting_number(const char *section, const char *key)
{
    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++) {
        const struct directive *d = &directives[i];
        if (strcmp(d->section, section) || strcmp(d->key, key)) continue;
        if (d->type == D_INT) return (double)*(int64_t *)field_ptr(d);
        if (d->type == D_DBL) return *(double *)field_ptr(d);
        if (d->type == D_BOOL) return *(bool *)field_ptr(d) ? 1 : 0;
    }
    return NAN;
}

void mfx_config_free(void)
{
    free(config_file);
    config_file = NULL;
    for (size_t i = 0; i < MFX_ARRAY_LEN(directives); i++)
        if (directives[i].type == D_STR) {
            char **p = field_ptr(&directives[i]);
            free(*p);
            *p = NULL;
        }
}
