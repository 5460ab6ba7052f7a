// Unit tests of the TypeScript runtime's handshake, client side, streams and
// events, against
// a host faked by hand in this process (the runtime's own `serve`, the
// fake host on a Unix socket next to it): docs/WIRE.md's golden rows for
// HELLO, WELCOME and a call from the plugin to the host, then the table of
// calls to the host (answers routed by id, the first answer wins, strays and
// answers that do not decode, CANCEL on abort and on the deadline, the
// handler's deadline and cancellation inherited, requests held back under
// backpressure, every pending call failed when the connection ends), the
// stream and event golden rows built by the runtime both as caller and as
// callee, credit accounting and its enforcement, the drop-oldest event
// queue, topic and pattern checks, and the codec's shortcuts (a reader of a
// window of the read buffer, short ASCII strings).
//
// Usage: node runtime_test.js <path of docs/WIRE.md>. Prints `ok <test>` or
// `FAIL <test>: <why>` per test, then a summary; exits 1 when one failed.

import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

import * as rt from "./goproc_runtime.js";
import {
  LOGGER_FINGERPRINT,
  LOGGER_SCHEMA,
  LoggerClient,
  PAGE_COUNTER_DOCUMENTED_SCHEMA,
  PAGE_COUNTER_NAME,
  PAGE_COUNTER_SCHEMA,
  STORE_FINGERPRINT,
  STORE_SCHEMA,
  StoreClient,
  host,
  pageCounterService,
  type PageCounter,
} from "./contract.js";
import { LOGS_DOCUMENTED_SCHEMA, LogsClient, TelemetryEvents, logsService, type Logs } from "./golden_contracts.js";

// ---------------------------------------------------------------------------
// docs/WIRE.md's golden rows
// ---------------------------------------------------------------------------

function goldenRows(file: string): Map<string, Buffer> {
  const rows = new Map<string, Buffer>();
  let inside = false;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.startsWith("<!-- golden:start -->")) inside = true;
    else if (line.startsWith("<!-- golden:end -->")) inside = false;
    else if (inside) {
      const m = /^\| `(.+)` \| `(.*)` \|$/.exec(line);
      if (m !== null && m[1] !== undefined && m[2] !== undefined && m[2] !== "(none)") {
        rows.set(m[1], Buffer.from(m[2].replace(/ /g, ""), "hex"));
      }
    }
  }
  return rows;
}

const wireFile = process.argv[2];
if (wireFile === undefined) throw new Error("usage: node runtime_test.js <docs/WIRE.md>");
const golden = goldenRows(wireFile);

function row(name: string): Buffer {
  const bytes = golden.get(name);
  if (bytes === undefined) throw new Error(`docs/WIRE.md has no golden row \`${name}\``);
  return bytes;
}

// ---------------------------------------------------------------------------
// A host faked by hand
// ---------------------------------------------------------------------------

interface Frame {
  kind: number;
  id: bigint;
  body: Buffer;
  /** The whole frame, header included. */
  raw: Buffer;
}

function frame(kind: number, id: bigint, body: Uint8Array = new Uint8Array(0)): Buffer {
  const f = Buffer.alloc(13 + body.length);
  f.writeUInt32LE(9 + body.length, 0);
  f[4] = kind;
  f.writeBigUInt64LE(id, 5);
  Buffer.from(body.buffer, body.byteOffset, body.byteLength).copy(f, 13);
  return f;
}

function encode(write: (w: rt.Writer) => void): Uint8Array {
  const w = new rt.Writer();
  write(w);
  return w.bytes().slice();
}

function welcomeFrame(contracts: readonly rt.ContractRef[], protocol = 2): Buffer {
  return frame(
    rt.Kind.Welcome,
    0n,
    encode((w) => {
      w.u32(protocol);
      w.u32(1 << 20);
      w.u32(1);
      w.len(contracts.length);
      for (const c of contracts) {
        w.string(c.name);
        w.string(c.fingerprint);
      }
    }),
  );
}

function responseFrame(id: bigint, write: (w: rt.Writer) => void): Buffer {
  return frame(rt.Kind.Response, id, encode(write));
}

function errorFrame(id: bigint, code: number, message: string, detail = ""): Buffer {
  return frame(
    rt.Kind.Error,
    id,
    encode((w) => {
      w.u32(code);
      w.string(message);
      w.string(detail);
    }),
  );
}

/** `Some(s)`, the answer of `Store.get` and `Store.put`. */
function some(s: string): (w: rt.Writer) => void {
  return (w) => w.option(s, (w, v) => w.string(v));
}

interface Request {
  id: bigint;
  contract: number;
  method: number;
  deadlineMs: bigint;
  /** The arguments of a `Store.get` or `PageCounter.visit`: its string. */
  key: string;
}

function request(f: Frame): Request {
  assert.equal(f.kind, rt.Kind.Request, `expected a REQUEST, got kind 0x${f.kind.toString(16)}`);
  const r = new rt.Reader(f.body);
  return { id: f.id, contract: r.u32(), method: r.u32(), deadlineMs: r.u64(), key: r.string() };
}

class FakeHost {
  readonly path: string;
  private readonly dir: string;
  private readonly server: net.Server;
  private socket: net.Socket | undefined;
  private buf: Buffer = Buffer.alloc(0);
  private readonly frames: Frame[] = [];
  private wake: (() => void) | undefined;
  private readonly accepted: Promise<void>;

