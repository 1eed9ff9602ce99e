// SPDX-License-Identifier: Apache-2.0
//
// Documents (issue 3): what a fax's document becomes on its way to the far
// fax machine, through a real mintfaxd, its mintfax-render children and the
// sandbox's in-memory spandsp T.30 exchange.
//
// - Good documents (PDF, PNG, JPEG, multi-page TIFF; upload, document_id and
//   document_url) are rendered to TIFF-F (checked by parsing the TIFF's IFDs
//   here: width 1728, 204 dpi across, 98/196/391 dpi down), previewed as PNG,
//   delivered with the rendered page count (cover page included) and billed
//   for it.
// - Bad documents (truncated, encrypted, 10,000 pages, 200 inches long, a
//   PNG "zip bomb", text called .pdf, empty, broken TIFF IFD chains) and bad
//   document_urls (timeout, loopback, 404, redirect loops, a 2 GB body) end
//   as a catalogued outcome: an API error of src/errors.def, or a failed fax
//   with a catalogued error_code and an error_subcode. After each the daemon
//   answers /healthz, holds no credits, and has no render child and no
//   document memfd left over.
// - A renderer that hangs or crashes fails its fax (render_timeout,
//   render_crashed) and the daemon carries on; the API keeps answering
//   while a large fax goes through the sandbox's T.30 exchange.
//
// Three daemons: `d` with the defaults (the SSRF guard on), `f` for
// document_url (loopback allowed, a 1 s fetch timeout, a 200 kB size cap)
// and `r` whose renderer is a shell script that hangs or crashes on request
// and runs the real mintfax-render otherwise.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree),
// MINTFAX_RENDER (the renderer the test's wrapper script runs; default the
// one mintfaxd finds in the build tree, ../modules/convert/mintfax-render).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { api, daemonPath, srcDir, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const ENV = {
    MINTFAX_SANDBOX_TIME_SCALE: '0.001',
    MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
    MINTFAX_RATELIMIT_REQUESTS: '100000',
};
const FETCH_CAP = 200000;          // [server] max_upload of the document_url daemon
const PRICE = 7;                   // [billing] price_per_page_sandbox (default)
const TO = '+15005550001';         // sandbox: delivered
const RENDERER = path.resolve(process.env.MINTFAX_RENDER ||
    path.join(path.dirname(daemonPath), '..', 'modules', 'convert', 'mintfax-render'));

// The catalog: code -> {status, retryable, action}, read from src/errors.def.
const catalog = {};
for (const m of fs.readFileSync(path.join(srcDir, 'src', 'errors.def'), 'utf8')
    .matchAll(/MFX_ERROR\((\w+),\s*(\d+),\s*(\d),\s*(\w+),/g)) {
    catalog[m[1]] = { status: Number(m[2]), retryable: m[3] === '1', action: m[4] };
}

const has = (tool) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

// ---------------------------------------------------------------------------
// Documents made here (no binary fixtures)

function crc32(buf) {
    let crc = 0xffffffff;
    for (const b of buf) {
        let c = (crc ^ b) & 0xff;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        crc = (crc >>> 8) ^ c;
    }
    return (crc ^ 0xffffffff) >>> 0;
}
function pngChunk(type, data) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
}
/** An 8-bit grey PNG with diagonal stripes; idat replaces the image data (for lies about the size). */
function makePng({ width = 200, height = 100, idat } = {}) {
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr[8] = 8;   // bit depth; colour type 0 (grey), no interlace
    if (!idat) {
        const raw = Buffer.alloc((width + 1) * height, 255);
        for (let y = 0; y < height; y++) {
            raw[y * (width + 1)] = 0;   // filter: none
            for (let x = 0; x < width; x++) if ((x + y) % 10 < 3) raw[y * (width + 1) + 1 + x] = 0;
        }
        idat = zlib.deflateSync(raw);
    }
    return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), pngChunk('IHDR', ihdr),
        pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A little-endian baseline TIFF: 8-bit grey, uncompressed, one strip a page.
 * brokenNext: the last page's next-IFD offset points 'past_end' of the file,
 * at the page 'self', or back at the 'first' page. noise: random grey
 * pixels (pages that compress badly: many bytes for the T.30 exchange).
 */
function makeTiff({ pages = 1, width = 64, height = 64, brokenNext, noise = false } = {}) {
    const entries = 11;
    const ifdSize = 2 + entries * 12 + 4;
    const pix = width * height;
    const pageSize = ifdSize + 16 + pix;   // IFD, two RATIONALs, pixels
    const buf = Buffer.alloc(8 + pages * pageSize);
    buf.write('II', 0, 'latin1');
    buf.writeUInt16LE(42, 2);
    buf.writeUInt32LE(8, 4);
    for (let p = 0; p < pages; p++) {
        const ifd = 8 + p * pageSize, rat = ifd + ifdSize, data = rat + 16;
        let o = ifd;
        buf.writeUInt16LE(entries, o);
        o += 2;
        const tag = (t, type, value) => {
            buf.writeUInt16LE(t, o);
            buf.writeUInt16LE(type, o + 2);
            buf.writeUInt32LE(1, o + 4);
            if (type === 3) buf.writeUInt16LE(value, o + 8);
            else buf.writeUInt32LE(value, o + 8);
            o += 12;
        };
        tag(256, 4, width); tag(257, 4, height); tag(258, 3, 8); tag(259, 3, 1); tag(262, 3, 1);
        tag(273, 4, data); tag(277, 3, 1); tag(278, 4, height); tag(279, 4, pix);
        tag(282, 5, rat); tag(283, 5, rat + 8);
        let next = p + 1 < pages ? ifd + pageSize : 0;
        if (p === pages - 1 && brokenNext === 'past_end') next = buf.length + 100000;
        if (p === pages - 1 && brokenNext === 'self') next = ifd;
        if (p === pages - 1 && brokenNext === 'first') next = 8;
        buf.writeUInt32LE(next, o);
        buf.writeUInt32LE(72, rat); buf.writeUInt32LE(1, rat + 4);
        buf.writeUInt32LE(72, rat + 8); buf.writeUInt32LE(1, rat + 12);
        let seed = 12345 + p;
        for (let i = 0; i < pix; i++) {
            if (noise) {
                seed = (seed * 1103515245 + 12345) & 0x7fffffff;
                buf[data + i] = seed >> 23;
            } else {
                buf[data + i] = ((i % width) + Math.floor(i / width) + p * 8) % 16 < 8 ? 0 : 255;
            }
        }
    }
    return buf;
}

