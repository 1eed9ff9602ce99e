// SPDX-License-Identifier: Apache-2.0
//
// The isolation matrix (DESIGN §4, issue 2): two workspaces (A, the one of
// the first start, and B, made with the account key), each with a sandbox
// and a live environment, so four environment keys. Whatever one key makes
// (faxes, documents, events, numbers, idempotency keys, balance movements)
// is invisible to the three others: 404 not_found, never the other's data.
// The account key never reaches a fax route (403) and a workspace key never
// reaches /v1/workspaces (403); live credits come only from the account key.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { api, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const pdf = makePdf({ pages: 1, text: 'mintfax isolation test' });
const PRICE = 7;   // [billing] price_per_page_* defaults
const LIVE_TOPUP = 1000;

let d;
let acct;
let wsB;            // the POST /v1/workspaces answer
const envs = [];    // {name, ws, type, key, fax, doc, event, balance0}

before(async () => {
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
        },
    });
    acct = d.keys.account_key;
    const r = await api(d.url, acct, 'POST', '/v1/workspaces', { name: 'Workspace B (isolation test)' });
    assert.equal(r.status, 201, r.text);
    wsB = r.body;
    const keyOf = (type) => wsB.keys.find((k) => k.environment === type)?.key;
    envs.push(
        { name: 'A/sandbox', ws: d.keys.workspace_id, type: 'sandbox', key: d.keys.sandbox_key },
        { name: 'A/live', ws: d.keys.workspace_id, type: 'live', key: d.keys.live_key },
        { name: 'B/sandbox', ws: wsB.id, type: 'sandbox', key: keyOf('sandbox') },
        { name: 'B/live', ws: wsB.id, type: 'live', key: keyOf('live') },
    );
    // Live environments start at 0: the operator adds credits.
    for (const e of envs.filter((x) => x.type === 'live')) {
        const t = await api(d.url, acct, 'POST', `/v1/workspaces/${e.ws}/topups`, { environment: 'live', amount: LIVE_TOPUP });
        assert.equal(t.status, 201, `${e.name} top-up: ${t.text}`);
    }
    for (const e of envs) {
        const b = await api(d.url, e.key, 'GET', '/v1/environment/balance');
        assert.equal(b.status, 200, `${e.name}: ${b.text}`);
        e.balance0 = b.body;
    }
    // One document and one fax per environment, each with its own tag.
    for (const e of envs) {
        const form = new FormData();
        form.append('file', new Blob([pdf], { type: 'application/pdf' }), `${e.name.replace('/', '-')}.pdf`);
        const doc = await api(d.url, e.key, 'POST', '/v1/documents', form);
        assert.equal(doc.status, 201, `${e.name} document: ${doc.text}`);
        e.doc = doc.body;
        const fax = await api(d.url, e.key, 'POST', '/v1/faxes', { to: '+15005550001', document_id: e.doc.id, tags: { owner: e.name } });
        assert.equal(fax.status, 201, `${e.name} fax: ${fax.text}`);
        e.fax = fax.body;
    }
    for (const e of envs) {
        e.fax = await waitFor(async () => {
            const r = await api(d.url, e.key, 'GET', `/v1/faxes/${e.fax.id}`);
            return ['delivered', 'failed'].includes(r.body.status) && r.body;
        }, { what: `${e.name} fax terminal` });
        const ev = await api(d.url, e.key, 'GET', `/v1/events?fax_id=${e.fax.id}`);
        assert.equal(ev.status, 200);
        e.events = ev.body.data;
    }
});

after(async () => {
    await d?.stop();
});

// ---------------------------------------------------------------------------

function assertNotFound(r, what) {
    assert.equal(r.status, 404, `${what}: expected 404 not_found, got ${r.status} ${r.text.slice(0, 300)}`);
    assert.equal(r.body.error, 'not_found', what);
    assert.match(r.body.request_id, /^req_/, what);
}

