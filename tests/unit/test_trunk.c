/* SPDX-License-Identifier: Apache-2.0
 *
 * test_trunk.c: [trunk.NAME] sections (modules/carrier_sip/trunk.c):
 * defaults, every key, environment overrides MINTFAX_TRUNK_<NAME>_<KEY>,
 * a trunk given by the environment alone, and refusals with a message.
 */
#include "config.h"
#include "mfx.h"
#include "trunk.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char *write_conf(const char *text)
{
    char *path = strdup("/tmp/mfx-test-trunk-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) abort();
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) abort();
    close(fd);
    return path;
}

/* Loads text (NULL: no file); returns the count, or -1 with *err. */
static int load(const char *text, struct mfx_trunk **t, char **err)
{
    char *path = text ? write_conf(text) : NULL;
    int n = mfx_trunks_load(path, t, err);
    if (path) unlink(path);
    free(path);
    return n;
}

static int every_key(void)
{
    struct mfx_trunk *t;
    char *err;
    int n = load("[server]\nlisten = 1\n"
                 "[trunk.main]\nproxy = sip:sip.example.net:5070\nregistrar = sip:reg.example.net\n"
                 "username = alice\npassword = s3cret\noutbound_proxy = sip:edge.example.net\n"
                 "transport = tcp\nfrom_domain = example.net\ncaller_id_format = digits\ndial_plus = false\n"
                 "max_channels = 4\ncps = 2.5\nregister_expires = 600\n"
                 "[trunk.backup]\nproxy = sip:10.0.0.1\n",
                 &t, &err);
    TAP_CHECK(n == 2);
    TAP_CHECK_STR(t[0].name, "main");
    TAP_CHECK_STR(t[0].proxy_host, "sip.example.net:5070");
    TAP_CHECK_STR(t[0].registrar, "sip:reg.example.net");
    TAP_CHECK_STR(t[0].username, "alice");
    TAP_CHECK_STR(t[0].password, "s3cret");
    TAP_CHECK_STR(t[0].outbound_proxy, "sip:edge.example.net");
    TAP_CHECK_STR(t[0].from_domain, "example.net");
    TAP_CHECK(t[0].transport == MFX_TRUNK_TCP);
    TAP_CHECK(t[0].caller_id_format == MFX_CID_DIGITS);
    TAP_CHECK(!t[0].dial_plus && t[0].max_channels == 4 && t[0].cps == 2.5 && t[0].register_expires == 600);
    /* Defaults */
    TAP_CHECK_STR(t[1].proxy_host, "10.0.0.1");
    TAP_CHECK(t[1].registrar == NULL && t[1].username == NULL);
    TAP_CHECK(t[1].transport == MFX_TRUNK_UDP && t[1].dial_plus && t[1].max_channels == 30 && t[1].cps == 10);
    mfx_trunks_free(t, n);
    return 0;
}

static int env_overrides(void)
{
    struct mfx_trunk *t;
    char *err;
    setenv("MINTFAX_TRUNK_MY_TRUNK_PROXY", "sip:127.0.0.1:5999", 1);
    setenv("MINTFAX_TRUNK_MY_TRUNK_MAX_CHANNELS", "2", 1);
    setenv("MINTFAX_TRUNK_ENVONLY_PROXY", "sip:192.0.2.1", 1);
    int n = load("[trunk.my-trunk]\nproxy = sip:example.net\n", &t, &err);
    unsetenv("MINTFAX_TRUNK_MY_TRUNK_PROXY");
    unsetenv("MINTFAX_TRUNK_MY_TRUNK_MAX_CHANNELS");
    unsetenv("MINTFAX_TRUNK_ENVONLY_PROXY");
    TAP_CHECK(n == 2);
    TAP_CHECK_STR(t[0].name, "my-trunk");
    TAP_CHECK_STR(t[0].proxy_host, "127.0.0.1:5999");   /* the environment wins */
    TAP_CHECK(t[0].max_channels == 2);
    TAP_CHECK_STR(t[1].name, "envonly");
    TAP_CHECK_STR(t[1].proxy, "sip:192.0.2.1");
    mfx_trunks_free(t, n);
    TAP_CHECK(load(NULL, &t, &err) == 0);
    mfx_trunks_free(t, 0);
    return 0;
}

static int refusals(void)
{
    static const struct {
        const char *conf, *message;
    } cases[] = {
        { "[trunk.a]\nproxy = sip:x\nprox = sip:y\n", "[trunk.a] prox is not a trunk setting" },
        { "[trunk.a]\nregistrar = sip:x\n", "has no proxy" },
        { "[trunk.a]\nproxy = http://x\n", "is not a SIP URI" },
        { "[trunk.a]\nproxy = sip:user@x\n", "is not a SIP URI" },
        { "[trunk.a]\nproxy = sip:x\ntransport = sctp\n", "is not udp, tcp or tls" },
        { "[trunk.a]\nproxy = sip:x\nmax_channels = 0\n", "is out of range" },
        { "[trunk.a]\nproxy = sip:x\ncps = fast\n", "is not a number" },
        { "[trunk.a]\nproxy = sip:x\ndial_plus = maybe\n", "is not true or false" },
        { "[trunk.a]\nproxy = sip:x\ncaller_id_format = national\n", "is not e164 or digits" },
        { "[trunk.a b]\nproxy = sip:x\n", "a trunk name is" },
    };
    for (size_t i = 0; i < MFX_ARRAY_LEN(cases); i++) {
        struct mfx_trunk *t = NULL;
        char *err = NULL;
        TAP_CHECK(load(cases[i].conf, &t, &err) == -1);
        if (!err || !strstr(err, cases[i].message)) {
            printf("# case %zu: %s\n", i, err ? err : "(no message)");
            free(err);
            return 1;
        }
        free(err);
    }
    return 0;
}

/* The commented [trunk.main] example of conf/mintfax.conf, uncommented, is a
 * trunk this parser accepts (MFX_SRCDIR is set by make check). */
static int sample_config(void)
{
    const char *src = getenv("MFX_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/conf/mintfax.conf", src ? src : ".");
    FILE *f = fopen(path, "r");
    TAP_CHECK(f != NULL);
    char line[512], *text = mfx_strdup("");
    bool in_example = false;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "#[trunk.", 8)) in_example = true;
        if (!in_example || line[0] != '#' || line[1] == ' ') continue;
        char *next = mfx_asprintf("%s%s", text, line + 1);
        free(text);
        text = next;
    }
    fclose(f);
    struct mfx_trunk *t;
    char *err = NULL;
    int n = load(text, &t, &err);
    free(text);
    if (n != 1) printf("# %s\n", err ? err : "no trunk");
    TAP_CHECK(n == 1);
    TAP_CHECK_STR(t[0].name, "main");
    TAP_CHECK_STR(t[0].registrar, "sip:sip.example.net:5060");
    mfx_trunks_free(t, n);
    return 0;
}

static const struct tap_case cases[] = {
    { "the [trunk.main] example of conf/mintfax.conf is valid", sample_config },
    { "every key of a trunk, and the defaults", every_key },
    { "MINTFAX_TRUNK_<NAME>_<KEY> overrides; a trunk from the environment alone", env_overrides },
    { "bad keys and values are refused with a message", refusals },
};
TAP_MAIN(cases)
