// SPDX-License-Identifier: Apache-2.0
//
// Starts a real mintfaxd for integration tests: a free loopback port, a fresh
// temporary data directory, the daemon's stdout and stderr captured to files
// in that directory, readiness by GET /healthz, and the keys of the first
// start from DATA/initial-keys.json. stop() always ends the process (SIGTERM,
// then SIGKILL after a timeout) and removes the directory it created.
//
//   const d = await startDaemon({ env: { MINTFAX_SANDBOX_TIME_SCALE: '0.001' } });
//   const r = await api(d.url, d.keys.sandbox_key, 'GET', '/v1/environment/balance');
//   await d.stop();
//
// Environment: MINTFAXD (the binary; default <repo>/src/mintfaxd), MFX_SRCDIR
// (the source tree; default two levels above this directory), MFX_KEEP_DATA=1
// keeps the data directories of stopped daemons for a post-mortem.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The source tree (where docs/ and tests/ are). */
export const srcDir = path.resolve(process.env.MFX_SRCDIR || path.join(here, '..', '..', '..'));
/** The daemon binary under test. */
export const daemonPath = path.resolve(process.env.MINTFAXD || path.join(srcDir, 'src', 'mintfaxd'));

// Every daemon still running (process -> the data directory to remove, or
// null), so that a test process that exits or is interrupted never leaves one
// behind; the after() hooks normally stop them first.
const running = new Map();

function sleepSync(ms) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
// True once pid has ended (a zombie counts: it can no longer write files).
function deadSync(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return /\) [ZX]/.test(stat);
    } catch (err) {
        if (err.code === 'ENOENT') return true;
    }
    try {
        process.kill(pid, 0);
        return false;
    } catch {
        return true;
    }
}
// Synchronous, for 'exit' and signal handlers: kill every daemon, wait (up to
// 2 s) until each is really gone so that none still writes into its data
// directory, then remove the directories this module created.
function killAllSync() {
    for (const proc of running.keys()) {
        try { proc.kill('SIGKILL'); } catch { /* already gone */ }
    }
    const deadline = Date.now() + 2000;
    for (const proc of running.keys()) {
        while (proc.pid && !deadSync(proc.pid) && Date.now() < deadline) sleepSync(10);
    }
    for (const dir of running.values()) {
        if (dir && process.env.MFX_KEEP_DATA !== '1') {
            try {
                fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
            } catch { /* best effort */ }
        }
    }
    running.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
        killAllSync();
        process.kill(process.pid, sig);   // the default action, now that we are clean
    });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port that was free on 127.0.0.1 a moment ago (bind port 0, read it, close). */
function freeTcpPort(host) {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, host, () => {
            const { port } = srv.address();
            srv.close((err) => (err ? reject(err) : resolve(port)));
        });
    });
}

/** True if UDP host:port could be bound a moment ago. */
export function udpFree(port, host = '127.0.0.1') {
    return new Promise((resolve) => {
        const s = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
        s.unref();
        s.once('error', () => { s.close(); resolve(false); });
        s.bind(port, host, () => s.close(() => resolve(true)));
    });
}

/**
 * A port free on 127.0.0.1 for TCP AND UDP a moment ago, and, with
 * `alsoFree` (offsets such as [2]), port + each offset free for UDP too: SIP
 * listens on both transports, and sipp's -mp also binds port + 2. A TCP-only
 * probe once handed the daemon a port sipp's media held.
 */
export async function freePort(host = '127.0.0.1', alsoFree = []) {
    for (let i = 0; ; i++) {
        const port = await freeTcpPort(host);
        let ok = await udpFree(port, host);
        for (const d of alsoFree) ok = ok && port + d < 65536 && (await udpFree(port + d, host));
        if (ok || i >= 50) return port;
    }
}

