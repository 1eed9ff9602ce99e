// SPDX-License-Identifier: Apache-2.0
//
// Crash recovery (DESIGN §1, §2, §6; issue 2 "Tests that must exist"):
// mintfaxd is killed with SIGKILL while faxes are queued and while sandbox
// calls are in the middle of an attempt, then restarted on the same data
// directory. Every accepted fax must still be there, every attempt cut short
// must end with error_code interrupted_by_restart, every fax must reach
// exactly one terminal status with exactly one terminal event, and the
// ledger must balance: held 0 and available = initial − Σ cost.captured.
// A SIGTERM is graceful: calls in flight finish (up to
// [server] shutdown_timeout), the daemon exits 0, and nothing is lost.
//
// sandbox.time_scale 0.05 makes a 1-page call last about 1.1 s (3 s ring,
// 6 s training, 13 s per fine page, scaled), long enough to be killed in.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { api, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const ENV = {
    MINTFAX_SANDBOX_TIME_SCALE: '0.05',
    MINTFAX_SANDBOX_MAX_CHANNELS: '6',
    MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
    MINTFAX_RATELIMIT_REQUESTS: '100000',
};
const INITIAL = 10000;   // [sandbox] initial_credits
const TERMINAL = ['delivered', 'failed'];

const dirs = [];
const daemons = [];
async function newDir() {
    const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-crash-'));
    dirs.push(dir);
    return dir;
}
async function start(dataDir, env = ENV) {
    const d = await startDaemon({ env, dataDir });
    daemons.push(d);
    return d;
}

after(async () => {
    for (const d of daemons) await d.stop({ signal: 'SIGKILL' });
    if (process.env.MFX_KEEP_DATA !== '1') {
        for (const dir of dirs) await fsp.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    }
});

// ---------------------------------------------------------------------------

async function listAll(d, key, p) {
    const out = [];
    let cursor = null;
    for (;;) {
        const r = await api(d.url, key, 'GET', `${p}${p.includes('?') ? '&' : '?'}per_page=100${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.text.slice(0, 200)}`);
        out.push(...r.body.data);
        if (!r.body.has_more) return out;
        cursor = r.body.next_cursor;
    }
}

async function getFax(d, key, id) {
    const r = await api(d.url, key, 'GET', `/v1/faxes/${id}`);
    assert.equal(r.status, 200, `GET /v1/faxes/${id}: ${r.status} ${r.text.slice(0, 200)}`);
    return r.body;
}

async function sendPdf(d, key, { to, pages = 1, retries, idem }) {
    const form = new FormData();
    form.append('file', new Blob([makePdf({ pages, text: `crash ${to}` })], { type: 'application/pdf' }), 'crash.pdf');
    form.append('to', to);
    if (retries !== undefined) form.append('retries', String(retries));
    const r = await api(d.url, key, 'POST', '/v1/faxes', form, idem ? { 'Idempotency-Key': idem } : {});
    assert.equal(r.status, 201, `POST /v1/faxes to ${to}: ${r.status} ${r.text.slice(0, 300)}`);
    return r.body;
}

async function killHard(d) {
    const exited = await d.stop({ signal: 'SIGKILL', keepData: true });
    assert.equal(exited?.signal, 'SIGKILL', `the daemon died of SIGKILL: ${JSON.stringify(exited)}`);
}