function assertForbidden(r, what) {
    assert.equal(r.status, 403, `${what}: expected 403 forbidden, got ${r.status} ${r.text.slice(0, 300)}`);
    assert.equal(r.body.error, 'forbidden', what);
    assert.equal(r.body.action, 'use_other_key', what);
    assert.match(r.body.request_id, /^req_/, what);
}

/** Every (owner, other) pair of distinct environments. */
function pairs() {
    const out = [];
    for (const owner of envs) for (const other of envs) if (owner !== other) out.push([owner, other]);
    return out;
}

async function listIds(key, p) {
    const ids = [];
    let cursor = null;
    for (;;) {
        const r = await api(d.url, key, 'GET', `${p}${p.includes('?') ? '&' : '?'}per_page=100${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, `GET ${p}: ${r.text.slice(0, 200)}`);
        ids.push(...r.body.data.map((x) => x.id));
        if (!r.body.has_more) return { ids, data: r.body.data };
        cursor = r.body.next_cursor;
    }
}

// ---------------------------------------------------------------------------

test('the account key creates a second workspace whose sandbox and live keys work at once', async () => {
    assert.match(wsB.id, /^ws_[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.notEqual(wsB.id, d.keys.workspace_id);
    assert.equal(wsB.object, 'workspace');
    assert.deepEqual(wsB.environments.map((e) => e.type).sort(), ['live', 'sandbox']);
    assert.equal(wsB.keys.length, 2);
    for (const k of wsB.keys) {
        assert.match(k.id, /^key_/);
        assert.match(k.key, k.environment === 'live' ? /^mfx_live_/ : /^mfx_test_/);
    }
    for (const e of envs) {
        const w = await api(d.url, e.key, 'GET', '/v1/workspace');
        assert.equal(w.status, 200, `${e.name}: ${w.text}`);
        assert.equal(w.body.id, e.ws, `${e.name} sees its own workspace`);
        assert.equal(e.balance0.type, e.type, `${e.name} balance type`);
    }
    // New sandboxes start with the configured credits; new live environments at 0 (+ our top-up).
    const bSandbox = envs.find((e) => e.name === 'B/sandbox');
    assert.equal(bSandbox.balance0.available, 10000);
    const bLive = envs.find((e) => e.name === 'B/live');
    assert.equal(bLive.balance0.available, LIVE_TOPUP);
    const list = await api(d.url, acct, 'GET', '/v1/workspaces');
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((w) => w.id === wsB.id));
    assert.ok(!('keys' in (list.body.data.find((w) => w.id === wsB.id))), 'keys are shown once, not in lists');
});

test('a fax made with one environment key is 404 not_found for each of the other three keys', async () => {
    for (const [owner, other] of pairs()) {
        const id = owner.fax.id;
        const what = `${owner.name}'s fax with ${other.name}'s key`;
        assertNotFound(await api(d.url, other.key, 'GET', `/v1/faxes/${id}`), `GET ${what}`);
        assertNotFound(await api(d.url, other.key, 'GET', `/v1/fax/${id}`), `GET (alias) ${what}`);
        assertNotFound(await api(d.url, other.key, 'GET', `/v1/faxes/${id}/image`), `image of ${what}`);
        assertNotFound(await api(d.url, other.key, 'POST', `/v1/faxes/${id}/cancel`), `cancel ${what}`);
        assertNotFound(await api(d.url, other.key, 'POST', `/v1/faxes/${id}/resend`), `resend ${what}`);
        assertNotFound(await api(d.url, other.key, 'DELETE', `/v1/faxes/${id}`), `delete ${what}`);
    }
    // The owner still sees it, untouched (not deleted, not resent).
    for (const e of envs) {
        const r = await api(d.url, e.key, 'GET', `/v1/faxes/${e.fax.id}`);
        assert.equal(r.status, 200, `${e.name} own fax`);
        assert.equal(r.body.environment, e.type);
        assert.deepEqual(r.body.tags, { owner: e.name });
        const img = await api(d.url, e.key, 'GET', `/v1/faxes/${e.fax.id}/image`);
        // The image is the rendered TIFF-F once the fax was submitted; before, 409.
        assert.ok(img.status === 200 || img.status === 409, `${e.name} own image still there: ${img.status}`);
        if (img.status === 200) assert.equal(img.bytes.subarray(0, 2).toString('latin1'), 'II', `${e.name} image is a TIFF`);
        const doc = await api(d.url, e.key, 'GET', `/v1/documents/${r.body.document_id}`);
        assert.equal(doc.status, 200, `${e.name} own document`);
        assert.equal(doc.body.sha256, createHash('sha256').update(pdf).digest('hex'), `${e.name} document digest`);
    }
});

test('a fax never shows in another environment\'s fax list or event list', async () => {
    for (const e of envs) {
        const faxes = await listIds(e.key, '/v1/faxes');
        assert.deepEqual(faxes.ids, [e.fax.id], `${e.name} lists exactly its own fax`);
        const tagged = await listIds(e.key, `/v1/faxes?tag[owner]=${encodeURIComponent(envs.find((x) => x !== e).name)}`);
        assert.deepEqual(tagged.ids, [], `${e.name}: a tag filter finds nothing of another environment`);
        const events = await listIds(e.key, '/v1/events');
        for (const ev of events.data) {
            assert.equal(ev.environment, e.type, `${e.name}: event ${ev.id} environment`);
            assert.equal(ev.workspace_id, e.ws, `${e.name}: event ${ev.id} workspace`);
            if (ev.data?.object?.id?.startsWith('fax_')) assert.equal(ev.data.object.id, e.fax.id, `${e.name}: event about another fax`);
        }
        for (const other of envs.filter((x) => x !== e)) {
            const byFax = await api(d.url, e.key, 'GET', `/v1/events?fax_id=${other.fax.id}`);
            assert.equal(byFax.status, 200);
            assert.deepEqual(byFax.body.data, [], `${e.name}: events of ${other.name}'s fax`);
        }
    }
});

