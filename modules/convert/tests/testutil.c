/* SPDX-License-Identifier: Apache-2.0
 *
 * testutil.c: see testutil.h. Only for the tests: errors print a TAP
 * comment and return a failure the caller checks.
 */
#include "config.h"
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <dirent.h>
#include <tiffio.h>
#include <unistd.h>

static char scratch[PATH_MAX];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0)
        remove(path);
    return 0;
}

const char *tu_scratch(const char *name)
{
    const char *b = getenv("MFX_BUILDDIR");
    if (b && *b)
        snprintf(scratch, sizeof scratch, "%s/modules/convert/tests/%s.tmp", b, name);
    else
        snprintf(scratch, sizeof scratch, "/tmp/mfx-%s.%ld.tmp", name, (long)getpid());
    mkdir(scratch, 0755);
    nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return scratch;
}

const char *tu_path(const char *file)
{
    static char bufs[16][PATH_MAX + 64];
    static int i;
    char *b = bufs[i++ & 15];
    snprintf(b, sizeof bufs[0], "%s/%s", scratch, file);
    return b;
}

const char *tu_render_bin(void)
{
    static char bin[PATH_MAX + 64];
    const char *b = getenv("MFX_BUILDDIR");
    if (b && *b) {
        snprintf(bin, sizeof bin, "%s/modules/convert/mintfax-render", b);
        return bin;
    }
    /* Next to the tests directory this program runs from. */
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return "mintfax-render";
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    snprintf(bin, sizeof bin, "%s/../mintfax-render", self);
    return bin;
}

int tu_render(char *json, size_t json_len, const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = tu_render_bin();
    for (int i = 0; args[i] && n < 63; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], json + len, json_len - 1 - len)) > 0 && len + 1 < json_len)
        len += (size_t)r;
    json[len] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st)) {
        printf("# mintfax-render died by signal %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        return -1;
    }
    return WEXITSTATUS(st);
}

const char *tu_json_get(const char *json, const char *key)
{
    static char val[1024];
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p)
        return NULL;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < sizeof val; p++) {
            if (*p == '\\' && p[1])
                p++;
            val[n++] = *p;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < sizeof val)
            val[n++] = *p++;
    }
    val[n] = '\0';
    return val;
}

static void quiet(const char *m, const char *f, va_list ap)
{
    (void)m;
    (void)f;
    (void)ap;
}

void tu_quiet_libtiff(void)
{
    TIFFSetWarningHandler(quiet);
}

int tu_read_tiff(const char *path, struct tu_page **pages)
{
    tu_quiet_libtiff();
    *pages = NULL;
    TIFF *t = TIFFOpen(path, "r");
    if (!t)
        return 0;
    int n = 0, cap = 0;
    struct tu_page *v = NULL;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = realloc(v, (size_t)cap * sizeof *v);
        }
        struct tu_page *pg = &v[n];
        memset(pg, 0, sizeof *pg);
        uint32_t w = 0, h = 0;
        TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
        TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
        TIFFGetField(t, TIFFTAG_XRESOLUTION, &pg->xres);
        TIFFGetField(t, TIFFTAG_YRESOLUTION, &pg->yres);
        TIFFGetField(t, TIFFTAG_COMPRESSION, &pg->compression);
        TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &pg->photometric);
        TIFFGetFieldDefaulted(t, TIFFTAG_FILLORDER, &pg->fillorder);
        TIFFGetField(t, TIFFTAG_PAGENUMBER, &pg->page_no, &pg->page_total);
        pg->width = (int)w;
        pg->height = (int)h;
        pg->px = malloc((size_t)w * h);
        uint8_t *line = malloc((size_t)TIFFScanlineSize(t));
        int bad = !pg->px || !line;
        for (uint32_t y = 0; !bad && y < h; y++) {
            if (TIFFReadScanline(t, line, y, 0) < 0) {
                bad = 1;
                break;
            }
            for (uint32_t x = 0; x < w; x++) {
                int bit = (line[x >> 3] >> (7 - (x & 7))) & 1;
                pg->px[(size_t)y * w + x] =
                    (uint8_t)(pg->photometric == PHOTOMETRIC_MINISWHITE ? bit : !bit);
            }
        }
        free(line);
        n++;
        if (bad) {
            tu_pages_free(v, n);
            TIFFClose(t);
            return 0;
        }
    } while (TIFFReadDirectory(t));
    TIFFClose(t);
    *pages = v;
    return n;
}

void tu_pages_free(struct tu_page *pages, int n)
{
    for (int i = 0; i < n; i++)
        free(pages[i].px);
    free(pages);
}

