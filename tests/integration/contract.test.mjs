// SPDX-License-Identifier: Apache-2.0
//
// The contract test: docs/openapi.yaml against a real mintfaxd. For every
// operation in the spec (one test() each) it sends the operation's example
// request (path parameters filled with ids of objects created first, ids in
// example bodies replaced by real ones), then checks the answer against the
// spec: the status is the operation's success status, the Content-Type is one
// the spec lists, required headers are present and valid, and the JSON body
// validates against the response schema (Ajv, JSON Schema 2020-12). Bodies
// are checked "closed": a property the schema does not document is an error,
// so the spec cannot silently fall behind the daemon. Each authenticated
// operation is also called without a key (401) and with the wrong kind of
// key (403), and those error bodies are validated against the Error schema.
//
// Binary answers (the fax's TIFF, its PNG page previews) are checked by
// their signatures; JSON Lines (the audit log) line by line against the
// schema of its items, and its hash chain is recomputed. The renderer runs
// through a wrapper ([render] program) that holds back documents carrying a
// marker for a few seconds, so a fax whose pages are not rendered yet (409)
// can be shown reliably.
//
// Webhooks: the daemon may deliver to loopback (MINTFAX_WEBHOOKS_ALLOW_PRIVATE)
// and example URLs under https://hooks.acme-clinic.test are replaced by a
// loopback receiver's, so endpoints created from the examples really receive
// events; the last test checks every delivery the receiver got against the
// spec's `webhooks` section (headers and body, closed schemas).
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { api, daemonPath, srcDir, startDaemon, waitFor } from './lib/daemon.mjs';
import { makePdf } from './lib/pdf.mjs';
import { EVENT_TYPES, startReceiver } from './lib/receiver.mjs';

const specPath = path.join(srcDir, 'docs', 'openapi.yaml');
const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
const pdf = makePdf({ pages: 1, text: 'mintfax contract test' });
// Documents with this text render SLOW_RENDER_S seconds late (see before()).
const SLOW_MARKER = 'mintfax-slow-render';
const SLOW_RENDER_S = 4;
const TIFF_LE = Buffer.from('II*\0', 'latin1');
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

// ---------------------------------------------------------------------------
// The spec: $ref resolution for non-schema components, and Ajv for schemas.

function pointer(ref) {
    assert.ok(ref.startsWith('#/'), `only local $refs are supported: ${ref}`);
    return ref.slice(2).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .reduce((node, key) => {
            assert.ok(node && key in node, `dangling $ref ${ref}`);
            return node[key];
        }, spec);
}
/** Follows $ref chains of a parameter, response, example, header, requestBody. */
function deref(node) {
    let n = node;
    for (let i = 0; n && typeof n === 'object' && n.$ref && i < 10; i++) n = pointer(n.$ref);
    return n;
}

// Two copies of components/schemas go to Ajv: "closed" ones, where every
// object schema with properties rejects properties it does not list
// (unevaluatedProperties: false), and "open" ones, used as members of allOf
// (whose parent closes the combination instead).
const CLOSED = 'https://mintfax.test/schemas/closed';
const OPEN = 'https://mintfax.test/schemas/open';

function toAjv(node, closed, inAllOf = false) {
    if (Array.isArray(node)) return node.map((n) => toAjv(n, closed, inAllOf));
    if (!node || typeof node !== 'object') return node;
    const out = {};
    for (const [k, v] of Object.entries(node)) {
        if (k === '$ref' && typeof v === 'string') {
            const m = /^#\/components\/schemas\/(.+)$/.exec(v);
            assert.ok(m, `unsupported schema $ref ${v}`);
            out.$ref = `${inAllOf ? OPEN : CLOSED}#/$defs/${m[1]}`;
        } else if (k === 'allOf') {
            out.allOf = v.map((member) => toAjv(member, closed, true));
        } else if (k === 'properties' || k === 'patternProperties' || k === '$defs') {
            out[k] = Object.fromEntries(Object.entries(v).map(([name, s]) => [name, toAjv(s, closed)]));
        } else if (['example', 'examples', 'xml', 'externalDocs', 'discriminator'].includes(k)) {
            // annotations that are not JSON Schema (or not needed here)
        } else {
            out[k] = toAjv(v, closed);
        }
    }
    const isObjectSchema = out.properties || out.allOf;
    if (closed && !inAllOf && isObjectSchema && !('additionalProperties' in out) && !('unevaluatedProperties' in out)) {
        out.unevaluatedProperties = false;
    }
    return out;
}

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const schemas = spec.components.schemas;
ajv.addSchema({ $id: CLOSED, $defs: Object.fromEntries(Object.entries(schemas).map(([n, s]) => [n, toAjv(s, true)])) });
ajv.addSchema({ $id: OPEN, $defs: Object.fromEntries(Object.entries(schemas).map(([n, s]) => [n, toAjv(s, true, true)])) });
const compiled = new Map();
function validator(schema) {
    const key = JSON.stringify(schema);
    if (!compiled.has(key)) compiled.set(key, ajv.compile(toAjv(schema, true)));
    return compiled.get(key);
}
function assertSchema(schema, value, what) {
    const validate = validator(schema);
    if (!validate(value)) {
        const errs = validate.errors.map((e) => {
            const extra = e.params?.unevaluatedProperty ? ` (undocumented property "${e.params.unevaluatedProperty}")`
                : e.params?.allowedValues ? ` (allowed: ${JSON.stringify(e.params.allowedValues)})` : '';
            return `  ${e.instancePath || '/'} ${e.message}${extra}`;
        });
        assert.fail(`${what} does not match its schema:\n${errs.join('\n')}\nbody: ${JSON.stringify(value).slice(0, 1500)}`);
    }
}

/** Every operation of the spec, in file order. */
const operations = [];
for (const [p, item] of Object.entries(spec.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
        const op = item[method];
        if (!op) continue;
        const params = [...(item.parameters || []), ...(op.parameters || [])].map(deref);
        const security = op.security ?? spec.security ?? [];
        const schemes = security.flatMap((req) => Object.keys(req));
        operations.push({ id: op.operationId, method: method.toUpperCase(), path: p, op, params, schemes });
    }
}

// ---------------------------------------------------------------------------
// The daemon and the objects the operations need.

let d;        // the daemon
let receiver; // the loopback webhook receiver (answers 204)
let tmp;      // the render wrapper's directory
const fx = {};   // fixtures made so far, by name
const mediaType = (ct) => (ct || '').split(';')[0].trim().toLowerCase();

