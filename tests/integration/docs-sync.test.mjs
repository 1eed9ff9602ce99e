// SPDX-License-Identifier: Apache-2.0
//
// Documentation that must not drift from the daemon (DESIGN §3, §5):
//   - conf/mintfax.conf documents exactly the settings of the daemon's
//     directive table (`mintfaxd --print-config`): every `#key = default`
//     line under its [section], with the same default, variable and comment;
//   - docs/errors.md is exactly `mintfaxd --print-errors-md`, and the error
//     pages and the spec's error enums name exactly the codes of
//     src/errors.def;
//   - GET /v1/openapi.yaml serves docs/openapi.yaml byte for byte, and the
//     spec's paths are exactly the daemon's routes.
//
// Environment: MINTFAXD (the daemon), MFX_SRCDIR (the source tree).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { api, daemonPath, freePort, srcDir, startDaemon } from './lib/daemon.mjs';

const confPath = path.join(srcDir, 'conf', 'mintfax.conf');
const errorsMdPath = path.join(srcDir, 'docs', 'errors.md');
const specPath = path.join(srcDir, 'docs', 'openapi.yaml');
const errorsDefPath = path.join(srcDir, 'src', 'errors.def');
const httpCPath = path.join(srcDir, 'src', 'http.c');

function run(args, opts = {}) {
    const r = spawnSync(daemonPath, args, { encoding: 'buffer', timeout: 10000, ...opts });
    assert.equal(r.error, undefined, `${daemonPath} ${args.join(' ')}: ${r.error?.message}`);
    return r;
}

