// The events example's sensor in TypeScript. It serves Sensor: `run`
// publishes `count` measurements, one every `interval_ms`, as
// SensorEvents.measurement events on `home/<room>/<quantity>`; the host
// routes them to whoever subscribed (the host itself, other plugins). The
// room comes from the environment (`SENSOR_ROOM`, default `kitchen`), the
// quantity from `SENSOR_QUANTITY` (default `temperature`). The host (a Rust
// program) starts it as `node dist/plugin.js`; run by hand it says it needs
// a host and exits.
//
// Build: npm ci && npm run build   (docs/TYPESCRIPT.md)

import { setTimeout as sleep } from "node:timers/promises";

import { SensorEvents, events, serveSensor, type Sensor } from "./generated/contract.js";

const room = process.env["SENSOR_ROOM"] ?? "kitchen";
const quantity = process.env["SENSOR_QUANTITY"] ?? "temperature";
const topic = `home/${room}/${quantity}`;
const sensor = `ts-${room}-${quantity}`;

// Publishing never waits: an event is handed to the host, which routes it.
const bus = events(SensorEvents);

/** A value that drifts the way a room's temperature (or humidity) does. */
function measure(i: number): number {
  const base = quantity === "humidity" ? 45 : 21;
  return Math.round((base + 2 * Math.sin(i / 3) + Math.random() * 0.2) * 100) / 100;
}

const impl: Sensor = {
  async run(count, interval_ms, ctx) {
    let published = 0;
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(interval_ms, undefined, { signal: ctx.signal });
      bus.publishMeasurement(topic, { sensor, value: measure(i) });
      published++;
    }
    return published;
  },
};

await serveSensor(impl);