test('an event of one environment is 404 not_found for each of the other keys', async () => {
    for (const [owner, other] of pairs()) {
        for (const ev of owner.events) {
            assertNotFound(await api(d.url, other.key, 'GET', `/v1/events/${ev.id}`), `${owner.name}'s event ${ev.type} with ${other.name}'s key`);
        }
    }
    for (const e of envs) {
        const r = await api(d.url, e.key, 'GET', `/v1/events/${e.events[0].id}`);
        assert.equal(r.status, 200, `${e.name} own event`);
    }
});

test('one environment\'s faxes and top-ups never move another environment\'s balance', async () => {
    for (const e of envs) {
        const b = await api(d.url, e.key, 'GET', '/v1/environment/balance');
        assert.equal(b.status, 200);
        assert.equal(b.body.type, e.type);
        assert.equal(b.body.held, 0, `${e.name} held`);
        assert.equal(b.body.available, e.balance0.available - e.fax.cost.captured, `${e.name} available = start − its own capture`);
        const alias = await api(d.url, e.key, 'GET', '/v1/account/balance');
        assert.deepEqual(alias.body, b.body, `${e.name} alias`);
    }
    // A sandbox top-up in A is seen by A/sandbox only.
    const aS = envs.find((e) => e.name === 'A/sandbox');
    const before = await Promise.all(envs.map(async (e) => (await api(d.url, e.key, 'GET', '/v1/environment/balance')).body));
    const t = await api(d.url, aS.key, 'POST', '/v1/environment/topups', { amount: 123 });
    assert.equal(t.status, 201, t.text);
    for (const [i, e] of envs.entries()) {
        const b = (await api(d.url, e.key, 'GET', '/v1/environment/balance')).body;
        assert.equal(b.available, before[i].available + (e === aS ? 123 : 0), `${e.name} after A/sandbox's top-up`);
        const ev = await api(d.url, e.key, 'GET', '/v1/events?type=balance.topup');
        const amounts = ev.body.data.map((x) => x.data.object);
        if (e !== aS && e.type === 'sandbox') assert.deepEqual(amounts, [], `${e.name} sees no top-up event`);
        if (e.type === 'live') assert.equal(ev.body.data.length, 1, `${e.name} sees only its own live top-up`);
    }
});