/** The renderer the daemon would find itself: beside it, or in the build tree. */
function realRenderer() {
    const dir = path.dirname(daemonPath);
    const found = [path.join(dir, 'mintfax-render'), path.join(dir, '..', 'modules', 'convert', 'mintfax-render')]
        .find((p) => { try { fs.accessSync(p, fs.constants.X_OK); return true; } catch { return false; } });
    assert.ok(found, `no mintfax-render beside ${daemonPath} or in ../modules/convert`);
    return path.resolve(found);
}

before(async () => {
    receiver = await startReceiver();
    // [render] program: a wrapper that holds back documents carrying
    // SLOW_MARKER (the renderer reads its input at /proc/self/fd/3), then
    // runs the real renderer with the same arguments and descriptors.
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mintfax-contract-'));
    const wrapper = path.join(tmp, 'slow-render');
    fs.writeFileSync(wrapper, '#!/bin/sh\n' +
        `if grep -q '${SLOW_MARKER}' /proc/self/fd/3 2>/dev/null; then sleep ${SLOW_RENDER_S}; fi\n` +
        `exec '${realRenderer()}' "$@"\n`, { mode: 0o755 });
    d = await startDaemon({
        env: {
            MINTFAX_SANDBOX_TIME_SCALE: '0.001',
            MINTFAX_RATELIMIT_POLL_INTERVAL: '0',
            MINTFAX_RATELIMIT_REQUESTS: '100000',
            MINTFAX_WEBHOOKS_ALLOW_PRIVATE: 'true',
            MINTFAX_RENDER_PROGRAM: wrapper,
        },
    });
});

after(async () => {
    if (d) await d.stop();
    if (receiver) await receiver.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const keyFor = (scheme) => ({ environmentKey: d.keys.sandbox_key, accountKey: d.keys.account_key }[scheme]);

async function call(key, method, urlPath, body, headers) {
    return api(d.url, key, method, urlPath, body, headers);
}
function expectCreated(res, what) {
    assert.ok(res.status >= 200 && res.status < 300,
        `creating ${what} failed: ${res.status} ${res.text.slice(0, 500)}`);
    return res.body;
}

async function uploadDocument(bytes = pdf) {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'application/pdf' }), 'contract.pdf');
    return expectCreated(await call(d.keys.sandbox_key, 'POST', '/v1/documents', form), 'a document').id;
}
async function createFax(body) {
    const res = await call(d.keys.sandbox_key, 'POST', '/v1/faxes', { document_id: await fixture('doc'), ...body });
    return expectCreated(res, `a fax to ${body.to}`).id;
}
async function getFax(id) {
    const res = await call(d.keys.sandbox_key, 'GET', `/v1/faxes/${id}`);
    assert.equal(res.status, 200, `GET /v1/faxes/${id}: ${res.status} ${res.text.slice(0, 300)}`);
    return res.body;
}
const terminal = (f) => f.status === 'delivered' || f.status === 'failed';
async function waitDelivered(id) {
    const f = await waitFor(async () => { const x = await getFax(id); return terminal(x) && x; },
        { timeoutMs: 20000, what: `fax ${id} to be terminal` });
    assert.equal(f.status, 'delivered', `fax ${id}: ${f.error_code} ${f.error_message}`);
    return id;
}
/** The files under dir (recursively) named name. */
function filesNamed(dir, name) {
    const out = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...filesNamed(p, name));
        else if (e.name === name) out.push(p);
    }
    return out;
}