static int read_pgm(const char *path, struct tu_grey *g)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    int w, h, maxv;
    char magic[3] = { 0 };
    if (fscanf(f, "%2s", magic) != 1 || strcmp(magic, "P5")) {
        fclose(f);
        return -1;
    }
    /* Ghostscript writes a comment line after the magic. */
    int c;
    while ((c = fgetc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r' || c == '#'))
        if (c == '#')
            while ((c = fgetc(f)) != EOF && c != '\n') {
            }
    ungetc(c, f);
    if (fscanf(f, "%d %d %d", &w, &h, &maxv) != 3 || maxv != 255) {
        fclose(f);
        return -1;
    }
    fgetc(f);
    g->width = w;
    g->height = h;
    g->px = malloc((size_t)w * h);
    size_t got = g->px ? fread(g->px, 1, (size_t)w * h, f) : 0;
    fclose(f);
    return got == (size_t)w * h ? 0 : -1;
}

int tu_reference(const char *pdf, int page, double rx, double ry, struct tu_grey *out)
{
    char res[64], first[32], last[32], outfile[PATH_MAX + 32];
    snprintf(res, sizeof res, "-r%.6fx%.6f", rx, ry);
    snprintf(first, sizeof first, "-dFirstPage=%d", page);
    snprintf(last, sizeof last, "-dLastPage=%d", page);
    snprintf(outfile, sizeof outfile, "-sOutputFile=%s/ref.pgm", scratch);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execlp("gs", "gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pgmraw", "-dUseCropBox",
               "-dTextAlphaBits=1", "-dGraphicsAlphaBits=1", res, first, last, outfile, pdf, (char *)NULL);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("# gs failed\n");
        return -1;
    }
    int rc = read_pgm(outfile + strlen("-sOutputFile="), out);
    unlink(outfile + strlen("-sOutputFile="));
    return rc;
}

int tu_count_files(const char *prefix)
{
    DIR *d = opendir(scratch);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (!strncmp(e->d_name, prefix, strlen(prefix)))
            n++;
    closedir(d);
    return n;
}

/* ---- PDF writer ---- */

struct tu_obj {
    char *data;
    size_t len;
};

struct tu_pdf {
    struct tu_obj *objs;    /* objs[i] is object i + 1 */
    int n, cap;
};

struct tu_pdf *tu_pdf_new(void)
{
    return calloc(1, sizeof(struct tu_pdf));
}

static int add(struct tu_pdf *p, char *data, size_t len)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->objs = realloc(p->objs, (size_t)p->cap * sizeof *p->objs);
    }
    p->objs[p->n].data = data;
    p->objs[p->n].len = len;
    return ++p->n;
}

int tu_pdf_obj(struct tu_pdf *p, const char *body)
{
    char *d = strdup(body);
    return add(p, d, strlen(d));
}

int tu_pdf_stream(struct tu_pdf *p, const char *dict, const void *data, size_t len)
{
    char head[512];
    int hl = snprintf(head, sizeof head, "<< %s /Length %zu >>\nstream\n", dict, len);
    const char *tail = "\nendstream";
    char *d = malloc((size_t)hl + len + strlen(tail));
    memcpy(d, head, (size_t)hl);
    memcpy(d + hl, data, len);
    memcpy(d + hl + len, tail, strlen(tail));
    return add(p, d, (size_t)hl + len + strlen(tail));
}

int tu_pdf_reserve(struct tu_pdf *p)
{
    return add(p, NULL, 0);
}

void tu_pdf_set(struct tu_pdf *p, int num, const char *body)
{
    free(p->objs[num - 1].data);
    p->objs[num - 1].data = strdup(body);
    p->objs[num - 1].len = strlen(body);
}

int tu_pdf_write(struct tu_pdf *p, const char *path, int root, const char *trailer_extra)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    long *off = malloc((size_t)(p->n + 1) * sizeof *off);
    fputs("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", f);
    for (int i = 0; i < p->n; i++) {
        off[i] = ftell(f);
        fprintf(f, "%d 0 obj\n", i + 1);
        fwrite(p->objs[i].data, 1, p->objs[i].len, f);
        fputs("\nendobj\n", f);
    }
    long xref = ftell(f);
    fprintf(f, "xref\n0 %d\n0000000000 65535 f \n", p->n + 1);
    for (int i = 0; i < p->n; i++)
        fprintf(f, "%010ld 00000 n \n", off[i]);
    fprintf(f, "trailer\n<< /Size %d /Root %d 0 R %s >>\nstartxref\n%ld\n%%%%EOF\n", p->n + 1, root,
            trailer_extra ? trailer_extra : "", xref);
    free(off);
    return fclose(f) == 0 ? 0 : -1;
}