  private constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "goproc-ts-rt-"));
    this.path = path.join(this.dir, "s");
    let accept = (): void => {};
    this.accepted = new Promise((resolve) => (accept = resolve));
    this.server = net.createServer((socket) => {
      this.socket = socket;
      socket.on("data", (d: Buffer) => this.onData(d));
      socket.on("end", () => this.wake?.());
      socket.on("error", () => {});
      accept();
    });
  }

  static async start(): Promise<FakeHost> {
    const h = new FakeHost();
    await new Promise<void>((resolve) => h.server.listen(h.path, resolve));
    return h;
  }

  private onData(d: Buffer): void {
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    while (this.buf.length >= 4) {
      const end = 4 + this.buf.readUInt32LE(0);
      if (this.buf.length < end) break;
      const raw = Buffer.from(this.buf.subarray(0, end));
      this.frames.push({ kind: raw[4] ?? 0, id: raw.readBigUInt64LE(5), body: raw.subarray(13), raw });
      this.buf = this.buf.subarray(end);
    }
    this.wake?.();
  }

  async connected(): Promise<void> {
    await this.accepted;
  }

  /** The next frame from the plugin, within `ms`. */
  async next(ms = 5000): Promise<Frame> {
    const until = Date.now() + ms;
    for (;;) {
      const f = this.frames.shift();
      if (f !== undefined) return f;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`no frame from the plugin within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The next frames until (and with) the first that `last` accepts. */
  async until(last: (f: Frame) => boolean): Promise<Frame[]> {
    const seen: Frame[] = [];
    for (;;) {
      const f = await this.next();
      seen.push(f);
      if (last(f)) return seen;
    }
  }

  /** Whether a frame came and is not read yet. */
  get idle(): boolean {
    return this.frames.length === 0;
  }

  send(bytes: Uint8Array): void {
    this.socket!.write(bytes);
  }

  /** Stops reading the plugin's frames (they pile up in the plugin's socket). */
  pause(): void {
    this.socket!.pause();
  }

  resume(): void {
    this.socket!.resume();
  }

  close(): void {
    this.socket?.end();
    this.server.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// The plugin: PageCounter, whose handler calls the host's Store
// ---------------------------------------------------------------------------

const store = host(StoreClient);

/** What a `visit` handler does, by page. */
const counter: PageCounter = {
  visit: async (page) => {
    switch (page) {
      case "inherit":
      case "wait":
        return BigInt((await store.get(page)) ?? "0");
      case "own":
        return BigInt((await store.withTimeout(1234).get(page)) ?? "0");
      case "none":
        return BigInt((await store.withoutTimeout().get(page)) ?? "0");
      default:
        return 0n;
    }
  },
};

const SERVED: readonly rt.ContractRef[] = [
  { name: "Store", fingerprint: STORE_FINGERPRINT },
  { name: "Logger", fingerprint: LOGGER_FINGERPRINT },
];

interface Session {
  fake: FakeHost;
  /** `serve`'s promise: how the connection ended. */
  served: Promise<string>;
  hello: Frame;
}

/** A fake host, and this process serving PageCounter to it; the hello is read, not answered. */
async function connect(
  requires: readonly rt.HostContract[] = [StoreClient],
  services: readonly rt.Service[] = [pageCounterService(counter)],
  options: rt.ServeOptions = {},
): Promise<Session> {
  const fake = await FakeHost.start();
  process.env["GOPROC_ADDR"] = fake.path;
  process.env["GOPROC_TOKEN"] = "c0ffee";
  const served = rt.serve(services, { ...options, exit: false, requires }).then(
    () => "closed",
    (e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`,
  );
  await fake.connected();
  const hello = await fake.next();
  assert.equal(hello.kind, rt.Kind.Hello);
  return { fake, served, hello };
}

/** `connect`, then a welcome serving Store and Logger. */
async function session(): Promise<Session> {
  const s = await connect();
  s.fake.send(welcomeFrame(SERVED));
  return s;
}

async function end(s: Session): Promise<void> {
  s.fake.close();
  assert.equal(await s.served, "closed");
}

/** How `p` settled: `ok <value>` or `<ErrorClass>: <message>`. */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    return `ok ${String(await p)}`;
  } catch (e) {
    return e instanceof Error ? `${e.constructor.name}: ${e.message}` : `thrown ${String(e)}`;
  }
}

/** Sends a PING and reads up to its PONG: everything the plugin queued before is read by then. */
async function barrier(fake: FakeHost, id: bigint): Promise<Frame[]> {
  fake.send(frame(rt.Kind.Ping, id));
  const seen = await fake.until((f) => f.kind === rt.Kind.Pong && f.id === id);
  return seen.slice(0, -1);
}

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

const tests: [string, () => Promise<void>][] = [];
const test = (name: string, body: () => Promise<void>): void => {
  tests.push([name, body]);
};

test("golden HELLO and HELLO protocol 1 are what encodeHello writes", async () => {
  const hello = {
    protocolMin: 2,
    protocolMax: 3,
    token: "c0ffee",
    language: "rust",
    runtime: "goproc-rust 0.1.0",
    pid: 4242,
    contracts: [{ name: "Calculator", fingerprint: "3f9a" }],
    requires: [{ name: "Store", fingerprint: "5b7e" }],
  };
  assert.equal(Buffer.from(rt.encodeHello(hello)).toString("hex"), row("HELLO").toString("hex"));
  const v1 = { ...hello, protocolMin: 1, protocolMax: 1 };
  assert.equal(Buffer.from(rt.encodeHello(v1)).toString("hex"), row("HELLO protocol 1").toString("hex"));
});

/** The contracts of WIRE.md's version 4 rows, their schemas as "Schemas (version 4)" prints them. */
const MATH_ERROR =
  "enum MathError {\n" +
  "    DivisionByZero,\n" +
  "    Overflow {\n" +
  "        operation: String,\n" +
  "    },\n" +
  "}\n";
const GOLDEN_CALCULATOR: rt.ContractDef<object> = {
  name: "Calculator",
  fingerprint: "3f9a",
  schema:
    "contract Calculator {\n" +
    "    fn add(a: i64, b: i64) -> i64;\n" +
    "    fn divide(a: i64, b: i64) -> Result<i64, MathError>;\n" +
    "}\n\n" +
    MATH_ERROR,
  documented:
    "/// Arithmetic.\n" +
    "contract Calculator {\n" +
    "    /// Adds two numbers.\n" +
    "    fn add(a: i64, b: i64) -> i64;\n" +
    "    /// Divides, or says why not.\n" +
    "    fn divide(a: i64, b: i64) -> Result<i64, MathError>;\n" +
    "}\n\n" +
    MATH_ERROR,
  methods: [],
};

test("golden HELLO protocol 4 carries the schemas, served then required", async () => {
  const hello = {
    protocolMin: 2,
    protocolMax: 4,
    token: "c0ffee",
    language: "rust",
    runtime: "goproc-rust 0.1.0",
    pid: 4242,
    contracts: [GOLDEN_CALCULATOR],
    requires: [{ name: "Store", fingerprint: "5b7e", schema: "contract Store {\n    fn get(key: String) -> Option<String>;\n}\n" }],
  };
  assert.equal(Buffer.from(rt.encodeHello(hello)).toString("hex"), row("HELLO protocol 4").toString("hex"));
});

test("schemas that would make the hello longer than 64 KiB are left out", async () => {
  const hello = {
    protocolMin: 2,
    protocolMax: 4,
    token: "c0ffee",
    language: "typescript",
    runtime: rt.RUNTIME,
    pid: 1,
    contracts: [{ name: "Huge", fingerprint: "00", schema: "x".repeat(64 * 1024) }],
    requires: [{ name: "Store", fingerprint: "5b7e", schema: "contract Store {\n}\n" }],
  };
  const frame = rt.encodeHello(hello);
  assert.ok(frame.length - 4 <= 64 * 1024, `${frame.length}`);
  assert.equal(Buffer.from(frame.subarray(-3)).toString("hex"), "020000");
});

