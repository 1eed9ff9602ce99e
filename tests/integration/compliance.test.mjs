// SPDX-License-Identifier: Apache-2.0
//
// HIPAA-grade controls (issue 7; DESIGN §4, §12, §13) against a real
// mintfaxd: zero-footprint retention end to end (kept fields only, 410s, the
// terminal event and its webhook reduced), a byte scan of the whole data dir
// that finds no copy of a purged fax's document or tags, standard retention
// on a scaled clock (faxes and unused uploads swept, counts in the audit
// log), DELETE /v1/faxes/{id}, encryption at rest (documents and rendered
// TIFF-F pages sealed, no plaintext on disk, a flipped byte fails closed: a
// changed pages file makes /image 500, a changed document makes a fax that
// still has to render it fail; master-key rotation keeps old pages and
// documents readable), the audit hash chain (verified here, filters, no secrets, an
// edited entry stops the next start), the BAA and the live-fax refusal, key
// last_used_at and revocation, and finally a grep of every daemon's stderr
// for secrets, tags, document text and unmasked phone numbers.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { api, daemonPath, freePort, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';
import { startReceiver } from './lib/receiver.mjs';

const BASE_ENV = {
    MINTFAX_SANDBOX_TIME_SCALE: '0.001',
    MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
    MINTFAX_RATELIMIT_REQUESTS: '100000',
};

/** The fields a purged fax keeps (notes/api-shapes.md, "Compliance"). */
const KEPT = ['id', 'object', 'status', 'pages', 'pages_sent', 'error_code', 'cost', 'environment', 'created_at',
    'updated_at', 'submitted_at', 'completed_at', 'deleted_at', 'purged_at', 'purged'].sort();

// Everything that must never reach a log, collected as the tests go.
const secrets = new Set();      // API keys and webhook secrets
const phi = new Set();          // tag values and document markers
const numbers = new Set();      // phone numbers faxed to

// Every daemon of this file, with a data directory this file owns (so that
// stderr logs outlive restarts and can be grepped by the last test).
const daemons = [];
const ownDirs = [];

let d;          // the main daemon
let receiver;   // a webhook receiver for it

async function newDir() {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-compliance-'));
    ownDirs.push(dir);
    return dir;
}

async function launch(env = {}, { dataDir, args = [] } = {}) {
    const dir = dataDir || await newDir();
    const dm = await startDaemon({ env: { ...BASE_ENV, ...env }, dataDir: dir, args });
    daemons.push(dm);
    for (const k of ['account_key', 'sandbox_key', 'live_key']) secrets.add(dm.keys[k]);
    return dm;
}

before(async () => {
    receiver = await startReceiver();
    d = await launch({
        MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'true',
        MINTFAX_WEBHOOKS_RETRY_SCHEDULE: '0,0.2',
        MINTFAX_COMPLIANCE_REQUIRE_BAA_FOR_LIVE: 'true',
        MINTFAX_SERVER_LOG_LEVEL: 'debug',   // the grep of the logs is stricter with more lines
    });
});

after(async () => {
    for (const dm of daemons) await dm.stop().catch(() => {});
    await receiver?.close();
    if (process.env.MFX_KEEP_DATA !== '1') {
        for (const dir of ownDirs) await fsp.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    }
});

// ---------------------------------------------------------------------------
// Helpers

const uniq = (prefix) => `${prefix}${crypto.randomBytes(6).toString('hex')}`;
/** A number the sandbox delivers (not a magic one), unique to this run. */
const randomNumber = () => `+1646${String(crypto.randomInt(1000000, 9999999))}`;
/** How logs show a number: "+1" then stars, then the last 4 digits. */
const masked = (n) => `${n.slice(0, 2)}${'*'.repeat(n.length - 6)}${n.slice(-4)}`;

function ok(r, status, what) {
    assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status}: ${r.text.slice(0, 500)}`);
    return r.body;
}

/** A new workspace of daemon dm: {id, sandbox, live} (the keys). */
async function newWorkspace(dm = d) {
    const r = await api(dm.url, dm.keys.account_key, 'POST', '/v1/workspaces', { name: uniq('compliance-') });
    ok(r, 201, 'POST /v1/workspaces');
    const key = (env) => r.body.keys.find((k) => k.environment === env).key;
    const ws = { id: r.body.id, sandbox: key('sandbox'), live: key('live') };
    secrets.add(ws.sandbox);
    secrets.add(ws.live);
    return ws;
}

/** The environment id of a key (from GET /v1/workspace). */
async function envIdOf(dm, key, type) {
    const w = ok(await api(dm.url, key, 'GET', '/v1/workspace'), 200, 'GET /v1/workspace');
    return w.environments.find((e) => e.type === type).id;
}

async function setSettings(dm, key, body) {
    return ok(await api(dm.url, key, 'PATCH', '/v1/environment/settings', body), 200, `PATCH settings ${JSON.stringify(body)}`);
}

/** POST /v1/faxes as multipart with the PDF as `file`. */
async function sendFax(dm, key, { to, pdf, tags, headers = {}, extra = {} }) {
    numbers.add(to);
    const fd = new FormData();
    fd.append('to', to);
    if (tags) fd.append('tags', JSON.stringify(tags));
    for (const [k, v] of Object.entries(extra)) fd.append(k, String(v));
    fd.append('file', new Blob([pdf], { type: 'application/pdf' }), 'chart.pdf');
    return api(dm.url, key, 'POST', '/v1/faxes', fd, headers);
}

async function sendFaxOk(dm, key, opts) {
    return ok(await sendFax(dm, key, opts), 201, `POST /v1/faxes to ${opts.to}`);
}

async function uploadDocument(dm, key, pdf) {
    const fd = new FormData();
    fd.append('file', new Blob([pdf], { type: 'application/pdf' }), 'upload.pdf');
    return ok(await api(dm.url, key, 'POST', '/v1/documents', fd), 201, 'POST /v1/documents');
}

const TERMINAL = new Set(['delivered', 'failed']);

async function waitTerminal(dm, key, id, timeoutMs = 15000) {
    return waitFor(async () => {
        const r = await api(dm.url, key, 'GET', `/v1/faxes/${id}`);
        return r.status === 200 && TERMINAL.has(r.body.status) ? r.body : null;
    }, { timeoutMs, intervalMs: 25, what: `fax ${id} terminal` });
}

async function eventsOf(dm, key, faxId) {
    const r = ok(await api(dm.url, key, 'GET', `/v1/events?fax_id=${faxId}&per_page=100`), 200, 'GET /v1/events?fax_id');
    return r.data;
}

/** Every file under dir (recursively) as [path, Buffer]. */
function allFiles(dir) {
    const out = [];
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, ent.name);
        if (ent.isDirectory()) out.push(...allFiles(p));
        else if (ent.isFile()) {
            try {
                out.push([p, fs.readFileSync(p)]);
            } catch (err) {
                if (err.code !== 'ENOENT') throw err;   // unlinked while we looked
            }
        }
    }
    return out;
}

/** The files under dir whose bytes contain needle (a string, as utf-8, or a Buffer), as relative paths. */
function filesContaining(dir, needle) {
    const n = Buffer.isBuffer(needle) ? needle : Buffer.from(needle, 'utf8');
    return allFiles(dir).filter(([, b]) => b.includes(n)).map(([p]) => path.relative(dir, p));
}

/** Where a fax's sealed pages and a document's sealed file live. */
const pagesFileOf = (dm, envId, faxId) => path.join(dm.dataDir, 'pages', envId, faxId);
const docFileOf = (dm, envId, docId) => path.join(dm.dataDir, 'documents', envId, docId);

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const MFXE1 = Buffer.from('MFXE\x01', 'latin1');
const TIFF_LE = Buffer.from('II*\0', 'latin1');
const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SEAL_OVERHEAD = 5 + 12 + 16;   // "MFXE" 0x01, nonce, tag

/** A few 48-byte pieces of a plaintext (start, middle, end): what a leaked copy would contain. */
function piecesOf(buf) {
    const n = Math.min(48, buf.length);
    const mid = Math.max(0, Math.floor(buf.length / 2) - 24);
    return [buf.subarray(0, n), buf.subarray(mid, mid + n), buf.subarray(buf.length - n)];
}

/**
 * Checks a sealed file on disk against its plaintext: the MFXE v1 header (so
 * no "II*" TIFF or "%PDF" header at offset 0), header + nonce + ciphertext +
 * tag in length, no piece of the plaintext anywhere in it, private mode.
 * Returns its bytes.
 */
function assertSealed(file, plain, what) {
    assert.ok(fs.existsSync(file), `${what}: ${file} exists`);
    const b = fs.readFileSync(file);
    assert.ok(b.subarray(0, 5).equals(MFXE1), `${what} starts with the MFXE v1 header`);
    assert.ok(!b.subarray(0, 3).equals(Buffer.from('II*')), `${what} is not a plaintext TIFF`);
    assert.ok(!b.includes(Buffer.from('%PDF')), `${what} holds no plaintext PDF`);
    assert.equal(b.length, plain.length + SEAL_OVERHEAD, `${what}: header, nonce, ciphertext, tag`);
    for (const piece of piecesOf(plain)) assert.ok(!b.includes(piece), `${what} holds no piece of the plaintext`);
    assert.equal(fs.statSync(file).mode & 0o077, 0, `${what} is private to mintfaxd`);
    return b;
}

/**
 * Decodes a TIFF far enough to trust it: little-endian "II*\0", the IFD chain
 * (no loop, inside the file), and in every IFD a width, a length, a CCITT
 * compression (TIFF-F) and strips inside the file. Returns the page count.
 */
function tiffPageCount(buf, what) {
    assert.ok(buf.length >= 8 && buf.subarray(0, 4).equals(TIFF_LE), `${what}: starts with II*\\0`);
    const size = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8 };
    const seen = new Set();
    let pages = 0;
    for (let off = buf.readUInt32LE(4); off !== 0;) {
        assert.ok(!seen.has(off), `${what}: IFD loop at ${off}`);
        assert.ok(off + 2 <= buf.length, `${what}: IFD offset ${off} past the end (${buf.length})`);
        seen.add(off);
        const n = buf.readUInt16LE(off);
        assert.ok(off + 2 + n * 12 + 4 <= buf.length, `${what}: IFD at ${off} runs past the end`);
        const tags = {};
        for (let i = 0; i < n; i++) {
            const e = off + 2 + i * 12;
            const type = buf.readUInt16LE(e + 2), count = buf.readUInt32LE(e + 4);
            const at = (size[type] || 1) * count <= 4 ? e + 8 : buf.readUInt32LE(e + 8);
            assert.ok(at + (size[type] || 1) * count <= buf.length, `${what}: tag ${buf.readUInt16LE(e)} inside the file`);
            const vals = [];
            for (let k = 0; k < count && (type === 3 || type === 4); k++) {
                vals.push(type === 3 ? buf.readUInt16LE(at + 2 * k) : buf.readUInt32LE(at + 4 * k));
            }
            tags[buf.readUInt16LE(e)] = vals;
        }
        pages++;
        const p = `${what}: page ${pages}`;
        assert.ok(tags[256]?.[0] > 0 && tags[257]?.[0] > 0, `${p} has a width and a length`);
        assert.ok([3, 4].includes(tags[259]?.[0]), `${p}: CCITT G3/G4 compression (got ${tags[259]})`);
        const offs = tags[273] || [], counts = tags[279] || [];
        assert.ok(offs.length > 0 && offs.length === counts.length, `${p} has strips`);
        offs.forEach((o, k) => assert.ok(counts[k] > 0 && o + counts[k] <= buf.length, `${p}: strip ${k} inside the file`));
        off = buf.readUInt32LE(off + 2 + n * 12);
        assert.ok(pages <= 10000, `${what}: too many IFDs`);
    }
    return pages;
}

/** Checks an answer of GET /v1/faxes/{id}/image: 200 image/tiff with `pages` pages; returns the TIFF bytes. */
function assertTiffImage(r, pages, what) {
    assert.equal(r.status, 200, `${what}: ${r.text.slice(0, 200)}`);
    assert.match(r.contentType, /^image\/tiff/, `${what}: content type`);
    assert.equal(tiffPageCount(r.bytes, what), pages, `${what}: the IFD chain has the fax's page count`);
    return r.bytes;
}