/** A PDF from object bodies (object n is bodies[n - 1]) with a correct xref. */
function pdfFrom(bodies, trailerExtra = '') {
    let out = '%PDF-1.4\n';
    const offsets = [];
    bodies.forEach((b, i) => {
        offsets.push(Buffer.byteLength(out, 'latin1'));
        out += `${i + 1} 0 obj\n${b}\nendobj\n`;
    });
    const xref = Buffer.byteLength(out, 'latin1');
    out += `xref\n0 ${bodies.length + 1}\n0000000000 65535 f \n`;
    for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
    out += `trailer\n<< /Size ${bodies.length + 1} /Root 1 0 R ${trailerExtra}>>\nstartxref\n${xref}\n%%EOF\n`;
    return Buffer.from(out, 'latin1');
}

/**
 * A PDF under the standard security handler (RC4, R2) whose user password
 * is not empty: /U does not match the empty password, so it cannot be
 * opened without one.
 */
function encryptedPdf() {
    const bytes = (n, k) => Buffer.from(Array.from({ length: n }, (_, i) => (i * k + 11) & 255)).toString('hex');
    return pdfFrom([
        '<< /Type /Catalog /Pages 2 0 R >>',
        '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
        '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>',
        '<< /Length 16 >>\nstream\n0123456789abcdef\nendstream',
        `<< /Filter /Standard /V 1 /R 2 /O <${bytes(32, 37)}> /U <${bytes(32, 53)}> /P -44 >>`,
    ], `/Encrypt 5 0 R /ID [<${bytes(16, 7)}><${bytes(16, 7)}>] `);
}

/** n real page objects sharing one content stream (10,000 pages in about a megabyte). */
function manyPagePdf(n) {
    const bodies = ['<< /Type /Catalog /Pages 2 0 R >>', null,
        '<< /Length 19 >>\nstream\n0 0 m 100 100 l S\n\nendstream'];
    const kids = [];
    for (let i = 0; i < n; i++) {
        bodies.push('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>');
        kids.push(`${bodies.length} 0 R`);
    }
    bodies[1] = `<< /Type /Pages /Kids [${kids.join(' ')}] /Count ${n} >>`;
    return pdfFrom(bodies);
}

/** A small baseline JPEG made from a PDF by pdftoppm, or null without poppler-utils. */
let jpegCache;
function makeJpeg(dir) {
    if (jpegCache !== undefined) return jpegCache;
    jpegCache = null;
    if (!has('pdftoppm')) return null;
    const pdfPath = path.join(dir, 'for-jpeg.pdf');
    fs.writeFileSync(pdfPath, makePdf({ pages: 1, text: 'mintfax jpeg' }));
    const r = spawnSync('pdftoppm', ['-r', '30', '-jpeg', '-singlefile', pdfPath, path.join(dir, 'page')]);
    if (r.status === 0) jpegCache = fs.readFileSync(path.join(dir, 'page.jpg'));
    return jpegCache;
}

// ---------------------------------------------------------------------------
// Reading what comes back