test("golden REQUEST describe is answered with the RESPONSE describe row", async () => {
  const s = await connect([], [rt.bind(GOLDEN_CALCULATOR, {})]);
  s.fake.send(welcomeFrame([], 4));
  s.fake.send(row("REQUEST describe"));
  const [answer] = await barrier(s.fake, 10n);
  assert.equal(answer?.raw.toString("hex"), row("RESPONSE describe").toString("hex"));
  await end(s);
});

test("golden WELCOME and WELCOME protocol 1 decode", async () => {
  assert.deepEqual(rt.decodeWelcome(row("WELCOME").subarray(13)), {
    protocol: 3,
    maxFrame: 16 * 1024 * 1024,
    hostPid: 100,
    contracts: [{ name: "Store", fingerprint: "5b7e" }],
  });
  assert.deepEqual(rt.decodeWelcome(row("WELCOME protocol 1").subarray(13)), {
    protocol: 1,
    maxFrame: 16 * 1024 * 1024,
    hostPid: 100,
    contracts: [],
  });
});

test("the hello names protocols 2 to 4, the served contract and the required ones, then their schemas", async () => {
  const s = await connect([StoreClient, LoggerClient]);
  const r = new rt.Reader(s.hello.body);
  const contract = (r: rt.Reader) => `${r.string()} ${r.string()}`;
  assert.deepEqual(
    [r.u32(), r.u32(), r.string(), r.string(), r.string(), r.u32()],
    [2, 4, "c0ffee", "typescript", rt.RUNTIME, process.pid],
  );
  assert.equal(r.seq(2, contract).join(), `${PAGE_COUNTER_NAME} ${pageCounterService(counter).fingerprint}`);
  assert.equal(r.seq(2, contract).join(), `Store ${STORE_FINGERPRINT},Logger ${LOGGER_FINGERPRINT}`);
  // Served first, then required, each the generated canonical text.
  assert.deepEqual(
    r.seq(1, (r) => r.string()),
    [PAGE_COUNTER_SCHEMA, STORE_SCHEMA, LOGGER_SCHEMA],
  );
  assert.ok(PAGE_COUNTER_SCHEMA.startsWith("contract PageCounter {\n"), PAGE_COUNTER_SCHEMA);
  r.end();
  await end(s);
});

test("golden: a call made before the welcome is the REQUEST row, and the RESPONSE row answers it", async () => {
  /** `Store` as the golden rows fingerprint it. */
  class GoldenStore extends StoreClient {
    static override readonly contract: rt.ContractRef = { name: "Store", fingerprint: "5b7e" };
  }
  const s = await connect([GoldenStore]);
  const answer = host(GoldenStore).get("k");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(s.fake.idle, "nothing is sent before the welcome");
  s.fake.send(row("WELCOME"));
  const req = await s.fake.next();
  assert.equal(req.raw.toString("hex"), row("REQUEST Store.get(\"k\") from the plugin").toString("hex"));
  s.fake.send(row("RESPONSE Some(\"v\") from the host"));
  assert.equal(await answer, "v");
  await end(s);
});

test("answers are routed to their calls by id, in any order", async () => {
  const s = await session();
  const a = store.get("a");
  const b = store.put("b", "B");
  const ra = request(await s.fake.next());
  const fb = await s.fake.next();
  assert.deepEqual([ra.contract, ra.method, ra.deadlineMs, ra.key], [0, 0, 0n, "a"]);
  const rb = new rt.Reader(fb.body);
  assert.deepEqual([rb.u32(), rb.u32(), rb.u64(), rb.string(), rb.string()], [0, 1, 0n, "b", "B"]);
  assert.equal(fb.id, ra.id + 1n, "the plugin numbers its calls in order");
  s.fake.send(responseFrame(fb.id, some("old B")));
  s.fake.send(responseFrame(ra.id, (w) => w.option(null, (w, v: string) => w.string(v))));
  assert.deepEqual([await a, await b], [null, "old B"]);
  await end(s);
});

test("the first answer wins; later answers and answers to no call are dropped quietly", async () => {
  const s = await session();
  const call = store.get("x");
  const req = request(await s.fake.next());
  s.fake.send(responseFrame(req.id, some("first")));
  s.fake.send(responseFrame(req.id, some("second")));
  s.fake.send(errorFrame(req.id, 4, "late"));
  s.fake.send(responseFrame(req.id + 1000n, some("stray")));
  s.fake.send(errorFrame((1n << 63n) + 5n, 4, "stray"));
  s.fake.send(responseFrame(0n, some("id 0")));
  assert.equal(await call, "first");
  // The connection lives, and the next call has its own answer.
  const again = store.get("y");
  const next = request(await s.fake.next());
  assert.ok(next.id > req.id);
  s.fake.send(responseFrame(next.id, some("y")));
  assert.equal(await again, "y");
  assert.deepEqual(await barrier(s.fake, 9n), []);
  await end(s);
});

