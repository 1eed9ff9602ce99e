// SPDX-License-Identifier: Apache-2.0
//
// Webhook delivery (issue 6, DESIGN §8) against a real mintfaxd and loopback
// receivers (lib/receiver.mjs). Every delivery a test looks at is verified
// with the pinned npm reference library `standardwebhooks`, so what mintfaxd
// signs is what receivers in the wild accept.
//
//   - every event type arrives and verifies; the body is the event of
//     GET /v1/events/{id}; webhook-id is the event id; the event rules hold
//   - X-Mintfax-Signature follows its documented formula
//   - tampered body, stale timestamp and wrong secret are rejected by the library
//   - during a secret rotation both secrets verify; after the grace only the new
//   - a fax's webhook_url gets that fax's events, signed with every active
//     endpoint's secret; `events` subscriptions; is_active false; delete
//     cancels pending deliveries; redirects are not followed
//   - faults (500, 404, a hang past the timeout, a closed connection, a
//     receiver that is down): the retry schedule is followed, every attempt
//     is recorded, the delivery ends failed; retry and replay deliver it
//     once the receiver is fixed
//   - SSRF: private, loopback, link-local and metadata URLs refused at
//     create time, a name resolving to loopback refused at delivery
//   - kill -9 with an attempt in flight, and between attempts: after the
//     restart every delivery is made exactly once, nothing is lost
//
// The daemons run with MINTFAX_WEBHOOKS_RETRY_SCHEDULE=0,0.3,0.3,0.3 and a
// 1 s timeout so that schedules play out in seconds, and each test works in
// a workspace of its own (POST /v1/workspaces), so events never mix.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dns from 'node:dns/promises';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { api, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';
import { EVENT_TYPES, startReceiver } from './lib/receiver.mjs';

const SCHEDULE = [0, 0.3, 0.3, 0.3];   // seconds before attempts 1..4
const TIMEOUT_S = 1;
const BASE_ENV = {
    MINTFAX_SANDBOX_TIME_SCALE: '0.001',
    MINTFAX_RATELIMIT_REQUESTS: '1000000',
    MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
    MINTFAX_WEBHOOKS_RETRY_SCHEDULE: SCHEDULE.join(','),
    MINTFAX_WEBHOOKS_TIMEOUT: String(TIMEOUT_S),
};
const pdf = makePdf({ pages: 1, text: 'mintfax webhooks test' });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------
// Daemons and receivers, all stopped in after().

const daemons = [];
const receivers = [];
const dirs = [];

after(async () => {
    for (const d of daemons) await d.stop({ signal: 'SIGKILL' }).catch(() => {});
    for (const r of receivers) await r.close().catch(() => {});
    if (process.env.MFX_KEEP_DATA !== '1') {
        for (const dir of dirs) await fsp.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    }
});

async function daemon(env = {}, dataDir) {
    const d = await startDaemon({ env: { ...BASE_ENV, ...env }, dataDir });
    daemons.push(d);
    return d;
}
function once(fn) {
    let p;
    return () => (p ??= fn());
}
/** The daemon most tests share: private addresses allowed (loopback receivers), 2 s rotation grace. */
const mainDaemon = once(() => daemon({ MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'true', MINTFAX_WEBHOOKS_ROTATION_GRACE: '2' }));
/** A daemon with the SSRF guard on, as in production. */
const strictDaemon = once(() => daemon({ MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'false' }));

async function receiver(opts) {
    const r = await startReceiver(opts);
    receivers.push(r);
    return r;
}

// ---------------------------------------------------------------------------
// API helpers.

function expectStatus(res, status, what) {
    assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
    return res.body;
}

let envCount = 0;
/** A fresh workspace on d; returns {d, key, ws} for its sandbox environment. */
async function newEnv(d) {
    const res = await api(d.url, d.keys.account_key, 'POST', '/v1/workspaces', { name: `webhooks ${++envCount}` });
    const ws = expectStatus(res, 201, 'POST /v1/workspaces');
    const key = ws.keys.find((k) => k.environment === 'sandbox').key;
    return { d, key, ws: ws.id };
}
const call = (env, method, p, body, headers) => api(env.d.url, env.key, method, p, body, headers);

/** Creates an endpoint; returns its object with signing_secret. */
async function createEndpoint(env, body) {
    return expectStatus(await call(env, 'POST', '/v1/webhooks', body), 201, `POST /v1/webhooks ${JSON.stringify(body)}`);
}

