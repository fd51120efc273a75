// Types for the untyped packages host-sim/xs-bridge.ts uses (only what it uses).

declare module '@endo/init';

declare module 'tmp' {
  const tmp: { tmpName(opts: unknown, cb: (err: Error | null, name: string) => void): void };
  export default tmp;
}

declare module '@agoric/xsnap' {
  import type { spawn } from 'node:child_process';
  export interface XSnapRunResult {
    reply: Uint8Array;
    meterUsage: unknown;
  }
  export interface XSnap {
    name: string;
    evaluate(code: string): Promise<XSnapRunResult>;
    execute(fileName: string): Promise<void>;
    issueCommand(message: Uint8Array): Promise<XSnapRunResult>;
    issueStringCommand(message: string): Promise<{ reply: string; meterUsage: unknown }>;
    isReady(): Promise<void>;
    close(): Promise<void>;
    terminate(): Promise<void>;
  }
  export interface XSnapOptions {
    os: string;
    spawn: typeof spawn;
    fs: unknown;
    handleCommand?: (request: Uint8Array) => Promise<Uint8Array> | Uint8Array;
    name?: string;
    debug?: boolean;
    stdout?: 'ignore' | 'inherit' | 'pipe';
    stderr?: 'ignore' | 'inherit' | 'pipe';
    meteringLimit?: number;
    env?: Record<string, string | undefined>;
  }
  export function xsnap(options: XSnapOptions): Promise<XSnap>;
}
