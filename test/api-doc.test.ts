// docs/API.md documents the whole public surface: every name exported by the Node entry and the
// two device entries (values and types, found by the TypeScript compiler, not by a list kept
// here), every ClientOptions field, and every public MqttClient member.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import ts from 'typescript';

const root = new URL('..', import.meta.url).pathname;
const doc = readFileSync(root + 'docs/API.md', 'utf8');
const ENTRIES = ['src/index.ts', 'boards/moddable/index.ts', 'boards/moddable/socket-index.ts', 'boards/espruino/index.ts'];

const program = ts.createProgram(ENTRIES.map((e) => root + e), {
  strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowImportingTsExtensions: true, noEmit: true, skipLibCheck: true,
  typeRoots: [root + 'node_modules/@types', root + 'node_modules/@moddable/typings'],
});
const checker = program.getTypeChecker();

function exportsOf(entry: string): ts.Symbol[] {
  const sf = program.getSourceFile(root + entry);
  assert.ok(sf, entry);
  const mod = checker.getSymbolAtLocation(sf!);
  assert.ok(mod, entry + ' is a module');
  return checker.getExportsOfModule(mod!);
}

/** Backquoted spans of the doc: a name counts as documented when a span starts with it. */
const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
const documented = (name: string) => spans.some((s) => s === name || (s.startsWith(name) && !/[\w$]/.test(s[name.length])));

function undocumented(names: string[]): string[] {
  return names.filter((n) => !documented(n));
}

test('the checker sees the exports (the lists below are not empty)', () => {
  const names = exportsOf('src/index.ts').map((s) => s.name);
  assert.ok(names.length > 80, `only ${names.length} exports found`);
  for (const n of ['MqttClient', 'ClientOptions', 'ERR_OUTBOX_FULL', 'Transport']) assert.ok(names.includes(n), n);
  // A name that is not in the doc is reported: the check can fail.
  assert.equal(undocumented(['NotAnExport', 'MqttClient']), ['NotAnExport']);
});

for (const entry of ENTRIES) {
  test(`every export of ${entry} is documented`, () => {
    assert.equal(undocumented(exportsOf(entry).map((s) => s.name)), []);
  });
}

function declaredIn(name: string): ts.Symbol {
  const s = exportsOf('src/index.ts').find((x) => x.name === name);
  assert.ok(s, name);
  return s!.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s!) : s!;
}

test('every ClientOptions field is documented', () => {
  const fields = checker.getDeclaredTypeOfSymbol(declaredIn('ClientOptions')).getProperties().map((p) => p.name);
  assert.ok(fields.length >= 20, `${fields.length} fields`);
  assert.equal(undocumented(fields), []);
});

test('every public MqttClient member is documented', () => {
  const cls = declaredIn('MqttClient');
  const members = checker.getDeclaredTypeOfSymbol(cls).getProperties().filter((p) => {
    const d = p.valueDeclaration || p.declarations?.[0];
    const mods = d ? ts.getCombinedModifierFlags(d as ts.Declaration) : 0;
    return !(mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !p.name.startsWith('_') && !p.name.startsWith('#');
  }).map((p) => p.name);
  for (const n of ['connect', 'publish', 'onMessage', 'state']) assert.ok(members.includes(n), n);
  assert.equal(undocumented(members), []);
});

test.run();