/** The IFDs of a TIFF: an array of {tag: first value}, RATIONALs as numbers. */
function parseTiff(buf) {
    const order = buf.toString('latin1', 0, 2);
    assert.ok(order === 'II' || order === 'MM', `not a TIFF (starts ${JSON.stringify(order)})`);
    const le = order === 'II';
    const u16 = (o) => (le ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
    const u32 = (o) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    assert.equal(u16(2), 42, 'TIFF magic');
    const size = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
    const dirs = [];
    const seen = new Set();
    for (let off = u32(4); off !== 0;) {
        assert.ok(!seen.has(off), `IFD loop at ${off}`);
        assert.ok(off + 2 <= buf.length, `IFD offset ${off} past the end (${buf.length})`);
        seen.add(off);
        const n = u16(off);
        assert.ok(off + 2 + n * 12 + 4 <= buf.length, `IFD at ${off} runs past the end`);
        const tags = {};
        for (let i = 0; i < n; i++) {
            const e = off + 2 + i * 12;
            const type = u16(e + 2), count = u32(e + 4);
            const at = (size[type] || 1) * count <= 4 ? e + 8 : u32(e + 8);
            let v;
            if (type === 3) v = u16(at);
            else if (type === 4) v = u32(at);
            else if (type === 5) v = u32(at) / u32(at + 4);
            else v = at;
            tags[u16(e)] = v;
        }
        dirs.push(tags);
        off = u32(off + 2 + n * 12);
        assert.ok(dirs.length <= 10000, 'too many IFDs');
    }
    return dirs;
}
const T = { width: 256, length: 257, compression: 259, photometric: 262, xres: 282, yres: 283, unit: 296 };
const YRES = { standard: 98, fine: 196, superfine: 391 };

/** Checks /image of a rendered fax: a TIFF-F of `pages` pages at `resolution`; returns the IFDs. */
async function checkImage(daemon, id, pages, resolution, tmp) {
    const r = await api(daemon.url, daemon.keys.sandbox_key, 'GET', `/v1/faxes/${id}/image`);
    assert.equal(r.status, 200, `GET /image: ${r.status} ${r.text.slice(0, 200)}`);
    assert.match(r.contentType, /^image\/tiff/);
    const dirs = parseTiff(r.bytes);
    assert.equal(dirs.length, pages, `${resolution}: TIFF directories`);
    dirs.forEach((t, i) => {
        const what = `${resolution} page ${i + 1}`;
        assert.equal(t[T.width], 1728, `${what}: ImageWidth`);
        assert.ok(t[T.length] > 0, `${what}: ImageLength`);
        assert.ok([3, 4].includes(t[T.compression]), `${what}: Compression ${t[T.compression]} (want 3 = T.4 or 4 = T.6)`);
        assert.equal(t[T.photometric], 0, `${what}: PhotometricInterpretation (min-is-white)`);
        assert.ok(t[T.unit] === undefined || t[T.unit] === 2, `${what}: ResolutionUnit ${t[T.unit]} (inch)`);
        assert.ok(Math.abs(t[T.xres] - 204) < 1, `${what}: XResolution ${t[T.xres]}`);
        assert.ok(Math.abs(t[T.yres] - YRES[resolution]) < 1, `${what}: YResolution ${t[T.yres]}, want ${YRES[resolution]}`);
    });
    if (has('tiffinfo')) {
        // The pages decode (libtiff's own reading of every strip).
        const file = path.join(tmp, `${id}.tif`);
        fs.writeFileSync(file, r.bytes);
        const ti = spawnSync('tiffinfo', ['-D', file], { encoding: 'utf8' });
        assert.equal(ti.status, 0, `tiffinfo -D: ${ti.stderr}`);
        assert.doesNotMatch(ti.stderr, /error/i, `tiffinfo -D: ${ti.stderr}`);
    }
    return dirs;
}

/** Width and height of a PNG from its IHDR. */
function pngSize(buf) {
    assert.equal(buf.subarray(0, 8).toString('latin1'), '\x89PNG\r\n\x1a\n', 'PNG signature');
    assert.equal(buf.toString('latin1', 12, 16), 'IHDR');
    return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

// ---------------------------------------------------------------------------
// Sending and checking

function form(file, name, fields = {}) {
    const f = new FormData();
    f.append('to', TO);
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    f.append('file', new Blob([file]), name);
    return f;
}
const upload = (daemon, file, name, fields) =>
    api(daemon.url, daemon.keys.sandbox_key, 'POST', '/v1/faxes', form(file, name, fields));
const sendJson = (daemon, body) =>
    api(daemon.url, daemon.keys.sandbox_key, 'POST', '/v1/faxes', { to: TO, ...body });

async function waitTerminal(daemon, id, timeoutMs = 20000) {
    return waitFor(async () => {
        const r = await api(daemon.url, daemon.keys.sandbox_key, 'GET', `/v1/faxes/${id}`);
        return ['delivered', 'failed'].includes(r.body.status) && r.body;
    }, { what: `fax ${id} delivered or failed`, timeoutMs });
}

/** Sends and waits: the 201 fax, then its terminal state. */
async function sendAndWait(daemon, send, what) {
    const r = await send();
    assert.equal(r.status, 201, `${what}: POST /v1/faxes ${r.status} ${r.text.slice(0, 300)}`);
    return waitTerminal(daemon, r.body.id);
}

/**
 * Sends an upload that a render child must refuse. Since uploads are
 * checked (opened and counted) in a render child before the 201, a file the
 * renderer cannot open is refused at once with 422 validation_failed
 * (context.errors.file says why); one that opens but cannot be drawn is
 * accepted and its fax fails. Returns {fax} or {refused}.
 */
async function sendOrRefused(daemon, send, what) {
    const r = await send();
    if (r.status === 201) return { fax: await waitTerminal(daemon, r.body.id) };
    assertApiError(r, 'validation_failed', { field: 'file', what });
    assert.ok(r.body.context.errors.file.length > 10, `${what}: the refusal says why`);
    return { refused: r };
}

/** A delivered fax of n pages, billed for n. */
function assertDelivered(fax, pages, what) {
    const ctx = `${what}: ${JSON.stringify({ status: fax.status, error_code: fax.error_code, error_subcode: fax.error_subcode, error_message: fax.error_message, pages: fax.pages })}`;
    assert.equal(fax.status, 'delivered', ctx);
    assert.equal(fax.pages, pages, ctx);
    assert.equal(fax.pages_sent, pages, ctx);
    assert.equal(fax.cost.captured, pages * PRICE, ctx);
    assert.equal(fax.cost.held, 0, ctx);
}

/** A catalogued API error (status, code and action from src/errors.def). */
function assertApiError(r, code, { field, what = '' } = {}) {
    const c = catalog[code];
    assert.ok(c, `test bug: ${code} is not in src/errors.def`);
    const ctx = `${what}: expected ${c.status} ${code}, got ${r.status} ${r.text.slice(0, 300)}`;
    assert.equal(r.status, c.status, ctx);
    assert.equal(r.body?.error, code, ctx);
    assert.equal(r.body.action, c.action, ctx);
    assert.equal(typeof r.body.message, 'string', ctx);
    if (field) assert.equal(typeof r.body.context?.errors?.[field], 'string', `${ctx}\n(context.errors.${field} missing)`);
}

/** A failed fax with a catalogued fax outcome; subcode: exact value, a RegExp, or any non-empty string. */
function assertFailed(fax, code, subcode, what = '') {
    const ctx = `${what}: ${JSON.stringify({ status: fax.status, error_code: fax.error_code, error_subcode: fax.error_subcode, error_message: fax.error_message, pages: fax.pages, pages_sent: fax.pages_sent })}`;
    assert.equal(fax.status, 'failed', ctx);
    assert.ok(catalog[fax.error_code], `${ctx}\nerror_code is not catalogued`);
    assert.equal(catalog[fax.error_code].status, 0, `${ctx}\nerror_code is not a fax outcome`);
    assert.equal(fax.error_code, code, ctx);
    assert.equal(typeof fax.error_subcode, 'string', ctx);
    assert.ok(fax.error_subcode.length > 0, ctx);
    if (typeof subcode === 'string') assert.equal(fax.error_subcode, subcode, ctx);
    else if (subcode instanceof RegExp) assert.match(fax.error_subcode, subcode, ctx);
    assert.equal(typeof fax.error_message, 'string', ctx);
    assert.equal(fax.pages_sent, 0, ctx);
    assert.equal(fax.cost.captured, 0, `${ctx}\na failed document was charged`);
    assert.equal(fax.cost.held, 0, `${ctx}\ncredits still held`);
}

/** The daemon's child processes (pid, state, command line), zombies included. */
function childrenOf(pid) {
    const out = [];
    for (const p of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(p)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
            const m = /\) (\S) (\d+)/.exec(stat);
            if (m && Number(m[2]) === pid) {
                const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
                out.push(`${p} ${m[1]} ${cmd}`);
            }
        } catch { /* gone meanwhile */ }
    }
    return out;
}
/** The daemon's open memfds (documents and pages handed to render children and calls). */
function memfdsOf(pid) {
    const out = [];
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
            const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
            if (target.startsWith('/memfd:')) out.push(`${fd} -> ${target}`);
        } catch { /* closed meanwhile */ }
    }
    return out;
}

