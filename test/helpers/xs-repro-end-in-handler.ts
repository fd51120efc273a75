// Repro (for boards/): a Moddable transport keeps reading a socket the client has just closed.
// A fake broker sends CONNACK and 30 QoS 0 PUBLISH (about 1.9 KB) in one write; the app calls end()
// from onMessage on the first message. The bytes arrive in one onReadable larger than the receive
// buffer (1024), so the transport calls ev._readable() mid-loop, the client closes the transport
// there, rx.space() is not 0 afterwards, and the loop goes on reading: read() on a closed socket,
// which throws on the device (Moddable's TCP read validates host data that close() cleared).
//   node --import tsx test/helpers/xs-repro-end-in-handler.ts [moddable|moddable-classic|espruino]
// Exit code 1 when an exception escaped into a runtime callback in XS.
import { XsBridge, MODDABLE_SOCKET_BUNDLE } from '../../host-sim/xs-bridge.ts';
import * as net from 'node:net';

function publish(topic: string, payload: string): Buffer {
  const t = Buffer.from(topic), p = Buffer.from(payload);
  return Buffer.concat([Buffer.from([0x30, 2 + t.length + p.length, t.length >> 8, t.length & 255]), t, p]);
}

const which = process.argv[2] || 'moddable';
const flavor = which === 'espruino' ? 'espruino' : 'moddable';
const transport = { moddable: 'new M.TcpTransport()', 'moddable-classic': 'new M.SocketTransport()', espruino: 'new M.NetTransport()' }[which];
if (!transport) throw new Error(`unknown case ${which}`);

const server = net.createServer((s) => {
  s.on('error', () => {});
  s.once('data', () => {
    const pubs = Array.from({ length: 30 }, (_, i) => publish('t/burst', `m${String(i).padStart(2, '0')}${'x'.repeat(46)}`));
    s.write(Buffer.concat([Buffer.from([0x20, 2, 0, 0]), ...pubs]));
  });
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as net.AddressInfo).port;
const b = await XsBridge.start({ flavor, stdout: 'ignore', bundle: which === 'moddable-classic' ? MODDABLE_SOCKET_BUNDLE : undefined });
try {
  await b.run(`(function () {
    var M = __mq;
    var c = new M.MqttClient(${transport}, M.${flavor}Clock, { host: '127.0.0.1', port: ${port}, clientId: 'repro', reconnect: false });
    var n = 0;
    c.onConnect = function () { report({ t: 'connect' }); };
    c.onMessage = function () { if (++n === 1) { report({ t: 'end() in onMessage' }); c.end(); } };
    c.onError = function (e) { report({ t: 'error', m: e.message }); };
    c.onClose = function (r) { report({ t: 'close', r: r }); };
    c.connect();
  })();`);
  await b.waitFor(() => b.reportsOf('close').length, 3000, 'onClose');
  await new Promise((r) => setTimeout(r, 200));
  console.log(`${which}: ${JSON.stringify(b.reports)}`);
  console.log(b.errors.length ? `exception in XS:\n${b.errors.join('\n')}` : 'no exception in XS');
  process.exitCode = b.errors.length ? 1 : 0;
} finally {
  await b.close();
  server.close();
}