/** Checks GET /v1/documents/{id} against the uploaded bytes; returns it. */
async function assertDocumentDigest(dm, key, docId, pdf, what) {
    const g = ok(await api(dm.url, key, 'GET', `/v1/documents/${docId}`), 200, `${what}: GET /v1/documents/{id}`);
    assert.equal(g.id, docId);
    assert.equal(g.deleted, false, `${what}: not deleted`);
    assert.equal(g.size, pdf.length, `${what}: size`);
    assert.equal(g.sha256, sha256(pdf), `${what}: sha256 is the uploaded PDF's`);
    return g;
}

function assertKeptOnly(obj, what) {
    assert.deepEqual(Object.keys(obj).sort(), KEPT, `${what}: a purged fax shows only the kept fields`);
    assert.equal(obj.purged, true, `${what}: purged`);
    assert.ok(obj.purged_at, `${what}: purged_at is set`);
}

function assertEnvelope(r, status, code, what) {
    assert.equal(r.status, status, `${what}: status (body ${r.text.slice(0, 300)})`);
    assert.match(r.contentType, /^application\/json/, `${what}: JSON error body`);
    assert.equal(r.body.error, code, `${what}: error code`);
    for (const f of ['message', 'action', 'action_message', 'docs', 'request_id']) {
        assert.equal(typeof r.body[f], 'string', `${what}: envelope field ${f}`);
        assert.ok(r.body[f].length > 0, `${what}: envelope field ${f} not empty`);
    }
    assert.match(r.body.request_id, /^req_[0-9A-HJKMNP-TV-Z]{26}$/, `${what}: request_id`);
    assert.ok(r.body.docs.endsWith(`/docs/errors/${code}`), `${what}: docs link ${r.body.docs}`);
}

/** The 410 of a purged fax's /image or /resend. */
function assertGone(r, what) {
    assertEnvelope(r, 410, 'gone', what);
    assert.match(r.body.message, /delet/i, `${what}: the message says the document was deleted: ${r.body.message}`);
    assert.match(r.body.message, /retention|request|zero.footprint/i, `${what}: the message says why: ${r.body.message}`);
}

/** Checks a purged fax through the API: GET, /image, /resend, its events. */
async function assertPurgedViaApi(dm, key, faxId, { tagValue, number }) {
    const g = ok(await api(dm.url, key, 'GET', `/v1/faxes/${faxId}`), 200, 'GET purged fax');
    assertKeptOnly(g, 'GET /v1/faxes/{id}');
    assertGone(await api(dm.url, key, 'GET', `/v1/faxes/${faxId}/image`), 'GET /image of a purged fax');
    assertGone(await api(dm.url, key, 'POST', `/v1/faxes/${faxId}/resend`, {}), 'POST /resend of a purged fax');
    const evs = await eventsOf(dm, key, faxId);
    assert.ok(evs.length >= 1, 'the fax has events');
    const terminal = evs.filter((e) => e.type === 'fax.delivered' || e.type === 'fax.failed');
    assert.equal(terminal.length, 1, `exactly one terminal event (got ${evs.map((e) => e.type).join(', ')})`);
    for (const e of evs) {
        assertKeptOnly(e.data.object, `event ${e.type} data.object`);
        const text = JSON.stringify(e);
        assert.ok(!text.includes(tagValue), `event ${e.type} does not contain the tag value`);
        assert.ok(!text.includes(number), `event ${e.type} does not contain the number`);
    }
    return { fax: g, terminal: terminal[0] };
}

/** GET /v1/workspace/audit parsed: {text, lines, entries}. */
async function auditLog(dm, key, query = '') {
    const r = await api(dm.url, key, 'GET', `/v1/workspace/audit${query}`);
    assert.equal(r.status, 200, `GET /v1/workspace/audit${query}: ${r.text.slice(0, 300)}`);
    assert.match(r.contentType, /^application\/jsonl/, 'audit log content type');
    const lines = r.text.split('\n').filter((l) => l.length > 0);
    assert.ok(r.text === '' || r.text.endsWith('\n'), 'every line ends with a newline');
    return { text: r.text, lines, entries: lines.map((l) => JSON.parse(l)) };
}