const makers = {
    doc: uploadDocument,
    fax: () => createFax({ to: '+15005550001' }),
    // Busy on every attempt with 10 retries: stays non-terminal for minutes.
    cancellableFax: () => createFax({ to: '+15005550002', retries: 10 }),
    // A terminal fax (bad_destination fails at once) with a document of its
    // own, since deleting it deletes its document.
    terminalFax: async () => {
        fx.terminalFaxDoc = await uploadDocument();
        const id = await createFax({ to: '+15005550005', retries: 0, document_id: fx.terminalFaxDoc });
        await waitFor(async () => terminal(await getFax(id)), { timeoutMs: 20000, what: `fax ${id} to fail` });
        return id;
    },
    slowDoc: () => uploadDocument(makePdf({ pages: 1, text: SLOW_MARKER })),
    // The example fax, once its pages are rendered (and it was delivered).
    renderedFax: async () => waitDelivered(await fixture('fax')),
    // Two pages, its own document; delivered.
    twoPageFax: async () => waitDelivered(await createFax({ to: '+15005550001',
        document_id: await uploadDocument(makePdf({ pages: 2, text: 'mintfax contract pages' })) })),
    // Delivered, then a byte of its sealed page file flipped on disk.
    damagedFax: async () => {
        const id = await waitDelivered(await createFax({ to: '+15005550001', document_id: await uploadDocument() }));
        const files = filesNamed(d.dataDir, id);
        assert.equal(files.length, 1, `one stored file named ${id} under ${d.dataDir}: ${files.join(', ')}`);
        const bytes = fs.readFileSync(files[0]);
        bytes[bytes.length >> 1] ^= 0x01;
        fs.writeFileSync(files[0], bytes);
        return id;
    },
    event: async () => {
        await fixture('fax');
        const res = await waitFor(async () => {
            const r = await call(d.keys.sandbox_key, 'GET', '/v1/events');
            return r.status === 200 && r.body.data?.length > 0 && r;
        }, { timeoutMs: 10000, what: 'an event in GET /v1/events' });
        return res.body.data[0].id;
    },
    number: async () => {
        const n = `+1555${String(Date.now() % 10000000).padStart(7, '0')}`;
        return expectCreated(await call(d.keys.sandbox_key, 'POST', '/v1/numbers', { number: n }), 'a number').id;
    },
    workspace: async () => d.keys.workspace_id,
    apiKey: async () => expectCreated(await call(d.keys.account_key, 'POST',
        `/v1/workspaces/${d.keys.workspace_id}/keys`, { environment: 'sandbox', name: 'contract' }), 'an API key').id,
    webhook: async () => expectCreated(await call(d.keys.sandbox_key, 'POST', '/v1/webhooks',
        { url: `${receiver.url}/contract`, description: 'contract' }), 'a webhook endpoint').id,
    // Deleted by deleteWebhookEndpoint, so that the others keep theirs.
    deletableWebhook: async () => expectCreated(await call(d.keys.sandbox_key, 'POST', '/v1/webhooks',
        { url: `${receiver.url}/deletable` }), 'a webhook endpoint').id,
    // A finished attempt of a delivery to the fixture endpoint.
    webhookAttempt: async () => {
        const endpoint = await fixture('webhook');
        await fixture('fax');
        const res = await waitFor(async () => {
            const r = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/attempts?endpoint=${endpoint}&status=succeeded`);
            return r.status === 200 && r.body.data?.length > 0 && r;
        }, { timeoutMs: 15000, what: 'a succeeded webhook attempt' });
        return res.body.data[0].id;
    },
};
async function fixture(name) {
    if (!(name in fx)) fx[name] = await makers[name]();
    return fx[name];
}

// Ids in example bodies are replaced with real ones by their prefix.
const idFixture = { doc: 'doc', fax: 'fax', fnum: 'number', ws: 'workspace', key: 'apiKey', evt: 'event' };
const ID_RE = /^(doc|fax|fnum|ws|key|evt)_[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
async function realIds(value) {
    if (Array.isArray(value)) return Promise.all(value.map(realIds));
    if (value && typeof value === 'object') {
        const out = {};
        for (const [k, v] of Object.entries(value)) out[k] = await realIds(v);
        return out;
    }
    const m = typeof value === 'string' && ID_RE.exec(value);
    if (m) return fixture(idFixture[m[1]]);
    // Example webhook URLs go to the loopback receiver instead.
    if (typeof value === 'string' && value.startsWith(EXAMPLE_HOOKS)) return receiver.url + value.slice(EXAMPLE_HOOKS.length);
    return value;
}
const EXAMPLE_HOOKS = 'https://hooks.acme-clinic.test';

// Path parameters: by name, with the fax each operation needs.
const faxFor = {
    cancelFax: 'cancellableFax',
    deleteFax: 'terminalFax',
    getFaxImage: 'renderedFax',
    getFaxPage: 'renderedFax',
};
const webhookFor = {
    deleteWebhookEndpoint: 'deletableWebhook',
};
async function pathParam(o, name) {
    switch (name) {
    case 'fax_id': return fixture(faxFor[o.id] || 'fax');
    case 'document_id': return fixture('doc');
    case 'event_id': return fixture('event');
    case 'workspace_id': return fixture('workspace');
    case 'key_id': return fixture('apiKey');
    case 'webhook_id': return fixture(webhookFor[o.id] || 'webhook');
    case 'attempt_id': return fixture('webhookAttempt');
    default: {
        const p = o.params.find((x) => x.in === 'path' && x.name === name);
        assert.ok(p && p.example !== undefined, `${o.id}: no way to fill path parameter {${name}}`);
        return p.example;
    }
    }
}
async function buildUrl(o) {
    let url = o.path;
    for (const name of [...o.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])) {
        url = url.replace(`{${name}}`, encodeURIComponent(await pathParam(o, name)));
    }
    const q = new URLSearchParams();
    for (const p of o.params) {
        if (p.in === 'query' && p.example !== undefined) q.append(p.name, String(p.example));
    }
    return q.size ? `${url}?${q}` : url;
}

/** The examples of a media type object, as [name, value] (examples map, or example). */
function examplesOf(media) {
    if (media.examples) return Object.entries(media.examples).map(([name, ex]) => [name, deref(ex)?.value]);
    return media.example === undefined ? [] : [['example', media.example]];
}

/** The example requests of an operation: every example of every request content type. */
async function exampleRequests(o) {
    const rb = deref(o.op.requestBody);
    if (!rb) return [{ label: 'no body', body: undefined, headers: {} }];
    const out = [];
    for (const [type, media] of Object.entries(rb.content)) {
        const examples = examplesOf(media);
        assert.ok(examples.length > 0, `${o.id}: no example for ${type}`);
        for (const [name, example] of examples) out.push(await exampleRequest(o, type, media, name, example));
    }
    return out;
}

async function exampleRequest(o, type, media, name, example) {
    const label = `${type} example "${name}"`;
    const value = await realIds(example);
    if (type === 'application/json') return { label, body: value, headers: {} };
    if (type === 'multipart/form-data') {
        // Parts whose schema is binary get the test PDF; the rest are text.
        const schema = media.schema.$ref ? pointer(media.schema.$ref) : media.schema;
        const form = new FormData();
        for (const [k, v] of Object.entries(value)) {
            const prop = schema.properties?.[k] || {};
            if (prop.contentMediaType === 'application/octet-stream') {
                form.append(k, new Blob([pdf], { type: 'application/pdf' }), 'contract.pdf');
            } else {
                form.append(k, typeof v === 'object' ? JSON.stringify(v) : String(v));
            }
        }
        return { label, body: form, headers: {} };
    }
    return assert.fail(`${o.id}: the test cannot send ${type} yet`);
}

// ---------------------------------------------------------------------------
// Checking an answer against the spec.

function headerValue(schema, raw) {
    const s = schema.$ref ? pointer(schema.$ref) : schema;
    if (s.type === 'integer' || s.type === 'number') return /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
    return raw;
}

/**
 * Checks res against the spec's response for its status; the status must be
 * one the operation documents (explicitly, or expected when given).
 */
function checkResponse(o, res, expected) {
    const responses = o.op.responses;
    const where = `${o.method} ${o.path} → ${res.status}`;
    if (expected !== undefined) {
        assert.equal(res.status, expected,
            `${o.method} ${o.path}: expected ${expected}, got ${res.status}: ${res.text.slice(0, 600)}`);
    }
    const specResponse = deref(responses[String(res.status)] || responses.default);
    assert.ok(specResponse, `${where}: status not documented`);
    if (!responses[String(res.status)]) assert.ok(res.status >= 400, `${where}: only errors may fall to default`);

    for (const [name, h] of Object.entries(specResponse.headers || {})) {
        const hd = deref(h);
        const raw = res.headers.get(name);
        if (raw === null) {
            assert.ok(!hd.required, `${where}: required header ${name} missing`);
            continue;
        }
        assertSchema(hd.schema, headerValue(hd.schema, raw), `${where}: header ${name}`);
    }
    const xr = res.headers.get('x-request-id');
    assert.ok(xr, `${where}: no X-Request-Id`);
    assert.equal(res.headers.get('request-id'), xr, `${where}: Request-Id differs from X-Request-Id`);

    const content = specResponse.content;
    if (!content) {
        assert.equal(res.bytes.length, 0, `${where}: the spec documents no body, got ${res.text.slice(0, 200)}`);
        return;
    }
    const type = mediaType(res.contentType);
    assert.ok(type in content, `${where}: Content-Type "${res.contentType}" is not one of ${Object.keys(content).join(', ')}`);
    const media = content[type];
    if (type === 'application/json') {
        assertSchema(media.schema, res.body, `${where} body`);
        if (res.status >= 400) assert.equal(res.body.request_id, xr, `${where}: request_id differs from X-Request-Id`);
    } else if (type === 'application/jsonl') {
        // The schema describes the lines as an array (OpenAPI 3.2's reading
        // of sequential media types).
        assertSchema(media.schema, jsonLines(res.text, where), `${where} lines`);
    } else {
        assert.ok(res.bytes.length > 0, `${where}: empty ${type} body`);
    }
}

/** The JSON values of a JSON Lines body (every line ends in \n). */
function jsonLines(text, where) {
    if (text === '') return [];
    assert.ok(text.endsWith('\n'), `${where}: the last line does not end in \\n`);
    return text.slice(0, -1).split('\n').map((line, i) => {
        try {
            return JSON.parse(line);
        } catch (err) {
            return assert.fail(`${where}: line ${i + 1} is not JSON (${err.message}): ${line.slice(0, 200)}`);
        }
    });
}

/** Checks an audit log export's hash chain from its text; returns the lines. */
function checkAuditChain(text, { prevHash = '0'.repeat(64), firstSeq = 1 } = {}) {
    const lines = text === '' ? [] : text.slice(0, -1).split('\n');
    let prev = prevHash;
    lines.forEach((line, i) => {
        const cut = line.lastIndexOf(',"hash":"');
        assert.ok(cut > 0, `audit line ${i + 1} has no hash`);
        const entry = JSON.parse(line);
        assert.equal(entry.seq, firstSeq + i, `audit line ${i + 1}: seq`);
        assert.equal(entry.prev_hash, prev, `audit line ${i + 1}: prev_hash is the previous line's hash`);
        const hash = crypto.createHash('sha256').update(prev).update(`${line.slice(0, cut)}}`).digest('hex');
        assert.equal(entry.hash, hash, `audit line ${i + 1}: hash = SHA-256(prev_hash + the line up to ,"hash":" + "}")`);
        assert.ok(line.endsWith(`,"hash":"${hash}"}`), `audit line ${i + 1}: the hash ends the line`);
        prev = hash;
    });
    return lines.map((l) => JSON.parse(l));
}

/** Sends o's example requests and checks each answer; returns the answers. */
async function runExample(o, { headers = {} } = {}) {
    const key = o.schemes.length ? keyFor(o.schemes[0]) : null;
    const success = Object.keys(o.op.responses).filter((s) => /^2\d\d$/.test(s)).sort()[0];
    assert.ok(success, `${o.id}: no 2xx response in the spec`);
    const answers = [];
    for (const req of await exampleRequests(o)) {
        const url = await buildUrl(o);
        const res = await call(key, o.method, url, req.body, { ...req.headers, ...headers });
        try {
            checkResponse(o, res, Number(success));
        } catch (err) {
            err.message = `${req.label}: ${err.message}`;
            throw err;
        }
        answers.push({ req, res, url });
    }
    return answers;
}

/** The auth errors of an authenticated operation: no key, then the wrong kind. */
async function checkAuthErrors(o) {
    if (!o.schemes.length) return;
    const url = await buildUrl(o);
    const noKey = await call(null, o.method, url);
    checkResponse(o, noKey, 401);
    assert.equal(noKey.body.error, 'unauthenticated');
    const wrong = o.schemes[0] === 'accountKey' ? d.keys.sandbox_key : d.keys.account_key;
    const forbidden = await call(wrong, o.method, url);
    checkResponse(o, forbidden, 403);
    assert.equal(forbidden.body.error, 'forbidden');
}

// Extra checks of particular operations, after the example was sent.
const extra = {
    async createFax(o, [{ res }]) {
        fx.fax ??= res.body.id;
        assert.equal(res.body.status, 'queued');
        assert.equal(res.body.environment, 'sandbox');
        // Idempotency: the same request replays, another request is refused.
        const idem = { 'Idempotency-Key': `contract-${Date.now()}` };
        const [req] = await exampleRequests(o);
        const first = await call(d.keys.sandbox_key, 'POST', o.path, req.body, idem);
        checkResponse(o, first, 201);
        const again = await call(d.keys.sandbox_key, 'POST', o.path, req.body, idem);
        checkResponse(o, again, 201);
        assert.equal(again.headers.get('idempotent-replayed'), 'true', 'a replay carries Idempotent-Replayed: true');
        assert.equal(again.headers.get('x-idempotency-key'), idem['Idempotency-Key']);
        assert.equal(again.text, first.text, 'a replay is the first answer byte for byte');
        const other = await call(d.keys.sandbox_key, 'POST', o.path, { ...req.body, to: '+15005550007' }, idem);
        checkResponse(o, other, 409);
        assert.equal(other.body.error, 'idempotency_key_reuse');
        // The magic numbers refused at submission.
        const poor = await call(d.keys.sandbox_key, 'POST', o.path, { ...req.body, to: '+15005550006' });
        checkResponse(o, poor, 402);
        assert.equal(poor.body.error, 'insufficient_balance');
        const invalid = await call(d.keys.sandbox_key, 'POST', o.path, { ...req.body, to: '+15005550099' });
        checkResponse(o, invalid, 422);
        assert.equal(invalid.body.error, 'validation_failed');
        assert.ok(invalid.body.context?.errors && Object.keys(invalid.body.context.errors).length > 0,
            'validation_failed names the rejected fields in context.errors');
        // Bodies that are not JSON, or not JSON at all.
        const broken = await call(d.keys.sandbox_key, 'POST', o.path, '{"to": ', { 'Content-Type': 'application/json' });
        checkResponse(o, broken, 400);
        assert.equal(broken.body.error, 'invalid_json');
        const plain = await call(d.keys.sandbox_key, 'POST', o.path, 'to=+15005550001', { 'Content-Type': 'text/plain' });
        checkResponse(o, plain, 415);
        assert.equal(plain.body.error, 'unsupported_media_type');
    },
    async listFaxes(o, [{ res }]) {
        const key = d.keys.sandbox_key;
        assert.ok(res.body.data.length > 0, 'faxes were created before');
        const ids = res.body.data.map((f) => f.id);
        assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
        // Paging with per_page=1 walks the same faxes, once each.
        const seen = [];
        let cursor = null;
        for (let page = 0; page < 100; page++) {
            const r = await call(key, 'GET', `/v1/faxes?per_page=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
            checkResponse(o, r, 200);
            seen.push(...r.body.data.map((f) => f.id));
            if (!r.body.has_more) {
                assert.equal(r.body.next_cursor, null, 'the last page has next_cursor null');
                break;
            }
            cursor = r.body.next_cursor;
            assert.ok(cursor, 'has_more comes with a next_cursor');
        }
        assert.deepEqual(seen, ids.slice(0, seen.length), 'pages follow the list order');
        assert.equal(new Set(seen).size, seen.length, 'no fax appears twice');
        // Filters.
        const failed = await call(key, 'GET', '/v1/faxes?status=failed');
        checkResponse(o, failed, 200);
        assert.ok(failed.body.data.length > 0 && failed.body.data.every((f) => f.status === 'failed'), 'status filter');
        const tagged = await call(key, 'GET', '/v1/faxes?tag%5Bcase%5D=A-1');
        checkResponse(o, tagged, 200);
        assert.ok(tagged.body.data.length > 0 && tagged.body.data.every((f) => f.tags.case === 'A-1'), 'tag[KEY] filter');
        const to = await call(key, 'GET', `/v1/faxes?to=${encodeURIComponent('+15005550007')}`);
        checkResponse(o, to, 200);
        assert.ok(to.body.data.length > 0 && to.body.data.every((f) => f.to === '+15005550007'), 'to filter');
        // Bad paging input.
        const badCursor = await call(key, 'GET', '/v1/faxes?cursor=not-a-cursor');
        checkResponse(o, badCursor, 400);
        assert.equal(badCursor.body.error, 'invalid_cursor');
        const badPer = await call(key, 'GET', '/v1/faxes?per_page=0');
        checkResponse(o, badPer, 422);
        assert.equal(badPer.body.error, 'validation_failed');
    },
    async listEvents(o, [{ res }]) {
        const key = d.keys.sandbox_key;
        assert.ok(res.body.data.length > 0);
        const fax = await fixture('fax');
        const mine = await call(key, 'GET', `/v1/events?fax_id=${fax}`);
        checkResponse(o, mine, 200);
        assert.ok(mine.body.data.length > 0 && mine.body.data.every((e) => e.data.object.id === fax), 'fax_id filter');
        assert.equal(mine.body.data.filter((e) => e.type === 'fax.queued').length, 1, 'fax.queued once per fax');
        const queued = await call(key, 'GET', '/v1/events?type=fax.queued');
        checkResponse(o, queued, 200);
        assert.ok(queued.body.data.length > 0 && queued.body.data.every((e) => e.type === 'fax.queued'), 'type filter');
        for (const e of res.body.data) {
            assert.equal(e.event, e.type);
            assert.equal(e.event_id, e.id);
            assert.equal(Math.floor(Date.parse(e.timestamp) / 1000), e.created, 'timestamp and created are the same moment');
        }
    },
    async getFax(o, [{ res }]) {
        assert.equal(res.body.id, fx.fax);
    },
    async cancelFax(o, [{ res }]) {
        assert.equal(res.body.status, 'failed');
        assert.equal(res.body.error_code, 'cancelled');
        assert.equal(res.body.cost.held, 0, 'a cancelled fax holds nothing');
        const again = await call(d.keys.sandbox_key, 'POST', `/v1/faxes/${res.body.id}/cancel`);
        checkResponse(o, again, 409);
        assert.equal(again.body.error, 'invalid_state');
    },
    async resendFax(o, [{ res }]) {
        assert.equal(res.body.resent_from, fx.fax);
        assert.equal(res.body.to, '+15005550007');
    },
    async deleteFax(o, [{ res }]) {
        assert.ok(terminal(res.body));
        assert.equal(res.body.purged, true, 'the answer is the purged fax');
        const image = operations.find((x) => x.id === 'getFaxImage');
        const gone = await call(d.keys.sandbox_key, 'GET', `/v1/faxes/${res.body.id}/image`);
        checkResponse(image, gone, 410);
        assert.equal(gone.body.error, 'gone');
        const page = operations.find((x) => x.id === 'getFaxPage');
        const pageGone = await call(d.keys.sandbox_key, 'GET', `/v1/faxes/${res.body.id}/pages/1.png`);
        checkResponse(page, pageGone, 410);
        assert.equal(pageGone.body.error, 'gone');
        const resend = operations.find((x) => x.id === 'resendFax');
        const again = await call(d.keys.sandbox_key, 'POST', `/v1/faxes/${res.body.id}/resend`);
        checkResponse(resend, again, 410);
        // Its document (no other fax used it) is deleted too.
        const docOp = operations.find((x) => x.id === 'getDocument');
        const doc = await call(d.keys.sandbox_key, 'GET', `/v1/documents/${fx.terminalFaxDoc}`);
        checkResponse(docOp, doc, 200);
        assert.equal(doc.body.deleted, true, 'the document of the purged fax is deleted');
        // Deleting it again answers the same record.
        const twice = await call(d.keys.sandbox_key, 'DELETE', `/v1/faxes/${res.body.id}`);
        checkResponse(o, twice, 200);
        assert.equal(twice.body.purged_at, res.body.purged_at);
        // Only terminal faxes: a fax still retrying is refused (then cancelled).
        const busy = await createFax({ to: '+15005550002', retries: 10, document_id: await uploadDocument() });
        const early = await call(d.keys.sandbox_key, 'DELETE', `/v1/faxes/${busy}`);
        checkResponse(o, early, 409);
        assert.equal(early.body.error, 'invalid_state');
        await call(d.keys.sandbox_key, 'POST', `/v1/faxes/${busy}/cancel`);
    },
    async getFaxImage(o, [{ res }]) {
        const key = d.keys.sandbox_key;
        assert.ok(res.bytes.subarray(0, 4).equals(TIFF_LE), `a little-endian TIFF: ${res.bytes.subarray(0, 8).toString('hex')}`);
        assert.equal(res.headers.get('content-disposition'), `inline; filename="${fx.renderedFax}.tif"`);
        // The older path answers the same.
        const alias = await call(key, 'GET', `/v1/fax/${fx.renderedFax}/image`);
        assert.equal(alias.status, 200);
        assert.ok(alias.bytes.equals(res.bytes), 'GET /v1/fax/{fax_id}/image is the same file');
        // Pages not rendered yet: a document the render wrapper holds back.
        const slow = await createFax({ to: '+15005550001', document_id: await fixture('slowDoc') });
        const early = await call(key, 'GET', `/v1/faxes/${slow}/image`);
        checkResponse(o, early, 409);
        assert.equal(early.body.error, 'invalid_state');
        const page = operations.find((x) => x.id === 'getFaxPage');
        const earlyPage = await call(key, 'GET', `/v1/faxes/${slow}/pages/1.png`);
        checkResponse(page, earlyPage, 409);
        assert.equal(earlyPage.body.error, 'invalid_state');
        await call(key, 'POST', `/v1/faxes/${slow}/cancel`);
        // A page file changed on disk is refused, never served.
        const damaged = await fixture('damagedFax');
        const bad = await call(key, 'GET', `/v1/faxes/${damaged}/image`);
        checkResponse(o, bad, 500);
        assert.equal(bad.body.error, 'data_integrity_failed');
        const badPage = await call(key, 'GET', `/v1/faxes/${damaged}/pages/1.png`);
        checkResponse(page, badPage, 500);
        assert.equal(badPage.body.error, 'data_integrity_failed');
        // Unknown fax.
        const none = await call(key, 'GET', '/v1/faxes/fax_01HZZZZZZZZZZZZZZZZZZZZZZZ/image');
        checkResponse(o, none, 404);
        assert.equal(none.body.error, 'not_found');
    },
    async getFaxPage(o, [{ res }]) {
        const key = d.keys.sandbox_key;
        const png = (r, what) => {
            assert.ok(r.bytes.subarray(0, 8).equals(PNG_SIGNATURE), `${what}: the PNG signature: ${r.bytes.subarray(0, 8).toString('hex')}`);
            assert.equal(r.bytes.subarray(12, 16).toString('latin1'), 'IHDR', `${what}: IHDR first`);
            assert.equal(r.bytes.readUInt32BE(16), 1728, `${what}: 1728 pixels wide`);
            assert.equal(r.bytes[24], 1, `${what}: 1 bit per pixel`);
            assert.equal(r.bytes[25], 0, `${what}: greyscale`);
            return r.bytes.readUInt32BE(20);
        };
        const height = png(res, 'page 1');
        assert.ok(height > 1900 && height < 2400, `a letter page at about 196 rows per inch, not ${height}`);
        // Every page of a two-page fax, then one past the end.
        const two = await fixture('twoPageFax');
        for (const n of [1, 2]) {
            const r = await call(key, 'GET', `/v1/faxes/${two}/pages/${n}.png`);
            checkResponse(o, r, 200);
            png(r, `page ${n} of 2`);
        }
        const past = await call(key, 'GET', `/v1/faxes/${two}/pages/3.png`);
        checkResponse(o, past, 404);
        assert.equal(past.body.error, 'not_found');
        // Segments that are not <n>.png.
        for (const seg of ['0.png', '01.png', '1', 'one.png', '1.PNG', '1.png.png']) {
            const r = await call(key, 'GET', `/v1/faxes/${two}/pages/${seg}`);
            checkResponse(o, r, 404);
            assert.equal(r.body.error, 'route_not_found', seg);
        }
    },
    async createDocument(o, [{ res }]) {
        fx.doc ??= res.body.id;
        assert.equal(res.body.content_type, 'application/pdf');
        assert.equal(res.body.size, pdf.length);
    },
    async createNumber(o, [{ res }]) {
        fx.number ??= res.body.id;
    },
    async createWorkspaceKey(o, [{ res }]) {
        if (!fx.apiKey) {
            fx.apiKey = res.body.id;
            fx.apiKeySecret = res.body.key;
        }
        const works = await call(res.body.key, 'GET', '/v1/environment/balance');
        assert.equal(works.status, 200, 'the new key works at once');
    },
    async revokeWorkspaceKey(o, [{ res }]) {
        assert.ok(res.body.revoked_at, 'revoked_at is set');
        const list = await call(d.keys.account_key, 'GET', `/v1/workspaces/${d.keys.workspace_id}/keys?per_page=100`);
        assert.equal(list.body.data.find((k) => k.id === res.body.id)?.revoked_at, res.body.revoked_at, 'the list shows the revocation');
        assert.ok(!('key' in res.body), 'the secret is never shown again');
        if (fx.apiKeySecret && res.body.id === fx.apiKey) {
            const balance = operations.find((x) => x.id === 'getBalance');
            const r = await call(fx.apiKeySecret, 'GET', '/v1/environment/balance');
            checkResponse(balance, r, 401);
            assert.equal(r.body.error, 'unauthenticated', 'a revoked key stops working at once');
        }
    },
    async createTopup(o, [{ req, res }]) {
        assert.equal(res.body.amount, req.body.amount);
        assert.equal(res.body.balance.type, 'sandbox');
        const live = await call(d.keys.live_key, 'POST', o.path, req.body);
        checkResponse(o, live, 403);
        assert.equal(live.body.error, 'forbidden', 'a live key cannot top itself up');
    },
    async createWorkspaceTopup(o, [{ req, res }]) {
        assert.equal(res.body.amount, req.body.amount);
        assert.equal(res.body.balance.type, req.body.environment);
    },
    async createWorkspace(o, [{ res }]) {
        for (const k of res.body.keys) {
            const r = await call(k.key, 'GET', '/v1/workspace');
            assert.equal(r.status, 200, `the new ${k.environment} key works`);
            assert.equal(r.body.id, res.body.id);
        }
    },
    async getCurrentWorkspace(o, [{ res }]) {
        assert.equal(res.body.id, d.keys.workspace_id);
    },
    async signBaa(o, [{ req, res }]) {
        const key = d.keys.sandbox_key;
        assert.equal(res.body.signer, req.body.signer_name);
        for (const f of ['signer_title', 'organization', 'version']) assert.equal(res.body[f], req.body[f], f);
        const ws = operations.find((x) => x.id === 'getCurrentWorkspace');
        // The whole workspace signed: its live key sees it too.
        for (const k of [key, d.keys.live_key]) {
            const got = await call(k, 'GET', '/v1/workspace');
            checkResponse(ws, got, 200);
            const { object, ...baa } = res.body;
            assert.equal(object, 'baa');
            assert.deepEqual(got.body.baa, baa, 'GET /v1/workspace shows the signature');
        }
        const audit = await call(key, 'GET', '/v1/workspace/audit?action=baa.signed');
        assert.equal(audit.status, 200, audit.text);
        const entries = jsonLines(audit.text, 'audit');
        assert.ok(entries.length >= 1 && entries.at(-1).details.signer === req.body.signer_name, 'baa.signed is in the audit log');
        // Every field is required; no others.
        for (const body of [{ ...req.body, signer_name: '' }, { ...req.body, version: undefined }, { ...req.body, colour: 'red' }]) {
            const bad = await call(key, 'POST', o.path, JSON.parse(JSON.stringify(body)));
            checkResponse(o, bad, 422);
            assert.equal(bad.body.error, 'validation_failed');
        }
    },
    async exportAuditLog(o, [{ res }]) {
        const key = d.keys.sandbox_key;
        assert.equal(mediaType(res.contentType), 'application/jsonl');
        const all = await call(key, 'GET', '/v1/workspace/audit');
        checkResponse(o, all, 200);
        const entries = checkAuditChain(all.text);
        const actions = new Set(entries.map((e) => e.action));
        for (const a of ['fax.created', 'fax.cancelled', 'fax.deleted', 'settings.updated', 'baa.signed', 'balance.topup',
            'webhook_endpoint.created', 'webhook_endpoint.updated', 'webhook_endpoint.deleted', 'webhook_endpoint.secret_rotated']) {
            assert.ok(actions.has(a), `the operations above left a ${a} entry`);
        }
        assert.ok(entries.every((e) => e.actor === 'system' || e.actor.startsWith('key_')), 'actors are key ids or system');
        assert.ok(!all.text.includes(d.keys.sandbox_key) && !all.text.includes(d.keys.account_key), 'no key in the log');
        // The example's limit takes the oldest entries.
        assert.deepEqual(jsonLines(res.text, 'limited').map((e) => e.seq), entries.slice(0, 1000).map((e) => e.seq));
        // since=N: the entries after N, a chain that continues from entry N.
        const n = Math.floor(entries.length / 2);
        const tail = await call(key, 'GET', `/v1/workspace/audit?since=${n}`);
        checkResponse(o, tail, 200);
        checkAuditChain(tail.text, { prevHash: entries[n - 1].hash, firstSeq: n + 1 });
        // since=<time>: at or after it.
        const t = entries[n].at;
        const later = await call(key, 'GET', `/v1/workspace/audit?since=${encodeURIComponent(t)}`);
        checkResponse(o, later, 200);
        assert.ok(jsonLines(later.text, 'since time').every((e) => e.at >= t) && later.text.includes(`"seq":${entries[n].seq},`));
        const created = await call(key, 'GET', '/v1/workspace/audit?action=fax.created&limit=2');
        checkResponse(o, created, 200);
        const c = jsonLines(created.text, 'action');
        assert.equal(c.length, 2);
        assert.ok(c.every((e) => e.action === 'fax.created'), 'action filter');
        const none = await call(key, 'GET', '/v1/workspace/audit?action=no.such.action');
        checkResponse(o, none, 200);
        assert.equal(none.text, '', 'nothing to return is an empty body');
        for (const q of ['since=yesterday', 'limit=0', 'limit=100001']) {
            const bad = await call(key, 'GET', `/v1/workspace/audit?${q}`);
            checkResponse(o, bad, 422);
            assert.equal(bad.body.error, 'validation_failed', q);
        }
        // Each environment has its own chain: the live one starts at 1.
        const live = await call(d.keys.live_key, 'GET', '/v1/workspace/audit');
        checkResponse(o, live, 200);
        checkAuditChain(live.text);
    },
    async listWorkspaceKeys(o, [{ res }]) {
        const ids = res.body.data.map((k) => k.id);
        assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
        const sandbox = res.body.data.find((k) => k.environment === 'sandbox' && k.last_used_at);
        assert.ok(sandbox, 'the sandbox key in use has last_used_at');
        assert.ok(!JSON.stringify(res.body).includes(d.keys.sandbox_key), 'no secret is listed');
        const apiKey = await fixture('apiKey');
        assert.ok(ids.includes(apiKey), 'a key made with POST is listed');
        const page = await call(d.keys.account_key, 'GET', `${o.path.replace('{workspace_id}', d.keys.workspace_id)}?per_page=1`);
        checkResponse(o, page, 200);
        assert.equal(page.body.data.length, 1);
        assert.equal(page.body.has_more, true);
        const unknown = await call(d.keys.account_key, 'GET', '/v1/workspaces/ws_01HZZZZZZZZZZZZZZZZZZZZZZZ/keys');
        checkResponse(o, unknown, 404);
        assert.equal(unknown.body.error, 'not_found');
    },
    async getOpenApiSpec(o, [{ res }]) {
        assert.deepEqual(YAML.parse(res.text), spec, 'GET /v1/openapi.yaml serves docs/openapi.yaml');
    },
    async getErrorPage(o) {
        const unknown = await call(null, 'GET', '/docs/errors/no_such_code');
        checkResponse(o, unknown, 404);
    },
    async getBalance(o, [{ res }]) {
        assert.equal(res.body.type, 'sandbox');
    },
    async updateSettings(o, [{ req, res }]) {
        for (const [k, v] of Object.entries(req.body)) assert.deepEqual(res.body[k], v, `settings.${k} was changed`);
    },
    async createWebhookEndpoint(o, answers) {
        // The endpoint later operations use (every event type), made now so
        // that it receives the events of the faxes created next.
        await fixture('webhook');
        for (const { req, res } of answers) {
            assert.equal(res.body.url, req.body.url);
            assert.deepEqual(res.body.events, req.body.events ?? null, 'events absent means every type (null)');
            assert.equal(res.body.is_active, true);
            const got = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/${res.body.id}`);
            assert.equal(got.status, 200);
            assert.ok(!('signing_secret' in got.body), 'the secret is shown once');
        }
        // Refused: unknown event types, unknown fields, other schemes.
        for (const body of [{ url: `${receiver.url}/x`, events: ['fax.exploded'] }, { url: `${receiver.url}/x`, colour: 'red' },
            { url: 'ftp://hooks.acme-clinic.test/x' }, { events: null }]) {
            const bad = await call(d.keys.sandbox_key, 'POST', o.path, body);
            checkResponse(o, bad, 422);
            assert.equal(bad.body.error, 'validation_failed', JSON.stringify(body));
        }
    },
    async listWebhookEndpoints(o, [{ res }]) {
        const id = await fixture('webhook');
        assert.ok(res.body.data.some((e) => e.id === id), 'the fixture endpoint is listed');
        const ids = res.body.data.map((e) => e.id);
        assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
    },
    async getWebhookEndpoint(o, [{ res }]) {
        assert.equal(res.body.id, fx.webhook);
    },
    async updateWebhookEndpoint(o, answers) {
        for (const { req, res } of answers) {
            for (const [k, v] of Object.entries(req.body)) assert.deepEqual(res.body[k], v, `endpoint.${k} was changed`);
        }
        // Back to every event, active, for the operations that follow.
        const back = await call(d.keys.sandbox_key, 'PATCH', `/v1/webhooks/${fx.webhook}`, { events: null, is_active: true });
        checkResponse(o, back, 200);
        assert.equal(back.body.events, null);
        assert.equal(back.body.is_active, true);
        const bad = await call(d.keys.sandbox_key, 'PATCH', `/v1/webhooks/${fx.webhook}`, { is_active: 'yes' });
        checkResponse(o, bad, 422);
    },
    async deleteWebhookEndpoint(o, [{ res }]) {
        assert.equal(res.body.id, fx.deletableWebhook);
        assert.equal(res.body.deleted, true);
        const gone = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/${res.body.id}`);
        checkResponse(operations.find((x) => x.id === 'getWebhookEndpoint'), gone, 404);
        const again = await call(d.keys.sandbox_key, 'DELETE', `/v1/webhooks/${res.body.id}`);
        checkResponse(o, again, 404);
    },
    async rotateWebhookSecret(o, [{ res }]) {
        assert.equal(res.body.id, fx.webhook);
        assert.ok(res.body.previous_secret_expires_at, 'the previous secret has a grace period');
        const again = await call(d.keys.sandbox_key, 'POST', o.path.replace('{webhook_id}', fx.webhook));
        checkResponse(o, again, 200);
        assert.notEqual(again.body.signing_secret, res.body.signing_secret, 'every rotation makes a new secret');
    },
    async listWebhookAttempts(o, [{ res }]) {
        assert.ok(res.body.data.length > 0, 'attempts were made before');
        assert.ok(res.body.data.every((a) => a.status === 'succeeded'), 'status filter');
        const endpoint = await fixture('webhook');
        const mine = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/attempts?endpoint=${endpoint}&event_type=fax.queued`);
        checkResponse(o, mine, 200);
        assert.ok(mine.body.data.length > 0 && mine.body.data.every((a) => a.endpoint_id === endpoint && a.event_type === 'fax.queued'),
            'endpoint and event_type filters');
        const evt = mine.body.data[0].event_id;
        const byEvent = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/attempts?event=${evt}`);
        checkResponse(o, byEvent, 200);
        assert.ok(byEvent.body.data.length > 0 && byEvent.body.data.every((a) => a.event_id === evt), 'event filter');
        const bad = await call(d.keys.sandbox_key, 'GET', '/v1/webhooks/attempts?status=lost');
        checkResponse(o, bad, 422);
    },
    async getWebhookAttempt(o, [{ res }]) {
        assert.equal(res.body.id, fx.webhookAttempt);
        assert.equal(res.body.request_headers['webhook-id'], res.body.event_id);
        assert.equal(res.body.response_status, 204);
    },
    async retryWebhookAttempt(o, [{ res }]) {
        const first = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/attempts/${fx.webhookAttempt}`);
        assert.equal(res.body.id, first.body.delivery.id);
        // One more attempt of the same delivery is made and recorded.
        await waitFor(async () => {
            const r = await call(d.keys.sandbox_key, 'GET', `/v1/webhooks/attempts?event=${first.body.event_id}&endpoint=${first.body.endpoint_id}`);
            return r.body.data.some((a) => a.delivery.id === res.body.id && a.attempt_number > first.body.attempt_number && a.status === 'succeeded');
        }, { timeoutMs: 10000, what: 'the retried attempt' });
    },
    async replayEvent(o, [{ res }]) {
        assert.equal(res.body.event_id, fx.event);
        assert.ok(res.body.deliveries.some((x) => x.endpoint_id === fx.webhook), 'the active endpoint gets the replay');
        await receiver.waitFor((reqs) => reqs.filter((r) => r.headers['webhook-id'] === fx.event && r.path === '/contract').length >= 2,
            { what: `the replay of ${fx.event}` });
    },
};

