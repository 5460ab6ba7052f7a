// The Counter plugin of the schema tests (tests/contracts/stats.rs), built
// against the contract's own stubs or against a copy whose types drifted,
// which the host must refuse before any call.

import { serveCounter, type Counter, type Stats } from "./counter.js";

const counter: Counter = {
  // The drifted copies rename, retype or drop fields of Stats, and this file
  // compiles against each of them, hence the cast: only the contract's own
  // stubs ever get a call.
  stats: () => ({ calls: 4n, bytes_in: 1n, bytes_out: 2n }) as unknown as Stats,
  reset: () => 4n,
};

await serveCounter(counter);