/** Sends a 1-page fax (multipart); extra fields are form fields. Returns the fax. */
async function sendFax(env, to, extra = {}) {
    const form = new FormData();
    form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'hook.pdf');
    form.append('to', to);
    for (const [k, v] of Object.entries(extra)) form.append(k, String(v));
    return expectStatus(await call(env, 'POST', '/v1/faxes', form), 201, `POST /v1/faxes to ${to}`);
}
async function getFax(env, id) {
    return expectStatus(await call(env, 'GET', `/v1/faxes/${id}`), 200, `GET /v1/faxes/${id}`);
}
async function waitTerminal(env, id) {
    return waitFor(async () => {
        const f = await getFax(env, id);
        return (f.status === 'delivered' || f.status === 'failed') && f;
    }, { timeoutMs: 20000, what: `fax ${id} to be terminal` });
}
async function topup(env, amount = 100) {
    return expectStatus(await call(env, 'POST', '/v1/environment/topups', { amount }), 201, 'POST /v1/environment/topups');
}
/** The newest event of a type (after the fact), from GET /v1/events. */
async function latestEvent(env, type) {
    const res = await waitFor(async () => {
        const r = await call(env, 'GET', `/v1/events?type=${type}&per_page=1`);
        return r.status === 200 && r.body.data.length > 0 && r;
    }, { what: `a ${type} event` });
    return res.body.data[0];
}
/** Every attempt matching query (all pages), oldest first. */
async function attempts(env, query = '') {
    const out = [];
    let cursor = null;
    for (;;) {
        const q = `${query}${query ? '&' : ''}per_page=100${cursor ? `&cursor=${cursor}` : ''}`;
        const body = expectStatus(await call(env, 'GET', `/v1/webhooks/attempts?${q}`), 200, `GET /v1/webhooks/attempts?${q}`);
        out.push(...body.data);
        if (!body.has_more) break;
        cursor = body.next_cursor;
    }
    return out.reverse();
}

// ---------------------------------------------------------------------------
// Verification.

const eventOf = (rec) => JSON.parse(rec.body);
/** Verifies rec with the reference library; returns the payload or throws. */
function verify(secret, rec) {
    return new Webhook(secret).verify(rec.body, rec.headers);
}
function assertVerifies(secret, rec, what = 'delivery') {
    try {
        verify(secret, rec);
    } catch (err) {
        assert.fail(`${what} ${rec.headers['webhook-id']} to ${rec.path} does not verify: ${err.message}\n` +
            `headers: ${JSON.stringify(rec.headers)}`);
    }
}
function assertRejected(secret, rec, message, what) {
    assert.throws(() => verify(secret, rec), (err) => err.name === 'WebhookVerificationError' && message.test(err.message),
        `${what} must be rejected by standardwebhooks`);
}
const keyOf = (secret) => Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
const hmac = (secret, text) => crypto.createHmac('sha256', keyOf(secret)).update(text);

/** The deliveries a receiver got, grouped by webhook-id. */
function byEventId(reqs) {
    const m = new Map();
    for (const r of reqs) {
        const id = r.headers['webhook-id'];
        if (!m.has(id)) m.set(id, []);
        m.get(id).push(r);
    }
    return m;
}

// ---------------------------------------------------------------------------
// Every event type, in one environment the next tests read as well.

const basic = once(async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    const ep = await createEndpoint(env, { url: `${r.url}/all`, description: 'every event' });
    // balance.low: the threshold at the balance, so the first hold crosses it.
    const bal = expectStatus(await call(env, 'GET', '/v1/environment/balance'), 200, 'balance');
    expectStatus(await call(env, 'PATCH', '/v1/environment/settings', { low_balance_threshold: bal.available }), 200, 'settings');
    const retried = await sendFax(env, '+15005550004');   // line_quality, then delivered on the retry
    const failed = await sendFax(env, '+15005550005', { retries: 0 });   // bad_destination
    await topup(env, 250);
    const faxes = [await waitTerminal(env, retried.id), await waitTerminal(env, failed.id)];
    await r.waitFor((reqs) => {
        const types = new Set(reqs.map((x) => eventOf(x).type));
        return EVENT_TYPES.every((t) => types.has(t));
    }, { what: 'one delivery of every event type' });
    // Everything that will happen has happened: both faxes are terminal.
    await sleep(300);
    return { env, r, ep, faxes };
});

