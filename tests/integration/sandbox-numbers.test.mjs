// SPDX-License-Identifier: Apache-2.0
//
// Every magic number of the sandbox (DESIGN §9) end to end against a real
// mintfaxd: a real multi-page PDF is sent as multipart, and the fax is
// followed through the API until it is terminal. Each test checks the final
// status, error_code/error_subcode, attempts[] (count, per-attempt codes,
// transport "sandbox"), retries_remaining, the event sequence of
// GET /v1/events?fax_id=… (fax.queued once, fax.sending per attempt,
// fax.retry_scheduled between attempts, exactly one terminal event) and the
// balance afterwards (captured = pages × price on delivery, released on
// failure, nothing held at the end). Each test uses a workspace of its own so
// balances and event logs do not mix.
//
// A second daemon with a slower sandbox clock shows the retry schedule
// through the API: next_attempt_at while queued between attempts, and
// exponentially growing gaps between attempts.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const PAGES = 3;
const PRICE = 7;                // billing.price_per_page_sandbox (default)
const INITIAL = 10000;          // sandbox.initial_credits (default)
const SCALE = 0.001;            // sandbox.time_scale of the fast daemon
const BACKOFF_BASE = 30;        // retry.backoff_base (default), simulated seconds
const DEFAULT_RETRIES = 3;      // retry.default_retries (default)
const pdf = makePdf({ pages: PAGES, text: 'mintfax sandbox numbers' });

const TERMINAL = new Set(['delivered', 'failed']);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let d;          // the fast daemon
let slow;       // the daemon whose retry window is observable

before(async () => {
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: String(SCALE),
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
        },
    });
    slow = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.05',
            MINTFAX_RETRY_BACKOFF_BASE: '30',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
        },
    });
});

after(async () => {
    await Promise.allSettled([d?.stop(), slow?.stop()]);
});

// ---------------------------------------------------------------------------
// Helpers

let wsCounter = 0;
/** A new workspace on daemon `dm`; returns its sandbox key. */
async function newSandboxKey(dm) {
    const r = await api(dm.url, dm.keys.account_key, 'POST', '/v1/workspaces', { name: `numbers ${++wsCounter}` });
    assert.equal(r.status, 201, `POST /v1/workspaces: ${r.text}`);
    const k = r.body.keys.find((x) => x.environment === 'sandbox');
    assert.ok(k && /^mfx_test_/.test(k.key), `no sandbox key in ${r.text}`);
    return k.key;
}

function faxForm(to, extra = {}) {
    const fd = new FormData();
    fd.append('to', to);
    for (const [k, v] of Object.entries(extra)) fd.append(k, String(v));
    fd.append('file', new Blob([pdf], { type: 'application/pdf' }), 'numbers.pdf');
    return fd;
}

async function balance(dm, key) {
    const r = await api(dm.url, key, 'GET', '/v1/environment/balance');
    assert.equal(r.status, 200, `GET /v1/environment/balance: ${r.text}`);
    return r.body;
}

async function getFax(dm, key, id) {
    const r = await api(dm.url, key, 'GET', `/v1/faxes/${id}`);
    assert.equal(r.status, 200, `GET /v1/faxes/${id}: ${r.text}`);
    return r.body;
}

async function waitTerminal(dm, key, id, timeoutMs = 15000) {
    return waitFor(async () => {
        const f = await getFax(dm, key, id);
        return TERMINAL.has(f.status) && f;
    }, { timeoutMs, intervalMs: 20, what: `fax ${id} to reach a terminal state` });
}

/** The fax's events, oldest first. */
async function eventsOf(dm, key, faxId) {
    const r = await api(dm.url, key, 'GET', `/v1/events?fax_id=${encodeURIComponent(faxId)}&per_page=100`);
    assert.equal(r.status, 200, `GET /v1/events?fax_id=${faxId}: ${r.text}`);
    assert.equal(r.body.has_more, false, 'more than 100 events for one fax');
    for (const e of r.body.data) {
        assert.equal(e.data?.object?.id, faxId, `event ${e.id} (${e.type}) is about ${e.data?.object?.id}`);
    }
    return [...r.body.data].reverse();
}

/** The list of faxes of a key (up to 100). */
async function listFaxes(dm, key) {
    const r = await api(dm.url, key, 'GET', '/v1/faxes?per_page=100');
    assert.equal(r.status, 200, `GET /v1/faxes: ${r.text}`);
    return r.body.data;
}

const ms = (t) => Date.parse(t);

