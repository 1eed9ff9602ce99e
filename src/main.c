/* SPDX-License-Identifier: Apache-2.0
 *
 * main.c: mintfaxd's start-up and shutdown order. Start: settings, data
 * dir, database (migrations), first-start keys, carriers, scheduler
 * (recovery of interrupted attempts), HTTP. SIGTERM/SIGINT: stop accepting,
 * let calls in flight finish up to [server] shutdown_timeout, commit, close
 * the database. A SIGKILL at any moment loses nothing committed: every
 * state change is in sqlite before anything is reported.
 */
#include "config.h"
#include "mfx.h"
#include "audit.h"
#include "crypto.h"
#include "auth.h"
#include "dispatcher.h"
#include "fdlimit.h"
#include "errors.h"
#include "fax.h"
#include "httpc.h"
#include "http.h"
#include "idempotency.h"
#include "log.h"
#include "module.h"
#include "ratelimit.h"
#include "render.h"
#include "retention.h"
#include "scheduler.h"
#include "settings.h"
#include "spool.h"
#include "store.h"
#include "tenancy.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static struct event_base *base;
static struct event *drain_ev;
static int64_t drain_deadline;

static void usage(FILE *f)
{
    fprintf(f,
        "usage: mintfaxd [--data-dir DIR] [--listen HOST:PORT] [--config FILE] [--allow-broken-audit]\n"
        "       mintfaxd [--data-dir DIR] [--config FILE] rotate-master-key\n"
        "       mintfaxd --print-config | --print-errors-md | --version\n"
        "\n"
        "  --data-dir DIR      database, documents and keys (default [server] data_dir)\n"
        "  --listen HOST:PORT  HTTP API address (default [server] listen)\n"
        "  --config FILE       settings file (see conf/mintfax.conf); MINTFAX_<SECTION>_<KEY>\n"
        "                      environment variables override it\n"
        "  --allow-broken-audit  start even if a stored audit chain is broken (logged)\n"
        "  rotate-master-key   re-wrap every workspace data key under a new master key\n"
        "                      (run it with the daemon stopped; files are not re-encrypted)\n"
        "  --print-config      list every setting with its default and variable\n"
        "  --print-errors-md   print the error catalog as Markdown (docs/errors.md)\n");
}

/* Checks every 100 ms whether the calls in flight have ended. */
static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    int busy = mfx_scheduler_busy() + mfx_dispatcher_busy();
    if (busy == 0 || mfx_monotonic_ms() >= drain_deadline) {
        if (busy) mfx_warn("main", "%d calls or deliveries still in flight at shutdown; they resume after the next start", busy);
        event_base_loopexit(base, NULL);
        return;
    }
    struct timeval tv = { 0, 100000 };
    evtimer_add(drain_ev, &tv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what; (void)arg;
    if (drain_ev) {
        mfx_warn("main", "second signal: stopping now");
        event_base_loopexit(base, NULL);
        return;
    }
    mfx_info("main", "signal %d: shutting down (up to %.0fs for calls in flight)", (int)sig, mfx_cfg.shutdown_timeout);
    mfx_http_stop_accepting();
    mfx_scheduler_drain();
    drain_deadline = mfx_monotonic_ms() + (int64_t)(mfx_cfg.shutdown_timeout * 1000);
    drain_ev = evtimer_new(base, drain_tick, NULL);
    drain_tick(-1, 0, NULL);
}

/* mintfaxd rotate-master-key: a new master key in KEY.new, every data key
 * re-wrapped under it in one transaction, then KEY.new renamed over KEY. A
 * crash anywhere leaves a state the next start (or a second run) finishes. */
static int rotate_master_key(char **err)
{
    if (mfx_crypto_rotate_begin(err) != 0) return 1;
    int n = mfx_spool_rewrap_all(err);
    if (n < 0) return 1;
    if (mfx_crypto_rotate_commit(err) != 0) return 1;
    printf("mintfaxd: master key rotated; %d workspace data keys re-wrapped\n", n);
    mfx_info("crypto", "master key rotated; %d data keys re-wrapped", n);
    return 0;
}