/**
 * After bad input: the daemon is alive and answers /healthz, holds no
 * credits, and has no render child and no memfd left (waits a little: a
 * killed child is reaped in the event loop).
 */
async function assertIntact(daemon, what = '') {
    assert.equal(daemon.exited(), null, `${what}: mintfaxd exited\n${daemon.logTail(30)}`);
    const h = await api(daemon.url, null, 'GET', '/healthz');
    assert.equal(h.status, 200, `${what}: /healthz ${h.status}`);
    await waitFor(async () => {
        const b = await api(daemon.url, daemon.keys.sandbox_key, 'GET', '/v1/environment/balance');
        return b.status === 200 && b.body.held === 0;
    }, { what: `${what}: balance.held back to 0`, timeoutMs: 5000 });
    await waitFor(() => childrenOf(daemon.proc.pid).length === 0,
        { what: `${what}: no child process of mintfaxd left (${childrenOf(daemon.proc.pid).join('; ')})`, timeoutMs: 5000 });
    await waitFor(() => memfdsOf(daemon.proc.pid).length === 0,
        { what: `${what}: no memfd left open in mintfaxd (${memfdsOf(daemon.proc.pid).join('; ')})`, timeoutMs: 5000 });
}

/**
 * Sends a bad upload; the outcome must be catalogued one way or the other:
 * refused by the API (`api`: {code, field}) or accepted and then failed
 * (`fax`: {code, subcode}). Either may be null: that way is not acceptable.
 * Returns {refused: api result} or {fax}.
 */
async function badUpload(t, daemon, file, name, { api: apiWant = null, fax: faxWant = null }, what) {
    const r = await upload(daemon, file, name);
    let out;
    if (r.status === 201) {
        assert.ok(faxWant, `${what}: accepted (201), but the API should have refused it with ${apiWant?.code}`);
        const fax = await waitTerminal(daemon, r.body.id);
        assertFailed(fax, faxWant.code, faxWant.subcode, what);
        t.diagnostic(`${what}: accepted, then failed ${fax.error_code}/${fax.error_subcode}: ${fax.error_message}`);
        out = { fax };
    } else {
        assert.ok(apiWant, `${what}: refused by the API (${r.status} ${r.text.slice(0, 300)}), but it should be accepted and fail with ${faxWant?.code}`);
        assertApiError(r, apiWant.code, { field: apiWant.field, what });
        t.diagnostic(`${what}: refused ${r.status} ${r.body.error}: ${r.body.context?.errors?.file || r.body.message}`);
        out = { refused: r };
    }
    await assertIntact(daemon, what);
    return out;
}

// ---------------------------------------------------------------------------
// A loopback HTTP server for document_url

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function startDocServer() {
    const requests = [];       // {path, at}
    const hanging = new Set();
    const big = { sent: 0, closedAt: null, finished: false };
    const docs = new Map();    // path -> Buffer
    const server = http.createServer(async (req, res) => {
        requests.push({ path: req.url, at: Date.now() });
        const u = new URL(req.url, 'http://x');
        const redirect = /^\/redirect\/(\d+)$/.exec(u.pathname);
        if (docs.has(u.pathname)) {
            res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': docs.get(u.pathname).length });
            res.end(docs.get(u.pathname));
        } else if (redirect) {
            const n = Number(redirect[1]);
            res.writeHead(302, { Location: n > 1 ? `/redirect/${n - 1}` : '/doc.pdf' });
            res.end();
        } else if (u.pathname === '/hang') {
            hanging.add(res);   // never answered (ended in close())
            res.on('close', () => hanging.delete(res));
        } else if (u.pathname === '/big') {
            // 2 GB, made lazily as the client reads, without Content-Length
            // (a declared length would let the client refuse it up front).
            const chunk = Buffer.alloc(65536, 0x41);
            chunk.write('%PDF-1.4\n');
            big.sent = 0;
            big.closedAt = null;
            big.finished = false;
            let wake = null;
            res.on('close', () => { big.closedAt = Date.now(); wake?.(); });
            res.on('drain', () => wake?.());
            res.writeHead(200, { 'Content-Type': 'application/pdf' });
            while (big.sent < 2 ** 31 && big.closedAt === null) {
                big.sent += chunk.length;
                if (!res.write(chunk)) {
                    await new Promise((resolve) => { wake = resolve; });
                    wake = null;
                }
            }
            big.finished = big.closedAt === null;
            res.end();
        } else {
            res.writeHead(404, { 'Content-Type': 'text/plain' });
            res.end('not here');
        }
    });
    server.keepAliveTimeout = 1000;
    return new Promise((resolve) => {
        server.listen(0, '127.0.0.1', () => {
            const { port } = server.address();
            resolve({
                url: `http://127.0.0.1:${port}`,
                port,
                requests,
                big,
                docs,
                close: () => new Promise((done) => {
                    for (const res of hanging) res.destroy();
                    server.closeAllConnections?.();
                    server.close(() => done());
                }),
            });
        });
    });
}

