// SPDX-License-Identifier: Apache-2.0
//
// Bad input (issue 2, "Bad input"): every malformed, mistyped, oversized,
// unauthenticated or otherwise wrong request gets its catalogued error (the
// status and `action` of src/errors.def, the `error` code, a `request_id`
// equal to the X-Request-Id header, and a `docs` link to the error's page),
// never crashes the daemon (GET /healthz still answers after each), and
// leaves nothing behind (the environment's fax list, event list and balance
// are unchanged).
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { api, srcDir, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const ENV = {
    MINTFAX_SANDBOX_TIME_SCALE: '0.001',
    MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
    MINTFAX_RATELIMIT_REQUESTS: '100000',
};
const SMALL_UPLOAD = 65536;
const pdf = makePdf({ pages: 1, text: 'mintfax bad-input test' });

// The catalog: code -> {status, retryable, action}, read from src/errors.def.
const catalog = {};
for (const m of fs.readFileSync(path.join(srcDir, 'src', 'errors.def'), 'utf8')
    .matchAll(/MFX_ERROR\((\w+),\s*(\d+),\s*(\d),\s*(\w+),/g)) {
    catalog[m[1]] = { status: Number(m[2]), retryable: m[3] === '1', action: m[4] };
}

let d;       // the main daemon (default limits)
let small;   // a daemon with [server] max_upload = 64 KiB

before(async () => {
    [d, small] = await Promise.all([
        startDaemon({ env: ENV }),
        startDaemon({ env: { ...ENV, MINTFAX_SERVER_MAX_UPLOAD: String(SMALL_UPLOAD) } }),
    ]);
});

after(async () => {
    await Promise.all([d?.stop(), small?.stop()]);
});

// ---------------------------------------------------------------------------
// Helpers

const REQ_ID = /^req_[0-9A-HJKMNP-TV-Z]{26}$/;

/** Asserts r is the catalogued error `code`; fields: names that context.errors must hold. */
function assertError(r, code, { fields = [], daemon = d, what = '' } = {}) {
    const c = catalog[code];
    assert.ok(c, `test bug: ${code} is not in src/errors.def`);
    const ctx = `${what ? `${what}: ` : ''}expected ${c.status} ${code}, got ${r.status} ${r.text.slice(0, 300)}`;
    assert.equal(r.status, c.status, ctx);
    assert.match(r.contentType, /^application\/json/, ctx);
    assert.equal(typeof r.body, 'object', ctx);
    assert.equal(r.body.error, code, ctx);
    assert.equal(r.body.action, c.action, ctx);
    assert.equal(typeof r.body.message, 'string', ctx);
    assert.ok(r.body.message.length > 0, ctx);
    assert.equal(typeof r.body.action_message, 'string', ctx);
    assert.match(r.body.request_id, REQ_ID, ctx);
    assert.equal(r.headers.get('x-request-id'), r.body.request_id, ctx);
    assert.equal(r.headers.get('request-id'), r.body.request_id, ctx);
    assert.equal(r.body.docs, `${daemon.url}/docs/errors/${code}`, ctx);
    assert.doesNotMatch(r.text, /internal error|see (the )?logs/i, ctx);
    for (const f of fields) {
        assert.equal(typeof r.body.context?.errors?.[f], 'string', `${ctx}\ncontext.errors.${f} missing`);
    }
    if (code === 'validation_failed') {
        assert.equal(typeof r.body.context?.errors, 'object', `${ctx}\nvalidation_failed without context.errors`);
    }
}

async function listAll(daemon, key, p) {
    const out = [];
    let cursor = null;
    for (let page = 0; page < 1000; page++) {
        const r = await api(daemon.url, key, 'GET', `${p}${p.includes('?') ? '&' : '?'}per_page=100${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, `GET ${p}: ${r.text.slice(0, 200)}`);
        out.push(...r.body.data);
        if (!r.body.has_more) return out;
        cursor = r.body.next_cursor;
    }
    throw new Error(`GET ${p}: too many pages`);
}

/**
 * What a bad request must not change: faxes, events and the balance of an
 * environment. Waits (a while) until no fax is on its way, so that a fax
 * finishing in the background (made by an earlier test, or wrongly by a bad
 * request) does not show up as a change caused by the next request.
 */
async function snapshot(daemon = d, key = daemon.keys.sandbox_key) {
    const deadline = Date.now() + 10000;
    let faxes;
    for (;;) {
        faxes = await listAll(daemon, key, '/v1/faxes');
        if (faxes.every((f) => ['delivered', 'failed'].includes(f.status)) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
    }
    const bal = await api(daemon.url, key, 'GET', '/v1/environment/balance');
    assert.equal(bal.status, 200, bal.text);
    return {
        faxes: faxes.length,
        events: (await listAll(daemon, key, '/v1/events')).length,
        available: bal.body.available,
        held: bal.body.held,
    };
}

/** The daemon still answers, and the environment is as it was. */
async function assertIntact(before, daemon = d, key = daemon.keys.sandbox_key, what = '') {
    assert.equal(daemon.exited(), null, `${what}: mintfaxd exited\n${daemon.logTail(30)}`);
    const h = await api(daemon.url, null, 'GET', '/healthz');
    assert.equal(h.status, 200, `${what}: /healthz after the request: ${h.status}`);
    assert.deepEqual(await snapshot(daemon, key), before, `${what}: a bad request changed the environment`);
}

/** Sends each case (a function returning an api() result), checks its error and that nothing changed. */
async function expectAll(cases, { daemon = d, key = daemon.keys.sandbox_key } = {}) {
    const before = await snapshot(daemon, key);
    for (const c of cases) {
        const r = await c.send();
        assertError(r, c.code, { fields: c.fields || [], daemon, what: c.what });
        if (c.check) c.check(r);
        await assertIntact(before, daemon, key, c.what);
    }
}

const post = (body, headers, key = d.keys.sandbox_key, p = '/v1/faxes', daemon = d) =>
    () => api(daemon.url, key, 'POST', p, body, headers);
const JSON_CT = { 'Content-Type': 'application/json' };
// A well-formed URL; should a bad request wrongly be accepted, its fetch fails
// at once (a private address, refused by the SSRF guard) rather than waiting
// on the network.
const GOOD_URL = 'http://10.255.255.1/document.pdf';

function form(fields, file = { data: pdf, name: 'doc.pdf', type: 'application/pdf' }) {
    const f = new FormData();
    if (file) f.append('file', new Blob([file.data], { type: file.type }), file.name);
    for (const [k, v] of Object.entries(fields)) f.append(k, v);
    return f;
}

async function waitTerminal(daemon, key, id) {
    return waitFor(async () => {
        const r = await api(daemon.url, key, 'GET', `/v1/faxes/${id}`);
        return ['delivered', 'failed'].includes(r.body.status) && r.body;
    }, { what: `fax ${id} terminal`, timeoutMs: 20000 });
}

// ---------------------------------------------------------------------------
// JSON bodies

test('malformed JSON bodies get 400 invalid_json', async () => {
    await expectAll([
        { what: 'truncated object', send: post('{"to": "+15005550001", "document_url":', JSON_CT), code: 'invalid_json' },
        { what: 'single quotes', send: post("{'to': '+15005550001'}", JSON_CT), code: 'invalid_json' },
        { what: 'trailing comma', send: post(`{"to": "+15005550001", "document_url": "${GOOD_URL}",}`, JSON_CT), code: 'invalid_json' },
        { what: 'not JSON at all', send: post('to=+15005550001', JSON_CT), code: 'invalid_json' },
        { what: 'empty body', send: post('', JSON_CT), code: 'invalid_json' },
        { what: 'invalid UTF-8', send: post(Buffer.concat([Buffer.from('{"to": "+15005550001", "document_url": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), JSON_CT), code: 'invalid_json' },
    ]);
});

test('trailing garbage after a JSON object gets 400 invalid_json', async () => {
    const good = JSON.stringify({ to: '+15005550001', document_url: GOOD_URL });
    await expectAll([
        { what: 'text after the object', send: post(`${good} garbage`, JSON_CT), code: 'invalid_json' },
        { what: 'a second object', send: post(`${good}{"to": "+15005550001"}`, JSON_CT), code: 'invalid_json' },
        { what: 'a stray brace', send: post(`${good}}`, JSON_CT), code: 'invalid_json' },
    ]);
});

test('a JSON body that is not an object (array, string, number, null) gets 400 invalid_json', async () => {
    await expectAll([
        { what: 'array', send: post(JSON.stringify([{ to: '+15005550001', document_url: GOOD_URL }]), JSON_CT), code: 'invalid_json' },
        { what: 'string', send: post('"+15005550001"', JSON_CT), code: 'invalid_json' },
        { what: 'number', send: post('15005550001', JSON_CT), code: 'invalid_json' },
        { what: 'null', send: post('null', JSON_CT), code: 'invalid_json' },
    ]);
});

test('wrong types get 422 validation_failed naming every wrong field', async () => {
    await expectAll([{
        what: 'to: 123, retries: "3", tags: [..], ecm: "yes"',
        send: post({ to: 123, retries: '3', tags: ['a', 'b'], ecm: 'yes', document_url: GOOD_URL }),
        code: 'validation_failed',
        fields: ['to', 'retries', 'tags', 'ecm'],
        check: (r) => assert.equal(r.body.context.errors.document_url, undefined, 'a good field was reported'),
    }, {
        what: 'more wrong types',
        send: post({ to: '+15005550001', document_url: 42, resolution: true, csid: 7, max_attempts: 1.5 }),
        code: 'validation_failed',
        fields: ['document_url', 'resolution', 'csid', 'max_attempts'],
    }, {
        what: 'values out of range',
        send: post({ to: '+15005550001', document_url: GOOD_URL, retries: 11, resolution: 'ultra', csid: 'x'.repeat(21), t38: 'on' }),
        code: 'validation_failed',
        fields: ['retries', 'resolution', 'csid', 't38'],
    }]);
});

test('an unknown field gets 422 validation_failed naming it', async () => {
    await expectAll([{
        what: 'colour',
        send: post({ to: '+15005550001', document_url: GOOD_URL, colour: 'blue' }),
        code: 'validation_failed',
        fields: ['colour'],
    }, {
        what: 'misspelt field (documnet_url) plus no document',
        send: post({ to: '+15005550001', documnet_url: GOOD_URL }),
        code: 'validation_failed',
        fields: ['documnet_url'],
    }]);
});

test('unknown `to` formats get 422 validation_failed on to', async () => {
    const cases = [
        ['no plus', '15005550001'],
        ['letters', '+1500555ABCD'],
        ['16 digits', '+1234567890123456'],
        ['empty', ''],
        ['spaces and dashes', '+1 500-555-0001'],
        ['leading zero country code', '+05005550001'],
        ['plus only', '+'],
        ['missing', undefined],
        ['null', null],
    ];
    await expectAll(cases.map(([what, to]) => ({
        what,
        send: post(to === undefined ? { document_url: GOOD_URL } : { to, document_url: GOOD_URL }),
        code: 'validation_failed',
        fields: ['to'],
    })));
});

test('a fax without a document (no file, document_url or document_id) gets 422', async () => {
    await expectAll([
        { what: 'JSON', send: post({ to: '+15005550001' }), code: 'validation_failed', fields: ['file'] },
        { what: 'multipart without a file part', send: post(form({ to: '+15005550001' }, null)), code: 'validation_failed', fields: ['file'] },
    ]);
});

test('a fax with two documents at once gets 422', async () => {
    const up = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/documents', form({}));
    assert.equal(up.status, 201, up.text);
    await expectAll([
        { what: 'document_url + document_id', send: post({ to: '+15005550001', document_url: GOOD_URL, document_id: up.body.id }), code: 'validation_failed', fields: ['file'] },
        { what: 'file + document_url', send: post(form({ to: '+15005550001', document_url: GOOD_URL })), code: 'validation_failed', fields: ['file'] },
        { what: 'file + document_id', send: post(form({ to: '+15005550001', document_id: up.body.id })), code: 'validation_failed', fields: ['file'] },
    ]);
});

test('two file parts in one multipart request get 422 (never one silently dropped)', async () => {
    const two = new FormData();
    two.append('file', new Blob([makePdf({ pages: 1 })], { type: 'application/pdf' }), 'one.pdf');
    two.append('file', new Blob([makePdf({ pages: 3 })], { type: 'application/pdf' }), 'three.pdf');
    two.append('to', '+15005550001');
    const twoDocs = new FormData();
    twoDocs.append('file', new Blob([pdf], { type: 'application/pdf' }), 'one.pdf');
    twoDocs.append('file', new Blob([pdf], { type: 'application/pdf' }), 'two.pdf');
    await expectAll([
        { what: 'fax with two file parts', send: post(two), code: 'validation_failed', fields: ['file'] },
        { what: 'document upload with two file parts', send: post(twoDocs, {}, undefined, '/v1/documents'), code: 'validation_failed', fields: ['file'] },
    ]);
});

test('a NUL character (U+0000) in a JSON string is refused, never silently truncated', async () => {
    // json-c keeps the NUL inside the string, but C code reading it with
    // strlen() sees only what comes before it: "+15005550001\u0000junk" would
    // be sent to +15005550001, a URL would lose its end, a tag key its tail.
    const raw = (json) => post(json, JSON_CT);
    const cases = [
        ['to', `{"to": "+15005550001\\u0000junk", "document_url": "${GOOD_URL}"}`, 'to'],
        ['document_url', `{"to": "+15005550001", "document_url": "${GOOD_URL}\\u0000@evil.example"}`, 'document_url'],
        ['webhook_url', `{"to": "+15005550001", "document_url": "${GOOD_URL}", "webhook_url": "https://hooks.example/x\\u0000y"}`, 'webhook_url'],
        ['csid', `{"to": "+15005550001", "document_url": "${GOOD_URL}", "csid": "ACME\\u0000X"}`, 'csid'],
        ['tag key', `{"to": "+15005550001", "document_url": "${GOOD_URL}", "tags": {"a\\u0000b": "v"}}`, 'tags'],
    ];
    const problems = [];
    for (const [what, json, field] of cases) {
        const before = await snapshot();
        const r = await raw(json)();
        try {
            if (r.status === 400) assertError(r, 'invalid_json', { what });
            else assertError(r, 'validation_failed', { what, fields: [field] });
        } catch (err) {
            const got = r.status === 201 ? ` (accepted as ${JSON.stringify({ to: r.body.to, document_url: r.body.document_url, webhook_url: r.body.webhook_url, csid: r.body.csid, tags: r.body.tags })})` : '';
            problems.push(`${what}: ${r.status} ${r.body?.error || ''}${got}`);
        }
        try {
            await assertIntact(before, d, d.keys.sandbox_key, what);
        } catch (err) {
            problems.push(`${what}: ${err.message.split('\n')[0]}`);
        }
    }
    assert.deepEqual(problems, [], `NUL characters accepted:\n${problems.join('\n')}`);
});

test('a malformed multipart body gets 422 validation_failed with context.errors', async () => {
    await expectAll([
        {
            what: 'no boundary parameter',
            send: post('--x\r\nContent-Disposition: form-data; name="to"\r\n\r\n+15005550001\r\n--x--\r\n', { 'Content-Type': 'multipart/form-data' }),
        },
        {
            what: 'boundary not in the body',
            send: post('--x\r\nContent-Disposition: form-data; name="to"\r\n\r\n+15005550001\r\n--x--\r\n', { 'Content-Type': 'multipart/form-data; boundary=y' }),
        },
        {
            what: 'unterminated part',
            send: post('--x\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF-1.4', { 'Content-Type': 'multipart/form-data; boundary=x' }),
        },
        {
            what: 'document upload, no boundary',
            send: post('garbage', { 'Content-Type': 'multipart/form-data' }, undefined, '/v1/documents'),
        },
    ].map((c) => ({ ...c, code: 'validation_failed' })));
});

test('an invalid Idempotency-Key (empty, over 255 characters, non-ASCII) gets 422 naming the header', async () => {
    const body = { to: '+15005550001', document_url: GOOD_URL };
    await expectAll([
        { what: 'empty', send: post(body, { 'Idempotency-Key': '' }) },
        { what: '256 characters', send: post(body, { 'Idempotency-Key': 'k'.repeat(256) }) },
        { what: 'with a space', send: post(body, { 'Idempotency-Key': 'two words' }) },
    ].map((c) => ({ ...c, code: 'validation_failed', fields: ['Idempotency-Key'] })));
});

test('a document_id that does not exist, or belongs to another environment, gets 422', async () => {
    const live = await api(d.url, d.keys.live_key, 'POST', '/v1/documents', form({}));
    assert.equal(live.status, 201, live.text);
    await expectAll([
        { what: 'well-formed, unknown', send: post({ to: '+15005550001', document_id: 'doc_01HZZZZZZZZZZZZZZZZZZZZZZZ' }), code: 'validation_failed', fields: ['document_id'] },
        { what: 'garbage', send: post({ to: '+15005550001', document_id: 'not-a-document' }), code: 'validation_failed', fields: ['document_id'] },
        {
            what: 'the live environment\'s document with the sandbox key',
            send: post({ to: '+15005550001', document_id: live.body.id }),
            code: 'validation_failed',
            fields: ['document_id'],
            check: (r) => assert.doesNotMatch(r.text, /live\.pdf|"sha256"/, 'the other environment\'s document leaked'),
        },
    ]);
});

test('an empty file part gets 422 validation_failed on file', async () => {
    const empty = { data: Buffer.alloc(0), name: 'empty.pdf', type: 'application/pdf' };
    await expectAll([
        { what: 'fax', send: post(form({ to: '+15005550001' }, empty)), code: 'validation_failed', fields: ['file'] },
        { what: 'document upload', send: post(form({}, empty), {}, undefined, '/v1/documents'), code: 'validation_failed', fields: ['file'] },
    ]);
});

test('a text file named .pdf gets 415 unsupported_media_type (sniffed, not trusted by name)', async () => {
    const text = { data: Buffer.from('Dear recipient,\nthis is plain text, not a PDF.\n'), name: 'letter.pdf', type: 'application/pdf' };
    const html = { data: Buffer.from('<html><body>%PDF-</body></html>'.replace('%PDF-', 'PDF')), name: 'page.pdf', type: 'application/pdf' };
    await expectAll([
        { what: 'fax with text.pdf', send: post(form({ to: '+15005550001' }, text)), code: 'unsupported_media_type' },
        { what: 'fax with html.pdf', send: post(form({ to: '+15005550001' }, html)), code: 'unsupported_media_type' },
        { what: 'document upload with text.pdf', send: post(form({}, text), {}, undefined, '/v1/documents'), code: 'unsupported_media_type' },
    ]);
});

test('a JSON body over 1 MiB gets 413 payload_too_large', async () => {
    const body = JSON.stringify({ to: '+15005550001', document_url: GOOD_URL, tags: { pad: 'x'.repeat(400) }, header_text: 'y'.repeat(1024 * 1024) });
    assert.ok(Buffer.byteLength(body) > 1024 * 1024);
    await expectAll([
        { what: '1 MiB + a bit', send: post(body, JSON_CT), code: 'payload_too_large' },
        { what: 'workspace create (account key)', send: post(JSON.stringify({ name: 'n'.repeat(1100 * 1024) }), JSON_CT, d.keys.account_key, '/v1/workspaces'), code: 'payload_too_large' },
    ]);
});

test('an upload over [server] max_upload (by up to 64 KiB) gets our 413 payload_too_large', async () => {
    const padded = (size) => {
        const buf = Buffer.alloc(size, 0x20);
        pdf.copy(buf);
        return { data: buf, name: 'big.pdf', type: 'application/pdf' };
    };
    await expectAll([
        { what: 'limit + 1 byte', send: post(form({ to: '+15005550001' }, padded(SMALL_UPLOAD + 1)), {}, small.keys.sandbox_key, '/v1/faxes', small), code: 'payload_too_large' },
        { what: 'limit + 32 KiB', send: post(form({ to: '+15005550001' }, padded(SMALL_UPLOAD + 32 * 1024)), {}, small.keys.sandbox_key, '/v1/faxes', small), code: 'payload_too_large' },
        { what: 'limit + 60 KiB, document upload', send: post(form({}, padded(SMALL_UPLOAD + 60 * 1024)), {}, small.keys.sandbox_key, '/v1/documents', small), code: 'payload_too_large' },
    ], { daemon: small });
    // Exactly at the limit is accepted.
    const ok = await api(small.url, small.keys.sandbox_key, 'POST', '/v1/faxes', form({ to: '+15005550001' }, padded(SMALL_UPLOAD)));
    assert.equal(ok.status, 201, `a file of exactly max_upload bytes: ${ok.text.slice(0, 300)}`);
    const fax = await waitTerminal(small, small.keys.sandbox_key, ok.body.id);
    assert.equal(fax.status, 'delivered', JSON.stringify(fax));
});

// Far above the limit (more than max_upload + 64 KiB) libevent's evhttp
// refuses the body itself before mintfaxd sees the request: it answers its
// own "413 Request Entity Too Large" HTML page (no JSON, no request id) and
// closes the connection, so a client still writing the body usually sees the
// connection reset (EPIPE/ECONNRESET) rather than any answer. We can only
// require that the daemon survives and nothing is created.
test('an upload far above max_upload is refused without a crash or a row (evhttp 413 or a closed connection)', async () => {
    const before = await snapshot(small);
    for (const size of [SMALL_UPLOAD + 128 * 1024, 4 * 1024 * 1024]) {
        const buf = Buffer.alloc(size, 0x20);
        pdf.copy(buf);
        let r = null;
        let err = null;
        try {
            r = await api(small.url, small.keys.sandbox_key, 'POST', '/v1/faxes', form({ to: '+15005550001' }, { data: buf, name: 'huge.pdf', type: 'application/pdf' }));
        } catch (e) {
            err = e;
        }
        if (r) assert.equal(r.status, 413, `${size} bytes: ${r.status} ${r.text.slice(0, 200)}`);
        else assert.match(String(err.cause?.code || err.cause?.message || err.message), /EPIPE|ECONNRESET|socket|closed|terminated|fetch failed/i);
        await assertIntact(before, small, small.keys.sandbox_key, `${size} bytes`);
    }
});

test('a wrong Content-Type gets 415 unsupported_media_type', async () => {
    const body = JSON.stringify({ to: '+15005550001', document_url: GOOD_URL });
    await expectAll([
        { what: 'text/plain', send: post(body, { 'Content-Type': 'text/plain' }), code: 'unsupported_media_type' },
        { what: 'form-urlencoded', send: post('to=%2B15005550001', { 'Content-Type': 'application/x-www-form-urlencoded' }), code: 'unsupported_media_type' },
        { what: 'application/xml', send: post('<fax/>', { 'Content-Type': 'application/xml' }), code: 'unsupported_media_type' },
        { what: 'JSON to the document upload', send: post(body, JSON_CT, undefined, '/v1/documents'), code: 'unsupported_media_type' },
        { what: 'text/plain to workspaces (account key)', send: post(JSON.stringify({ name: 'x' }), { 'Content-Type': 'text/plain' }, d.keys.account_key, '/v1/workspaces'), code: 'unsupported_media_type' },
    ]);
});

test('a missing, garbage or revoked Authorization gets 401 unauthenticated with WWW-Authenticate', async () => {
    const ws = d.keys.workspace_id;
    const created = await api(d.url, d.keys.account_key, 'POST', `/v1/workspaces/${ws}/keys`, { environment: 'sandbox', name: 'to revoke' });
    assert.equal(created.status, 201, created.text);
    const fresh = created.body.key;
    assert.equal((await api(d.url, fresh, 'GET', '/v1/environment/balance')).status, 200);
    const rev = await api(d.url, d.keys.account_key, 'DELETE', `/v1/workspaces/${ws}/keys/${created.body.id}`);
    assert.equal(rev.status, 200, rev.text);

    const faxBody = JSON.stringify({ to: '+15005550001', document_url: GOOD_URL });
    const raw = (headers) => () => api(d.url, null, 'POST', '/v1/faxes', faxBody, { ...JSON_CT, ...headers });
    const checkWww = (r) => assert.match(r.headers.get('www-authenticate') || '', /^Bearer\b/i, 'WWW-Authenticate: Bearer ...');
    await expectAll([
        { what: 'no Authorization', send: raw({}) },
        { what: 'Bearer with nothing', send: raw({ Authorization: 'Bearer ' }) },
        { what: 'Basic', send: raw({ Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` }) },
        { what: 'garbage', send: raw({ Authorization: 'garbage' }) },
        { what: 'Bearer garbage', send: raw({ Authorization: 'Bearer not-a-key-at-all' }) },
        { what: 'unknown well-formed key', send: raw({ Authorization: `Bearer mfx_test_${'A'.repeat(32)}` }) },
        { what: 'a key with one character changed', send: raw({ Authorization: `Bearer ${d.keys.sandbox_key.slice(0, -1)}${d.keys.sandbox_key.endsWith('A') ? 'B' : 'A'}` }) },
        { what: 'a very long key', send: raw({ Authorization: `Bearer mfx_test_${'x'.repeat(5000)}` }) },
        { what: 'revoked key (POST /v1/faxes)', send: raw({ Authorization: `Bearer ${fresh}` }) },
        { what: 'revoked key (GET balance)', send: () => api(d.url, fresh, 'GET', '/v1/environment/balance') },
    ].map((c) => ({ ...c, code: 'unauthenticated', check: checkWww })));
});