async function waitAllTerminal(d, key, ids, timeoutMs = 40000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const all = await listAll(d, key, '/v1/faxes');
        const byId = new Map(all.map((f) => [f.id, f]));
        const open = ids.filter((id) => !TERMINAL.includes(byId.get(id)?.status));
        if (open.length === 0) return all;
        if (Date.now() > deadline) {
            assert.fail(`not terminal after ${timeoutMs} ms: ${open.map((id) => `${id}:${byId.get(id)?.status}`).join(', ')}\n${d.logTail(20)}`);
        }
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Events of one fax, oldest first. */
async function faxEvents(d, key, id) {
    return (await listAll(d, key, `/v1/events?fax_id=${id}`)).reverse();
}

/**
 * The invariants every fax must satisfy at the end: one terminal status, one
 * terminal event agreeing with it, queued once, one sending per attempt, a
 * retry_scheduled for every attempt but the last, every attempt closed.
 */
async function checkFax(d, key, fax) {
    const what = `${fax.id} (to ${fax.to}, ${fax.status})`;
    assert.ok(TERMINAL.includes(fax.status), `${what}: not terminal`);
    const events = await faxEvents(d, key, fax.id);
    const types = events.map((e) => e.type);
    const terminal = types.filter((t) => t === 'fax.delivered' || t === 'fax.failed');
    assert.deepEqual(terminal, [`fax.${fax.status}`], `${what}: terminal events ${JSON.stringify(types)}`);
    assert.equal(types[types.length - 1], `fax.${fax.status}`, `${what}: the terminal event is the last one: ${JSON.stringify(types)}`);
    assert.equal(types.filter((t) => t === 'fax.queued').length, 1, `${what}: fax.queued once: ${JSON.stringify(types)}`);
    const n = fax.attempts.length;
    assert.equal(types.filter((t) => t === 'fax.sending').length, n, `${what}: one fax.sending per attempt (${n}): ${JSON.stringify(types)}`);
    assert.equal(types.filter((t) => t === 'fax.retry_scheduled').length, Math.max(0, n - 1), `${what}: a retry for every attempt but the last: ${JSON.stringify(types)}`);
    fax.attempts.forEach((a, i) => {
        assert.equal(a.attempt_number, i + 1, `${what}: attempt numbers`);
        assert.ok(a.completed_at, `${what}: attempt ${i + 1} left open`);
        if (i < n - 1) assert.ok(a.error_code, `${what}: attempt ${i + 1} was retried without an error`);
    });
    assert.ok(n <= fax.max_attempts, `${what}: ${n} attempts > max_attempts ${fax.max_attempts}`);
    const last = fax.attempts[n - 1];
    if (fax.status === 'delivered') {
        assert.equal(fax.error_code, null, `${what}: delivered with an error`);
        assert.equal(last?.error_code ?? null, null, `${what}: delivered but the last attempt failed`);
        assert.ok(fax.cost.captured > 0, `${what}: delivered but nothing captured`);
    } else {
        assert.ok(fax.error_code, `${what}: failed without error_code`);
        if (last && fax.error_code !== 'cancelled') assert.equal(last.error_code, fax.error_code, `${what}: fax error_code vs last attempt`);
        assert.equal(fax.cost.captured, 0, `${what}: failed but captured`);
    }
    assert.ok(fax.completed_at, `${what}: no completed_at`);
    assert.equal(fax.next_attempt_at, null, `${what}: terminal with next_attempt_at`);
    return events;
}

async function checkBalance(d, key, faxes, what) {
    const b = await api(d.url, key, 'GET', '/v1/environment/balance');
    assert.equal(b.status, 200);
    const captured = faxes.reduce((s, f) => s + f.cost.captured, 0);
    assert.equal(b.body.held, 0, `${what}: held ${b.body.held} after every fax ended`);
    assert.equal(b.body.available, INITIAL - captured, `${what}: available ${b.body.available} != ${INITIAL} − Σ captured ${captured}`);
}

// ---------------------------------------------------------------------------
// The SIGKILL scenario: one data directory, three daemons in a row.

// A mix of magic numbers (DESIGN §9); retries kept small so the file stays fast.
const MIX = [
    { to: '+15005550001', pages: 3 },               // first: a 2.4 s call, surely mid-call at the first kill
    { to: '+15005550001' },
    { to: '+15005550007', pages: 2 },
    { to: '+15005550004', retries: 2 },             // line_quality, then delivered
    { to: '+15005550009', pages: 2, retries: 1 },   // dropped after page 1, retried, failed
    { to: '+15005550002', retries: 1 },             // busy, retried, failed
    { to: '+15005550005' },                         // bad_destination
    { to: '+15005550008' },                         // invalid_number
    { to: '+15556396225' },                         // recipient_rejected
    { to: '+15005550003', retries: 0 },             // no_answer after 3 s
    { to: '+14155550123' },                         // any other number: delivered
    { to: '+15005550001', retries: 0 },
    { to: '+442071838750', pages: 2 },
    { to: '+15005550007' },
    { to: '+15556392879', retries: 1 },             // MFX-BUSY
    { to: '+15005550004', retries: 1 },
    { to: '+15005550001', pages: 2 },
    { to: '+15005550009', retries: 0 },
    { to: '+4930901820' },
    { to: '+15005550001' },
];

const state = { dir: null, d: null, keys: null, keysFile: null, ids: [], created: [] };

test('SIGKILL right after the last 201: every accepted fax is still there after the restart', async (t) => {
    state.dir = await newDir();
    state.d = await start(state.dir);
    state.keys = state.d.keys;
    state.keysFile = fs.readFileSync(path.join(state.dir, 'initial-keys.json'), 'utf8');
    const key = state.keys.sandbox_key;
    for (const [i, m] of MIX.entries()) {
        const fax = await sendPdf(state.d, key, { ...m, idem: `crash-${i}` });
        state.created.push({ ...m, fax });
        state.ids.push(fax.id);
    }
    // The first fax's 3-page call takes 2.4 s once its pages are rendered
    // (rendering is slower on a sanitized build): wait until it is mid-call.
    let seen = 'none';
    const first = await waitFor(async () => {
        const f = await getFax(state.d, key, state.ids[0]);
        seen = `${f.status} pages=${f.pages} attempts=${f.attempts?.length}`;
        return ['submitted', 'in_progress'].includes(f.status) ? f : null;
    }, { timeoutMs: 30000, intervalMs: 20, what: 'the first fax to be mid-call' }).catch((err) => {
        // Seen once in a sanitized CI run, never reproduced: keep what it looked like.
        throw new Error(`${err.message}; first fax: ${seen}\n${state.d.logTail(60)}`);
    });
    const firstWasMidCall = ['submitted', 'in_progress'].includes(first.status);
    const before = await listAll(state.d, key, '/v1/faxes');
    const queuedAtKill = before.filter((f) => f.status === 'queued').length;
    t.diagnostic(`at the kill: ${queuedAtKill} queued, ${before.length - queuedAtKill} mid-call or terminal`);
    await killHard(state.d);

    state.d = await start(state.dir);
    assert.deepEqual(state.d.keys, state.keys, 'the restart keeps the keys');
    assert.equal(fs.readFileSync(path.join(state.dir, 'initial-keys.json'), 'utf8'), state.keysFile, 'initial-keys.json was not rewritten');
    const after = await listAll(state.d, key, '/v1/faxes');
    assert.deepEqual(after.map((f) => f.id).sort(), [...state.ids].sort(), 'exactly the accepted faxes, none lost, none added');
    // An idempotent retry of a request answered before the kill replays it: no second fax.
    const again = await api(state.d.url, key, 'POST', '/v1/faxes', (() => {
        const form = new FormData();
        form.append('file', new Blob([makePdf({ pages: MIX[1].pages || 1, text: `crash ${MIX[1].to}` })], { type: 'application/pdf' }), 'crash.pdf');
        form.append('to', MIX[1].to);
        return form;
    })(), { 'Idempotency-Key': 'crash-1' });
    assert.equal(again.status, 201, again.text.slice(0, 200));
    assert.equal(again.body.id, state.ids[1], 'the replay names the fax accepted before the kill');
    assert.equal((await listAll(state.d, key, '/v1/faxes')).length, MIX.length);
    assert.ok(queuedAtKill > 0, `some faxes were still queued at the kill (${queuedAtKill})`);
    assert.ok(firstWasMidCall, `the first fax was mid-call at the kill (status ${first.status})`);
    // Its attempt was cut short and says so.
    const f0 = await getFax(state.d, key, state.ids[0]);
    assert.equal(f0.attempts[0]?.error_code, 'interrupted_by_restart', `first fax's attempt 1: ${JSON.stringify(f0.attempts[0])}`);
    assert.ok(f0.attempts[0].completed_at, 'the interrupted attempt is closed');
});

test('SIGKILL mid-call: the attempts cut short end with interrupted_by_restart, then retry or fail', async () => {
    const key = state.keys.sandbox_key;
    // Two MFX-SLOW faxes (a 4.5 s call each): one without retries, one with.
    const slow0 = await sendPdf(state.d, key, { to: '+15556397569', retries: 0 });
    const slow1 = await sendPdf(state.d, key, { to: '+15556397569', retries: 2 });
    state.ids.push(slow0.id, slow1.id);
    // Wait until both calls are under way (6 channels; the rest of the mix may hold some for a while).
    const midCall = await waitFor(async () => {
        const a = await getFax(state.d, key, slow0.id);
        const b = await getFax(state.d, key, slow1.id);
        const on = (f) => ['submitted', 'in_progress'].includes(f.status) && f.attempts.length >= 1 &&
            !f.attempts[f.attempts.length - 1].completed_at &&
            Date.now() - Date.parse(f.attempts[f.attempts.length - 1].started_at) < 2500;
        return on(a) && on(b) && [a, b];
    }, { timeoutMs: 20000, intervalMs: 20, what: 'both MFX-SLOW faxes mid-call' });
    const attemptsAtKill = midCall.map((f) => f.attempts.length);
    const snapshot = await listAll(state.d, key, '/v1/faxes');
    const openAtKill = snapshot.filter((f) => ['submitted', 'in_progress'].includes(f.status)).map((f) => f.id);
    await killHard(state.d);

    state.d = await start(state.dir);
    const s0 = await getFax(state.d, key, slow0.id);
    assert.equal(s0.status, 'failed', `no retries left: failed at once (${JSON.stringify(s0)})`);
    assert.equal(s0.error_code, 'interrupted_by_restart');
    assert.equal(s0.attempts.length, attemptsAtKill[0]);
    assert.equal(s0.attempts[attemptsAtKill[0] - 1].error_code, 'interrupted_by_restart');
    assert.ok(s0.attempts[attemptsAtKill[0] - 1].error_subcode, 'the interrupted attempt names why (error_subcode)');
    assert.equal(s0.cost.captured, 0);
    const s1 = await getFax(state.d, key, slow1.id);
    assert.equal(s1.attempts[attemptsAtKill[1] - 1].error_code, 'interrupted_by_restart', JSON.stringify(s1.attempts));
    assert.notEqual(s1.status, 'failed', `retries remain: rescheduled, not failed (${JSON.stringify(s1)})`);
    // Every fax that was mid-call in the snapshot just before the kill and whose call
    // could not have ended since shows its last attempt then as interrupted or finished.
    for (const id of openAtKill) {
        const f = await getFax(state.d, key, id);
        assert.ok(!['submitted', 'in_progress'].includes(f.status) || f.attempts.length > 0, `${id} after restart: ${f.status}`);
        for (const a of f.attempts) if (a.error_code === 'interrupted_by_restart') assert.ok(a.completed_at, `${id}: interrupted attempt closed`);
    }
    const s1done = await waitFor(async () => {
        const f = await getFax(state.d, key, slow1.id);
        return TERMINAL.includes(f.status) && f;
    }, { timeoutMs: 30000, intervalMs: 200, what: 'the retried MFX-SLOW fax terminal' });
    assert.equal(s1done.status, 'delivered', JSON.stringify(s1done));
});

test('SIGKILL during a burst of concurrent POSTs: every fax answered 201 survives, none is half-made', async (t) => {
    const key = state.keys.sandbox_key;
    const answered = [];
    let cutOff = 0;
    let sent = 0;
    let stop = false;
    let enoughAnswers;
    const enough = new Promise((resolve) => { enoughAnswers = resolve; });
    // Eight clients, each sending one request after another, so that
    // requests are always in flight when the kill comes.
    const worker = async (w) => {
        for (let i = 0; !stop && i < 100; i++) {
            const form = new FormData();
            form.append('file', new Blob([makePdf({ text: `burst ${w}.${i}` })], { type: 'application/pdf' }), 'burst.pdf');
            form.append('to', i % 2 ? '+15005550001' : '+15005550007');
            sent++;
            try {
                const r = await api(state.d.url, key, 'POST', '/v1/faxes', form);
                assert.equal(r.status, 201, r.text.slice(0, 200));
                answered.push(r.body.id);
                if (answered.length >= 40) enoughAnswers();
            } catch (err) {
                if (err instanceof assert.AssertionError) throw err;
                cutOff++;   // cut off by the kill
                return;
            }
        }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await Promise.race([enough, Promise.all(workers)]);
    await killHard(state.d);
    stop = true;
    await Promise.all(workers);
    const N = sent;
    state.d = await start(state.dir);
    const ids = new Set((await listAll(state.d, key, '/v1/faxes')).map((f) => f.id));
    for (const id of answered) assert.ok(ids.has(id), `${id} was answered 201 before the kill and is gone`);
    const known = new Set(state.ids);
    const extra = [...ids].filter((id) => !known.has(id));
    assert.ok(extra.length >= answered.length && extra.length <= N, `${extra.length} new faxes for ${answered.length} answers of ${N}`);
    for (const id of extra) {
        const f = await getFax(state.d, key, id);
        assert.equal(f.pages, 1, `${id}: a fax without its document's pages`);
        assert.ok(f.document_id, `${id}: a fax without its document`);
        // The stored document is whole: recorded, one page, not deleted.
        const doc = await api(state.d.url, key, 'GET', `/v1/documents/${f.document_id}`);
        assert.equal(doc.status, 200, `${id}: its document is not there (${doc.status})`);
        assert.equal(doc.body.pages, 1, `${id}: document pages`);
        assert.equal(doc.body.deleted, false, `${id}: document deleted`);
        assert.ok(doc.body.size > 0, `${id}: document size`);
        const q = await faxEvents(state.d, key, id);
        assert.equal(q[0]?.type, 'fax.queued', `${id}: accepted without its fax.queued event`);
    }
    t.diagnostic(`${answered.length} of ${N} answered 201 before the kill, ${cutOff} cut off; ${extra.length} faxes committed`);
    state.ids.push(...extra);
});

test('after the kills, every fax reaches exactly one terminal status with exactly one terminal event', async (t) => {
    const key = state.keys.sandbox_key;
    const faxes = await waitAllTerminal(state.d, key, state.ids);
    assert.equal(faxes.length, state.ids.length);
    let interrupted = 0;
    for (const fax of faxes) {
        await checkFax(state.d, key, fax);
        interrupted += fax.attempts.filter((a) => a.error_code === 'interrupted_by_restart').length;
    }
    t.diagnostic(`${faxes.length} faxes, ${interrupted} attempts interrupted_by_restart`);
    assert.ok(interrupted >= 3, `attempts interrupted by the two kills: ${interrupted}`);
    // Outcomes still follow the magic numbers (an interruption only costs a retry).
    const byId = new Map(faxes.map((f) => [f.id, f]));
    for (const c of state.created) {
        const f = byId.get(c.fax.id);
        const interruptedHere = f.attempts.some((a) => a.error_code === 'interrupted_by_restart');
        if (['+15005550005', '+15005550008', '+15556396225'].includes(c.to)) {
            assert.equal(f.status, 'failed', `${c.to}: ${f.status}`);
        } else if (['+15005550002', '+15556392879', '+15005550009', '+15005550003'].includes(c.to)) {
            assert.equal(f.status, 'failed', `${c.to}: ${f.status}`);
        } else if (!interruptedHere || f.attempts.length < f.max_attempts) {
            assert.equal(f.status, 'delivered', `${c.to}: ${JSON.stringify(f)}`);
        }
    }
    // Terminal means terminal: a fax never leaves it (checked again after a moment).
    await new Promise((r) => setTimeout(r, 300));
    for (const f of await listAll(state.d, key, '/v1/faxes')) assert.equal(f.status, byId.get(f.id).status, `${f.id} left its terminal state`);
});

test('after the kills, the balance is consistent: held 0 and available = initial − Σ cost.captured', async () => {
    const key = state.keys.sandbox_key;
    const faxes = await listAll(state.d, key, '/v1/faxes');
    assert.ok(faxes.every((f) => TERMINAL.includes(f.status)));
    await checkBalance(state.d, key, faxes, 'after SIGKILLs');
    // Captured = pages × price for delivered faxes only.
    for (const f of faxes) {
        if (f.status === 'delivered') assert.equal(f.cost.captured, f.pages_sent * 7, `${f.id}: captured ${f.cost.captured} for ${f.pages_sent} pages`);
    }
});

test('another SIGKILL with every fax terminal changes nothing (recovery is idempotent)', async () => {
    const key = state.keys.sandbox_key;
    const faxes = await listAll(state.d, key, '/v1/faxes');
    const events = await listAll(state.d, key, '/v1/events');
    const bal = (await api(state.d.url, key, 'GET', '/v1/environment/balance')).body;
    await killHard(state.d);
    state.d = await start(state.dir);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await listAll(state.d, key, '/v1/faxes'), faxes, 'faxes unchanged');
    assert.deepEqual((await listAll(state.d, key, '/v1/events')).map((e) => e.id), events.map((e) => e.id), 'no new events');
    assert.deepEqual((await api(state.d.url, key, 'GET', '/v1/environment/balance')).body, bal, 'balance unchanged');
});

// ---------------------------------------------------------------------------
// SIGTERM

test('SIGTERM is graceful: calls in flight finish, the daemon exits 0 within shutdown_timeout, nothing is lost', async () => {
    const SHUTDOWN = 3;
    const env = { ...ENV, MINTFAX_SANDBOX_MAX_CHANNELS: '3', MINTFAX_SERVER_SHUTDOWN_TIMEOUT: String(SHUTDOWN) };
    const dir = await newDir();
    let d = await start(dir, env);
    const key = d.keys.sandbox_key;
    const ids = [];
    // Three 1.1 s calls take the channels; six more wait queued.
    for (let i = 0; i < 9; i++) ids.push((await sendPdf(d, key, { to: i % 3 === 2 ? '+15005550007' : '+15005550001' })).id);
    await waitFor(async () => {
        const all = await listAll(d, key, '/v1/faxes');
        return all.filter((f) => ['submitted', 'in_progress'].includes(f.status)).length === 3;
    }, { timeoutMs: 5000, intervalMs: 20, what: 'three calls in flight' });
    const snap = await listAll(d, key, '/v1/faxes');
    const inFlight = snap.filter((f) => ['submitted', 'in_progress'].includes(f.status)).map((f) => f.id);
    const t0 = Date.now();
    const exited = await d.stop({ signal: 'SIGTERM', timeoutMs: (SHUTDOWN + 5) * 1000, keepData: true });
    const took = Date.now() - t0;
    assert.deepEqual(exited, { code: 0, signal: null }, `exit status after SIGTERM\n${d.logTail(20)}`);
    assert.ok(took <= (SHUTDOWN + 1) * 1000, `SIGTERM took ${took} ms (shutdown_timeout ${SHUTDOWN} s)`);

    d = await start(dir, env);
    const after = await listAll(d, key, '/v1/faxes');
    assert.deepEqual(after.map((f) => f.id).sort(), [...ids].sort(), 'nothing lost');
    // The calls in flight at SIGTERM finished during the drain: none was interrupted.
    for (const id of inFlight) {
        const f = after.find((x) => x.id === id);
        assert.ok(TERMINAL.includes(f.status), `${id} was in flight at SIGTERM and is ${f.status} after the restart`);
        assert.ok(!f.attempts.some((a) => a.error_code === 'interrupted_by_restart'), `${id}: interrupted by a graceful stop: ${JSON.stringify(f.attempts)}`);
    }
    const faxes = await waitAllTerminal(d, key, ids);
    for (const f of faxes) {
        assert.equal(f.status, 'delivered', `${f.id}: ${JSON.stringify(f)}`);
        assert.equal(f.attempts.length, 1, `${f.id}: one attempt`);
        await checkFax(d, key, f);
    }
    await checkBalance(d, key, faxes, 'after SIGTERM');
});

test('SIGTERM with a call longer than shutdown_timeout: exits 0 at the bound; the call is interrupted and retried after the restart', async () => {
    const SHUTDOWN = 1;
    const env = { ...ENV, MINTFAX_SERVER_SHUTDOWN_TIMEOUT: String(SHUTDOWN) };
    const dir = await newDir();
    let d = await start(dir, env);
    const key = d.keys.sandbox_key;
    const slow = await sendPdf(d, key, { to: '+15556397569', retries: 1 });   // a 4.5 s call
    await waitFor(async () => ['submitted', 'in_progress'].includes((await getFax(d, key, slow.id)).status),
        { timeoutMs: 5000, intervalMs: 20, what: 'the slow call under way' });
    const t0 = Date.now();
    const exited = await d.stop({ signal: 'SIGTERM', timeoutMs: (SHUTDOWN + 5) * 1000, keepData: true });
    const took = Date.now() - t0;
    assert.deepEqual(exited, { code: 0, signal: null }, `exit status after SIGTERM\n${d.logTail(20)}`);
    assert.ok(took >= SHUTDOWN * 1000 - 100, `it waited for the call up to the bound (${took} ms)`);
    assert.ok(took <= (SHUTDOWN + 1) * 1000, `SIGTERM took ${took} ms (shutdown_timeout ${SHUTDOWN} s)`);

    d = await start(dir, env);
    const f1 = await getFax(d, key, slow.id);
    assert.equal(f1.attempts[0]?.error_code, 'interrupted_by_restart', JSON.stringify(f1.attempts));
    const done = await waitFor(async () => {
        const f = await getFax(d, key, slow.id);
        return TERMINAL.includes(f.status) && f;
    }, { timeoutMs: 20000, intervalMs: 200, what: 'the slow fax terminal' });
    assert.equal(done.status, 'delivered', JSON.stringify(done));
    await checkFax(d, key, done);
    await checkBalance(d, key, [done], 'after a bounded SIGTERM');
});
