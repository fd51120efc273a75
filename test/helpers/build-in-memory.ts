// Builds rollup configs in memory exactly as `npm run build` does (a warning fails), for tests
// that inspect the bundles without touching dist/.
import { rollup, type RollupOptions, type OutputOptions, type OutputChunk } from 'rollup';

export interface Built {
  file: string;
  code: string;
  chunk: OutputChunk;
}

export async function buildInMemory(configs: RollupOptions[]): Promise<Built[]> {
  const built: Built[] = [];
  for (const cfg of configs) {
    const bundle = await rollup({ ...cfg, onwarn: (w) => { throw new Error(`rollup warning: ${w.message}`); } });
    const out = cfg.output as OutputOptions;
    const { output } = await bundle.generate(out);
    await bundle.close();
    const chunk = output[0];
    if (chunk.type !== 'chunk') throw new Error(`${out.file}: no chunk`);
    built.push({ file: String(out.file), code: chunk.code, chunk });
  }
  return built;
}
