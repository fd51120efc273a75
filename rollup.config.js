// One minified bundle per runtime (and Moddable transport), from the same src/ plus the shims:
//  - dist/mcu-mqtt.moddable.js: ES module for Moddable XS over the ECMA-419 TCP socket
//  - dist/mcu-mqtt.moddable-socket.js: the same over the classic socket / SecureSocket (TLS)
//  - dist/mcu-mqtt.espruino.js: CommonJS in ES5 syntax for Espruino
// Runtime modules stay external.
import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';

/** TypeScript for src/ and boards/ at an output target (the app bundles use it too). */
export const ts = (target) =>
  typescript({
    tsconfig: './tsconfig.boards.json',
    compilerOptions: { target, noEmit: false, declaration: false, sourceMap: false },
    include: ['src/**/*.ts', 'boards/**/*.ts'],
    noEmitOnError: true,
  });

// Members no app outside the bundle reaches: the minifier shortens them. Names starting with _
// by convention, plus the Outbox's and Decoder's bookkeeping, the RxSink calls the bundle's own
// transport makes, and the CONNACK/SUBACK fields of the view (apps only ever see PUBLISH views).
// Public names stay: the client API, PacketView's PUBLISH fields, `outbox.used()`/`peak`, options,
// platform APIs. builtins: true lets `next` be shortened: nothing in the bundles calls an
// iterator's next by name (for...of is native on XS, index loops in the ES5 build).
const INTERNAL = /^(_.*|skip|idRest|err|head|tail|send|inflight|packetLen|find|release|trim|rewind|count|next|reset|space|commit|pkt|sessionPresent|returnCode|listOff)$/;

const min = (ecma, module) =>
  terser({
    ecma, module, toplevel: true,
    // No unsafe_arrows: MqttClient is a plain function called with `new`, and an arrow cannot be.
    // Espruino does not hoist `var`: terser may leave a var's declaration after an assignment to it
    // (legal JS), which on Espruino writes the enclosing scope's name instead (seen on 2v29).
    // hoist_vars declares every var at the top of its function.
    compress: { passes: 3, pure_getters: true, hoist_vars: ecma === 5 },
    // Members named _x are internal: safe to shorten.
    mangle: { properties: { regex: INTERNAL, builtins: true } },
    format: { comments: false },
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
    plugins: [ts('ES5'), min(5, false)],
  },
];
