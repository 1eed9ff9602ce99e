// SPDX-License-Identifier: Apache-2.0
//
// The first README command prints a ready-to-paste `printf ... > hello.pdf`
// and `curl` that send a sandbox fax. This runs exactly the printf that
// contrib/scripts/run-dev prints and sends the file it makes, so the example a
// new user pastes first keeps working (the renderer is strict about PDFs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { api, startDaemon, srcDir, waitFor } from './lib/daemon.mjs';

let d;
let tmp;

before(async () => {
    d = await startDaemon({ env: { MINTFAX_SANDBOX_TIME_SCALE: '0.001', MINTFAX_RATELIMIT_POLL_INTERVAL: '0' } });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mintfax-readme-'));
});

after(async () => {
    await d?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the hello.pdf printed by contrib/scripts/run-dev is delivered as a 1-page sandbox fax', async () => {
    const script = fs.readFileSync(path.join(srcDir, 'contrib', 'scripts', 'run-dev'), 'utf8');
    const line = script.split('\n').map((l) => l.trim()).find((l) => l.startsWith('printf ') && l.endsWith('> hello.pdf'));
    assert.ok(line, 'run-dev prints a printf that writes hello.pdf');
    execFileSync('bash', ['-c', line], { cwd: tmp });
    const pdf = fs.readFileSync(path.join(tmp, 'hello.pdf'));
    const form = new FormData();
    form.append('to', '+15005550001');
    form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'hello.pdf');
    const r = await api(d.url, d.keys.sandbox_key, 'POST', '/v1/faxes', form);
    assert.equal(r.status, 201, r.text.slice(0, 300));
    const fax = await waitFor(async () => {
        const g = await api(d.url, d.keys.sandbox_key, 'GET', `/v1/faxes/${r.body.id}`);
        return ['delivered', 'failed'].includes(g.body.status) && g.body;
    }, { what: 'the hello fax to end' });
    assert.equal(fax.status, 'delivered', JSON.stringify(fax).slice(0, 300));
    assert.equal(fax.pages, 1);
    assert.equal(fax.pages_sent, 1);
});
