// A Calculator plugin for the runtime's behaviour tests: `greet` is told
// what to do by its argument (throw, wait for the abort signal, answer
// slowly, answer with a value that cannot be encoded).

import { serveCalculator, type Calculator } from "./calculator.js";

let aborted = 0;

function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    signal.addEventListener("abort", () => {
      aborted += 1;
      reject(signal.reason);
    });
  });
}

const calculator: Calculator = {
  add: (a, b) => BigInt.asIntN(64, a + b),
  divide: (a, b) => (b === 0n ? { err: { tag: "DivisionByZero" } } : { ok: BigInt.asIntN(64, a / b) }),
  sum: (values) => values.reduce((s, x) => s + x, -0),
  greet: async (name, ctx) => {
    switch (name) {
      case "throw":
        throw new TypeError("greet was told to throw");
      case "throw-value":
        throw 42;
      case "throw-empty":
        throw new RangeError();
      case "lone-surrogate":
        return "\uD800";
      case "wait":
        return untilAborted(ctx.signal);
      case "slow":
        await new Promise((resolve) => setTimeout(resolve, 300));
        return "slow done";
      case "stats":
        return `aborted=${aborted}`;
      default:
        return `Hello, ${name}!`;
    }
  },
};

await serveCalculator(calculator);