test('every event type is delivered, and every delivery verifies with standardwebhooks', async () => {
    const { env, r, ep } = await basic();
    const types = new Set();
    for (const rec of r.requests) {
        assertVerifies(ep.signing_secret, rec);
        const event = eventOf(rec);
        types.add(event.type);
        assert.equal(rec.method, 'POST');
        assert.equal(rec.path, '/all');
        assert.equal(rec.headers['webhook-id'], event.id, 'webhook-id is the event id');
        assert.match(rec.headers['webhook-timestamp'], /^\d+$/);
        assert.ok(Math.abs(Number(rec.headers['webhook-timestamp']) - rec.at / 1000) < 5, 'webhook-timestamp is the time of sending');
        assert.equal(rec.headers['content-type'], 'application/json');
        assert.equal(rec.headers['user-agent'], 'mintfax-webhooks/1.0');
        assert.match(rec.headers['request-id'], /^req_[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
        // The body is the event as the API shows it.
        const logged = expectStatus(await call(env, 'GET', `/v1/events/${event.id}`), 200, 'GET /v1/events/{id}');
        assert.deepEqual(event, logged, 'the delivered body is the logged event');
    }
    assert.deepEqual([...types].sort(), [...EVENT_TYPES].sort());
});

test('each event is delivered once per endpoint when it answers 2xx, and the event rules hold', async () => {
    const { r, faxes } = await basic();
    for (const [id, reqs] of byEventId(r.requests)) assert.equal(reqs.length, 1, `${id} delivered ${reqs.length} times`);
    const events = r.requests.map(eventOf);
    for (const fax of faxes) {
        const mine = events.filter((e) => e.data.object.object === 'fax' && e.data.object.id === fax.id);
        const count = (t) => mine.filter((e) => e.type === t).length;
        assert.equal(count('fax.queued'), 1, `fax.queued once for ${fax.id}`);
        assert.equal(count('fax.sending'), fax.attempts.length, 'fax.sending once per attempt');
        assert.equal(count('fax.delivered') + count('fax.failed'), 1, 'exactly one terminal event');
        assert.equal(count(fax.status === 'delivered' ? 'fax.delivered' : 'fax.failed'), 1, 'the terminal event is the fax\'s status');
    }
    // The fax that failed once: fax.retry_scheduled with next_attempt_at and
    // the retry already counted as used in retries_remaining.
    const [retried] = faxes;
    const rs = events.find((e) => e.type === 'fax.retry_scheduled' && e.data.object.id === retried.id);
    assert.ok(rs, 'fax.retry_scheduled for the fax that failed its first attempt');
    assert.equal(rs.data.object.status, 'queued');
    assert.ok(rs.data.object.next_attempt_at, 'next_attempt_at is set');
    assert.equal(rs.data.object.last_error_code, 'line_quality');
    assert.equal(rs.data.object.retries_remaining, rs.data.object.retry_policy.max - 1, 'the scheduled retry counts as used');
    assert.equal(retried.retries_remaining, retried.retry_policy.max - 1, 'GET shows the same count once delivered');
    assert.equal(events.filter((e) => e.type === 'balance.low').length, 1, 'balance.low once, on crossing');
    const topups = events.filter((e) => e.type === 'balance.topup');
    assert.equal(topups.length, 1);
    assert.equal(topups[0].data.object.topup_amount, 250);
});

test('X-Mintfax-Signature is t=<webhook-timestamp>,v1=<hex HMAC-SHA256 of "timestamp.body">', async () => {
    const { r, ep } = await basic();
    for (const rec of r.requests) {
        const ts = rec.headers['webhook-timestamp'];
        const expected = `t=${ts},v1=${hmac(ep.signing_secret, `${ts}.${rec.body}`).digest('hex')}`;
        assert.equal(rec.headers['x-mintfax-signature'], expected);
        // And webhook-signature by hand, the documented formula.
        const v1 = hmac(ep.signing_secret, `${rec.headers['webhook-id']}.${ts}.${rec.body}`).digest('base64');
        assert.equal(rec.headers['webhook-signature'], `v1,${v1}`);
    }
});

test('standardwebhooks rejects a tampered body, a stale timestamp and a wrong secret', async () => {
    const { r, ep } = await basic();
    const rec = r.requests.find((x) => eventOf(x).type === 'fax.delivered');
    assertVerifies(ep.signing_secret, rec);   // the control
    const tampered = { ...rec, body: rec.body.replace('"status":"delivered"', '"status":"failed"') };
    assert.notEqual(tampered.body, rec.body);
    assertRejected(ep.signing_secret, tampered, /No matching signature/, 'a tampered body');
    const moved = { ...rec, body: `${rec.body} ` };
    assertRejected(ep.signing_secret, moved, /No matching signature/, 'a body with one more byte');
    // The same request replayed 6 minutes later.
    const realNow = Date.now;
    try {
        Date.now = () => realNow() + 6 * 60 * 1000;
        assertRejected(ep.signing_secret, rec, /too old/, 'a stale timestamp');
    } finally {
        Date.now = realNow;
    }
    // A timestamp moved back to replay the signature is no better.
    const restamped = { ...rec, headers: { ...rec.headers, 'webhook-timestamp': String(Number(rec.headers['webhook-timestamp']) - 1) } };
    assertRejected(ep.signing_secret, restamped, /No matching signature/, 'a changed timestamp');
    const other = `whsec_${crypto.randomBytes(32).toString('base64')}`;
    assertRejected(other, rec, /No matching signature/, 'a wrong secret');
});

test('during a secret rotation the old and the new secret both verify; after the grace only the new one', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    const ep = await createEndpoint(env, { url: `${r.url}/rot`, events: ['balance.topup'] });
    const oldSecret = ep.signing_secret;
    const rot = expectStatus(await call(env, 'POST', `/v1/webhooks/${ep.id}/rotate_secret`), 200, 'rotate_secret');
    const newSecret = rot.signing_secret;
    assert.match(newSecret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.notEqual(newSecret, oldSecret);
    assert.ok(rot.previous_secret_expires_at, 'previous_secret_expires_at is set during the grace');
    const graceEnd = Date.parse(rot.previous_secret_expires_at);
    assert.ok(graceEnd > Date.now() && graceEnd < Date.now() + 3000, 'the grace is [webhooks] rotation_grace (2 s here)');

    await topup(env);
    const during = await r.waitFor((reqs) => reqs[0]);
    assert.equal(during.headers['webhook-signature'].split(' ').length, 2, 'two signatures during the grace');
    assertVerifies(oldSecret, during, 'during the grace, the old secret:');
    assertVerifies(newSecret, during, 'during the grace, the new secret:');
    assert.equal(during.headers['x-mintfax-signature'].split(',v1=').length, 3, 'two v1= in X-Mintfax-Signature too');

    await sleep(Math.max(0, graceEnd - Date.now()) + 200);
    const ended = expectStatus(await call(env, 'GET', `/v1/webhooks/${ep.id}`), 200, 'GET endpoint');
    assert.equal(ended.previous_secret_expires_at, null, 'no previous secret after the grace');
    await topup(env);
    const afterGrace = await r.waitFor((reqs) => reqs[1]);
    assert.equal(afterGrace.headers['webhook-signature'].split(' ').length, 1);
    assertVerifies(newSecret, afterGrace, 'after the grace, the new secret:');
    assertRejected(oldSecret, afterGrace, /No matching signature/, 'after the grace, the old secret');
});

test('a fax\'s webhook_url receives that fax\'s events, signed with every active endpoint\'s secret', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    const a = await createEndpoint(env, { url: `${r.url}/a` });
    const b = await createEndpoint(env, { url: `${r.url}/b`, events: ['balance.topup'] });
    const paused = await createEndpoint(env, { url: `${r.url}/paused`, is_active: false });
    const mine = await sendFax(env, '+15005550001', { webhook_url: `${r.url}/fax/mine` });
    const other = await sendFax(env, '+15005550007');
    await waitTerminal(env, mine.id);
    await waitTerminal(env, other.id);
    const hook = await r.waitFor((reqs) => {
        const got = reqs.filter((x) => x.path === '/fax/mine');
        return got.some((x) => eventOf(x).type === 'fax.delivered') && got;
    }, { what: 'fax.delivered at the fax\'s webhook_url' });
    await sleep(200);
    const got = r.requests.filter((x) => x.path === '/fax/mine')
        .sort((x, y) => (x.headers['webhook-id'] < y.headers['webhook-id'] ? -1 : 1));
    assert.deepEqual(got.map((x) => eventOf(x).type), ['fax.queued', 'fax.sending', 'fax.delivered']);
    for (const rec of got) {
        assert.equal(eventOf(rec).data.object.id, mine.id, 'only this fax\'s events');
        assert.equal(rec.headers['webhook-signature'].split(' ').length, 2, 'one signature per active endpoint');
        assertVerifies(a.signing_secret, rec, 'webhook_url, secret of endpoint a:');
        assertVerifies(b.signing_secret, rec, 'webhook_url, secret of endpoint b:');
        assertRejected(paused.signing_secret, rec, /No matching signature/, 'the secret of an inactive endpoint');
    }
    assert.ok(hook.length > 0);
    const logged = await attempts(env, `event=${eventOf(got[2]).id}`);
    const toFax = logged.filter((x) => x.url === `${r.url}/fax/mine`);
    assert.equal(toFax.length, 1);
    assert.equal(toFax[0].endpoint_id, null, 'attempts to a webhook_url have no endpoint');
    // The other fax's events went to endpoint a only.
    const otherPaths = new Set(r.requests.filter((x) => eventOf(x).data.object.id === other.id).map((x) => x.path));
    assert.deepEqual([...otherPaths], ['/a']);
});

test('an endpoint subscribed to fax.delivered receives only fax.delivered', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    await createEndpoint(env, { url: `${r.url}/all` });
    const only = await createEndpoint(env, { url: `${r.url}/delivered`, events: ['fax.delivered'] });
    assert.deepEqual(only.events, ['fax.delivered']);
    const ok = await sendFax(env, '+15005550001');
    const bad = await sendFax(env, '+15005550005', { retries: 0 });
    await topup(env);
    await waitTerminal(env, ok.id);
    await waitTerminal(env, bad.id);
    await r.waitFor((reqs) => reqs.filter((x) => x.path === '/all').length >= 7, { what: 'every event at /all' });
    await sleep(300);
    const got = r.requests.filter((x) => x.path === '/delivered');
    assert.deepEqual(got.map((x) => [eventOf(x).type, eventOf(x).data.object.id]), [['fax.delivered', ok.id]]);
    assertVerifies(only.signing_secret, got[0]);
});

