/* SPDX-License-Identifier: Apache-2.0
 *
 * settings.h: every setting of mintfaxd, read from an INI file with GKeyFile and
 * overridden by MINTFAX_<SECTION>_<KEY> environment variables. The directive
 * table in config.c is the single list: conf/mintfax.conf documents each
 * entry, and a test checks the two agree (mintfaxd --print-config).
 */
#ifndef MFX_SETTINGS_H
#define MFX_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#define MFX_MAX_WEBHOOK_ATTEMPTS 20

struct mfx_config {
    /* [server] */
    char *listen;
    char *data_dir;
    char *public_url;
    char *account_key;
    char *log_level;
    int64_t max_json_body;
    int64_t max_upload;
    double shutdown_timeout;
    int log_phone_digits;
    /* [store] */
    char *db_path;
    /* [limits] */
    int64_t max_pages;
    int64_t max_tags;
    int64_t max_url_length;
    int64_t max_list_page;
    /* [sandbox] */
    double time_scale;
    int64_t sandbox_max_channels;
    int64_t sandbox_initial_credits;
    /* [billing] */
    int64_t price_sandbox;
    int64_t price_live;
    int64_t estimate_pages;
    int64_t low_balance_threshold;
    char *currency;
    /* [retry] */
    int64_t default_retries;
    double backoff_base;
    double backoff_cap;
    /* [ratelimit] */
    int64_t rate_requests;
    double rate_window;
    double poll_interval;
    /* [idempotency] */
    double idempotency_ttl;
    /* [documents] */
    bool allow_private;
    double fetch_timeout;
    int64_t fetch_max_redirects;
    /* [carrier] */
    char *live_carrier;
    /* [sip] */
    char *sip_listen;
    char *sip_media_address;
    char *sip_user_agent;
    double sip_ring_timeout;
    char *sip_tls_listen;
    char *sip_tls_cert_dir;
    bool sip_tls_verify;
    /* [media] */
    double media_speed;
    int64_t media_jitter_delay;
    /* [webhooks] */
    char *webhook_retry_schedule;
    double webhook_timeout;
    bool webhook_allow_private;
    double webhook_rotation_grace;
    int64_t webhook_max_in_flight;
    int64_t webhook_max_endpoints;
    /* [render] */
    char *render_program;
    int64_t render_workers;
    double render_timeout;
    double render_cpu_seconds;
    int64_t render_max_memory;
    int64_t render_max_output;
    /* [security] */
    char *master_key_file;
    /* [compliance] */
    bool require_baa_for_live;
    bool allow_broken_audit;
    /* [retention] */
    double retention_sweep_interval;
    double retention_day_seconds;
    /* parsed from webhook_retry_schedule: seconds before attempt n+1 */
    double webhook_delays[MFX_MAX_WEBHOOK_ATTEMPTS];
    int webhook_attempts;
};

extern struct mfx_config mfx_cfg;

/* Loads defaults, then FILE (may be NULL), then the environment, into mfx_cfg.
 * On error returns -1 with a message for a person in *err (caller frees). */
int mfx_config_load(const char *file, char **err);
/* Prints every directive as "section.key = default  # help" lines (stdout). */
void mfx_config_print(void);
void mfx_config_free(void);

#endif