/** Verifies a whole chain (from seq 1) as a client would; returns the entries. */
function verifyChain(lines) {
    let prev = '0'.repeat(64);
    const marker = ',"hash":"';
    return lines.map((line, i) => {
        const at = line.lastIndexOf(marker);
        assert.ok(at > 0, `line ${i + 1} has a hash`);
        const body = `${line.slice(0, at)}}`;
        const entry = JSON.parse(line);
        assert.deepEqual(Object.keys(entry).sort(), ['action', 'actor', 'at', 'details', 'hash', 'prev_hash', 'seq', 'target'],
            `line ${i + 1}: the entry's fields`);
        assert.equal(entry.seq, i + 1, `line ${i + 1}: seq`);
        assert.equal(entry.prev_hash, prev, `line ${i + 1}: prev_hash is the previous hash`);
        const want = crypto.createHash('sha256').update(prev + body).digest('hex');
        assert.equal(entry.hash, want, `line ${i + 1} (${entry.action}): hash = sha256(prev_hash + entry)`);
        assert.equal(line, `${body.slice(0, -1)},"hash":"${want}"}`, `line ${i + 1}: the hash ends the line`);
        prev = want;
        return entry;
    });
}

/** The key id of a key secret, from the account's key list (display = first 14 chars + "..."). */
async function keyIdOf(dm, wsId, secret) {
    const r = ok(await api(dm.url, dm.keys.account_key, 'GET', `/v1/workspaces/${wsId}/keys?per_page=100`), 200, 'GET keys');
    const k = r.data.find((x) => x.display === `${secret.slice(0, 14)}...`);
    assert.ok(k, `a key with display ${secret.slice(0, 14)}... is listed`);
    return k.id;
}

// ---------------------------------------------------------------------------
// Zero footprint

// One zero-footprint fax, shared by the two tests that look at it.
let zfPromise;
function zeroFootprintFax() {
    zfPromise ??= (async () => {
        const ws = await newWorkspace();
        const s = await setSettings(d, ws.sandbox, { retention: 'zero_footprint' });
        assert.equal(s.retention, 'zero_footprint', 'settings show zero_footprint');
        const ep = ok(await api(d.url, ws.sandbox, 'POST', '/v1/webhooks', { url: `${receiver.url}/zf-${ws.id}` }),
            201, 'POST /v1/webhooks');
        secrets.add(ep.signing_secret);
        const marker = uniq('ZFMARKER');
        const tagValue = uniq('patient-');
        const idem = uniq('idem-zf-');
        phi.add(marker);
        phi.add(tagValue);
        const number = randomNumber();
        const pdf = makePdf({ pages: 1, text: marker });
        const created = await sendFaxOk(d, ws.sandbox, { to: number, pdf, tags: { patient: tagValue },
            headers: { 'Idempotency-Key': idem } });
        assert.equal(created.tags.patient, tagValue, 'the fax shows its tags until it is terminal');
        const terminal = await waitTerminal(d, ws.sandbox, created.id);
        return { ws, ep, marker, tagValue, number, pdf, created, terminal, idem };
    })();
    return zfPromise;
}

test('zero_footprint: a terminal fax keeps only its billing record, /image and /resend are 410, the terminal event (stored and delivered) carries the kept fields only', async () => {
    const zf = await zeroFootprintFax();
    const { ws, created, terminal } = zf;
    assert.equal(terminal.status, 'delivered', 'the sandbox delivered the fax');
    // Purged in the same transaction as the terminal event: never seen terminal and whole.
    assertKeptOnly(terminal, 'the fax as first seen terminal');
    assert.equal(terminal.id, created.id);
    assert.equal(terminal.pages, 1, 'pages kept');
    assert.equal(typeof terminal.cost, 'object', 'cost kept');
    const { terminal: ev } = await assertPurgedViaApi(d, ws.sandbox, created.id, zf);

    // The idempotency record held the whole fax; the purge rewrites it to the
    // kept record, so a retry with the same key replays that and never sends
    // the document a second time (DESIGN §5).
    const before = await api(d.url, ws.sandbox, 'GET', '/v1/faxes?per_page=100');
    const replay = await sendFax(d, ws.sandbox, { to: zf.number, pdf: zf.pdf, tags: { patient: zf.tagValue },
        headers: { 'Idempotency-Key': zf.idem } });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true', 'the purged fax\'s answer is replayed');
    assert.equal(replay.body.id, created.id, 'the replay names the original fax');
    assertKeptOnly(replay.body, 'the replayed answer');
    const afterList = await api(d.url, ws.sandbox, 'GET', '/v1/faxes?per_page=100');
    assert.equal(afterList.body.data.length, before.body.data.length, 'no second fax');

    // The webhook endpoint gets the terminal event, reduced.
    const got = await receiver.waitFor((reqs) => reqs.find((q) => q.path === `/zf-${ws.id}` &&
        q.headers['webhook-id'] === ev.id), { what: `the terminal event ${ev.id} at the receiver` });
    const body = JSON.parse(got.body);
    assert.equal(body.type, 'fax.delivered');
    assert.equal(body.data.object.id, created.id);
    assertKeptOnly(body.data.object, 'the delivered webhook data.object');
    assert.ok(!got.body.includes(zf.tagValue), 'the terminal webhook does not carry the tag value');
    assert.ok(!got.body.includes(zf.number), 'the terminal webhook does not carry the number');

    // And the audit log says why it went.
    const { entries } = await auditLog(d, ws.sandbox, '?action=fax.deleted');
    const del = entries.find((e) => e.target === created.id);
    assert.ok(del, 'a fax.deleted audit entry for the purged fax');
    assert.equal(del.details.reason, 'zero_footprint');
    assert.equal(del.actor, 'system');
});

test('zero_footprint: after the purge no file under the data dir (sqlite, -wal, -shm, documents/, pages/, logs) holds the document text or the tag value', async () => {
    const zf = await zeroFootprintFax();
    const doc = zf.created.document_id;
    assert.ok(doc, 'the fax had a document');
    assert.equal(zf.terminal.status, 'delivered', 'the fax was rendered and sent');
    const envId = await envIdOf(d, zf.ws.sandbox, 'sandbox');
    // The WAL checkpoint runs after the commit: give it a moment, then look.
    await waitFor(() => !fs.existsSync(docFileOf(d, envId, doc)) && !fs.existsSync(pagesFileOf(d, envId, zf.created.id)),
        { timeoutMs: 3000, what: 'the document and pages files unlinked' });
    const files = allFiles(d.dataDir).map(([p]) => path.relative(d.dataDir, p));
    assert.ok(files.some((f) => f.endsWith('mintfax.db')), `the scan sees the database (${files.join(', ')})`);
    assert.deepEqual(filesContaining(d.dataDir, zf.marker), [], 'files holding the document marker');
    assert.deepEqual(filesContaining(d.dataDir, zf.tagValue), [], 'files holding the tag value');
    assert.deepEqual(filesContaining(d.dataDir, zf.number), [], 'files holding the phone number');
    assert.deepEqual(filesContaining(d.dataDir, zf.idem), [], 'files holding the Idempotency-Key');
    for (const piece of piecesOf(zf.pdf)) assert.deepEqual(filesContaining(d.dataDir, piece), [], 'files holding a piece of the PDF');
    const g = ok(await api(d.url, zf.ws.sandbox, 'GET', `/v1/documents/${doc}`), 200, 'GET /v1/documents/{id}');
    assert.equal(g.deleted, true, 'the document shows deleted');
    assert.equal(g.sha256, '', 'a deleted document keeps no digest');
});

test('zero_footprint: failed and cancelled faxes are purged the moment they end too', async () => {
    const ws = await newWorkspace();
    await setSettings(d, ws.sandbox, { retention: 'zero_footprint' });
    const tagValue = uniq('zf-fail-');
    phi.add(tagValue);
    // A permanent failure (not retried).
    const failed = await sendFaxOk(d, ws.sandbox, { to: '+15005550005', pdf: makePdf({ text: 'zf failed' }), tags: { t: tagValue } });
    const ft = await waitTerminal(d, ws.sandbox, failed.id);
    assert.equal(ft.status, 'failed');
    assertKeptOnly(ft, 'a failed fax as first seen terminal');
    assert.equal(ft.error_code, 'bad_destination', 'the error code is kept');
    await assertPurgedViaApi(d, ws.sandbox, failed.id, { tagValue, number: '+15005550005' });
    // Cancelled while retrying: the cancel answer is already the kept record.
    const busy = await sendFaxOk(d, ws.sandbox, { to: '+15005550002', pdf: makePdf({ text: 'zf busy' }), tags: { t: tagValue },
        extra: { retries: 10 } });
    const c = ok(await api(d.url, ws.sandbox, 'POST', `/v1/faxes/${busy.id}/cancel`), 200, 'cancel');
    assertKeptOnly(c, 'the cancel answer in zero_footprint');
    assert.equal(c.status, 'failed');
    assert.equal(c.error_code, 'cancelled');
    await assertPurgedViaApi(d, ws.sandbox, busy.id, { tagValue, number: '+15005550002' });
    assert.deepEqual(filesContaining(d.dataDir, tagValue), [], 'files holding the tag value');
    const envId = await envIdOf(d, ws.sandbox, 'sandbox');
    for (const f of [failed, busy]) {
        await waitFor(() => !fs.existsSync(pagesFileOf(d, envId, f.id)) && !fs.existsSync(docFileOf(d, envId, f.document_id)),
            { timeoutMs: 3000, what: `the pages and document files of ${f.id} unlinked` });
    }
});

