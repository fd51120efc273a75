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

let files = find(join(root, 'test'));
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', file], {
      cwd: root,
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
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
      resolve({ file, out, passed: passed ?? 0, failed, skipped });
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
