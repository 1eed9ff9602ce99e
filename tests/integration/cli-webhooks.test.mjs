// SPDX-License-Identifier: Apache-2.0
//
// The webhook commands of the mintfax command-line client against a real
// daemon: `mintfax webhooks verify` on requests captured by a loopback
// receiver (verified; tampered body, stale timestamp, wrong or bad secret and
// a missing header each named, exit 1; both secrets during a rotation; the
// Standard Webhooks test vector), and `mintfax events tail` (started, a fax
// sent, its events printed one line each in order, then SIGINT ends it with
// status 0; --json, --type and --since).
//
// Environment: MINTFAXD, MINTFAX_CLI (the binaries), MFX_SRCDIR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, srcDir, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';
import { startReceiver } from './lib/receiver.mjs';

const cli = path.resolve(process.env.MINTFAX_CLI || path.join(srcDir, 'contrib', 'mintfax', 'mintfax'));
let d;
let r;
let tmp;
const children = new Set();

before(async () => {
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
            MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'true',
        },
    });
    r = await startReceiver();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mintfax-cli-webhooks-'));
});

after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await d?.stop();
    await r?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the CLI to completion; input goes to its stdin. */
function run(args, { key, input, timeout = 30000 } = {}) {
    return new Promise((resolve) => {
        const env = { ...process.env, MINTFAX_API_URL: d.url };
        if (key) env.MINTFAX_API_KEY = key;
        else delete env.MINTFAX_API_KEY;
        const child = execFile(cli, args, { env, timeout }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
        if (input !== undefined) child.stdin.end(input);
    });
}

let envCount = 0;
async function newEnv() {
    const res = await api(d.url, d.keys.account_key, 'POST', '/v1/workspaces', { name: `cli webhooks ${++envCount}` });
    assert.equal(res.status, 201, res.text);
    return res.body.keys.find((k) => k.environment === 'sandbox').key;
}
async function sendFax(key, to) {
    const form = new FormData();
    form.append('file', new Blob([makePdf()], { type: 'application/pdf' }), 'tail.pdf');
    form.append('to', to);
    const res = await api(d.url, key, 'POST', '/v1/faxes', form);
    assert.equal(res.status, 201, res.text);
    return res.body;
}

/** A captured request in raw HTTP form, as `webhooks verify` reads it. */
function rawRequest(rec, { requestLine = true, eol = '\r\n', headers = {}, body = rec.body, drop = [] } = {}) {
    const h = { ...rec.headers, ...headers };
    const lines = [];
    if (requestLine) lines.push(`${rec.method} ${rec.path} HTTP/1.1`);
    for (const [k, v] of Object.entries(h)) if (!drop.includes(k)) lines.push(`${k}: ${v}`);
    return `${lines.join(eol)}${eol}${eol}${body}`;
}
function save(name, text) {
    const p = path.join(tmp, name);
    fs.writeFileSync(p, text);
    return p;
}

/** One endpoint at the receiver and one captured delivery (a top-up). */
let captured;
async function capture() {
    if (captured) return captured;
    const key = await newEnv();
    const ep = await api(d.url, key, 'POST', '/v1/webhooks', { url: `${r.url}/verify`, events: ['balance.topup'] });
    assert.equal(ep.status, 201, ep.text);
    await api(d.url, key, 'POST', '/v1/environment/topups', { amount: 10 });
    const rec = await r.waitFor((reqs) => reqs.find((x) => x.path === '/verify'), { what: 'a delivery to capture' });
    captured = { key, ep: ep.body, rec };
    return captured;
}

// ---------------------------------------------------------------------------
// webhooks verify

test('webhooks verify: a captured delivery verifies (file with request line, CRLF) and exits 0', async () => {
    const { ep, rec } = await capture();
    const file = save('ok.http', rawRequest(rec));
    const res = await run(['webhooks', 'verify', '--secret', ep.signing_secret, file]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^verified/);
    assert.match(res.stdout, new RegExp(rec.headers['webhook-id']));
});

test('webhooks verify: stdin, LF line ends, no request line, and a newline an editor added after the body', async () => {
    const { ep, rec } = await capture();
    const text = `${rawRequest(rec, { requestLine: false, eol: '\n' })}\n`;
    assert.ok(rec.headers['content-length'], 'the capture has Content-Length');
    const res = await run(['webhooks', 'verify', '--secret', ep.signing_secret], { input: text });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^verified/);
    // The secret may also come from the environment.
    const env = await new Promise((resolve) => {
        const child = execFile(cli, ['webhooks', 'verify', '-'], { env: { ...process.env, MINTFAX_WEBHOOK_SECRET: ep.signing_secret } },
            (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
        child.stdin.end(text);
    });
    assert.equal(env.code, 0, env.stderr);
});

test('webhooks verify: a tampered body is a signature mismatch (exit 1)', async () => {
    const { ep, rec } = await capture();
    const body = rec.body.replace('"topup_amount":10', '"topup_amount":10000');
    assert.notEqual(body, rec.body);
    const file = save('tampered.http', rawRequest(rec, { body, headers: { 'content-length': String(Buffer.byteLength(body)) } }));
    const res = await run(['webhooks', 'verify', '--secret', ep.signing_secret, file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /signature mismatch/);
    assert.doesNotMatch(res.stdout, /verified/);
});

test('webhooks verify: a stale timestamp is named (exit 1); --tolerance and --now judge it', async () => {
    const { ep, rec } = await capture();
    const file = save('stale.http', rawRequest(rec));
    const ts = Number(rec.headers['webhook-timestamp']);
    const stale = await run(['webhooks', 'verify', '--secret', ep.signing_secret, '--now', String(ts + 301), file]);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /stale timestamp/);
    const wide = await run(['webhooks', 'verify', '--secret', ep.signing_secret, '--now', String(ts + 301), '--tolerance', '600', file]);
    assert.equal(wide.code, 0, wide.stderr);
    const future = await run(['webhooks', 'verify', '--secret', ep.signing_secret, '--now', String(ts - 400), file]);
    assert.equal(future.code, 1);
    assert.match(future.stderr, /timestamp too new/);
});

test('webhooks verify: a wrong secret is a signature mismatch, a malformed one a bad secret (exit 1)', async () => {
    const { rec } = await capture();
    const file = save('secret.http', rawRequest(rec));
    const wrong = await run(['webhooks', 'verify', '--secret', `whsec_${crypto.randomBytes(32).toString('base64')}`, file]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /signature mismatch/);
    const bad = await run(['webhooks', 'verify', '--secret', 'whsec_not*base64', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /bad secret/);
});

test('webhooks verify: a missing header is named (exit 1)', async () => {
    const { ep, rec } = await capture();
    for (const h of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        const file = save(`missing-${h}.http`, rawRequest(rec, { drop: [h] }));
        const res = await run(['webhooks', 'verify', '--secret', ep.signing_secret, file]);
        assert.equal(res.code, 1, `without ${h}`);
        assert.match(res.stderr, new RegExp(`missing header: ${h}`));
    }
});

test('webhooks verify: during a rotation both secrets verify the same delivery', async () => {
    const { key, ep } = await capture();
    const rot = await api(d.url, key, 'POST', `/v1/webhooks/${ep.id}/rotate_secret`);
    assert.equal(rot.status, 200, rot.text);
    const before = r.requests.length;
    await api(d.url, key, 'POST', '/v1/environment/topups', { amount: 11 });
    const rec = await r.waitFor((reqs) => reqs.slice(before).find((x) => x.path === '/verify'), { what: 'a delivery after the rotation' });
    const file = save('rotated.http', rawRequest(rec));
    for (const secret of [ep.signing_secret, rot.body.signing_secret]) {
        const res = await run(['webhooks', 'verify', '--secret', secret, file]);
        assert.equal(res.code, 0, res.stderr);
        assert.match(res.stdout, /verified.*signature [12] of 2/);
    }
});

test('webhooks verify: the Standard Webhooks specification test vector verifies', async () => {
    const text = [
        'webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp: 1614265330',
        'webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
        '',
        '{"test": 2432232314}',
    ].join('\n');
    const res = await run(['webhooks', 'verify', '--secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '--now', '1614265330'], { input: text });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^verified/);
});

// ---------------------------------------------------------------------------
// events tail

/** Starts `mintfax [pre] events tail [args]`; resolves once it has polled once. */
async function startTail(key, args = [], pre = []) {
    const polls = () => (d.logTail(100000).match(/ GET \/v1\/events 200 /g) || []).length;
    const before = polls();
    const child = spawn(cli, [...pre, 'events', 'tail', ...args], {
        env: { ...process.env, MINTFAX_API_URL: d.url, MINTFAX_API_KEY: key },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    const out = { stdout: '', stderr: '', code: undefined, signal: undefined };
    child.stdout.on('data', (c) => { out.stdout += c; });
    child.stderr.on('data', (c) => { out.stderr += c; });
    out.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
        out.code = code;
        out.signal = signal;
        children.delete(child);
        resolve();
    }));
    await waitFor(() => polls() > before || out.code !== undefined, { what: 'the first poll of events tail' });
    assert.equal(out.code, undefined, `events tail exited at once: ${out.stderr}`);
    return { child, out };
}
async function stopTail({ child, out }) {
    child.kill('SIGINT');
    await out.exited;
    return out;
}
const lines = (text) => text.split('\n').filter(Boolean);

test('events tail prints a fax\'s events as they happen, one line each, and SIGINT ends it with status 0', async () => {
    const key = await newEnv();
    await api(d.url, key, 'POST', '/v1/environment/topups', { amount: 5 });   // history: not printed
    const tail = await startTail(key);
    const fax = await sendFax(key, '+15005550004');   // fails once, then delivered
    await waitFor(() => tail.out.stdout.includes('fax.delivered'), { timeoutMs: 15000, what: 'fax.delivered in the output' });
    const out = await stopTail(tail);
    assert.equal(out.code, 0, `exit ${out.code} ${out.signal}: ${out.stderr}`);
    const got = lines(out.stdout);
    assert.deepEqual(got.map((l) => l.split(/\s+/)[1]),
        ['fax.queued', 'fax.sending', 'fax.retry_scheduled', 'fax.sending', 'fax.delivered'], out.stdout);
    for (const l of got) {
        assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+fax\.\S+\s+evt_[0-9A-Z]{26}\s+fax_[0-9A-Z]{26} \S+/);
        assert.ok(l.includes(fax.id));
    }
    assert.match(got[2], /queued after line_quality, next attempt at /);
    assert.match(got[4], /delivered$/);
    const ids = got.map((l) => l.split(/\s+/)[2]);
    assert.deepEqual(ids, [...ids].sort(), 'oldest first');
    assert.equal(new Set(ids).size, ids.length, 'each event once');
});

test('events tail --json prints each envelope as one JSON line; --type filters', async () => {
    const key = await newEnv();
    const all = await startTail(key, [], ['--json']);
    const delivered = await startTail(key, ['--type', 'fax.delivered', '--json']);
    const fax = await sendFax(key, '+15005550001');
    await waitFor(() => all.out.stdout.includes('"fax.delivered"') && delivered.out.stdout.includes('"fax.delivered"'),
        { timeoutMs: 15000, what: 'fax.delivered from both tails' });
    const a = await stopTail(all);
    const b = await stopTail(delivered);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const events = lines(a.stdout).map((l) => JSON.parse(l));
    assert.deepEqual(events.map((e) => e.type), ['fax.queued', 'fax.sending', 'fax.delivered']);
    for (const e of events) {
        assert.equal(e.object, 'event');
        assert.equal(e.data.object.id, fax.id);
        const logged = await api(d.url, key, 'GET', `/v1/events/${e.id}`);
        assert.deepEqual(e, logged.body, 'the envelope as the API has it');
    }
    assert.deepEqual(lines(b.stdout).map((l) => JSON.parse(l).type), ['fax.delivered']);
});

test('events tail --since prints the events after that one first, then follows', async () => {
    const key = await newEnv();
    await api(d.url, key, 'POST', '/v1/environment/topups', { amount: 1 });
    const first = (await api(d.url, key, 'GET', '/v1/events?per_page=1')).body.data[0];
    for (const amount of [2, 3]) await api(d.url, key, 'POST', '/v1/environment/topups', { amount });
    const tail = await startTail(key, ['--since', first.id]);
    await waitFor(() => lines(tail.out.stdout).length >= 2, { what: 'the two later top-ups' });
    await api(d.url, key, 'POST', '/v1/environment/topups', { amount: 4 });
    await waitFor(() => lines(tail.out.stdout).length >= 3, { what: 'the top-up made while tailing' });
    const out = await stopTail(tail);
    assert.equal(out.code, 0, out.stderr);
    const got = lines(out.stdout);
    assert.equal(got.length, 3, out.stdout);
    assert.deepEqual(got.map((l) => l.match(/\+(\d+)/)[1]), ['2', '3', '4']);
    for (const l of got) assert.match(l, /balance\.topup\s+evt_\S+\s+balance \+\d+ available \d+ held \d+/);
    const bad = await run(['events', 'tail', '--since', 'yesterday'], { key });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--since takes an event id/);
});
