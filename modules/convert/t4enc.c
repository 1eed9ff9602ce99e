/* SPDX-License-Identifier: Apache-2.0
 *
 * t4enc.c: T.4 / T.6 fax coding (see t4enc.h). The code tables are those
 * of ITU-T T.4 Tables 1-4 (terminating and make-up codes) and Table 4 of
 * §4.2.1.3 (2-D mode codes), written as bit strings so they can be read
 * against the Recommendation; they are turned into numbers on first use.
 */
#include "config.h"
#include "t4enc.h"

#include <stdlib.h>
#include <string.h>

/* ---- Code tables (T.4 §4.1.2, Tables 2 and 3) ----------------------------- */

static const char *const white_term[64] = {
    "00110101", "000111", "0111", "1000", "1011", "1100", "1110", "1111",
    "10011", "10100", "00111", "01000", "001000", "000011", "110100", "110101",
    "101010", "101011", "0100111", "0001100", "0001000", "0010111", "0000011", "0000100",
    "0101000", "0101011", "0010011", "0100100", "0011000", "00000010", "00000011", "00011010",
    "00011011", "00010010", "00010011", "00010100", "00010101", "00010110", "00010111", "00101000",
    "00101001", "00101010", "00101011", "00101100", "00101101", "00000100", "00000101", "00001010",
    "00001011", "01010010", "01010011", "01010100", "01010101", "00100100", "00100101", "01011000",
    "01011001", "01011010", "01011011", "01001010", "01001011", "00110010", "00110011", "00110100",
};

static const char *const black_term[64] = {
    "0000110111", "010", "11", "10", "011", "0011", "0010", "00011",
    "000101", "000100", "0000100", "0000101", "0000111", "00000100", "00000111", "000011000",
    "0000010111", "0000011000", "0000001000", "00001100111", "00001101000", "00001101100",
    "00000110111", "00000101000", "00000010111", "00000011000", "000011001010", "000011001011",
    "000011001100", "000011001101", "000001101000", "000001101001", "000001101010", "000001101011",
    "000011010010", "000011010011", "000011010100", "000011010101", "000011010110", "000011010111",
    "000001101100", "000001101101", "000011011010", "000011011011", "000001010100", "000001010101",
    "000001010110", "000001010111", "000001100100", "000001100101", "000001010010", "000001010011",
    "000000100100", "000000110111", "000000111000", "000000100111", "000000101000", "000001011000",
    "000001011001", "000000101011", "000000101100", "000001011010", "000001100110", "000001100111",
};

/* Make-up codes for 64, 128, ... 1728 (index n: run 64 * (n + 1)). */
static const char *const white_makeup[27] = {
    "11011", "10010", "010111", "0110111", "00110110", "00110111", "01100100", "01100101",
    "01101000", "01100111", "011001100", "011001101", "011010010", "011010011", "011010100",
    "011010101", "011010110", "011010111", "011011000", "011011001", "011011010", "011011011",
    "010011000", "010011001", "010011010", "011000", "010011011",
};

static const char *const black_makeup[27] = {
    "0000001111", "000011001000", "000011001001", "000001011011", "000000110011", "000000110100",
    "000000110101", "0000001101100", "0000001101101", "0000001001010", "0000001001011",
    "0000001001100", "0000001001101", "0000001110010", "0000001110011", "0000001110100",
    "0000001110101", "0000001110110", "0000001110111", "0000001010010", "0000001010011",
    "0000001010100", "0000001010101", "0000001011010", "0000001011011", "0000001100100",
    "0000001100101",
};

/* Extended make-up codes, both colours: 1792, 1856, ... 2560 (Table 3a). */
static const char *const ext_makeup[13] = {
    "00000001000", "00000001100", "00000001101", "000000010010", "000000010011",
    "000000010100", "000000010101", "000000010110", "000000010111", "000000011100",
    "000000011101", "000000011110", "000000011111",
};

struct code {
    uint16_t bits;
    uint8_t len;
};

static struct code wt[64], bt[64], wm[27], bm[27], xm[13];
static int tables_ready;

static struct code parse(const char *s)
{
    struct code c = { 0, 0 };
    for (; *s; s++, c.len++)
        c.bits = (uint16_t)((c.bits << 1) | (*s == '1'));
    return c;
}

/* Builds the numeric tables once (mintfax-render is single-threaded). */
static void tables_init(void)
{
    if (tables_ready)
        return;
    for (int i = 0; i < 64; i++) {
        wt[i] = parse(white_term[i]);
        bt[i] = parse(black_term[i]);
    }
    for (int i = 0; i < 27; i++) {
        wm[i] = parse(white_makeup[i]);
        bm[i] = parse(black_makeup[i]);
    }
    for (int i = 0; i < 13; i++)
        xm[i] = parse(ext_makeup[i]);
    tables_ready = 1;
}

/* 2-D mode codes (T.4 Table 4). */
#define CODE_PASS 0x1, 4        /* 0001 */
#define CODE_HORIZ 0x1, 3       /* 001 */
#define CODE_EOL 0x001, 12      /* 000000000001 */