test("an answer that does not decode fails its call, not the connection", async () => {
  const s = await session();
  const bad = [
    responseFrame(0n, (w) => w.u8(2)), // an Option tag that is neither 0 nor 1
    responseFrame(0n, (w) => {
      some("v")(w);
      w.u8(0); // a trailing byte
    }),
    responseFrame(0n, (w) => w.raw(Uint8Array.of(1, 0xfc, 0xff, 0xff, 0xff, 0x7f))), // a 2 GiB string
    frame(rt.Kind.Error, 0n, Uint8Array.of(4, 3)), // an ERROR body cut short
  ];
  for (const f of bad) {
    const call = outcome(store.get("k"));
    const req = request(await s.fake.next());
    f.writeBigUInt64LE(req.id, 5);
    s.fake.send(f);
    const got = await call;
    assert.match(got, /^CallError: the host's (ERROR )?answer to Store\.get does not decode: /, got);
  }
  const call = store.get("k");
  const req = request(await s.fake.next());
  s.fake.send(responseFrame(req.id, some("fine")));
  assert.equal(await call, "fine");
  await end(s);
});

test("ERROR answers reject with RemoteError, or CallTimeout for code 6", async () => {
  const s = await session();
  const failing = store.get("k");
  failing.catch(() => {});
  let req = request(await s.fake.next());
  s.fake.send(errorFrame(req.id, 4, "panic: on purpose", "src/host.rs:7"));
  try {
    await failing;
    assert.fail("the call succeeded");
  } catch (e) {
    assert.ok(e instanceof rt.RemoteError && e instanceof rt.CallError, String(e));
    assert.deepEqual([e.code, e.remoteMessage, e.detail, e.method], [4, "panic: on purpose", "src/host.rs:7", "Store.get"]);
    assert.equal(e.message, "Store.get failed in the host: handler failed: panic: on purpose");
  }
  const late = outcome(store.get("k"));
  req = request(await s.fake.next());
  s.fake.send(errorFrame(req.id, 6, "the handler did not finish before the call's deadline"));
  assert.match(await late, /^CallTimeout: Store\.get timed out in the host: deadline exceeded: /);
  const unknown = outcome(store.get("k"));
  req = request(await s.fake.next());
  s.fake.send(errorFrame(req.id, 1, "no contract 0"));
  assert.equal(await unknown, "RemoteError: Store.get failed in the host: unknown contract: no contract 0");
  await end(s);
});

test("an aborted signal sends CANCEL; a call whose signal aborted before is never sent", async () => {
  const s = await session();
  const abort = new AbortController();
  const call = outcome(store.withSignal(abort.signal).get("k"));
  const req = request(await s.fake.next());
  abort.abort();
  const cancel = await s.fake.next();
  assert.deepEqual([cancel.kind, cancel.id, cancel.body.length], [rt.Kind.Cancel, req.id, 0]);
  assert.match(await call, /^CallCancelled: Store\.get was cancelled: its abort signal aborted/);
  // An answer after the cancel is dropped quietly.
  s.fake.send(responseFrame(req.id, some("late")));
  const before = store.withSignal(AbortSignal.abort()).get("never");
  assert.match(await outcome(before), /^CallCancelled: Store\.get was not sent/);
  assert.deepEqual(await barrier(s.fake, 3n), [], "neither a REQUEST nor a CANCEL for it");
  await end(s);
});

test("a call past its own timeout rejects with CallTimeout and sends CANCEL", async () => {
  const s = await session();
  const started = Date.now();
  const call = outcome(store.withTimeout(150).get("k"));
  const req = request(await s.fake.next());
  assert.equal(req.deadlineMs, 150n, "the request carries the timeout");
  const cancel = await s.fake.next();
  assert.deepEqual([cancel.kind, cancel.id], [rt.Kind.Cancel, req.id]);
  const got = await call;
  const took = Date.now() - started;
  assert.equal(got, "CallTimeout: Store.get timed out: the host did not answer within 150 ms");
  assert.ok(took >= 140 && took < 2000, `took ${took} ms`);
  await end(s);
});

test("an answer that came before the deadline wins even when the event loop stalled past it", async () => {
  const s = await session();
  const call = outcome(store.withTimeout(100).get("k"));
  const req = request(await s.fake.next());
  s.fake.send(responseFrame(req.id, some("in time")));
  // The answer is in the plugin's socket; the event loop stalls past the
  // deadline, so the call's timer is due before the socket is read again.
  const until = Date.now() + 250;
  while (Date.now() < until) {
    // busy
  }
  assert.equal(await call, "ok in time");
  assert.deepEqual(await barrier(s.fake, 6n), [], "no CANCEL");
  await end(s);
});

test("a handler's call inherits what is left of its deadline; its own timeout or none replace it", async () => {
  const s = await session();
  const visit = (id: bigint, page: string, deadlineMs: bigint): Buffer =>
    frame(rt.Kind.Request, id, encode((w) => {
      w.u32(0);
      w.u32(0);
      w.u64(deadlineMs);
      w.string(page);
    }));
  s.fake.send(visit(1n, "inherit", 2000n));
  let inner = request(await s.fake.next());
  assert.equal(inner.key, "inherit");
  assert.ok(inner.deadlineMs > 1500n && inner.deadlineMs <= 2000n, `inherited ${inner.deadlineMs} ms`);
  s.fake.send(responseFrame(inner.id, some("41")));
  let answer = await s.fake.next();
  assert.deepEqual([answer.kind, answer.id, new rt.Reader(answer.body).u64()], [rt.Kind.Response, 1n, 41n]);
  // Without a deadline outside, none inside.
  s.fake.send(visit(2n, "inherit", 0n));
  inner = request(await s.fake.next());
  assert.equal(inner.deadlineMs, 0n);
  s.fake.send(responseFrame(inner.id, some("1")));
  assert.equal((await s.fake.next()).id, 2n);
  // A timeout of its own wins, longer or not.
  s.fake.send(visit(3n, "own", 60_000n));
  inner = request(await s.fake.next());
  assert.equal(inner.deadlineMs, 1234n);
  s.fake.send(responseFrame(inner.id, some("1")));
  assert.equal((await s.fake.next()).id, 3n);
  s.fake.send(visit(4n, "none", 60_000n));
  inner = request(await s.fake.next());
  assert.equal(inner.deadlineMs, 0n);
  s.fake.send(responseFrame(inner.id, some("1")));
  answer = await s.fake.next();
  assert.deepEqual([answer.kind, answer.id], [rt.Kind.Response, 4n]);
  await end(s);
});

test("a handler the host cancels, or whose deadline passes, cancels its calls to the host", async () => {
  const s = await session();
  const visit = (id: bigint, deadlineMs: bigint): Buffer =>
    frame(rt.Kind.Request, id, encode((w) => {
      w.u32(0);
      w.u32(0);
      w.u64(deadlineMs);
      w.string("wait");
    }));
  s.fake.send(visit(7n, 0n));
  let inner = request(await s.fake.next());
  s.fake.send(frame(rt.Kind.Cancel, 7n));
  let cancel = await s.fake.next();
  assert.deepEqual([cancel.kind, cancel.id], [rt.Kind.Cancel, inner.id]);
  // Past its deadline: ERROR code 6 for the handler, CANCEL for its call.
  s.fake.send(visit(8n, 200n));
  inner = request(await s.fake.next());
  const frames = [await s.fake.next(), await s.fake.next()];
  frames.sort((a, b) => a.kind - b.kind);
  const [error, cancelled] = frames as [Frame, Frame];
  assert.deepEqual([error.kind, error.id, new rt.Reader(error.body).u32()], [rt.Kind.Error, 8n, 6]);
  assert.deepEqual([cancelled.kind, cancelled.id], [rt.Kind.Cancel, inner.id]);
  // Nothing more: the cancelled handlers send no answer.
  assert.deepEqual(await barrier(s.fake, 5n), []);
  await end(s);
});

test("requests past the backlog limit wait in the plugin, and one given up meanwhile is never sent", async () => {
  const s = await session();
  s.fake.pause();
  const big = "x".repeat(300_000);
  const calls = [];
  for (let i = 0; i < 7; i++) calls.push(store.put(`k${i}`, big));
  const abort = new AbortController();
  const heldBack = outcome(store.withSignal(abort.signal).put("held", big));
  // Let the outbox reach the socket, which the host does not read.
  await new Promise((resolve) => setTimeout(resolve, 50));
  abort.abort();
  assert.match(await heldBack, /^CallCancelled: /);
  s.fake.resume();
  const seen: Request[] = [];
  for (let i = 0; i < 7; i++) {
    const f = await s.fake.next();
    const r = new rt.Reader(f.body);
    seen.push({ id: f.id, contract: r.u32(), method: r.u32(), deadlineMs: r.u64(), key: r.string() });
  }
  assert.deepEqual(seen.map((r) => r.key), ["k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
  assert.deepEqual(await barrier(s.fake, 4n), [], "no REQUEST and no CANCEL for the call given up");
  for (const r of seen) s.fake.send(responseFrame(r.id, some(r.key)));
  assert.deepEqual(await Promise.all(calls), seen.map((r) => r.key));
  await end(s);
});

test("when the connection ends every pending call rejects with ConnectionClosed", async () => {
  const s = await session();
  const pending = [outcome(store.get("a")), outcome(store.get("b"))];
  await s.fake.next();
  await s.fake.next();
  s.fake.close();
  for (const p of pending) {
    assert.match(await p, /^ConnectionClosed: Store\.get got no answer: the connection to the host closed/);
  }
  assert.equal(await s.served, "closed");
  assert.match(await outcome(store.get("after")), /^ConnectionClosed: /);
});

test("a welcome without a required contract, or with another fingerprint, fails the start", async () => {
  let s = await connect([StoreClient, LoggerClient]);
  const waiting = outcome(store.get("k"));
  s.fake.send(welcomeFrame([{ name: "Logger", fingerprint: LOGGER_FINGERPRINT }]));
  assert.equal(
    await s.served,
    `failed: the host does not serve contract Store, which this plugin requires (fingerprint ${STORE_FINGERPRINT})`,
  );
  assert.match(await waiting, /^ConnectionClosed: .*does not serve contract Store/);
  s.fake.close();
  s = await connect([StoreClient]);
  s.fake.send(welcomeFrame([{ name: "Store", fingerprint: "5b7e" }]));
  assert.equal(
    await s.served,
    `failed: this plugin requires host contract Store fingerprint ${STORE_FINGERPRINT}, but the host serves Store with fingerprint 5b7e; build both from the same contract`,
  );
  s.fake.close();
});

test("a call to a contract the host does not serve fails, and the connection lives", async () => {
  const s = await connect([StoreClient]);
  s.fake.send(welcomeFrame([{ name: "Store", fingerprint: STORE_FINGERPRINT }]));
  const logger = host(LoggerClient);
  assert.equal(
    await outcome(logger.log({ tag: "Info" }, "hi")),
    "CallError: Logger.log cannot be called: the host does not serve contract Logger",
  );
  const call = store.get("k");
  const req = request(await s.fake.next());
  s.fake.send(responseFrame(req.id, some("v")));
  assert.equal(await call, "v");
  await end(s);
});

test("a welcome of protocol 1 fails the start", async () => {
  const s = await connect([]);
  s.fake.send(row("WELCOME protocol 1"));
  assert.match(await s.served, /^failed: protocol error .*the host chose protocol 1, this plugin speaks 2\.\.=4/);
  s.fake.close();
});

// ---------------------------------------------------------------------------
// Streams and events (protocol 3)
// ---------------------------------------------------------------------------

/** What the Logs handlers did, for the tests to look at. */
const logsSeen = { closed: 0, uploads: [] as string[] };

const logsImpl: Logs = {
  async *tail(path, ctx) {
    try {
      if (path === "a") {
        yield "hi";
        return;
      }
      // Without end, as fast as credit allows.
      for (let i = 0; ; i++) {
        ctx.signal.throwIfAborted();
        yield `${path}-${i}`;
      }
    } finally {
      logsSeen.closed++;
    }
  },
  async upload(name, data) {
    let n = 0n;
    try {
      for await (const chunk of data) n += BigInt(chunk.length);
    } catch (e) {
      logsSeen.uploads.push(`${name} failed: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
    logsSeen.uploads.push(`${name} ${n}`);
    return n;
  },
};

/** A fake host that calls the plugin's Logs (contract 0), protocol 3. */
async function logsSession(options: rt.ServeOptions = {}): Promise<Session> {
  const s = await connect([], [logsService(logsImpl)], options);
  s.fake.send(row("WELCOME"));
  return s;
}

/** `Telemetry` as the golden rows fingerprint it (channel 0x3f9a). */
class GoldenTelemetry extends TelemetryEvents {
  static override readonly contract: rt.ContractRef = { name: "Telemetry", fingerprint: "3f9a" };
}

/** `Logs` and `Store` as the host serves them in the client-side rows: Logs is contract 0. */
const HOST_LOGS: readonly rt.ContractRef[] = [
  { name: "Logs", fingerprint: LogsClient.contract.fingerprint },
  { name: "Store", fingerprint: STORE_FINGERPRINT },
];

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

test("golden stream rows, the plugin as callee: tail and upload answered byte for byte", async () => {
  const s = await logsSession({ streamWindow: 4096 });
  s.fake.send(row("REQUEST tail(\"a\")"));
  s.fake.send(row("STREAM_CREDIT 3 +65536"));
  const item = await s.fake.next();
  assert.equal(hex(item.raw), hex(row("STREAM_ITEM 3 \"hi\"")));
  const endOfStream = await s.fake.next();
  assert.equal(hex(endOfStream.raw), hex(row("RESPONSE 3 end of stream")));
  s.fake.send(row("REQUEST upload(\"f\")"));
  const credit = await s.fake.next();
  assert.equal(hex(credit.raw), hex(row("ARG_CREDIT 4 +4096")));
  s.fake.send(row("ARG_ITEM 4 [1, 2, 3]"));
  s.fake.send(row("ARG_END 4"));
  const answer = await s.fake.next();
  assert.equal(hex(answer.raw), hex(row("RESPONSE 4 3")));
  // Call 5's argument stream failed at the host: the handler sees the error.
  const upload5 = Buffer.from(row("REQUEST upload(\"f\")"));
  upload5.writeBigUInt64LE(5n, 5);
  s.fake.send(upload5);
  assert.equal((await s.fake.next()).kind, rt.Kind.ArgCredit);
  s.fake.send(row("ARG_END 5 failed"));
  const failed = await s.fake.next();
  assert.deepEqual([failed.kind, failed.id], [rt.Kind.Error, 5n]);
  const r = new rt.Reader(failed.body);
  assert.equal(r.u32(), 4);
  assert.match(r.string(), /^RemoteError: Logs\.upload failed in the host: handler failed: disk$/);
  assert.deepEqual(logsSeen.uploads.slice(-2), ["f 3", "f failed: Logs.upload failed in the host: handler failed: disk"]);
  await end(s);
});

test("golden stream rows, the plugin as caller: tail and upload sent byte for byte", async () => {
  const s = await connect([LogsClient]);
  s.fake.send(welcomeFrame(HOST_LOGS, 3));
  const logs = host(LogsClient);
  // Calls 1 and 2 go first, so that the stream calls are 3, 4 and 5 as in the rows.
  for (const key of ["one", "two"]) {
    const call = store.get(key);
    const req = request(await s.fake.next());
    s.fake.send(responseFrame(req.id, some(key)));
    assert.equal(await call, key);
  }
  const lines = logs.withStreamWindow(65536).tail("a");
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(s.fake.idle, "nothing is sent before the stream is read");
  const first = lines.next();
  assert.equal(hex((await s.fake.next()).raw), hex(row("REQUEST tail(\"a\")")));
  assert.equal(hex((await s.fake.next()).raw), hex(row("STREAM_CREDIT 3 +65536")));
  s.fake.send(row("STREAM_ITEM 3 \"hi\""));
  s.fake.send(row("RESPONSE 3 end of stream"));
  assert.deepEqual(await first, { value: "hi", done: false });
  assert.deepEqual(await lines.next(), { value: undefined, done: true });

  const uploaded = logs.upload("f", [Uint8Array.of(1, 2, 3)]);
  assert.equal(hex((await s.fake.next()).raw), hex(row("REQUEST upload(\"f\")")));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(s.fake.idle, "no item before the host grants credit");
  s.fake.send(row("ARG_CREDIT 4 +4096"));
  assert.equal(hex((await s.fake.next()).raw), hex(row("ARG_ITEM 4 [1, 2, 3]")));
  assert.equal(hex((await s.fake.next()).raw), hex(row("ARG_END 4")));
  s.fake.send(row("RESPONSE 4 3"));
  assert.equal(await uploaded, 3n);

  // A source that fails: ARG_END with an ErrorBody. (An error whose name is
  // empty is described by its message alone, as the row has it.)
  async function* failing(): AsyncGenerator<Uint8Array> {
    const e = new Error("disk");
    e.name = "";
    throw e;
  }
  const failed = outcome(logs.upload("f", failing()));
  const req5 = await s.fake.next();
  assert.deepEqual([req5.kind, req5.id], [rt.Kind.Request, 5n]);
  const credit5 = Buffer.from(row("ARG_CREDIT 4 +4096"));
  credit5.writeBigUInt64LE(5n, 5);
  s.fake.send(credit5);
  assert.equal(hex((await s.fake.next()).raw), hex(row("ARG_END 5 failed")));
  s.fake.send(errorFrame(5n, 4, "disk"));
  assert.match(await failed, /^RemoteError: /);
  await end(s);
});

test("golden event rows: SUBSCRIBE, PUBLISH, EVENT with lagged, UNSUBSCRIBE", async () => {
  const s = await connect([]);
  s.fake.send(row("WELCOME"));
  const telemetry = rt.events(GoldenTelemetry);
  const sub = telemetry.subscribeTemperature("sensors/+/temp");
  assert.equal(hex((await s.fake.next()).raw), hex(row("SUBSCRIBE 1 sensors/+/temp")));
  telemetry.publishTemperature("sensors/k/temp", 21.5);
  assert.equal(hex((await s.fake.next()).raw), hex(row("PUBLISH sensors/k/temp 21.5")));
  s.fake.send(row("EVENT 1 lagged 2"));
  const it = sub[Symbol.asyncIterator]();
  assert.deepEqual(await it.next(), { value: { topic: "sensors/k/temp", payload: 21.5, lagged: 2n }, done: false });
  sub.close();
  assert.equal(hex((await s.fake.next()).raw), hex(row("UNSUBSCRIBE 1")));
  assert.deepEqual(await it.next(), { value: undefined, done: true });
  // An event for the closed subscription is dropped quietly.
  s.fake.send(row("EVENT 1 lagged 2"));
  assert.deepEqual(await barrier(s.fake, 11n), []);
  await end(s);
});

test("an answer stream sends no more than its credit, then waits; CANCEL closes the generator", async () => {
  const s = await logsSession();
  const closedBefore = logsSeen.closed;
  const tail = (id: bigint, path: string): Buffer =>
    frame(rt.Kind.Request, id, encode((w) => {
      w.u32(0);
      w.u32(0);
      w.u64(0n);
      w.string(path);
    }));
  const credit = (id: bigint, n: number): Buffer => frame(rt.Kind.StreamCredit, id, encode((w) => w.u32(n)));
  s.fake.send(tail(9n, "x"));
  assert.deepEqual(await barrier(s.fake, 1n), [], "nothing before the first credit");
  // "x-0" costs 13 + 4 = 17 bytes: a credit of 40 lets three go (40, 23, 6).
  s.fake.send(credit(9n, 40));
  await new Promise((resolve) => setTimeout(resolve, 50));
  let items = await barrier(s.fake, 2n);
  assert.deepEqual(items.map((f) => new rt.Reader(f.body).string()), ["x-0", "x-1", "x-2"]);
  s.fake.send(credit(9n, 1));
  await new Promise((resolve) => setTimeout(resolve, 50));
  items = await barrier(s.fake, 3n);
  // The credit was -11 after x-2: one more byte leaves it below zero.
  assert.deepEqual(items, []);
  s.fake.send(credit(9n, 20));
  await new Promise((resolve) => setTimeout(resolve, 50));
  items = await barrier(s.fake, 4n);
  assert.deepEqual(items.map((f) => new rt.Reader(f.body).string()), ["x-3"]);
  s.fake.send(frame(rt.Kind.Cancel, 9n));
  s.fake.send(credit(9n, 1000));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(await barrier(s.fake, 5n), [], "nothing after CANCEL");
  assert.equal(logsSeen.closed, closedBefore + 1, "the generator's finally ran");
  await end(s);
});

test("a stream handler past its deadline is closed and the host gets ERROR code 6", async () => {
  const s = await logsSession();
  const closedBefore = logsSeen.closed;
  s.fake.send(frame(rt.Kind.Request, 12n, encode((w) => {
    w.u32(0);
    w.u32(0);
    w.u64(150n);
    w.string("slow");
  })));
  s.fake.send(frame(rt.Kind.StreamCredit, 12n, encode((w) => w.u32(30))));
  const frames = await s.fake.until((f) => f.kind === rt.Kind.Error);
  const error = frames[frames.length - 1]!;
  assert.deepEqual([error.id, new rt.Reader(error.body).u32()], [12n, 6]);
  assert.ok(frames.slice(0, -1).every((f) => f.kind === rt.Kind.StreamItem));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(logsSeen.closed, closedBefore + 1, "the generator's finally ran");
  await end(s);
});

test("a STREAM_ITEM past the credit the plugin granted closes the connection with a clear message", async () => {
  const s = await connect([LogsClient]);
  s.fake.send(welcomeFrame(HOST_LOGS, 3));
  const lines = host(LogsClient).withStreamWindow(20).tail("a");
  const got = outcome(lines.next());
  const req = await s.fake.next();
  assert.equal((await s.fake.next()).kind, rt.Kind.StreamCredit);
  const item = Buffer.from(row("STREAM_ITEM 3 \"hi\""));
  item.writeBigUInt64LE(req.id, 5);
  // 16 bytes each: 20 -> 4 -> -12, and the third came with no credit left.
  s.fake.send(Buffer.concat([item, item, item]));
  assert.match(
    await s.served,
    /^failed: protocol error on the connection to the host: the host sent a STREAM_ITEM for call \d+ \(Logs\.tail\) with no credit left/,
  );
  assert.equal(await got, "ok [object Object]");
  s.fake.close();
});

test("an ARG_ITEM past the credit the plugin granted closes the connection with a clear message", async () => {
  const s = await logsSession({ streamWindow: 20 });
  s.fake.send(row("REQUEST upload(\"f\")"));
  const credit = await s.fake.next();
  assert.deepEqual([credit.kind, new rt.Reader(credit.body).u32()], [rt.Kind.ArgCredit, 20]);
  const item = row("ARG_ITEM 4 [1, 2, 3]");
  // 17 bytes each: 20 -> 3 -> -14, and the third came with no credit left.
  s.fake.send(Buffer.concat([item, item, item]));
  assert.match(await s.served, /^failed: protocol error .*ARG_ITEM for call 4 with no credit left/);
  s.fake.close();
});

test("a caller's answer stream re-grants what was read each half window, and return() sends CANCEL", async () => {
  const s = await connect([LogsClient]);
  s.fake.send(welcomeFrame(HOST_LOGS, 3));
  const lines = host(LogsClient).withStreamWindow(64).tail("a");
  const first = lines.next();
  const req = await s.fake.next();
  const grant = await s.fake.next();
  assert.deepEqual([grant.kind, new rt.Reader(grant.body).u32()], [rt.Kind.StreamCredit, 64]);
  const item = Buffer.from(row("STREAM_ITEM 3 \"hi\""));
  item.writeBigUInt64LE(req.id, 5);
  s.fake.send(Buffer.concat([item, item, item]));
  await first;
  assert.deepEqual(await barrier(s.fake, 21n), [], "16 bytes read: less than half the window");
  await lines.next();
  const again = await s.fake.next();
  assert.deepEqual([again.kind, again.id, new rt.Reader(again.body).u32()], [rt.Kind.StreamCredit, req.id, 32]);
  await lines.return!();
  const cancel = await s.fake.next();
  assert.deepEqual([cancel.kind, cancel.id], [rt.Kind.Cancel, req.id]);
  // Items after the cancel are strays.
  s.fake.send(Buffer.concat([item, item, item, item, item]));
  assert.deepEqual(await barrier(s.fake, 22n), []);
  await end(s);
});

test("credit accounting: grants add up, spending may go below zero, half-window re-grants", async () => {
  const send = new rt.SendCredit();
  assert.equal(send.open, false);
  send.grant(10);
  send.grant(5);
  assert.equal(send.credit, 15);
  send.spend(40);
  assert.equal(send.open, false);
  assert.equal(send.credit, -25);
  send.grant(26);
  assert.equal(send.open, true);
  assert.throws(() => send.grant(0), /at least 1/);
  assert.throws(() => send.grant(0xffffffff), /past the limit/);
  const recv = new rt.ReceiveCredit(100);
  assert.equal(recv.start(), 100);
  assert.ok(recv.receive(60));
  assert.ok(recv.receive(60), "an item may go while credit is above zero");
  assert.equal(recv.receive(13), false, "no credit left: a violation");
  assert.equal(recv.take(49), 0, "less than half a window taken");
  assert.equal(recv.take(1), 50);
  assert.equal(recv.outstanding, 30);
  assert.throws(() => new rt.ReceiveCredit(0), /stream window/);
  assert.equal(rt.itemCost(0), 13);
});

test("the event queue drops its oldest events and adds them to the next one's lagged", async () => {
  const q = new rt.EventQueue<number>(3);
  const ev = (n: number, lagged = 0n): rt.Event<number> => ({ topic: "t", payload: n, lagged });
  for (let i = 0; i < 5; i++) q.push(ev(i));
  assert.equal(q.length, 3);
  assert.deepEqual(q.shift(), ev(2, 2n));
  assert.deepEqual(q.shift(), ev(3));
  // A dropped event's own lagged is carried too.
  q.push(ev(5, 4n));
  q.push(ev(6));
  q.push(ev(7));
  assert.deepEqual(q.shift(), ev(5, 5n));
  const one = new rt.EventQueue<number>(1);
  one.push(ev(1, 1n));
  one.push(ev(2));
  assert.deepEqual(one.shift(), ev(2, 2n));
  assert.equal(one.shift(), undefined);
  // Bounded: a million events in, 256 held.
  const big = new rt.EventQueue<number>();
  for (let i = 0; i < 1_000_000; i++) big.push(ev(i));
  assert.equal(big.length, rt.DEFAULT_EVENT_QUEUE);
  assert.deepEqual(big.shift(), ev(1_000_000 - 256, BigInt(1_000_000 - 256)));
});

test("topics and patterns are checked with clear errors", async () => {
  for (const ok of ["a", "a/b", "a//b", "/a", "a/", "$SYS/x", "é/ü"]) rt.checkTopic(ok);
  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["a/+/b", /contains '\+', a wildcard/],
    ["a/#", /contains '#'/],
    ["a\0b", /NUL/],
    ["x".repeat(65536), /65536 bytes long, more than the 65535 allowed/],
    ["\uD800", /lone surrogate/],
  ];
  for (const [topic, why] of bad) assert.throws(() => rt.checkTopic(topic), (e: unknown) => e instanceof rt.InvalidTopic && why.test(e.message));
  for (const ok of ["#", "+", "a/+/b", "a/#", "+/+", "/+", "a//#", "$SYS/#"]) rt.checkPattern(ok);
  const badPatterns: [string, RegExp][] = [
    ["", /empty/],
    ["a/b+", /wildcard \('\+' or '#'\) fills a whole level/],
    ["a/#/b", /'#' before its last level/],
    ["a#", /fills a whole level/],
    ["a\0", /NUL/],
  ];
  for (const [p, why] of badPatterns) assert.throws(() => rt.checkPattern(p), (e: unknown) => e instanceof rt.InvalidTopic && why.test(e.message));
  assert.equal(rt.channelOf("3f9a"), 0x3f9an);
  assert.equal(rt.channelOf("0123456789abcdef0011"), 0x0123456789abcdefn);
  // The generated class checks before it sends.
  const s = await connect([]);
  s.fake.send(welcomeFrame([], 3));
  const telemetry = rt.events(TelemetryEvents);
  assert.throws(() => telemetry.publishTemperature("a/+", 1), rt.InvalidTopic);
  assert.throws(() => telemetry.subscribeTemperature("a/#/b"), rt.InvalidTopic);
  assert.deepEqual(await barrier(s.fake, 31n), [], "nothing sent");
  await end(s);
});

test("a subscription's queue holds at most eventQueue events; the host's lagged adds to its own", async () => {
  const s = await connect([], [pageCounterService(counter)], { eventQueue: 4 });
  s.fake.send(welcomeFrame([], 3));
  const sub = rt.events(TelemetryEvents).subscribeTemperature("t/#");
  const subscribe = await s.fake.next();
  assert.equal(subscribe.kind, rt.Kind.Subscribe);
  const event = (lagged: bigint, celsius: number): Buffer =>
    frame(rt.Kind.Event, subscribe.id, encode((w) => {
      w.u64(lagged);
      w.string("t/x");
      w.f32(celsius);
    }));
  const frames: Buffer[] = [];
  for (let i = 0; i < 10; i++) frames.push(event(i === 0 ? 3n : 0n, i));
  s.fake.send(Buffer.concat(frames));
  await barrier(s.fake, 41n);
  const seen: [number, bigint][] = [];
  for await (const e of sub) {
    seen.push([e.payload, e.lagged]);
    if (seen.length === 4) break;
  }
  // 0..5 were dropped (6 events, and the 3 the host dropped before 0).
  assert.deepEqual(seen, [[6, 9n], [7, 0n], [8, 0n], [9, 0n]]);
  const unsubscribe = await s.fake.next();
  assert.deepEqual([unsubscribe.kind, unsubscribe.id], [rt.Kind.Unsubscribe, subscribe.id]);
  await end(s);
});

test("subscriptions and publishes made before the welcome go once it comes", async () => {
  const s = await connect([]);
  const telemetry = rt.events(TelemetryEvents);
  const sub = telemetry.subscribeTemperature("a/+");
  telemetry.publishTemperature("a/b", 1.5);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(s.fake.idle, "nothing before the welcome");
  s.fake.send(welcomeFrame([], 3));
  const [first, second] = [await s.fake.next(), await s.fake.next()];
  assert.deepEqual([first.kind, second.kind], [rt.Kind.Subscribe, rt.Kind.Publish]);
  sub.close();
  await end(s);
});

test("describe answers the documented schemas in hello order, on any protocol; other methods are unknown", async () => {
  const s = await connect([], [pageCounterService(counter), logsService(logsImpl)]);
  // Protocol 2: the host only asks on 4, but the plugin answers on any.
  s.fake.send(welcomeFrame([]));
  const head = (method: number, extra: number[] = []) =>
    encode((w) => {
      w.u32(rt.INTROSPECTION_CONTRACT);
      w.u32(method);
      w.u64(1500n);
      for (const b of extra) w.u8(b);
    });
  s.fake.send(frame(rt.Kind.Request, 5n, head(rt.DESCRIBE_METHOD)));
  s.fake.send(frame(rt.Kind.Request, 6n, head(1)));
  s.fake.send(frame(rt.Kind.Request, 7n, head(rt.DESCRIBE_METHOD, [0])));
  const [described, unknown, extra] = await barrier(s.fake, 8n);
  assert.deepEqual([described!.kind, described!.id], [rt.Kind.Response, 5n]);
  const r = new rt.Reader(described!.body);
  assert.deepEqual(
    r.seq(1, (r) => r.string()),
    [PAGE_COUNTER_DOCUMENTED_SCHEMA, LOGS_DOCUMENTED_SCHEMA],
  );
  r.end();
  assert.ok(LOGS_DOCUMENTED_SCHEMA.includes("/// The lines of the file at `path`.\n"), LOGS_DOCUMENTED_SCHEMA);
  for (const [f, id, code, text] of [
    [unknown!, 6n, rt.ErrorCode.UnknownMethod, "there is no method number 1"],
    [extra!, 7n, rt.ErrorCode.BadRequest, "describe takes no arguments"],
  ] as const) {
    assert.deepEqual([f.kind, f.id], [rt.Kind.Error, id]);
    const e = new rt.Reader(f.body);
    assert.equal(e.u32(), code);
    assert.ok(e.string().includes(text));
  }
  await end(s);
});

test("a reader reset to a window of a buffer reads and fails as a reader of that window alone", async () => {
  const decodeAll = (r: rt.Reader): string => {
    try {
      const out = [r.u32(), r.string(), r.string(), r.u64Number()].join("|");
      r.end();
      return out;
    } catch (e) {
      return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    }
  };
  const bodies: Uint8Array[] = [
    encode((w) => { w.u32(7); w.string("ascii text"); w.string("ünïcødé ✓"); w.u64(1n << 60n); }),
    encode((w) => { w.u32(7); w.string("a".repeat(64)); w.string("b".repeat(65)); w.u64(0n); }),
    // Trailing bytes, a string cut short, invalid UTF-8 (ASCII then 0xff).
    Uint8Array.of(1, 1, 0x61, 0, 0, 9),
    Uint8Array.of(1, 5, 0x61, 0x62),
    Uint8Array.of(1, 3, 0x61, 0x62, 0xff, 0, 0),
    Uint8Array.of(1, 0, 0, 0xfe),
  ];
  const reused = new rt.Reader(new Uint8Array(0));
  for (const body of bodies) {
    const alone = decodeAll(new rt.Reader(body));
    // The same bytes behind a prefix and before a suffix, in a Buffer and a plain array.
    for (const big of [Buffer.alloc(body.length + 20, 0xee), new Uint8Array(body.length + 20).fill(0xee)]) {
      big.set(body, 11);
      reused.reset(big, 11, 11 + body.length, false);
      assert.equal(decodeAll(reused), alone);
    }
  }
});

test("strings are encoded byte for byte as TextEncoder would, and a lone surrogate is refused", async () => {
  for (const s of ["", "Hello, abcdefghijklmno!", "a".repeat(64), "a".repeat(65), "x".repeat(63) + "é", "日本", "\u{1f600}"]) {
    const bytes = new TextEncoder().encode(s);
    const w = new rt.Writer(1);
    w.string(s);
    const r = new rt.Reader(w.bytes());
    assert.equal(r.string(), s);
    r.end();
    assert.deepEqual(w.bytes().subarray(w.length - bytes.length), bytes);
  }
  for (const s of ["ab\ud800", "\udc00" + "a".repeat(70)]) {
    assert.throws(() => new rt.Writer().string(s), (e: unknown) => e instanceof rt.EncodeError && /lone surrogate/.test(e.message));
  }
});

let failed = 0;
for (const [name, body] of tests) {
  try {
    await Promise.race([
      body(),
      new Promise((_, reject) => setTimeout(() => reject(new Error("timed out after 20 s")), 20_000).unref()),
    ]);
    process.stdout.write(`ok ${name}\n`);
  } catch (e) {
    failed++;
    process.stdout.write(`FAIL ${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
}
process.stdout.write(`runtime tests: ${tests.length - failed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