test('an inactive endpoint receives nothing, and receives again once active', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    await createEndpoint(env, { url: `${r.url}/control` });
    const off = await createEndpoint(env, { url: `${r.url}/off`, is_active: false });
    assert.equal(off.is_active, false);
    const fax = await sendFax(env, '+15005550001');
    await waitTerminal(env, fax.id);
    await topup(env);
    await r.waitFor((reqs) => reqs.filter((x) => x.path === '/control').length >= 4, { what: 'the control endpoint\'s events' });
    await sleep(300);
    assert.equal(r.requests.filter((x) => x.path === '/off').length, 0, 'nothing reached the inactive endpoint');
    assert.equal((await attempts(env, `endpoint=${off.id}`)).length, 0, 'and nothing was attempted');
    const on = expectStatus(await call(env, 'PATCH', `/v1/webhooks/${off.id}`, { is_active: true }), 200, 'PATCH is_active');
    assert.equal(on.is_active, true);
    await topup(env);
    const rec = await r.waitFor((reqs) => reqs.find((x) => x.path === '/off'), { what: 'a delivery once active' });
    assertVerifies(off.signing_secret, rec);
});

test('disabling an endpoint stops the retries of its pending deliveries', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    r.setMode({ status: 500 });
    const ep = await createEndpoint(env, { url: `${r.url}/flaky` });
    await topup(env);
    await r.waitFor((reqs) => reqs.length >= 1, { what: 'the first attempt' });
    expectStatus(await call(env, 'PATCH', `/v1/webhooks/${ep.id}`, { is_active: false }), 200, 'PATCH is_active false');
    const atPause = r.requests.length;
    await sleep(SCHEDULE.reduce((a, b) => a + b, 0) * 1000 + 1000);
    assert.equal(r.requests.length, atPause,
        `an inactive endpoint received ${r.requests.length - atPause} more attempt(s) of a delivery made while it was active`);
});

