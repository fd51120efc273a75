// Module hooks for min-client.mjs: every import of src/index.ts gets src/index.ts with MqttClient
// replaced by the minified one (an explicit export wins over `export *`).
let d;
export function initialize(data) {
  d = data;
}
export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx);
  return r.url === d.index ? { url: 'mcu-min:index', shortCircuit: true } : r;
}
export async function load(url, ctx, next) {
  if (url !== 'mcu-min:index') return next(url, ctx);
  const source = `export * from ${JSON.stringify(d.index + '?real')};\nexport { MqttClient } from ${JSON.stringify(d.client)};\n`;
  return { format: 'module', source, shortCircuit: true };
}
