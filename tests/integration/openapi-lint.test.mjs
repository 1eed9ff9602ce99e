// SPDX-License-Identifier: Apache-2.0
//
// Lints docs/openapi.yaml with spectral (ruleset tests/.spectral.yaml, which
// extends spectral:oas) and requires zero errors; warnings are reported as
// diagnostics. Also checks that the spec's error-code enums are the codes of
// the catalog, src/errors.def, so neither can change without the other, and
// that every operation has a summary and examples (the contract test,
// contract.test.mjs, sends those examples to a real daemon).
//
// Environment: MFX_SRCDIR (the source tree; default: two levels up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const srcDir = path.resolve(process.env.MFX_SRCDIR || path.join(here, '..', '..'));
const specPath = path.join(srcDir, 'docs', 'openapi.yaml');
const rulesetPath = path.join(srcDir, 'tests', '.spectral.yaml');
const spectralBin = path.join(srcDir, 'tests', 'node_modules', '@stoplight', 'spectral-cli', 'dist', 'index.js');

const SEVERITY = ['error', 'warning', 'info', 'hint'];

function runSpectral() {
    return new Promise((resolve, reject) => {
        execFile(process.execPath,
            [spectralBin, 'lint', '--ruleset', rulesetPath, '--format', 'json', '--quiet', specPath],
            { cwd: path.join(srcDir, 'tests'), maxBuffer: 64 * 1024 * 1024, timeout: 120000 },
            (err, stdout, stderr) => {
                // spectral exits 1 when it finds errors; that is judged below.
                const text = stdout.trim();
                const start = text.indexOf('[');
                if (start < 0) {
                    reject(new Error(`spectral produced no JSON (${err ? err.message : 'exit 0'}):\n${stdout}\n${stderr}`));
                    return;
                }
                try {
                    resolve(JSON.parse(text.slice(start)));
                } catch (e) {
                    reject(new Error(`spectral output is not JSON (${e.message}):\n${stdout}\n${stderr}`));
                }
            });
    });
}

const fmt = (r) => `${SEVERITY[r.severity]} ${r.code} at ${r.path.join('.')} ` +
    `(line ${r.range.start.line + 1}): ${r.message}`;

test('spectral lints docs/openapi.yaml with zero errors', { timeout: 180000 }, async (t) => {
    assert.ok(fs.existsSync(spectralBin), `spectral not installed at ${spectralBin} (run npm ci in tests/)`);
    assert.ok(fs.existsSync(rulesetPath), `no ruleset at ${rulesetPath}`);
    const results = await runSpectral();
    const errors = results.filter((r) => r.severity === 0);
    const others = results.filter((r) => r.severity !== 0);
    for (const r of others) t.diagnostic(fmt(r));
    t.diagnostic(`${errors.length} errors, ${results.filter((r) => r.severity === 1).length} warnings`);
    assert.equal(errors.length, 0, `spectral found errors:\n${errors.map(fmt).join('\n')}`);
});

// The catalog: MFX_ERROR(code, http_status, retryable, action, "message", "action text").
function catalog() {
    const text = fs.readFileSync(path.join(srcDir, 'src', 'errors.def'), 'utf8');
    const out = [];
    for (const m of text.matchAll(/^MFX_ERROR\(\s*([a-z0-9_]+)\s*,\s*(\d+)\s*,\s*([01])\s*,\s*([a-z0-9_]+)\s*,/gm)) {
        out.push({ code: m[1], status: Number(m[2]), retryable: m[3] === '1', action: m[4] });
    }
    assert.ok(out.length > 0, 'no MFX_ERROR rows found in src/errors.def');
    return out;
}

test('the spec\'s error codes are the catalog\'s (src/errors.def)', () => {
    const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
    const s = spec.components.schemas;
    const rows = catalog();
    const sorted = (a) => [...a].sort();
    const apiCodes = sorted(rows.filter((r) => r.status > 0).map((r) => r.code));
    const faxCodes = sorted(rows.filter((r) => r.status === 0).map((r) => r.code));
    assert.deepEqual(sorted(s.Error.properties.error.enum), apiCodes,
        'components.schemas.Error.properties.error.enum differs from the API errors of src/errors.def');
    assert.deepEqual(sorted(s.FaxErrorCode.enum), faxCodes,
        'components.schemas.FaxErrorCode.enum differs from the fax outcomes of src/errors.def');
    const withNull = sorted([...faxCodes, null]);
    assert.deepEqual(sorted(s.Fax.properties.error_code.enum), withNull, 'Fax.error_code enum differs from FaxErrorCode');
    assert.deepEqual(sorted(s.Attempt.properties.error_code.enum), withNull, 'Attempt.error_code enum differs from FaxErrorCode');

    // Every error status a response documents must be one a catalogued code has.
    const statuses = new Set(rows.filter((r) => r.status > 0).map((r) => String(r.status)));
    for (const [p, item] of Object.entries(spec.paths)) {
        for (const [method, op] of Object.entries(item)) {
            if (!op || typeof op !== 'object' || !op.responses) continue;
            for (const status of Object.keys(op.responses)) {
                if (/^[45]\d\d$/.test(status)) {
                    assert.ok(statuses.has(status), `${method.toUpperCase()} ${p} documents ${status}, which no catalogued error has`);
                }
            }
        }
    }
});

test('every operation has a summary and examples of its request and success response', () => {
    const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
    const deref = (node) => {
        let n = node;
        for (let i = 0; n && n.$ref && i < 10; i++) {
            n = n.$ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
        }
        return n;
    };
    const hasExample = (media) => media && (media.example !== undefined ||
        Object.values(media.examples || {}).some((e) => deref(e)?.value !== undefined || deref(e)?.externalValue));
    const problems = [];
    for (const [p, item] of Object.entries(spec.paths)) {
        for (const method of ['get', 'put', 'post', 'delete', 'patch']) {
            const op = item[method];
            if (!op) continue;
            const where = `${method.toUpperCase()} ${p}`;
            for (const field of ['operationId', 'summary', 'description']) {
                if (!op[field]) problems.push(`${where}: no ${field}`);
            }
            if (!op.tags?.length) problems.push(`${where}: no tags`);
            const body = deref(op.requestBody);
            for (const [type, media] of Object.entries(body?.content || {})) {
                if (!hasExample(media)) problems.push(`${where}: no example for the ${type} request body`);
            }
            const ok = Object.entries(op.responses).filter(([s]) => /^2\d\d$/.test(s)).map(([, r]) => deref(r));
            if (!ok.length) problems.push(`${where}: no 2xx response`);
            for (const r of ok) {
                const media = Object.values(r.content || {});
                if (media.length && !media.some(hasExample)) problems.push(`${where}: no example of the success response`);
            }
        }
    }
    assert.deepEqual(problems, []);
});