test('deleting an endpoint cancels its pending deliveries', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    r.setMode('hang');   // attempts stay in flight until the 1 s timeout
    const ep = await createEndpoint(env, { url: `${r.url}/doomed` });
    await topup(env, 1);
    await topup(env, 2);
    await topup(env, 3);
    await r.waitFor((reqs) => reqs.length >= 3, { what: 'three attempts in flight' });
    const del = expectStatus(await call(env, 'DELETE', `/v1/webhooks/${ep.id}`), 200, 'DELETE endpoint');
    assert.equal(del.deleted, true);
    assert.equal(del.cancelled_deliveries, 3, 'the three pending deliveries were cancelled');
    expectStatus(await call(env, 'GET', `/v1/webhooks/${ep.id}`), 404, 'GET a deleted endpoint');
    // The attempts in flight end (timeout) and nothing is retried.
    await sleep(TIMEOUT_S * 1000 + SCHEDULE.reduce((a, b) => a + b, 0) * 1000 + 800);
    assert.equal(r.requests.length, 3, 'no attempt after the delete');
    const logged = await attempts(env, `endpoint=${ep.id}`);
    assert.equal(logged.length, 3);
    for (const a of logged) {
        assert.equal(a.status, 'failed');
        assert.equal(a.delivery.status, 'cancelled');
        assert.equal(a.delivery.next_attempt_at, null);
    }
    const retry = await call(env, 'POST', `/v1/webhooks/attempts/${logged[0].id}/retry`);
    expectStatus(retry, 409, 'retrying a cancelled delivery');
    assert.equal(retry.body.error, 'invalid_state');
});

test('redirects are not followed: a 302 is a failed attempt', async () => {
    const env = await newEnv(await mainDaemon());
    const target = await receiver();
    const r = await receiver();
    r.setMode({ status: 302, headers: { Location: `${target.url}/elsewhere` } });
    await createEndpoint(env, { url: `${r.url}/moved` });
    await topup(env);
    await r.waitFor((reqs) => reqs.length >= SCHEDULE.length, { timeoutMs: 10000, what: 'every attempt' });
    await sleep(300);
    assert.equal(target.requests.length, 0, 'the redirect target got nothing');
    const logged = await attempts(env);
    assert.equal(logged.length, SCHEDULE.length);
    for (const a of logged) {
        assert.equal(a.status, 'failed');
        assert.equal(a.response_status, 302);
    }
    assert.equal(logged.at(-1).delivery.status, 'failed');
});

// ---------------------------------------------------------------------------
// Fault injection: each receiver fails every attempt, then is fixed.

/**
 * Creates an endpoint at a receiver broken by `breakIt`, sends one event
 * (a top-up), waits until the delivery has failed for good, checks the
 * attempts against the schedule, then fixes the receiver and retries the
 * last attempt. Returns {env, r, ep, logged, event} for more checks.
 */
async function faultCase(breakIt, fixIt, { arrivals = true } = {}) {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    await breakIt(r);
    const ep = await createEndpoint(env, { url: `${r.url}/fault` });
    await topup(env);
    const event = await latestEvent(env, 'balance.topup');
    const logged = await waitFor(async () => {
        const all = await attempts(env, `endpoint=${ep.id}`);
        return all.length === SCHEDULE.length && all.every((a) => a.status === 'failed') &&
            all.at(-1).delivery.status === 'failed' && all;
    }, { timeoutMs: 20000, what: 'the delivery to fail for good' });
    await sleep(SCHEDULE[1] * 1000 + 300);
    assert.equal((await attempts(env, `endpoint=${ep.id}`)).length, SCHEDULE.length, 'no attempt after the last of the schedule');

    // The schedule: attempt k+1 starts SCHEDULE[k] s after attempt k ended.
    logged.forEach((a, i) => {
        assert.equal(a.attempt_number, i + 1);
        assert.equal(a.event_id, event.id);
        assert.equal(a.event_type, 'balance.topup');
        assert.equal(a.endpoint_id, ep.id);
        assert.equal(a.url, `${r.url}/fault`);
        assert.equal(a.request_headers['webhook-id'], event.id, 'the same webhook-id on every attempt');
        assert.ok(a.request_headers['webhook-signature'].startsWith('v1,'));
        assert.equal(typeof a.duration_ms, 'number');
        assert.ok(a.error, 'a failed attempt says why');
        assert.equal(a.delivery.id, logged[0].delivery.id, 'one delivery');
        if (i > 0) {
            const prev = logged[i - 1];
            const gap = Date.parse(a.sent_at) - (Date.parse(prev.sent_at) + prev.duration_ms);
            assert.ok(gap >= SCHEDULE[i] * 1000 - 30 && gap <= SCHEDULE[i] * 1000 + 1500,
                `attempt ${i + 1} started ${gap} ms after attempt ${i} ended; the schedule says ${SCHEDULE[i] * 1000} ms`);
            assert.ok(Number(a.request_headers['webhook-timestamp']) >= Number(prev.request_headers['webhook-timestamp']),
                'webhook-timestamp is re-stamped per attempt');
        }
    });
    if (arrivals) {
        // What the receiver saw matches the log, attempt for attempt.
        assert.equal(r.requests.length, SCHEDULE.length);
        r.requests.forEach((rec, i) => {
            assert.equal(rec.headers['request-id'], logged[i].request_headers['Request-Id']);
            assert.equal(rec.headers['webhook-timestamp'], logged[i].request_headers['webhook-timestamp']);
            assertVerifies(ep.signing_secret, rec, `attempt ${i + 1}:`);
        });
    }

    // Fixed: one more attempt of the same delivery, now.
    await fixIt(r);
    const before = r.requests.length;
    const retry = expectStatus(await call(env, 'POST', `/v1/webhooks/attempts/${logged.at(-1).id}/retry`), 202, 'retry');
    assert.equal(retry.object, 'webhook_delivery');
    assert.equal(retry.id, logged[0].delivery.id);
    assert.equal(retry.status, 'pending');
    const rec = await r.waitFor((reqs) => reqs.length > before && reqs.at(-1), { what: 'the retried attempt' });
    assertVerifies(ep.signing_secret, rec, 'the retried attempt:');
    assert.equal(rec.headers['webhook-id'], event.id);
    const done = await waitFor(async () => {
        const all = await attempts(env, `endpoint=${ep.id}`);
        return all.at(-1).status === 'succeeded' && all;
    }, { what: 'the retried attempt to succeed' });
    assert.equal(done.length, SCHEDULE.length + 1);
    assert.equal(done.at(-1).attempt_number, SCHEDULE.length + 1);
    assert.equal(done.at(-1).response_status, 204);
    assert.equal(done.at(-1).delivery.status, 'delivered');
    return { env, r, ep, logged, event };
}
const fix204 = async (r) => r.setMode({ status: 204 });

