// The events example's sensor in TypeScript. It serves Sensor: `run`
// publishes `count` measurements, one every `interval_ms`, as
// SensorEvents.measurement events on `home/<room>/<quantity>`; the host
// routes them to whoever subscribed (the host itself, other plugins). The
// room is the first argument (else `SENSOR_ROOM`, default `kitchen`), as
// the Rust and Python sensors take it. Like them it alternates temperature
// and humidity, unless `SENSOR_QUANTITY` names one. The host (a Rust program)
// starts it as `node dist/plugin.js <room>`; run by hand it says it needs a
// host and exits.
//
// Build: npm ci && npm run build   (docs/TYPESCRIPT.md)

import { setTimeout as sleep } from "node:timers/promises";

import { SensorEvents, events, serveSensor, type Sensor } from "./generated/contract.js";

const room = process.argv[2] ?? process.env["SENSOR_ROOM"] ?? "kitchen";
const only = process.env["SENSOR_QUANTITY"];
const quantities = only === undefined ? ["temperature", "humidity"] : [only];

// Publishing never waits: an event is handed to the host, which routes it.
const bus = events(SensorEvents);

/** A value that drifts the way a room's temperature (or humidity) does. */
function measure(quantity: string, i: number): number {
  const base = quantity === "humidity" ? 45 : 21;
  return Math.round((base + 2 * Math.sin(i / 3) + Math.random() * 0.2) * 100) / 100;
}

const impl: Sensor = {
  async run(count, interval_ms, ctx) {
    let published = 0;
    for (let i = 0; i < count; i++) {
      if (i > 0) await sleep(interval_ms, undefined, { signal: ctx.signal });
      const quantity = quantities[i % quantities.length] ?? "temperature";
      const sensor = `ts-${room}-${quantity}`;
      bus.publishMeasurement(`home/${room}/${quantity}`, { sensor, value: measure(quantity, i) });
      published++;
    }
    return published;
  },
};

await serveSensor(impl);
