// Golden-vector harness. Reads lines `<method> <hex>` from stdin, where the
// hex is the arguments of an Everything method as Rust's bincode encoded
// them; decodes them with the generated method table, runs the echo
// implementation, and prints the answer's encoding as hex (or `error <why>`)
// on one line each. Then tries values the encoders must refuse, printing
// `reject <case> refused|ACCEPTED` per case, and decodings that must fail
// with a DecodeError, printing `decode <case> refused|...`.

import * as rt from "./goproc_runtime.js";
import { EVERYTHING_CONTRACT, encodeShape, encodeKeywords, encodePair } from "./everything.js";
import { echo } from "./echo.js";

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** The smallest request head: service, method and deadline, one byte each. */
const HEAD = 3;

const ctx: rt.CallContext = { signal: new AbortController().signal, deadline: null, method: "golden" };

async function vector(method: string, input: Uint8Array): Promise<string> {
  const m = EVERYTHING_CONTRACT.methods.find((x) => x.name === method);
  if (m === undefined) return `error no method ${method}`;
  try {
    // The arguments follow a request head (3 bytes at the least) in a
    // plugin's request body, and the body's length is the item budget.
    const body = new Uint8Array(HEAD + input.length);
    body.set(input, HEAD);
    const r = new rt.Reader(body);
    r.pos = HEAD;
    const run = m.prepare(r);
    r.end();
    const v = await run(echo, ctx);
    const w = new rt.Writer(1);
    m.encode(w, v);
    return hex(w.bytes());
  } catch (e) {
    return `error ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
  }
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const lines = Buffer.concat(chunks).toString("utf8").split("\n").filter((l) => l.length > 0);
const out: string[] = [];
for (const line of lines) {
  const [method = "", data = ""] = line.split(" ");
  out.push(await vector(method, Uint8Array.from(Buffer.from(data, "hex"))));
}

// Values that do not fit their Rust type; `as never` gets past the type
// checker the way untyped JavaScript would.
const bad = <T>(f: (w: rt.Writer, v: T) => void, v: unknown) => () => f(new rt.Writer(), v as T);
const rejects: [string, () => void][] = [
  ["u8 256", bad((w, v: number) => w.u8(v), 256)],
  ["u8 -1", bad((w, v: number) => w.u8(v), -1)],
  ["u8 1.5", bad((w, v: number) => w.u8(v), 1.5)],
  ["u8 NaN", bad((w, v: number) => w.u8(v), NaN)],
  ["i8 128", bad((w, v: number) => w.i8(v), 128)],
  ["i8 -129", bad((w, v: number) => w.i8(v), -129)],
  ["u16 65536", bad((w, v: number) => w.u16(v), 65536)],
  ["i16 32768", bad((w, v: number) => w.i16(v), 32768)],
  ["u32 2^32", bad((w, v: number) => w.u32(v), 2 ** 32)],
  ["u32 Infinity", bad((w, v: number) => w.u32(v), Infinity)],
  ["i32 2^31", bad((w, v: number) => w.i32(v), 2 ** 31)],
  ["i32 -2^31-1", bad((w, v: number) => w.i32(v), -(2 ** 31) - 1)],
  ["i32 bigint", bad((w, v: number) => w.i32(v), 5n)],
  ["u64 -1n", bad((w, v: bigint) => w.u64(v), -1n)],
  ["u64 2^64", bad((w, v: bigint) => w.u64(v), 1n << 64n)],
  ["u64 as number", bad((w, v: bigint) => w.u64(v), 5)],
  ["i64 2^63", bad((w, v: bigint) => w.i64(v), 1n << 63n)],
  ["i64 -2^63-1", bad((w, v: bigint) => w.i64(v), -(1n << 63n) - 1n)],
  ["usize 2^64", bad((w, v: bigint) => w.usize(v), 1n << 64n)],
  ["isize 2^63", bad((w, v: bigint) => w.isize(v), 1n << 63n)],
  ["u128 2^128", bad((w, v: bigint) => w.u128(v), 1n << 128n)],
  ["u128 -1n", bad((w, v: bigint) => w.u128(v), -1n)],
  ["i128 2^127", bad((w, v: bigint) => w.i128(v), 1n << 127n)],
  ["i128 -2^127-1", bad((w, v: bigint) => w.i128(v), -(1n << 127n) - 1n)],
  ["f32 1e39", bad((w, v: number) => w.f32(v), 1e39)],
  ["f64 string", bad((w, v: number) => w.f64(v), "1")],
  ["bool 1", bad((w, v: boolean) => w.bool(v), 1)],
  ["string lone high surrogate", bad((w, v: string) => w.string(v), "a\uD800b")],
  ["string lone low surrogate", bad((w, v: string) => w.string(v), "\uDC00")],
  ["long string lone surrogate", bad((w, v: string) => w.string(v), "x".repeat(500) + "\uD83D")],
  ["char two chars", bad((w, v: string) => w.char(v), "ab")],
  ["char empty", bad((w, v: string) => w.char(v), "")],
  ["char lone surrogate", bad((w, v: string) => w.char(v), "\uD800")],
  ["bytes array", bad((w, v: Uint8Array) => w.bytesField(v), [1, 2])],
  ["array wrong length", bad((w, v: number[]) => w.array(v, 4, (w, x) => w.u16(x)), [1, 2, 3])],
  ["option undefined", bad((w, v: number | null) => w.option(v, (w, x) => w.u8(x)), undefined)],
  ["map as object", bad((w, v: Map<string, bigint>) => w.map(v, (w, k) => w.string(k), (w, x) => w.u64(x)), {})],
  ["result neither", bad((w, v: rt.Result<number, string>) => w.result(v, (w, x) => w.i32(x), (w, e) => w.string(e)), { value: 1 })],
  ["unit undefined", bad((w, v: null) => w.unit(v), undefined)],
  ["enum unknown tag", bad(encodeShape, { tag: "Hexagon" })],
  ["enum field out of range", bad(encodeShape, { tag: "Rect", width: -1, height: 2 })],
  ["struct field out of range", bad(encodeKeywords, { from_: 300, class_: 0, delete: false, type_: "", lambda_: null })],
  ["tuple struct too short", bad(encodePair, [1])],
];
for (const [name, f] of rejects) {
  try {
    f();
    out.push(`reject ${name} ACCEPTED`);
  } catch (e) {
    out.push(`reject ${name} ${e instanceof rt.EncodeError ? "refused" : `threw ${String(e)}`}`);
  }
}

// Decoding that runs out of stack is a DecodeError, not a RangeError.
const endless = (r: rt.Reader): never => endless(r);
const decodes: [string, () => unknown][] = [
  ["decodeValue out of stack", () => rt.decodeValue(Uint8Array.of(0), endless)],
];
for (const [name, f] of decodes) {
  try {
    f();
    out.push(`decode ${name} ACCEPTED`);
  } catch (e) {
    out.push(`decode ${name} ${e instanceof rt.DecodeError ? "refused" : `threw ${String(e)}`}`);
  }
}
process.stdout.write(out.join("\n") + "\n");