// ---------------------------------------------------------------------------
// DELETE /v1/faxes/{id}, with the positive control of the scan

test('standard retention: a terminal fax\'s document and rendered pages are stored sealed (no plaintext in the data dir), the document\'s digest is the upload\'s and /image returns the pages as a TIFF; DELETE /v1/faxes/{id} then purges both and no copy remains', async () => {
    const ws = await newWorkspace();
    const envId = await envIdOf(d, ws.sandbox, 'sandbox');
    const marker = uniq('DELMARKER');
    const tagValue = uniq('mrn-');
    phi.add(marker);
    phi.add(tagValue);
    const number = randomNumber();
    const pdf = makePdf({ pages: 2, text: marker });
    const created = await sendFaxOk(d, ws.sandbox, { to: number, pdf, tags: { mrn: tagValue } });
    const fax = await waitTerminal(d, ws.sandbox, created.id);
    assert.equal(fax.status, 'delivered');
    assert.equal(fax.tags.mrn, tagValue, 'standard retention keeps the tags for now');
    assert.equal(fax.purged, undefined, 'not purged');

    // Positive control: the bytes are there, just not in the clear.
    const docFile = docFileOf(d, envId, fax.document_id);
    const pagesFile = pagesFileOf(d, envId, fax.id);
    assert.ok(fs.existsSync(docFile), `the document file ${docFile} exists`);
    assert.ok(fs.existsSync(pagesFile), `the pages file ${pagesFile} exists`);
    await assertDocumentDigest(d, ws.sandbox, fax.document_id, pdf, 'the fax\'s document');
    const sealedDoc = assertSealed(docFile, pdf, 'the document file');
    assert.equal(fax.pages, 2, 'the fax has the PDF\'s two pages');
    const tiff = assertTiffImage(await api(d.url, ws.sandbox, 'GET', `/v1/faxes/${fax.id}/image`), fax.pages, 'GET /image');
    const sealedPages = assertSealed(pagesFile, tiff, 'the pages file');
    assert.deepEqual(filesContaining(d.dataDir, marker), [], 'no file holds the document text (encrypted at rest)');
    for (const piece of [...piecesOf(pdf), ...piecesOf(tiff)]) {
        assert.deepEqual(filesContaining(d.dataDir, piece), [], 'no file holds a piece of the PDF or of the TIFF (encrypted at rest)');
    }
    assert.ok(filesContaining(d.dataDir, tagValue).length > 0, 'the scan does find the tag value before the purge (the scanner works)');
    const rel = (f) => path.relative(d.dataDir, f);
    const docTag = sealedDoc.subarray(-16), pagesTag = sealedPages.subarray(-16);
    assert.deepEqual(filesContaining(d.dataDir, docTag), [rel(docFile)], 'the scan finds the sealed document (documents/ is scanned)');
    assert.deepEqual(filesContaining(d.dataDir, pagesTag), [rel(pagesFile)], 'the scan finds the sealed pages (pages/ is scanned)');

    const del = await api(d.url, ws.sandbox, 'DELETE', `/v1/faxes/${fax.id}`);
    ok(del, 200, 'DELETE /v1/faxes/{id}');
    assertKeptOnly(del.body, 'DELETE answer');
    assert.equal(del.body.status, 'delivered', 'the status is kept');
    assert.equal(del.body.pages, 2, 'the page count is kept');
    assert.deepEqual(del.body.cost, fax.cost, 'the cost is kept');
    await assertPurgedViaApi(d, ws.sandbox, fax.id, { tagValue, number });
    const again = await api(d.url, ws.sandbox, 'DELETE', `/v1/faxes/${fax.id}`);
    assert.equal(again.status, 200, `a second DELETE is harmless: ${again.text.slice(0, 200)}`);

    await waitFor(() => !fs.existsSync(docFile) && !fs.existsSync(pagesFile),
        { timeoutMs: 3000, what: 'the document and pages files unlinked' });
    assert.deepEqual(filesContaining(d.dataDir, docTag), [], 'files holding the sealed document after DELETE');
    assert.deepEqual(filesContaining(d.dataDir, pagesTag), [], 'files holding the sealed pages after DELETE');
    for (const piece of [...piecesOf(pdf), ...piecesOf(tiff)]) {
        assert.deepEqual(filesContaining(d.dataDir, piece), [], 'files holding a piece of the PDF or the TIFF after DELETE');
    }
    const gd = ok(await api(d.url, ws.sandbox, 'GET', `/v1/documents/${fax.document_id}`), 200, 'GET /v1/documents/{id}');
    assert.equal(gd.deleted, true, 'the document shows deleted');
    assert.equal(gd.sha256, '', 'a deleted document keeps no digest');
    assert.deepEqual(filesContaining(d.dataDir, marker), [], 'files holding the document marker after DELETE');
    assert.deepEqual(filesContaining(d.dataDir, tagValue), [], 'files holding the tag value after DELETE');
    assert.deepEqual(filesContaining(d.dataDir, number), [], 'files holding the number after DELETE');

    const { entries } = await auditLog(d, ws.sandbox, '?action=fax.deleted');
    const entry = entries.find((e) => e.target === fax.id);
    assert.ok(entry, 'a fax.deleted audit entry');
    assert.equal(entry.details.reason, 'deleted_by_request');
    assert.equal(entry.actor, await keyIdOf(d, ws.id, ws.sandbox), 'the actor is the key that deleted it');
});

test('DELETE /v1/faxes/{id} of a fax still on its way is 409 invalid_state and changes nothing', async () => {
    const ws = await newWorkspace();
    const envId = await envIdOf(d, ws.sandbox, 'sandbox');
    const busy = await sendFaxOk(d, ws.sandbox, { to: '+15005550002', pdf: makePdf({ text: 'busy' }), extra: { retries: 10 } });
    // Its pages are rendered before the first call; wait for them so that there is something to keep.
    const first = await waitFor(async () => {
        const i = await api(d.url, ws.sandbox, 'GET', `/v1/faxes/${busy.id}/image`);
        if (i.status === 409) return null;
        return i;
    }, { timeoutMs: 5000, intervalMs: 20, what: 'the busy fax\'s pages rendered' });
    const tiff = assertTiffImage(first, 1, 'GET /image of the busy fax');
    const r = await api(d.url, ws.sandbox, 'DELETE', `/v1/faxes/${busy.id}`);
    assertEnvelope(r, 409, 'invalid_state', 'DELETE of a non-terminal fax');
    const g = ok(await api(d.url, ws.sandbox, 'GET', `/v1/faxes/${busy.id}`), 200, 'GET');
    assert.equal(g.purged, undefined, 'not purged');
    assert.equal(g.to, '+15005550002', 'the fax is whole');
    assert.ok(!TERMINAL.has(g.status), `still on its way (${g.status})`);
    const img = await api(d.url, ws.sandbox, 'GET', `/v1/faxes/${busy.id}/image`);
    assert.ok(assertTiffImage(img, 1, 'its image is still there').equals(tiff), 'the same pages');
    assert.ok(fs.existsSync(pagesFileOf(d, envId, busy.id)), 'the pages file is still there');
    assert.ok(fs.existsSync(docFileOf(d, envId, busy.document_id)), 'the document file is still there');
    ok(await api(d.url, ws.sandbox, 'POST', `/v1/faxes/${busy.id}/cancel`), 200, 'cancel');
});