void tu_pdf_free(struct tu_pdf *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->n; i++)
        free(p->objs[i].data);
    free(p->objs);
    free(p);
}

const char *tu_marks_content(double x0, double y0, double x1, double y1, int big_corner)
{
    static char buf[4096];
    double s[4];
    for (int i = 0; i < 4; i++)
        s[i] = i == big_corner ? 36 : 18;
    snprintf(buf, sizeof buf,
             "0 g\n"
             "%.2f %.2f %.2f %.2f re f\n"
             "%.2f %.2f %.2f %.2f re f\n"
             "%.2f %.2f %.2f %.2f re f\n"
             "%.2f %.2f %.2f %.2f re f\n"
             "BT /F1 24 Tf %.2f %.2f Td (MINTFAX TEST PAGE) Tj ET\n"
             "BT /F1 12 Tf %.2f %.2f Td 14 TL\n"
             "(The quick brown fox jumps over the lazy dog. 0123456789) Tj T*\n"
             "(Fax pages are 1728 pixels wide at 204 dpi, 98, 196 or 391 dpi down.) Tj T*\n"
             "(Nothing of this page may be cut off: the corners carry marks.) Tj ET\n"
             "2 w %.2f %.2f m %.2f %.2f l S\n",
             x0, y0, s[0], s[0],
             x1 - s[1], y0, s[1], s[1],
             x1 - s[2], y1 - s[2], s[2], s[2],
             x0, y1 - s[3], s[3], s[3],
             x0 + 60, y1 - 90,
             x0 + 60, y1 - 130,
             x0 + 60, y1 - 100, x1 - 60, y1 - 100);
    return buf;
}

/* A 256 x 256 grey image with smooth shading and detail, like a photo. */
static uint8_t *photo_pixels(void)
{
    uint8_t *px = malloc(256 * 256);
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) {
            double v = 128 + 90 * sin(x / 23.0) * cos(y / 31.0) + 30 * sin((x + y) / 9.0) +
                       (x - 128) * 0.2;
            px[y * 256 + x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    return px;
}

int tu_write_pdf(const char *path, const struct tu_pdf_page *pages, int n)
{
    struct tu_pdf *p = tu_pdf_new();
    int catalog = tu_pdf_reserve(p);
    int tree = tu_pdf_reserve(p);
    int font = tu_pdf_obj(p, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    uint8_t *img = photo_pixels();
    int image = tu_pdf_stream(p, "/Type /XObject /Subtype /Image /Width 256 /Height 256 "
                                 "/ColorSpace /DeviceGray /BitsPerComponent 8", img, 256 * 256);
    free(img);
    size_t kids_len = (size_t)n * 16 + 64;
    char *kids = malloc(kids_len);
    size_t kl = 0;
    kids[0] = '\0';
    char body[1024];
    for (int i = 0; i < n; i++) {
        const struct tu_pdf_page *pg = &pages[i];
        const char *c = pg->content ? pg->content : tu_marks_content(0, 0, pg->w, pg->h, 3);
        int content = tu_pdf_stream(p, "", c, strlen(c));
        char crop[128] = "";
        if (pg->crop[2] > 0)
            snprintf(crop, sizeof crop, "/CropBox [%.2f %.2f %.2f %.2f]", pg->crop[0], pg->crop[1],
                     pg->crop[2], pg->crop[3]);
        snprintf(body, sizeof body,
                 "<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %.2f %.2f] %s /Rotate %d "
                 "/Resources << /Font << /F1 %d 0 R >> /XObject << /Im1 %d 0 R >> >> /Contents %d 0 R >>",
                 tree, pg->w, pg->h, crop, pg->rotate, font, image, content);
        int page = tu_pdf_obj(p, body);
        kl += (size_t)snprintf(kids + kl, kids_len - kl, "%d 0 R ", page);
    }
    size_t tl = kl + 128;
    char *treebody = malloc(tl);
    snprintf(treebody, tl, "<< /Type /Pages /Kids [%s] /Count %d >>", kids, n);
    tu_pdf_set(p, tree, treebody);
    free(treebody);
    free(kids);
    snprintf(body, sizeof body, "<< /Type /Catalog /Pages %d 0 R >>", tree);
    tu_pdf_set(p, catalog, body);
    int rc = tu_pdf_write(p, path, catalog, NULL);
    tu_pdf_free(p);
    return rc;
}