test('bad cursors get 400 invalid_cursor', async () => {
    // An event id is a real id, but of another list.
    const ev = await api(d.url, d.keys.sandbox_key, 'GET', '/v1/events?per_page=1');
    const evId = ev.body.data[0]?.id || 'evt_01HZZZZZZZZZZZZZZZZZZZZZZZ';
    const get = (p) => () => api(d.url, d.keys.sandbox_key, 'GET', p);
    await expectAll([
        { what: 'garbage', send: get('/v1/faxes?cursor=abc') },
        { what: 'an event id on the fax list', send: get(`/v1/faxes?cursor=${evId}`) },
        { what: 'a fax id on the event list', send: get('/v1/events?cursor=fax_01HZZZZZZZZZZZZZZZZZZZZZZZ') },
        { what: 'not Crockford base32', send: get(`/v1/faxes?cursor=fax_${'U'.repeat(26)}`) },
        { what: 'too long', send: get(`/v1/faxes?cursor=fax_${'0'.repeat(27)}`) },
        { what: 'SQL-ish', send: get(`/v1/faxes?cursor=${encodeURIComponent("fax_' OR 1=1 --")}`) },
        { what: 'workspace list', send: () => api(d.url, d.keys.account_key, 'GET', '/v1/workspaces?cursor=nope') },
    ].map((c) => ({ ...c, code: 'invalid_cursor' })));
});

