// SPDX-License-Identifier: Apache-2.0
//
// T.38 (issue 5): live faxes from mintfaxd to mintfax-peer over UDPTL, for
// each way a call gets to T.38, and back to G.711 when T.38 fails.
//
// - The far end re-INVITEs to T.38 after answering (what carriers do).
// - mintfax re-INVITEs when it hears the far end's fax tones (t38 = auto).
// - t38 = always: the far end answers the first INVITE with T.38 directly.
// - The far end refuses T.38 with 488: the fax goes on over G.711.
// - 10 % UDPTL loss with redundancy 3: delivered over T.38.
// - Heavy UDPTL loss: the T.38 attempt fails with a catalogued code and
//   the retry falls back to G.711 (the fallback ladder).
// - sipp: a UAS that re-INVITEs to T.38, and one that answers our
//   re-INVITE with 488.
// Received pages are compared bit for bit with the rendered ones.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sipMessages, startSipp } from './lib/sipp.mjs';
import { assertSamePages, rig, send, stopAll, terminal } from './lib/siprig.mjs';

after(stopAll);

async function t38Case({ trunk = 'auto', peerArgs = [], pages = 3, retries = 0, to = '+15551238001', speed }) {
    const r = await rig({ peerArgs, env: { MINTFAX_TRUNK_PEER_T38: trunk }, speed });
    const fax = await send(r, to, { pages, retries });
    const done = await terminal(r, fax.id);
    return { r, fax, done };
}

async function deliveredOverT38(r, fax, done, pages = 3) {
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
    const a = done.attempts[done.attempts.length - 1];
    assert.equal(a.transport, 't38', JSON.stringify(done.attempts));
    assert.equal(a.pages_sent, pages);
    const rx = await r.peer.waitEvent((e) => e.event === 'received' && e.completion === 0);
    assert.equal(rx.codec, 'T38');
    await assertSamePages(r, fax.id, rx.file);
}

test('the far end re-INVITEs to T.38 after answering', async () => {
    const { r, fax, done } = await t38Case({ peerArgs: ['--t38', 'reinvite'] });
    await deliveredOverT38(r, fax, done);
    assert.ok(r.peer.events.some((e) => e.event === 'reinvite_result' && e.status === 200));
});

test('t38 = auto: mintfax re-INVITEs when it hears the fax tones', async () => {
    const { r, fax, done } = await t38Case({});
    await deliveredOverT38(r, fax, done);
    assert.ok(r.peer.events.some((e) => e.event === 'reinvite' && e.t38));
});

test('t38 = always: answered with T.38 directly', async () => {
    const { r, fax, done } = await t38Case({ trunk: 'always', peerArgs: ['--t38', 'answer'] });
    await deliveredOverT38(r, fax, done);
    assert.ok(r.peer.events.some((e) => e.event === 'answered' && e.codec === 'T38'));
    assert.ok(!r.peer.events.some((e) => e.event === 'reinvite'));
});

test('T.38 refused with 488: the fax goes on over G.711', async () => {
    const { r, done } = await t38Case({ peerArgs: ['--t38', 'refuse'] });
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
    assert.equal(done.attempts[0].transport, 'g711');
    assert.ok(r.peer.events.some((e) => e.event === 'reinvite' && e.t38));
});

test('10 % UDPTL loss with redundancy 3: delivered over T.38', async () => {
    const { r, fax, done } = await t38Case({ peerArgs: ['--t38', 'reinvite', '--udptl-loss', '10'] });
    await deliveredOverT38(r, fax, done);
});

test('heavy UDPTL loss: the T.38 attempt fails, the retry falls back to G.711', async () => {
    const { done } = await t38Case({ peerArgs: ['--udptl-loss', '95'], retries: 1, pages: 1 });
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
    assert.equal(done.attempts.length, 2, JSON.stringify(done.attempts));
    const [first, second] = done.attempts;
    assert.equal(first.transport, 't38');
    assert.ok(['line_quality', 'timeout', 'negotiation_failed', 'transmission_interrupted'].includes(first.error_code),
        JSON.stringify(first));
    assert.equal(second.transport, 'g711');
    assert.equal(second.error_code, null);
});

