// Made-up sensor readings for simulated boards: temperature and humidity drift like a room's
// (a slow random walk pulled back towards a per-board base, plus a small day-like swing), and a
// relay that only records its state. Node boards and XS boards (xs-board.ts transpiles this file
// into the engine) both use it, so it stays plain: no Node modules.
import type { Sensors } from '../boards/app/sensor-app.ts';

export class DriftingSensors implements Sensors {
  relayState = false;
  private t: number;
  private h: number;
  private readonly tBase: number;
  private readonly hBase: number;
  private readonly phase: number;
  private readonly rand: () => number;

  constructor(rand: () => number = Math.random) {
    this.rand = rand;
    this.tBase = 19 + rand() * 5; // 19-24 °C
    this.hBase = 35 + rand() * 20; // 35-55 %
    this.phase = rand() * Math.PI * 2;
    this.t = this.tBase;
    this.h = this.hBase;
  }

  temperature(): number {
    const swing = 0.8 * Math.sin(Date.now() / 120_000 + this.phase);
    this.t += (this.rand() - 0.5) * 0.2 + (this.tBase + swing - this.t) * 0.1;
    return Math.round(this.t * 100) / 100;
  }

  humidity(): number {
    this.h += (this.rand() - 0.5) * 0.6 + (this.hBase - this.h) * 0.05;
    // Warmer air, lower relative humidity.
    const v = this.h - (this.t - this.tBase) * 2;
    return Math.round(Math.min(100, Math.max(0, v)) * 100) / 100;
  }

  relay(on: boolean): void {
    this.relayState = on;
  }
}

