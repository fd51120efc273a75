// Runs `npm start` (host-sim/start.ts) as a user would, in a child process, for the start tests.
import { spawn } from 'node:child_process';

export interface StartRun {
  code: number | null;
  out: string;
  err: string;
  /** stdout and stderr interleaved as they came. */
  all: string;
}

/** Resolves with the output once it exits by itself; kills it and rejects after `ms`. */
export function runStart(args: string[], ms: number): Promise<StartRun> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'host-sim/start.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let all = '';
    c.stdout.on('data', (d) => { out += d; all += d; });
    c.stderr.on('data', (d) => { err += d; all += d; });
    const t = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`npm start ${args.join(' ')} did not exit within ${ms} ms\n${all}`));
    }, ms);
    c.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out, err, all });
    });
  });
}
