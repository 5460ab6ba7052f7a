// The stream and event test contracts (tests/contracts/streams.rs) in
// TypeScript: `Streams` as the contract's doc comments say, and
// `EventProbe`, which publishes and watches `Telemetry.temperature` events.

import * as fs from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";

import {
  TelemetryEvents,
  eventProbeService,
  events,
  serve,
  streamsService,
  type EventProbe,
  type Seen,
  type Streams,
} from "./streams.js";

const U64 = (1n << 64n) - 1n;

const streams: Streams = {
  async *count(start, count) {
    for (let i = 0n; i < count; i++) yield (start + i) & U64;
  },

  async *fail_after(n) {
    for (let i = 0; i < n; i++) yield i;
    throw new Error(`boom after ${n}`);
  },

  async upload(data) {
    let bytes = 0n;
    let chunks = 0n;
    let checksum = 0n;
    for await (const chunk of data) {
      bytes += BigInt(chunk.length);
      chunks++;
      let sum = 0;
      for (const b of chunk) sum += b;
      checksum = (checksum + BigInt(sum)) & U64;
    }
    return { bytes_: bytes, chunks, checksum };
  },

  async *shout(prefix, lines) {
    for await (const line of lines) yield `${prefix}${line.toUpperCase()}`;
  },

  async *forever(marker) {
    try {
      for (let i = 0n; ; i++) yield i;
    } finally {
      fs.writeFileSync(marker, "stopped");
    }
  },

  async *download(size, chunk) {
    let at = 0n;
    while (at < size) {
      const n = Number(size - at < BigInt(chunk) ? size - at : BigInt(chunk));
      const bytes = new Uint8Array(n);
      const start = Number(at % 251n);
      for (let i = 0; i < n; i++) bytes[i] = (start + i) % 251;
      yield bytes;
      at += BigInt(n);
    }
  },

  async *pids(count) {
    for (let i = 0; i < count; i++) yield process.pid;
  },
};

const telemetry = events(TelemetryEvents);

const probe: EventProbe = {
  publish(topic, sensor, count) {
    for (let i = 0; i < count; i++) telemetry.publishTemperature(topic, { sensor, celsius: i });
  },

  async *watch(pattern, delay_ms) {
    const subscription = telemetry.subscribeTemperature(pattern);
    try {
      // The subscription is live: SUBSCRIBE went before this item.
      const live: Seen = { topic: "", reading: { sensor: "", celsius: 0 }, lagged: 0n };
      yield live;
      const events = subscription[Symbol.asyncIterator]();
      for (;;) {
        if (delay_ms > 0) await sleep(delay_ms);
        const next = await events.next();
        if (next.done === true) return;
        const e = next.value;
        yield { topic: e.topic, reading: e.payload, lagged: e.lagged };
      }
    } finally {
      subscription.close();
    }
  },
};

await serve([streamsService(streams), eventProbeService(probe)]);
