// SPDX-License-Identifier: Apache-2.0
//
// The audit commands of the mintfax command-line client against a real
// daemon: `mintfax audit export` saves the audit log of an environment
// (byte for byte what GET /v1/workspace/audit serves, paged past 2,000
// entries), `mintfax audit verify` checks the copy (exit 0, "verified: N
// entries, last hash H"), then finds, at the right line and seq with exit 1:
// an entry whose details were edited, a deleted line, two swapped lines, a
// line edited and re-hashed to match, and a malformed line. Partial exports
// (--since) verify with --from-seq and --prev-hash.
//
// Environment: MINTFAXD, MINTFAX_CLI (the binaries), MFX_SRCDIR.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, srcDir, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const cli = path.resolve(process.env.MINTFAX_CLI || path.join(srcDir, 'contrib', 'mintfax', 'mintfax'));
const PAGE = 2000;   // entries `audit export` asks for per request (contrib/mintfax/audit.c)
let d;
let tmp;

before(async () => {
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_REQUESTS: '1000000',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
        },
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mintfax-cli-audit-'));
});

after(async () => {
    await d?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs the CLI to completion; input goes to its stdin. */
function run(args, { key, input, timeout = 60000 } = {}) {
    return new Promise((resolve) => {
        const env = { ...process.env, MINTFAX_API_URL: d.url };
        if (key) env.MINTFAX_API_KEY = key;
        else delete env.MINTFAX_API_KEY;
        const child = execFile(cli, args, { env, timeout, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) =>
            resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
        if (input !== undefined) child.stdin.end(input);
    });
}

let envCount = 0;
/** A new workspace's sandbox key, so each test has a log of its own. */
async function newEnv() {
    const res = await api(d.url, d.keys.account_key, 'POST', '/v1/workspaces', { name: `cli audit ${++envCount}` });
    assert.equal(res.status, 201, res.text);
    return { key: res.body.keys.find((k) => k.environment === 'sandbox').key, ws: res.body.id };
}

async function ok(res, what) {
    assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.body;
}

/** Some of everything the audit log records, in the environment of key. */
async function activity(key, ws) {
    const call = (method, p, body) => api(d.url, key, method, p, body);
    await ok(await call('PATCH', '/v1/environment/settings', { default_retries: 2, retention_days: 30 }), 'settings');
    await ok(await call('POST', '/v1/environment/topups', { amount: 100 }), 'topup');
    const hook = await ok(await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/mintfax' }), 'webhook');
    await ok(await call('PATCH', `/v1/webhooks/${hook.id}`, { description: 'audit test' }), 'webhook update');
    await ok(await call('POST', `/v1/webhooks/${hook.id}/rotate_secret`), 'rotate');
    await ok(await call('POST', '/v1/workspace/baa', {
        signer_name: 'Dr. Jane Roe', signer_title: 'Privacy Officer', organization: 'ACME Clinic', version: '2025-01',
    }), 'baa');
    await ok(await api(d.url, d.keys.account_key, 'POST', `/v1/workspaces/${ws}/keys`, { environment: 'sandbox', name: 'ci' }), 'key');
    const ids = [];
    for (const to of ['+15005550001', '+15005550005']) {
        const form = new FormData();
        form.append('file', new Blob([makePdf()], { type: 'application/pdf' }), 'audit.pdf');
        form.append('to', to);
        ids.push((await ok(await call('POST', '/v1/faxes', form), 'fax')).id);
    }
    const busy = new FormData();
    busy.append('file', new Blob([makePdf()], { type: 'application/pdf' }), 'busy.pdf');
    busy.append('to', '+15005550002');
    busy.append('retries', '10');
    const b = await ok(await call('POST', '/v1/faxes', busy), 'busy fax');
    await ok(await call('POST', `/v1/faxes/${b.id}/cancel`), 'cancel');
    for (const id of ids) {
        await waitFor(async () => {
            const f = await call('GET', `/v1/faxes/${id}`);
            return ['delivered', 'failed'].includes(f.body.status);
        }, { timeoutMs: 20000, what: `fax ${id} to end` });
        await ok(await call('DELETE', `/v1/faxes/${id}`), 'delete');
    }
    await ok(await call('DELETE', `/v1/webhooks/${hook.id}`), 'webhook delete');
}

const hashOf = (line) => JSON.parse(line).hash;
const linesOf = (text) => text.split('\n').slice(0, -1);
const joinLines = (lines) => `${lines.join('\n')}\n`;

/** Re-hashes line i after an edit, as a forger would (the chain after it is untouched). */
function rehash(lines, i) {
    const line = lines[i];
    const cut = line.lastIndexOf(',"hash":"');
    const prev = JSON.parse(line).prev_hash;
    const hash = crypto.createHash('sha256').update(prev).update(`${line.slice(0, cut)}}`).digest('hex');
    return `${line.slice(0, cut)},"hash":"${hash}"}`;
}

async function verifyText(text, args = [], name = 'audit.jsonl') {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, text);
    return run(['audit', 'verify', ...args, file]);
}

test('audit export saves the log as served; audit verify accepts it, from a file or stdin', { timeout: 120000 }, async () => {
    const { key, ws } = await newEnv();
    await activity(key, ws);
    const served = await api(d.url, key, 'GET', '/v1/workspace/audit');
    assert.equal(served.status, 200);
    const exported = await run(['audit', 'export'], { key });
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, served.text, 'the export is the served log, byte for byte');
    const lines = linesOf(exported.stdout);
    assert.ok(lines.length >= 15, `a log of some length (${lines.length} lines)`);
    const actions = new Set(lines.map((l) => JSON.parse(l).action));
    for (const a of ['settings.updated', 'balance.topup', 'webhook_endpoint.created', 'webhook_endpoint.updated',
        'webhook_endpoint.secret_rotated', 'webhook_endpoint.deleted', 'baa.signed', 'key.created', 'fax.created',
        'fax.cancelled', 'fax.deleted']) {
        assert.ok(actions.has(a), `the log has ${a}`);
    }

    const last = hashOf(lines.at(-1));
    const want = `verified: ${lines.length} entries, last hash ${last}\n`;
    const v = await verifyText(exported.stdout);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, want);
    const stdin = await run(['audit', 'verify', '-'], { input: exported.stdout });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.equal(stdin.stdout, want);
    const noArg = await run(['audit', 'verify'], { input: exported.stdout });
    assert.equal(noArg.stdout, want, 'no FILE reads stdin');
    // CRLF line ends and a blank line at the end change nothing.
    const crlf = await verifyText(`${lines.join('\r\n')}\r\n\n`);
    assert.equal(crlf.code, 0, crlf.stderr);
    assert.equal(crlf.stdout, want);

    // --action: only that action; not a chain.
    const deleted = await run(['audit', 'export', '--action', 'fax.deleted'], { key });
    assert.equal(deleted.code, 0, deleted.stderr);
    const dl = linesOf(deleted.stdout).map((l) => JSON.parse(l));
    assert.equal(dl.length, 2);
    assert.ok(dl.every((e) => e.action === 'fax.deleted' && e.details.reason === 'deleted_by_request'));
});

test('audit verify names the first broken line: edited, deleted, swapped, re-hashed, malformed', { timeout: 120000 }, async () => {
    const { key, ws } = await newEnv();
    await activity(key, ws);
    const exported = await run(['audit', 'export'], { key });
    assert.equal(exported.code, 0, exported.stderr);
    const lines = linesOf(exported.stdout);
    const n = lines.length;
    const k = Math.floor(n / 2);   // a line in the middle, 1-based line k+1 is lines[k]
    const seqAt = (i) => JSON.parse(lines[i]).seq;
    assert.equal(seqAt(k), k + 1, 'line numbers and seqs agree in a whole log');
    const expectBroken = (r, lineNo, seq, kind, what) => {
        assert.equal(r.code, 1, `${what}: exit 1 (stdout: ${r.stdout}, stderr: ${r.stderr})`);
        assert.equal(r.stdout, '', `${what}: nothing on stdout`);
        const first = r.stderr.split('\n')[0];
        assert.equal(first.startsWith(`not verified: line ${lineNo}${seq ? ` (seq ${seq})` : ''}: ${kind}: `), true,
            `${what}: "${first}"`);
    };

    // An entry's details edited (a topup's amount, or whatever is on that line).
    const edited = [...lines];
    const entry = JSON.parse(edited[k]);
    const detailsText = JSON.stringify(entry.details);
    assert.ok(edited[k].includes(`"details":${detailsText}`), 'details as served');
    edited[k] = edited[k].replace(`"details":${detailsText}`, `"details":${JSON.stringify({ ...entry.details, note: 'edited' })}`);
    expectBroken(await verifyText(joinLines(edited)), k + 1, k + 1, 'changed entry', 'edited details');
    // A value changed in place, the length kept.
    const flipped = [...lines];
    flipped[k] = flipped[k].replace(/"at":"(\d)/, (m, dgt) => `"at":"${dgt === '2' ? '3' : '2'}`);
    assert.notEqual(flipped[k], lines[k]);
    expectBroken(await verifyText(joinLines(flipped)), k + 1, k + 1, 'changed entry', 'edited time');

    // A line deleted: the next one is found where it was.
    const removed = lines.filter((_, i) => i !== k);
    const r1 = await verifyText(joinLines(removed));
    expectBroken(r1, k + 1, k + 2, 'missing or inserted entry', 'deleted line');
    assert.match(r1.stderr, new RegExp(`entry ${k + 1} is missing`));
    // The first line deleted.
    expectBroken(await verifyText(joinLines(lines.slice(1))), 1, 2, 'missing or inserted entry', 'deleted first line');

    // Two lines swapped.
    const swapped = [...lines];
    [swapped[k], swapped[k + 1]] = [swapped[k + 1], swapped[k]];
    expectBroken(await verifyText(joinLines(swapped)), k + 1, k + 2, 'missing or inserted entry', 'swapped lines');
    // A line repeated.
    const repeated = [...lines.slice(0, k + 1), lines[k], ...lines.slice(k + 1)];
    expectBroken(await verifyText(joinLines(repeated)), k + 2, k + 1, 'missing or inserted entry', 'repeated line');

    // A line edited and re-hashed: it checks on its own, the next line's link does not.
    const forged = [...lines];
    forged[k] = rehash([forged[k].replace(`"seq":${k + 1},`, `"seq":${k + 1},"x":1,`)], 0);
    assert.notEqual(forged[k], lines[k]);
    expectBroken(await verifyText(joinLines(forged)), k + 2, k + 2, 'wrong prev_hash', 're-hashed line');

    // Malformed lines.
    const cut = [...lines];
    cut[k] = cut[k].slice(0, -10);
    expectBroken(await verifyText(joinLines(cut)), k + 1, 0, 'malformed line', 'truncated line');
    const junk = [...lines.slice(0, k), 'not json at all', ...lines.slice(k)];
    expectBroken(await verifyText(joinLines(junk)), k + 1, 0, 'malformed line', 'inserted junk');
    const blank = [...lines.slice(0, k), '', ...lines.slice(k)];
    expectBroken(await verifyText(joinLines(blank)), k + 1, 0, 'malformed line', 'blank line inside');

    // The untouched copy still verifies.
    const good = await verifyText(exported.stdout);
    assert.equal(good.code, 0, good.stderr);
});

test('a partial export (--since) verifies with --from-seq and --prev-hash', { timeout: 120000 }, async () => {
    const { key, ws } = await newEnv();
    await activity(key, ws);
    const whole = linesOf((await run(['audit', 'export'], { key })).stdout);
    const n = 5;
    const part = await run(['audit', 'export', '--since', String(n)], { key });
    assert.equal(part.code, 0, part.stderr);
    assert.equal(part.stdout, joinLines(whole.slice(n)), 'since=N: the entries after N');
    const anchor = hashOf(whole[n - 1]);
    const v = await verifyText(part.stdout, ['--from-seq', String(n + 1), '--prev-hash', anchor]);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `verified: ${whole.length - n} entries, last hash ${hashOf(whole.at(-1))}\n`);
    // Upper-case hex is accepted for --prev-hash.
    const upper = await verifyText(part.stdout, ['--from-seq', String(n + 1), '--prev-hash', anchor.toUpperCase()]);
    assert.equal(upper.code, 0, upper.stderr);
    // Without the anchor it is not a whole log, and says how to check it.
    const bare = await verifyText(part.stdout);
    assert.equal(bare.code, 1);
    assert.match(bare.stderr, new RegExp(`^not verified: line 1 \\(seq ${n + 1}\\): missing or inserted entry: .*--from-seq ${n + 1} --prev-hash`));
    // The wrong anchor.
    const wrong = await verifyText(part.stdout, ['--from-seq', String(n + 1), '--prev-hash', hashOf(whole[n - 2])]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, new RegExp(`^not verified: line 1 \\(seq ${n + 1}\\): wrong prev_hash: `));
    // Usage errors.
    const noHash = await verifyText(part.stdout, ['--from-seq', String(n + 1)]);
    assert.equal(noHash.code, 1);
    assert.match(noHash.stderr, /--prev-hash/);
    const badHash = await verifyText(part.stdout, ['--from-seq', String(n + 1), '--prev-hash', 'abc']);
    assert.equal(badHash.code, 1);
    assert.match(badHash.stderr, /64 hex digits/);
    // An empty export (nothing after the last entry) verifies as 0 entries.
    const empty = await run(['audit', 'export', '--since', String(whole.length)], { key });
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, '');
    const e = await verifyText('', ['--from-seq', String(whole.length + 1), '--prev-hash', hashOf(whole.at(-1))]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout, `verified: 0 entries, last hash ${hashOf(whole.at(-1))}\n`);
});

test(`audit export pages through a log longer than ${PAGE} entries`, { timeout: 180000 }, async () => {
    const { key } = await newEnv();
    const total = PAGE + 150;
    let next = 0;
    const worker = async () => {
        while (next < total) {
            next++;
            const r = await api(d.url, key, 'POST', '/v1/environment/topups', { amount: 1 });
            assert.equal(r.status, 201, r.text);
        }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const served = await api(d.url, key, 'GET', '/v1/workspace/audit');
    const exported = await run(['audit', 'export'], { key });
    assert.equal(exported.code, 0, exported.stderr);
    const lines = linesOf(exported.stdout);
    assert.ok(lines.length >= total, `${lines.length} entries`);
    assert.equal(exported.stdout, served.text, 'the pages joined are the whole log, once each');
    const v = await verifyText(exported.stdout, [], 'long.jsonl');
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout, `verified: ${lines.length} entries, last hash ${hashOf(lines.at(-1))}\n`);
});

test('audit export reports API errors; the commands check their arguments', async () => {
    const noKey = await run(['audit', 'export']);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /MINTFAX_API_KEY/);
    const account = await run(['audit', 'export'], { key: d.keys.account_key });
    assert.equal(account.code, 2, 'an API error');
    assert.match(account.stderr, /workspace key|account key/i);
    const badSince = await run(['audit', 'export', '--since', 'yesterday'], { key: d.keys.sandbox_key });
    assert.equal(badSince.code, 2);
    assert.match(badSince.stderr, /since/);
    const unknown = await run(['audit', 'verify', '--colour', 'x']);
    assert.equal(unknown.code, 1);
    const missing = await run(['audit', 'verify', path.join(tmp, 'no-such-file')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read/);
    const sub = await run(['audit', 'shred']);
    assert.equal(sub.code, 1);
    const help = await run(['help', 'audit']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /audit verify/);
    assert.match(help.stdout, /--from-seq/);
});
