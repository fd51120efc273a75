// One minified bundle per runtime (and Moddable transport), from the same src/ plus the shims:
//  - dist/mcu-mqtt.moddable.js: ES module for Moddable XS over the ECMA-419 TCP socket
//  - dist/mcu-mqtt.moddable-socket.js: the same over the classic socket / SecureSocket (TLS)
//  - dist/mcu-mqtt.espruino.js: CommonJS in ES5 syntax for Espruino
// Runtime modules stay external.
import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';
import { parseAst } from 'rollup/parseAst';

/** TypeScript for src/ and boards/ at an output target (the app bundles use it too). */
export const ts = (target) =>
  typescript({
    tsconfig: './tsconfig.boards.json',
    compilerOptions: { target, noEmit: false, declaration: false, sourceMap: false },
    include: ['src/**/*.ts', 'boards/**/*.ts'],
    noEmitOnError: true,
  });

// Members no app outside the bundle reaches: the minifier shortens them. Names starting with _
// by convention (not built-in __x__ ones), plus the Outbox's and Decoder's bookkeeping, the RxSink
// calls the bundle's own transport makes, and the CONNACK/SUBACK fields of the view (apps only ever
// see PUBLISH views). Public names stay: the client API, PacketView's PUBLISH fields,
// `outbox.used()`/`peak`, options, platform APIs. builtins: true lets `next` be shortened: nothing
// in the bundles calls an iterator's next by name (for...of is native on XS, index loops in the ES5
// build). It renames a built-in method of a listed name wherever it is called, so any other
// built-in name here breaks the bundle (`find` once did: `in2.find(Boolean)` became a call of
// `Uint16Array.prototype.ct`); test/bundle.test.ts fails on one.
export const INTERNAL = /^(_(?!_).*|skip|idRest|err|head|tail|send|inflight|count|next|reset|space|commit|pkt|sessionPresent|returnCode|listOff)$/;

/** terser as every bundle uses it; `keep`: member names not to shorten (test/helpers/min-client.mjs). */
export const min = (ecma, module, keep = []) =>
  terser({
    ecma, module, toplevel: true,
    // No unsafe_arrows: MqttClient is a plain function called with `new`, and an arrow cannot be.
    // Espruino does not hoist `var`: terser may leave a var's declaration after an assignment to it
    // (legal JS), which on Espruino writes the enclosing scope's name instead (seen on 2v29).
    // hoist_vars declares every var at the top of its function.
    compress: { passes: 3, pure_getters: true, hoist_vars: ecma === 5 },
    // Members named _x are internal: safe to shorten.
    mangle: { properties: { regex: INTERNAL, builtins: true, reserved: keep } },
    format: { comments: false },
  });

/**
 * Espruino build only (on Espruino code is RAM): each TypeScript ES5 class as one prototype object
 * literal. TypeScript writes `X.prototype.m = function ...` per method and, per accessor,
 * `Object.defineProperty(X.prototype, "g", {get: function ..., enumerable: false, configurable:
 * true})` (about 100 bytes each); `X.prototype = {constructor: X, m: function ..., get g() {...}}`
 * is strict ES5 and works the same on Espruino (checked on 2v29), except that the accessors and
 * `constructor` are enumerable, which nothing relies on. Runs on the chunk before terser. A class
 * body it does not fully recognise, or a `@class` it did not rewrite, fails the build: a step that
 * silently stopped matching would only make the bundle bigger, unnoticed.
 */
