// SPDX-License-Identifier: Apache-2.0
//
// Runs a sipp scenario (tests/sipp/*.xml) as the far end of a mintfax call:
// an independent SIP implementation, so tests see what mintfax really sends.
// sipp listens on 127.0.0.1:<port> over UDP, handles one call (-m 1) and
// logs every SIP message it sends or receives; wait() gives the exit code
// (0: the scenario ran to its end) and that log.
//
//   const peer = await startSipp({ scenario: 'uas-486' });
//   ... point mintfax's trunk at 127.0.0.1:peer.port and send a fax ...
//   const { code, messages } = await peer.wait();
//   assert.equal(code, 0);
//   assert.ok(sipMessages(messages).some((m) => m.dir === 'received' && m.method === 'ACK'));
//
// The child is never detached (no -bg): kill() ends it, and every sipp still
// running when the test process exits or is interrupted is killed then.
// Environment: SIPP (the binary, default "sipp"), MFX_SRCDIR (see
// daemon.mjs), MFX_KEEP_DATA=1 keeps each run's directory (message, error
// and screen logs) for a post-mortem.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, srcDir } from './daemon.mjs';

/** Where the scenarios live. */
export const sippDir = path.join(srcDir, 'tests', 'sipp');
const sippBin = process.env.SIPP || 'sipp';

// Every sipp still running -> its temporary directory.
const running = new Map();

function killAllSync() {
    for (const [child, dir] of running) {
        try { child.kill('SIGKILL'); } catch { /* already gone */ }
        if (process.env.MFX_KEEP_DATA !== '1') {
            try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
        }
    }
    running.clear();
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
        killAllSync();
        // Re-raise for the default action unless another module's handler
        // (daemon.mjs) still has to run and will do it.
        if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// True once something listens on UDP 127.0.0.1:port (Linux /proc/net/udp);
// null when that cannot be told.
function udpBound(port) {
    let text;
    try {
        text = fs.readFileSync('/proc/net/udp', 'utf8');
    } catch {
        return null;
    }
    const want = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    return text.split('\n').some((line) => {
        const local = line.trim().split(/\s+/)[1];
        return local === `0100007F${want}` || local === `00000000${want}`;
    });
}

function readText(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch {
        return '';
    }
}

/** The scenario file for a name ('uas-486'), a file name or a path. */
export function scenarioPath(scenario) {
    if (scenario.includes('/')) return path.resolve(scenario);
    return path.join(sippDir, scenario.endsWith('.xml') ? scenario : `${scenario}.xml`);
}

/**
 * Starts sipp on a scenario. Options: scenario (name in tests/sipp/ or a
 * path), port (default: a free one), args (more sipp arguments, e.g.
 * ['-key', 'name', 'value'] or a remote host for a UAC scenario),
 * timeoutSec (sipp's own global timeout, a failure: default 60).
 * Resolves once sipp listens on its port with
 * {port, mediaPort, dir, wait(), kill()}:
 *   wait() -> Promise<{code, signal, messages, errors}>: code is sipp's exit
 *     code (0 every call succeeded, 1 one failed, 255/-1 a fatal error),
 *     messages the SIP message log (-trace_msg), errors the error log;
 *   kill() -> Promise of the same, after SIGTERM (then SIGKILL after 2 s).
 */
export async function startSipp({ scenario, port, args = [], timeoutSec = 60 } = {}) {
    const file = scenarioPath(scenario);
    if (!fs.existsSync(file)) throw new Error(`no sipp scenario ${file}`);
    port = port || (await freePort());
    const mediaPort = await freePort('127.0.0.1', [1, 2, 3]);   // sipp echoes on -mp and -mp + 2
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mfx-sipp-'));
    const messagesFile = path.join(dir, 'messages.log');
    const errorsFile = path.join(dir, 'errors.log');
    const out = fs.openSync(path.join(dir, 'screen.log'), 'w');
    const argv = [
        '-sf', file, '-i', '127.0.0.1', '-p', String(port), '-mp', String(mediaPort),
        '-m', '1', '-nostdin', '-timeout', String(timeoutSec), '-timeout_error',
        '-trace_msg', '-message_file', messagesFile,
        '-trace_err', '-error_file', errorsFile,
        ...args.map(String),
    ];
    const child = spawn(sippBin, argv, { stdio: ['ignore', out, out], cwd: dir });
    fs.closeSync(out);
    running.set(child, dir);

    let exited = false;
    const done = new Promise((resolve) => {
        const finish = (code, signal, err) => {
            if (exited) return;
            exited = true;
            const errors = err ? `cannot run ${sippBin}: ${err.message}` : readText(errorsFile);
            const result = { code, signal, messages: readText(messagesFile), errors };
            running.delete(child);
            if (process.env.MFX_KEEP_DATA !== '1') fs.rmSync(dir, { recursive: true, force: true });
            resolve(result);
        };
        child.on('exit', finish);
        child.on('error', (err) => finish(-1, null, err));
    });

    // Ready when the port is bound (or at once if /proc cannot tell).
    const deadline = Date.now() + 5000;
    for (;;) {
        if (exited) {
            const r = await done;
            throw new Error(`sipp exited with ${r.code} before listening on ${port}: ${r.errors}`);
        }
        const bound = udpBound(port);
        if (bound === null) {
            await sleep(200);
            break;
        }
        if (bound) break;
        if (Date.now() > deadline) {
            child.kill('SIGKILL');
            await done;
            throw new Error(`sipp did not listen on 127.0.0.1:${port} within 5 s`);
        }
        await sleep(20);
    }

    return {
        port,
        mediaPort,
        dir,
        wait: () => done,
        kill: async () => {
            if (!exited) {
                child.kill('SIGTERM');
                const timer = setTimeout(() => { if (!exited) child.kill('SIGKILL'); }, 2000);
                await done;
                clearTimeout(timer);
            }
            return done;
        },
    };
}

/**
 * Splits sipp's message log into messages, in order:
 * [{dir: 'sent'|'received', method (requests) or status (responses),
 *   startLine, headers (lower-case name -> array of values), body, text}].
 */
export function sipMessages(log) {
    const result = [];
    const blocks = log.split(/^-{10,} .*\n/m).filter((b) => b.trim());
    for (const block of blocks) {
        const m = /^(?:UDP|TCP|TLS|SCTP) message (sent|received)[^\n]*\n\n?/.exec(block);
        if (!m) continue;
        const text = block.slice(m[0].length).replace(/\n+$/, '\n');
        const [head, ...rest] = text.split(/\r?\n\r?\n/);
        const lines = head.split(/\r?\n/);
        const startLine = lines[0];
        const headers = {};
        for (const line of lines.slice(1)) {
            const i = line.indexOf(':');
            if (i <= 0) continue;
            const name = line.slice(0, i).trim().toLowerCase();
            (headers[name] ||= []).push(line.slice(i + 1).trim());
        }
        const msg = { dir: m[1], startLine, headers, body: rest.join('\r\n\r\n'), text };
        const status = /^SIP\/2\.0 (\d{3})/.exec(startLine);
        if (status) msg.status = Number(status[1]);
        else msg.method = startLine.split(' ')[0];
        result.push(msg);
    }
    return result;
}
