// The example sensor app's device bundles, built in memory from rollup.app.config.js exactly as
// `npm run build` does: they import nothing at run time (the board's main module hands them the
// client), export the app's API, and the Espruino one is ES5 without what Espruino lacks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RollupOptions } from 'rollup';
import { parse } from 'acorn';
import configs from '../rollup.app.config.js';
import { buildInMemory } from './helpers/build-in-memory.ts';

type Built = { file: string; code: string; exports: string[]; imports: string[] };
let built: Built[] = [];

test.before(async () => {
  built = (await buildInMemory(configs as RollupOptions[])).map((b) => ({
    file: b.file, code: b.code, exports: b.chunk.exports.slice().sort(), imports: b.chunk.imports,
  }));
});

const get = (part: string) => built.find((b) => b.file.includes(part))!;

test('two app bundles: dist/sensor-app.js (Moddable) and dist/sensor-app.espruino.js', () => {
  assert.equal(built.map((b) => b.file).sort(), ['dist/sensor-app.espruino.js', 'dist/sensor-app.js']);
});

test('both export SensorApp, sensorTopics, sensorWill and import nothing', () => {
  for (const b of built) {
    assert.equal(b.exports, ['SensorApp', 'sensorTopics', 'sensorWill'], b.file);
    assert.equal(b.imports, [], `${b.file} imports`);
  }
  const ast = parse(get('sensor-app.js').code, { ecmaVersion: 2020, sourceType: 'module' }) as unknown as { body: { type: string }[] };
  assert.not.ok(ast.body.some((n) => n.type === 'ImportDeclaration'), 'no import declaration in the Moddable app');
  assert.not.ok(/\brequire\s*\(/.test(get('espruino').code), 'no require() in the Espruino app');
});

test('Espruino app bundle parses as strict ES5 and uses nothing Espruino lacks', () => {
  const b = get('espruino');
  parse(b.code, { ecmaVersion: 5, sourceType: 'script' });
  const banned = [/\bMap\b/, /\bSet\b/, /\bSymbol\b/, /TextEncoder/, /TextDecoder/, /isInteger/, /codePointAt/,
    /copyWithin/, /Math\.imul/, /Math\.trunc/, /isView/, /Object\.freeze/, /\.prototype\.slice\.call/];
  for (const re of banned) assert.not.ok(re.test(b.code), `uses ${re}`);
});

test('board manifests: an app manifest each (Moddable base, then this repository), sensor-app mapped and preloaded', async () => {
  const { readFile } = await import('node:fs/promises');
  for (const b of ['sim', 'esp32', 'esp8266']) {
    const m = JSON.parse(await readFile(`boards/${b}/manifest.json`, 'utf8'));
    // manifest_base.json defines $(MODULES), which the network manifests the repository's one pulls in need.
    assert.equal(m.include, ['$(MODDABLE)/examples/manifest_base.json', '../../manifest.json'], `${b} include`);
    assert.equal(m.modules, { '*': ['./main'], 'sensor-app': '../../dist/sensor-app' }, `${b} modules`);
    assert.equal(m.preload, ['sensor-app'], `${b} preload`);
    for (const k of ['broker', 'port', 'rxSize', 'txSize', 'outboxSize', 'maxInflight']) assert.ok(k in m.config, `${b} config.${k}`);
  }
  const top = JSON.parse(await readFile('manifest.json', 'utf8'));
  assert.is(top.modules['mcu-mqtt'], './dist/mcu-mqtt.moddable', 'the repository manifest maps mcu-mqtt');
});

test('the Espruino example script is ES5', async () => {
  const { readFile } = await import('node:fs/promises');
  parse(await readFile('boards/espruino-app/sensor.js', 'utf8'), { ecmaVersion: 5, sourceType: 'script' });
});

test.run();