export const es5Classes = () => ({
  name: 'es5-classes',
  renderChunk(code) {
    const fail = (why) => { throw new Error(`es5-classes: ${why}`); };
    const isProto = (e, x) => e && e.type == 'MemberExpression' && !e.computed && e.object.type == 'Identifier'
      && e.object.name == x && e.property.name == 'prototype';
    const key = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k));
    const text = (n) => code.slice(n.start, n.end);
    const edits = [];
    let classes = 0;
    for (const s of parseAst(code).body) {
      for (const d of s.type == 'VariableDeclaration' ? s.declarations : []) {
        // var X = /** @class */ (function () { function X() {...} ...members; return X; }());
        const b = d.init && d.init.type == 'CallExpression' && d.init.callee.type == 'FunctionExpression'
          && d.init.callee.body.body;
        if (!b || !b.length || b[0].type != 'FunctionDeclaration') continue;
        const x = b[0].id.name;
        const last = b[b.length - 1];
        if (last.type != 'ReturnStatement' || !last.argument || last.argument.name != x) fail(`class ${x}: no return ${x}`);
        const members = b.slice(1, -1).map((m) => {
          const e = m.type == 'ExpressionStatement' ? m.expression : fail(`class ${x}: ${text(m)}`);
          // X.prototype.m = value, or X.prototype["a name"] = value
          const l = e.type == 'AssignmentExpression' && e.operator == '=' && e.left.type == 'MemberExpression' && e.left;
          const k = l && isProto(l.object, x) && (l.computed ? l.property.type == 'Literal' && l.property.value : l.property.name);
          if (typeof k == 'string') return `${key(k)}: ${text(e.right)}`;
          // Object.defineProperty(X.prototype, "g", {get: function () {...}, set: function (v) {...},
          // enumerable: false, configurable: true})
          const [p, name, o] = e.type == 'CallExpression' && text(e.callee) == 'Object.defineProperty' ? e.arguments : [];
          if (!isProto(p, x) || name.type != 'Literal' || typeof name.value != 'string' || o.type != 'ObjectExpression'
            || e.arguments.length != 3) fail(`class ${x}: ${text(e)}`);
          const flags = { enumerable: false, configurable: true };
          return o.properties.map((q) => {
            const k = q.type == 'Property' && q.kind == 'init' && !q.computed && q.key.type == 'Identifier' ? q.key.name : '';
            if (k in flags && q.value.type == 'Literal' && q.value.value === flags[k]) return delete flags[k] && '';
            const f = q.value;
            if ((k != 'get' && k != 'set') || f.type != 'FunctionExpression' || f.id) fail(`class ${x}: ${text(q)}`);
            return `${k} ${key(name.value)}(${f.params.map(text).join(', ')}) ${text(f.body)}`;
          }).filter((t) => t).join(',\n') || fail(`class ${x}: ${text(e)}`);
        });
        classes++;
        if (members.length) {
          edits.push([b[1].start, b[b.length - 2].end, `${x}.prototype = {constructor: ${x},\n${members.join(',\n')}};`, x]);
        }
      }
    }
    if (!classes || classes != code.split('/** @class */').length - 1) fail(`${classes} classes rewritten`);
    let out = code;
    for (const [from, to, t] of edits.reverse()) out = out.slice(0, from) + t + out.slice(to);
    for (const [, , , x] of edits) if (out.split(`${x}.prototype`).length != 2) fail(`${x}.prototype used elsewhere`);
    return { code: out, map: null };
  },
});

/**
 * Espruino build only, after terser: Espruino parses a for-loop's init like a statement, so
 * `for(function(){...}(),i=0;...)`, which terser writes when it inlines a function used once into
 * a loop's init, fails there ("Got '(' expected ID", seen on 2v29 with 2 of its builds). A `!` in
 * front makes it an expression whatever the parser; the init's value is discarded anyway.
 */
export const espruinoForInit = () => ({
  name: 'espruino-for-init',
  renderChunk(code) {
    const at = [];
    (function walk(n) {
      if (n && n.type == 'ForStatement' && n.init && code.startsWith('function', n.init.start)) at.push(n.init.start);
      if (n && typeof n == 'object') for (const k in n) if (k != 'type') walk(n[k]);
    })(parseAst(code));
    for (const i of at.sort((a, b) => b - a)) code = code.slice(0, i) + '!' + code.slice(i);
    return { code, map: null };
  },
});

const moddable = (input, file, external) => ({
  input, external,
  output: { file, format: 'es' },
  plugins: [ts('ES2020'), min(2020, true)],
});

export default [
  moddable('boards/moddable/index.ts', 'dist/mcu-mqtt.moddable.js', ['embedded:io/socket/tcp', 'net', 'timer', 'time']),
  moddable('boards/moddable/socket-index.ts', 'dist/mcu-mqtt.moddable-socket.js', ['socket', 'securesocket', 'timer', 'time']),
  {
    input: 'boards/espruino/index.ts',
    output: { file: 'dist/mcu-mqtt.espruino.js', format: 'cjs', exports: 'named', strict: false, generatedCode: 'es5' },
    plugins: [ts('ES5'), es5Classes(), min(5, false), espruinoForInit()],
  },
];
