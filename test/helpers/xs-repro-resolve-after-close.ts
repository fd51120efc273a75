// Repro (for boards/moddable/tcp-transport.ts): a Net.resolve answer that comes after close()
// still opens a socket. The app calls connect() and, while the broker's name is being resolved,
// end(); the transport's close() finds no socket yet (this.s is null until the name resolves), and
// the resolve callback then creates one that nobody owns: it stays open (the broker closes it only
// when its CONNECT timeout runs out), a leak of one of the device's few sockets per occurrence.
// The same happens when connectTimeout runs out during a slow resolve; then the stale socket can
// even carry the next attempt's CONNECT while the transport listens to the newer socket.
//   node --import tsx test/helpers/xs-repro-resolve-after-close.ts
// Exit code 1 when a socket is left open after end().
import { XsBridge } from '../../host-sim/xs-bridge.ts';
import * as net from 'node:net';

const server = net.createServer((s) => s.on('error', () => {}));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as net.AddressInfo).port;
const b = await XsBridge.start({ flavor: 'moddable', stdout: 'ignore', resolveDelay: 200 });
try {
  await b.run(`(function () {
    var M = __mq;
    var c = new M.MqttClient(new M.TcpTransport(), M.moddableClock, { host: 'localhost', port: ${port}, clientId: 'repro' });
    c.onClose = function (r) { report({ t: 'close', r: r }); };
    c.connect();
    c.end(); // while 'localhost' is being resolved
  })();`);
  await new Promise((r) => setTimeout(r, 600));
  console.log(`reports ${JSON.stringify(b.reports)}; sockets opened by XS after end(): ${b.opens}, still open: ${b.open}`);
  process.exitCode = b.open ? 1 : 0;
  console.log(b.open ? 'BUG: a socket opened after end() and stays open' : 'ok: no socket after end()');
} finally {
  await b.close();
  server.close();
}
