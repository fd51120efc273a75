// Where the xsnap worker binary is, and whether it is built. A module of its own so a test can
// ask without importing xs-bridge.ts (which loads SES into the process).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { fileURLToPath } from 'node:url';

export const XSNAP_BIN = fileURLToPath(new URL(`../node_modules/@agoric/xsnap/xsnap-native/xsnap/build/bin/${os.type() === 'Darwin' ? 'mac' : 'lin'}/release/xsnap-worker`, import.meta.url));

export function xsnapAvailable(): { ok: boolean; why: string } {
  if (fs.existsSync(XSNAP_BIN)) return { ok: true, why: '' };
  return { ok: false, why: `xsnap worker not built (${XSNAP_BIN} missing): run \`npm rebuild @agoric/xsnap\` (needs make and a C compiler, ~30 s)` };
}