test('sipp: a UAS that re-INVITEs to T.38 gets a T.38 answer', async () => {
    const sipp = await startSipp({ scenario: 'uas-reinvite-t38' });
    const r = await rig({ proxy: `sip:127.0.0.1:${sipp.port}`, env: { MINTFAX_TRUNK_PEER_T38: 'auto' } });
    const fax = await send(r, '+15551238002', { pages: 1 });
    const { code, errors, messages } = await sipp.wait();
    assert.equal(code, 0, errors);
    const done = await terminal(r, fax.id);
    assert.equal(done.attempts[0].transport, 't38', JSON.stringify(done.attempts));
    const ok = sipMessages(messages).find((m) => m.dir === 'received' && m.status === 200 && /m=image/.test(m.body));
    assert.ok(ok, 'mintfax answered the re-INVITE with m=image');
    assert.match(ok.body, /a=T38FaxRateManagement:transferredTCF/);
    assert.match(ok.body, /a=T38FaxUdpEC:t38UDPRedundancy/);
});

test('sipp: our re-INVITE to T.38 answered 488 keeps the call on G.711', async () => {
    const sipp = await startSipp({ scenario: 'uas-488-reinvite' });
    const r = await rig({ proxy: `sip:127.0.0.1:${sipp.port}`, env: { MINTFAX_TRUNK_PEER_T38: 'always' } });
    const fax = await send(r, '+15551238003', { pages: 1 });
    const { code, errors, messages } = await sipp.wait();
    assert.equal(code, 0, errors);
    const done = await terminal(r, fax.id);
    assert.equal(done.attempts[0].transport, 'g711', JSON.stringify(done.attempts));
    assert.equal(done.error_code, 'transmission_interrupted');   // sipp hangs up; it sends no fax tones
    const reinvite = sipMessages(messages).filter((m) => m.dir === 'received' && m.method === 'INVITE')[1];
    assert.match(reinvite.body, /m=image \d+ udptl t38/);
    assert.match(reinvite.body, /a=T38FaxVersion:0/);
    assert.match(reinvite.body, /a=T38FaxMaxDatagram:\d+/);
});

test('sipp: a carrier that offers T.38 again after the switch gets our T.38 stream', async () => {
    const sipp = await startSipp({ scenario: 'uas-t38-after-switch' });
    const r = await rig({ proxy: `sip:127.0.0.1:${sipp.port}`, env: { MINTFAX_TRUNK_PEER_T38: 'always' } });
    const fax = await send(r, '+15551238004', { pages: 1 });
    const { code, errors, messages } = await sipp.wait();
    assert.equal(code, 0, errors);
    const done = await terminal(r, fax.id);
    assert.equal(done.attempts[0].transport, 't38', JSON.stringify(done.attempts));
    const msgs = sipMessages(messages);
    const ours = msgs.filter((m) => m.dir === 'received' && m.method === 'INVITE')[1];
    const answer = msgs.find((m) => m.dir === 'received' && m.status === 200 && /m=image/.test(m.body));
    assert.ok(answer, 'mintfax answered the second T.38 offer with m=image');
    const port = (b) => /m=image (\d+)/.exec(b)[1];
    assert.equal(port(answer.body), port(ours.body), 'the same UDPTL stream as before the carrier re-INVITE');
});

test('a fax with t38 = off stays on G.711 on a T.38 trunk', async () => {
    const r = await rig({ peerArgs: ['--t38', 'reinvite'], env: { MINTFAX_TRUNK_PEER_T38: 'auto' } });
    const fax = await send(r, '+15551238005', { pages: 1, extra: { t38: 'off' } });
    const done = await terminal(r, fax.id);
    assert.equal(done.status, 'delivered', JSON.stringify(done.attempts));
    assert.equal(done.t38, 'off');
    assert.equal(done.attempts[0].transport, 'g711');
    // The far end asked for T.38 and was refused.
    assert.ok(r.peer.events.some((e) => e.event === 'reinvite_result' && e.status === 488));
});

test('glare: our re-INVITE answered 491 is sent again after 2.1 to 4 s (RFC 3261 §14.1)', async () => {
    // Real time: the retry waits 2.1 to 4 s of wall time, before the first page.
    const { r, fax, done } = await t38Case({ peerArgs: ['--t38', 'glare'], pages: 1, speed: 1 });
    await deliveredOverT38(r, fax, done, 1);
    const glare = r.peer.events.findIndex((e) => e.event === 'glare');
    assert.ok(glare >= 0);
    const reinvites = r.peer.events.filter((e) => e.event === 'reinvite' && e.t38);
    assert.equal(reinvites.length, 2, JSON.stringify(r.peer.events));
    const log = r.d.logTail(400);
    assert.match(log, /re-INVITE glare \(491\), again in (2\.\d|3\.\d|4\.0) s/);
});
