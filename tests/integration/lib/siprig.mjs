// SPDX-License-Identifier: Apache-2.0
//
// A SIP test rig: mintfax-peer (or another SIP peer, e.g. sipp) and a
// mintfaxd whose one trunk points at it, with the live environment topped
// up, plus helpers to send a fax with a live key and wait for its end.
// Every process started is stopped by stopAll() (call it from after()).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { api, daemonPath, freePort, startDaemon, waitFor } from './daemon.mjs';
import { startPeer } from './peer.mjs';
import { makePdf } from './pdf.mjs';

export const SPEED = process.env.MFX_SANITIZERS ? 4 : 8;
// Faster than real time, a 60 ms jitter buffer is only a few ms of wall time,
// less than a busy 2-core machine may delay a packet: both ends hold more.
const JITTER_DELAY = 300;
const PAGECMP = path.resolve(process.env.MFX_BUILDDIR || path.join(path.dirname(daemonPath), '..'),
    'tests', 'tools', 'pagecmp');
const FAX_TIMEOUT = 240000;

const stack = [];   // everything to stop, most recent first

/** Stops every peer and daemon the rig started, most recent first. */
export async function stopAll() {
    for (const s of stack.splice(0).reverse()) await s.stop().catch(() => {});
}

/** A peer and a daemon whose one trunk points at it; the live env topped up.
 *  proxy: use this SIP URI instead of starting a mintfax-peer; speed: the
 *  media clock of both ends (SIP timers stay real time). */
export async function rig({ peerArgs = [], env = {}, proxy, dataDir, speed = SPEED } = {}) {
    const peer = proxy ? { proxy } : await startPeer({ args: peerArgs, speed, jitterDelay: JITTER_DELAY });
    if (!proxy) stack.push(peer);
    const sipPort = await freePort();
    const daemonEnv = {
        MINTFAX_CARRIER_LIVE: 'sip',
        MINTFAX_SIP_LISTEN: `127.0.0.1:${sipPort}`,
        MINTFAX_TRUNK_PEER_PROXY: peer.proxy,
        MINTFAX_MEDIA_SPEED: String(speed),
        MINTFAX_MEDIA_JITTER_DELAY: String(JITTER_DELAY),
        MINTFAX_SIP_RING_TIMEOUT: '3',
        // G.711 unless a test asks for T.38 (the trunk default is auto).
        MINTFAX_TRUNK_PEER_T38: 'off',
        MINTFAX_RETRY_BACKOFF_BASE: '1',
        MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
        ...(typeof env === 'function' ? await env(peer) : env),
    };
    // A caller's data directory outlives restarts; removed after the daemons stop.
    if (dataDir) stack.push({ stop: () => fs.promises.rm(dataDir, { recursive: true, force: true }) });
    const d = await startDaemon({ dataDir, env: daemonEnv });
    stack.push(d);
    const key = d.keys.live_key;
    // Live credits come from the operator (the account key).
    const top = await api(d.url, d.keys.account_key, 'POST', `/v1/workspaces/${d.keys.workspace_id}/topups`,
        { amount: 10000, environment: 'live' });
    assert.ok(top.status === 200 || top.status === 201, top.text);
    return { peer, d, key, env: daemonEnv };
}

/** Starts mintfaxd again on r's data directory and settings (after r.d
 *  stopped); r.d becomes the new daemon. */
export async function restart(r) {
    r.d = await startDaemon({ dataDir: r.d.dataDir, env: r.env });
    stack.push(r.d);
    return r.d;
}

export async function send({ d, key }, to, { pages = 3, retries = 0, extra = {} } = {}) {
    const f = new FormData();
    f.append('to', to);
    f.append('retries', String(retries));
    for (const [k, v] of Object.entries(extra)) f.append(k, v);
    f.append('file', new Blob([makePdf({ pages, text: 'mintfax over SIP' })]), 'doc.pdf');
    const r = await api(d.url, key, 'POST', '/v1/faxes', f);
    assert.equal(r.status, 201, r.text);
    return r.body;
}

export async function terminal({ d, key }, id, timeoutMs = FAX_TIMEOUT) {
    let fax;
    await waitFor(async () => {
        const r = await api(d.url, key, 'GET', `/v1/faxes/${id}`);
        fax = r.body;
        return fax.status === 'delivered' || fax.status === 'failed';
    }, { timeoutMs, intervalMs: 200, what: `fax ${id} to end` });
    return fax;
}

export async function eventTypes({ d, key }, id) {
    const r = await api(d.url, key, 'GET', `/v1/events?fax_id=${id}&limit=100`);
    return (r.body.data || []).map((e) => e.type).reverse();
}

/** Decoded comparison of what mintfax rendered and what the peer saved. */
export async function assertSamePages(r, id, rxFile) {
    const img = await api(r.d.url, r.key, 'GET', `/v1/faxes/${id}/image`);
    assert.equal(img.status, 200, img.text.slice(0, 200));
    const sent = path.join(r.peer.rxDir, `sent-${id}.tif`);
    fs.writeFileSync(sent, img.bytes);
    const cmp = spawnSync(PAGECMP, [sent, rxFile], { encoding: 'utf8' });
    assert.equal(cmp.status, 0, `pages differ: ${cmp.stdout} ${cmp.stderr}`);
    return JSON.parse(cmp.stdout);
}

