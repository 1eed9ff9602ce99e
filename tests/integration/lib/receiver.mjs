// SPDX-License-Identifier: Apache-2.0
//
// A webhook receiver for integration tests: a node http server on loopback
// that records every request it gets (method, path, lower-cased headers, the
// raw body, arrival time) and answers as told, so that tests can inject
// faults into mintfaxd's webhook dispatcher:
//
//   const r = await startReceiver();               // answers 204
//   r.setMode({ status: 500, body: 'oops' });      // answer 500 with a body
//   r.setMode('hang');                             // never answer (until close)
//   r.setMode('close');                            // drop the connection unanswered
//   await r.down(); ... await r.up();              // stop listening, then listen again on the same port
//   r.setMode((rec, res) => { res.writeHead(204); res.end(); });   // anything else
//   await r.waitFor((reqs) => reqs.length >= 3);
//   await r.close();
//
// A mode can also be set per path prefix (r.setMode(mode, '/a')), so that one
// receiver serves several endpoints with different behaviours.
import http from 'node:http';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a receiver on host (default 127.0.0.1) and port (default: any free
 * one). Returns {url, port, requests, setMode(mode, prefix?), waitFor(pred,
 * opts), down(), up(), close()}; requests holds
 * {method, path, headers, body (utf-8 text), bytes (Buffer), at (ms), answered}.
 */
export async function startReceiver({ host = '127.0.0.1', port = 0 } = {}) {
    const requests = [];
    const modes = new Map([['', { status: 204 }]]);
    const hanging = new Set();

    const modeFor = (path) => {
        let best = '';
        for (const prefix of modes.keys()) {
            if (path.startsWith(prefix) && prefix.length >= best.length) best = prefix;
        }
        return modes.get(best);
    };

    const onRequest = (req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            const bytes = Buffer.concat(chunks);
            const rec = {
                method: req.method,
                path: req.url,
                headers: { ...req.headers },
                body: bytes.toString('utf8'),
                bytes,
                at: Date.now(),
                answered: null,
            };
            requests.push(rec);
            const mode = modeFor(req.url);
            if (typeof mode === 'function') {
                mode(rec, res, req);
            } else if (mode === 'hang') {
                rec.answered = 'hang';
                hanging.add(res);
                res.on('close', () => hanging.delete(res));
            } else if (mode === 'close') {
                rec.answered = 'close';
                req.socket.destroy();
            } else {
                rec.answered = mode.status;
                const headers = { ...(mode.headers || {}) };
                if (mode.body !== undefined) headers['Content-Type'] ??= 'text/plain';
                res.writeHead(mode.status, headers);
                res.end(mode.body);
            }
        });
    };

    let server;
    const listen = (p) => new Promise((resolve, reject) => {
        server = http.createServer(onRequest);
        server.keepAliveTimeout = 30000;
        server.on('error', reject);
        server.listen(p, host, () => {
            server.off('error', reject);
            resolve(server.address().port);
        });
    });
    const stop = async () => {
        if (!server) return;
        const s = server;
        server = null;
        for (const res of hanging) res.socket?.destroy();
        hanging.clear();
        s.closeAllConnections();
        await new Promise((resolve) => s.close(() => resolve()));
    };

    const actualPort = await listen(port);
    const hostInUrl = host.includes(':') ? `[${host}]` : host;
    return {
        port: actualPort,
        url: `http://${hostInUrl}:${actualPort}`,
        requests,
        /** Sets how requests under path prefix (default: all) are answered. */
        setMode(mode, prefix = '') {
            modes.set(prefix, mode);
        },
        /** Polls pred(requests) until truthy (returned) or timeoutMs (throws). */
        async waitFor(pred, { timeoutMs = 15000, intervalMs = 20, what = 'webhook requests' } = {}) {
            const deadline = Date.now() + timeoutMs;
            for (;;) {
                const v = pred(requests);
                if (v) return v;
                if (Date.now() >= deadline) {
                    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} ` +
                        `(${requests.length} requests so far: ${requests.slice(-5).map((r) => `${r.path} ${r.headers['webhook-id']}`).join(', ')})`);
                }
                await sleep(intervalMs);
            }
        },
        /** Stops listening (connections are dropped); the port stays reserved for up(). */
        down: stop,
        /** Listens again on the same port. */
        async up() {
            if (!server) await listen(actualPort);
        },
        /** Ends everything, hanging requests included. */
        close: stop,
    };
}

/** The event types of DESIGN §8, in the order a fax or balance meets them. */
export const EVENT_TYPES = ['fax.queued', 'fax.sending', 'fax.retry_scheduled', 'fax.delivered', 'fax.failed',
    'balance.low', 'balance.topup'];
