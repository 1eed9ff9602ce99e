// SPDX-License-Identifier: Apache-2.0
//
// The mintfax command-line client against a real daemon: send (file and URL
// forms) with --wait, get, list, cancel, resend, balance, topup, --json, and
// the catalogued error output (message, what to do, docs, request id) with
// its exit codes (0 ok, 1 usage/connection, 2 API error, 3 fax failed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDaemon, srcDir, freePort } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';

const cli = path.resolve(process.env.MINTFAX_CLI || path.join(srcDir, 'contrib', 'mintfax', 'mintfax'));
let d;
let tmp;
let pdfPath;

function run(args, { key = d.keys.sandbox_key, url = d.url, timeout = 30000 } = {}) {
    return new Promise((resolve) => {
        execFile(cli, args, { env: { ...process.env, MINTFAX_API_KEY: key, MINTFAX_API_URL: url }, timeout },
            (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    });
}

before(async () => {
    d = await startDaemon({ env: { MINTFAX_SANDBOX_TIME_SCALE: '0.001', MINTFAX_RATELIMIT_REQUESTS: '100000', MINTFAX_RATELIMIT_POLL_INTERVAL: '0' } });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mintfax-cli-'));
    pdfPath = path.join(tmp, 'three.pdf');
    fs.writeFileSync(pdfPath, makePdf({ pages: 3 }));
});

after(async () => {
    await d?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('send --wait --json delivers a 3-page PDF and exits 0', async () => {
    const r = await run(['--json', 'send', '+15005550001', pdfPath, '--tag', 'case=cli', '--wait']);
    assert.equal(r.code, 0, r.stderr);
    const fax = JSON.parse(r.stdout);
    assert.equal(fax.status, 'delivered');
    assert.equal(fax.pages, 3);
    assert.equal(fax.tags.case, 'cli');
});

test('send --wait to a busy number exits 3 with the outcome', async () => {
    const r = await run(['send', '+15005550002', pdfPath, '--retries', '1', '--wait']);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /line_busy/);
});

test('get, list with filters, and resend of a delivered fax', async () => {
    const sent = JSON.parse((await run(['--json', 'send', '+15005550007', pdfPath, '--tag', 'case=list'])).stdout);
    const got = await run(['--json', 'get', sent.id]);
    assert.equal(got.code, 0);
    assert.equal(JSON.parse(got.stdout).id, sent.id);
    const listed = JSON.parse((await run(['--json', 'list', '--tag', 'case=list'])).stdout);
    assert.deepEqual(listed.data.map((f) => f.id), [sent.id]);
    const human = await run(['get', sent.id]);
    assert.equal(human.code, 0);
    assert.match(human.stdout, new RegExp(sent.id));
    // Resend once it has finished, to another number.
    await run(['send', '+15005550001', pdfPath, '--wait']);
    const re = await run(['--json', 'resend', sent.id, '--to', '+15005550001']);
    assert.equal(re.code, 0, re.stderr);
    assert.equal(JSON.parse(re.stdout).resent_from, sent.id);
});

test('cancel of a slow fax fails it with cancelled; a second cancel is a catalogued 409', async () => {
    const sent = JSON.parse((await run(['--json', 'send', '+15556397569', pdfPath])).stdout);
    const c = await run(['--json', 'cancel', sent.id]);
    assert.equal(c.code, 0, c.stderr);
    const fax = JSON.parse(c.stdout);
    assert.equal(fax.status, 'failed');
    assert.equal(fax.error_code, 'cancelled');
    const again = await run(['cancel', sent.id]);
    assert.equal(again.code, 2);
    assert.match(again.stderr + again.stdout, /^error: /m);
    assert.match(again.stderr + again.stdout, /docs\/errors\/invalid_state/);
    assert.match(again.stderr + again.stdout, /req_[0-9A-Z]{26}/);
});

test('balance and topup', async () => {
    const before = JSON.parse((await run(['--json', 'balance'])).stdout);
    const t = await run(['--json', 'topup', '250']);
    assert.equal(t.code, 0, t.stderr);
    const after = JSON.parse((await run(['--json', 'balance'])).stdout);
    assert.equal(after.available, before.available + 250);
});

test('API errors print the catalog message, action and docs link and exit 2', async () => {
    const r = await run(['send', 'not-a-number', pdfPath]);
    assert.equal(r.code, 2);
    const out = r.stderr + r.stdout;
    assert.match(out, /error: /);
    assert.match(out, /to/);
    assert.match(out, /validation_failed/);
    const bad = await run(['balance'], { key: 'mfx_test_wrongwrongwrongwrongwrongwrong' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr + bad.stdout, /unauthenticated/);
});

test('an unreachable server is a connection error (exit 1) naming the URL', async () => {
    const port = await freePort();
    const r = await run(['balance'], { url: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
});
