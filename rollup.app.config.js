// The example sensor app (boards/app/sensor-app.ts) compiled for the devices, next to the client
// bundles (rollup.config.js); run by `npm run build` after it:
//  - dist/sensor-app.js: ES module for Moddable XS; board manifests map the module "sensor-app" to it
//  - dist/sensor-app.espruino.js: CommonJS in ES5 syntax for Espruino (require("sensor-app"))
// The app imports only types from src/, so neither file imports anything at run time: it gets
// the client, transport and clock from the board's main module.
import terser from '@rollup/plugin-terser';
import { ts, es5Classes, espruinoForInit } from './rollup.config.js';

// No property mangling: the app's members are its public API (stats, interval, relayOn, start...).
const min = (ecma, module) =>
  // hoist_vars for Espruino, which does not hoist `var` (see rollup.config.js).
  terser({ ecma, module, toplevel: true, compress: { passes: 2, hoist_vars: ecma === 5 }, format: { comments: false } });

export default [
  {
    input: 'boards/app/sensor-app.ts',
    output: { file: 'dist/sensor-app.js', format: 'es' },
    plugins: [ts('ES2020'), min(2020, true)],
  },
  {
    input: 'boards/app/sensor-app.ts',
    output: { file: 'dist/sensor-app.espruino.js', format: 'cjs', exports: 'named', strict: false, generatedCode: 'es5' },
    // The same Espruino-only steps as the client bundle (rollup.config.js): one prototype literal
    // per class, and no function expression opening a for-loop (Espruino 2v29 cannot parse it).
    plugins: [ts('ES5'), es5Classes(), min(5, false), espruinoForInit()],
  },
];