test('DELETE /v1/faxes/{id} of one of two faxes sharing an uploaded document keeps the document until the last one is purged', async () => {
    const ws = await newWorkspace();
    const envId = await envIdOf(d, ws.sandbox, 'sandbox');
    const marker = uniq('SHARED');
    phi.add(marker);
    const pdf = makePdf({ text: marker });
    const doc = await uploadDocument(d, ws.sandbox, pdf);
    const file = docFileOf(d, envId, doc.id);
    const mk = async () => {
        const to = randomNumber();
        numbers.add(to);
        const f = ok(await api(d.url, ws.sandbox, 'POST', '/v1/faxes', { to, document_id: doc.id }), 201, 'POST fax with document_id');
        return waitTerminal(d, ws.sandbox, f.id);
    };
    const [a, b] = [await mk(), await mk()];
    assert.ok(fs.existsSync(pagesFileOf(d, envId, a.id)) && fs.existsSync(pagesFileOf(d, envId, b.id)), 'each fax has its pages file');
    ok(await api(d.url, ws.sandbox, 'DELETE', `/v1/faxes/${a.id}`), 200, 'DELETE the first');
    await waitFor(() => !fs.existsSync(pagesFileOf(d, envId, a.id)), { timeoutMs: 3000, what: 'the first fax\'s pages unlinked' });
    assert.ok(fs.existsSync(file), 'the document stays while another fax uses it');
    assert.ok(fs.existsSync(pagesFileOf(d, envId, b.id)), 'the other fax\'s pages stay');
    assertTiffImage(await api(d.url, ws.sandbox, 'GET', `/v1/faxes/${b.id}/image`), b.pages, 'the other fax\'s image still works');
    await assertDocumentDigest(d, ws.sandbox, doc.id, pdf, 'the shared document');
    ok(await api(d.url, ws.sandbox, 'DELETE', `/v1/faxes/${b.id}`), 200, 'DELETE the second');
    await waitFor(() => !fs.existsSync(file) && !fs.existsSync(pagesFileOf(d, envId, b.id)),
        { timeoutMs: 3000, what: 'the shared document and the second fax\'s pages unlinked' });
    const gd = ok(await api(d.url, ws.sandbox, 'GET', `/v1/documents/${doc.id}`), 200, 'GET doc');
    assert.equal(gd.deleted, true);
    assert.equal(gd.sha256, '', 'a deleted document keeps no digest');
    const { entries } = await auditLog(d, ws.sandbox, '?action=fax.deleted');
    assert.deepEqual(entries.map((e) => [e.target, e.details.document_removed]), [[a.id, false], [b.id, true]],
        'fax.deleted entries say whether the document went');
});

// ---------------------------------------------------------------------------
// Standard retention on a scaled clock

test('standard retention (retention_days 1, a day = 0.5 s): the sweeper purges a fax about 0.5 s after it became terminal, removes an unused upload, and audits the counts', async () => {
    const r = await launch({ MINTFAX_RETENTION_DAY_SECONDS: '0.5', MINTFAX_RETENTION_SWEEP_INTERVAL: '0.2' });
    const ws = await newWorkspace(r);
    const envId = await envIdOf(r, ws.sandbox, 'sandbox');
    const s = await setSettings(r, ws.sandbox, { retention_days: 1 });
    assert.equal(s.retention, 'standard');
    assert.equal(s.retention_days, 1);

    const unusedMarker = uniq('UNUSED');
    phi.add(unusedMarker);
    const unused = await uploadDocument(r, ws.sandbox, makePdf({ text: unusedMarker }));
    const unusedFile = docFileOf(r, envId, unused.id);
    assert.ok(fs.existsSync(unusedFile), 'the upload is stored');

    const marker = uniq('RETMARKER');
    const tagValue = uniq('ret-');
    phi.add(marker);
    phi.add(tagValue);
    const number = randomNumber();
    const created = await sendFaxOk(r, ws.sandbox, { to: number, pdf: makePdf({ text: marker }), tags: { k: tagValue } });
    const term = await waitTerminal(r, ws.sandbox, created.id);
    assert.equal(term.status, 'delivered');
    const completed = Date.parse(term.completed_at);
    const docFile = docFileOf(r, envId, term.document_id);
    const pagesFile = pagesFileOf(r, envId, term.id);

    // Not before the retention day is over...
    if (Date.now() < completed + 350) {
        const early = ok(await api(r.url, ws.sandbox, 'GET', `/v1/faxes/${created.id}`), 200, 'GET early');
        if (Date.now() < completed + 450) assert.equal(early.purged, undefined, 'not purged before 0.5 s');
    }
    // ...and soon after.
    const purged = await waitFor(async () => {
        const g = await api(r.url, ws.sandbox, 'GET', `/v1/faxes/${created.id}`);
        return g.body?.purged ? g.body : null;
    }, { timeoutMs: 5000, intervalMs: 25, what: 'the sweeper purging the fax' });
    assertKeptOnly(purged, 'the swept fax');
    const after = Date.parse(purged.purged_at) - completed;
    assert.ok(after >= 500, `purged ${after} ms after completion: not before one retention day (500 ms)`);
    assert.ok(after <= 1500, `purged ${after} ms after completion: within a day plus a sweep interval or so`);
    await assertPurgedViaApi(r, ws.sandbox, created.id, { tagValue, number });

    await waitFor(() => !fs.existsSync(docFile) && !fs.existsSync(unusedFile) && !fs.existsSync(pagesFile),
        { timeoutMs: 3000, what: 'both document files and the pages file unlinked' });
    const ud = ok(await api(r.url, ws.sandbox, 'GET', `/v1/documents/${unused.id}`), 200, 'GET unused document');
    assert.equal(ud.deleted, true, 'the unused upload shows deleted');
    for (const needle of [marker, tagValue, unusedMarker, number]) {
        assert.deepEqual(filesContaining(r.dataDir, needle), [], `files holding ${needle} after the sweep`);
    }

    const { entries } = await auditLog(r, ws.sandbox);
    verifyChain((await auditLog(r, ws.sandbox)).lines);
    const removed = entries.filter((e) => e.action === 'retention.documents_removed');
    assert.ok(removed.length >= 1, 'a retention.documents_removed entry');
    for (const e of removed) {
        assert.equal(e.actor, 'system');
        assert.deepEqual(Object.keys(e.details).sort(), ['documents', 'faxes'], 'details are the counts');
    }
    const sum = (f) => removed.reduce((a, e) => a + e.details[f], 0);
    assert.equal(sum('faxes'), 1, 'one fax purged in all');
    assert.equal(sum('documents'), 2, 'two documents removed in all (the fax\'s and the unused upload)');
    const fd = entries.find((e) => e.action === 'fax.deleted' && e.target === created.id);
    assert.ok(fd, 'a fax.deleted entry for the swept fax');
    assert.equal(fd.details.reason, 'retention_days');
});

// ---------------------------------------------------------------------------
// Encryption at rest