test('per_page of 0, 101, huge, negative or not a number gets 422 validation_failed', async () => {
    const values = ['0', '101', '-1', '99999999999999999999', '1e2', '1.5', 'abc', '', '-0', '0x10'];
    const cases = [];
    for (const v of values) {
        cases.push({ what: `faxes per_page=${v}`, send: () => api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes?per_page=${v}`) });
        cases.push({ what: `events per_page=${v}`, send: () => api(d.url, d.keys.sandbox_key, 'GET', `/v1/events?per_page=${v}`) });
    }
    await expectAll(cases.map((c) => ({ ...c, code: 'validation_failed', fields: ['per_page'] })));
    // The bounds themselves are accepted.
    for (const v of [1, 100]) {
        const r = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes?per_page=${v}`);
        assert.equal(r.status, 200, `per_page=${v}: ${r.text.slice(0, 200)}`);
    }
});

test('unicode tags (emoji, CJK, combining marks) round-trip exactly', async () => {
    const tags = {
        emoji: '📠✅ fax 👩🏽‍💻 🇯🇵',
        '客户': '東京都千代田区 — 請求書 #42',
        combining: 'e\u0301 vs \u00e9, n\u0303, a\u030a\u0327',   // decomposed and precomposed must both survive
        'Z\u0351\u0352\u0353alg\u0336o': 'ok',
        rtl: 'مرحبا שלום',
        astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱',
        long: '😀'.repeat(500),   // 500 characters (not bytes) is the limit
        quotes: 'a "quoted" \\ back\\slash / slash \t tab',
    };
    const r = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/faxes', form({ to: '+15005550001', tags: JSON.stringify(tags) }));
    assert.equal(r.status, 201, r.text.slice(0, 400));
    assert.deepEqual(r.body.tags, tags, 'tags in the 201');
    assert.deepEqual(r.body.metadata, tags, 'metadata (alias) in the 201');
    const g = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${r.body.id}`);
    assert.deepEqual(g.body.tags, tags, 'tags on GET');
    // Exactly the bytes: no normalisation (NFC would fold e + U+0301 into U+00E9).
    assert.equal(Buffer.from(g.body.tags.combining).toString('hex'), Buffer.from(tags.combining).toString('hex'));
    // The tag filter finds it by the exact unicode value, and not by the normalised one.
    const f = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes?tag[${encodeURIComponent('客户')}]=${encodeURIComponent(tags['客户'])}`);
    assert.equal(f.status, 200, f.text.slice(0, 300));
    assert.deepEqual(f.body.data.map((x) => x.id), [r.body.id]);
    const n = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes?tag[combining]=${encodeURIComponent(tags.combining.normalize('NFC'))}`);
    assert.equal(n.status, 200);
    assert.deepEqual(n.body.data.map((x) => x.id), []);
    // JSON requests too.
    const j = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/faxes', { to: '+15005550001', document_id: r.body.document_id, metadata: tags });
    assert.equal(j.status, 201, j.text.slice(0, 400));
    assert.deepEqual(j.body.tags, tags, 'JSON metadata alias round trip');
    const done = await waitTerminal(d, d.keys.sandbox_key, j.body.id);
    assert.deepEqual(done.tags, tags, 'tags after delivery');
    await waitTerminal(d, d.keys.sandbox_key, r.body.id);
    const ev = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/events?fax_id=${j.body.id}&type=fax.delivered`);
    assert.deepEqual(ev.body.data[0]?.data.object.tags, tags, 'tags in the fax.delivered event');
});

