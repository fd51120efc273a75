// `npm start` (for now): a codec demo against an embedded broker. Aedes runs in-process on a free
// loopback port; a raw TCP socket speaks MQTT through mcu-mqtt's codec only (our encoders out,
// our streaming decoder in): CONNECT, SUBSCRIBE, QoS 1 telemetry, and the echoes coming back.
// The full client and simulated sensor boards replace this demo in later work.
import { createServer, connect, type AddressInfo } from 'node:net';
import { Aedes } from 'aedes';
import * as mq from '../src/index.ts';

const args = process.argv.slice(2);
const durationArg = args.indexOf('--duration');
const durationS = durationArg >= 0 ? Number(args[durationArg + 1]) : 6;
const t0 = Date.now();
const log = (dir: string, what: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(3).padStart(7)}s ${dir} ${what}`);

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address() as AddressInfo;
log('--', `embedded broker (Aedes) on mqtt://127.0.0.1:${port}`);

const tx = new Uint8Array(512);
const dec = new mq.Decoder(1024);
const sock = connect(port, '127.0.0.1');
const send = (n: number, what: string) => {
  if (n < 0) throw new Error(`encode failed: ${mq.codecErrorName(n)}`);
  sock.write(Buffer.from(tx.subarray(0, n)));
  log('->', `${what} (${n} B)`);
};
const str = (off: number, len: number) => mq.utf8Decode(dec.buf, off, len);

let nextId = 1;
let sent = 0;
let acked = 0;
let received = 0;
let timer: NodeJS.Timeout | undefined;

sock.on('connect', () => send(mq.encodeConnect(tx, 0, { clientId: 'codec-demo', keepalive: 30 }), 'CONNECT codec-demo'));
sock.on('data', (chunk: Buffer) => {
  let i = 0;
  while (i < chunk.length) {
    i += dec.write(chunk, i, chunk.length);
    for (let t = dec.next(); t !== mq.NEED_MORE; t = dec.next()) {
      const p = dec.pkt;
      if (t < 0) {
        log('<-', `malformed packet: ${mq.codecErrorName(t)}`);
        sock.destroy();
        return;
      }
      if (t === mq.CONNACK) {
        log('<-', `CONNACK rc=${p.returnCode} sessionPresent=${p.sessionPresent}`);
        send(mq.encodeSubscribe(tx, 0, nextId++, ['devices/demo/#'], [1]), 'SUBSCRIBE devices/demo/# qos 1');
      } else if (t === mq.SUBACK) {
        log('<-', `SUBACK granted=${dec.buf[p.listOff]}`);
        timer = setInterval(publish, 1000);
        publish();
      } else if (t === mq.PUBACK) {
        acked++;
        log('<-', `PUBACK id=${p.id}`);
      } else if (t === mq.PUBLISH) {
        received++;
        log('<-', `PUBLISH ${str(p.topicOff, p.topicLen)} qos=${p.qos} ${str(p.payloadOff, p.payloadLen)}`);
        if (p.qos === 1) send(mq.encodeAck(tx, 0, mq.PUBACK, p.id), `PUBACK id=${p.id}`);
      }
    }
  }
});

function publish() {
  const body = JSON.stringify({ temperature: +(20 + Math.random() * 5).toFixed(2), uptime: Math.round((Date.now() - t0) / 1000) });
  const id = nextId++;
  sent++;
  send(mq.encodePublish(tx, 0, 'devices/demo/telemetry', body, 1, false, false, id), `PUBLISH devices/demo/telemetry qos=1 id=${id} ${body}`);
}

async function stop() {
  clearInterval(timer);
  if (!sock.destroyed) send(mq.encodeEmpty(tx, 0, mq.DISCONNECT), 'DISCONNECT');
  sock.end();
  await new Promise((r) => setTimeout(r, 100));
  server.close();
  await new Promise<void>((r) => broker.close(() => r()));
  log('--', `summary: sent ${sent}, acknowledged ${acked}, received ${received}`);
}
process.once('SIGINT', () => void stop().then(() => process.exit(0)));
setTimeout(() => void stop(), durationS * 1000);