// Operations that create what others need run first; the rest in spec order.
const order = ['getHealth', 'createWebhookEndpoint', 'createDocument', 'createFax', 'getFax', 'getFaxImage', 'resendFax', 'cancelFax',
    'deleteFax', 'createNumber', 'createWorkspaceKey'];
const rank = (id) => (order.includes(id) ? order.indexOf(id) : order.length);
const planned = [...operations].sort((a, b) => rank(a.id) - rank(b.id));

for (const o of planned) {
    test(`${o.id}: ${o.method} ${o.path}`, { timeout: 60000 }, async (t) => {
        assert.ok(o.id, `${o.method} ${o.path} has no operationId`);
        try {
            const answers = await runExample(o);
            if (extra[o.id]) await extra[o.id](o, answers);
            await checkAuthErrors(o);
        } catch (err) {
            t.diagnostic(`daemon log tail:\n${d ? d.logTail(15) : '(no daemon)'}`);
            throw err;
        }
    });
}

// ---------------------------------------------------------------------------
// The deliveries the receiver got, against the spec's `webhooks` section.

/** Checks one delivery against spec.webhooks[type].post: header parameters and body. */
function checkDelivery(rec) {
    const event = JSON.parse(rec.body);
    const hook = spec.webhooks?.[event.type]?.post;
    assert.ok(hook, `no webhooks entry for ${event.type}`);
    const where = `delivery of ${event.type} ${event.id} to ${rec.path}`;
    for (const p of (hook.parameters || []).map(deref)) {
        assert.equal(p.in, 'header');
        const raw = rec.headers[p.name.toLowerCase()];
        if (raw === undefined) {
            assert.ok(!p.required, `${where}: header ${p.name} missing`);
            continue;
        }
        assertSchema(p.schema, raw, `${where}: header ${p.name}`);
    }
    assert.equal(mediaType(rec.headers['content-type']), 'application/json', `${where}: Content-Type`);
    assertSchema(deref(hook.requestBody).content['application/json'].schema, event, `${where} body`);
    return event.type;
}

