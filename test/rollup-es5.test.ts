// The Espruino build's two output steps in rollup.config.js: es5Classes (TypeScript's ES5 classes
// as one prototype literal each) and espruinoForInit (no function expression at the start of a
// for-loop init). Checked on TypeScript's real ES5 output, run in Node, and on the built bundle.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as vm from 'node:vm';
import ts from 'typescript';
import { parse } from 'acorn';
import { parseAst } from 'rollup/parseAst';
import type { RollupOptions } from 'rollup';
import configs, { es5Classes, espruinoForInit } from '../rollup.config.js';
import { buildInMemory } from './helpers/build-in-memory.ts';

type Step = { renderChunk(code: string): { code: string } };
const run = (step: Step, code: string): string => step.renderChunk(code).code;
const es5 = (src: string): string => ts.transpileModule(src, { compilerOptions: { target: ts.ScriptTarget.ES5 } }).outputText;

const CLASSES = `
class A {
  private _n = 1;
  constructor(n: number) { this._n = n; }
  get state(): number { return this._n; }
  set state(v: number) { this._n = v * 2; }
  get twice(): number { return this._n * 2; }
  add(k: number): number { return this._n += k; }
  "odd name"(): string { return 'odd'; }
}
class B { constructor(public x: number) {} }
class C { hi(): string { return 'hi'; } }
globalThis.out = { A, B, C };
`;

test('es5Classes: one prototype literal per class, strict ES5, same behaviour in Node', () => {
  const before = es5(CLASSES);
  assert.match(before, /Object\.defineProperty\(A\.prototype, "state"/); // the shape it rewrites
  const after = run(es5Classes(), before);
  parse(after, { ecmaVersion: 5, sourceType: 'script' });
  assert.not.match(after, /defineProperty|A\.prototype\.|C\.prototype\./);
  assert.match(after, /A\.prototype = \{constructor: A,/);
  assert.not.match(after, /B\.prototype/); // a class without members is left as it is
  const g: { out?: any } = {};
  vm.runInNewContext(after, { globalThis: g });
  const { A, B, C } = g.out;
  const a = new A(3);
  assert.is(a.state, 3);
  a.state = 5;
  assert.is(a.state, 10);
  assert.is(a.twice, 20);
  assert.is(a.add(1), 11);
  assert.is(a['odd name'](), 'odd');
  assert.ok(a instanceof A && a.constructor === A);
  assert.equal(Object.keys(a), ['_n']); // accessors and methods stay on the prototype
  assert.is(new B(4).x, 4);
  assert.is(new C().hi(), 'hi');
});

test('es5Classes: a class shape it does not know fails the build', () => {
  // A static member is a statement the rewrite does not handle.
  assert.throws(() => run(es5Classes(), es5('class S { static k = 1; m() { return 1; } }')), /es5-classes: class S/);
  // An accessor with another flag set.
  const odd = es5(CLASSES).replace('enumerable: false', 'enumerable: true');
  assert.throws(() => run(es5Classes(), odd), /es5-classes: class A/);
  // A @class marker on something that is not the known IIFE, or no class at all.
  assert.throws(() => run(es5Classes(), 'var X = /** @class */ (function () { return 1; }());'), /0 classes rewritten/);
  assert.throws(() => run(es5Classes(), 'var x = 1;'), /0 classes rewritten/);
  // X.prototype reached elsewhere: its methods must not be replaced behind its back.
  assert.throws(() => run(es5Classes(), es5(CLASSES) + '\nvar keep = A.prototype;'), /A\.prototype used elsewhere/);
});

test('espruinoForInit: a ! before a function expression that opens a for-loop init, nowhere else', () => {
  const src = 'var r = [];for(function(a){r.push("f"+a)}(1),i=0;i<2;i++)r.push(i);'
    + 'for(var j=0;j<1;j++)r.push("j");var s="for(function(";function f(){return 1}r.push(s,f());';
  const out = run(espruinoForInit(), src);
  assert.is(out, src.replace('for(function(a)', 'for(!function(a)'));
  const run1 = (code: string) => { const c: { r?: string } = {}; vm.runInNewContext(code + ';this.r=JSON.stringify(r)', c); return JSON.parse(c.r!); };
  assert.equal(run1(out), run1(src));
  assert.equal(run1(out), ['f1', 0, 1, 'j', 'for(function(', 1]);
});

test('the built Espruino bundle: no accessor definitions left, no for-loop init opening with a function', async () => {
  const esp = (configs as RollupOptions[]).filter((c) => String((c.output as { file: string }).file).includes('espruino'));
  const [b] = await buildInMemory(esp);
  assert.not.match(b.code, /defineProperty|\.prototype\.[\w$]+=function/);
  assert.match(b.code, /get state\(\)/);
  let bad = 0;
  (function walk(n: any): void {
    if (n && n.type == 'ForStatement' && n.init && b.code.startsWith('function', n.init.start)) bad++;
    if (n && typeof n == 'object') for (const k in n) if (k != 'type') walk(n[k]);
  })(parseAst(b.code));
  assert.is(bad, 0);
});

test.run();