test('a document of one environment is 404 for the other keys and cannot be sent with them', async () => {
    for (const [owner, other] of pairs()) {
        const what = `${owner.name}'s document with ${other.name}'s key`;
        assertNotFound(await api(d.url, other.key, 'GET', `/v1/documents/${owner.doc.id}`), `GET ${what}`);
        const r = await api(d.url, other.key, 'POST', '/v1/faxes', { to: '+15005550001', document_id: owner.doc.id });
        assert.equal(r.status, 422, `send ${what}: ${r.status} ${r.text.slice(0, 300)}`);
        assert.equal(r.body.error, 'validation_failed');
        assert.equal(typeof r.body.context?.errors?.document_id, 'string', `send ${what}: names document_id`);
        assert.doesNotMatch(r.text, new RegExp(owner.doc.sha256), `send ${what}: leaks the document`);
    }
    for (const e of envs) {
        const r = await api(d.url, e.key, 'GET', `/v1/documents/${e.doc.id}`);
        assert.equal(r.status, 200, `${e.name} own document`);
        assert.equal(r.body.id, e.doc.id);
        const faxes = await listIds(e.key, '/v1/faxes');
        assert.deepEqual(faxes.ids, [e.fax.id], `${e.name}: the refused sends made no fax`);
    }
});

test('a sending number of one environment is invisible to and unusable by the others', async () => {
    const nums = {};
    for (const [i, e] of envs.entries()) {
        const r = await api(d.url, e.key, 'POST', '/v1/numbers', { number: `+1415555010${i}`, caller_id_name: e.name, tsi: `+1415555010${i}` });
        assert.equal(r.status, 201, `${e.name}: ${r.text}`);
        nums[e.name] = r.body.id;
    }
    for (const e of envs) {
        const l = await listIds(e.key, '/v1/numbers');
        assert.deepEqual(l.ids, [nums[e.name]], `${e.name} lists only its own number`);
    }
    for (const [owner, other] of pairs()) {
        const r = await api(d.url, other.key, 'POST', '/v1/faxes', { to: '+15005550001', document_id: other.doc.id, from_number: nums[owner.name] });
        assert.equal(r.status, 422, `${other.name} using ${owner.name}'s number: ${r.status} ${r.text.slice(0, 200)}`);
        assert.equal(typeof r.body.context?.errors?.from_number, 'string');
    }
});

test('the account key on fax and environment routes gets 403 forbidden', async () => {
    const aFax = envs[0].fax.id;
    const calls = [
        ['POST', '/v1/faxes', { to: '+15005550001', document_id: envs[0].doc.id }],
        ['POST', '/v1/fax', { to: '+15005550001', document_id: envs[0].doc.id }],
        ['GET', '/v1/faxes'],
        ['GET', `/v1/faxes/${aFax}`],
        ['POST', `/v1/faxes/${aFax}/cancel`],
        ['POST', `/v1/faxes/${aFax}/resend`],
        ['DELETE', `/v1/faxes/${aFax}`],
        ['GET', `/v1/faxes/${aFax}/image`],
        ['GET', `/v1/documents/${envs[0].doc.id}`],
        ['GET', '/v1/environment/balance'],
        ['POST', '/v1/environment/topups', { amount: 100 }],
        ['GET', '/v1/environment/settings'],
        ['PATCH', '/v1/environment/settings', { default_retries: 1 }],
        ['GET', '/v1/events'],
        ['GET', '/v1/numbers'],
        ['GET', '/v1/workspace'],
    ];
    for (const [m, p, body] of calls) assertForbidden(await api(d.url, acct, m, p, body), `account key ${m} ${p}`);
    const form = new FormData();
    form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'x.pdf');
    form.append('to', '+15005550001');
    assertForbidden(await api(d.url, acct, 'POST', '/v1/faxes', form), 'account key multipart fax');
    for (const e of envs) assert.deepEqual((await listIds(e.key, '/v1/faxes')).ids, [e.fax.id], `${e.name}: nothing was created`);
});

