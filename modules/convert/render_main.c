/* SPDX-License-Identifier: Apache-2.0
 *
 * render_main.c: the mintfax-render program. The daemon runs it in a child
 * process per document (DESIGN §2): it limits itself first (guard.c), then
 * renders (pipeline.c) and prints exactly one line of JSON on stdout:
 *
 *   {"ok":true,"pages":3,"width":1728,"resolution":"fine","encoding":"g4",
 *    "bytes":51234,"type":"pdf","ms":120}                       exit 0
 *   {"ok":false,"error":"document_too_many_pages","reason":"max_pages",
 *    "message":"...","page":0}                                   exit 3
 *   {"ok":false,"error":"usage","message":"..."}                 exit 2
 *
 * error is one of document_unreadable, document_too_many_pages,
 * document_page_too_large, document_encrypted, document_unsupported;
 * reason says which check or limit (cpu_limit, memory_limit, output_limit,
 * truncated, password, ...). Diagnostics from libraries go to stderr.
 */
#include "config.h"
#include "bilevel.h"
#include "cover.h"
#include "geometry.h"
#include "guard.h"
#include "pipeline.h"
#include "render_error.h"
#include "t4enc.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <pango/pangocairo.h>

#define EXIT_RENDER_FAILED 3
#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: mintfax-render --in FILE (--out OUT.tif | --out-fd N) [options]\n"
    "  --resolution standard|fine|superfine   204x98, 204x196, 204x391 dpi (fine)\n"
    "  --page-size letter|a4|legal            cover page and images without a size (letter)\n"
    "  --optimize-for text|photo|auto         threshold, dither, or dither images only (auto)\n"
    "  --encoding g4|g3                       T.6 for ECM, or T.4 2-D (g4)\n"
    "  --max-pages N                          pages allowed, cover included (200)\n"
    "  --cover JSON|@FILE                     prepend a cover page (see cover.h)\n"
    "  --cpu-seconds S                        RLIMIT_CPU (60)\n"
    "  --max-memory BYTES                     RLIMIT_AS, suffixes K M G allowed (1G)\n"
    "  --max-output BYTES                     largest TIFF (100M)\n"
    "  --max-page-inches N                    longest page after fitting (40)\n"
    "  --max-image-pixels N                   largest raster page (150000000)\n"
    "  --preview-dir DIR                      also write DIR/page-N.png\n"
    "  --no-fsync                             name the TIFF without fsync (the caller syncs)\n";

/* Writes s as a JSON string (quotes included). */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the usage failure line and returns the usage exit status. */
static int usage_error(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("{\"ok\":false,\"error\":\"usage\",\"message\":", stdout);
    json_string(stdout, msg);
    fputs("}\n", stdout);
    fprintf(stderr, "mintfax-render: %s (see --help)\n", msg);
    return EXIT_USAGE;
}

/* Parses a byte count with an optional K, M or G suffix (powers of 1024). */
static int parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0))
        return -1;
    double mult = 1;
    if (*end == 'K' || *end == 'k')
        mult = 1024.0, end++;
    else if (*end == 'M' || *end == 'm')
        mult = 1024.0 * 1024, end++;
    else if (*end == 'G' || *end == 'g')
        mult = 1024.0 * 1024 * 1024, end++;
    if (*end || v * mult > 1e15)
        return -1;
    *out = (uint64_t)(v * mult);
    return 0;
}

