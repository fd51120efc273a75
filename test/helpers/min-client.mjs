// `node --import tsx --import ./test/helpers/min-client.mjs <test file>`: the test runs against the
// client as the device bundles ship it, minified by rollup.config.js's own terser step (members
// renamed, functions inlined), instead of src/client.ts as tsx runs it. Everything else (codec
// functions and constants, host-sim, fake broker) stays src/. A bug only the minified code has (a
// built-in method renamed, as `find` once was) then fails the client tests, not only on a device.
// With MIN_CLIENT=es5 it is the Espruino build's client instead: TypeScript's ES5 output, one
// prototype literal per class (es5Classes), terser at ES5 with hoisted vars, espruinoForInit.
// test/run.js runs a set of client test files again each way.
import { register } from 'node:module';
import { writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rollup } from 'rollup';
import { parse } from 'acorn';
import { ts, min, es5Classes, espruinoForInit } from '../../rollup.config.js';

const src = new URL('../../src/', import.meta.url);
const ENTRY = '\0mcu-mqtt-min-client';
// The client with error names installed, as src/index.ts does.
const entry = {
  name: 'min-client-entry',
  resolveId: (id) => (id === ENTRY ? id : null),
  load: (id) => (id !== ENTRY ? null : `import { MqttClient, useErrorNames } from ${JSON.stringify(new URL('client.ts', src).pathname)};
import { codecErrorName } from ${JSON.stringify(new URL('codec/error-names.ts', src).pathname)};
useErrorNames(codecErrorName);
export { MqttClient };`),
};
// The Transport / RxSink interface (src/transport.ts) keeps its names: here the transport is
// host-sim's, outside the bundle, where a device bundle's own shim is renamed with the client.
const keep = ['_opened', '_readable', '_writable', '_lost', 'space', 'commit'];
const es5 = process.env.MIN_CLIENT === 'es5';
const bundle = await rollup({
  input: ENTRY,
  plugins: es5 ? [entry, ts('ES5'), es5Classes(), min(5, true, keep), espruinoForInit()] : [entry, ts('ES2020'), min(2020, true, keep)],
  onwarn: (w) => { throw new Error(`rollup warning: ${w.message}`); },
});
const { output } = await bundle.generate({ format: 'es' });
await bundle.close();
// The ES5 variant is ES5 but for its one export statement.
if (es5) parse(output[0].code.replace(/export\s*\{[^}]*\};?\s*$/, ''), { ecmaVersion: 5 });
const file = join(tmpdir(), `mcu-mqtt-min-client-${process.pid}.mjs`);
writeFileSync(file, output[0].code);
process.on('exit', () => rmSync(file, { force: true }));
register('./min-client-hooks.mjs', import.meta.url, {
  data: { index: new URL('index.ts', src).href, client: pathToFileURL(file).href },
});
// The redirect took: src/index.ts's MqttClient is the minified one (its _members renamed).
const { MqttClient } = await import(new URL('index.ts', src).href);
if (typeof MqttClient.prototype._fail == 'function' || typeof MqttClient.prototype.publish != 'function') {
  throw new Error('min-client: src/index.ts still gives the unminified MqttClient');
}
console.log(`[min-client] MqttClient from the minified${es5 ? ' ES5 (Espruino build)' : ''} client (${output[0].code.length} B)`);