test('a workspace key on /v1/workspaces routes gets 403 forbidden', async () => {
    for (const e of envs) {
        const other = e.ws === wsB.id ? d.keys.workspace_id : wsB.id;
        const calls = [
            ['POST', '/v1/workspaces', { name: 'sneaky' }],
            ['GET', '/v1/workspaces'],
            ['GET', `/v1/workspaces/${e.ws}`],
            ['GET', `/v1/workspaces/${other}`],
            ['POST', `/v1/workspaces/${e.ws}/topups`, { environment: 'live', amount: 1000 }],
            ['POST', `/v1/workspaces/${other}/topups`, { environment: 'sandbox', amount: 1000 }],
            ['POST', `/v1/workspaces/${e.ws}/keys`, { environment: 'live' }],
            ['DELETE', `/v1/workspaces/${e.ws}/keys/key_01HZZZZZZZZZZZZZZZZZZZZZZZ`],
        ];
        for (const [m, p, body] of calls) assertForbidden(await api(d.url, e.key, m, p, body), `${e.name} ${m} ${p}`);
    }
    const list = await api(d.url, acct, 'GET', '/v1/workspaces');
    assert.equal(list.body.data.length, 2, 'no workspace was created by a workspace key');
});

test('a live key cannot top up its own balance (403 forbidden)', async () => {
    for (const e of envs.filter((x) => x.type === 'live')) {
        const before = (await api(d.url, e.key, 'GET', '/v1/environment/balance')).body;
        assertForbidden(await api(d.url, e.key, 'POST', '/v1/environment/topups', { amount: 1000 }), `${e.name} top-up`);
        assertForbidden(await api(d.url, e.key, 'POST', '/v1/account/topups', { amount: 1000 }), `${e.name} top-up (alias)`);
        const now = (await api(d.url, e.key, 'GET', '/v1/environment/balance')).body;
        assert.deepEqual(now, before, `${e.name}: balance unchanged`);
    }
});

