// One minified bundle per runtime, from the same src/ plus that runtime's shims (boards/):
//  - dist/mcu-mqtt.moddable.js: ES module for Moddable XS (runtime modules stay external)
//  - dist/mcu-mqtt.espruino.js: CommonJS in ES5 syntax for Espruino
import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';

const MODDABLE_MODULES = ['embedded:io/socket/tcp', 'net', 'socket', 'securesocket', 'timer', 'time'];

const ts = (target, tsconfig) =>
  typescript({
    tsconfig,
    compilerOptions: { target, noEmit: false, declaration: false, sourceMap: false },
    include: ['src/**/*.ts', 'boards/**/*.ts'],
    noEmitOnError: true,
  });

const min = (ecma, module) =>
  terser({
    ecma, module, toplevel: true,
    // Espruino does not hoist `var`: an assignment above a function's `var x` writes an outer x
    // (seen on Espruino 2v29). Hoisting every var to the top of its function avoids that.
    compress: { passes: 3, unsafe_arrows: ecma > 5, hoist_vars: ecma === 5 },
    // Members named _x are internal: safe to shorten.
    mangle: { properties: { regex: /^_/ } },
    format: { comments: false },
  });

export default [
  {
    input: 'boards/moddable/index.ts',
    external: MODDABLE_MODULES,
    output: { file: 'dist/mcu-mqtt.moddable.js', format: 'es' },
    plugins: [ts('ES2020', './tsconfig.boards.json'), min(2020, true)],
  },
  {
    input: 'boards/espruino/index.ts',
    output: { file: 'dist/mcu-mqtt.espruino.js', format: 'cjs', exports: 'named', strict: false, generatedCode: 'es5' },
    plugins: [ts('ES5', './tsconfig.boards.json'), min(5, false)],
  },
];