test('more than 20 tags, a value over 500 characters, or a bad tag key gets 422 on tags', async () => {
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    const twenty = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v']));
    await expectAll([
        { what: '21 tags', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: many }), fields: ['tags'] },
        { what: '21 metadata entries', send: post({ to: '+15005550001', document_url: GOOD_URL, metadata: many }), fields: ['metadata'] },
        { what: '501 ASCII characters', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { k: 'x'.repeat(501) } }), fields: ['tags'] },
        { what: '501 emoji', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { k: '😀'.repeat(501) } }), fields: ['tags'] },
        { what: 'a number value', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { k: 1 } }), fields: ['tags'] },
        { what: 'a nested object value', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { k: { a: 'b' } } }), fields: ['tags'] },
        { what: 'an empty key', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { '': 'v' } }), fields: ['tags'] },
        { what: 'a 41-character key', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { ['k'.repeat(41)]: 'v' } }), fields: ['tags'] },
        { what: 'tags and metadata both', send: post({ to: '+15005550001', document_url: GOOD_URL, tags: { a: 'b' }, metadata: { a: 'b' } }), fields: ['metadata'] },
        { what: '21 tags[KEY] form fields', send: post(form({ to: '+15005550001', ...Object.fromEntries(Object.keys(many).map((k) => [`tags[${k}]`, 'v'])) })), fields: ['tags'] },
    ].map((c) => ({ ...c, code: 'validation_failed' })));
    // Twenty is allowed.
    const ok = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/faxes', form({ to: '+15005550001', tags: JSON.stringify(twenty) }));
    assert.equal(ok.status, 201, ok.text.slice(0, 300));
    await waitTerminal(d, d.keys.sandbox_key, ok.body.id);
});

