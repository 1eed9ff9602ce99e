// SPDX-License-Identifier: Apache-2.0
//
// Real fax over SIP (issue 4): a live key places a real SIP call from
// mintfaxd (sofia-sip on its thread, our RTP, spandsp's fax sender) to
// mintfax-peer on loopback (the same modules as a UAS, spandsp receiving),
// and the pages go over G.711 audio.
//
// - Delivery over PCMU and PCMA with ECM: the pages the peer saved are
//   pixel-identical to the pages mintfax rendered (GET /v1/faxes/{id}/image),
//   compared decoded by tests/tools/pagecmp; attempts[] says g711, 200, the
//   bit rate, ECM and the peer's CSID.
// - Each behaviour of the peer maps to its documented status, error_code,
//   retries and events: busy, decline, no answer (ring timeout + CANCEL),
//   slow answer, silence and speech (not a fax machine), a hang-up after
//   page 1 (pages_sent says how far it got).
// - A trunk with digest credentials registers and calls a peer that
//   challenges both (401).
// - 1 % loss and 20 ms jitter on the peer's RTP: an ECM fax still delivers.
//
// Both ends run the media clock faster than real time ([media] speed and
// --speed; spandsp counts samples, so the two stay consistent).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';
import { api, daemonPath, freePort, waitFor } from './lib/daemon.mjs';
import { assertSamePages, eventTypes, rig, send, stopAll, terminal } from './lib/siprig.mjs';

after(stopAll);

async function deliveredCase(peerArgs, codec) {
    const r = await rig({ peerArgs });
    const fax = await send(r, '+15551230001');
    const done = await terminal(r, fax.id);
    assert.equal(done.status, 'delivered', JSON.stringify(done));
    assert.equal(done.pages, 3);
    const a = done.attempts[0];
    assert.equal(a.transport, 'g711');
    assert.equal(a.sip_status, 200);
    assert.equal(a.ecm, true);
    assert.equal(a.pages_sent, 3);
    assert.ok(a.bit_rate >= 9600, `bit rate ${a.bit_rate}`);
    assert.equal(a.remote_csid, 'mintfax-peer');
    const rx = await r.peer.waitEvent((e) => e.event === 'received');
    assert.equal(rx.completion, 0, JSON.stringify(rx));
    assert.equal(rx.pages, 3);
    assert.equal(rx.codec, codec);
    const cmp = await assertSamePages(r, fax.id, rx.file);
    assert.equal(cmp.pages_b, 3);
    const types = await eventTypes(r, fax.id);
    assert.ok(types.includes('fax.sending') && types.includes('fax.delivered'), types.join(','));
}

test('a 3-page fax over G.711 PCMU (ECM) arrives pixel-identical', () => deliveredCase(['--codec', 'pcmu'], 'PCMU'));

test('a 3-page fax over G.711 PCMA (ECM) arrives pixel-identical', () => deliveredCase(['--codec', 'pcma'], 'PCMA'));

test('peer behaviours map to documented outcomes', async (t) => {
    const r = await rig({ peerArgs: ['--slow-seconds', '2'] });
    const cases = [
        { name: 'busy', to: '+15550100486', code: 'line_busy', sip: 486, retries: 1, attempts: 2 },
        { name: 'decline', to: '+15550100603', code: 'recipient_rejected', sip: 603, retries: 1, attempts: 1 },
        { name: 'no answer', to: '+15550100408', code: 'no_answer', sub: 'ring_timeout', retries: 0, attempts: 1 },
        { name: 'silence', to: '+15550100100', code: 'not_a_fax_machine', sip: 200, retries: 1, attempts: 1 },
        { name: 'speech', to: '+15550100101', code: 'not_a_fax_machine', sip: 200, retries: 0, attempts: 1 },
        { name: 'drop after page 1', to: '+15550100002', code: 'transmission_interrupted', sip: 200, retries: 0,
          attempts: 1, pagesSent: 1 },
    ];
    const sent = [];
    for (const c of cases) sent.push({ c, fax: await send(r, c.to, { retries: c.retries }) });
    for (const { c, fax } of sent) {
        await t.test(c.name, async () => {
            const done = await terminal(r, fax.id);
            assert.equal(done.status, 'failed', JSON.stringify(done));
            assert.equal(done.error_code, c.code, JSON.stringify(done));
            assert.equal(done.attempts.length, c.attempts, JSON.stringify(done.attempts));
            const last = done.attempts[done.attempts.length - 1];
            if (c.sip) assert.equal(last.sip_status, c.sip);
            if (c.sub) assert.equal(last.error_subcode, c.sub);
            assert.equal(last.transport, 'g711');
            if (c.pagesSent !== undefined) {
                assert.equal(last.pages_sent, c.pagesSent);
                assert.equal(done.pages_sent ?? c.pagesSent, c.pagesSent);
            }
            const types = await eventTypes(r, fax.id);
            assert.ok(types.includes('fax.failed'), types.join(','));
            assert.equal(types.filter((x) => x === 'fax.sending').length, c.attempts, types.join(','));
        });
    }
    await t.test('no answer: the peer saw the CANCEL', async () => {
        await r.peer.waitEvent((e) => e.event === 'cancel', 10000);
    });
    await t.test('slow answer still delivers', async () => {
        const fax = await send(r, '+15550100180', { pages: 1 });
        const done = await terminal(r, fax.id);
        assert.equal(done.status, 'delivered', JSON.stringify(done));
    });
});