/**
 * Sends one fax to `to` with a fresh workspace, waits for the end, and checks
 * everything a magic number promises.
 *   outcome    'delivered' | 'failed'
 *   codes      per attempt, the attempt's error_code (null: that attempt delivered)
 *   retries    the fax's retries (undefined: the default)
 */
async function runNumber(to, { outcome, codes, retries }) {
    const key = await newSandboxKey(d);
    const before0 = await balance(d, key);
    assert.equal(before0.available, INITIAL, 'a new sandbox starts with the initial credits');
    assert.equal(before0.held, 0);

    const extra = retries === undefined ? {} : { retries };
    const created = await api(d.url, key, 'POST', '/v1/faxes', faxForm(to, extra));
    assert.equal(created.status, 201, `POST /v1/faxes to ${to}: ${created.text}`);
    const id = created.body.id;
    assert.match(id, /^fax_/);
    assert.equal(created.body.status, 'queued');
    assert.equal(created.body.to, to);
    assert.equal(created.body.pages, PAGES, 'pages counted from the real PDF');
    assert.equal(created.body.environment, 'sandbox');
    const maxRetries = retries === undefined ? DEFAULT_RETRIES : retries;
    assert.equal(created.body.retry_policy?.max, maxRetries);
    assert.equal(created.body.max_attempts, maxRetries + 1);
    assert.equal(created.body.cost.held, PAGES * PRICE, 'hold of pages × price on acceptance');

    const f = await waitTerminal(d, key, id);
    const ctx = `fax ${id} to ${to}: ${JSON.stringify(f)}`;

    // Final state.
    assert.equal(f.status, outcome, ctx);
    const lastCode = codes[codes.length - 1];
    assert.equal(f.error_code, lastCode, ctx);
    if (lastCode === null) {
        assert.equal(f.error_subcode, null, ctx);
        assert.equal(f.pages_sent, PAGES, ctx);
    } else {
        assert.equal(typeof f.error_subcode, 'string', ctx);
        assert.ok(f.error_subcode.length > 0, `error_subcode names the cause: ${ctx}`);
        assert.equal(typeof f.error_message, 'string', ctx);
    }
    assert.equal(f.next_attempt_at, null, `a terminal fax has no next attempt: ${ctx}`);
    assert.ok(f.completed_at, ctx);
    assert.ok(f.submitted_at, ctx);

    // Attempts.
    assert.equal(f.attempts.length, codes.length, `attempt count: ${ctx}`);
    f.attempts.forEach((a, i) => {
        assert.equal(a.attempt_number, i + 1, ctx);
        assert.equal(a.transport, 'sandbox', ctx);
        assert.equal(a.error_code, codes[i], `attempt ${i + 1} error_code: ${ctx}`);
        if (codes[i] === null) {
            assert.equal(a.error_subcode, null, ctx);
            assert.equal(a.pages_sent, PAGES, ctx);
        } else {
            assert.ok(typeof a.error_subcode === 'string' && a.error_subcode.length > 0,
                `attempt ${i + 1} error_subcode: ${ctx}`);
        }
        assert.ok(a.started_at && a.completed_at, ctx);
        assert.ok(ms(a.completed_at) >= ms(a.started_at), ctx);
        if (i > 0) assert.ok(ms(a.started_at) >= ms(f.attempts[i - 1].completed_at), `attempts overlap: ${ctx}`);
    });
    const last = f.attempts[f.attempts.length - 1];
    assert.equal(last.error_subcode, f.error_subcode, `the fax's subcode is its last attempt's: ${ctx}`);
    assert.equal(f.retries_remaining, maxRetries - (codes.length - 1), `retries_remaining: ${ctx}`);

    // Events, oldest first.
    const events = await eventsOf(d, key, id);
    const expected = ['fax.queued'];
    codes.forEach((c, i) => {
        expected.push('fax.sending');
        if (i < codes.length - 1) expected.push('fax.retry_scheduled');
    });
    expected.push(outcome === 'delivered' ? 'fax.delivered' : 'fax.failed');
    assert.deepEqual(events.map((e) => e.type), expected, `event sequence of ${to}`);
    const objStatus = { 'fax.queued': 'queued', 'fax.sending': 'submitted', 'fax.retry_scheduled': 'queued',
        'fax.delivered': 'delivered', 'fax.failed': 'failed' };
    for (const e of events) {
        assert.equal(e.event, e.type, 'the older guide\'s "event" field');
        assert.equal(e.event_id, e.id);
        assert.equal(e.environment, 'sandbox');
        assert.equal(e.data.object.status, objStatus[e.type], `${e.type} carries the fax as it was then`);
    }

    // Money.
    const bal = await balance(d, key);
    assert.equal(bal.held, 0, 'nothing held once the fax is terminal');
    assert.equal(f.cost.held, 0, ctx);
    if (outcome === 'delivered') {
        assert.equal(f.cost.captured, PAGES * PRICE, `captured pages × price: ${ctx}`);
        assert.equal(bal.available, INITIAL - PAGES * PRICE, 'delivery captured the hold');
    } else {
        assert.equal(f.cost.captured, 0, `nothing captured on failure: ${ctx}`);
        assert.equal(bal.available, INITIAL, 'failure released the hold');
    }
    return { key, fax: f, events };
}