test('the account key tops up a workspace\'s live environment; a live fax then fails no_route and its credits are released', async () => {
    const bLive = envs.find((e) => e.name === 'B/live');
    const bSandbox = envs.find((e) => e.name === 'B/sandbox');
    const sandboxBefore = (await api(d.url, bSandbox.key, 'GET', '/v1/environment/balance')).body;
    const liveBefore = (await api(d.url, bLive.key, 'GET', '/v1/environment/balance')).body;
    const t = await api(d.url, acct, 'POST', `/v1/workspaces/${wsB.id}/topups`, { environment: 'live', amount: 500 });
    assert.equal(t.status, 201, t.text);
    assert.equal(t.body.object, 'topup');
    assert.equal(t.body.amount, 500);
    assert.equal(t.body.balance.type, 'live');
    assert.equal(t.body.balance.available, liveBefore.available + 500);
    const afterTopup = (await api(d.url, bLive.key, 'GET', '/v1/environment/balance')).body;
    assert.equal(afterTopup.available, liveBefore.available + 500);
    assert.deepEqual((await api(d.url, bSandbox.key, 'GET', '/v1/environment/balance')).body, sandboxBefore, 'B/sandbox untouched');
    // Top-up of an unknown workspace: 404.
    assertNotFound(await api(d.url, acct, 'POST', '/v1/workspaces/ws_01HZZZZZZZZZZZZZZZZZZZZZZZ/topups', { environment: 'live', amount: 5 }), 'unknown workspace top-up');

    const form = new FormData();
    form.append('file', new Blob([makePdf({ pages: 2 })], { type: 'application/pdf' }), 'two.pdf');
    form.append('to', '+15005550001');
    const c = await api(d.url, bLive.key, 'POST', '/v1/faxes', form);
    assert.equal(c.status, 201, c.text);
    assert.equal(c.body.environment, 'live');
    assert.equal(c.body.cost.held, 2 * PRICE);
    const fax = await waitFor(async () => {
        const r = await api(d.url, bLive.key, 'GET', `/v1/faxes/${c.body.id}`);
        return ['delivered', 'failed'].includes(r.body.status) && r.body;
    }, { what: 'live fax terminal' });
    assert.equal(fax.status, 'failed', JSON.stringify(fax));
    assert.equal(fax.error_code, 'no_route', JSON.stringify(fax));
    assert.equal(fax.cost.captured, 0);
    const bal = (await api(d.url, bLive.key, 'GET', '/v1/environment/balance')).body;
    assert.equal(bal.held, 0, 'the hold was released');
    assert.equal(bal.available, afterTopup.available, 'the credits were released');
    const ev = await api(d.url, bLive.key, 'GET', `/v1/events?fax_id=${c.body.id}`);
    const types = ev.body.data.map((e) => e.type);
    assert.equal(types.filter((x) => x === 'fax.failed').length, 1, `events: ${types}`);
    assert.equal(types.filter((x) => x === 'fax.delivered').length, 0, `events: ${types}`);
    // A sandbox magic number means nothing live: no sandbox behaviour leaks into live.
    assertNotFound(await api(d.url, bSandbox.key, 'GET', `/v1/faxes/${c.body.id}`), 'live fax with the sandbox key');
});

test('a key made with POST /v1/workspaces/{id}/keys works at once, and DELETE revokes it at once', async () => {
    for (const e of envs) {
        const k = await api(d.url, acct, 'POST', `/v1/workspaces/${e.ws}/keys`, { environment: e.type, name: `extra ${e.name}` });
        assert.equal(k.status, 201, `${e.name}: ${k.text}`);
        assert.equal(k.body.object, 'api_key');
        assert.equal(k.body.environment, e.type);
        assert.match(k.body.key, e.type === 'live' ? /^mfx_live_/ : /^mfx_test_/);
        assert.ok(k.body.key.startsWith(k.body.display.replace(/\.\.\.$/, '')), 'display is the key\'s start');
        // At once: the new key sees the same environment as the original key.
        const w = await api(d.url, k.body.key, 'GET', '/v1/faxes');
        assert.equal(w.status, 200, `${e.name} new key: ${w.text}`);
        assert.deepEqual(w.body.data.map((x) => x.id).includes(e.fax.id), true, `${e.name} new key sees the environment's fax`);
        assert.equal((await api(d.url, k.body.key, 'GET', '/v1/environment/balance')).body.type, e.type);
        // The old key keeps working (rotation without downtime).
        assert.equal((await api(d.url, e.key, 'GET', '/v1/environment/balance')).status, 200);
        // Revoking through the other workspace's path: 404, and the key still works.
        const otherWs = e.ws === wsB.id ? d.keys.workspace_id : wsB.id;
        assertNotFound(await api(d.url, acct, 'DELETE', `/v1/workspaces/${otherWs}/keys/${k.body.id}`), `${e.name} key revoked via the other workspace`);
        assert.equal((await api(d.url, k.body.key, 'GET', '/v1/environment/balance')).status, 200, 'still works');
        const del = await api(d.url, acct, 'DELETE', `/v1/workspaces/${e.ws}/keys/${k.body.id}`);
        assert.equal(del.status, 200, del.text);
        assert.equal(del.body.id, k.body.id);
        assert.match(del.body.revoked_at, /Z$/);
        assert.ok(!('key' in del.body), 'the secret is never shown again');
        const after = await api(d.url, k.body.key, 'GET', '/v1/environment/balance');
        assert.equal(after.status, 401, `${e.name} revoked key: ${after.status}`);
        assert.equal(after.body.error, 'unauthenticated');
        assert.match(after.headers.get('www-authenticate') || '', /^Bearer/);
        // Revoking twice is harmless; the original key is unaffected.
        assert.equal((await api(d.url, acct, 'DELETE', `/v1/workspaces/${e.ws}/keys/${k.body.id}`)).status, 200);
        assert.equal((await api(d.url, e.key, 'GET', '/v1/environment/balance')).status, 200, `${e.name} original key`);
    }
    assertNotFound(await api(d.url, acct, 'POST', '/v1/workspaces/ws_01HZZZZZZZZZZZZZZZZZZZZZZZ/keys', { environment: 'sandbox' }), 'key for an unknown workspace');
});

