// Runs every test/**/*.test.ts in its own Node process (two at a time: CI has 2 cores), prints
// each file's output, and ends with one line: "tests: N passed, N failed[, N skipped]".
// A file that crashes or times out before uvu's summary counts as one failure.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const PER_FILE_MS = 300_000;
const only = process.argv.slice(2);

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) { if (name !== 'bench') out.push(...find(p)); }
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

// These client test files run again against the client as the device bundles minify it
// (test/helpers/min-client.mjs), and some of them against the Espruino build's ES5 client too: a
// bug only the minified or ES5 code has then fails them, not only a device.
const MINIFIED = ['client-alloc', 'client-auth', 'client-basic', 'client-keepalive', 'client-liveness', 'client-review-fixes',
  'client-session', 'fake-broker', 'oversize', 'security-app-input', 'security-auth', 'sensor-app-uptime', 'server-fuzz'];
const ES5 = ['client-basic', 'client-review-fixes', 'client-session', 'fake-broker', 'oversize', 'server-fuzz'];
const TAGS = { ' [minified client]': 'es2020', ' [minified ES5 client]': 'es5' };

let files = find(join(root, 'test'));
const named = (list) => files.filter((f) => list.some((m) => f.endsWith(`/${m}.test.ts`)));
for (const m of [...MINIFIED, ...ES5]) if (!named([m]).length) throw new Error(`test/run.js: no test/${m}.test.ts`);
files = [...files, ...named(MINIFIED).map((f) => f + ' [minified client]'), ...named(ES5).map((f) => f + ' [minified ES5 client]')];
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));

function runFile(job) {
  const tag = Object.keys(TAGS).find((t) => job.endsWith(t));
  const file = tag ? job.slice(0, -tag.length) : job;
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', '--expose-gc', ...(tag ? ['--import', './test/helpers/min-client.mjs'] : []), file];
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...(tag ? { MIN_CLIENT: TAGS[tag] } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[run] ${relative(root, file)} timed out after ${PER_FILE_MS / 1000} s\n`;
      child.kill('SIGKILL');
    }, PER_FILE_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const num = (label) => {
        const m = out.match(new RegExp(label + ':\\s+(\\d+)'));
        return m ? Number(m[1]) : null;
      };
      const total = num('Total'), passed = num('Passed'), skipped = num('Skipped') ?? 0;
      let failed = total === null ? 1 : total - passed; // uvu's Total excludes skipped tests
      if (code !== 0 && failed === 0) failed = 1; // crashed after the summary, or a hook failed
      resolve({ file: job, out, passed: passed ?? 0, failed, skipped });
    });
  });
}

const results = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const r = await runFile(files[next++]);
    process.stdout.write(`\n# ${relative(root, r.file)}\n${r.out.trimEnd()}\n`);
    results.push(r);
  }
}
await Promise.all([worker(), worker()]);

const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
const skipped = results.reduce((a, r) => a + r.skipped, 0);
for (const r of results) if (r.failed) console.log(`FAILED: ${relative(root, r.file)}`);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed || !results.length ? 1 : 0;