/** Checks the waits between attempts grew as exp(2, base) (scaled). */
function assertBackoff(f, scale, base) {
    for (let i = 1; i < f.attempts.length; i++) {
        const gap = ms(f.attempts[i].started_at) - ms(f.attempts[i - 1].completed_at);
        const want = base * 2 ** (i - 1) * scale * 1000;
        assert.ok(gap >= want * 0.9 - 2, `wait before attempt ${i + 1} is ${gap} ms, backoff says ${want} ms`);
    }
    for (let i = 2; i < f.attempts.length; i++) {
        const g1 = ms(f.attempts[i - 1].started_at) - ms(f.attempts[i - 2].started_at);
        const g2 = ms(f.attempts[i].started_at) - ms(f.attempts[i - 1].started_at);
        assert.ok(g2 > g1, `gaps between attempts grow: ${g1} ms then ${g2} ms`);
    }
}

// ---------------------------------------------------------------------------
// The magic numbers

test('+15005550001 is delivered: 1 attempt, hold of pages × price captured', async () => {
    await runNumber('+15005550001', { outcome: 'delivered', codes: [null] });
});

test('+15005550002 is busy on every attempt: line_busy, retried with backoff, then failed, hold released', async () => {
    const { fax } = await runNumber('+15005550002', {
        outcome: 'failed', codes: ['line_busy', 'line_busy', 'line_busy', 'line_busy'],
    });
    assertBackoff(fax, SCALE, BACKOFF_BASE);
});

test('+15005550003 rings out: no_answer, retried, then failed', async () => {
    await runNumber('+15005550003', {
        outcome: 'failed', codes: ['no_answer', 'no_answer', 'no_answer', 'no_answer'],
    });
});

test('+15005550004 fails the first attempt with line_quality and is delivered on the retry', async () => {
    const { fax } = await runNumber('+15005550004', { outcome: 'delivered', codes: ['line_quality', null] });
    assertBackoff(fax, SCALE, BACKOFF_BASE);
});

test('+15005550005 fails permanently with bad_destination and is not retried', async () => {
    await runNumber('+15005550005', { outcome: 'failed', codes: ['bad_destination'] });
});

test('+15005550006 is refused at submission with 402 insufficient_balance and creates no fax', async () => {
    await assertRefused('+15005550006', 402, 'insufficient_balance', 'top_up_balance');
});

test('+15005550007 is delivered', async () => {
    await runNumber('+15005550007', { outcome: 'delivered', codes: [null] });
});

test('+15005550008 fails with invalid_number and is not retried', async () => {
    await runNumber('+15005550008', { outcome: 'failed', codes: ['invalid_number'] });
});

test('+15005550009 drops after the first page: transmission_interrupted, retried, then failed', async () => {
    const { fax } = await runNumber('+15005550009', {
        outcome: 'failed',
        codes: ['transmission_interrupted', 'transmission_interrupted', 'transmission_interrupted', 'transmission_interrupted'],
    });
    for (const a of fax.attempts) assert.equal(a.pages_sent, 1, `each attempt sent page 1 only: ${JSON.stringify(a)}`);
});

test('+15005550099 is refused at submission with 422 validation_failed and creates no fax', async () => {
    const r = await assertRefused('+15005550099', 422, 'validation_failed', 'fix_request');
    assert.ok(r.body.context?.errors && typeof r.body.context.errors === 'object',
        `a validation error lists the field: ${r.text}`);
});

test('+15556392879 (MFX-BUSY) is always busy: line_busy on every attempt, then failed', async () => {
    await runNumber('+15556392879', { outcome: 'failed', codes: ['line_busy', 'line_busy'], retries: 1 });
});