// ---------------------------------------------------------------------------

let d;     // defaults: SSRF guard on
let f;     // document_url: loopback allowed, 1 s timeout, 200 kB cap
let r;     // a renderer script that hangs or crashes on request
let srv;   // the loopback document server
let tmp;   // scripts and files

before(async () => {
    tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-documents-'));
    // Hangs on documents holding HANG_ME, crashes on CRASH_ME, else renders.
    const script = path.join(tmp, 'render.sh');
    fs.writeFileSync(script, [
        '#!/bin/sh',
        'if grep -q HANG_ME /proc/self/fd/3; then exec sleep 30; fi',
        'if grep -q CRASH_ME /proc/self/fd/3; then kill -SEGV $$; fi',
        `exec '${RENDERER}' "$@"`,
        '',
    ].join('\n'));
    fs.chmodSync(script, 0o755);
    srv = await startDocServer();
    [d, f, r] = await Promise.all([
        startDaemon({ env: ENV }),
        startDaemon({
            env: {
                ...ENV,
                MINTFAX_DOCUMENTS_ALLOW_PRIVATE: 'true',
                MINTFAX_DOCUMENTS_FETCH_TIMEOUT: '1',
                MINTFAX_SERVER_MAX_UPLOAD: String(FETCH_CAP),
            },
        }),
        startDaemon({ env: { ...ENV, MINTFAX_RENDER_PROGRAM: script, MINTFAX_RENDER_TIMEOUT: '1' } }),
    ]);
});

