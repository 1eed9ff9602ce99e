// SPDX-License-Identifier: Apache-2.0
//
// Rate limiting (DESIGN §5) against a real mintfaxd: a per-key sliding window
// (here 5 requests per 2 s) with X-RateLimit-Limit/Remaining/Reset on every
// authenticated response; the request over the limit is 429
// rate_limit_exceeded with Retry-After and the error envelope; sandbox and
// live keys are counted apart; after Retry-After the key works again. A
// second daemon (poll interval 1 s, a high request limit) checks that polling
// one fax more than once a second is 429 with Retry-After.
//
// Each test uses keys nobody else used, so their windows start empty.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startDaemon } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const LIMIT = 5;
const WINDOW = 2;   // seconds
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let d;      // 5 requests per 2 s, no poll limit
let poll;   // a high request limit, one poll of a fax per second

before(async () => {
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_REQUESTS: String(LIMIT),
            MINTFAX_RATELIMIT_WINDOW: String(WINDOW),
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
        },
    });
    poll = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '1',
        },
    });
});

after(async () => {
    await Promise.allSettled([d?.stop(), poll?.stop()]);
});

// ---------------------------------------------------------------------------
// Helpers

/**
 * A call with the account key that waits out 429s (the account key has the
 * same small limit as every other key on this daemon).
 */
async function accountCall(dm, method, urlPath, body) {
    for (let i = 0; ; i++) {
        const r = await api(dm.url, dm.keys.account_key, method, urlPath, body);
        if (r.status !== 429 || i >= 10) return r;
        await sleep(Math.max(1, Number(r.headers.get('retry-after')) || 1) * 1000);
    }
}

let wsCounter = 0;
/** A new workspace's keys: {sandbox, live}. */
async function newKeys(dm) {
    const r = await accountCall(dm, 'POST', '/v1/workspaces', { name: `ratelimit ${++wsCounter}` });
    assert.equal(r.status, 201, `POST /v1/workspaces: ${r.text}`);
    const key = (env) => r.body.keys.find((k) => k.environment === env).key;
    return { sandbox: key('sandbox'), live: key('live') };
}

const get = (dm, key, p = '/v1/environment/balance') => api(dm.url, key, 'GET', p);

/** Checks the three X-RateLimit headers; returns them as numbers. */
function rateHeaders(r, what) {
    const limit = r.headers.get('x-ratelimit-limit');
    const remaining = r.headers.get('x-ratelimit-remaining');
    const reset = r.headers.get('x-ratelimit-reset');
    assert.ok(limit !== null && remaining !== null && reset !== null,
        `${what} (${r.status}) has X-RateLimit-Limit/Remaining/Reset: ${limit}/${remaining}/${reset}`);
    for (const [n, v] of [['Limit', limit], ['Remaining', remaining], ['Reset', reset]]) {
        assert.match(v, /^\d+$/, `X-RateLimit-${n} of ${what} is a non-negative integer: ${v}`);
    }
    const now = Date.now() / 1000;
    const out = { limit: Number(limit), remaining: Number(remaining), reset: Number(reset) };
    assert.ok(out.reset >= Math.floor(now) - 1 && out.reset <= Math.ceil(now) + WINDOW + 1,
        `X-RateLimit-Reset of ${what} is a unix time within the window: ${out.reset} (now ${now.toFixed(3)})`);
    return out;
}

function assert429(r, what) {
    assert.equal(r.status, 429, `${what}: expected 429, got ${r.status} ${r.text}`);
    assert.match(r.contentType, /^application\/json/);
    assert.equal(r.body.error, 'rate_limit_exceeded', r.text);
    assert.equal(typeof r.body.message, 'string');
    assert.equal(typeof r.body.action, 'string');
    assert.match(r.body.docs, /\/docs\/errors\/rate_limit_exceeded$/);
    assert.match(r.body.request_id, /^req_/);
    assert.equal(r.body.request_id, r.headers.get('x-request-id'));
    const ra = r.headers.get('retry-after');
    assert.match(ra || '', /^\d+$/, `Retry-After is whole seconds: ${ra}`);
    assert.ok(Number(ra) >= 1, `Retry-After ≥ 1: ${ra}`);
    return Number(ra);
}

/** Uses up a fresh key's window: LIMIT successful requests, then returns the 429. */
async function exhaust(dm, key, p) {
    for (let i = 0; i < LIMIT; i++) {
        const r = await get(dm, key, p);
        assert.equal(r.status, 200, `request ${i + 1} of ${LIMIT}: ${r.status} ${r.text}`);
    }
    return get(dm, key, p);
}

// ---------------------------------------------------------------------------