/** conf/mintfax.conf: "section.key" -> {def, env, help}, in file order. */
function parseConf() {
    const out = new Map();
    let section = null;
    let lastComment = null;
    const lines = fs.readFileSync(confPath, 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
        let m;
        // The commented [trunk.NAME] example closes the file: trunk keys are
        // carrier_sip's own table (tests/unit/test_trunk.c), not directives.
        if (line.startsWith('#[trunk.')) break;
        if ((m = /^\[([a-z0-9_]+)\]\s*$/.exec(line))) {
            section = m[1];
            lastComment = null;
        } else if ((m = /^#([a-z0-9_]+) =(?: (.*))?$/.exec(line))) {
            assert.ok(section, `${confPath}:${i + 1}: a setting before any [section]`);
            const key = `${section}.${m[1]}`;
            assert.ok(!out.has(key), `${confPath}:${i + 1}: ${key} twice`);
            const c = lastComment && /^# (.*) \((MINTFAX_[A-Z0-9_]+)\)$/.exec(lastComment);
            out.set(key, { def: m[2] ?? '', help: c ? c[1] : null, env: c ? c[2] : null, line: i + 1 });
            lastComment = null;
        } else if (line.startsWith('# ')) {
            lastComment = line;
        } else if (line.trim() !== '' && !line.startsWith('#')) {
            assert.fail(`${confPath}:${i + 1}: an uncommented line in the sample config: ${line}`);
        } else if (line.trim() === '') {
            lastComment = null;
        }
    }
    return out;
}

/** `mintfaxd --print-config`: "section.key" -> {def, env, help}, in table order. */
function parseConfig() {
    const r = run(['--print-config']);
    assert.equal(r.status, 0, `--print-config exited ${r.status}: ${r.stderr}`);
    const out = new Map();
    for (const line of r.stdout.toString('utf8').split('\n')) {
        if (!line) continue;
        const m = /^([a-z0-9_]+\.[a-z0-9_]+) = (.*?)\t(MINTFAX_[A-Z0-9_]+)\t# (.*)$/.exec(line);
        assert.ok(m, `--print-config line not in the form "section.key = default<TAB>VAR<TAB># help": ${JSON.stringify(line)}`);
        assert.ok(!out.has(m[1]), `--print-config lists ${m[1]} twice`);
        out.set(m[1], { def: m[2], env: m[3], help: m[4] });
    }
    return out;
}

/** src/errors.def: [{code, status, retryable, action, message, actionText}]. */
function parseCatalog() {
    const text = fs.readFileSync(errorsDefPath, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
    const out = [];
    const re = /MFX_ERROR\(\s*(\w+)\s*,\s*(\d+)\s*,\s*([01])\s*,\s*(\w+)\s*,\s*((?:"(?:[^"\\]|\\.)*"\s*)+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)/g;
    const cstr = (s) => [...s.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`)).join('');
    for (const m of text.matchAll(re)) {
        out.push({ code: m[1], status: Number(m[2]), retryable: m[3] === '1', action: m[4], message: cstr(m[5]), actionText: cstr(m[6]) });
    }
    assert.ok(out.length >= 20, `parsed only ${out.length} entries of ${errorsDefPath}`);
    assert.equal(out.length, (text.match(/MFX_ERROR\(/g) || []).length, 'every MFX_ERROR entry parsed');
    return out;
}

/** The text of an HTML page with its character references decoded. */
const htmlText = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|lt|gt|quot|apos);/gi, (_, e) => {
    const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }[e.toLowerCase()];
    if (named) return named;
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
});

let d;
before(async () => {
    d = await startDaemon({ env: { MINTFAX_RATELIMIT_REQUESTS: '100000' } });
});
after(async () => {
    await d?.stop();
});

// ---------------------------------------------------------------------------
// conf/mintfax.conf vs --print-config

test('--print-config lists exactly the settings of conf/mintfax.conf', () => {
    const conf = parseConf();
    const table = parseConfig();
    const missingInConf = [...table.keys()].filter((k) => !conf.has(k));
    const unknownInConf = [...conf.keys()].filter((k) => !table.has(k));
    assert.deepEqual(missingInConf, [], `settings of the daemon that conf/mintfax.conf does not document: ${missingInConf.join(', ')}`);
    assert.deepEqual(unknownInConf, [], `settings in conf/mintfax.conf that the daemon does not have: ${unknownInConf.join(', ')}`);
    // Same sections in the same order, so the sample reads like the table.
    const sections = (m) => [...new Set([...m.keys()].map((k) => k.split('.')[0]))];
    assert.deepEqual(sections(conf), sections(table), 'section order');
});

test('conf/mintfax.conf shows the same default for every setting as --print-config', () => {
    const conf = parseConf();
    const table = parseConfig();
    const diffs = [];
    for (const [k, t] of table) {
        const c = conf.get(k);
        if (c && c.def !== t.def) diffs.push(`${k}: conf/mintfax.conf:${c.line} says "${c.def}", the daemon "${t.def}"`);
    }
    assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('conf/mintfax.conf names each setting\'s environment variable and comment as --print-config does', () => {
    const conf = parseConf();
    const table = parseConfig();
    const diffs = [];
    for (const [k, t] of table) {
        const c = conf.get(k);
        if (!c) continue;
        const [section, key] = k.split('.');
        const want = `MINTFAX_${section.toUpperCase()}_${key.toUpperCase()}`;
        if (t.env !== want) diffs.push(`${k}: --print-config names ${t.env}, expected ${want}`);
        if (c.env !== t.env) diffs.push(`${k}: conf/mintfax.conf:${c.line} comment names ${c.env ?? '(no "# help (VAR)" line above it)'}, the daemon ${t.env}`);
        if (c.help !== null && c.help !== t.help) diffs.push(`${k}: conf says "${c.help}", the daemon "${t.help}"`);
    }
    assert.deepEqual(diffs, [], diffs.join('\n'));
});

test('conf/mintfax.conf with every setting uncommented is a config the daemon accepts', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mintfax-conf-'));
    try {
        // The trunk example too: the file stays a valid config with it.
        const text = fs.readFileSync(confPath, 'utf8').replace(/^#([a-z0-9_]+ =)/gm, '$1')
            .replace(/^#(\[trunk\.[a-z0-9-]+\])$/gm, '$1');
        const cfg = path.join(tmp, 'all-defaults.conf');
        fs.writeFileSync(cfg, text);
        const d2 = await startDaemon({ args: ['--config', cfg], env: { MINTFAX_RATELIMIT_REQUESTS: '100000' } });
        try {
            const r = await api(d2.url, d2.keys.sandbox_key, 'GET', '/v1/environment/balance');
            assert.equal(r.status, 200, r.text);
        } finally {
            await d2.stop();
        }
        // And a setting that is not in the table is refused, naming it.
        const bad = path.join(tmp, 'bad.conf');
        fs.writeFileSync(bad, '[server]\nno_such_setting = 1\n');
        const port = await freePort();
        const r = run(['--config', bad, '--data-dir', path.join(tmp, 'data'), '--listen', `127.0.0.1:${port}`], { timeout: 5000 });
        assert.notEqual(r.status, 0, 'an unknown setting must stop the start');
        assert.match(r.stderr.toString(), /no_such_setting/, 'the error names the setting');
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
});

// ---------------------------------------------------------------------------
// The error catalog

test('mintfaxd --print-errors-md equals docs/errors.md byte for byte', () => {
    const r = run(['--print-errors-md']);
    assert.equal(r.status, 0, `--print-errors-md exited ${r.status}: ${r.stderr}`);
    const file = fs.readFileSync(errorsMdPath);
    if (!r.stdout.equals(file)) {
        const a = r.stdout.toString('utf8').split('\n');
        const b = file.toString('utf8').split('\n');
        let i = 0;
        while (i < a.length && i < b.length && a[i] === b[i]) i++;
        assert.fail(`docs/errors.md differs from mintfaxd --print-errors-md at line ${i + 1}:\n` +
            `  generated: ${JSON.stringify(a[i])}\n  docs/errors.md: ${JSON.stringify(b[i])}\n` +
            `(regenerate: src/mintfaxd --print-errors-md > docs/errors.md)`);
    }
});

test('docs/errors.md documents every code of src/errors.def with its status and action', () => {
    const md = fs.readFileSync(errorsMdPath, 'utf8');
    for (const e of parseCatalog()) {
        assert.ok(md.includes(`### ${e.code}`) || md.includes(`\`${e.code}\``), `docs/errors.md has no section for ${e.code}`);
        assert.ok(md.includes(`\`${e.action}\``), `docs/errors.md does not name ${e.code}'s action ${e.action}`);
        assert.ok(md.includes(e.message), `docs/errors.md does not have ${e.code}'s message`);
    }
});

test('GET /docs/errors lists exactly the catalog, and each /docs/errors/{code} page shows its entry', async () => {
    const catalog = parseCatalog();
    const index = await api(d.url, null, 'GET', '/docs/errors');
    assert.equal(index.status, 200);
    assert.match(index.contentType, /^text\/html/);
    const linked = [...index.text.matchAll(/href="\/docs\/errors\/([a-z0-9_]+)"/g)].map((m) => m[1]);
    assert.deepEqual([...linked].sort(), catalog.map((e) => e.code).sort(), 'the index links exactly the catalog codes');
    for (const e of catalog) {
        const r = await api(d.url, null, 'GET', `/docs/errors/${e.code}`);
        assert.equal(r.status, 200, `${e.code}: ${r.status}`);
        assert.match(r.contentType, /^text\/html/, e.code);
        assert.ok(r.text.includes(`<code>${e.code}</code>`), `${e.code}: the page names the code`);
        const text = htmlText(r.text);
        assert.ok(text.includes(e.message), `${e.code}: the page shows the catalog message "${e.message}"`);
        assert.ok(text.includes(e.actionText), `${e.code}: the page shows what to do: "${e.actionText}"`);
        assert.ok(r.text.includes(`<code>${e.action}</code>`), `${e.code}: the page names the action ${e.action}`);
        if (e.status) assert.ok(r.text.includes(`${e.status}`), `${e.code}: the page shows HTTP ${e.status}`);
    }
});

test('the spec\'s error enums name exactly the catalog codes (API errors and fax outcomes)', () => {
    const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
    const catalog = parseCatalog();
    const apiCodes = catalog.filter((e) => e.status).map((e) => e.code).sort();
    const faxCodes = catalog.filter((e) => !e.status).map((e) => e.code).sort();
    const errEnum = spec.components?.schemas?.Error?.properties?.error?.enum;
    assert.ok(Array.isArray(errEnum), 'components.schemas.Error.properties.error.enum');
    assert.deepEqual([...errEnum].sort(), apiCodes, 'Error.error enum vs the API errors of src/errors.def');
    const faxEnum = spec.components?.schemas?.FaxErrorCode?.enum;
    assert.ok(Array.isArray(faxEnum), 'components.schemas.FaxErrorCode.enum');
    assert.deepEqual([...faxEnum].sort(), faxCodes, 'FaxErrorCode enum vs the fax outcomes of src/errors.def');
    // Retryable outcomes as the spec describes them.
    const desc = spec.components.schemas.FaxErrorCode.description || '';
    const retryLine = /Retryable:([\s\S]*?)\./.exec(desc)?.[1] || '';
    const saidRetryable = [...retryLine.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]).sort();
    if (saidRetryable.length) {
        assert.deepEqual(saidRetryable, catalog.filter((e) => !e.status && e.retryable).map((e) => e.code).sort(), 'FaxErrorCode description: the retryable outcomes');
    }
});

// ---------------------------------------------------------------------------
// The OpenAPI spec

test('GET /v1/openapi.yaml equals docs/openapi.yaml byte for byte', async () => {
    const r = await api(d.url, null, 'GET', '/v1/openapi.yaml');
    assert.equal(r.status, 200);
    assert.match(r.contentType, /^application\/(yaml|x-yaml|vnd\.oai\.openapi)/, r.contentType);
    const file = fs.readFileSync(specPath);
    assert.ok(r.bytes.equals(file),
        `the served spec (${r.bytes.length} bytes) differs from docs/openapi.yaml (${file.length} bytes): the daemon embeds the spec at build time, rebuild it`);
});

/**
 * The routes[] table of src/http.c: [{op: "METHOD /path/{}", handler}].
 * Routes sharing a method and handler with an earlier one are aliases.
 */
function daemonRoutes() {
    const src = fs.readFileSync(httpCPath, 'utf8');
    const table = /routes\[\]\s*=\s*\{([\s\S]*?)\n\};/.exec(src);
    assert.ok(table, `no routes[] table in ${httpCPath}`);
    const names = { GET: 'GET', POST: 'POST', DEL: 'DELETE', DELETE: 'DELETE', PATCH: 'PATCH', PUT: 'PUT' };
    const out = [];
    for (const m of table[1].matchAll(/\{\s*(GET|POST|DEL|DELETE|PATCH|PUT)\s*,\s*"([^"]+)"\s*,\s*\w+\s*,\s*(\w+)\s*\}/g)) {
        out.push({ op: `${names[m[1]]} ${m[2]}`, method: names[m[1]], handler: m[3] });
    }
    assert.ok(out.length > 20, `parsed only ${out.length} routes`);
    return out;
}

function specRoutes() {
    const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
    const out = [];
    for (const [p, item] of Object.entries(spec.paths)) {
        for (const m of ['get', 'post', 'put', 'patch', 'delete']) {
            if (item[m]) out.push(`${m.toUpperCase()} ${p.replace(/\{[^}]+\}/g, '{}')}`);
        }
    }
    return out;
}

test('the spec documents every endpoint of the daemon (src/http.c routes[]; an alias may stand for its endpoint)', () => {
    const spec = new Set(specRoutes());
    // Group the routes by (method, handler): one endpoint and its aliases.
    const endpoints = new Map();
    for (const r of daemonRoutes()) {
        const k = `${r.method} ${r.handler}`;
        if (!endpoints.has(k)) endpoints.set(k, []);
        endpoints.get(k).push(r.op);
    }
    const missing = [...endpoints.values()].filter((ops) => !ops.some((op) => spec.has(op))).map((ops) => ops.join(' = '));
    assert.deepEqual(missing, [], `endpoints the daemon serves that docs/openapi.yaml does not document:\n${missing.join('\n')}`);
});

test('the daemon serves every operation of the spec (no route_not_found or 405)', async () => {
    const problems = [];
    for (const op of specRoutes()) {
        const [method, p] = op.split(' ');
        // Placeholder ids of the right shape; the route must exist whatever the id.
        const url = p.replace(/\{\}/g, () => 'x_01HZZZZZZZZZZZZZZZZZZZZZZZ');
        const r = await api(d.url, null, method, url);
        if (r.status === 405 || (r.status === 404 && r.body?.error === 'route_not_found')) {
            problems.push(`${op}: ${r.status} ${r.body?.error || ''}`);
        }
    }
    assert.deepEqual(problems, [], `operations in docs/openapi.yaml that the daemon does not serve:\n${problems.join('\n')}`);
});