static const struct code vcode[7] = {
    { 0x2, 7 },     /* VL3 0000010 */
    { 0x2, 6 },     /* VL2 000010 */
    { 0x2, 3 },     /* VL1 010 */
    { 0x1, 1 },     /* V0  1 */
    { 0x3, 3 },     /* VR1 011 */
    { 0x3, 6 },     /* VR2 000011 */
    { 0x3, 7 },     /* VR3 0000011 */
};

/* ---- Bit writer ------------------------------------------------------------ */

/* The writer's state is a small struct kept in the caller's frame and
 * passed to inline functions; the row coders work on a local copy of it,
 * so the compiler holds it in registers. Room for a whole row is reserved
 * before the row is coded (reserve()), so put() never checks capacity. */
struct bitw {
    uint64_t acc;
    int nacc;       /* bits in acc not yet stored */
    uint8_t *p;     /* where the next 32 bits go */
};

/* Most bits one row can take: every change costs at most a horizontal
 * code with two runs (3 + 2 x 25 bits, long runs included), plus an EOL and
 * fill bits; then a margin. */
static size_t row_bound(int width)
{
    return ((size_t)width + 2) * 53 / 8 + 64;
}

static int grow(struct mfx_t4_out *o, size_t need)
{
    if (need > o->max)
        return -1;
    size_t cap = o->cap ? o->cap : 65536;
    while (cap < need)
        cap *= 2;
    if (cap > o->max)
        cap = o->max;
    uint8_t *p = realloc(o->data, cap);
    if (!p)
        return -1;
    o->data = p;
    o->cap = cap;
    return 0;
}

/* Makes room for `bytes` more after what w has written; returns 0 or -1
 * (past out->max). Updates w->p when the buffer moves. */
static int reserve(struct mfx_t4_out *o, struct bitw *w, size_t bytes)
{
    size_t used = (size_t)(w->p - o->data);
    if (used + bytes + 8 <= o->cap)
        return 0;
    size_t need = used + bytes + 8;
    if (need > o->max)
        need = o->max;      /* grow as far as allowed; the caller checks the end */
    if (need <= o->cap || grow(o, need) < 0)
        return -1;
    w->p = o->data + used;
    return 0;
}

/* Appends the len (0 .. 32) low bits of bits. Fewer than 8 bits stay in
 * acc between calls: every call stores the pending bits as 8 big-endian
 * bytes at p (the reserve() margin allows it) and moves p past the bytes
 * completed, with no branch on how full acc is (a branch taken every few
 * codes at random, mispredicted often). */
static inline void put(struct bitw *w, unsigned bits, int len)
{
    w->acc = (w->acc << len) | bits;
    w->nacc += len;                             /* at most 7 + 32 */
    uint64_t v = __builtin_bswap64((w->acc << 1) << (63 - w->nacc));
    memcpy(w->p, &v, 8);
    w->p += w->nacc >> 3;
    w->nacc &= 7;
}

static inline void putc_(struct bitw *w, struct code c) { put(w, c.bits, c.len); }

/* Pads with zero bits to a byte boundary (put() has stored the rest). */
static void flush(struct bitw *w)
{
    put(w, 0, (8 - w->nacc) & 7);
}

/* Bits written so far, modulo 8. */
static inline int bitpos(const struct bitw *w) { return w->nacc; }

/* A run of len pixels of one colour: make-up codes, then a terminating code. */
static inline void put_run(struct bitw *w, int len, int black)
{
    while (len >= 2560 + 64) {
        putc_(w, xm[12]);
        len -= 2560;
    }
    if (len >= 64) {
        int m = len / 64;           /* 1 .. 40 */
        if (m >= 28)
            putc_(w, xm[m - 28]);
        else
            putc_(w, black ? bm[m - 1] : wm[m - 1]);
        len -= m * 64;
    }
    putc_(w, black ? bt[len] : wt[len]);
}

/* ---- Changing elements ------------------------------------------------------ */

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

/* Fills c with the positions of the changing elements of a row (T.4
 * §4.2.1.3.1: a pixel whose colour differs from the one before it; the
 * pixel before the row is white), followed by three copies of width.
 * Returns how many changes there are. c must hold width + 3 entries. */
static int find_changes(const uint8_t *row, int width, int *c)
{
    int n = 0, x = 0;
    uint64_t carry = 0;     /* the previous pixel, 1 = black */
    for (; x + 64 <= width; x += 64) {
        uint64_t v = load_be64(row + x / 8);
        uint64_t t = v ^ ((v >> 1) | (carry << 63));
        carry = v & 1;
        while (t) {
            int z = __builtin_clzll(t);
            c[n++] = x + z;
            t &= ~(0x8000000000000000ull >> z);
        }
    }
    for (; x < width; x++) {
        uint64_t bit = (row[x >> 3] >> (7 - (x & 7))) & 1;
        if (bit != carry)
            c[n++] = x;
        carry = bit;
    }
    c[n] = c[n + 1] = c[n + 2] = width;
    return n;
}

