// SPDX-License-Identifier: Apache-2.0
//
// Idempotency-Key (DESIGN §5) against a real mintfaxd: a replay is the first
// response byte for byte with `Idempotent-Replayed: true` and the key echoed
// in `X-Idempotency-Key`, and never a second fax; the same key with a
// different request is 409 idempotency_key_reuse; keys are scoped to the
// environment; a multipart request is the same request whatever its boundary;
// 50 concurrent identical requests create exactly one fax; a key longer than
// 255 characters is refused. Each test uses a workspace of its own, so fax
// lists and balances do not mix.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { api, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const PAGES = 2;
const PRICE = 7;
const INITIAL = 10000;
const pdf = makePdf({ pages: PAGES, text: 'mintfax idempotency' });
const otherPdf = makePdf({ pages: PAGES, text: 'mintfax idempotency, another document' });

let d;

before(async () => {
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
        },
    });
});

after(async () => {
    await d?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

const uniq = (prefix) => `${prefix}-${crypto.randomBytes(8).toString('hex')}`;

/** A new workspace: {id, sandbox, live} (the keys). */
async function newWorkspace() {
    const r = await api(d.url, d.keys.account_key, 'POST', '/v1/workspaces', { name: uniq('idem') });
    assert.equal(r.status, 201, `POST /v1/workspaces: ${r.text}`);
    const key = (env) => r.body.keys.find((k) => k.environment === env).key;
    return { id: r.body.id, sandbox: key('sandbox'), live: key('live') };
}

async function uploadDocument(key, bytes = pdf) {
    const fd = new FormData();
    fd.append('file', new Blob([bytes], { type: 'application/pdf' }), 'idem.pdf');
    const r = await api(d.url, key, 'POST', '/v1/documents', fd);
    assert.equal(r.status, 201, `POST /v1/documents: ${r.text}`);
    return r.body.id;
}

/** A multipart/form-data body with the given boundary: fields then the file. */
function multipart(boundary, fields, file = pdf, filename = 'idem.pdf') {
    const chunks = [];
    for (const [name, value] of Object.entries(fields)) {
        chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`));
    }
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        'Content-Type: application/pdf\r\n\r\n'));
    chunks.push(file);
    chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`));
    return {
        body: Buffer.concat(chunks),
        headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    };
}

function postFax(key, body, idemKey, headers = {}) {
    const h = { ...headers };
    if (idemKey !== undefined) h['Idempotency-Key'] = idemKey;
    return api(d.url, key, 'POST', '/v1/faxes', body, h);
}

function postMultipart(key, mp, idemKey) {
    return postFax(key, mp.body, idemKey, mp.headers);
}

/** Faxes of the key carrying tag run=VALUE. */
async function faxesTagged(key, run) {
    const r = await api(d.url, key, 'GET', `/v1/faxes?per_page=100&tag[run]=${encodeURIComponent(run)}`);
    assert.equal(r.status, 200, `GET /v1/faxes?tag[run]=…: ${r.text}`);
    return r.body.data;
}

async function allFaxes(key) {
    const r = await api(d.url, key, 'GET', '/v1/faxes?per_page=100');
    assert.equal(r.status, 200, `GET /v1/faxes: ${r.text}`);
    return r.body.data;
}

async function waitTerminal(key, id) {
    return waitFor(async () => {
        const r = await api(d.url, key, 'GET', `/v1/faxes/${id}`);
        return (r.body.status === 'delivered' || r.body.status === 'failed') && r.body;
    }, { timeoutMs: 15000, intervalMs: 20, what: `fax ${id} to finish` });
}

async function balance(key) {
    const r = await api(d.url, key, 'GET', '/v1/environment/balance');
    assert.equal(r.status, 200, r.text);
    return r.body;
}

function assertErrorEnvelope(r, status, code) {
    assert.equal(r.status, status, `expected ${status} ${code}: ${r.status} ${r.text}`);
    assert.match(r.contentType, /^application\/json/);
    assert.equal(r.body.error, code, r.text);
    assert.equal(typeof r.body.message, 'string');
    assert.equal(typeof r.body.action, 'string');
    assert.match(r.body.docs, new RegExp(`/docs/errors/${code}$`));
    assert.match(r.body.request_id, /^req_/);
    assert.equal(r.body.request_id, r.headers.get('x-request-id'));
}

const replayed = (r) => (r.headers.get('idempotent-replayed') || '').toLowerCase() === 'true';

// ---------------------------------------------------------------------------

test('same key and same request: the first response is replayed byte for byte, with Idempotent-Replayed and the key echoed, and one fax only', async () => {
    const ws = await newWorkspace();
    const doc = await uploadDocument(ws.sandbox);
    const run = uniq('run');
    const key = uniq('key');
    const body = { to: '+15005550001', document_id: doc, tags: { run } };

    const first = await postFax(ws.sandbox, body, key);
    assert.equal(first.status, 201, first.text);
    assert.equal(first.headers.get('x-idempotency-key'), key, 'X-Idempotency-Key echoed on the first answer');
    assert.ok(!replayed(first), 'the first answer is not a replay');
    assert.equal(first.body.idempotency_key, key, 'the fax records its idempotency_key');
    assert.equal(first.body.status, 'queued');

    const second = await postFax(ws.sandbox, body, key);
    assert.equal(second.status, 201, second.text);
    assert.ok(replayed(second), `Idempotent-Replayed: true on the replay (got ${second.headers.get('idempotent-replayed')})`);
    assert.equal(second.headers.get('x-idempotency-key'), key, 'X-Idempotency-Key echoed on the replay');
    assert.ok(second.bytes.equals(first.bytes), `the replay is byte-identical:\n${first.text}\n${second.text}`);
    assert.match(second.contentType, /^application\/json/);
    assert.match(second.headers.get('x-request-id') || '', /^req_/, 'the replay has its own request id header');

    // The same JSON formatted differently is the same request.
    const pretty = await postFax(ws.sandbox, JSON.stringify(body, null, 4), key, { 'Content-Type': 'application/json' });
    assert.equal(pretty.status, 201, pretty.text);
    assert.ok(replayed(pretty), 'reformatted JSON is the same request');
    assert.ok(pretty.bytes.equals(first.bytes));

    // Once the fax has moved on, a replay is still the first answer as it was.
    await waitTerminal(ws.sandbox, first.body.id);
    const later = await postFax(ws.sandbox, body, key);
    assert.equal(later.status, 201);
    assert.ok(replayed(later));
    assert.ok(later.bytes.equals(first.bytes), 'a replay after the fax was delivered is still the original answer');

    const faxes = await faxesTagged(ws.sandbox, run);
    assert.equal(faxes.length, 1, `one fax only: ${faxes.map((f) => f.id)}`);
    assert.equal(faxes[0].id, first.body.id);
    assert.equal((await allFaxes(ws.sandbox)).length, 1);
    const bal = await balance(ws.sandbox);
    assert.equal(bal.available, INITIAL - PAGES * PRICE, 'charged once');
    assert.equal(bal.held, 0);
});

test('same key with a different request is 409 idempotency_key_reuse, and no second fax', async () => {
    const ws = await newWorkspace();
    const doc = await uploadDocument(ws.sandbox);
    const run = uniq('run');
    const key = uniq('key');
    const first = await postFax(ws.sandbox, { to: '+15005550001', document_id: doc, tags: { run } }, key);
    assert.equal(first.status, 201, first.text);

    for (const other of [
        { to: '+15005550007', document_id: doc, tags: { run } },                // another number
        { to: '+15005550001', document_id: doc, tags: { run }, retries: 1 },    // one more field
        { to: '+15005550001', document_id: doc, tags: { run: `${run}-x` } },     // another tag value
    ]) {
        const r = await postFax(ws.sandbox, other, key);
        assertErrorEnvelope(r, 409, 'idempotency_key_reuse');
        assert.ok(!replayed(r), 'a conflict is not a replay');
    }
    // The same key on another path is another request too.
    const resend = await api(d.url, ws.sandbox, 'POST', `/v1/faxes/${first.body.id}/resend`, {}, { 'Idempotency-Key': key });
    assertErrorEnvelope(resend, 409, 'idempotency_key_reuse');

    assert.equal((await allFaxes(ws.sandbox)).length, 1, 'no second fax');
    // The key still replays its own request.
    const again = await postFax(ws.sandbox, { to: '+15005550001', document_id: doc, tags: { run } }, key);
    assert.equal(again.status, 201);
    assert.ok(replayed(again));
    assert.ok(again.bytes.equals(first.bytes));
});

test('the same key used by another environment\'s key is independent', async () => {
    const ws = await newWorkspace();
    const other = await newWorkspace();
    // Live starts at 0 credits: top it up with the account key.
    const top = await api(d.url, d.keys.account_key, 'POST', `/v1/workspaces/${ws.id}/topups`,
        { environment: 'live', amount: 1000 });
    assert.equal(top.status, 201, `live top-up: ${top.text}`);

    const key = uniq('shared-key');
    const mp = multipart('mintfax-boundary-1', { to: '+15005550001', 'tags[run]': 'shared' });
    const a = await postMultipart(ws.sandbox, mp, key);
    assert.equal(a.status, 201, `sandbox: ${a.text}`);

    // The very same request with the same key: new faxes in the other environments.
    const b = await postMultipart(ws.live, mp, key);
    assert.equal(b.status, 201, `live, same key: ${b.text}`);
    assert.ok(!replayed(b), 'the live environment does not replay the sandbox\'s answer');
    assert.notEqual(b.body.id, a.body.id);
    assert.equal(b.body.environment, 'live');

    const c = await postMultipart(other.sandbox, mp, key);
    assert.equal(c.status, 201, `another workspace, same key: ${c.text}`);
    assert.ok(!replayed(c), 'another workspace does not replay this one\'s answer');
    assert.notEqual(c.body.id, a.body.id);
    assert.notEqual(c.body.id, b.body.id);

    // A different request with the same key elsewhere is not a conflict either.
    const key2 = uniq('key2');
    const s1 = await postMultipart(ws.sandbox, multipart('b1', { to: '+15005550001' }), key2);
    assert.equal(s1.status, 201, s1.text);
    const l1 = await postMultipart(ws.live, multipart('b2', { to: '+15005550007' }, otherPdf), key2);
    assert.equal(l1.status, 201, `live, same key, different request: ${l1.text}`);

    // Each environment replays its own answer.
    const ra = await postMultipart(ws.sandbox, mp, key);
    assert.ok(replayed(ra));
    assert.ok(ra.bytes.equals(a.bytes));
    const rb = await postMultipart(ws.live, mp, key);
    assert.ok(replayed(rb));
    assert.ok(rb.bytes.equals(b.bytes));

    assert.equal((await allFaxes(ws.sandbox)).length, 2);
    assert.equal((await allFaxes(ws.live)).length, 2);
    assert.equal((await allFaxes(other.sandbox)).length, 1);
});

test('multipart with a different boundary but the same parts is the same request', async () => {
    const ws = await newWorkspace();
    const key = uniq('mp-key');
    const fields = { to: '+15005550001', resolution: 'fine', 'tags[run]': 'mp' };
    const first = await postMultipart(ws.sandbox, multipart('----one-boundary-7d93a', fields), key);
    assert.equal(first.status, 201, first.text);

    const second = await postMultipart(ws.sandbox, multipart('----a-completely-different-boundary-0042', fields), key);
    assert.equal(second.status, 201, second.text);
    assert.ok(replayed(second), 'a new boundary is still the same request');
    assert.ok(second.bytes.equals(first.bytes), 'byte-identical replay');

    // FormData (the client picks a random boundary each time) is the same request too.
    const fd = () => {
        const f = new FormData();
        for (const [k, v] of Object.entries(fields)) f.append(k, v);
        f.append('file', new Blob([pdf], { type: 'application/pdf' }), 'idem.pdf');
        return f;
    };
    const third = await postFax(ws.sandbox, fd(), key);
    assert.equal(third.status, 201, third.text);
    assert.ok(replayed(third), 'FormData with its own boundary is the same request');
    assert.ok(third.bytes.equals(first.bytes));

    // Other file bytes under the same key are another request.
    const conflict = await postMultipart(ws.sandbox, multipart('----one-boundary-7d93a', fields, otherPdf), key);
    assertErrorEnvelope(conflict, 409, 'idempotency_key_reuse');

    assert.equal((await allFaxes(ws.sandbox)).length, 1, 'one fax only');
});

/** Fires n identical requests at once and checks exactly one fax came of them. */
async function concurrentOnce(n, makeRequest, ws, run) {
    const answers = await Promise.all(Array.from({ length: n }, () => makeRequest()));
    const created = answers.filter((r) => r.status === 201);
    const inProgress = answers.filter((r) => r.status === 409);
    const other = answers.filter((r) => r.status !== 201 && r.status !== 409);
    assert.deepEqual(other.map((r) => `${r.status} ${r.text}`), [], 'every answer is 201 or 409');
    for (const r of inProgress) assertErrorEnvelope(r, 409, 'idempotency_key_in_progress');
    assert.ok(created.length >= 1, 'at least one 201');
    const ids = new Set(created.map((r) => r.body.id));
    assert.equal(ids.size, 1, `all 201 answers name the same fax: ${[...ids]}`);
    for (const r of created) assert.ok(r.bytes.equals(created[0].bytes), 'all 201 answers are the same bytes');
    assert.equal(created.filter((r) => !replayed(r)).length, 1, 'exactly one 201 is the original, the rest are replays');

    const faxes = await faxesTagged(ws.sandbox, run);
    assert.equal(faxes.length, 1, `exactly one fax created: ${faxes.map((f) => f.id)}`);
    assert.equal((await allFaxes(ws.sandbox)).length, 1);
    const [id] = ids;
    assert.equal(faxes[0].id, id);
    await waitTerminal(ws.sandbox, id);
    const bal = await balance(ws.sandbox);
    assert.equal(bal.available, INITIAL - PAGES * PRICE, 'charged for one fax');
    assert.equal(bal.held, 0);
    return { created: created.length, inProgress: inProgress.length };
}

test('50 concurrent identical JSON POSTs with one key create exactly one fax', async (t) => {
    const ws = await newWorkspace();
    const doc = await uploadDocument(ws.sandbox);
    const run = uniq('run');
    const key = uniq('conc');
    const body = { to: '+15005550001', document_id: doc, tags: { run } };
    const n = await concurrentOnce(50, () => postFax(ws.sandbox, body, key), ws, run);
    t.diagnostic(`${n.created} answers 201, ${n.inProgress} answers 409 idempotency_key_in_progress`);
});

test('50 concurrent identical multipart POSTs with one key create exactly one fax', async (t) => {
    const ws = await newWorkspace();
    const run = uniq('run');
    const key = uniq('conc-mp');
    let i = 0;
    // Each request with its own boundary, as independent clients would send.
    const n = await concurrentOnce(50, () => postMultipart(ws.sandbox,
        multipart(`conc-boundary-${i++}`, { to: '+15005550001', 'tags[run]': run }), key), ws, run);
    t.diagnostic(`${n.created} answers 201, ${n.inProgress} answers 409 idempotency_key_in_progress`);
});

test('an Idempotency-Key longer than 255 characters is 422 validation_failed and creates no fax', async () => {
    const ws = await newWorkspace();
    const doc = await uploadDocument(ws.sandbox);
    const r = await postFax(ws.sandbox, { to: '+15005550001', document_id: doc }, 'k'.repeat(256));
    assertErrorEnvelope(r, 422, 'validation_failed');
    assert.ok(r.body.context?.errors && Object.keys(r.body.context.errors).some((f) => /idempotency/i.test(f)),
        `context.errors names the Idempotency-Key: ${r.text}`);
    assert.equal((await allFaxes(ws.sandbox)).length, 0, 'no fax created');
    const bal = await balance(ws.sandbox);
    assert.equal(bal.available, INITIAL);
    assert.equal(bal.held, 0);

    // 255 is the longest allowed.
    const ok = await postFax(ws.sandbox, { to: '+15005550001', document_id: doc }, 'k'.repeat(255));
    assert.equal(ok.status, 201, `a 255-character key is accepted: ${ok.text}`);
    assert.equal(ok.headers.get('x-idempotency-key'), 'k'.repeat(255));
});

test('Idempotency-Key works on other POSTs too: a repeated top-up is applied once', async () => {
    const ws = await newWorkspace();
    const key = uniq('topup');
    const first = await api(d.url, ws.sandbox, 'POST', '/v1/environment/topups', { amount: 500 }, { 'Idempotency-Key': key });
    assert.equal(first.status, 201, first.text);
    const second = await api(d.url, ws.sandbox, 'POST', '/v1/environment/topups', { amount: 500 }, { 'Idempotency-Key': key });
    assert.equal(second.status, 201, second.text);
    assert.ok(replayed(second));
    assert.ok(second.bytes.equals(first.bytes));
    assert.equal((await balance(ws.sandbox)).available, INITIAL + 500, 'the top-up was applied once');
    const conflict = await api(d.url, ws.sandbox, 'POST', '/v1/environment/topups', { amount: 600 }, { 'Idempotency-Key': key });
    assertErrorEnvelope(conflict, 409, 'idempotency_key_reuse');
    assert.equal((await balance(ws.sandbox)).available, INITIAL + 500);
});
