// The streams example's transformer in TypeScript. It serves Transformer:
// the host hands it a stream of samples (produced by another plugin) and it
// answers with a stream of lines, one per sample, each written as soon as
// its sample arrives. Credit flows both ways, so neither side ever holds
// more than its window, however long the stream. The host (a Rust program)
// starts it as `node dist/plugin.js`; run by hand it says it needs a host
// and exits.
//
// Build: npm ci && npm run build   (docs/TYPESCRIPT.md)

import { serveTransformer, type Transformer } from "./generated/contract.js";

/** Eight heights of a bar, for values from -1 to 1. */
const BARS = "▁▂▃▄▅▆▇█";

function bar(value: number): string {
  const level = Math.round(((Math.max(-1, Math.min(1, value)) + 1) / 2) * (BARS.length - 1));
  return BARS[level] ?? "?";
}

const transformer: Transformer = {
  // An async generator: each `yield` goes to the host as its credit allows,
  // and when the host drops the stream the generator is closed.
  async *describe(samples) {
    for await (const sample of samples) {
      yield `#${sample.seq} ${sample.value.toFixed(4)} ${bar(sample.value)}`;
    }
  },
};

await serveTransformer(transformer);
