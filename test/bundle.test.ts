// The device bundles, built in memory from rollup.config.js exactly as `npm run build` does:
// broker-side codec code is left out, and the Espruino bundle is ES5 with no API Espruino lacks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RollupOptions } from 'rollup';
import { parse } from 'acorn';
import configs, { INTERNAL } from '../rollup.config.js';
import { usesBeforeDeclaration } from './helpers/no-hoist.ts';
import { buildInMemory } from './helpers/build-in-memory.ts';

type Built = { file: string; code: string; modules: string[] };
let built: Built[] = [];

test.before(async () => {
  built = (await buildInMemory(configs as RollupOptions[])).map((b) => ({
    file: b.file, code: b.code,
    modules: Object.entries(b.chunk.modules).filter(([, m]) => m.renderedLength > 0).map(([id]) => id),
  }));
});

test('one bundle per runtime and Moddable transport', () => {
  assert.equal(built.map((b) => b.file).sort(), ['dist/mcu-mqtt.espruino.js', 'dist/mcu-mqtt.moddable-socket.js', 'dist/mcu-mqtt.moddable.js']);
});

// Size budgets in bytes, minified, as `npm run build` writes them: what each bundle measured when
// the budget was last set, plus a little headroom, so growth is a decision, not an accident.
// Issue 4 asks 8,192 B for the Moddable bundle (codec + outbox + client + one shim + clock); it is
// over that (README, "Build and bundles": getting there would drop protocol checks or features,
// or make the client a closure, which held 473 more XS slots, ~7.6 KB of RAM at 16 B/slot, per
// idle client when measured), so the test guards against growth at the measured size and prints how far above
// the issue's budget it is.
const ISSUE_BUDGET = 8192;
const BUDGET: Record<string, number> = {
  'dist/mcu-mqtt.moddable.js': 11050,
  'dist/mcu-mqtt.moddable-socket.js': 11100,
  'dist/mcu-mqtt.espruino.js': 11750,
};

for (const [file, max] of Object.entries(BUDGET)) {
  test(`${file} is at most ${max} bytes minified`, () => {
    const b = built.find((x) => x.file === file)!;
    const n = Buffer.byteLength(b.code);
    if (file === 'dist/mcu-mqtt.moddable.js') console.log(`  ${file}: ${n} B minified, ${n - ISSUE_BUDGET} B above issue 4's budget of ${ISSUE_BUDGET}`);
    assert.ok(n <= max, `${file} is ${n} bytes minified, over its budget of ${max} by ${n - max} (issue 4's budget: ${ISSUE_BUDGET})`);
  });
}

// The minifier shortens the member names INTERNAL matches, built-in ones included (so `next` can
// be): a built-in method of such a name is renamed too, wherever it is called, and the bundle then
// throws where that call runs. `find` was listed once (the outbox's method) and the inbound QoS 2
// check `in2.find(Boolean)` became `.ct(Boolean)`: a TypeError on the first PUBREL after a full table.
test('the minifier shortens no built-in method name but next (nothing in the bundles calls an iterator by name)', () => {
  const protos: object[] = [Object, Function, Array, String, Number, Boolean, Symbol, Date, RegExp, Error, Promise,
    Map, Set, WeakMap, ArrayBuffer, DataView, Object.getPrototypeOf(Uint8Array)].map((c) => c.prototype);
  protos.push(Math, JSON, Reflect, Object.getPrototypeOf([][Symbol.iterator]()), Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  const names = new Set<string>();
  for (const o of protos) for (const k of Object.getOwnPropertyNames(o)) names.add(k);
  for (const c of [Object, Array, String, Number, Promise, ArrayBuffer, Uint8Array]) for (const k of Object.getOwnPropertyNames(c)) names.add(k);
  assert.ok(names.has('find') && names.has('next') && names.has('trim'), 'the built-in names are collected');
  assert.equal([...names].filter((k) => INTERNAL.test(k)), ['next']);
});

test('broker-side codec (server.ts) is not in any device bundle', () => {
  for (const b of built) {
    assert.ok(b.modules.some((m) => m.endsWith('decoder.ts')), `${b.file} lacks the decoder`);
    assert.not.ok(b.modules.some((m) => m.endsWith('server.ts')), `${b.file} carries server.ts`);
  }
});

test('Espruino bundle parses as strict ES5', () => {
  const b = built.find((x) => x.file.includes('espruino'))!;
  parse(b.code, { ecmaVersion: 5, sourceType: 'script' });
});

test('Espruino bundle uses nothing Espruino lacks (platforms.md)', () => {
  const b = built.find((x) => x.file.includes('espruino'))!;
  const banned = [/\bMap\b/, /\bSet\b/, /\bSymbol\b/, /TextEncoder/, /TextDecoder/, /isInteger/, /codePointAt/,
    /copyWithin/, /Math\.imul/, /Math\.trunc/, /isView/, /Object\.freeze/, /\.prototype\.slice\.call/];
  for (const re of banned) assert.not.ok(re.test(b.code), `uses ${re}`);
});

test('Espruino bundle never uses a var or function before its declaration (Espruino does not hoist)', () => {
  const b = built.find((x) => x.file.includes('espruino'))!;
  assert.equal(usesBeforeDeclaration(b.code), []);
  // The checker itself: both shapes Espruino gets wrong are found.
  assert.is(usesBeforeDeclaration('var R = 1; function f() { R = 5; var R = 7; }').length, 1);
  assert.is(usesBeforeDeclaration('function f() { return g(); function g() { return 1; } }').length, 1);
});

const IMPORTS: Record<string, string[]> = {
  'dist/mcu-mqtt.moddable.js': ['embedded:io/socket/tcp', 'net', 'time', 'timer'],
  'dist/mcu-mqtt.moddable-socket.js': ['securesocket', 'socket', 'time', 'timer'],
};

for (const [file, want] of Object.entries(IMPORTS)) {
  test(`${file} is an ES module importing only its Moddable runtime modules`, () => {
    const b = built.find((x) => x.file === file)!;
    const ast = parse(b.code, { ecmaVersion: 2020, sourceType: 'module' }) as unknown as { body: { type: string; source?: { value: string } }[] };
    const imports = ast.body.filter((n) => n.type === 'ImportDeclaration').map((n) => n.source!.value).sort();
    assert.equal(imports, want);
  });
}

test('device bundles leave the error-name table out (errors are named by code there)', () => {
  for (const b of built) {
    assert.not.ok(b.modules.some((m) => m.endsWith('error-names.ts')), `${b.file} carries error-names.ts`);
    assert.not.ok(b.code.includes('ERR_REFUSED_CREDENTIALS'), `${b.file} carries error names`);
  }
});

test.run();
