// SPDX-License-Identifier: Apache-2.0
//
// Starts a real mintfax-peer (contrib/mintfax-peer: a SIP UAS fax receiver on
// loopback) for integration tests and follows the JSON lines it prints.
//
//   const p = await startPeer({ args: ['--codec', 'pcma'], speed: 8 });
//   ... a daemon with MINTFAX_TRUNK_PEER_PROXY = p.proxy ...
//   const rx = await p.waitEvent((e) => e.event === 'received');
//   await p.stop();
//
// Environment: MINTFAX_PEER (the binary; default the build tree's
// contrib/mintfax-peer/mintfax-peer, next to MINTFAXD's tree).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { daemonPath, freePort } from './daemon.mjs';

export const peerPath = path.resolve(process.env.MINTFAX_PEER ||
    path.join(path.dirname(daemonPath), '..', 'contrib', 'mintfax-peer', 'mintfax-peer'));

const running = new Set();
process.on('exit', () => {
    for (const proc of running) {
        try { proc.kill('SIGKILL'); } catch { /* gone */ }
    }
});

/**
 * Starts the peer on a free loopback port with a fresh --rx-dir.
 * Returns {port, proxy, rxDir, events, waitEvent(pred, timeoutMs), log(), stop()}.
 */
export async function startPeer({ args = [], speed = 1, jitterDelay } = {}) {
    if (jitterDelay) args = ['--jitter-delay', String(jitterDelay), ...args];
    if (!fs.existsSync(peerPath)) throw new Error(`mintfax-peer not found at ${peerPath}`);
    const rxDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-peer-'));
    for (let attempt = 1; ; attempt++) {
        const port = await freePort();
        try {
            return await launch({ port, rxDir, args, speed });
        } catch (err) {
            if (attempt >= 3) {
                await fsp.rm(rxDir, { recursive: true, force: true });
                throw err;
            }
        }
    }
}

async function launch({ port, rxDir, args, speed }) {
    const argv = ['--listen', `127.0.0.1:${port}`, '--rx-dir', rxDir, '--speed', String(speed), ...args];
    const proc = spawn(peerPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(proc);
    const events = [];
    const waiters = [];
    let stderr = '';
    let buf = '';
    let exited = null;
    const exitPromise = new Promise((resolve) => proc.on('exit', (code, signal) => {
        exited = { code, signal };
        running.delete(proc);
        for (const w of waiters.splice(0)) w.reject(new Error(`mintfax-peer exited (${code ?? signal})\n${stderr.slice(-2000)}`));
        resolve(exited);
    }));
    proc.stderr.on('data', (d) => { stderr += d; if (stderr.length > 200000) stderr = stderr.slice(-100000); });
    proc.stdout.on('data', (d) => {
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            let ev;
            try { ev = JSON.parse(line); } catch { continue; }
            events.push(ev);
            for (const w of waiters.slice()) {
                if (w.pred(ev)) {
                    waiters.splice(waiters.indexOf(w), 1);
                    clearTimeout(w.timer);
                    w.resolve(ev);
                }
            }
        }
    });
    /** The first event (already seen or still to come) that pred accepts. */
    const waitEvent = (pred, timeoutMs = 60000) => {
        const seen = events.find(pred);
        if (seen) return Promise.resolve(seen);
        if (exited) return Promise.reject(new Error('mintfax-peer is not running'));
        return new Promise((resolve, reject) => {
            const w = { pred, resolve, reject };
            w.timer = setTimeout(() => {
                waiters.splice(waiters.indexOf(w), 1);
                reject(new Error(`mintfax-peer: no matching event within ${timeoutMs} ms; events: ${JSON.stringify(events).slice(-1500)}`));
            }, timeoutMs);
            waiters.push(w);
        });
    };
    const stop = async () => {
        if (!exited) {
            proc.kill('SIGTERM');
            const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
            await exitPromise;
            clearTimeout(t);
        }
        if (process.env.MFX_KEEP_DATA !== '1') await fsp.rm(rxDir, { recursive: true, force: true });
    };
    try {
        await waitEvent((e) => e.event === 'ready', 10000);
    } catch (err) {
        await stop();
        throw new Error(`mintfax-peer did not start: ${err.message}\n${stderr}`);
    }
    return { port, proxy: `sip:127.0.0.1:${port}`, rxDir, events, waitEvent, log: () => stderr, stop };
}