test('a receiver answering 500: the schedule is followed, each attempt keeps the first 4 KiB of the answer, retry delivers', async () => {
    const body = 'abcdefghij'.repeat(500);   // 5,000 bytes
    const { logged } = await faultCase(async (r) => r.setMode({ status: 500, body }), fix204);
    for (const a of logged) {
        assert.equal(a.response_status, 500);
        assert.equal(a.response_body, body.slice(0, 4096), 'the first 4 KiB of the body');
        assert.equal(a.error, 'the receiver answered HTTP 500');
        assert.ok(a.duration_ms < 1000);
    }
});

test('a receiver answering 404: every attempt failed with its status, retry delivers', async () => {
    const { logged } = await faultCase(async (r) => r.setMode({ status: 404, body: 'no such hook' }), fix204);
    for (const a of logged) {
        assert.equal(a.response_status, 404);
        assert.equal(a.response_body, 'no such hook');
        assert.equal(a.error, 'the receiver answered HTTP 404');
    }
});

test('a receiver that hangs past the timeout: each attempt times out after [webhooks] timeout, retry delivers', async () => {
    const { logged } = await faultCase(async (r) => r.setMode('hang'), fix204);
    for (const a of logged) {
        assert.equal(a.response_status, null);
        assert.equal(a.response_body, null);
        assert.match(a.error, /^timeout: /);
        assert.ok(a.duration_ms >= TIMEOUT_S * 1000 - 50 && a.duration_ms < TIMEOUT_S * 1000 + 1500,
            `a timed-out attempt lasted ${a.duration_ms} ms; the timeout is ${TIMEOUT_S * 1000} ms`);
    }
});

test('a receiver that closes the connection: every attempt failed (connection_closed), retry delivers', async () => {
    const { logged } = await faultCase(async (r) => r.setMode('close'), fix204);
    for (const a of logged) {
        assert.equal(a.response_status, null);
        assert.match(a.error, /^connection_closed: /);
    }
});

test('a receiver that is down: every attempt failed (connect), retry delivers once it is up', async () => {
    const { logged } = await faultCase(async (r) => r.down(), async (r) => r.up(), { arrivals: false });
    for (const a of logged) {
        assert.equal(a.response_status, null);
        assert.match(a.error, /^connect: /);
    }
});

test('a failed event is delivered by POST /v1/events/{id}/replay once the receiver is fixed', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    r.setMode({ status: 503 });
    const ep = await createEndpoint(env, { url: `${r.url}/replay` });
    const fax = await sendFax(env, '+15005550001', { webhook_url: `${r.url}/fax` });
    await waitTerminal(env, fax.id);
    const event = await latestEvent(env, 'fax.delivered');
    await waitFor(async () => {
        const all = await attempts(env, `event=${event.id}`);
        return all.length === 2 * SCHEDULE.length && all.every((a) => a.status === 'failed' && a.delivery.status === 'failed');
    }, { timeoutMs: 20000, what: 'both deliveries of fax.delivered to fail' });
    r.setMode({ status: 200, body: 'ok' });
    const before = r.requests.length;
    const replay = expectStatus(await call(env, 'POST', `/v1/events/${event.id}/replay`), 202, 'replay');
    assert.equal(replay.object, 'event_replay');
    assert.equal(replay.event_id, event.id);
    assert.deepEqual(replay.deliveries.map((x) => [x.endpoint_id, x.url]).sort(),
        [[ep.id, `${r.url}/replay`], [null, `${r.url}/fax`]].sort(), 'the endpoint and the fax\'s webhook_url');
    const got = await r.waitFor((reqs) => reqs.length >= before + 2 && reqs.slice(before), { what: 'the replayed deliveries' });
    assert.deepEqual(got.map((x) => x.path).sort(), ['/fax', '/replay']);
    for (const rec of got) {
        assert.equal(rec.headers['webhook-id'], event.id, 'a replay keeps the event id');
        assertVerifies(ep.signing_secret, rec, 'the replay:');
        assert.deepEqual(eventOf(rec), event);
    }
    const all = await attempts(env, `event=${event.id}`);
    const replayed = all.filter((a) => replay.deliveries.some((x) => x.id === a.delivery.id));
    assert.equal(replayed.length, 2);
    for (const a of replayed) {
        assert.equal(a.status, 'succeeded');
        assert.equal(a.attempt_number, 1, 'a replay is a new delivery');
        assert.equal(a.response_body, 'ok');
        assert.equal(a.delivery.status, 'delivered');
    }
    const unknown = await call(env, 'POST', '/v1/events/evt_00000000000000000000000000/replay');
    expectStatus(unknown, 404, 'replaying an unknown event');
});

