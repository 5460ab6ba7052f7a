// Tests of a plugin's handler with `node --test`, through the generated
// `calculatorTestClient`: each call is encoded, framed, dispatched and
// decoded as with a host, in this process.

import assert from "node:assert/strict";
import { test } from "node:test";

import { CallCancelled, CallTimeout, RemoteError, calculatorTestClient, type Calculator } from "./calculator.js";
import { calculator } from "./calculator_handler.js";

test("add wraps around like an i64", async (t) => {
  const { client, close } = await calculatorTestClient(calculator);
  t.after(close);
  assert.equal(await client.add(2n, 3n), 5n);
  assert.equal(await client.add((1n << 63n) - 1n, 1n), -(1n << 63n));
});

test("divide answers a domain error as a value", async (t) => {
  const { client, close } = await calculatorTestClient(calculator);
  t.after(close);
  assert.deepEqual(await client.divide(7n, 2n), { ok: 3n });
  assert.deepEqual(await client.divide(1n, 0n), { err: { tag: "DivisionByZero" } });
});

test("sum comes back bit for bit", async (t) => {
  const { client, close } = await calculatorTestClient(calculator);
  t.after(close);
  assert.equal(await client.sum([0.1, 0.2]), 0.1 + 0.2);
  assert.ok(Object.is(await client.sum([]), -0));
  assert.equal(await client.sum([1e308, 1e308]), Infinity);
});

test("a call past its deadline fails with CallTimeout", async (t) => {
  const { client, close } = await calculatorTestClient(calculator);
  t.after(close);
  assert.equal(await client.greet("Ada"), "Hello, Ada!");
  await assert.rejects(client.withTimeout(50).greet("slowpoke"), CallTimeout);
});

test("a cancelled call aborts the handler", async (t) => {
  let seen: unknown;
  const watched: Calculator = {
    ...calculator,
    greet: (name, ctx) =>
      new Promise((_, reject) => {
        ctx.signal.addEventListener("abort", () => {
          seen = ctx.signal.reason;
          reject(new Error(`greet(${name}) stopped`));
        });
      }),
  };
  const { client, close } = await calculatorTestClient(watched);
  t.after(close);
  const stop = new AbortController();
  const call = client.withSignal(stop.signal).greet("Ada");
  setTimeout(() => stop.abort(), 20);
  await assert.rejects(call, CallCancelled);
  // The CANCEL frame reaches the handler shortly after the caller gave up.
  for (let i = 0; i < 100 && seen === undefined; i++) await new Promise((r) => setTimeout(r, 10));
  assert.match(String(seen), /cancelled/);
});

test("an answer the codec refuses fails the call, as with a host", async (t) => {
  // An i64 answered as a number, not a bigint: the encoder refuses it.
  const sloppy = { ...calculator, add: (a: bigint, b: bigint) => Number(a + b) } as unknown as Calculator;
  const { client, close } = await calculatorTestClient(sloppy);
  t.after(close);
  await assert.rejects(client.add(1n, 2n), (e: unknown) => e instanceof RemoteError && /bigint/.test(e.remoteMessage));
});

test("an implementation that lacks a method is refused, naming it", async () => {
  const { greet: _, ...partial } = calculator;
  await assert.rejects(
    calculatorTestClient(partial as unknown as Calculator),
    /contract Calculator lacks method greet/,
  );
});