test('every authenticated response carries X-RateLimit-Limit, -Remaining and -Reset, counting down', async () => {
    const keys = await newKeys(d);
    const seen = [];
    const ok = await get(d, keys.sandbox);
    assert.equal(ok.status, 200, ok.text);
    seen.push(rateHeaders(ok, 'GET /v1/environment/balance'));
    const list = await get(d, keys.sandbox, '/v1/faxes');
    assert.equal(list.status, 200, list.text);
    seen.push(rateHeaders(list, 'GET /v1/faxes'));
    const missing = await get(d, keys.sandbox, '/v1/faxes/fax_01AAAAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(missing.status, 404, missing.text);
    seen.push(rateHeaders(missing, 'a 404 GET /v1/faxes/{unknown}'));
    const bad = await api(d.url, keys.sandbox, 'POST', '/v1/faxes', { to: 'not a number' });
    assert.equal(bad.status, 422, bad.text);
    seen.push(rateHeaders(bad, 'a 422 POST /v1/faxes'));

    for (const h of seen) assert.equal(h.limit, LIMIT, 'X-RateLimit-Limit is the configured limit');
    assert.deepEqual(seen.map((h) => h.remaining), [LIMIT - 1, LIMIT - 2, LIMIT - 3, LIMIT - 4],
        'X-RateLimit-Remaining counts every request of the key down');

    // The account key is rate-limited too, with the same headers.
    const acct = await accountCall(d, 'GET', '/v1/workspaces');
    assert.equal(acct.status, 200, acct.text);
    rateHeaders(acct, 'GET /v1/workspaces (account key)');

    // No key, no counter.
    const anon = await api(d.url, null, 'GET', '/v1/environment/balance');
    assert.equal(anon.status, 401);
});

test('the request over the limit is 429 rate_limit_exceeded with Retry-After ≥ 1 and the error envelope', async () => {
    const keys = await newKeys(d);
    const r = await exhaust(d, keys.sandbox);
    assert429(r, `request ${LIMIT + 1} in the window`);
    const h = rateHeaders(r, 'the 429');
    assert.equal(h.limit, LIMIT);
    assert.equal(h.remaining, 0, 'X-RateLimit-Remaining is 0 on the 429');
    // Still limited right after, on any route of the key.
    assert429(await get(d, keys.sandbox, '/v1/faxes'), 'another route right after');
    assert429(await api(d.url, keys.sandbox, 'POST', '/v1/faxes', { to: '+15005550001' }), 'a POST right after');
});

test('sandbox and live keys are counted apart', async () => {
    const keys = await newKeys(d);
    assert429(await exhaust(d, keys.sandbox), 'sandbox over its limit');
    const live = await get(d, keys.live);
    assert.equal(live.status, 200, `the live key of the same workspace is not limited: ${live.status} ${live.text}`);
    const h = rateHeaders(live, 'the live key\'s first request');
    assert.equal(h.remaining, LIMIT - 1, 'the live key has its own full window');
    // And the other way round: the live key's use does not count for the sandbox key of another workspace.
    const other = await newKeys(d);
    assert429(await exhaust(d, other.live), 'live over its limit');
    const sb = await get(d, other.sandbox);
    assert.equal(sb.status, 200, sb.text);
    assert.equal(rateHeaders(sb, 'sandbox after live was exhausted').remaining, LIMIT - 1);
});

/** Sleeps until Date.now() is `phaseMs` into a WINDOW-long period of the unix clock. */
async function untilPhase(phaseMs) {
    const period = WINDOW * 1000;
    const wait = (phaseMs - (Date.now() % period) + period) % period;
    await sleep(wait);
}

test('after waiting Retry-After seconds the key works again', async (t) => {
    // A sliding window must not answer a Retry-After after which the key is
    // still over its limit. Two bursts, one early and one late in a period of
    // the window's length on the unix clock (where a fixed window would
    // restart soon), so the answer does not depend on when the test runs.
    const failures = [];
    for (const phase of [150, 1200]) {
        const keys = await newKeys(d);
        await untilPhase(phase);
        const retryAfter = assert429(await exhaust(d, keys.sandbox), `over the limit (burst at ${phase} ms)`);
        assert.ok(retryAfter <= WINDOW * 2, `Retry-After is at most about the window (${WINDOW} s): ${retryAfter}`);
        t.diagnostic(`burst at ${phase} ms of the period: Retry-After ${retryAfter}`);
        await sleep(retryAfter * 1000 + 50);
        const r = await get(d, keys.sandbox);
        if (r.status !== 200) {
            failures.push(`burst at ${phase} ms of the period, then waiting Retry-After (${retryAfter} s): ` +
                `${r.status} ${r.body?.error ?? r.text}`);
            continue;
        }
        const h = rateHeaders(r, 'after waiting');
        assert.ok(h.remaining >= 0 && h.remaining < LIMIT, `Remaining ${h.remaining}`);
    }
    assert.deepEqual(failures, [], 'the key works again after Retry-After');
});

test('polling one fax twice within a second is 429 with Retry-After; other faxes and a second later are fine', async () => {
    const keys = await newKeys(poll);
    const pdf = makePdf({ pages: 1, text: 'mintfax rate limit' });
    const send = async () => {
        const fd = new FormData();
        fd.append('to', '+15005550001');
        fd.append('file', new Blob([pdf], { type: 'application/pdf' }), 'rl.pdf');
        const r = await api(poll.url, keys.sandbox, 'POST', '/v1/faxes', fd);
        assert.equal(r.status, 201, r.text);
        return r.body.id;
    };
    const a = await send();
    const b = await send();

    const first = await get(poll, keys.sandbox, `/v1/faxes/${a}`);
    assert.equal(first.status, 200, `the first poll: ${first.text}`);
    const t0 = Date.now();
    const second = await get(poll, keys.sandbox, `/v1/faxes/${a}`);
    assert.ok(Date.now() - t0 < 900, 'the second poll was within the second');
    const ra = assert429(second, 'the second poll of the same fax within a second');
    assert.ok(ra <= 1, `Retry-After for the poll limit is about the poll interval (1 s): ${ra}`);

    // Another fax and the list are not polls of this fax.
    const other = await get(poll, keys.sandbox, `/v1/faxes/${b}`);
    assert.equal(other.status, 200, `another fax right away: ${other.text}`);
    const list = await get(poll, keys.sandbox, '/v1/faxes');
    assert.equal(list.status, 200, list.text);

    // The alias route is the same fax: also limited.
    const alias = await get(poll, keys.sandbox, `/v1/fax/${a}`);
    assert429(alias, 'the same fax through the /v1/fax alias');

    // After Retry-After the fax may be polled again.
    await sleep(ra * 1000 + 50);
    const later = await get(poll, keys.sandbox, `/v1/faxes/${a}`);
    assert.equal(later.status, 200, `a poll after Retry-After: ${later.status} ${later.text}`);
});