static int parse_positive(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Reads a whole (small) file for --cover @FILE; malloc'd, NULL on error. */
static char *read_small_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rbe");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    fclose(f);
    if (!buf || n > max) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Frees pango's font map (it holds fonts for the life of the process), so
 * LeakSanitizer (CI builds) reports only real leaks. Not needed otherwise:
 * the process is about to exit. */
static void release_library_caches(void)
{
    if (mfx_guard_asan())
        pango_cairo_font_map_set_default(NULL);
}

/* LeakSanitizer reads this hook: fontconfig leaks a little while parsing
 * its configuration (FcInitLoadConfigAndFonts), whoever calls it, and its
 * frames cannot be unwound, so the library is named. We never call
 * fontconfig ourselves (pango and poppler do). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Prints the one-line JSON of a failure. */
static void print_failure(const struct mfx_render_error *err)
{
    printf("{\"ok\":false,\"error\":\"%s\"", mfx_render_code_name(err->code));
    if (err->reason) {
        fputs(",\"reason\":", stdout);
        json_string(stdout, err->reason);
    }
    fputs(",\"message\":", stdout);
    json_string(stdout, err->message[0] ? err->message : "the document could not be rendered");
    if (err->page > 0)
        printf(",\"page\":%d", err->page);
    fputs("}\n", stdout);
    fflush(stdout);
}

/* --count-only: opens the document under the same limits and reports its
 * page count without drawing anything (mintfaxd checks uploads this way, so
 * no untrusted file is parsed in the daemon itself). */
static int count_pages(const char *in, const struct mfx_paper *paper, double max_px, int max_pages)
{
    struct mfx_render_error err;
    memset(&err, 0, sizeof err);
    struct mfx_doc doc;
    memset(&doc, 0, sizeof doc);
    struct mfx_open_limits lim = { max_px, paper };
    if (mfx_doc_open(&doc, in, &lim, &err) < 0) {
        print_failure(&err);
        return EXIT_RENDER_FAILED;
    }
    if (doc.pages > max_pages) {
        mfx_render_fail(&err, MFX_RENDER_TOO_MANY_PAGES, "max_pages", "the document has %d pages; the limit is %d",
                        doc.pages, max_pages);
        mfx_doc_close(&doc);
        print_failure(&err);
        return EXIT_RENDER_FAILED;
    }
    printf("{\"ok\":true,\"pages\":%d,\"type\":\"%s\"}\n", doc.pages, doc.conv->name);
    fflush(stdout);
    mfx_doc_close(&doc);
    return 0;
}

int main(int argc, char **argv)
{
    double t0 = now_ms();
    const char *in = NULL, *out = NULL, *res_name = "fine", *paper_name = "letter",
               *opt_name = "auto", *enc_name = "g4", *cover_arg = NULL, *preview_dir = NULL;
    double max_pages = 200, cpu = 60, max_page_in = MFX_PAGE_MAX_INCHES_DEFAULT, max_px = 150e6;
    int durable = 1;
    int count_only = 0;
    uint64_t max_mem = 1ull << 30, max_out = 100ull << 20;

    enum { O_IN = 1, O_OUT, O_RES, O_PAPER, O_OPT, O_ENC, O_MAXP, O_COVER, O_CPU, O_MEM, O_OUTMAX,
           O_PREVIEW, O_PAGEIN, O_PIXELS, O_HELP, O_OUTFD, O_COUNT, O_NOSYNC };
    char out_fd_path[32];
    static const struct option longopts[] = {
        { "in", required_argument, NULL, O_IN },
        { "out", required_argument, NULL, O_OUT },
        { "out-fd", required_argument, NULL, O_OUTFD },
        { "count-only", no_argument, NULL, O_COUNT },
        { "resolution", required_argument, NULL, O_RES },
        { "page-size", required_argument, NULL, O_PAPER },
        { "optimize-for", required_argument, NULL, O_OPT },
        { "encoding", required_argument, NULL, O_ENC },
        { "max-pages", required_argument, NULL, O_MAXP },
        { "cover", required_argument, NULL, O_COVER },
        { "cpu-seconds", required_argument, NULL, O_CPU },
        { "max-memory", required_argument, NULL, O_MEM },
        { "max-output", required_argument, NULL, O_OUTMAX },
        { "preview-dir", required_argument, NULL, O_PREVIEW },
        { "max-page-inches", required_argument, NULL, O_PAGEIN },
        { "max-image-pixels", required_argument, NULL, O_PIXELS },
        { "no-fsync", no_argument, NULL, O_NOSYNC },
        { "help", no_argument, NULL, O_HELP },
        { NULL, 0, NULL, 0 },
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_IN: in = optarg; break;
        case O_OUT: out = optarg; break;
        case O_COUNT: count_only = 1; break;
        case O_OUTFD: {
            char *end;
            long fd = strtol(optarg, &end, 10);
            if (*end || fd < 3 || fd > 1023)
                return usage_error("--out-fd must be an open descriptor number from 3 to 1023");
            snprintf(out_fd_path, sizeof out_fd_path, "fd:%ld", fd);
            out = out_fd_path;
            break;
        }
        case O_RES: res_name = optarg; break;
        case O_PAPER: paper_name = optarg; break;
        case O_OPT: opt_name = optarg; break;
        case O_ENC: enc_name = optarg; break;
        case O_COVER: cover_arg = optarg; break;
        case O_PREVIEW: preview_dir = optarg; break;
        case O_MAXP:
            if (parse_positive(optarg, &max_pages) < 0 || max_pages != floor(max_pages) || max_pages > 1e6)
                return usage_error("--max-pages must be a whole number from 1 to 1000000");
            break;
        case O_CPU:
            if (parse_positive(optarg, &cpu) < 0)
                return usage_error("--cpu-seconds must be a positive number");
            break;
        case O_MEM:
            if (parse_bytes(optarg, &max_mem) < 0)
                return usage_error("--max-memory must be a byte count (e.g. 268435456 or 256M)");
            break;
        case O_OUTMAX:
            if (parse_bytes(optarg, &max_out) < 0)
                return usage_error("--max-output must be a byte count (e.g. 10485760 or 10M)");
            break;
        case O_PAGEIN:
            if (parse_positive(optarg, &max_page_in) < 0)
                return usage_error("--max-page-inches must be a positive number");
            break;
        case O_PIXELS:
            if (parse_positive(optarg, &max_px) < 0)
                return usage_error("--max-image-pixels must be a positive number");
            break;
        case O_NOSYNC: durable = 0; break;
        case O_HELP:
            fputs(usage_text, stdout);
            return 0;
        default:
            return usage_error("unknown or incomplete option: %s", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument: %s", argv[optind]);
    if (!in || (!out && !count_only))
        return usage_error("--in and --out (or --count-only) are required");

    struct mfx_render_opts o;
    memset(&o, 0, sizeof o);
    o.in_path = in;
    o.out_path = out;
    o.preview_dir = preview_dir;
    o.fmt = mfx_fax_format_by_name(res_name);
    o.paper = mfx_paper_by_name(paper_name);
    if (!o.fmt)
        return usage_error("--resolution must be standard, fine or superfine");
    if (!o.paper)
        return usage_error("--page-size must be letter, a4 or legal");
    if (mfx_optimize_parse(opt_name, &o.optimize) < 0)
        return usage_error("--optimize-for must be text, photo or auto");
    if (!strcmp(enc_name, "g4"))
        o.coding = MFX_T4_G4;
    else if (!strcmp(enc_name, "g3"))
        o.coding = MFX_T4_G3_2D;
    else
        return usage_error("--encoding must be g4 or g3");
    if (preview_dir) {
        struct stat st;
        if (stat(preview_dir, &st) < 0 || !S_ISDIR(st.st_mode))
            return usage_error("--preview-dir %s is not a directory", preview_dir);
    }
    o.max_pages = (int)max_pages;
    o.max_page_inches = max_page_in;
    o.max_output = max_out;
    o.max_image_pixels = max_px;
    o.durable = durable;

    /* Limits before the document is touched (the cover JSON is ours). */
    struct mfx_guard_limits lim = { cpu, max_mem, max_out, 4 * cpu + 10 };
    char msg[256];
    if (mfx_guard_apply(&lim, msg, sizeof msg) < 0)
        return usage_error("%s", msg);
    if (mfx_guard_asan())
        fprintf(stderr, "mintfax-render: built with AddressSanitizer: --max-memory not applied\n");

    if (count_only) {
        int crc = count_pages(in, o.paper, max_px, o.max_pages);
        release_library_caches();
        mfx_guard_done();
        return crc;
    }

    struct mfx_cover cover;
    memset(&cover, 0, sizeof cover);
    if (cover_arg) {
        char *text = cover_arg[0] == '@' ? read_small_file(cover_arg + 1, 64 * 1024) : NULL;
        if (cover_arg[0] == '@' && !text)
            return usage_error("cannot read the cover file %s", cover_arg + 1);
        int rc = mfx_cover_parse(text ? text : cover_arg, &cover, msg, sizeof msg);
        free(text);
        if (rc < 0)
            return usage_error("%s", msg);
        o.cover = &cover;
    }

    struct mfx_render_result res;
    struct mfx_render_error err;
    memset(&err, 0, sizeof err);
    int rc = mfx_render_document(&o, &res, &err);
    mfx_cover_release(&cover);
    release_library_caches();
    if (rc < 0) {
        print_failure(&err);
        mfx_guard_done();
        return EXIT_RENDER_FAILED;
    }
    printf("{\"ok\":true,\"pages\":%d,\"width\":%d,\"resolution\":\"%s\",\"encoding\":\"%s\","
           "\"bytes\":%llu,\"type\":\"%s\",\"cover\":%s,\"ms\":%.0f}\n",
           res.pages, MFX_FAX_WIDTH, o.fmt->name, enc_name, (unsigned long long)res.bytes, res.type,
           o.cover ? "true" : "false", now_ms() - t0);
    fflush(stdout);
    mfx_guard_done();
    return 0;
}