test('a fax\'s webhook_url with no active endpoint to sign it: attempts fail with no_signing_secret, nothing is sent', async () => {
    const env = await newEnv(await mainDaemon());
    const r = await receiver();
    const fax = await sendFax(env, '+15005550001', { webhook_url: `${r.url}/unsigned` });
    await waitTerminal(env, fax.id);
    const logged = await waitFor(async () => {
        const all = await attempts(env, 'event_type=fax.delivered');
        return all.length === SCHEDULE.length && all.at(-1).delivery.status === 'failed' && all;
    }, { timeoutMs: 20000, what: 'the delivery of fax.delivered to fail for good' });
    for (const a of logged) {
        assert.equal(a.status, 'failed');
        assert.match(a.error, /^no_signing_secret: /);
        assert.deepEqual(a.request_headers, {}, 'nothing was sent');
        assert.equal(a.endpoint_id, null);
    }
    assert.equal(r.requests.length, 0, 'an unsigned delivery is never sent');
});

// ---------------------------------------------------------------------------
// SSRF.

test('SSRF: endpoint URLs at loopback, private, link-local and metadata addresses are refused at create time', async () => {
    const d = await strictDaemon();
    const env = await newEnv(d);
    const refused = ['http://127.0.0.1:8080/hook', 'http://10.0.0.1/hook', 'http://169.254.169.254/latest/meta-data/',
        'http://[::1]:8080/hook', 'http://localhost:8080/hook', 'https://LOCALHOST/hook', 'http://api.localhost/hook',
        'http://0.0.0.0/hook', 'http://192.168.1.10/hook', 'http://172.16.0.1/hook', 'http://100.64.0.1/hook',
        'http://[fe80::1]/hook', 'http://[fd00:ec2::254]/hook', 'http://[::ffff:127.0.0.1]/hook', 'http://[::ffff:a9fe:a9fe]/hook'];
    for (const url of refused) {
        const res = await call(env, 'POST', '/v1/webhooks', { url });
        expectStatus(res, 422, `POST /v1/webhooks ${url}`);
        assert.equal(res.body.error, 'validation_failed');
        assert.ok(res.body.context?.errors?.url, `context.errors.url explains ${url}`);
    }
    // The same on update; a public name is accepted.
    const ep = await createEndpoint(env, { url: 'https://hooks.example.test/mintfax' });
    const patch = await call(env, 'PATCH', `/v1/webhooks/${ep.id}`, { url: 'http://169.254.169.254/' });
    expectStatus(patch, 422, 'PATCH to a metadata address');
    const kept = expectStatus(await call(env, 'GET', `/v1/webhooks/${ep.id}`), 200, 'GET endpoint');
    assert.equal(kept.url, 'https://hooks.example.test/mintfax');
    const list = expectStatus(await call(env, 'GET', '/v1/webhooks'), 200, 'list');
    assert.equal(list.data.length, 1, 'no refused endpoint was created');
});

test('SSRF: a name that resolves to loopback, and a fax\'s webhook_url at loopback, are refused at delivery', async (t) => {
    const d = await strictDaemon();
    const env = await newEnv(d);
    const r = await receiver();
    // A name from /etc/hosts that resolves to 127.0.0.1 (there is no DNS here).
    const names = [os.hostname(), 'vm', 'runsc'];
    let name = null;
    for (const n of names) {
        const addrs = await dns.lookup(n, { all: true }).catch(() => []);
        if (!/localhost/i.test(n) && addrs.length && addrs.every((a) => a.address === '127.0.0.1' || a.address === '::1')) {
            name = n;
            break;
        }
    }
    if (!name) {
        t.skip(`no host name other than localhost resolves to loopback here (tried ${names.join(', ')}); cannot test the resolved-address check`);
        return;
    }
    const ep = await createEndpoint(env, { url: `http://${name}:${r.port}/by-name` });
    const fax = await sendFax(env, '+15005550001', { webhook_url: `http://127.0.0.1:${r.port}/by-ip` });
    await waitTerminal(env, fax.id);
    const failed = await waitFor(async () => {
        const all = await attempts(env);
        const last = all.filter((a) => a.event_type === 'fax.delivered');
        return last.length === 2 * SCHEDULE.length && last.every((a) => a.delivery.status === 'failed') && all;
    }, { timeoutMs: 20000, what: 'the deliveries of fax.delivered to fail for good' });
    for (const a of failed) {
        assert.equal(a.status, 'failed');
        assert.match(a.error, /^blocked_address: /, `${a.url}: ${a.error}`);
        assert.equal(a.response_status, null);
    }
    assert.ok(failed.some((a) => a.endpoint_id === ep.id) && failed.some((a) => a.endpoint_id === null));
    assert.equal(r.requests.length, 0, 'nothing reached the loopback receiver');
});