test('idempotency keys are per environment', async () => {
    const idem = `iso-${Date.now()}`;
    const sandboxes = envs.filter((e) => e.type === 'sandbox');
    const lives = envs.filter((e) => e.type === 'live');
    const made = [];
    for (const e of [...sandboxes, ...lives]) {
        const body = { to: '+15005550001', document_id: e.doc.id };
        const r = await api(d.url, e.key, 'POST', '/v1/faxes', body, { 'Idempotency-Key': idem });
        assert.equal(r.status, 201, `${e.name} first use of the shared key: ${r.status} ${r.text.slice(0, 300)}`);
        assert.notEqual(r.headers.get('idempotent-replayed'), 'true', `${e.name}: replayed another environment's response`);
        assert.equal(r.body.environment, e.type);
        made.push([e, r]);
    }
    const ids = made.map(([, r]) => r.body.id);
    assert.equal(new Set(ids).size, ids.length, 'one fax per environment');
    // Within each environment the key replays that environment's response.
    for (const [e, first] of made) {
        const again = await api(d.url, e.key, 'POST', '/v1/faxes', { to: '+15005550001', document_id: e.doc.id }, { 'Idempotency-Key': idem });
        assert.equal(again.status, 201, `${e.name} replay`);
        assert.equal(again.headers.get('idempotent-replayed'), 'true', `${e.name} replay header`);
        assert.ok(again.bytes.equals(first.bytes), `${e.name} replay is byte-identical`);
        // A different request with the same key in this environment: 409.
        const diff = await api(d.url, e.key, 'POST', '/v1/faxes', { to: '+15005550007', document_id: e.doc.id }, { 'Idempotency-Key': idem });
        assert.equal(diff.status, 409, `${e.name} reuse: ${diff.text.slice(0, 200)}`);
        assert.equal(diff.body.error, 'idempotency_key_reuse');
    }
    // A brand-new key used first in one environment is free in another, even for a different request.
    const k2 = `${idem}-2`;
    const a = await api(d.url, envs[0].key, 'POST', '/v1/faxes', { to: '+15005550001', document_id: envs[0].doc.id }, { 'Idempotency-Key': k2 });
    const b = await api(d.url, envs[2].key, 'POST', '/v1/faxes', { to: '+15005550007', document_id: envs[2].doc.id }, { 'Idempotency-Key': k2 });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201, `B/sandbox with A/sandbox's key for another request: ${b.status} ${b.text.slice(0, 200)}`);
    assert.notEqual(a.body.id, b.body.id);
    // Each environment sees its own faxes only.
    for (const [e, r] of made) {
        for (const [o] of made.filter(([x]) => x !== e)) assertNotFound(await api(d.url, o.key, 'GET', `/v1/faxes/${r.body.id}`), `${e.name}'s idempotent fax via ${o.name}`);
    }
    // Let everything finish so the daemon stops cleanly.
    for (const [e, r] of [...made, [envs[0], a], [envs[2], b]]) {
        await waitFor(async () => ['delivered', 'failed'].includes((await api(d.url, e.key, 'GET', `/v1/faxes/${r.body.id}`)).body.status), { what: `${r.body.id} terminal` });
    }
});