test('a trunk with digest credentials registers and calls', async () => {
    const r = await rig({
        peerArgs: ['--auth', 'alice:s3cret'],
        env: (peer) => ({
            MINTFAX_TRUNK_PEER_USERNAME: 'alice',
            MINTFAX_TRUNK_PEER_PASSWORD: 's3cret',
            MINTFAX_TRUNK_PEER_REGISTRAR: peer.proxy,
        }),
    });
    await r.peer.waitEvent((e) => e.event === 'register' && e.authorized, 15000);
    const fax = await send(r, '+15551230002', { pages: 1 });
    const done = await terminal(r, fax.id);
    assert.equal(done.status, 'delivered', JSON.stringify(done));
    assert.ok(r.peer.events.some((e) => e.event === 'challenge' && e.method === 'INVITE' && !e.had_authorization));
    assert.ok(r.peer.events.some((e) => e.event === 'invite' && e.authorized));
});

test('a registration is refreshed before the registrar lets it expire', async () => {
    // The peer grants 2 s (RFC 3261 §10.3: a registrar may shorten the expiry the trunk asked for, 3600 s);
    // sofia's nua must send the next REGISTER, with credentials, before those run out.
    const r = await rig({
        peerArgs: ['--auth', 'alice:s3cret', '--register-expires', '2'],
        env: (peer) => ({
            MINTFAX_TRUNK_PEER_USERNAME: 'alice',
            MINTFAX_TRUNK_PEER_PASSWORD: 's3cret',
            MINTFAX_TRUNK_PEER_REGISTRAR: peer.proxy,
        }),
    });
    await r.peer.waitEvent((e) => e.event === 'register' && e.authorized, 15000);
    const first = Date.now();
    const registered = () => r.peer.events.filter((e) => e.event === 'register' && e.authorized).length;
    await waitFor(() => registered() >= 3, { timeoutMs: 12000, what: 'two refreshes of the registration' });
    assert.ok(Date.now() - first < 12000, `${registered()} authorized REGISTERs`);
});

test('1 % loss and 20 ms jitter on the peer RTP: an ECM fax still delivers', async () => {
    const r = await rig({ peerArgs: ['--loss', '1', '--jitter', '20'] });
    const fax = await send(r, '+15551230003', { pages: 2, retries: 3 });
    const done = await terminal(r, fax.id);
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
});

/** A CA and a certificate for 127.0.0.1 in a sofia certificate directory
 *  (agent.pem: key and certificate; cafile.pem: the CA). */
