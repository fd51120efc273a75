// Espruino does not hoist `var` (seen on Espruino 2v29): in `function f() { x = 1; var x; }` the
// assignment writes an OUTER x. A minifier reusing one short name for several block variables
// emits exactly that, which clobbered the bundle's encodePublish on the real Espruino runtime
// (XS hoists correctly, so the XS stand-in cannot see it). This checks every Espruino-bound file,
// built in memory as `npm run build` does: no name is used in a function above its `var` there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { rollup, type RollupOptions, type OutputOptions } from 'rollup';
import { parse } from 'acorn';
import clientConfigs from '../rollup.config.js';
import appConfigs from '../rollup.app.config.js';

type Node = { type: string; start: number; [k: string]: unknown };
const isNode = (v: unknown): v is Node => !!v && typeof v === 'object' && typeof (v as Node).type === 'string';
const isFn = (n: Node) => n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression';

/** Children of a node, skipping non-computed property names (they are not variable references). */
function children(n: Node): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(n)) {
    if ((n.type === 'MemberExpression' && k === 'property' && !n.computed) || (n.type === 'Property' && k === 'key' && !n.computed)) continue;
    if (Array.isArray(v)) for (const c of v) { if (isNode(c)) out.push(c); }
    else if (isNode(v)) out.push(v);
  }
  return out;
}

/** Names used in a function (or the program) above their own `var` in that same function. */
export function useBeforeVar(code: string): string[] {
  const problems: string[] = [];
  const scope = (fn: Node, body: Node[]) => {
    const params = new Set(((fn.params as Node[] | undefined) ?? []).map((p) => p.name as string));
    const decl = new Map<string, number>();
    const refs: { name: string; at: number }[] = [];
    const nested: Node[] = [];
    const walk = (n: Node) => {
      if (isFn(n)) {
        nested.push(n);
        if (n.type === 'FunctionDeclaration') refs.push({ name: (n.id as Node).name as string, at: Infinity }); // a binding, not a use
        return;
      }
      if (n.type === 'VariableDeclarator') {
        const name = (n.id as Node).name as string;
        if (!decl.has(name)) decl.set(name, n.start);
        if (n.init) walk(n.init as Node);
        return;
      }
      if (n.type === 'Identifier') refs.push({ name: n.name as string, at: n.start });
      for (const c of children(n)) walk(c);
    };
    for (const s of body) walk(s);
    for (const r of refs) {
      const d = decl.get(r.name);
      if (d !== undefined && !params.has(r.name) && r.at < d) problems.push(`${r.name} used at ${r.at} before its var at ${d}: ${code.slice(Math.max(0, r.at - 40), r.at + 40)}`);
    }
    for (const f of nested) scope(f, [f.body as Node]);
  };
  const ast = parse(code, { ecmaVersion: 5, sourceType: 'script' }) as unknown as Node;
  scope(ast, ast.body as Node[]);
  return problems;
}

const built: { file: string; code: string }[] = [];

test.before(async () => {
  for (const cfg of [...clientConfigs, ...appConfigs] as RollupOptions[]) {
    const out = cfg.output as OutputOptions;
    if (!String(out.file).includes('espruino')) continue;
    const bundle = await rollup({ ...cfg, onwarn: (w) => { throw new Error(`rollup warning: ${w.message}`); } });
    const { output } = await bundle.generate(out);
    await bundle.close();
    built.push({ file: String(out.file), code: output[0].code });
  }
});

test('the check finds a use above a var (and passes hoisted code)', () => {
  assert.equal(useBeforeVar('var R = 1; function g() { R = 3; var R = 4; }').length, 1);
  assert.equal(useBeforeVar('function g() { for (var f = 0; f < 1; f++) { R = 3; } for (;;) { var R = 4; } }').length, 1);
  assert.equal(useBeforeVar('function g(R) { R = 3; var R = 4; }'), [], 'a parameter is local already');
  assert.equal(useBeforeVar('function g() { var R; R = 3; var R = 4; }'), []);
  assert.equal(useBeforeVar('function g() { function h() { return R; } var R = 4; return h; }'), [], 'a closure reads it later');
});

test('both Espruino bundles are built', () => {
  assert.equal(built.map((b) => b.file).sort(), ['dist/mcu-mqtt.espruino.js', 'dist/sensor-app.espruino.js']);
});

test('no name is used above its var: Espruino bundles and the example script', async () => {
  const files = [...built, { file: 'boards/espruino-app/sensor.js', code: await readFile('boards/espruino-app/sensor.js', 'utf8') }];
  for (const f of files) assert.equal(useBeforeVar(f.code), [], f.file);
});

test.run();