/** The last `lines` lines of a text file, or a note saying why there are none. */
export function tailFile(file, lines = 40) {
    let text;
    try {
        text = fs.readFileSync(file, 'utf8');
    } catch (err) {
        return `(no ${path.basename(file)}: ${err.code || err.message})`;
    }
    const all = text.replace(/\n$/, '').split('\n');
    return all.slice(-lines).join('\n') || '(empty)';
}

/**
 * Polls fn until it returns a truthy value (returned) or the time is up
 * (throws, with the last value or error in the message).
 */
export async function waitFor(fn, { timeoutMs = 15000, intervalMs = 50, what = 'condition' } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        try {
            const v = await fn();
            if (v) return v;
            last = v;
        } catch (err) {
            last = err;
        }
        if (Date.now() >= deadline) {
            const detail = last instanceof Error ? last.message : JSON.stringify(last);
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${detail})`);
        }
        await sleep(intervalMs);
    }
}

/**
 * One HTTP request to the API. body: undefined (none), a plain object (sent
 * as JSON), FormData (multipart), or a string/Buffer/Uint8Array sent as is
 * (set Content-Type in headers). Returns {status, headers, contentType,
 * body (parsed JSON for application/json, else text), text, bytes}.
 * key may be null to send no Authorization header.
 */
export async function api(url, key, method, urlPath, body, headers = {}) {
    const h = { ...headers };
    if (key) h.Authorization = `Bearer ${key}`;
    let payload;
    if (body === undefined || body === null) {
        payload = undefined;
    } else if (body instanceof FormData || typeof body === 'string' || body instanceof Uint8Array) {
        payload = body;
    } else {
        payload = JSON.stringify(body);
        if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    }
    const res = await fetch(new URL(urlPath, url), {
        method,
        headers: h,
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(30000),
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    const contentType = res.headers.get('content-type') || '';
    const text = bytes.toString('utf8');
    let parsed = text;
    if (/^application\/([a-z.+-]*\+)?json\b/i.test(contentType)) {
        try {
            parsed = JSON.parse(text);
        } catch (err) {
            throw new Error(`${method} ${urlPath}: ${res.status} with Content-Type ${contentType} but the body is not JSON (${err.message}): ${text.slice(0, 200)}`);
        }
    }
    return { status: res.status, headers: res.headers, contentType, body: parsed, text, bytes };
}

/**
 * Starts mintfaxd and waits until it answers GET /healthz and has written
 * its initial keys.
 *   env      extra environment (merged over process.env)
 *   args     extra command-line arguments
 *   dataDir  use this data directory (e.g. to restart on the same data);
 *            default: a new temporary one, removed by stop()
 *   timeoutMs  how long startup may take
 * Returns {url, port, keys, dataDir, proc, stderrPath, stdoutPath, logTail(n),
 * stop({signal, timeoutMs, keepData})}.
 */
export async function startDaemon({ env = {}, args = [], dataDir, timeoutMs = 20000 } = {}) {
    if (!fs.existsSync(daemonPath)) {
        throw new Error(`mintfaxd not found at ${daemonPath} (build it, or set MINTFAXD)`);
    }
    const ownDir = !dataDir;
    const dir = dataDir || await fsp.mkdtemp(path.join(os.tmpdir(), 'mintfax-test-'));
    try {
        // A port found free can be taken before the daemon binds it: try a few.
        for (let attempt = 1; ; attempt++) {
            try {
                return await launch({ env, args, dir, ownDir, timeoutMs });
            } catch (err) {
                if (!err.portInUse || attempt >= 3) throw err;
            }
        }
    } catch (err) {
        if (ownDir && process.env.MFX_KEEP_DATA !== '1') await fsp.rm(dir, { recursive: true, force: true });
        throw err;
    }
}

async function launch({ env, args, dir, ownDir, timeoutMs }) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const stderrPath = path.join(dir, 'mintfaxd.stderr.log');
    const stdoutPath = path.join(dir, 'mintfaxd.stdout.log');
    // Files rather than pipes: the daemon can never block on a full pipe, and
    // the log survives for the post-mortem.
    const errFd = fs.openSync(stderrPath, 'a');
    const outFd = fs.openSync(stdoutPath, 'a');
    const argv = ['--data-dir', dir, '--listen', `127.0.0.1:${port}`, ...args];
    let proc;
    try {
        proc = spawn(daemonPath, argv, {
            env: { ...process.env, ...env },
            stdio: ['ignore', outFd, errFd],
        });
    } finally {
        fs.closeSync(errFd);
        fs.closeSync(outFd);
    }
    running.set(proc, ownDir ? dir : null);
    let exited = null;   // {code, signal} once the process ended
    const exitPromise = new Promise((resolve) => {
        proc.on('exit', (code, signal) => {
            exited = { code, signal };
            running.delete(proc);
            resolve(exited);
        });
        proc.on('error', (err) => {
            exited = { code: null, signal: null, error: err };
            running.delete(proc);
            resolve(exited);
        });
    });

    const logTail = (n = 40) => tailFile(stderrPath, n);
    let stopped = false;
    const stop = async ({ signal = 'SIGTERM', timeoutMs: stopTimeout = 10000, keepData = false } = {}) => {
        if (!stopped) {
            stopped = true;
            if (!exited) {
                try { proc.kill(signal); } catch { /* gone */ }
                let timer;
                const timeout = new Promise((resolve) => { timer = setTimeout(resolve, stopTimeout, 'timeout'); });
                const first = await Promise.race([exitPromise, timeout]);
                clearTimeout(timer);
                if (first === 'timeout') {
                    try { proc.kill('SIGKILL'); } catch { /* gone */ }
                    await exitPromise;
                }
            }
        }
        if (ownDir && !keepData && process.env.MFX_KEEP_DATA !== '1') {
            await fsp.rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
        }
        return exited;
    };

    const fail = async (why) => {
        await stop({ keepData: true });
        const err = new Error(`mintfaxd did not start: ${why}\n` +
            `command: ${daemonPath} ${argv.join(' ')}\n` +
            `--- last lines of ${stderrPath} ---\n${logTail(60)}\n---`);
        err.portInUse = /address already in use|cannot listen/i.test(logTail(60));
        process.stderr.write(`${err.message}\n`);
        throw err;
    };

    // Ready: /healthz answers 200 and the initial keys are on disk.
    const deadline = Date.now() + timeoutMs;
    let healthy = false;
    let lastErr = 'no answer yet';
    while (!healthy) {
        if (exited) {
            return fail(exited.error ? `spawn failed: ${exited.error.message}`
                : `it exited with ${exited.signal ? `signal ${exited.signal}` : `status ${exited.code}`}`);
        }
        if (Date.now() >= deadline) return fail(`GET /healthz did not answer 200 within ${timeoutMs} ms (${lastErr})`);
        try {
            const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
            await res.arrayBuffer();
            if (res.status === 200) healthy = true;
            else lastErr = `status ${res.status}`;
        } catch (err) {
            lastErr = err.cause?.code || err.message;
        }
        if (!healthy) await sleep(50);
    }
    const keysPath = path.join(dir, 'initial-keys.json');
    let keys = null;
    while (!keys) {
        try {
            keys = JSON.parse(fs.readFileSync(keysPath, 'utf8'));
        } catch (err) {
            if (exited) return fail(`it exited before writing ${keysPath}`);
            if (Date.now() >= deadline) return fail(`${keysPath} not readable: ${err.message}`);
            await sleep(50);
        }
    }
    for (const k of ['account_key', 'workspace_id', 'sandbox_key', 'live_key']) {
        if (typeof keys[k] !== 'string' || !keys[k]) return fail(`${keysPath} has no ${k}`);
    }
    return { url, port, keys, dataDir: dir, proc, stderrPath, stdoutPath, logTail, stop, exited: () => exited };
}