test('encryption at rest: stored documents and rendered pages are sealed; a flipped byte or a swapped pages file makes /image 500 data_integrity_failed, a flipped or swapped document makes a new fax fail document_integrity_failed; rotate-master-key keeps old pages and documents readable', async () => {
    const dir = await newDir();
    let e = await launch({}, { dataDir: dir });
    const key = e.keys.sandbox_key;
    const envId = await envIdOf(e, key, 'sandbox');
    const pdfs = ['A', 'B', 'C'].map((x) => makePdf({ pages: 1, text: uniq(`ENC${x}`) }));
    const faxes = [];
    for (const pdf of pdfs) {
        const f = await sendFaxOk(e, key, { to: randomNumber(), pdf });
        faxes.push(await waitTerminal(e, key, f.id));
    }
    faxes.forEach((f, i) => assert.equal(f.status, 'delivered', `fax ${i} delivered`));
    const docFiles = faxes.map((f) => docFileOf(e, envId, f.document_id));
    const pagesFiles = faxes.map((f) => pagesFileOf(e, envId, f.id));
    const tiffs = [];
    for (const [i, f] of faxes.entries()) {
        await assertDocumentDigest(e, key, f.document_id, pdfs[i], `document ${i}`);
        tiffs.push(assertTiffImage(await api(e.url, key, 'GET', `/v1/faxes/${f.id}/image`), f.pages, `GET /image of fax ${i}`));
    }
    const sealedDocs = docFiles.map((f, i) => assertSealed(f, pdfs[i], `document file ${i}`));
    const sealedPages = pagesFiles.map((f, i) => assertSealed(f, tiffs[i], `pages file ${i}`));
    const keyFile = path.join(dir, 'master.key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'master.key is 0600');

    // A flipped byte in the ciphertext of A's pages.
    const flipped = Buffer.from(sealedPages[0]);
    flipped[40] ^= 0x01;
    fs.writeFileSync(pagesFiles[0], flipped);
    const bad = await api(e.url, key, 'GET', `/v1/faxes/${faxes[0].id}/image`);
    assertEnvelope(bad, 500, 'data_integrity_failed', 'GET /image of a tampered pages file');
    assert.ok(!bad.bytes.includes(Buffer.from('II*')), 'no plaintext TIFF in the error');
    assertEnvelope(await api(e.url, key, 'GET', `/v1/faxes/${faxes[0].id}/pages/1.png`), 500, 'data_integrity_failed',
        'GET /pages/1.png of a tampered pages file');
    // B's sealed pages in C's place: the fax id is bound in (aad).
    fs.writeFileSync(pagesFiles[2], sealedPages[1]);
    const swapped = await api(e.url, key, 'GET', `/v1/faxes/${faxes[2].id}/image`);
    assertEnvelope(swapped, 500, 'data_integrity_failed', 'GET /image of another fax\'s sealed pages');
    const good = assertTiffImage(await api(e.url, key, 'GET', `/v1/faxes/${faxes[1].id}/image`), faxes[1].pages, 'GET /image of B');
    assert.ok(good.equals(tiffs[1]), 'untouched pages still decrypt to the same TIFF');
    const png = await api(e.url, key, 'GET', `/v1/faxes/${faxes[1].id}/pages/1.png`);
    assert.equal(png.status, 200, `GET /pages/1.png of B: ${png.text.slice(0, 200)}`);
    assert.match(png.contentType, /^image\/png/);
    assert.ok(png.bytes.subarray(0, 8).equals(PNG_SIG), 'a PNG preview of untouched pages');

    // A flipped byte in A's document, and B's sealed document in C's place
    // (the document id is bound in): a new fax that has to render either fails closed.
    const flippedDoc = Buffer.from(sealedDocs[0]);
    flippedDoc[40] ^= 0x01;
    fs.writeFileSync(docFiles[0], flippedDoc);
    fs.writeFileSync(docFiles[2], sealedDocs[1]);
    for (const [i, what] of [[0, 'a flipped byte'], [2, 'another document\'s sealed file']]) {
        const f = ok(await api(e.url, key, 'POST', '/v1/faxes', { to: randomNumber(), document_id: faxes[i].document_id }),
            201, `POST /v1/faxes with document ${i}`);
        const t = await waitTerminal(e, key, f.id);
        assert.equal(t.status, 'failed', `a document with ${what}: the fax fails`);
        assert.equal(t.error_code, 'document_unreadable', `a document with ${what}: error_code`);
        assert.equal(t.error_subcode, 'document_integrity_failed', `a document with ${what}: error_subcode`);
        assert.ok(!fs.existsSync(pagesFileOf(e, envId, f.id)), `a document with ${what}: no pages were stored`);
        assertEnvelope(await api(e.url, key, 'GET', `/v1/faxes/${f.id}/image`), 409, 'invalid_state',
            `GET /image of a fax that ended before rendering (${what})`);
    }

    // Rotation with the daemon stopped.
    await e.stop();
    const oldKey = fs.readFileSync(keyFile);
    const rot = spawnSync(daemonPath, ['--data-dir', dir, 'rotate-master-key'],
        { env: { ...process.env, ...BASE_ENV }, encoding: 'utf8', timeout: 20000 });
    assert.equal(rot.status, 0, `rotate-master-key exits 0 (stdout ${rot.stdout}, stderr ${rot.stderr})`);
    const newKey = fs.readFileSync(keyFile);
    assert.ok(!newKey.equals(oldKey), 'master.key changed');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'the new master.key is 0600');
    assert.ok(fs.readFileSync(docFiles[1]).equals(sealedDocs[1]), 'document files are not re-encrypted by a rotation');
    assert.ok(fs.readFileSync(pagesFiles[1]).equals(sealedPages[1]), 'pages files are not re-encrypted by a rotation');
    assert.ok(!fs.existsSync(`${keyFile}.new`), 'no master.key.new left behind');

    e = await launch({}, { dataDir: dir });
    const after = assertTiffImage(await api(e.url, key, 'GET', `/v1/faxes/${faxes[1].id}/image`), faxes[1].pages,
        'GET /image after the rotation');
    assert.ok(after.equals(tiffs[1]), 'old pages decrypt to the same TIFF after the rotation');
    const still = await api(e.url, key, 'GET', `/v1/faxes/${faxes[0].id}/image`);
    assertEnvelope(still, 500, 'data_integrity_failed', 'the tampered pages file still fails closed');
    // An old document, sent again: it still decrypts and renders.
    await assertDocumentDigest(e, key, faxes[1].document_id, pdfs[1], 'an old document after the rotation');
    const again = await waitTerminal(e, key, ok(await api(e.url, key, 'POST', '/v1/faxes',
        { to: randomNumber(), document_id: faxes[1].document_id }), 201, 'POST /v1/faxes with an old document_id').id);
    assert.equal(again.status, 'delivered', `a new fax from an old document is delivered (${again.error_code} ${again.error_subcode})`);
    assertSealed(pagesFileOf(e, envId, again.id), assertTiffImage(await api(e.url, key, 'GET', `/v1/faxes/${again.id}/image`),
        again.pages, 'GET /image of a fax from an old document'), 'its pages file');
    // A new document under the rotated key.
    const pdf4 = makePdf({ text: uniq('ENCD') });
    const f4 = await waitTerminal(e, key, (await sendFaxOk(e, key, { to: randomNumber(), pdf: pdf4 })).id);
    assert.equal(f4.status, 'delivered');
    await assertDocumentDigest(e, key, f4.document_id, pdf4, 'a new document after the rotation');
    assertSealed(docFileOf(e, envId, f4.document_id), pdf4, 'the new document file');
    const tiff4 = assertTiffImage(await api(e.url, key, 'GET', `/v1/faxes/${f4.id}/image`), f4.pages, 'GET /image of a new fax after the rotation');
    assertSealed(pagesFileOf(e, envId, f4.id), tiff4, 'the new pages file');
});

// ---------------------------------------------------------------------------
// Audit log