test('webhooks: every delivery matches the spec\'s webhooks section, for every event type', { timeout: 60000 }, async () => {
    const key = d.keys.sandbox_key;
    // fax.retry_scheduled: the first attempt fails (line_quality), the retry delivers.
    await createFax({ to: '+15005550004' });
    // balance.low: set the threshold at the balance, so the next hold crosses it.
    for (let i = 0; i < 5 && !receiver.requests.some((r) => JSON.parse(r.body).type === 'balance.low'); i++) {
        const bal = await call(key, 'GET', '/v1/environment/balance');
        await call(key, 'PATCH', '/v1/environment/settings', { low_balance_threshold: bal.body.available });
        await createFax({ to: '+15005550001' });
        await receiver.waitFor((reqs) => reqs.some((r) => JSON.parse(r.body).type === 'balance.low'),
            { timeoutMs: 3000, what: 'balance.low' }).catch(() => {});
    }
    const seenTypes = () => new Set(receiver.requests.map((r) => JSON.parse(r.body).type));
    await receiver.waitFor(() => EVENT_TYPES.every((t) => seenTypes().has(t)), { timeoutMs: 20000 })
        .catch(() => assert.fail(`no delivery of ${EVENT_TYPES.filter((t) => !seenTypes().has(t)).join(', ')}`));
    const types = new Set(receiver.requests.map(checkDelivery));
    assert.deepEqual([...types].sort(), [...EVENT_TYPES].sort());
    assert.deepEqual(Object.keys(spec.webhooks).sort(), [...EVENT_TYPES].sort(), 'the webhooks section lists every event type');
});