test('+15556396225 (MFX-NACK) rejects on the first ring: recipient_rejected, not retried', async () => {
    await runNumber('+15556396225', { outcome: 'failed', codes: ['recipient_rejected'] });
});

test('+15556397569 (MFX-SLOW) is delivered after 90 simulated seconds', async () => {
    const { fax } = await runNumber('+15556397569', { outcome: 'delivered', codes: [null] });
    const took = ms(fax.completed_at) - ms(fax.submitted_at);
    const want = 90 * SCALE * 1000;   // 90 ms at this scale
    assert.ok(took >= want * 0.95 - 2, `MFX-SLOW took ${took} ms, expected about ${want} ms`);
    assert.ok(took < want + 1000, `MFX-SLOW took ${took} ms, expected about ${want} ms`);
    const a = fax.attempts[0];
    assert.ok(a.duration_ms >= want * 0.95 - 2, `attempt duration_ms ${a.duration_ms}, expected about ${want}`);
});

test('any other E.164 number is delivered', async () => {
    await runNumber('+14155550123', { outcome: 'delivered', codes: [null] });
});

test('a fax with retries=0 to a busy number fails after exactly one attempt', async () => {
    await runNumber('+15005550002', { outcome: 'failed', codes: ['line_busy'], retries: 0 });
});

/** Refused at submission: status, envelope, and no fax, no hold, no event. */
async function assertRefused(to, status, code, action) {
    const key = await newSandboxKey(d);
    // One ordinary fax first, so "unchanged" compares against a non-empty list.
    const ok = await api(d.url, key, 'POST', '/v1/faxes', faxForm('+15005550001'));
    assert.equal(ok.status, 201, ok.text);
    await waitTerminal(d, key, ok.body.id);
    const listBefore = await listFaxes(d, key);
    const balBefore = await balance(d, key);
    const evBefore = await api(d.url, key, 'GET', '/v1/events?per_page=100');

    const r = await api(d.url, key, 'POST', '/v1/faxes', faxForm(to));
    assert.equal(r.status, status, `POST /v1/faxes to ${to}: ${r.text}`);
    assert.equal(r.body.error, code, r.text);
    assert.equal(r.body.action, action, r.text);
    assert.equal(typeof r.body.message, 'string');
    assert.match(r.body.docs, new RegExp(`/docs/errors/${code}$`));
    assert.equal(r.body.request_id, r.headers.get('x-request-id'));

    // The same with JSON and a document_id: also refused.
    const doc = await api(d.url, key, 'POST', '/v1/documents', (() => {
        const fd = new FormData();
        fd.append('file', new Blob([pdf], { type: 'application/pdf' }), 'numbers.pdf');
        return fd;
    })());
    assert.equal(doc.status, 201, doc.text);
    const r2 = await api(d.url, key, 'POST', '/v1/faxes', { to, document_id: doc.body.id });
    assert.equal(r2.status, status, `POST /v1/faxes (JSON) to ${to}: ${r2.text}`);
    assert.equal(r2.body.error, code, r2.text);

    await sleep(50);   // a fax created by mistake would have moved by now
    const listAfter = await listFaxes(d, key);
    assert.deepEqual(listAfter.map((f) => f.id), listBefore.map((f) => f.id), 'no fax created');
    assert.equal(listAfter.filter((f) => f.to === to).length, 0, `no fax to ${to}`);
    const balAfter = await balance(d, key);
    assert.equal(balAfter.available, balBefore.available, 'balance unchanged');
    assert.equal(balAfter.held, balBefore.held, 'nothing held');
    const evAfter = await api(d.url, key, 'GET', '/v1/events?per_page=100');
    assert.deepEqual(evAfter.body.data.map((e) => e.id), evBefore.body.data.map((e) => e.id), 'no event written');
    return r;
}

// ---------------------------------------------------------------------------
// Retries and backoff through the API (slow daemon: 30 s × 0.05 = 1.5 s)

