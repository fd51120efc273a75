// One minified bundle per runtime, from the same src/:
//  - dist/mcu-mqtt.moddable.js: ES module for Moddable XS (runtime modules stay external)
//  - dist/mcu-mqtt.espruino.js: CommonJS in ES5 syntax for Espruino
import typescript from '@rollup/plugin-typescript';
import terser from '@rollup/plugin-terser';

const ts = (target) =>
  typescript({
    tsconfig: './tsconfig.json',
    compilerOptions: { target, noEmit: false, declaration: false, sourceMap: false },
    include: ['src/**/*.ts', 'boards/**/*.ts'],
    noEmitOnError: true,
  });

const min = (ecma, module) =>
  terser({ ecma, module, toplevel: true, compress: { passes: 3, unsafe_arrows: ecma > 5 }, format: { comments: false } });

export default [
  {
    input: 'src/index.ts',
    output: { file: 'dist/mcu-mqtt.moddable.js', format: 'es' },
    plugins: [ts('ES2020'), min(2020, true)],
  },
  {
    input: 'src/index.ts',
    output: { file: 'dist/mcu-mqtt.espruino.js', format: 'cjs', exports: 'named', strict: false, generatedCode: 'es5' },
    plugins: [ts('ES5'), min(5, false)],
  },
];
