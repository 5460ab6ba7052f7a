// A Calculator implementation kept apart from its `serve` call, so tests
// can import it: what docs/TYPESCRIPT.md, "Testing", recommends.

import type { Calculator } from "./calculator.js";

export const calculator: Calculator = {
  // Wraps around like the Rust plugin's `wrapping_add`.
  add: (a, b) => BigInt.asIntN(64, a + b),
  divide: (a, b) => (b === 0n ? { err: { tag: "DivisionByZero" } } : { ok: BigInt.asIntN(64, a / b) }),
  // Starts from -0 like Rust's float `Sum`, so an empty list gives -0 too.
  sum: (values) => values.reduce((s, x) => s + x, -0),
  greet: async (name, ctx) => {
    // Looks a name up somewhere slow; gives up when the caller does.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, name === "slowpoke" ? 60_000 : 0);
      ctx.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
    return `Hello, ${name}!`;
  },
};