test('audit log: JSON Lines with a valid SHA-256 chain, every audited action with key ids as actors and no secrets, since/action filters; an edited entry stops the next start unless --allow-broken-audit', async () => {
    const dir = await newDir();
    const env = { MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'true', MINTFAX_WEBHOOKS_RETRY_SCHEDULE: '0,0.2' };
    let a = await launch(env, { dataDir: dir });
    const { account_key: acct, workspace_id: wsId, sandbox_key: key } = a.keys;

    // Key created and revoked by the account key, in the sandbox environment.
    const k = ok(await api(a.url, acct, 'POST', `/v1/workspaces/${wsId}/keys`, { environment: 'sandbox', name: 'audit-test' }),
        201, 'POST keys');
    secrets.add(k.key);
    ok(await api(a.url, acct, 'DELETE', `/v1/workspaces/${wsId}/keys/${k.id}`), 200, 'DELETE key');
    // Webhook endpoint lifecycle.
    const ep = ok(await api(a.url, key, 'POST', '/v1/webhooks', { url: `${receiver.url}/audit` }), 201, 'POST webhook');
    secrets.add(ep.signing_secret);
    ok(await api(a.url, key, 'PATCH', `/v1/webhooks/${ep.id}`, { description: 'changed' }), 200, 'PATCH webhook');
    const rot = ok(await api(a.url, key, 'POST', `/v1/webhooks/${ep.id}/rotate_secret`), 200, 'rotate_secret');
    secrets.add(rot.signing_secret);
    ok(await api(a.url, key, 'DELETE', `/v1/webhooks/${ep.id}`), 200, 'DELETE webhook');
    // Settings, BAA, topup.
    await setSettings(a, key, { retention_days: 30 });
    ok(await api(a.url, key, 'POST', '/v1/workspace/baa',
        { signer_name: 'Dana Audit', signer_title: 'CISO', organization: 'Audit Clinic', version: '2024-01' }), 201, 'BAA');
    ok(await api(a.url, key, 'POST', '/v1/environment/topups', { amount: 500 }), 201, 'topup');
    // Faxes: created, cancelled, deleted.
    const busy = await sendFaxOk(a, key, { to: '+15005550002', pdf: makePdf({ text: 'audit busy' }), extra: { retries: 10 } });
    ok(await api(a.url, key, 'POST', `/v1/faxes/${busy.id}/cancel`), 200, 'cancel');
    const done = await waitTerminal(a, key, (await sendFaxOk(a, key, { to: randomNumber(), pdf: makePdf({ text: 'audit ok' }) })).id);
    ok(await api(a.url, key, 'DELETE', `/v1/faxes/${done.id}`), 200, 'DELETE fax');

    const log = await auditLog(a, key);
    const entries = verifyChain(log.lines);
    const actions = new Set(entries.map((e) => e.action));
    for (const act of ['key.created', 'key.revoked', 'webhook_endpoint.created', 'webhook_endpoint.updated',
        'webhook_endpoint.deleted', 'webhook_endpoint.secret_rotated', 'settings.updated', 'baa.signed',
        'fax.created', 'fax.cancelled', 'fax.deleted', 'balance.topup']) {
        assert.ok(actions.has(act), `an ${act} entry (have: ${[...actions].join(', ')})`);
    }
    const sandboxKeyId = await keyIdOf(a, wsId, key);
    const byAction = (act, target) => entries.find((e) => e.action === act && (target === undefined || e.target === target));
    assert.equal(byAction('key.created', k.id)?.actor, byAction('key.revoked', k.id)?.actor, 'the same account key created and revoked');
    assert.match(byAction('key.created', k.id).actor, /^key_[0-9A-HJKMNP-TV-Z]{26}$/, 'the account key\'s id is the actor');
    assert.notEqual(byAction('key.created', k.id).actor, sandboxKeyId);
    for (const act of ['webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.deleted',
        'webhook_endpoint.secret_rotated']) {
        assert.equal(byAction(act, ep.id)?.actor, sandboxKeyId, `${act}: actor is the sandbox key id, target the endpoint`);
    }
    for (const [act, target] of [['fax.created', busy.id], ['fax.cancelled', busy.id], ['fax.deleted', done.id]]) {
        assert.equal(byAction(act, target)?.actor, sandboxKeyId, `${act}: actor is the sandbox key id, target the fax`);
    }
    for (const act of ['settings.updated', 'baa.signed', 'balance.topup']) {
        assert.equal(byAction(act)?.actor, sandboxKeyId, `${act}: actor is the sandbox key id`);
    }
    assert.equal(byAction('baa.signed').details.signer, 'Dana Audit');
    for (const e of entries) {
        assert.ok(e.actor === 'system' || /^key_[0-9A-HJKMNP-TV-Z]{26}$/.test(e.actor), `actor ${e.actor} is a key id or system`);
        assert.match(e.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, 'at is RFC 3339 UTC');
    }
    assert.ok(!/mfx_(test|live|acct)_/.test(log.text), 'no API key string in the audit log');
    assert.ok(!log.text.includes('whsec_'), 'no webhook secret in the audit log');
    for (const s of secrets) assert.ok(!log.text.includes(s.replace(/^(mfx_[a-z]+_|whsec_)/, '')), 'no secret material in the audit log');

    // Filters.
    const onlyKeys = await auditLog(a, key, '?action=key.created');
    assert.ok(onlyKeys.entries.length >= 1 && onlyKeys.entries.every((e) => e.action === 'key.created'), 'action filter');
    assert.deepEqual(onlyKeys.lines, log.lines.filter((l) => JSON.parse(l).action === 'key.created'), 'action filter: the same lines');
    const mid = entries[Math.floor(entries.length / 2)].seq;
    const sinceSeq = await auditLog(a, key, `?since=${mid}`);
    assert.deepEqual(sinceSeq.lines, log.lines.slice(mid), `since=${mid}: the entries after it, unchanged`);
    const cutAt = entries.find((e) => e.action === 'fax.created').at;
    const sinceTime = await auditLog(a, key, `?since=${encodeURIComponent(cutAt)}`);
    assert.ok(sinceTime.entries.length >= 1, 'since=<time> returns entries');
    assert.ok(sinceTime.entries.every((e) => Date.parse(e.at) >= Date.parse(cutAt)), 'since=<time>: none earlier');
    assert.deepEqual(sinceTime.lines, log.lines.filter((l) => Date.parse(JSON.parse(l).at) >= Date.parse(cutAt)),
        'since=<time>: every entry at or after it');
    const both = await auditLog(a, key, `?since=${mid}&action=fax.created`);
    assert.deepEqual(both.entries.map((e) => e.seq), entries.filter((e) => e.seq > mid && e.action === 'fax.created').map((e) => e.seq),
        'since and action together');
    assertEnvelope(await api(a.url, key, 'GET', '/v1/workspace/audit?since=yesterday'), 422, 'validation_failed', 'since=yesterday');

    // Tamper with one entry with the daemon stopped.
    await a.stop();
    const target = entries.find((e) => e.action === 'settings.updated');
    const envId = (await (async () => {
        const r = spawnSync('sqlite3', [path.join(dir, 'mintfax.db'),
            `SELECT environment_id FROM audit_log WHERE seq = ${target.seq} AND entry LIKE '%"retention_days":30%';`],
        { encoding: 'utf8' });
        return r.stdout.trim();
    })());
    assert.match(envId, /^env_/, 'found the entry in sqlite');
    const sql = 'DROP TRIGGER audit_log_no_update; ' +
        `UPDATE audit_log SET entry = replace(entry, '"retention_days":30', '"retention_days":3650') WHERE environment_id = '${envId}' AND seq = ${target.seq};` +
        `SELECT changes();`;
    const ed = spawnSync('sqlite3', [path.join(dir, 'mintfax.db'), sql], { encoding: 'utf8' });
    assert.equal(ed.status, 0, `sqlite3: ${ed.stderr}`);
    assert.equal(ed.stdout.trim(), '1', 'one entry edited');

    const port = await freePort();
    const refused = spawnSync(daemonPath, ['--data-dir', dir, '--listen', `127.0.0.1:${port}`],
        { env: { ...process.env, ...BASE_ENV, ...env }, encoding: 'utf8', timeout: 10000, killSignal: 'SIGKILL' });
    fs.appendFileSync(path.join(dir, 'mintfaxd.stderr.log'), refused.stderr);
    assert.notEqual(refused.signal, 'SIGKILL', 'mintfaxd refused to start (it did not keep running)');
    assert.ok(refused.status !== 0 && refused.status !== null, `a non-zero exit (got ${refused.status})`);
    assert.match(refused.stderr, new RegExp(`${envId}.*entry ${target.seq}\\b`), `the message names the environment and the entry: ${refused.stderr}`);
    assert.match(refused.stderr, /allow-broken-audit/, 'the message says how to continue');

    a = await launch(env, { dataDir: dir, args: ['--allow-broken-audit'] });
    const h = await api(a.url, null, 'GET', '/healthz');
    assert.equal(h.status, 200, 'it starts with --allow-broken-audit');
    assert.match(fs.readFileSync(a.stderrPath, 'utf8'), new RegExp(`broken at entry ${target.seq}`), 'the break is logged');
    const tampered = await auditLog(a, key);
    assert.throws(() => verifyChain(tampered.lines), /hash/, 'a client verifying the chain finds the edit too');
});

// ---------------------------------------------------------------------------
// BAA