// ---------------------------------------------------------------------------
// kill -9 and restart on the same data directory.

async function restartable(env) {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-webhooks-'));
    dirs.push(dir);
    return { dir, env: { MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'true', ...env } };
}

test('kill -9 with attempts in flight: they are closed as interrupted_by_restart and each delivery is made exactly once', async () => {
    const { dir, env: denv } = await restartable({ MINTFAX_WEBHOOKS_TIMEOUT: '30', MINTFAX_WEBHOOKS_RETRY_SCHEDULE: '0,0.5,0.5,0.5' });
    let d = await daemon(denv, dir);
    const r = await receiver();
    r.setMode('hang');
    let env = await newEnv(d);
    const ep = await createEndpoint(env, { url: `${r.url}/crash` });
    for (const amount of [1, 2, 3]) await topup(env, amount);
    await r.waitFor((reqs) => reqs.length >= 3, { what: 'three attempts in flight' });
    const inFlight = await attempts(env, 'status=sending');
    assert.equal(inFlight.length, 3, 'three attempts are sending');
    await d.stop({ signal: 'SIGKILL' });
    r.setMode({ status: 204 });

    d = await daemon(denv, dir);
    env = { ...env, d };
    const ids = inFlight.map((a) => a.event_id);
    const done = await waitFor(async () => {
        const all = await attempts(env, `endpoint=${ep.id}`);
        return all.length >= 6 && all.every((a) => a.status !== 'sending') &&
            ids.every((id) => all.some((a) => a.event_id === id && a.delivery.status === 'delivered')) && all;
    }, { timeoutMs: 20000, what: 'every delivery to be delivered after the restart' });
    await sleep(1000);   // anything sent twice would arrive by now
    for (const a of inFlight) {
        const cut = expectStatus(await call(env, 'GET', `/v1/webhooks/attempts/${a.id}`), 200, 'GET the cut attempt');
        assert.equal(cut.status, 'failed');
        assert.match(cut.error, /^interrupted_by_restart: /);
    }
    const all = await attempts(env, `endpoint=${ep.id}`);
    assert.equal(all.length, 6, 'two attempts per delivery: the cut one and the one after the restart');
    for (const id of ids) {
        const mine = all.filter((a) => a.event_id === id);
        assert.deepEqual(mine.map((a) => [a.attempt_number, a.status]), [[1, 'failed'], [2, 'succeeded']]);
    }
    // The receiver: each attempt arrived once (by webhook-id and timestamp),
    // and each event was acknowledged exactly once.
    const seen = new Map();
    for (const rec of r.requests) {
        const k = `${rec.headers['webhook-id']} ${rec.headers['webhook-timestamp']} ${rec.headers['request-id']}`;
        seen.set(k, (seen.get(k) || 0) + 1);
        assertVerifies(ep.signing_secret, rec);
    }
    assert.ok([...seen.values()].every((n) => n === 1), 'no attempt arrived twice');
    for (const id of ids) {
        const acked = r.requests.filter((x) => x.headers['webhook-id'] === id && x.answered === 204);
        assert.equal(acked.length, 1, `${id} acknowledged ${acked.length} times`);
    }
    assert.equal(done.length, 6);
});

test('kill -9 between attempts: the pending retry is made after the restart, once', async () => {
    const { dir, env: denv } = await restartable({ MINTFAX_WEBHOOKS_RETRY_SCHEDULE: '0,1.5,1.5,1.5' });
    let d = await daemon(denv, dir);
    const r = await receiver();
    r.setMode({ status: 500 });
    let env = await newEnv(d);
    const ep = await createEndpoint(env, { url: `${r.url}/between` });
    await topup(env);
    const first = await waitFor(async () => {
        const all = await attempts(env, `endpoint=${ep.id}`);
        return all.length === 1 && all[0].status === 'failed' && all[0];
    }, { what: 'the first attempt to fail' });
    assert.ok(first.delivery.next_attempt_at, 'a retry is scheduled');
    await d.stop({ signal: 'SIGKILL' });
    r.setMode({ status: 204 });
    d = await daemon(denv, dir);
    env = { ...env, d };
    const due = Date.parse(first.delivery.next_attempt_at);
    const rec = await r.waitFor((reqs) => reqs.length >= 2 && reqs[1], { timeoutMs: 10000, what: 'the retry after the restart' });
    assert.ok(rec.at >= due - 50, `the retry waited for its due time (${rec.at - due} ms)`);
    assertVerifies(ep.signing_secret, rec);
    await sleep(2000);
    assert.equal(r.requests.length, 2, 'one failed attempt and one retry, nothing more');
    const all = await attempts(env, `endpoint=${ep.id}`);
    assert.deepEqual(all.map((a) => [a.attempt_number, a.status]), [[1, 'failed'], [2, 'succeeded']]);
    assert.equal(all[1].delivery.status, 'delivered');
});