after(async () => {
    await Promise.all([d?.stop(), f?.stop(), r?.stop(), srv?.close()]);
    if (tmp) await fsp.rm(tmp, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------
// Good documents

test('a 3-page PDF is delivered as 3 TIFF-F pages (1728 wide, 204x196 dpi), billed 21, with PNG previews', async () => {
    const fax = await sendAndWait(d, () => upload(d, makePdf({ pages: 3, text: 'mintfax three pages' }), 'three.pdf'), '3-page PDF');
    assertDelivered(fax, 3, '3-page PDF');
    assert.equal(fax.resolution, 'fine');
    assert.equal(fax.cost.captured, 21);
    await checkImage(d, fax.id, 3, 'fine', tmp);

    const p1 = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${fax.id}/pages/1.png`);
    assert.equal(p1.status, 200, p1.text.slice(0, 200));
    assert.match(p1.contentType, /^image\/png/);
    const size = pngSize(p1.bytes);
    assert.equal(size.width, 1728);
    assert.ok(size.height > 1500, `page 1 preview is ${size.height} rows high (a Letter page at 196 lpi is about 2150)`);
    const p3 = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${fax.id}/pages/3.png`);
    assert.equal(p3.status, 200, p3.text.slice(0, 200));
    assert.equal(pngSize(p3.bytes).width, 1728);
    const p4 = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${fax.id}/pages/4.png`);
    assertApiError(p4, 'not_found', { what: '/pages/4.png of a 3-page fax' });
});

test('resolution standard and superfine give YResolution 98 and 391 (fine: 196)', async () => {
    const pdf = makePdf({ pages: 2, text: 'mintfax resolution' });
    const faxes = await Promise.all(['standard', 'superfine'].map((res) =>
        sendAndWait(d, () => upload(d, pdf, `${res}.pdf`, { resolution: res }), res)));
    const heights = {};
    for (const [i, res] of ['standard', 'superfine'].entries()) {
        assertDelivered(faxes[i], 2, res);
        assert.equal(faxes[i].resolution, res);
        const dirs = await checkImage(d, faxes[i].id, 2, res, tmp);
        heights[res] = dirs[0][T.length];
    }
    // The same Letter page: about four times as many lines at 391 as at 98 lpi.
    const ratio = heights.superfine / heights.standard;
    assert.ok(ratio > 3.8 && ratio < 4.2, `superfine/standard page length ${heights.superfine}/${heights.standard} = ${ratio}`);
    // The preview is at 196 lines per inch whatever the resolution.
    const std = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${faxes[0].id}/pages/1.png`);
    assert.equal(std.status, 200);
    assert.equal(pngSize(std.bytes).width, 1728);
    assert.equal(pngSize(std.bytes).height, heights.standard * 2);
});

test('GET /image and /pages/1.png answer 409 invalid_state before the pages are rendered', async () => {
    // A document_url that hangs (never answered): the fax stays before rendering.
    const sent = await sendJson(f, { document_url: `${srv.url}/hang` });
    assert.equal(sent.status, 201, sent.text);
    for (const p of ['image', 'pages/1.png']) {
        const res = await api(f.url, f.keys.sandbox_key, 'GET', `/v1/faxes/${sent.body.id}/${p}`);
        assertApiError(res, 'invalid_state', { what: `GET /${p} before rendering` });
    }
    const fax = await waitTerminal(f, sent.body.id);
    assertFailed(fax, 'document_fetch_failed', 'timeout', 'hanging document_url');
    await assertIntact(f, 'after the 409s');
});

test('a cover page (standard, hipaa) adds one page: a 3-page PDF becomes 4 pages, billed 28', async () => {
    const pdf = makePdf({ pages: 3, text: 'mintfax cover' });
    const faxes = await Promise.all(['standard', 'hipaa'].map((cover) =>
        sendAndWait(d, () => upload(d, pdf, 'cover.pdf', {
            cover_page: cover, recipient_name: 'Dr. Recipient', sender_name: 'Sender Clinic',
            subject: `Cover ${cover}`, message: 'Four pages including this one.',
        }), `cover_page ${cover}`)));
    for (const [i, cover] of ['standard', 'hipaa'].entries()) {
        assertDelivered(faxes[i], 4, `cover_page ${cover}`);
        await checkImage(d, faxes[i].id, 4, 'fine', tmp);
        const p = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${faxes[i].id}/pages/4.png`);
        assert.equal(p.status, 200, `cover_page ${cover}: /pages/4.png ${p.status}`);
    }
});

test('a PNG upload is delivered as 1 page', async () => {
    const fax = await sendAndWait(d, () => upload(d, makePng(), 'stripes.png'), 'PNG');
    assertDelivered(fax, 1, 'PNG');
    await checkImage(d, fax.id, 1, 'fine', tmp);
});

test('a JPEG upload is delivered as 1 page', async (t) => {
    const jpeg = makeJpeg(tmp);
    if (!jpeg) {
        t.skip('pdftoppm (poppler-utils) is not installed: no JPEG to send');
        return;
    }
    assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff]);
    const fax = await sendAndWait(d, () => upload(d, jpeg, 'page.jpg'), 'JPEG');
    assertDelivered(fax, 1, 'JPEG');
    await checkImage(d, fax.id, 1, 'fine', tmp);
});

test('a 3-page TIFF is delivered with its 3 pages', async () => {
    const fax = await sendAndWait(d, () => upload(d, makeTiff({ pages: 3 }), 'three.tif'), 'TIFF');
    assertDelivered(fax, 3, '3-page TIFF');
    await checkImage(d, fax.id, 3, 'fine', tmp);
});

test('document_id: an uploaded document is sent twice, with ECM (T.6) and without (T.4 2-D)', async () => {
    const doc = new FormData();
    doc.append('file', new Blob([makePdf({ pages: 2, text: 'mintfax by id' })]), 'byid.pdf');
    const up = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/documents', doc);
    assert.equal(up.status, 201, up.text);
    assert.equal(up.body.pages, 2);
    assert.equal(up.body.content_type, 'application/pdf');
    const faxes = await Promise.all([true, false].map((ecm) =>
        sendAndWait(d, () => sendJson(d, { document_id: up.body.id, ecm }), `ecm ${ecm}`)));
    for (const [i, ecm] of [true, false].entries()) {
        assertDelivered(faxes[i], 2, `ecm ${ecm}`);
        assert.equal(faxes[i].attempts[0].ecm, ecm, `ecm ${ecm}: attempts[0].ecm`);
        const dirs = await checkImage(d, faxes[i].id, 2, 'fine', tmp);
        assert.equal(dirs[0][T.compression], ecm ? 4 : 3, `ecm ${ecm}: Compression`);
    }
});

test('document_url: a PDF behind 3 redirects (the limit) is fetched and delivered', async () => {
    srv.docs.set('/doc.pdf', makePdf({ pages: 2, text: 'mintfax fetched' }));
    const fax = await sendAndWait(f, () => sendJson(f, { document_url: `${srv.url}/redirect/3` }), 'document_url');
    assertDelivered(fax, 2, 'document_url behind 3 redirects');
    assert.equal(fax.document_url, `${srv.url}/redirect/3`);
    assert.match(fax.document_id, /^doc_/);
    await checkImage(f, fax.id, 2, 'fine', tmp);
});

test('the sandbox delivery is a T.30 exchange: remote_csid "MINTFAX SANDBOX", 14400 bit/s, pages_sent confirmed', async () => {
    const fax = await sendAndWait(d, () => upload(d, makePdf({ pages: 3 }), 't30.pdf', { csid: 'MINTFAX TEST TX' }), 'T.30');
    assertDelivered(fax, 3, 'T.30');
    assert.equal(fax.attempts.length, 1);
    const a = fax.attempts[0];
    assert.equal(a.transport, 'sandbox');
    assert.equal(a.remote_csid, 'MINTFAX SANDBOX');
    assert.equal(a.bit_rate, 14400);
    assert.equal(a.pages_sent, 3);
    assert.equal(a.error_code, null);
    assert.equal(typeof a.ecm, 'boolean');
});

test('the API keeps answering while the sandbox sends a large fax (the T.30 exchange does not block the daemon)', async (t) => {
    // 6 pages of grey noise at superfine, dithered: about 11 MB of T.6 data
    // for the in-memory T.30 exchange.
    const tiff = makeTiff({ pages: 6, width: 864, height: 1100, noise: true });
    let worst = 0, stop = false;
    const probe = (async () => {
        while (!stop) {
            const t0 = Date.now();
            const h = await api(d.url, null, 'GET', '/healthz');
            assert.equal(h.status, 200);
            worst = Math.max(worst, Date.now() - t0);
            await sleep(25);
        }
    })();
    let fax;
    try {
        fax = await sendAndWait(d, () => upload(d, tiff, 'noise.tif', { resolution: 'superfine', optimize_for: 'photo' }), 'noise');
    } finally {
        stop = true;
        await probe;
    }
    assertDelivered(fax, 6, 'six pages of noise');
    t.diagnostic(`the longest GET /healthz while the fax was rendered and sent took ${worst} ms`);
    assert.ok(worst < 1000, `GET /healthz took ${worst} ms while the fax was being sent: the daemon's event loop was blocked`);
});

// ---------------------------------------------------------------------------
// Bad uploads: an API error or a failed fax, catalogued either way

test('a truncated PDF: 422 validation_failed (file) or failed document_unreadable', async (t) => {
    const full = makePdf({ pages: 3, text: 'mintfax truncated' });
    await badUpload(t, d, full.subarray(0, Math.floor(full.length / 2)), 'truncated.pdf', {
        api: { code: 'validation_failed', field: 'file' },
        fax: { code: 'document_unreadable' },
    }, 'truncated PDF');
});

test('an encrypted PDF without its password: 422 validation_failed (file) or failed document_encrypted', async (t) => {
    const { refused } = await badUpload(t, d, encryptedPdf(), 'encrypted.pdf', {
        api: { code: 'validation_failed', field: 'file' },
        fax: { code: 'document_encrypted' },
    }, 'encrypted PDF');
    if (refused) assert.match(refused.body.context.errors.file, /encrypt|password/i);
});

test('a PDF of 10,000 pages is refused before rendering (422 validation_failed, limit 200)', async (t) => {
    const pdf = manyPagePdf(10000);
    const t0 = Date.now();
    const { refused } = await badUpload(t, d, pdf, 'many.pdf', {
        api: { code: 'validation_failed', field: 'file' },
        fax: null,
    }, '10,000-page PDF');
    assert.match(refused.body.context.errors.file, /10000|10,000|limit|200/);
    assert.ok(Date.now() - t0 < 10000, 'refusing a 10,000-page PDF took longer than 10 s');
    // Uploaded as a document, then sent by id: the same limit.
    const doc = new FormData();
    doc.append('file', new Blob([pdf]), 'many.pdf');
    const up = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/documents', doc);
    assertApiError(up, 'validation_failed', { field: 'file', what: 'POST /v1/documents with 10,000 pages' });
    await assertIntact(d, '10,000-page document');
});

test('a page 200 inches long fails its fax with document_page_too_large', async (t) => {
    await badUpload(t, d, makePdf({ pages: 1, height: 14400, text: 'mintfax long page' }), 'long.pdf', {
        api: null,
        fax: { code: 'document_page_too_large' },
    }, '200-inch page');
});

test('a zip-bomb PNG (100000 x 100000 pixels in a few hundred bytes) fails, never exhausts the daemon', async (t) => {
    // One row's worth of zeros compressed: the IHDR promises 10^10 pixels.
    const bomb = makePng({ width: 100000, height: 100000, idat: zlib.deflateSync(Buffer.alloc(100001 * 4)) });
    assert.ok(bomb.length < 2000);
    await badUpload(t, d, bomb, 'bomb.png', {
        api: { code: 'validation_failed', field: 'file' },
        fax: { code: 'document_page_too_large' },
    }, 'PNG zip bomb');
});

test('a text file called .pdf: 415 unsupported_media_type', async (t) => {
    await badUpload(t, d, Buffer.from('Dear colleague,\nthis is plain text, not a PDF.\n'), 'letter.pdf', {
        api: { code: 'unsupported_media_type' },
        fax: null,
    }, 'text called .pdf');
});

test('an empty file: 422 validation_failed (file)', async (t) => {
    await badUpload(t, d, Buffer.alloc(0), 'empty.pdf', {
        api: { code: 'validation_failed', field: 'file' },
        fax: null,
    }, 'empty file');
});

test('TIFFs with a broken IFD chain (next IFD past the end, at itself, back at the first): catalogued, no loop', async (t) => {
    for (const brokenNext of ['past_end', 'self', 'first']) {
        for (const pages of [1, 2]) {
            await badUpload(t, d, makeTiff({ pages, brokenNext }), `broken-${brokenNext}.tif`, {
                api: { code: 'validation_failed', field: 'file' },
                fax: { code: 'document_unreadable' },
            }, `TIFF of ${pages} page(s), next IFD ${brokenNext}`);
        }
    }
});

test('renderer failures carry the renderer\'s reason as error_subcode (it says more than error_code)', async () => {
    const cases = [
        { what: '200-inch page', file: makePdf({ pages: 1, height: 14400 }), name: 'long.pdf', code: 'document_page_too_large', reason: 'page_length' },
        { what: 'PNG zip bomb', file: makePng({ width: 100000, height: 100000, idat: zlib.deflateSync(Buffer.alloc(64)) }), name: 'bomb.png', code: 'document_page_too_large', reason: 'image_pixels' },
        { what: 'TIFF IFD loop', file: makeTiff({ pages: 2, brokenNext: 'first' }), name: 'loop.tif', code: 'document_unreadable', reason: 'tiff_ifd' },
    ];
    const outs = await Promise.all(cases.map((c) => sendOrRefused(d, () => upload(d, c.file, c.name), c.what)));
    const problems = [];
    cases.forEach((c, i) => {
        const fax = outs[i].fax;
        if (!fax) return;                 /* refused at upload: the message says why */
        assertFailed(fax, c.code, undefined, c.what);
        if (fax.error_subcode !== c.reason) {
            problems.push(`${c.what}: error_subcode ${JSON.stringify(fax.error_subcode)}, want the renderer's reason ${JSON.stringify(c.reason)}`);
        }
    });
    assert.ok(outs[0].fax, 'a 200-inch page opens fine, so it is accepted and its fax fails');
    assert.deepEqual(problems, []);
    await assertIntact(d, 'renderer reasons');
});

// ---------------------------------------------------------------------------
// Bad document_urls

test('document_url that never answers fails with document_fetch_failed/timeout (fetch_timeout 1 s)', async () => {
    const t0 = Date.now();
    const fax = await sendAndWait(f, () => sendJson(f, { document_url: `${srv.url}/hang` }), 'hang');
    assertFailed(fax, 'document_fetch_failed', 'timeout', 'hanging document_url');
    assert.ok(Date.now() - t0 < 8000, `the 1 s fetch timeout took ${Date.now() - t0} ms`);
    assert.equal(fax.pages_sent, 0);
    await assertIntact(f, 'fetch timeout');
});

test('document_url to loopback with allow_private off: blocked_address, nothing sent to the server', async () => {
    const before = srv.requests.length;
    const urls = [
        `${srv.url}/doc.pdf?direct`,
        `http://localhost:${srv.port}/doc.pdf?name`,
        `http://[::ffff:127.0.0.1]:${srv.port}/doc.pdf?v4mapped`,
        `${srv.url}/redirect/2`,
    ];
    srv.docs.set('/doc.pdf', makePdf({ pages: 1 }));
    const faxes = await Promise.all(urls.map((u) => sendAndWait(d, () => sendJson(d, { document_url: u }), u)));
    faxes.forEach((fax, i) => assertFailed(fax, 'document_fetch_failed', 'blocked_address', urls[i]));
    assert.deepEqual(srv.requests.slice(before).map((q) => q.path), [], 'the guarded daemon sent requests to loopback');
    await assertIntact(d, 'blocked_address');
});

test('document_url answering 404 fails with document_fetch_failed/http_404', async () => {
    const fax = await sendAndWait(f, () => sendJson(f, { document_url: `${srv.url}/missing.pdf` }), '404');
    assertFailed(fax, 'document_fetch_failed', 'http_404', '404 document_url');
    await assertIntact(f, '404');
});

test('document_url with more redirects than fetch_max_redirects (3) fails with too_many_redirects', async () => {
    srv.docs.set('/doc.pdf', makePdf({ pages: 1 }));
    const before = srv.requests.length;
    const fax = await sendAndWait(f, () => sendJson(f, { document_url: `${srv.url}/redirect/4` }), 'redirects');
    assertFailed(fax, 'document_fetch_failed', 'too_many_redirects', '4 redirects');
    const paths = srv.requests.slice(before).map((q) => q.path);
    assert.ok(!paths.includes('/doc.pdf'), `the document was fetched after too many redirects: ${paths.join(' ')}`);
    assert.ok(paths.length <= 4, `requests made: ${paths.join(' ')}`);
    await assertIntact(f, 'redirects');
});

test('document_url streaming 2 GB fails with too_large once past max_upload, and the download stops early', async (t) => {
    const t0 = Date.now();
    const fax = await sendAndWait(f, () => sendJson(f, { document_url: `${srv.url}/big` }), '2 GB');
    assertFailed(fax, 'document_fetch_failed', 'too_large', '2 GB document_url');
    await waitFor(() => srv.big.closedAt !== null, { what: 'the server to see the connection closed', timeoutMs: 5000 });
    assert.equal(srv.big.finished, false, 'the server sent the whole 2 GB');
    assert.ok(srv.big.sent < 64 * 1024 * 1024, `the server wrote ${srv.big.sent} bytes before the connection closed (cap ${FETCH_CAP})`);
    assert.ok(srv.big.closedAt - t0 < 10000, `the connection closed ${srv.big.closedAt - t0} ms after the request`);
    t.diagnostic(`the server wrote ${srv.big.sent} bytes before the fetch closed the connection, ${srv.big.closedAt - t0} ms after the request`);
    await assertIntact(f, '2 GB');
});

test('a fetched document that is not a document, or encrypted, fails its fax with the precise code', async () => {
    srv.docs.set('/notes.pdf', Buffer.from('just some text\n'));
    srv.docs.set('/locked.pdf', encryptedPdf());
    const [text, locked] = await Promise.all(['/notes.pdf', '/locked.pdf'].map((p) =>
        sendAndWait(f, () => sendJson(f, { document_url: `${srv.url}${p}` }), p)));
    const problems = [];
    for (const [fax, want, what] of [[text, 'document_unsupported', 'text file'], [locked, 'document_encrypted', 'encrypted PDF']]) {
        assert.equal(fax.status, 'failed', what);
        assert.ok(catalog[fax.error_code] && catalog[fax.error_code].status === 0, `${what}: ${fax.error_code} is not a catalogued fax outcome`);
        assert.equal(fax.cost.held, 0);
        assert.equal(fax.cost.captured, 0);
        if (fax.error_code !== want) problems.push(`${what} by document_url: error_code ${fax.error_code}/${fax.error_subcode}, want ${want}`);
    }
    await assertIntact(f, 'fetched bad documents');
    assert.deepEqual(problems, []);
});

// ---------------------------------------------------------------------------
// A renderer that hangs or crashes

test('a renderer that hangs is killed after [render] timeout: document_unreadable/render_timeout, the daemon carries on', async () => {
    const t0 = Date.now();
    // The upload check runs the same (hanging) renderer: refused after the limit.
    const out = await sendOrRefused(r, () => upload(r, makePdf({ pages: 1, text: 'HANG_ME' }), 'hang.pdf'), 'hang');
    const took = Date.now() - t0;
    if (out.fax) assertFailed(out.fax, 'document_unreadable', 'render_timeout', 'hanging renderer');
    else assert.match(out.refused.body.context.errors.file, /longer than allowed/);
    assert.ok(took < 6000, `the 1 s render timeout took ${took} ms`);
    await assertIntact(r, 'hanging renderer');
    const ok = await sendAndWait(r, () => upload(r, makePdf({ pages: 2 }), 'fine.pdf'), 'after the hang');
    assertDelivered(ok, 2, 'a normal fax after the hanging renderer');
});

test('a renderer that crashes (SIGSEGV): document_unreadable/render_crashed, the daemon carries on', async () => {
    const out = await sendOrRefused(r, () => upload(r, makePdf({ pages: 1, text: 'CRASH_ME' }), 'crash.pdf'), 'crash');
    if (out.fax) assertFailed(out.fax, 'document_unreadable', 'render_crashed', 'crashing renderer');
    else assert.match(out.refused.body.context.errors.file, /crashed/);
    await assertIntact(r, 'crashing renderer');
    const ok = await sendAndWait(r, () => upload(r, makePdf({ pages: 1 }), 'fine.pdf'), 'after the crash');
    assertDelivered(ok, 1, 'a normal fax after the crashing renderer');
});