test('a document_url that is not http(s) or has no host gets 422 on document_url', async () => {
    const urls = ['ftp://example.com/doc.pdf', 'file:///etc/passwd', 'http://', 'https:///doc.pdf', 'example.com/doc.pdf',
        'gopher://example.com/', 'http://exa mple.com/doc.pdf', `https://example.com/${'a'.repeat(2100)}`];
    await expectAll(urls.map((u) => ({
        what: u.slice(0, 60),
        send: post({ to: '+15005550001', document_url: u }),
        code: 'validation_failed',
        fields: ['document_url'],
    })));
    await expectAll([{
        what: 'webhook_url ftp',
        send: post({ to: '+15005550001', document_url: GOOD_URL, webhook_url: 'ftp://example.com/hook' }),
        code: 'validation_failed',
        fields: ['webhook_url'],
    }]);
});

test('a document_url on loopback/private addresses is accepted, then fails document_fetch_failed / blocked_address', async () => {
    let hits = 0;
    const srv = http.createServer((req, res) => {
        hits++;
        res.writeHead(200, { 'Content-Type': 'application/pdf' });
        res.end(pdf);
    });
    await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const { port } = srv.address();
    try {
        const before = await snapshot();
        const urls = [
            `http://127.0.0.1:${port}/doc.pdf`,
            `http://localhost:${port}/doc.pdf`,
            'http://169.254.169.254/latest/meta-data/',
            'http://10.0.0.1/doc.pdf',
            `http://[::1]:${port}/doc.pdf`,
        ];
        const ids = [];
        for (const u of urls) {
            const r = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/faxes', { to: '+15005550001', document_url: u });
            assert.equal(r.status, 201, `${u}: ${r.text.slice(0, 300)}`);
            assert.equal(r.body.status, 'queued');
            ids.push(r.body.id);
        }
        for (const [i, id] of ids.entries()) {
            const fax = await waitTerminal(d, d.keys.sandbox_key, id);
            assert.equal(fax.status, 'failed', `${urls[i]}: ${JSON.stringify(fax)}`);
            assert.equal(fax.error_code, 'document_fetch_failed', urls[i]);
            assert.equal(fax.error_subcode, 'blocked_address', urls[i]);
            assert.equal(fax.cost.captured, 0, urls[i]);
            const ev = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/events?fax_id=${id}`);
            assert.deepEqual(ev.body.data.map((e) => e.type).filter((t) => t.startsWith('fax.') && t !== 'fax.queued'), ['fax.failed'], urls[i]);
        }
        assert.equal(hits, 0, 'the SSRF guard let a request reach the loopback server');
        const now = await snapshot();
        assert.equal(now.available, before.available, 'the holds were released');
        assert.equal(now.held, before.held, 'the holds were released');
        assert.equal(now.faxes, before.faxes + urls.length);
    } finally {
        srv.close();
    }
});

test('an unknown route gets 404 route_not_found', async () => {
    const get = (p, key = d.keys.sandbox_key) => () => api(d.url, key, 'GET', p);
    await expectAll([
        { what: '/v1/nothing', send: get('/v1/nothing') },
        { what: '/v2/faxes', send: get('/v2/faxes') },
        { what: '/', send: get('/') },
        { what: 'no key', send: get('/v1/nothing', null) },
        { what: '/v1/faxes/x/y/z', send: get('/v1/faxes/x/y/z') },
        { what: 'POST /v1/unknown', send: post({ a: 1 }, {}, undefined, '/v1/unknown') },
        { what: 'encoded traversal', send: get('/v1/%2e%2e/%2e%2e/etc/passwd') },
    ].map((c) => ({ ...c, code: 'route_not_found' })));
});

test('a wrong method gets 405 method_not_allowed with Allow', async () => {
    const call = (m, p) => () => api(d.url, d.keys.sandbox_key, m, p);
    const allow = (want) => (r) => {
        const got = (r.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean).sort();
        assert.deepEqual(got, [...want].sort(), `Allow: ${r.headers.get('allow')}`);
    };
    await expectAll([
        { what: 'PUT /v1/faxes', send: call('PUT', '/v1/faxes'), check: allow(['GET', 'POST']) },
        { what: 'DELETE /v1/environment/balance', send: call('DELETE', '/v1/environment/balance'), check: allow(['GET']) },
        { what: 'POST /healthz', send: call('POST', '/healthz'), check: allow(['GET']) },
        { what: 'PATCH /v1/faxes/{id}', send: call('PATCH', '/v1/faxes/fax_01HZZZZZZZZZZZZZZZZZZZZZZZ'), check: allow(['GET', 'DELETE']) },
        { what: 'GET /v1/faxes/{id}/cancel', send: call('GET', '/v1/faxes/fax_01HZZZZZZZZZZZZZZZZZZZZZZZ/cancel'), check: allow(['POST']) },
    ].map((c) => ({ ...c, code: 'method_not_allowed' })));
});

test('OPTIONS gets a catalogued JSON answer with Allow, not libevent\'s 501 HTML page', async () => {
    const r = await api(d.url, d.keys.sandbox_key, 'OPTIONS', '/v1/faxes').catch((err) => ({ status: 0, text: err.message, headers: new Headers(), contentType: '' }));
    const allow = (r.headers.get('allow') || '').split(',').map((s) => s.trim()).filter(Boolean).sort();
    if (r.status === 204 || r.status === 200) {
        assert.deepEqual(allow.filter((m) => m !== 'OPTIONS' && m !== 'HEAD'), ['GET', 'POST'], `OPTIONS Allow: ${r.headers.get('allow')}`);
        assert.match(r.headers.get('x-request-id') || '', REQ_ID);
    } else {
        assertError(r, 'method_not_allowed', { what: 'OPTIONS /v1/faxes' });
        assert.deepEqual(allow, ['GET', 'POST'], `Allow: ${r.headers.get('allow')}`);
    }
    await assertIntact(await snapshot(), d, d.keys.sandbox_key, 'OPTIONS');
});

test('HEAD on a GET endpoint is answered like GET without a body (RFC 9110 §9.3.2)', async () => {
    const get = await api(d.url, d.keys.sandbox_key, 'GET', '/v1/environment/balance');
    // fetch directly: api() would try to parse the empty JSON body.
    const head = await fetch(new URL('/v1/environment/balance', d.url), { method: 'HEAD', headers: { Authorization: `Bearer ${d.keys.sandbox_key}` } });
    const bytes = Buffer.from(await head.arrayBuffer());
    assert.equal(head.status, get.status, `HEAD /v1/environment/balance: ${head.status} (GET: ${get.status}), Allow: ${head.headers.get('allow')}`);
    assert.equal(bytes.length, 0, 'HEAD has no body');
    assert.match(head.headers.get('x-request-id') || '', REQ_ID);
    assert.match(head.headers.get('content-type') || '', /^application\/json/);
    const h2 = await fetch(new URL('/healthz', d.url), { method: 'HEAD' });
    await h2.arrayBuffer();
    assert.equal(h2.status, 200, `HEAD /healthz: ${h2.status}`);
});

test('GET /docs/errors/{code} is an HTML page for each catalogued code; an unknown code is 404', async () => {
    for (const code of ['validation_failed', 'invalid_json', 'unauthenticated', 'payload_too_large', 'no_route', 'document_fetch_failed', 'interrupted_by_restart']) {
        const r = await api(d.url, null, 'GET', `/docs/errors/${code}`);
        assert.equal(r.status, 200, `${code}: ${r.status}`);
        assert.match(r.contentType, /^text\/html/, code);
        assert.match(r.text, /^<!doctype html>/i, code);
        assert.ok(r.text.includes(`<code>${code}</code>`), `${code}: the page names the code`);
        assert.ok(r.text.includes(`<code>${catalog[code].action}</code>`), `${code}: the page names the action`);
        if (catalog[code].status) assert.ok(r.text.includes(String(catalog[code].status)), `${code}: the page shows the status`);
    }
    // Every docs link of an error body resolves.
    const e = await api(d.url, null, 'GET', '/v1/faxes');
    const page = await fetch(e.body.docs);
    assert.equal(page.status, 200);
    await expectAll([
        { what: 'unknown code', send: () => api(d.url, null, 'GET', '/docs/errors/no_such_code') },
        { what: 'markup in the code', send: () => api(d.url, null, 'GET', '/docs/errors/%3Cscript%3E') },
    ].map((c) => ({ ...c, code: 'not_found' })));
});
