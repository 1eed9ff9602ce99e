// SPDX-License-Identifier: Apache-2.0
//
// Stopping mintfaxd during a real SIP fax call (issue 4): SIGTERM lets the
// call finish within [server] shutdown_timeout, or hangs it up cleanly (BYE)
// and the next start retries the fax; SIGKILL mid-call leaves the attempt
// open, and the restarted daemon closes it as interrupted_by_restart and
// retries. Every fax ends delivered, with exactly one terminal event.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { api } from './lib/daemon.mjs';
import { eventTypes, restart, rig, send, stopAll, terminal } from './lib/siprig.mjs';

after(stopAll);

const tmp = () => fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-sipstop-'));

async function midCall(r) {
    await r.peer.waitEvent((e) => e.event === 'page' && e.pages === 1, 120000);
}

async function assertRetriedAndDelivered(r, id) {
    const done = await terminal(r, id);
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
    assert.equal(done.attempts.length, 2, JSON.stringify(done.attempts));
    assert.equal(done.attempts[0].error_code, 'interrupted_by_restart');
    assert.equal(done.attempts[1].error_code, null);
    const types = await eventTypes(r, id);
    assert.equal(types.filter((t) => t === 'fax.delivered').length, 1, types.join(','));
    assert.equal(types.filter((t) => t === 'fax.failed').length, 0, types.join(','));
}

test('SIGTERM mid-call: the call finishes before the daemon exits', async () => {
    const r = await rig({ dataDir: await tmp() });
    const fax = await send(r, '+15551230101', { pages: 2, retries: 1 });
    await midCall(r);
    const exit = await r.d.stop({ signal: 'SIGTERM', timeoutMs: 120000, keepData: true });
    assert.equal(exit.code, 0);
    await restart(r);
    const done = await terminal(r, fax.id, 10000);
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
    assert.equal(done.attempts.length, 1);
});

test('SIGTERM with a short shutdown_timeout: BYE, then the next start retries', async () => {
    const r = await rig({ dataDir: await tmp(), env: { MINTFAX_SERVER_SHUTDOWN_TIMEOUT: '0.5' } });
    const fax = await send(r, '+15551230102', { pages: 3, retries: 1 });
    await midCall(r);
    const exit = await r.d.stop({ signal: 'SIGTERM', keepData: true });
    assert.equal(exit.code, 0);
    await r.peer.waitEvent((e) => e.event === 'bye' && e.remote, 10000);
    await restart(r);
    await assertRetriedAndDelivered(r, fax.id);
});

test('SIGKILL mid-call: the restarted daemon fails the attempt and retries', async () => {
    const r = await rig({ dataDir: await tmp() });
    const fax = await send(r, '+15551230103', { pages: 3, retries: 1 });
    await midCall(r);
    await r.d.stop({ signal: 'SIGKILL', keepData: true });
    await restart(r);
    await assertRetriedAndDelivered(r, fax.id);
    const bal = await api(r.d.url, r.key, 'GET', '/v1/environment/balance');
    assert.equal(bal.body.held, 0, JSON.stringify(bal.body));
});
