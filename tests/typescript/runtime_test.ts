// Unit tests of the TypeScript runtime's handshake and client side, against
// a host faked by hand in this process (the runtime's own `serve`, the
// fake host on a Unix socket next to it): docs/WIRE.md's golden rows for
// HELLO, WELCOME and a call from the plugin to the host, then the table of
// calls to the host (answers routed by id, the first answer wins, strays and
// answers that do not decode, CANCEL on abort and on the deadline, the
// handler's deadline and cancellation inherited, requests held back under
// backpressure, every pending call failed when the connection ends).
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
  LoggerClient,
  PAGE_COUNTER_NAME,
  STORE_FINGERPRINT,
  StoreClient,
  host,
  pageCounterService,
  type PageCounter,
} from "./contract.js";

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
async function connect(requires: readonly rt.HostContract[] = [StoreClient]): Promise<Session> {
  const fake = await FakeHost.start();
  process.env["GOPROC_ADDR"] = fake.path;
  process.env["GOPROC_TOKEN"] = "c0ffee";
  const served = rt.serve(pageCounterService(counter), { exit: false, requires }).then(
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
    protocolMax: 2,
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

test("golden WELCOME and WELCOME protocol 1 decode", async () => {
  assert.deepEqual(rt.decodeWelcome(row("WELCOME").subarray(13)), {
    protocol: 2,
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

test("the hello names protocol 2, the served contract and the required ones", async () => {
  const s = await connect([StoreClient, LoggerClient]);
  const r = new rt.Reader(s.hello.body);
  const contract = (r: rt.Reader) => `${r.string()} ${r.string()}`;
  assert.deepEqual(
    [r.u32(), r.u32(), r.string(), r.string(), r.string(), r.u32()],
    [2, 2, "c0ffee", "typescript", rt.RUNTIME, process.pid],
  );
  assert.equal(r.seq(2, contract).join(), `${PAGE_COUNTER_NAME} ${pageCounterService(counter).fingerprint}`);
  assert.equal(r.seq(2, contract).join(), `Store ${STORE_FINGERPRINT},Logger ${LOGGER_FINGERPRINT}`);
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
  assert.match(await s.served, /^failed: protocol error .*the host chose protocol 1, this plugin speaks 2\.\.=2/);
  s.fake.close();
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
