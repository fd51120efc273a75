// Regressions found by running the real bundles on the real XS engine: each script plays a fake
// broker, drives the bundle inside xsnap, and exits 1 while its bug is present.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';

const run = (script: string, arg: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', `test/helpers/${script}`, arg], { encoding: 'utf8', timeout: 60_000 });

for (const variant of ['moddable', 'moddable-classic', 'espruino']) {
  test(`${variant}: the client closing from inside onReadable stops the shim reading the dead socket`, () => {
    const r = run('xs-repro-end-in-handler.ts', variant);
    assert.is(r.status, 0, r.stdout + r.stderr);
  });
}

test('moddable: close() while a host name resolves opens no socket afterwards', () => {
  const r = run('xs-repro-resolve-after-close.ts', 'moddable');
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test.run();
