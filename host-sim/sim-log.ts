// One line per event for `npm start`: time since start, who, direction, topic, payload summary.
//    2.004s  board     -> devices/esp32-1a2b/telemetry      {"temp":21.53,"hum":40.12,"up":2}
// Directions: "->" sent, "<-" received, "--" a note, "!!" a problem.

export class EventLog {
  private readonly t0 = performance.now();
  private readonly write: (s: string) => void;

  constructor(write: (s: string) => void = (s) => process.stdout.write(s)) {
    this.write = write;
  }

  /** Seconds since start. */
  get elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  stamp(): string {
    return `${this.elapsed.toFixed(3).padStart(8)}s`;
  }

  event(actor: string, dir: string, topic: string, text: string): void {
    this.write(`${this.stamp()}  ${actor.padEnd(8)} ${dir} ${topic.padEnd(36)} ${summary(text)}\n`);
  }

  note(actor: string, text: string, dir = '--'): void {
    this.write(`${this.stamp()}  ${actor.padEnd(8)} ${dir} ${text}\n`);
  }

  raw(text: string): void {
    this.write(text + '\n');
  }
}

/** Printable, one line, at most 72 characters. */
export function summary(s: string): string {
  let t = s.replace(/[^\x20-\x7e]/g, '.');
  if (t.length > 72) t = t.slice(0, 69) + '...';
  return t;
}