function certDir(name) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mintfax-tls-${name}-`));
    const run = (args) => {
        const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
    };
    run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'cafile.pem', '-days', '2',
        '-subj', `/CN=mintfax test CA ${name}`]);
    run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1']);
    fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
    run(['x509', '-req', '-in', 'srv.csr', '-CA', 'cafile.pem', '-CAkey', 'ca.key', '-CAcreateserial',
        '-out', 'srv.pem', '-days', '2', '-extfile', 'ext']);
    fs.writeFileSync(path.join(dir, 'agent.pem'),
        fs.readFileSync(path.join(dir, 'srv.key'), 'utf8') + fs.readFileSync(path.join(dir, 'srv.pem'), 'utf8'));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    return dir;
}

test('trunk transports: TCP, and TLS with the certificate verified', async (t) => {
    await t.test('tcp', async () => {
        const r = await rig({ env: { MINTFAX_TRUNK_PEER_TRANSPORT: 'tcp' } });
        const fax = await send(r, '+15551230004', { pages: 1 });
        assert.equal((await terminal(r, fax.id)).status, 'delivered');
        const inv = await r.peer.waitEvent((e) => e.event === 'invite');
        assert.equal(inv.transport, 'TCP');
    });
    const good = certDir('good');
    const tlsRig = async (daemonCerts) => {
        const tlsPort = await freePort();
        return rig({
            peerArgs: ['--tls-listen', `127.0.0.1:${tlsPort}`, '--tls-cert-dir', good],
            env: async () => ({
                MINTFAX_TRUNK_PEER_PROXY: `sip:127.0.0.1:${tlsPort}`,
                MINTFAX_TRUNK_PEER_TRANSPORT: 'tls',
                MINTFAX_SIP_TLS_LISTEN: `127.0.0.1:${await freePort()}`,
                MINTFAX_SIP_TLS_CERT_DIR: daemonCerts,
            }),
        });
    };
    await t.test('tls', async () => {
        const r = await tlsRig(good);
        const fax = await send(r, '+15551230005', { pages: 1 });
        assert.equal((await terminal(r, fax.id)).status, 'delivered');
        const inv = await r.peer.waitEvent((e) => e.event === 'invite');
        assert.equal(inv.transport, 'TLS');
    });
    await t.test('tls to a server signed by another CA fails, no call placed', async () => {
        const r = await tlsRig(certDir('other'));
        const fax = await send(r, '+15551230006', { pages: 1 });
        const done = await terminal(r, fax.id);
        assert.equal(done.status, 'failed');
        assert.equal(done.error_code, 'carrier_unavailable', JSON.stringify(done.attempts));
        assert.ok(!r.peer.events.some((e) => e.event === 'invite'));
    });
});

test('cancel: CANCEL while it rings, BYE once answered', async (t) => {
    const r = await rig({ env: { MINTFAX_SIP_RING_TIMEOUT: '60' } });
    await t.test('ringing', async () => {
        const fax = await send(r, '+15550100408', { pages: 1 });
        const inv = await r.peer.waitEvent((e) => e.event === 'invite' && e.to === '+15550100408');
        const c = await api(r.d.url, r.key, 'POST', `/v1/faxes/${fax.id}/cancel`);
        assert.equal(c.status, 200, c.text);
        await r.peer.waitEvent((e) => e.event === 'cancel' && e.seq === inv.seq, 10000);
        const done = await terminal(r, fax.id);
        assert.equal(done.error_code, 'cancelled');
    });
    await t.test('answered', async () => {
        const fax = await send(r, '+15551230007', { pages: 3 });
        const inv = await r.peer.waitEvent((e) => e.event === 'invite' && e.to === '+15551230007');
        await r.peer.waitEvent((e) => e.event === 'page' && e.seq === inv.seq);
        const c = await api(r.d.url, r.key, 'POST', `/v1/faxes/${fax.id}/cancel`);
        assert.equal(c.status, 200, c.text);
        await r.peer.waitEvent((e) => e.event === 'bye' && e.seq === inv.seq && e.remote, 10000);
        const done = await terminal(r, fax.id);
        assert.equal(done.error_code, 'cancelled');
    });
});

test('a trunk limits channels and calls per second', async () => {
    const r = await rig({ env: { MINTFAX_TRUNK_PEER_MAX_CHANNELS: '1', MINTFAX_TRUNK_PEER_CPS: '0.5' } });
    const a = await send(r, '+15551230008', { pages: 1 });
    const b = await send(r, '+15551230009', { pages: 1 });
    const [da, db] = [await terminal(r, a.id), await terminal(r, b.id)];
    assert.equal(da.status, 'delivered', JSON.stringify(da.attempts));
    assert.equal(db.status, 'delivered', JSON.stringify(db.attempts));
    // One channel: the second call starts after the first ended; 0.5 cps: 2 s apart at least.
    const [first, second] = [da, db].sort((x, y) => x.attempts[0].started_at.localeCompare(y.attempts[0].started_at));
    assert.ok(second.attempts[0].started_at >= first.attempts[0].completed_at,
        `${second.attempts[0].started_at} < ${first.attempts[0].completed_at}`);
    const invites = r.peer.events.filter((e) => e.event === 'invite');
    assert.equal(invites.length, 2);
});

test('a SIP listen address already in use: mintfaxd exits 1 saying so (no crash)', async () => {
    const port = await freePort();
    const holder = dgram.createSocket('udp4');
    await new Promise((resolve) => holder.bind(port, '127.0.0.1', resolve));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfx-sip-bind-'));
    try {
        const r = spawnSync(daemonPath, ['--data-dir', dir, '--listen', `127.0.0.1:${await freePort()}`], {
            env: { ...process.env, MINTFAX_CARRIER_LIVE: 'sip', MINTFAX_SIP_LISTEN: `127.0.0.1:${port}`,
                MINTFAX_TRUNK_MAIN_PROXY: 'sip:127.0.0.1:5060' },
            encoding: 'utf8', timeout: 15000, killSignal: 'SIGKILL',
        });
        assert.equal(r.signal, null, `no signal (got ${r.signal}): ${r.stderr}`);
        assert.equal(r.status, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`cannot bind SIP to sip:127\\.0\\.0\\.1:${port}`));
    } finally {
        holder.close();
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('mintfaxd raises its soft descriptor limit to the hard one (each call holds descriptors)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfx-fdlimit-'));
    const port = await freePort();
    // sh lowers the soft limit, then becomes mintfaxd (exec): the daemon starts with 64.
    const child = spawn('sh', ['-c', `ulimit -Sn 64 && exec "$0" --data-dir "$1" --listen "$2"`, daemonPath, dir,
        `127.0.0.1:${port}`], { stdio: 'ignore' });
    try {
        await waitFor(async () => (await api(`http://127.0.0.1:${port}`, null, 'GET', '/healthz').catch(() => ({}))).status === 200,
            { what: 'mintfaxd to answer /healthz' });
        const limits = fs.readFileSync(`/proc/${child.pid}/limits`, 'utf8');
        const [, soft, hard] = limits.match(/^Max open files\s+(\S+)\s+(\S+)/m);
        assert.equal(soft, hard === 'unlimited' ? '1048576' : String(Math.min(Number(hard), 1048576)), limits);
        assert.ok(Number(soft) > 64, `soft limit ${soft}`);
    } finally {
        child.kill('SIGTERM');
        await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)));
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
