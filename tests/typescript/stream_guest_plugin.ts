// The StreamGuest test contract (tests/contracts/streams.rs) in TypeScript,
// for the host-service stream tests: each method streams to or from the
// host's Streams service while it serves.

import { StreamsClient, host, serveStreamGuest, type StreamGuest } from "./streams.js";

const U64 = (1n << 64n) - 1n;

const hostStreams = host(StreamsClient);

/** `chunks` chunks of `size` bytes, chunk `i` all `i % 256`, made as they are read. */
function* chunksOf(chunks: number, size: number): Generator<Uint8Array> {
  for (let i = 0; i < chunks; i++) yield new Uint8Array(size).fill(i % 256);
}

const guest: StreamGuest = {
  async sum_from_host(start, count) {
    let sum = 0n;
    for await (const item of hostStreams.count(start, count)) sum = (sum + item) & U64;
    return sum;
  },

  upload_to_host: (chunks, size) => hostStreams.upload(chunksOf(chunks, size)),
};

await serveStreamGuest(guest, { requires: [StreamsClient] });
