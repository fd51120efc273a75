// Prints the minified and gzip size of each bundle in dist/.
import { readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const rows = readdirSync('dist').filter((f) => f.endsWith('.js')).sort().map((f) => {
  const b = readFileSync(`dist/${f}`);
  return { bundle: f, minified: b.length, gzip: gzipSync(b, { level: 9 }).length };
});
for (const r of rows) console.log(`${r.bundle.padEnd(28)} ${String(r.minified).padStart(7)} B minified ${String(r.gzip).padStart(7)} B gzip`);
console.log(JSON.stringify({ sizes: rows }));
