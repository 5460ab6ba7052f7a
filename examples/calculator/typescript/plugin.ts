// The calculator plugin in TypeScript. The host (a Rust program) starts it
// as `node dist/plugin.js`; run by hand it says it needs a host and exits.
//
// Build: npm ci && npm run build   (docs/TYPESCRIPT.md)

import { serveCalculator, type Calculator } from "./generated/calculator.js";

const I64_MIN = -(1n << 63n);

const calculator: Calculator = {
  // Wraps around like the Rust plugin's `wrapping_add`.
  add: (a, b) => BigInt.asIntN(64, a + b),

  // A domain error is returned, not thrown: it reaches the host typed.
  divide: (a, b) => {
    if (b === 0n) return { err: { tag: "DivisionByZero" } };
    if (a === I64_MIN && b === -1n) return { err: { tag: "Overflow", operation: `${a} / ${b}` } };
    return { ok: a / b };
  },

  // Starts from -0 like Rust's float `Sum`, so an empty list gives -0 too.
  sum: (values) => values.reduce((s, x) => s + x, -0),

  greet: (name) => `Hello, ${name}!`,
};

await serveCalculator(calculator);