test('retries and backoff are visible through the API: next_attempt_at while queued, growing gaps', async () => {
    const scale = 0.05;
    const key = await newSandboxKey(slow);
    const created = await api(slow.url, key, 'POST', '/v1/faxes', faxForm('+15005550002', { retries: 2 }));
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    assert.equal(created.body.retries_remaining, 2);
    assert.equal(created.body.max_attempts, 3);
    assert.equal(created.body.next_attempt_at, null, 'a new fax is due now, not scheduled later');

    // Between attempt 1 and 2: queued, one failed attempt, next_attempt_at ≈ end of attempt 1 + 1.5 s.
    for (const n of [1, 2]) {
        const f = await waitFor(async () => {
            const g = await getFax(slow, key, id);
            return g.status === 'queued' && g.attempts.length === n && g;
        }, { timeoutMs: 10000, intervalMs: 20, what: `fax ${id} queued for a retry after attempt ${n}` });
        const ctx = JSON.stringify(f);
        assert.equal(f.attempts[n - 1].error_code, 'line_busy', ctx);
        assert.ok(f.attempts[n - 1].completed_at, ctx);
        assert.equal(typeof f.next_attempt_at, 'string', `next_attempt_at set while waiting: ${ctx}`);
        const wait = ms(f.next_attempt_at) - ms(f.attempts[n - 1].completed_at);
        const want = 30 * 2 ** (n - 1) * scale * 1000;
        assert.ok(Math.abs(wait - want) <= 100, `next_attempt_at is ${wait} ms after attempt ${n} ended, expected ${want} ms: ${ctx}`);
        // Still waiting a moment later (the window is observable).
        await sleep(200);
        const again = await getFax(slow, key, id);
        assert.equal(again.status, 'queued', `still waiting for the backoff: ${JSON.stringify(again)}`);
        assert.equal(again.attempts.length, n);
        assert.equal(again.next_attempt_at, f.next_attempt_at, 'next_attempt_at is stable');
    }

    const f = await waitTerminal(slow, key, id, 20000);
    const ctx = JSON.stringify(f);
    assert.equal(f.status, 'failed', ctx);
    assert.equal(f.error_code, 'line_busy', ctx);
    assert.equal(f.attempts.length, 3, ctx);
    assert.equal(f.retries_remaining, 0, ctx);
    assert.equal(f.next_attempt_at, null, ctx);
    for (let i = 1; i < 3; i++) {
        const gap = ms(f.attempts[i].started_at) - ms(f.attempts[i - 1].completed_at);
        const want = 30 * 2 ** (i - 1) * scale * 1000;
        assert.ok(gap >= want - 20 && gap <= want + 1000, `wait before attempt ${i + 1}: ${gap} ms, expected ${want} ms: ${ctx}`);
    }
    const g1 = ms(f.attempts[1].started_at) - ms(f.attempts[0].started_at);
    const g2 = ms(f.attempts[2].started_at) - ms(f.attempts[1].started_at);
    assert.ok(g2 > g1 + 1000, `gaps between started_at grow (30 s then 60 s, scaled): ${g1} ms, ${g2} ms`);

    const events = await eventsOf(slow, key, id);
    assert.deepEqual(events.map((e) => e.type), ['fax.queued', 'fax.sending', 'fax.retry_scheduled',
        'fax.sending', 'fax.retry_scheduled', 'fax.sending', 'fax.failed']);
    const retryEvents = events.filter((e) => e.type === 'fax.retry_scheduled');
    for (const e of retryEvents) {
        assert.equal(typeof e.data.object.next_attempt_at, 'string',
            `fax.retry_scheduled carries next_attempt_at: ${JSON.stringify(e.data.object)}`);
    }
    const bal = await balance(slow, key);
    assert.equal(bal.held, 0);
    assert.equal(bal.available, INITIAL);
});

test('retries_remaining counts a retry as consumed when the retryable outcome reschedules the fax', async () => {
    // DESIGN §6: "Retryable outcomes ... consume one of `retries` and
    // reschedule with backoff". While the fax waits for its retry, that retry
    // is already spent: retries=1 shows 0 remaining between the attempts.
    const key = await newSandboxKey(slow);
    const created = await api(slow.url, key, 'POST', '/v1/faxes', faxForm('+15005550002', { retries: 1 }));
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    assert.equal(created.body.retries_remaining, 1, 'nothing consumed yet');
    const waiting = await waitFor(async () => {
        const g = await getFax(slow, key, id);
        return g.status === 'queued' && g.attempts.length === 1 && g;
    }, { timeoutMs: 10000, intervalMs: 20, what: `fax ${id} queued for its retry` });
    assert.equal(typeof waiting.next_attempt_at, 'string', JSON.stringify(waiting));
    const f = await waitTerminal(slow, key, id, 20000);
    assert.equal(f.status, 'failed', JSON.stringify(f));
    assert.equal(f.attempts.length, 2, JSON.stringify(f));
    assert.equal(f.retries_remaining, 0, JSON.stringify(f));
    assert.equal(waiting.retries_remaining, 0,
        `retries_remaining while the only retry is scheduled: ${JSON.stringify(waiting)}`);
});