static int ensure_dir(const char *dir, char **err)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        *err = mfx_asprintf("cannot create data dir %s: %s", dir, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        *err = mfx_asprintf("data dir %s is not a directory", dir);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "data-dir", required_argument, NULL, 'd' },
        { "listen", required_argument, NULL, 'l' },
        { "config", required_argument, NULL, 'c' },
        { "print-config", no_argument, NULL, 'P' },
        { "print-errors-md", no_argument, NULL, 'E' },
        { "version", no_argument, NULL, 'V' },
        { "allow-broken-audit", no_argument, NULL, 'A' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *data_dir = NULL, *listen = NULL, *config = NULL;
    bool allow_broken_audit = false, rotate = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:l:c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': data_dir = optarg; break;
        case 'l': listen = optarg; break;
        case 'c': config = optarg; break;
        case 'P': mfx_config_print(); return 0;
        case 'E': mfx_errors_print_markdown(); return 0;
        case 'V': printf("mintfaxd %s\n", PACKAGE_VERSION); return 0;
        case 'A': allow_broken_audit = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc && !strcmp(argv[optind], "rotate-master-key")) {
        rotate = true;
        optind++;
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }

    char *err = NULL;
    if (mfx_config_load(config, &err) != 0) {
        fprintf(stderr, "mintfaxd: %s\n", err);
        return 2;
    }
    if (data_dir) { free(mfx_cfg.data_dir); mfx_cfg.data_dir = mfx_strdup(data_dir); }
    if (listen) { free(mfx_cfg.listen); mfx_cfg.listen = mfx_strdup(listen); }
    mfx_log_level = mfx_log_level_parse(mfx_cfg.log_level);
    mfx_log_hook_libevent();
    signal(SIGPIPE, SIG_IGN);
    mfx_raise_fd_limit();
    umask(077);   /* the database, keys and documents are for mintfaxd alone */

    int rc = 1;
    if (ensure_dir(mfx_cfg.data_dir, &err) != 0) goto out;
    char *db_path = mfx_cfg.db_path[0] ? mfx_strdup(mfx_cfg.db_path) : mfx_asprintf("%s/mintfax.db", mfx_cfg.data_dir);

    evthread_use_pthreads();
    struct event_config *ecfg = event_config_new();
    base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    event_base_priority_init(base, 3);

    if (mfx_store_open(db_path, base, &err) != 0) { free(db_path); goto out; }
    free(db_path);
    char *key_path = mfx_cfg.master_key_file[0] ? mfx_strdup(mfx_cfg.master_key_file)
                                                : mfx_asprintf("%s/master.key", mfx_cfg.data_dir);
    int crc = mfx_crypto_init(key_path, &err);
    free(key_path);
    if (crc != 0 || mfx_spool_finish_rotation(&err) != 0) goto out;
    if (rotate) {
        rc = rotate_master_key(&err);
        goto out;
    }
    if (mfx_audit_verify_all(&err) != 0) {
        if (!allow_broken_audit && !mfx_cfg.allow_broken_audit) {
            char *msg = mfx_asprintf("%s; refusing to start (investigate, then start with --allow-broken-audit to continue)", err);
            free(err);
            err = msg;
            goto out;
        }
        mfx_error("audit", "%s; starting anyway as --allow-broken-audit says", err);
        free(err);
        err = NULL;
    }
    if (mfx_tenancy_bootstrap(mfx_cfg.data_dir, &err) != 0) goto out;
    if (mfx_module_register(&mfx_carrier_sandbox, &err) != 0) goto out;
    /* The SIP carrier binds its port when started: only when it is used. */
    if (!strcmp(mfx_cfg.live_carrier, "sip") && mfx_module_register(&mfx_carrier_sip, &err) != 0) goto out;
    if (mfx_module_start_all(base, &err) != 0) goto out;
    if (mfx_httpc_init(base) != 0) { err = mfx_strdup("libcurl failed to initialise"); goto out; }
    mfx_render_init(base, mfx_cfg.render_program);
    mfx_scheduler_start(base);
    mfx_dispatcher_start(base);
    mfx_retention_start(base);
    if (mfx_http_start(base, mfx_cfg.listen, &err) != 0) goto out;

    struct event *sigterm = evsignal_new(base, SIGTERM, on_signal, NULL);
    struct event *sigint = evsignal_new(base, SIGINT, on_signal, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    mfx_info("main", "mintfaxd %s listening on http://%s (data %s)", PACKAGE_VERSION, mfx_cfg.listen, mfx_cfg.data_dir);

    event_base_dispatch(base);

    mfx_tx_flush();
    event_free(sigterm);
    event_free(sigint);
    if (drain_ev) event_free(drain_ev);
    rc = 0;
out:
    if (err) {
        mfx_error("main", "%s", err);
        fprintf(stderr, "mintfaxd: %s\n", err);
        free(err);
    }
    mfx_dispatcher_stop();
    mfx_retention_stop();
    mfx_render_shutdown();         /* children are killed; uploads waiting are answered 503,
                                      faxes render again after the next start */
    mfx_http_free();
    mfx_httpc_shutdown();          /* before the scheduler: its jobs hear "shutdown" */
    mfx_module_stop_all();         /* calls still running are dropped, not reported */
    mfx_scheduler_free();
    mfx_store_close();
    mfx_spool_free();
    mfx_crypto_free();
    mfx_idempotency_free();
    mfx_ratelimit_free();
    mfx_auth_free();
    mfx_fax_cache_free();
    if (base) event_base_free(base);
    if (rc == 0) mfx_info("main", "stopped");
    mfx_config_free();
    return rc;
}