test('BAA: POST /v1/workspace/baa validates its fields, GET /v1/workspace shows the signature; with require_baa_for_live a live fax is 403 baa_required until the workspace signs', async () => {
    const ws = await newWorkspace();
    const w0 = ok(await api(d.url, ws.live, 'GET', '/v1/workspace'), 200, 'GET /v1/workspace');
    assert.equal(w0.baa, null, 'no BAA yet');

    const good = { signer_name: 'Pat Signer', signer_title: 'Privacy Officer', organization: 'Clinic & Co', version: 'v2024.1' };
    const bad = [
        [{}, ['signer_name', 'signer_title', 'organization', 'version']],
        [{ ...good, signer_name: '' }, ['signer_name']],
        [{ ...good, organization: 'x'.repeat(201) }, ['organization']],
        [{ ...good, version: 3 }, ['version']],
        [{ ...good, signer_title: null }, ['signer_title']],
        [{ ...good, extra: 'no' }, ['extra']],
    ];
    for (const [body, fields] of bad) {
        const r = await api(d.url, ws.live, 'POST', '/v1/workspace/baa', body);
        assertEnvelope(r, 422, 'validation_failed', `BAA ${JSON.stringify(body).slice(0, 80)}`);
        for (const f of fields) assert.ok(r.body.context?.errors?.[f], `context.errors names ${f}: ${r.text}`);
    }
    assert.equal(ok(await api(d.url, ws.live, 'GET', '/v1/workspace'), 200, 'GET').baa, null, 'still unsigned after refusals');

    // Live money, then a live fax: refused without a BAA.
    ok(await api(d.url, d.keys.account_key, 'POST', `/v1/workspaces/${ws.id}/topups`, { environment: 'live', amount: 1000 }),
        201, 'live topup');
    const liveNumber = randomNumber();
    const refused = await sendFax(d, ws.live, { to: liveNumber, pdf: makePdf({ text: 'live before BAA' }) });
    assertEnvelope(refused, 403, 'baa_required', 'a live fax before the BAA');
    assert.equal(refused.body.action, 'sign_baa');
    const list0 = ok(await api(d.url, ws.live, 'GET', '/v1/faxes'), 200, 'GET /v1/faxes');
    assert.equal(list0.data.length, 0, 'no live fax was created');
    const sb = await sendFax(d, ws.sandbox, { to: randomNumber(), pdf: makePdf({ text: 'sandbox before BAA' }) });
    assert.equal(sb.status, 201, 'the sandbox needs no BAA');

    const t0 = Date.now();
    const signed = ok(await api(d.url, ws.live, 'POST', '/v1/workspace/baa', good), 201, 'POST /v1/workspace/baa');
    const liveKeyId = await keyIdOf(d, ws.id, ws.live);
    assert.deepEqual(Object.keys(signed).sort(), ['key_id', 'object', 'organization', 'signed_at', 'signer', 'signer_title', 'version']);
    assert.equal(signed.object, 'baa');
    const want = { signer: good.signer_name, signer_title: good.signer_title, organization: good.organization,
        version: good.version, key_id: liveKeyId };
    for (const [f, v] of Object.entries(want)) assert.equal(signed[f], v, `BAA answer ${f}`);
    assert.ok(Math.abs(Date.parse(signed.signed_at) - t0) < 10000, 'signed_at is now');
    for (const k of [ws.live, ws.sandbox]) {
        const w = ok(await api(d.url, k, 'GET', '/v1/workspace'), 200, 'GET /v1/workspace');
        assert.deepEqual(w.baa, { signed_at: signed.signed_at, ...want }, 'GET /v1/workspace shows the BAA (both environments)');
    }
    const other = await newWorkspace();
    assert.equal(ok(await api(d.url, other.live, 'GET', '/v1/workspace'), 200, 'GET').baa, null, 'another workspace is not signed');

    const accepted = await sendFax(d, ws.live, { to: liveNumber, pdf: makePdf({ text: 'live after BAA' }) });
    assert.equal(accepted.status, 201, `a live fax after the BAA: ${accepted.text.slice(0, 300)}`);
    assert.equal(accepted.body.environment, 'live');
    const audit = await auditLog(d, ws.live, '?action=baa.signed');
    assert.equal(audit.entries.length, 1, 'one baa.signed entry in the live audit log');
    assert.equal(audit.entries[0].actor, liveKeyId);
    const refusedOther = await sendFax(d, other.live, { to: liveNumber, pdf: makePdf({ text: 'other live' }) });
    assertEnvelope(refusedOther, 403, 'baa_required', 'another workspace\'s live fax');
});

// ---------------------------------------------------------------------------
// Keys

test('keys: GET /v1/workspaces/{id}/keys shows last_used_at once a key is used; a revoked key is refused with 401 at once', async () => {
    const ws = await newWorkspace();
    const k = ok(await api(d.url, d.keys.account_key, 'POST', `/v1/workspaces/${ws.id}/keys`, { environment: 'sandbox', name: 'short-lived' }),
        201, 'POST keys');
    secrets.add(k.key);
    assert.match(k.key, /^mfx_test_/);
    const list = async () => ok(await api(d.url, d.keys.account_key, 'GET', `/v1/workspaces/${ws.id}/keys`), 200, 'GET keys').data;
    const l0 = await list();
    const row0 = l0.find((x) => x.id === k.id);
    assert.ok(row0, 'the new key is listed');
    assert.deepEqual(Object.keys(row0).sort(), ['created_at', 'display', 'environment', 'id', 'last_used_at', 'name', 'object', 'revoked_at']);
    assert.equal(row0.last_used_at, null, 'never used yet');
    assert.equal(row0.revoked_at, null);
    assert.equal(row0.environment, 'sandbox');
    assert.ok(!JSON.stringify(l0).includes(k.key), 'the list never shows a secret');
    assert.equal(l0.filter((x) => x.environment === 'sandbox').length, 2, 'both sandbox keys listed');
    assert.equal(l0.filter((x) => x.environment === 'live').length, 1, 'the live key listed');

    const t0 = Date.now();
    ok(await api(d.url, k.key, 'GET', '/v1/environment/balance'), 200, 'use the key');
    const row1 = await waitFor(async () => (await list()).find((x) => x.id === k.id && x.last_used_at),
        { timeoutMs: 3000, what: 'last_used_at set' });
    assert.ok(Math.abs(Date.parse(row1.last_used_at) - t0) < 10000, `last_used_at ${row1.last_used_at} is about now`);

    const rev = ok(await api(d.url, d.keys.account_key, 'DELETE', `/v1/workspaces/${ws.id}/keys/${k.id}`), 200, 'revoke');
    assert.ok(rev.revoked_at, 'revoked_at in the answer');
    const r = await api(d.url, k.key, 'GET', '/v1/environment/balance');
    assertEnvelope(r, 401, 'unauthenticated', 'a revoked key, right away');
    const r2 = await sendFax(d, k.key, { to: randomNumber(), pdf: makePdf({ text: 'revoked' }) });
    assertEnvelope(r2, 401, 'unauthenticated', 'a revoked key cannot send');
    assert.ok((await list()).find((x) => x.id === k.id).revoked_at, 'the list shows revoked_at');
    ok(await api(d.url, ws.sandbox, 'GET', '/v1/environment/balance'), 200, 'the workspace\'s other key still works');
});

// ---------------------------------------------------------------------------
// Logs

test('logs are grep-clean: no daemon stderr holds an API key, a webhook secret, a tag value, document text or an unmasked phone number', async () => {
    assert.ok(daemons.length >= 4, 'the earlier tests ran their daemons');
    assert.ok(secrets.size >= 10 && phi.size >= 5 && numbers.size >= 5, 'the earlier tests collected what to look for');
    const problems = [];
    let maskedSeen = 0;
    for (const dm of daemons) {
        const log = fs.readFileSync(dm.stderrPath, 'utf8');
        const name = path.relative(os.tmpdir(), dm.stderrPath);
        assert.ok(log.length > 0, `${name} is not empty`);
        for (const s of secrets) {
            const bare = s.replace(/^(mfx_[a-z]+_|whsec_)/, '');
            if (log.includes(bare)) problems.push(`${name}: a secret (${s.slice(0, 14)}...)`);
        }
        const keyLike = log.match(/mfx_(test|live|acct)_[A-Za-z0-9_-]{6,}|whsec_[A-Za-z0-9+/=]{6,}/g);
        if (keyLike) problems.push(`${name}: key-like strings ${keyLike.map((x) => `${x.slice(0, 12)}...`).join(', ')}`);
        for (const p of phi) if (log.includes(p)) problems.push(`${name}: tag value or document text ${p}`);
        for (const n of numbers) {
            if (log.includes(n.slice(2))) problems.push(`${name}: phone number ${n} unmasked`);
            if (log.includes(masked(n))) maskedSeen++;
        }
        if (log.includes('%PDF')) problems.push(`${name}: document bytes`);
    }
    assert.deepEqual(problems, [], 'leaks in the logs');
    assert.ok(maskedSeen > 0, `numbers appear masked (e.g. ${masked('+15005550001')}) in the logs`);
});
