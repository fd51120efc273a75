// `npm start`: simulated sensor boards running the example app (boards/app/sensor-app.ts) on
// mcu-mqtt. One board with an operator by default (demo.ts), or a fleet (--boards N, fleet.ts).
// `npm start -- --help` lists the options (start-args.ts).
import { parseArgs, USAGE, type StartArgs } from './start-args.ts';

let args: StartArgs;
try {
  args = parseArgs(process.argv.slice(2));
} catch (e) {
  console.error(`npm start: ${(e as Error).message}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

// Ctrl-C (or SIGTERM) ends the run like --duration does: summary, then a clean exit. A second
// Ctrl-C exits at once.
const stop = new Promise<string>((resolve) => {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.once(sig, () => process.exit(130));
      resolve(sig === 'SIGINT' ? 'Ctrl-C' : sig);
    });
  }
});

try {
  // The XS bridge loads @endo/init (SES) before anything else touches the intrinsics.
  if (args.engine === 'xs') await import('./xs-board.ts');
  const code = args.boards !== undefined
    ? await (await import('./fleet.ts')).runFleet(args, stop)
    : await (await import('./demo.ts')).runDemo(args, stop);
  process.exitCode = code;
} catch (e) {
  console.error(`npm start: ${(e as Error).message}`);
  process.exitCode = 1;
}
// Anything still holding the event loop here is a leak: say so rather than hang.
setTimeout(() => {
  console.error('npm start: handles still open 5 s after the end; exiting');
  process.exit(process.exitCode || 1);
}, 5000).unref();
