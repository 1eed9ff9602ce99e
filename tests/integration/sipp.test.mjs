// SPDX-License-Identifier: Apache-2.0
//
// mintfax's SIP behaviour against sipp (Debian sip-tester), an independent
// SIP implementation that nobody here wrote (issue 4). Each case runs one
// UAS scenario of tests/sipp/ as the far end of a live fax and asserts both
// sides: sipp's exit code (0: every message it expected from mintfax came,
// in order) and its message log, and the fax's status, error_code,
// error_subcode and attempts[].
//
// - Final responses 486, 603, 404, 480, 503 map to their catalog codes and
//   mintfax ACKs each (RFC 3261 §17.1.1.3).
// - A 401 challenge is answered once with the trunk's digest credentials.
// - 180 then 200, and a BYE from the far end mid-call: transmission_interrupted.
// - Bad answers (200 OK without SDP, with malformed SDP, with no common
//   codec): negotiation_failed with a precise subcode, and mintfax hangs up.
// - A re-INVITE mintfax does not support yet: 488, and the call goes on.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sipMessages, startSipp } from './lib/sipp.mjs';
import { rig, send, stopAll, terminal } from './lib/siprig.mjs';

after(stopAll);

async function run(scenario, { env = {}, retries = 0 } = {}) {
    const sipp = await startSipp({ scenario });
    const r = await rig({ proxy: `sip:127.0.0.1:${sipp.port}`, env });
    const fax = await send(r, '+15551239999', { pages: 1, retries });
    const done = await terminal(r, fax.id, 120000);
    const { code, messages, errors } = await sipp.wait();
    const msgs = sipMessages(messages);
    return { done, code, msgs, errors, last: done.attempts[done.attempts.length - 1] };
}

const got = (msgs, what) => msgs.filter((m) => m.dir === 'received' && (m.method === what || m.status === what));

for (const [status, code] of [[486, 'line_busy'], [603, 'recipient_rejected'], [404, 'bad_destination'],
    [480, 'no_answer'], [503, 'carrier_unavailable']]) {
    test(`${status} maps to ${code}, and mintfax ACKs it`, async () => {
        const { done, code: exit, msgs, errors, last } = await run(`uas-${status}`);
        assert.equal(exit, 0, errors);
        assert.equal(done.status, 'failed');
        assert.equal(done.error_code, code);
        assert.equal(last.sip_status, status);
        assert.equal(last.error_subcode, `sip_${status}`);
        assert.equal(got(msgs, 'INVITE').length, 1);
        assert.equal(got(msgs, 'ACK').length, 1);
        const inv = got(msgs, 'INVITE')[0];
        assert.match(inv.startLine, /^INVITE sip:\+15551239999@127\.0\.0\.1:\d+ SIP\/2\.0/);
        assert.match(String(inv.headers['user-agent'] ?? inv.text), /mintfax/);
        assert.match(inv.body, /m=audio \d+ RTP\/AVP 0 8/);
    });
}

test('401: the INVITE is sent again once with digest credentials', async () => {
    const { done, code, msgs, errors, last } = await run('uas-401', {
        env: { MINTFAX_TRUNK_PEER_USERNAME: 'mintfax', MINTFAX_TRUNK_PEER_PASSWORD: 'secret' },
    });
    assert.equal(code, 0, errors);
    const invites = got(msgs, 'INVITE');
    assert.equal(invites.length, 2);
    assert.ok(!/^authorization:/im.test(invites[0].text));
    assert.match(invites[1].text, /^Authorization: Digest .*username="mintfax"/im);
    assert.equal(last.sip_status, 200, JSON.stringify(done.attempts));
});

test('401 with wrong credentials: one retry, then carrier_unavailable', async () => {
    const sipp = await startSipp({ scenario: 'uas-401' });
    const r = await rig({ proxy: `sip:127.0.0.1:${sipp.port}`,
        env: { MINTFAX_TRUNK_PEER_USERNAME: 'mintfax', MINTFAX_TRUNK_PEER_PASSWORD: 'wrong' } });
    const fax = await send(r, '+15551239999', { pages: 1 });
    sipp.kill();
    const done = await terminal(r, fax.id, 120000);
    assert.equal(done.status, 'failed');
    assert.ok(['carrier_unavailable', 'no_answer'].includes(done.error_code), JSON.stringify(done.attempts));
});

test('180, 200, then a BYE from the far end mid-call: transmission_interrupted', async () => {
    const { done, code, msgs, errors, last } = await run('uas-bye-midcall');
    assert.equal(code, 0, errors);
    assert.equal(done.error_code, 'transmission_interrupted', JSON.stringify(done.attempts));
    assert.equal(last.error_subcode, 'remote_hangup');
    assert.equal(last.sip_status, 200);
    assert.equal(last.pages_sent, 0);
    assert.equal(got(msgs, 'ACK').length, 1);
    assert.equal(got(msgs, 200).length, 1);   // mintfax's 200 to the BYE
});

for (const [scenario, subcode] of [['uas-200-no-sdp', 'no_sdp_answer'], ['uas-200-malformed-sdp', 'malformed_sdp'],
    ['uas-200-no-common-codec', 'no_common_codec']]) {
    test(`${scenario}: negotiation_failed/${subcode}, and mintfax hangs up`, async () => {
        const { done, code, msgs, errors, last } = await run(scenario);
        assert.equal(code, 0, errors);
        assert.equal(done.error_code, 'negotiation_failed', JSON.stringify(done.attempts));
        assert.equal(last.error_subcode, subcode);
        assert.equal(got(msgs, 'BYE').length, 1);
    });
}

test('a re-INVITE mintfax does not support yet is answered 488 and the call goes on', async () => {
    const { done, code, msgs, errors } = await run('uas-reinvite-refused');
    assert.equal(code, 0, errors);
    assert.equal(got(msgs, 488).length, 1);
    assert.equal(done.error_code, 'transmission_interrupted', JSON.stringify(done.attempts));
});
