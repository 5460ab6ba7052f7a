// The Lifecycle test contract (tests/contracts/lifecycle.rs) in TypeScript,
// for the lifecycle tests: slow calls that observe their abort signal,
// deadlines, logs, thrown errors, an uncaught exception and a frozen process.

import { serveLifecycle, type Lifecycle } from "./lifecycle.js";

/** How many `sleep` handlers were stopped before they finished. */
let cancelled = 0n;

const lifecycle: Lifecycle = {
  sleep: (ms, ctx) =>
    new Promise<bigint>((resolve, reject) => {
      const { signal } = ctx;
      if (signal.aborted) {
        cancelled += 1n;
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        cancelled += 1n;
        reject(signal.reason);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(ms);
      }, Number(ms));
      signal.addEventListener("abort", onAbort, { once: true });
    }),

  cancelled: () => cancelled,

  deadline_ms: (ctx) =>
    ctx.deadline === null ? null : BigInt(Math.max(0, Math.round(ctx.deadline - Date.now()))),

  pid: () => process.pid,

  add: (a, b) => BigInt.asIntN(64, a + b),

  log: (lines) => {
    for (const line of lines) process.stderr.write(`${line}\n`);
  },

  fail: (message) => {
    if (message === "uncaught") {
      // Thrown outside any handler: nothing catches it, Node prints the
      // exception and exits. The call itself never answers.
      setTimeout(() => {
        throw new Error("uncaught: the plugin crashed outside any handler");
      }, 0);
      return new Promise<number>(() => {});
    }
    if (message === "lone-surrogate") {
      // A JavaScript string need not be valid UTF-16; the error still has to
      // reach the host.
      throw new RangeError("half of an emoji: \uD83D, then the rest");
    }
    if (message === "empty") throw new Error();
    if (message === "thrown-string") {
      // Not an Error: no name, no stack.
      throw "a string, not an Error";
    }
    throw new Error(message);
  },

  freeze: () => {
    process.kill(process.pid, "SIGSTOP");
  },
};

await serveLifecycle(lifecycle);