/* ---- Row coders ---------------------------------------------------------------- */

/* One-dimensional (MH) coding of a row from its changes (T.4 §4.1). */
static void code_1d(struct bitw *wp, const int *c, int n, int width)
{
    struct bitw w = *wp;
    int pos = 0;
    for (int i = 0; i <= n; i++) {
        int end = i < n ? c[i] : width;
        put_run(&w, end - pos, i & 1);
        pos = end;
    }
    *wp = w;
}

/* Two-dimensional coding of a row (cur) against the row above (ref),
 * following the flow of T.4 Figure 7 / T.6 §2.2. */
static void code_2d(struct bitw *wp, const int *ref, const int *cur, int width)
{
    struct bitw w = *wp;    /* in registers while the row is coded */
    int a0 = -1, color = 0, ci = 0, ri = 0;
    for (;;) {
        while (cur[ci] <= a0)
            ci++;
        int a1 = cur[ci];
        while (ref[ri] <= a0)
            ri++;
        /* b1: the first change on the reference row right of a0 whose new
         * colour is opposite to a0's colour (index parity: even = to black). */
        int k = ri + ((ri & 1) != color);
        int b1 = ref[k], b2 = ref[k + 1];
        if (b2 < a1) {
            put(&w, CODE_PASS);
            a0 = b2;
        } else if (a1 - b1 >= -3 && a1 - b1 <= 3) {
            putc_(&w, vcode[a1 - b1 + 3]);
            a0 = a1;
            color ^= 1;
        } else {
            int a2 = cur[ci + 1];
            put(&w, CODE_HORIZ);
            put_run(&w, a1 - (a0 < 0 ? 0 : a0), color);
            put_run(&w, a2 - a1, !color);
            a0 = a2;
        }
        if (a0 >= width)
            break;
    }
    *wp = w;
}

/* EOL, aligned so that it ends on a byte boundary (T4Options fill bits),
 * followed by the 1-D / 2-D tag bit of T.4 §4.2.2. */
static void put_eol(struct bitw *w, int tag_1d)
{
    int pad = (4 - bitpos(w) + 8) & 7;
    put(w, 0, pad);
    put(w, CODE_EOL);
    put(w, (unsigned)tag_1d, 1);
}

int mfx_t4_encode(const uint8_t *bits, size_t stride, int width, int rows,
                  enum mfx_t4_coding coding, int k, struct mfx_t4_out *out)
{
    tables_init();
    int rc = -1;
    int *ref = malloc(((size_t)width + 4) * sizeof *ref);
    int *cur = malloc(((size_t)width + 4) * sizeof *cur);
    if (!ref || !cur)
        goto out;
    if (!out->data && grow(out, out->max < 65536 ? out->max : 65536) < 0)
        goto out;
    struct bitw w = { 0, 0, out->data + out->len };
    const size_t bound = row_bound(width);
    /* The row above the first is white (T.6 §2.2.1). */
    ref[0] = ref[1] = ref[2] = width;
    if (k < 1)
        k = 1;
    int nref = 0;
    for (int y = 0; y < rows; y++) {
        if (reserve(out, &w, bound) < 0)
            goto out;
        const uint8_t *row = bits + (size_t)y * stride;
        int two_d = coding == MFX_T4_G4 || y % k != 0;
        if (two_d && y > 0 && !memcmp(row, row - stride, (size_t)(width + 7) / 8)) {
            /* The same as the row above (blank rows, vertical strokes):
             * every change is V0, and so is the end of the row. */
            if (coding != MFX_T4_G4)
                put_eol(&w, 0);
            for (int left = nref + 1; left > 0; left -= 32)
                put(&w, left >= 32 ? 0xFFFFFFFFu : (1u << left) - 1, left >= 32 ? 32 : left);
            continue;       /* ref (and nref) stay as they are */
        }
        int n = find_changes(row, width, cur);
        if (coding == MFX_T4_G4) {
            code_2d(&w, ref, cur, width);
        } else if (y % k == 0) {
            put_eol(&w, 1);
            code_1d(&w, cur, n, width);
        } else {
            put_eol(&w, 0);
            code_2d(&w, ref, cur, width);
        }
        int *t = ref;
        ref = cur;
        cur = t;
        nref = n;
    }
    if (reserve(out, &w, 64) < 0)
        goto out;
    if (coding == MFX_T4_G4) {
        put(&w, CODE_EOL);      /* EOFB: two EOLs (T.6 §2.4) */
        put(&w, CODE_EOL);
    } else {
        for (int i = 0; i < 6; i++) {   /* RTC: six EOLs, tagged 1-D (T.4 §4.1.4) */
            put(&w, CODE_EOL);
            put(&w, 1, 1);
        }
    }
    flush(&w);
    out->len = (size_t)(w.p - out->data);
    rc = out->len <= out->max ? 0 : -1;
out:
    free(ref);
    free(cur);
    return rc;
}
