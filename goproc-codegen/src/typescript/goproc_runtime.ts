// goproc TypeScript runtime: frames, the bincode codec, the handshake (with
// the contracts' schemas), the serve loop, the calls to the host's contracts,
// streams, events and the describe request (docs/WIRE.md, versions 2 to 4).
// Written by
// goproc-codegen next to the generated modules; Node built-ins only. Do not
// edit: regenerate instead.

import { AsyncLocalStorage } from "node:async_hooks";
import * as nodeFs from "node:fs";
import * as net from "node:net";
import * as nodeOs from "node:os";
import * as nodePath from "node:path";

/** The oldest protocol version this runtime speaks. */
export const PROTOCOL_MIN = 2;
/** The newest protocol version this runtime speaks. */
export const PROTOCOL_MAX = 4;
/** The runtime's name and version, sent in the hello. */
export const RUNTIME = "goproc-typescript 0.1.0";
/** The largest frame before the host's welcome names another. */
export const DEFAULT_MAX_FRAME = 16 * 1024 * 1024;
/** A HELLO, WELCOME or REFUSE frame is at most this long. */
const HANDSHAKE_MAX_FRAME = 64 * 1024;
/** Frame header: length (4), kind (1), id (8). */
const HEADER_LEN = 13;
/** How long the host may take to answer the hello. */
const WELCOME_TIMEOUT_MS = 30_000;
/** How long queued answers may take to reach the host before the process exits. */
const FLUSH_ON_EXIT_MS = 5_000;
/** The smallest maximum frame size a host may name in its welcome. */
const MIN_MAX_FRAME = 4096;
/**
 * How deeply structs, enums and `Result`s may nest inside one another in a
 * decoded value, the outermost counting 1 (docs/WIRE.md section 3.1).
 */
export const NESTING_LIMIT = 128;

/** Message kinds (docs/WIRE.md section 4). */
export const Kind = {
  Hello: 0x01,
  Welcome: 0x02,
  Refuse: 0x03,
  Request: 0x10,
  Response: 0x11,
  Error: 0x12,
  Cancel: 0x13,
  Ping: 0x20,
  Pong: 0x21,
  Shutdown: 0x30,
  Close: 0x31,
  Event: 0x40,
  StreamItem: 0x41,
  StreamCredit: 0x42,
  ArgItem: 0x43,
  ArgEnd: 0x44,
  ArgCredit: 0x45,
  Publish: 0x46,
  Subscribe: 0x47,
  Unsubscribe: 0x48,
} as const;

/** The first protocol version with streams and events (kinds 0x40 to 0x48). */
const STREAMS_PROTOCOL = 3;
/** The first protocol version whose HELLO carries the contracts' schemas. */
const SCHEMAS_PROTOCOL = 4;
/**
 * The built-in introspection contract's number in a REQUEST; its one method,
 * describe (number 0), answers with the documented schema of each contract
 * served (docs/WIRE.md, "Introspection").
 */
export const INTROSPECTION_CONTRACT = 0xffffffff;
/** The describe method of the introspection contract. */
export const DESCRIBE_METHOD = 0;
/**
 * The bytes of stream items a receiver lets its sender have in flight, per
 * stream, unless `ServeOptions.streamWindow` or `Client.withStreamWindow`
 * name another (docs/WIRE.md, "Streams").
 */
export const DEFAULT_STREAM_WINDOW = 1024 * 1024;
/** Credit not yet used never exceeds this (a u32). */
const MAX_CREDIT = 0xffffffff;
/** The events one subscription holds for a slow reader before it drops the oldest. */
export const DEFAULT_EVENT_QUEUE = 256;

/** Codes of an ERROR frame. */
export const ErrorCode = {
  UnknownService: 1,
  UnknownMethod: 2,
  BadRequest: 3,
  HandlerFailed: 4,
  Cancelled: 5,
  DeadlineExceeded: 6,
  ShuttingDown: 7,
} as const;

// ---------------------------------------------------------------------------
// Values shared by the generated modules
// ---------------------------------------------------------------------------

/** A Rust `Result<T, E>`: `{ ok: value }` or `{ err: error }`. */
export type Result<T, E> = { ok: T } | { err: E };

/** Wraps a success value of a `Result`. */
export function ok<T>(value: T): { ok: T } {
  return { ok: value };
}

/** Wraps a domain error of a `Result`. */
export function err<E>(error: E): { err: E } {
  return { err: error };
}

/** What a handler learns about its call besides the arguments. */
export interface CallContext {
  /** Aborted when the host cancels the call or its deadline passes. */
  readonly signal: AbortSignal;
  /** When the host stops waiting, in `Date.now()` milliseconds; `null` for no deadline. */
  readonly deadline: number | null;
  /** `Contract.method`, for logs. */
  readonly method: string;
}

/** A value that does not fit the Rust type it is sent as. */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EncodeError";
  }
}

/** Bytes that are not a valid encoding of the expected type. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecodeError";
  }
}

/** The peer broke the wire protocol. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * A call to the host failed. `method` names it (`Store.get`). The subclasses
 * say how: `CallTimeout`, `CallCancelled`, `RemoteError`, `ConnectionClosed`;
 * a plain `CallError` is a call that could not be made (no connection, a
 * contract the host does not serve) or an answer that does not decode.
 */
export class CallError extends Error {
  /** `Contract.method`. */
  readonly method: string;

  constructor(method: string, message: string, options?: { readonly cause?: unknown }) {
    super(message, options);
    this.name = "CallError";
    this.method = method;
  }
}

/**
 * The call's deadline passed before the host answered (the plugin then sent
 * CANCEL), or the host answered ERROR code 6, deadline exceeded.
 */
export class CallTimeout extends CallError {
  constructor(method: string, message: string) {
    super(method, message);
    this.name = "CallTimeout";
  }
}

/**
 * The call was given up before the host answered: its abort signal aborted,
 * or the handler that made it was stopped (the host cancelled it). CANCEL
 * was sent when the request had been.
 */
export class CallCancelled extends CallError {
  constructor(method: string, message: string, options?: { readonly cause?: unknown }) {
    super(method, message, options);
    this.name = "CallCancelled";
  }
}

/** The host answered the call with an ERROR frame (docs/WIRE.md, ErrorBody). */
export class RemoteError extends CallError {
  /** The ERROR frame's code: 1 unknown contract ... 7 shutting down. */
  readonly code: number;
  /** The ERROR frame's message, as the host wrote it (`panic: ...`). */
  readonly remoteMessage: string;
  /** The ERROR frame's detail: where a host handler panicked, a traceback. */
  readonly detail: string;

  /** `peer` names who answered, for the message: the host, unless a test client called. */
  constructor(method: string, code: number, remoteMessage: string, detail: string, peer = "the host") {
    super(method, `${method} failed in ${peer}: ${errorCodeName(code)}: ${remoteMessage}`);
    this.name = "RemoteError";
    this.code = code;
    this.remoteMessage = remoteMessage;
    this.detail = detail;
  }
}

/** The connection to the host ended before the host answered the call. */
export class ConnectionClosed extends CallError {
  constructor(method: string, message: string) {
    super(method, message);
    this.name = "ConnectionClosed";
  }
}

/** What an ERROR code means, in the words of docs/WIRE.md. */
function errorCodeName(code: number): string {
  switch (code) {
    case ErrorCode.UnknownService:
      return "unknown contract";
    case ErrorCode.UnknownMethod:
      return "unknown method";
    case ErrorCode.BadRequest:
      return "bad request";
    case ErrorCode.HandlerFailed:
      return "handler failed";
    case ErrorCode.Cancelled:
      return "cancelled";
    case ErrorCode.DeadlineExceeded:
      return "deadline exceeded";
    case ErrorCode.ShuttingDown:
      return "shutting down";
    default:
      return `error code ${code}`;
  }
}

// ---------------------------------------------------------------------------
// Streams: credit accounting (docs/WIRE.md, "Streams (version 3)")
// ---------------------------------------------------------------------------

/** What a stream item's frame costs: its 13 header bytes and its body. */
export function itemCost(bodyLength: number): number {
  return HEADER_LEN + bodyLength;
}

/** Checks a stream window: a whole number of bytes from 1 to 2^32 - 1. */
export function checkWindow(bytes: number): number {
  if (typeof bytes !== "number" || !Number.isInteger(bytes) || bytes < 1 || bytes > MAX_CREDIT) {
    throw new RangeError(`a stream window is a whole number of bytes from 1 to ${MAX_CREDIT}, not ${describe(bytes)}`);
  }
  return bytes;
}

/**
 * The sender's side of one stream's credit: what the receiver granted and
 * the sender has not spent. An item may go while the credit is above zero;
 * its cost may take the credit below zero.
 */
export class SendCredit {
  /** Bytes the sender may still send; at most 0 means wait. */
  credit = 0;
  private waiter: (() => void) | undefined = undefined;

  /** A STREAM_CREDIT or ARG_CREDIT of `n` bytes; a `ProtocolError` when it breaks the rules. */
  grant(n: number): void {
    if (n < 1) throw new ProtocolError(`a credit frame grants ${n} bytes; a grant is at least 1`);
    if (Math.max(this.credit, 0) + n > MAX_CREDIT) {
      throw new ProtocolError(
        `a credit frame grants ${n} more bytes to the ${Math.max(this.credit, 0)} not used yet, past the limit of ${MAX_CREDIT}`,
      );
    }
    this.credit += n;
    this.wake();
  }

  /** Whether an item may go now. */
  get open(): boolean {
    return this.credit > 0;
  }

  /** An item of `cost` bytes went. */
  spend(cost: number): void {
    this.credit -= cost;
  }

  /** Resolves at the next grant, or when `wake` is called (the stream stopped). */
  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Wakes the sender waiting for credit. */
  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/**
 * The receiver's side of one stream's credit: it grants a window at the
 * start, counts what arrives against it (an item that arrives when the
 * sender had no credit left breaks the protocol), and grants again what its
 * consumer took each time that reaches half a window.
 */
export class ReceiveCredit {
  readonly window: number;
  /** Bytes granted that the sender has not used yet, as the receiver counts them. */
  outstanding = 0;
  /** Bytes the consumer took since the last grant. */
  taken = 0;

  constructor(window: number) {
    this.window = checkWindow(window);
  }

  /** The first grant: the whole window. */
  start(): number {
    this.outstanding += this.window;
    return this.window;
  }

  /** An item of `cost` bytes arrived; `false` when its sender had no credit left. */
  receive(cost: number): boolean {
    if (this.outstanding <= 0) return false;
    this.outstanding -= cost;
    return true;
  }

  /** The consumer took an item of `cost` bytes; returns the bytes to grant now (0: none yet). */
  take(cost: number): number {
    this.taken += cost;
    if (this.taken * 2 < this.window) return 0;
    const n = Math.min(this.taken, MAX_CREDIT - Math.max(this.outstanding, 0));
    this.taken -= n;
    this.outstanding += n;
    return n;
  }
}

// ---------------------------------------------------------------------------
// Events: topics, patterns, the bounded queue of a subscription
// ---------------------------------------------------------------------------

/** The longest topic or pattern, in UTF-8 bytes. */
const MAX_TOPIC_BYTES = 65535;

/** A topic or pattern that breaks the rules of docs/WIRE.md, "Events". */
export class InvalidTopic extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidTopic";
  }
}

function checkTopicText(what: string, s: unknown): string {
  if (typeof s !== "string") throw new InvalidTopic(`${what} ${describe(s)} is not a string`);
  if (s.length === 0) throw new InvalidTopic(`${what} is empty; it needs at least one character`);
  if (!isWellFormed(s)) throw new InvalidTopic(`${what} ${JSON.stringify(s)} has a lone surrogate and is not valid UTF-8`);
  const bytes = Buffer.byteLength(s, "utf8");
  if (bytes > MAX_TOPIC_BYTES) {
    throw new InvalidTopic(`${what} is ${bytes} bytes long, more than the ${MAX_TOPIC_BYTES} allowed`);
  }
  if (s.includes("\0")) throw new InvalidTopic(`${what} ${JSON.stringify(s)} contains NUL`);
  return s;
}

/**
 * Checks a topic to publish on: 1 to 65,535 bytes of UTF-8, `/`-separated
 * levels (empty ones allowed), no `+`, `#` or NUL. Throws `InvalidTopic`.
 */
export function checkTopic(topic: string): void {
  checkTopicText("topic", topic);
  const wild = /[+#]/.exec(topic);
  if (wild !== null) {
    throw new InvalidTopic(
      `topic ${JSON.stringify(topic)} contains '${wild[0]}', a wildcard: topics name one place (wildcards belong in subscription patterns)`,
    );
  }
}

/**
 * Checks a subscription pattern (MQTT 3.1.1): `+` matches one level, `#`
 * the rest of the topic; each fills its whole level and `#` comes last.
 * Throws `InvalidTopic`.
 */
export function checkPattern(pattern: string): void {
  checkTopicText("pattern", pattern);
  const levels = pattern.split("/");
  levels.forEach((level, i) => {
    if (level === "+" || (level === "#" && i === levels.length - 1)) return;
    if (level === "#") {
      throw new InvalidTopic(`pattern ${JSON.stringify(pattern)} has '#' before its last level; '#' matches the rest of a topic and comes last`);
    }
    if (level.includes("+") || level.includes("#")) {
      throw new InvalidTopic(
        `pattern ${JSON.stringify(pattern)} has level ${JSON.stringify(level)}: a wildcard ('+' or '#') fills a whole level`,
      );
    }
  });
}

/** An event contract's channel: its fingerprint's first 16 hex digits, read as a big-endian u64. */
export function channelOf(fingerprint: string): bigint {
  const digits = fingerprint.slice(0, 16);
  if (!/^[0-9a-f]+$/.test(digits)) throw new RangeError(`fingerprint ${JSON.stringify(fingerprint)} is not lowercase hex`);
  return BigInt(`0x${digits}`);
}

/** One event a subscription received. */
export interface Event<T> {
  /** The topic it was published on. */
  readonly topic: string;
  /** Its payload. */
  readonly payload: T;
  /** How many events this subscription dropped before this one (it did not keep up). */
  readonly lagged: bigint;
}

/**
 * The events of one subscription waiting for their reader: at most
 * `capacity`; when full, the oldest goes, and the event that becomes the
 * oldest carries the count in `lagged` (with what the dropped one carried).
 */
export class EventQueue<T> {
  readonly capacity: number;
  private items: Event<T>[] = [];
  private head = 0;

  constructor(capacity: number = DEFAULT_EVENT_QUEUE) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`an event queue holds at least 1 event, not ${describe(capacity)}`);
    }
    this.capacity = capacity;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  push(event: Event<T>): void {
    let e = event;
    if (this.length >= this.capacity) {
      const dropped = this.items[this.head]!;
      this.items[this.head] = undefined as unknown as Event<T>;
      this.head++;
      const carry = dropped.lagged + 1n;
      if (this.length > 0) {
        const next = this.items[this.head]!;
        this.items[this.head] = { ...next, lagged: next.lagged + carry };
      } else {
        e = { ...e, lagged: e.lagged + carry };
      }
    }
    this.items.push(e);
  }

  shift(): Event<T> | undefined {
    if (this.length === 0) return undefined;
    const e = this.items[this.head]!;
    this.items[this.head] = undefined as unknown as Event<T>;
    this.head++;
    if (this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

// ---------------------------------------------------------------------------
// Codec: bincode 2 `config::standard()` (little endian, varints)
// ---------------------------------------------------------------------------

const U16_MARK = 0xfb;
const U32_MARK = 0xfc;
const U64_MARK = 0xfd;
const U128_MARK = 0xfe;
const TWO_32 = 4294967296;
const U64_MAX = (1n << 64n) - 1n;
const U128_MAX = (1n << 128n) - 1n;
const F32_MAX = 3.4028234663852886e38;

const textEncoder = new TextEncoder();
// `fatal` rejects invalid UTF-8; `ignoreBOM` keeps a leading U+FEFF, which is data.
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Strings up to this many bytes or UTF-16 units are checked for ASCII in
 * JavaScript and then copied byte for byte: cheaper than the UTF-8 codec's
 * call for short text, which most arguments and answers are.
 */
const ASCII_SCAN = 64;

const hasIsWellFormed =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === "function";

/** Whether `s` has no lone surrogate (`TextEncoder` would silently replace one). */
export function isWellFormed(s: string): boolean {
  if (hasIsWellFormed) {
    return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  }
  return !/[\uD800-\uDFFF]/u.test(s);
}

function describe(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return String(v);
  } catch {
    return typeof v;
  }
}

function intRange(v: unknown, min: number, max: number, ty: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new EncodeError(`${describe(v)} is not a ${ty} (an integer from ${min} to ${max})`);
  }
  return v;
}

function bigRange(v: unknown, min: bigint, max: bigint, ty: string): bigint {
  if (typeof v !== "bigint" || v < min || v > max) {
    throw new EncodeError(`${describe(v)} is not a ${ty} (a bigint from ${min} to ${max})`);
  }
  return v;
}

/** Appends encoded values to a growing buffer. */
export class Writer {
  protected buf: Uint8Array;
  protected view: DataView;
  /** Bytes written so far. */
  length = 0;

  constructor(capacity = 256) {
    this.buf = new Uint8Array(capacity);
    this.view = new DataView(this.buf.buffer);
  }

  /** The bytes written, without copying. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  protected reserve(n: number): number {
    const at = this.length;
    const need = at + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, at));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.length = need;
    return at;
  }

  /** One byte. (`this.buf[this.reserve(1)] = b` would write to the old buffer when it grows.) */
  private byte(b: number): void {
    const at = this.reserve(1);
    this.buf[at] = b;
  }

  /** Raw bytes, no length. */
  raw(b: Uint8Array): void {
    const at = this.reserve(b.length);
    this.buf.set(b, at);
  }

  bool(v: boolean): void {
    if (typeof v !== "boolean") throw new EncodeError(`${describe(v)} is not a bool`);
    this.byte(v ? 1 : 0);
  }

  u8(v: number): void {
    this.byte(intRange(v, 0, 255, "u8"));
  }

  i8(v: number): void {
    this.byte(intRange(v, -128, 127, "i8") & 0xff);
  }

  /** A varint of a value already known to be a non-negative integer below 2^32. */
  protected varSmall(v: number): void {
    if (v < 251) {
      this.byte(v);
    } else if (v <= 0xffff) {
      const at = this.reserve(3);
      this.buf[at] = U16_MARK;
      this.view.setUint16(at + 1, v, true);
    } else {
      const at = this.reserve(5);
      this.buf[at] = U32_MARK;
      this.view.setUint32(at + 1, v, true);
    }
  }

  /** A varint of a bigint already known to be in 0..2^128-1. */
  private varBig(v: bigint): void {
    if (v <= 0xffffffffn) {
      this.varSmall(Number(v));
    } else if (v <= U64_MAX) {
      const at = this.reserve(9);
      this.buf[at] = U64_MARK;
      this.view.setBigUint64(at + 1, v, true);
    } else {
      const at = this.reserve(17);
      this.buf[at] = U128_MARK;
      this.view.setBigUint64(at + 1, v & U64_MAX, true);
      this.view.setBigUint64(at + 9, v >> 64n, true);
    }
  }

  u16(v: number): void {
    this.varSmall(intRange(v, 0, 0xffff, "u16"));
  }

  u32(v: number): void {
    this.varSmall(intRange(v, 0, 0xffffffff, "u32"));
  }

  u64(v: bigint): void {
    this.varBig(bigRange(v, 0n, U64_MAX, "u64"));
  }

  u128(v: bigint): void {
    this.varBig(bigRange(v, 0n, U128_MAX, "u128"));
  }

  usize(v: bigint): void {
    this.varBig(bigRange(v, 0n, U64_MAX, "usize"));
  }

  i16(v: number): void {
    const x = intRange(v, -0x8000, 0x7fff, "i16");
    this.varSmall(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  i32(v: number): void {
    // Plain arithmetic, not `<<`: the zigzag of an i32 needs 32 unsigned bits.
    const x = intRange(v, -0x80000000, 0x7fffffff, "i32");
    this.varSmall(x >= 0 ? x * 2 : -x * 2 - 1);
  }

  i64(v: bigint): void {
    const x = bigRange(v, -(1n << 63n), (1n << 63n) - 1n, "i64");
    this.varBig(x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
  }

  i128(v: bigint): void {
    const x = bigRange(v, -(1n << 127n), (1n << 127n) - 1n, "i128");
    this.varBig(x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
  }

  isize(v: bigint): void {
    const x = bigRange(v, -(1n << 63n), (1n << 63n) - 1n, "isize");
    this.varBig(x >= 0n ? x << 1n : ((-x) << 1n) - 1n);
  }

  f32(v: number): void {
    if (typeof v !== "number") throw new EncodeError(`${describe(v)} is not an f32`);
    // A finite value past f32's range would silently become infinity.
    if (Number.isFinite(v) && Math.abs(Math.fround(v)) > F32_MAX) {
      throw new EncodeError(`${v} is outside the range of an f32`);
    }
    const at = this.reserve(4);
    this.view.setFloat32(at, v, true);
  }

  f64(v: number): void {
    if (typeof v !== "number") throw new EncodeError(`${describe(v)} is not an f64`);
    const at = this.reserve(8);
    this.view.setFloat64(at, v, true);
  }

  /** A Rust `char`: one Unicode scalar value, UTF-8 with no length. */
  char(v: string): void {
    if (typeof v !== "string") throw new EncodeError(`${describe(v)} is not a char`);
    const cp = v.codePointAt(0);
    if (
      cp === undefined ||
      v.length !== (cp > 0xffff ? 2 : 1) ||
      (cp >= 0xd800 && cp <= 0xdfff)
    ) {
      throw new EncodeError(`${describe(v)} is not a char (exactly one Unicode scalar value)`);
    }
    this.raw(textEncoder.encode(v));
  }

  string(v: string): void {
    if (typeof v !== "string") throw new EncodeError(`${describe(v)} is not a string`);
    const n = v.length;
    if (n <= ASCII_SCAN) {
      // ASCII is its own UTF-8, a byte a unit: copied as it is checked.
      const at = this.reserve(1 + n);
      const buf = this.buf;
      let i = 0;
      for (; i < n; i++) {
        const c = v.charCodeAt(i);
        if (c >= 0x80) break;
        buf[at + 1 + i] = c;
      }
      if (i === n) {
        buf[at] = n;
        return;
      }
      this.length = at;
    }
    if (!isWellFormed(v)) {
      throw new EncodeError(`${describe(v)} has a lone surrogate and is not valid UTF-8`);
    }
    if (v.length <= 83) {
      // At most 249 UTF-8 bytes: a one-byte length, written after the text.
      const at = this.reserve(1 + v.length * 3);
      const { written } = textEncoder.encodeInto(v, this.buf.subarray(at + 1));
      this.buf[at] = written;
      this.length = at + 1 + written;
      return;
    }
    this.byteString(textEncoder.encode(v));
  }

  bytesField(v: Uint8Array): void {
    if (!(v instanceof Uint8Array)) throw new EncodeError(`${describe(v)} is not a Uint8Array`);
    this.byteString(v);
  }

  /** A length, then the bytes: a string's UTF-8 or a byte string. */
  protected byteString(b: Uint8Array): void {
    this.varSmall(b.length);
    this.raw(b);
  }

  /** A sequence length or map size. */
  len(n: number): void {
    this.varSmall(intRange(n, 0, 0xffffffff, "length"));
  }

  /** An enum variant's position. */
  variant(i: number): void {
    this.varSmall(i);
  }

  seq<T>(v: readonly T[], item: (w: Writer, v: T) => void): void {
    if (!Array.isArray(v)) throw new EncodeError(`${describe(v)} is not an array`);
    this.len(v.length);
    for (const x of v) item(this, x);
  }

  array<T>(v: readonly T[], n: number, item: (w: Writer, v: T) => void): void {
    if (!Array.isArray(v) || v.length !== n) {
      throw new EncodeError(`${describe(v)} is not an array of exactly ${n} items`);
    }
    for (const x of v) item(this, x);
  }

  option<T>(v: T | null, some: (w: Writer, v: T) => void): void {
    if (v === null) {
      this.byte(0);
    } else if (v === undefined) {
      throw new EncodeError("undefined is not an Option: use null for None");
    } else {
      this.byte(1);
      some(this, v);
    }
  }

  /** An `Option<T>` whose `T` may itself be null: `{ some: value }` or null. */
  optionBoxed<T>(v: { some: T } | null, some: (w: Writer, v: T) => void): void {
    if (v === null) {
      this.byte(0);
    } else if (typeof v !== "object" || !("some" in v)) {
      throw new EncodeError(`${describe(v)} is not an Option: use null or { some: value }`);
    } else {
      this.byte(1);
      some(this, v.some);
    }
  }

  map<K, V>(
    v: ReadonlyMap<K, V>,
    key: (w: Writer, k: K) => void,
    value: (w: Writer, v: V) => void,
  ): void {
    if (!(v instanceof Map)) throw new EncodeError(`${describe(v)} is not a Map`);
    this.len(v.size);
    for (const [k, x] of v) {
      key(this, k);
      value(this, x);
    }
  }

  result<T, E>(
    v: Result<T, E>,
    okv: (w: Writer, v: T) => void,
    errv: (w: Writer, e: E) => void,
  ): void {
    if (typeof v === "object" && v !== null && "ok" in v) {
      this.variant(0);
      okv(this, v.ok);
    } else if (typeof v === "object" && v !== null && "err" in v) {
      this.variant(1);
      errv(this, v.err);
    } else {
      throw new EncodeError(`${describe(v)} is not a Result: use { ok: value } or { err: error }`);
    }
  }

  /** A tuple: checks it is an array of `n` items, then `body` writes them. */
  tuple<T extends readonly unknown[]>(v: T, n: number, body: (w: Writer, v: T) => void): void {
    if (!Array.isArray(v) || v.length !== n) {
      throw new EncodeError(`${describe(v)} is not a tuple of ${n} items`);
    }
    body(this, v);
  }

  unit(v: null): void {
    if (v !== null) throw new EncodeError(`${describe(v)} is not () (use null)`);
  }
}

/** The error for a value whose `tag` names no variant of enum `ty`. */
export function badVariant(ty: string, v: unknown): EncodeError {
  const tag = typeof v === "object" && v !== null && "tag" in v ? (v as { tag: unknown }).tag : undefined;
  return new EncodeError(`${describe(tag)} is not a variant of ${ty}`);
}

/**
 * Reads encoded values from a byte slice; every read is bounds-checked, and
 * the limits of docs/WIRE.md section 3.1 hold: lengths within the bytes
 * left, item counts within the item budget, nesting within `NESTING_LIMIT`.
 */
export class Reader {
  private buf: Uint8Array;
  private owned: boolean;
  /** `buf` is a Node Buffer, which decodes ASCII text without a copy. */
  private isBuffer: boolean;
  private dataView: DataView | undefined;
  /** Where the body starts in `buf`: offsets in messages count from here. */
  private start = 0;
  /** Where the body ends in `buf`. */
  private limit: number;
  /** The next byte to read (in `buf`: the body starts at 0 unless `reset` said otherwise). */
  pos = 0;
  /** How many more items the sequences and maps of this body may hold. */
  private items: number;
  /** The structs, enums and `Result`s being decoded, one inside another. */
  private depth = 0;

  /**
   * Reads `buf`, a whole body: its length is the item budget. `owned` says
   * that nothing else uses or reuses `buf`'s memory, so a byte string that
   * is most of it may be handed out as a view instead of a copy.
   */
  constructor(buf: Uint8Array, owned = false) {
    this.buf = buf;
    this.owned = owned;
    this.isBuffer = buf instanceof Buffer;
    this.limit = buf.length;
    this.items = buf.length;
  }

  /**
   * Reads the body `buf[start..end]` in place, as a new reader of it would:
   * a connection decodes every request with one reader, and no view of the
   * body is made.
   */
  reset(buf: Uint8Array, start: number, end: number, owned: boolean): void {
    if (buf !== this.buf) {
      this.buf = buf;
      this.isBuffer = buf instanceof Buffer;
      this.dataView = undefined;
    }
    this.owned = owned;
    this.start = start;
    this.limit = end;
    this.pos = start;
    this.items = end - start;
    this.depth = 0;
  }

  /** Made on first use: most reads need none. */
  private get view(): DataView {
    const buf = this.buf;
    return (this.dataView ??= new DataView(buf.buffer, buf.byteOffset, buf.byteLength));
  }

  /** Bytes not read yet. */
  remaining(): number {
    return this.limit - this.pos;
  }

  /** Fails unless every byte was read: the wire has no trailing bytes. */
  end(): void {
    if (this.pos !== this.limit) {
      throw new DecodeError(
        `${this.limit - this.pos} trailing byte(s) after the value (${this.pos - this.start} of ${this.limit - this.start} bytes used)`,
      );
    }
  }

  private take(n: number): number {
    const at = this.pos;
    if (n > this.limit - at) {
      throw new DecodeError(
        `unexpected end of input: need ${n} byte(s) at offset ${at - this.start}, ${this.limit - at} left`,
      );
    }
    this.pos = at + n;
    return at;
  }

  raw(n: number): Uint8Array {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  bool(): boolean {
    const b = this.buf[this.take(1)];
    if (b === 0) return false;
    if (b === 1) return true;
    throw new DecodeError(`invalid bool byte 0x${(b ?? 0).toString(16)}`);
  }

  u8(): number {
    return this.buf[this.take(1)] ?? 0;
  }

  i8(): number {
    return this.view.getInt8(this.take(1));
  }

  /** An unsigned varint of at most 32 bits (u16 when `wide` is false). */
  private varSmall(ty: string, wide: boolean): number {
    const m = this.buf[this.take(1)] ?? 0;
    if (m < 251) return m;
    if (m === U16_MARK) return this.view.getUint16(this.take(2), true);
    if (m === U32_MARK && wide) return this.view.getUint32(this.take(4), true);
    throw new DecodeError(`invalid varint marker 0x${m.toString(16)} for a ${ty}`);
  }

  /** An unsigned varint of at most 64 or 128 bits. */
  private varBig(ty: string, bits: 64 | 128): bigint {
    return this.varBigAfter(this.buf[this.take(1)] ?? 0, ty, bits);
  }

  /** The rest of an unsigned varint whose marker byte `m` was just read. */
  private varBigAfter(m: number, ty: string, bits: 64 | 128): bigint {
    if (m < 251) return BigInt(m);
    if (m === U16_MARK) return BigInt(this.view.getUint16(this.take(2), true));
    if (m === U32_MARK) return BigInt(this.view.getUint32(this.take(4), true));
    if (m === U64_MARK) return this.view.getBigUint64(this.take(8), true);
    if (m === U128_MARK && bits === 128) {
      const at = this.take(16);
      return this.view.getBigUint64(at, true) | (this.view.getBigUint64(at + 8, true) << 64n);
    }
    throw new DecodeError(`invalid varint marker 0x${m.toString(16)} for a ${ty}`);
  }

  u16(): number {
    return this.varSmall("u16", false);
  }

  u32(): number {
    return this.varSmall("u32", true);
  }

  u64(): bigint {
    return this.varBig("u64", 64);
  }

  u128(): bigint {
    return this.varBig("u128", 128);
  }

  /**
   * A u64 as a number, exact below 2^53 and the nearest number above (as
   * `Number(u64())`, without making a bigint); refused as `u64` refuses.
   */
  u64Number(): number {
    const m = this.buf[this.take(1)] ?? 0;
    if (m < 251) return m;
    if (m === U64_MARK) {
      const at = this.take(8);
      return this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * TWO_32;
    }
    return Number(this.varBigAfter(m, "u64", 64));
  }

  usize(): bigint {
    return this.varBig("usize", 64);
  }

  i16(): number {
    const z = this.varSmall("i16", false);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  i32(): number {
    const z = this.varSmall("i32", true);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  i64(): bigint {
    const z = this.varBig("i64", 64);
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  i128(): bigint {
    const z = this.varBig("i128", 128);
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  isize(): bigint {
    const z = this.varBig("isize", 64);
    return z & 1n ? -((z + 1n) >> 1n) : z >> 1n;
  }

  f32(): number {
    return this.view.getFloat32(this.take(4), true);
  }

  f64(): number {
    return this.view.getFloat64(this.take(8), true);
  }

  char(): string {
    const at = this.pos;
    const b = this.buf[this.take(1)] ?? 0;
    const width = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (width === 0) throw new DecodeError(`invalid char: first byte 0x${b.toString(16)}`);
    this.take(width - 1);
    try {
      return textDecoder.decode(this.buf.subarray(at, at + width));
    } catch {
      throw new DecodeError(`invalid char: bytes at offset ${at - this.start} are not UTF-8`);
    }
  }

  /**
   * A length or count varint (at most 64 bits) as a number: exact below
   * 2^53, and any larger one is refused by every caller.
   */
  private varLen(): number {
    const m = this.buf[this.take(1)] ?? 0;
    if (m < 251) return m;
    if (m === U16_MARK) return this.view.getUint16(this.take(2), true);
    if (m === U32_MARK) return this.view.getUint32(this.take(4), true);
    if (m === U64_MARK) {
      const at = this.take(8);
      return this.view.getUint32(at, true) + this.view.getUint32(at + 4, true) * TWO_32;
    }
    throw new DecodeError(`invalid varint marker 0x${m.toString(16)} for a length`);
  }

  /** The length varint just read, which ends at `this.pos`, exactly. */
  private lastLen(n: number): string {
    return n <= Number.MAX_SAFE_INTEGER ? String(n) : String(this.view.getBigUint64(this.pos - 8, true));
  }

  /**
   * A sequence's or map's item count. Refused before anything is allocated
   * when the bytes left cannot hold that many items of at least
   * `minItemSize` bytes, or when the counts read so far would add up to more
   * than the body's length (the item budget).
   */
  len(minItemSize: number): number {
    const n = this.varLen();
    const left = this.limit - this.pos;
    if (n * minItemSize > left) {
      throw new DecodeError(`count ${this.lastLen(n)} at offset ${this.pos - this.start} is more than the ${left} byte(s) left can hold`);
    }
    this.spend(n);
    return n;
  }

  /**
   * Charges `n` items (or bytes of a byte string, which a Rust `Vec<u8>`
   * also is: a sequence of u8) to the item budget; the varint of `n` ends
   * at `this.pos`.
   */
  private spend(n: number): void {
    if (n > this.items) {
      throw new DecodeError(
        `count ${this.lastLen(n)} at offset ${this.pos - this.start} is past the item budget: the counts of a ${this.limit - this.start}-byte body add up to at most ${this.limit - this.start}, ${this.items} are left`,
      );
    }
    this.items -= n;
  }

  /** A string's or byte string's length, refused when more than the bytes left. */
  private byteLen(): number {
    const n = this.varLen();
    const left = this.limit - this.pos;
    if (n > left) {
      throw new DecodeError(`length ${this.lastLen(n)} at offset ${this.pos - this.start} is more than the ${left} byte(s) left`);
    }
    return n;
  }

  /** Starts a struct, enum or `Result`; refused past `NESTING_LIMIT` levels. */
  enter(): void {
    if (++this.depth > NESTING_LIMIT) {
      throw new DecodeError(
        `more than ${NESTING_LIMIT} structs, enums and Results nested inside one another at offset ${this.pos - this.start} (the nesting limit is ${NESTING_LIMIT})`,
      );
    }
  }

  /** Ends what `enter` started; returns `v`, the value decoded. */
  leave<T>(v: T): T {
    this.depth--;
    return v;
  }

  /** An enum variant's position, checked against the number of variants. */
  variant(count: number, ty: string): number {
    const i = this.varSmall("variant index", true);
    if (i >= count) throw new DecodeError(`variant index ${i} is out of range for ${ty} (${count} variants)`);
    return i;
  }

  string(): string {
    const n = this.byteLen();
    const at = this.take(n);
    const buf = this.buf;
    if (n <= ASCII_SCAN && this.isBuffer) {
      // Short ASCII text (valid UTF-8, the same in Latin-1) needs no view and
      // no validating decoder.
      let ascii = true;
      for (let i = at; i < at + n; i++) {
        if (buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      if (ascii) return (buf as Buffer).toString("latin1", at, at + n);
    }
    try {
      return textDecoder.decode(buf.subarray(at, at + n));
    } catch {
      throw new DecodeError(`invalid UTF-8 in a string at offset ${at - this.start}`);
    }
  }

  bytesField(): Uint8Array {
    const n = this.byteLen();
    this.spend(n);
    const at = this.take(n);
    const buf = this.buf;
    // A view when the bytes are most of a buffer nothing else uses (a large
    // frame read into memory of its own); otherwise a copy, which keeps no
    // large buffer alive and cannot change when a read buffer is reused.
    if (this.owned && n * 2 >= buf.buffer.byteLength) {
      return new Uint8Array(buf.buffer, buf.byteOffset + at, n);
    }
    const copy = new Uint8Array(n);
    copy.set(buf.subarray(at, at + n));
    return copy;
  }

  seq<T>(minItemSize: number, item: (r: Reader) => T): T[] {
    const n = this.len(minItemSize);
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = item(this);
    return out;
  }

  array<T>(n: number, item: (r: Reader) => T): T[] {
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = item(this);
    return out;
  }

  private optionTag(): boolean {
    const b = this.buf[this.take(1)];
    if (b === 0) return false;
    if (b === 1) return true;
    throw new DecodeError(`invalid Option tag 0x${(b ?? 0).toString(16)}`);
  }

  option<T>(some: (r: Reader) => T): T | null {
    return this.optionTag() ? some(this) : null;
  }

  optionBoxed<T>(some: (r: Reader) => T): { some: T } | null {
    return this.optionTag() ? { some: some(this) } : null;
  }

  map<K, V>(minEntrySize: number, key: (r: Reader) => K, value: (r: Reader) => V): Map<K, V> {
    const n = this.len(minEntrySize);
    const out = new Map<K, V>();
    for (let i = 0; i < n; i++) {
      const k = key(this);
      out.set(k, value(this));
    }
    return out;
  }

  result<T, E>(okv: (r: Reader) => T, errv: (r: Reader) => E): Result<T, E> {
    this.enter();
    const v: Result<T, E> = this.variant(2, "Result") === 0 ? { ok: okv(this) } : { err: errv(this) };
    this.depth--;
    return v;
  }

  unit(): null {
    return null;
  }
}

/** Encodes one value with `encode`. */
export function encodeValue<T>(value: T, encode: (w: Writer, v: T) => void): Uint8Array {
  const w = new Writer();
  encode(w, value);
  return w.bytes().slice();
}

/** Decodes one value that must fill `bytes` exactly. */
export function decodeValue<T>(bytes: Uint8Array, decode: (r: Reader) => T): T {
  const r = new Reader(bytes);
  try {
    const v = decode(r);
    r.end();
    return v;
  } catch (e) {
    throw asDecodeError(e);
  }
}

/**
 * A `RangeError` (the stack ran out, an array too long) met while decoding
 * is a value that does not decode, like any other; other errors stay.
 */
export function asDecodeError(e: unknown): unknown {
  return e instanceof RangeError ? new DecodeError(`the value cannot be decoded: RangeError: ${e.message}`) : e;
}

// ---------------------------------------------------------------------------
// Contracts as the generated modules describe them
// ---------------------------------------------------------------------------

/** One method: decodes its arguments, runs the handler and encodes its answer. */
export interface MethodDef<I> {
  /** The method's name in the contract. */
  readonly name: string;
  /**
   * Decodes the arguments the REQUEST carries (a `DecodeError` is a bad
   * request) and returns a function that calls the implementation: it gives
   * back the answer, or a promise of it, or, for a method that answers with
   * a stream, an `AsyncIterable` of the items. `input` is the stream
   * argument, for a method that takes one.
   */
  readonly prepare: (r: Reader) => (impl: I, ctx: CallContext, input?: AsyncIterable<unknown>) => unknown;
  /** Writes an answer of this method, or one item of its answer stream. */
  readonly encode: (w: Writer, v: unknown) => void;
  /** The method answers with a stream: STREAM_ITEMs, then an empty RESPONSE. */
  readonly answerStream: boolean;
  /** Reads one item of the method's stream argument; `undefined` when it takes none. */
  readonly argItem: ((r: Reader) => unknown) | undefined;
}

/**
 * A method of contract interface `I` whose answer is an `R`: the generated
 * method tables are built with it, so that `prepare` and `encode` agree.
 * `argItem` reads the items of its stream argument (`A`), if it takes one.
 */
export function method<I, R, A = never>(
  name: string,
  prepare: (r: Reader) => (impl: I, ctx: CallContext, input: AsyncIterable<A>) => R | PromiseLike<R>,
  encode: (w: Writer, v: R) => void,
  argItem?: (r: Reader) => A,
): MethodDef<I> {
  // Sound: `encode` only ever gets what this method's calls gave, and the
  // runtime passes `input` exactly when `argItem` is given.
  return {
    name,
    prepare: prepare as MethodDef<I>["prepare"],
    encode: encode as (w: Writer, v: unknown) => void,
    answerStream: false,
    argItem,
  };
}

/**
 * A method of contract interface `I` that answers with a stream of `R`
 * (its handler returns an `AsyncIterable<R>`, an async generator); `encode`
 * writes one item. `argItem` reads the items of its stream argument.
 */
export function streamMethod<I, R, A = never>(
  name: string,
  prepare: (r: Reader) => (impl: I, ctx: CallContext, input: AsyncIterable<A>) => AsyncIterable<R>,
  encode: (w: Writer, v: R) => void,
  argItem?: (r: Reader) => A,
): MethodDef<I> {
  return {
    name,
    prepare: prepare as MethodDef<I>["prepare"],
    encode: encode as (w: Writer, v: unknown) => void,
    answerStream: true,
    argItem,
  };
}

/** A contract: its name, fingerprint, schema and methods in wire order. */
export interface ContractDef<I> {
  readonly name: string;
  readonly fingerprint: string;
  /** The canonical schema the HELLO sends; absent or empty: not stated. */
  readonly schema?: string;
  /** The schema with its doc comments, what a describe request answers. */
  readonly documented?: string;
  readonly methods: readonly MethodDef<I>[];
  /**
   * The name of each method in `I`, in wire order, where it differs from
   * the contract's (`from_` for `from`); absent: the contract's names.
   */
  readonly members?: readonly string[];
}

/** One method of a bound contract. */
export interface BoundMethod {
  /** `Contract.method`, for messages and logs. */
  readonly name: string;
  /**
   * Decodes the arguments (throws a `DecodeError` when they do not decode)
   * and returns the call to run on `impl`: it gives the answer, or a promise
   * of it, or the answer stream's `AsyncIterable`.
   */
  readonly prepare: (r: Reader) => (impl: unknown, ctx: CallContext, input?: AsyncIterable<unknown>) => unknown;
  /** The implementation the method's calls run on. */
  readonly impl: unknown;
  /** Writes an answer the call gave, or one item of its answer stream. */
  readonly encode: (w: Writer, v: unknown) => void;
  /** The method answers with a stream. */
  readonly answerStream: boolean;
  /** Reads one item of the stream argument; `undefined` when there is none. */
  readonly argItem: ((r: Reader) => unknown) | undefined;
}

/** A contract bound to an implementation, ready for `serve`. */
export interface Service {
  readonly name: string;
  readonly fingerprint: string;
  /** The contract's canonical schema ("": not stated). */
  readonly schema: string;
  /** The contract's documented schema, for describe. */
  readonly documented: string;
  /** How many methods the contract has. */
  readonly methodCount: number;
  /** Method number `method`; `undefined` when there is no such method. */
  readonly method: (method: number) => BoundMethod | undefined;
  /**
   * The methods of the contract the implementation lacks (not a function),
   * as the interface spells them; `serve` refuses to start with any.
   */
  readonly missing?: readonly string[];
}

/**
 * The methods of `contract` that `impl` does not implement: the members
 * that are not functions (own or inherited), as the interface names them.
 */
function missingMethods<I>(contract: ContractDef<I>, impl: I): string[] {
  const members = contract.members ?? contract.methods.map((m) => m.name);
  if (impl === null || (typeof impl !== "object" && typeof impl !== "function")) return [...members];
  const object = impl as Record<string, unknown>;
  return members.filter((m) => typeof object[m] !== "function");
}

/**
 * Why `services` cannot be served: the methods each implementation lacks,
 * as one message naming the contracts and methods; `undefined` when none.
 */
function unimplemented(services: readonly Service[], where: string): string | undefined {
  const lines = services
    .filter((s) => s.missing !== undefined && s.missing.length > 0)
    .map((s) => `contract ${s.name} lacks ${s.missing!.length === 1 ? "method" : "methods"} ${s.missing!.join(", ")}`);
  if (lines.length === 0) return undefined;
  return (
    `the implementation given to ${where} is incomplete: ${lines.join("; ")}. ` +
    "Every method of a contract must be a function of the object served; add the missing ones (check their spelling)"
  );
}

/** Binds an implementation to its contract. */
export function bind<I>(contract: ContractDef<I>, impl: I): Service {
  const methods: BoundMethod[] = contract.methods.map((m) => ({
    name: `${contract.name}.${m.name}`,
    // Sound: the runtime only ever runs a call on the `impl` beside it.
    prepare: m.prepare as BoundMethod["prepare"],
    impl,
    encode: m.encode,
    answerStream: m.answerStream === true,
    argItem: m.argItem,
  }));
  return {
    name: contract.name,
    fingerprint: contract.fingerprint,
    schema: contract.schema ?? "",
    documented: contract.documented ?? "",
    methodCount: methods.length,
    method: (method) => methods[method],
    missing: missingMethods(contract, impl),
  };
}

// ---------------------------------------------------------------------------
// Calling the host
// ---------------------------------------------------------------------------

/**
 * A contract as the handshake names it: its name and fingerprint, and from
 * protocol 4 its canonical schema (absent or empty: not stated).
 */
export interface ContractRef {
  readonly name: string;
  readonly fingerprint: string;
  readonly schema?: string;
}

/**
 * A host contract a plugin requires, for `ServeOptions.requires`: a
 * generated client class (`StoreClient`) is one.
 */
export interface HostContract {
  readonly contract: ContractRef;
}

/**
 * What a handler's calls to the host inherit: the handler's `Call`, kept
 * across its `await`s by `AsyncLocalStorage`. Made when a plugin first uses
 * a host client (or requires a host contract), so that a plugin that never
 * calls its host pays nothing for it.
 */
let handlerContext: AsyncLocalStorage<Call> | undefined;

function trackHandlers(): void {
  handlerContext ??= new AsyncLocalStorage<Call>();
}

/** The connection `serve` opened; host clients call through it. */
let current: Connection | undefined;

/**
 * The base of the generated clients (`StoreClient`): one async method per
 * contract method, which calls the host that started this process. A client
 * is a small value; `withTimeout`, `withoutTimeout` and `withSignal` return
 * a copy that calls with other options.
 *
 * A call's deadline is its own timeout (`withTimeout`) if it has one, else
 * what is left of the deadline of the handler it is made in, else none.
 * A call made in a handler is cancelled when the handler is (the host
 * cancels it, or its deadline passes), as when its own signal aborts.
 */
export abstract class Client {
  /** The contract the client calls; each generated class sets it. */
  static readonly contract: ContractRef;
  private readonly $contract: ContractRef;
  /** `undefined`: inherit the handler's deadline; `null`: none; else ms. */
  private $timeout: number | null | undefined = undefined;
  private $signal: AbortSignal | undefined = undefined;
  /** The answer streams' window; `undefined`: `ServeOptions.streamWindow`. */
  private $window: number | undefined = undefined;
  /** The connection it calls through; `undefined`: the one `serve` opened. */
  private $conn: Connection | undefined = undefined;

  /** Use `host(StoreClient)`. */
  constructor() {
    this.$contract = (new.target as unknown as HostContract).contract;
    trackHandlers();
  }

  private $with(set: (c: Client) => void): this {
    const copy = Object.assign(Object.create(Object.getPrototypeOf(this) as object) as this, this);
    set(copy);
    return copy;
  }

  /**
   * The same client, whose calls wait at most `ms` milliseconds for their
   * answer (the host is told, as the request's deadline), instead of what is
   * left of the handler's deadline.
   */
  withTimeout(ms: number): this {
    if (typeof ms !== "number" || !(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`a timeout is a finite number of milliseconds, not ${describe(ms)}`);
    }
    return this.$with((c) => (c.$timeout = ms));
  }

  /** The same client, whose calls carry no deadline, even in a handler that has one. */
  withoutTimeout(): this {
    return this.$with((c) => (c.$timeout = null));
  }

  /** The same client, whose calls are cancelled (CANCEL sent) when `signal` aborts. */
  withSignal(signal: AbortSignal): this {
    return this.$with((c) => (c.$signal = signal));
  }

  /**
   * The same client, whose answer streams let the host send `bytes` bytes
   * of items ahead of what the caller read (and whose stream arguments use
   * what the host grants), instead of `ServeOptions.streamWindow`.
   */
  withStreamWindow(bytes: number): this {
    checkWindow(bytes);
    return this.$with((c) => (c.$window = bytes));
  }

  /**
   * Calls method number `method` (`name` for messages); the generated
   * methods use it. `input` is the stream argument of a method that takes one.
   */
  protected $call<R, A = never>(
    method: number,
    name: string,
    args: (w: Writer) => void,
    answer: (r: Reader) => R,
    input?: ArgSource<A>,
  ): Promise<R> {
    const conn = this.$conn ?? current;
    const contract = this.$contract;
    if (conn === undefined) return Promise.reject(notConnected(`${contract.name}.${name}`));
    const extra: CallExtra = { window: this.$window, stream: undefined, input: input as ArgSource<unknown> | undefined };
    return conn.call(contract, method, name, args, answer, this.$timeout, this.$signal, extra) as Promise<R>;
  }

  /**
   * Calls method number `method`, which answers with a stream of items read
   * by `item`. Nothing is sent until the stream is first read; `return()`
   * (a `break` out of `for await`) cancels the call.
   */
  protected $stream<R, A = never>(
    method: number,
    name: string,
    args: (w: Writer) => void,
    item: (r: Reader) => R,
    input?: ArgSource<A>,
  ): AsyncIterableIterator<R> {
    const contract = this.$contract;
    const timeout = this.$timeout;
    const signal = this.$signal;
    const window = this.$window;
    const own = this.$conn;
    // The handler this stream is made in, if any: its first read may come later, elsewhere.
    const parent = handlerContext?.getStore();
    return new AnswerStream<R>(`${contract.name}.${name}`, item, (stream) => {
      const conn = own ?? current;
      if (conn === undefined) return Promise.reject(notConnected(stream.label));
      const extra: CallExtra = { window, stream: stream as AnswerStream<unknown>, input: input as ArgSource<unknown> | undefined };
      const start = () => conn.call(contract, method, name, args, noAnswer, timeout, signal, extra);
      return parent === undefined || handlerContext === undefined ? start() : handlerContext.run(parent, start);
    });
  }
}

function notConnected(label: string): CallError {
  return new CallError(label, `${label} cannot be called: this plugin is not connected to a host (call serve(...) first)`);
}

/** The stream argument of a call to the host: where its items come from, and how each is written. */
export interface ArgSource<A> {
  readonly source: AsyncIterable<A> | Iterable<A>;
  readonly encode: (w: Writer, v: A) => void;
}

/** A stream argument for a generated client method: `source`'s items, each written by `encode`. */
export function argStream<A>(source: AsyncIterable<A> | Iterable<A>, encode: (w: Writer, v: A) => void): ArgSource<A> {
  if (
    source === null ||
    (typeof source !== "object" && typeof source !== "function") ||
    (typeof (source as Partial<AsyncIterable<A>>)[Symbol.asyncIterator] !== "function" &&
      typeof (source as Partial<Iterable<A>>)[Symbol.iterator] !== "function")
  ) {
    throw new TypeError(`a stream argument is an AsyncIterable or an Iterable, not ${describe(source)}`);
  }
  return { source, encode };
}

/** What a call to the host streams, besides its arguments. */
interface CallExtra {
  /** The answer stream's window; `undefined` for `ServeOptions.streamWindow`. */
  readonly window: number | undefined;
  /** The answer stream that receives the items, for a method that answers with one. */
  readonly stream: AnswerStream<unknown> | undefined;
  /** The stream argument, for a method that takes one. */
  readonly input: ArgSource<unknown> | undefined;
}

/**
 * The answer stream of a call to the host, as the caller reads it: the
 * items the host sent (at most a window of them, plus one), then the end,
 * or the call's error (`CallError`) as the last item.
 */
class AnswerStream<R> implements AsyncIterableIterator<R> {
  readonly label: string;
  readonly item: (r: Reader) => R;
  private readonly begin: (s: AnswerStream<R>) => Promise<unknown>;
  private started = false;
  /** The consumer returned, or read the end or the error. */
  private finished = false;
  private ended = false;
  private failure: { readonly error: unknown } | undefined = undefined;
  private values: R[] = [];
  private costs: number[] = [];
  private head = 0;
  private waiter: (() => void) | undefined = undefined;
  /** Set by the connection when the request is made. */
  pending: Pending | undefined = undefined;
  credit: ReceiveCredit | undefined = undefined;

  constructor(label: string, item: (r: Reader) => R, begin: (s: AnswerStream<R>) => Promise<unknown>) {
    this.label = label;
    this.item = item;
    this.begin = begin;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Items received and not read yet. */
  get buffered(): number {
    return this.values.length - this.head;
  }

  /** An item arrived (its cost already counted against the credit). */
  push(value: R, cost: number): void {
    if (this.finished) return;
    this.values.push(value);
    this.costs.push(cost);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private start(): void {
    this.started = true;
    this.begin(this).then(
      () => {
        this.ended = true;
        this.wake();
      },
      (e: unknown) => {
        if (this.failure === undefined && !this.ended) this.failure = { error: e };
        this.wake();
      },
    );
  }

  async next(): Promise<IteratorResult<R>> {
    if (!this.started) this.start();
    for (;;) {
      if (this.finished) return { value: undefined, done: true };
      if (this.head < this.values.length) {
        const value = this.values[this.head]!;
        const cost = this.costs[this.head]!;
        this.values[this.head] = undefined as R;
        this.head++;
        if (this.head * 2 >= this.values.length && this.head > 64) {
          this.values = this.values.slice(this.head);
          this.costs = this.costs.slice(this.head);
          this.head = 0;
        }
        const p = this.pending;
        const grant = this.credit?.take(cost) ?? 0;
        if (grant > 0 && p !== undefined && !p.done) p.conn.grant(Kind.StreamCredit, p.id, grant);
        return { value, done: false };
      }
      if (this.failure !== undefined) {
        const { error } = this.failure;
        this.close();
        throw error;
      }
      if (this.ended) {
        this.close();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Stops reading: the call is cancelled (CANCEL sent) if the host still streams. */
  async return(): Promise<IteratorResult<R>> {
    this.close();
    return { value: undefined, done: true };
  }

  private close(): void {
    if (this.finished) return;
    this.finished = true;
    this.values = [];
    this.costs = [];
    this.head = 0;
    const p = this.pending;
    if (p !== undefined && !p.done) {
      p.conn.cancelStream(p, new CallCancelled(p.label, `${p.label} was cancelled: its answer stream was closed`));
    }
    this.wake();
  }
}

/**
 * A client of host contract `C`, for calls to the host that started this
 * process: `const store = host(StoreClient)`. Make it at the top of the
 * plugin, before `serve`, and call it anywhere once `serve` runs: in a
 * handler (its calls inherit the handler's deadline and cancellation) or
 * outside one. Calls made before the host's welcome wait for it.
 */
export function host<C extends Client>(client: new () => C): C {
  return new client();
}

/** Reads the answer of a method that returns nothing: an empty body. */
export function noAnswer(_r: Reader): void {}

// ---------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------

/** The events of one subscription, read with `for await`; `close()` ends it. */
export interface Subscription<T> extends AsyncIterable<Event<T>> {
  /** The pattern it matches topics with. */
  readonly pattern: string;
  /** Ends the subscription (UNSUBSCRIBE); a reader waiting in `for await` sees the end. */
  close(): void;
}

/**
 * The base of the generated event classes (`TelemetryEvents`): one
 * `publish<Kind>(topic, payload)` and one `subscribe<Kind>(pattern)` per
 * kind of event of the contract. Get one with `events(TelemetryEvents)`.
 */
export abstract class Events {
  /** The event contract; each generated class sets it. */
  static readonly contract: ContractRef;
  private readonly $contract: ContractRef;
  private readonly $channel: bigint;

  /** Use `events(TelemetryEvents)`. */
  constructor() {
    this.$contract = (new.target as unknown as HostContract).contract;
    this.$channel = channelOf(this.$contract.fingerprint);
  }

  /**
   * Publishes event number `event` on `topic` (the payload written by
   * `payload`). Never waits: the event is handed to the host, which routes
   * it to every other plugin and host subscriber whose pattern matches.
   * Throws `InvalidTopic` for a topic that breaks the rules.
   */
  protected $publish(event: number, topic: string, payload: (w: Writer) => void): void {
    checkTopic(topic);
    const conn = current;
    if (conn === undefined) {
      throw new Error(`cannot publish ${this.$contract.name} events: this plugin is not connected to a host (call serve(...) first)`);
    }
    conn.publish(this.$channel, event, topic, payload);
  }

  /**
   * Subscribes to event number `event` (`name` for messages) on the topics
   * `pattern` matches. Throws `InvalidTopic` for a pattern that breaks the rules.
   */
  protected $subscribe<T>(event: number, name: string, pattern: string, payload: (r: Reader) => T): Subscription<T> {
    checkPattern(pattern);
    const conn = current;
    if (conn === undefined) {
      throw new Error(`cannot subscribe to ${this.$contract.name}.${name}: this plugin is not connected to a host (call serve(...) first)`);
    }
    return conn.subscribe(this.$contract.name, this.$channel, event, name, pattern, payload);
  }
}

/**
 * The events of event contract `E` on this plugin's host:
 * `const telemetry = events(TelemetryEvents)`, then
 * `telemetry.publishTemperature(topic, reading)` and
 * `for await (const e of telemetry.subscribeTemperature("sensors/+/temp"))`.
 * Publish and subscribe once `serve` runs (in a handler, or after `serve`).
 */
export function events<E extends Events>(contract: new () => E): E {
  return new contract();
}

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/** Starts a frame: call `finish` once the body is written. */
function frameWriter(kind: number, id: Uint8Array | null): Writer {
  const w = new Writer(64);
  w.raw(new Uint8Array(4));
  w.raw(Uint8Array.of(kind));
  w.raw(id ?? new Uint8Array(8));
  return w;
}

/** Fills in the length; fails when the frame is longer than `max`. */
function finishFrame(w: Writer, max: number): Uint8Array {
  const bytes = w.bytes();
  const length = bytes.length - 4;
  if (length > max) {
    throw new EncodeError(`the answer is ${length} bytes, more than the maximum frame size ${max}`);
  }
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(0, length, true);
  return bytes;
}

/** A HELLO's fields (docs/WIRE.md, "Handshake bodies"). */
export interface Hello {
  readonly protocolMin: number;
  readonly protocolMax: number;
  readonly token: string;
  readonly language: string;
  readonly runtime: string;
  readonly pid: number;
  /** The contracts the plugin serves, in the order the host numbers them. */
  readonly contracts: readonly ContractRef[];
  /** The host contracts the plugin calls (sent when `protocolMax >= 2`). */
  readonly requires: readonly ContractRef[];
}

/** A WELCOME's fields. */
export interface Welcome {
  readonly protocol: number;
  readonly maxFrame: number;
  readonly hostPid: number;
  /** The contracts the host serves to the plugin, in the order the plugin numbers them (protocol 2 on). */
  readonly contracts: readonly ContractRef[];
}

function writeContracts(w: Writer, list: readonly ContractRef[]): void {
  w.len(list.length);
  for (const c of list) {
    w.string(c.name);
    w.string(c.fingerprint);
  }
}

/** The whole HELLO frame; an `EncodeError` when it is longer than 64 KiB. */
export function encodeHello(hello: Hello): Uint8Array {
  const w = frameWriter(Kind.Hello, null);
  w.u32(hello.protocolMin);
  w.u32(hello.protocolMax);
  w.string(hello.token);
  w.string(hello.language);
  w.string(hello.runtime);
  w.u32(hello.pid);
  writeContracts(w, hello.contracts);
  if (hello.protocolMax >= 2) writeContracts(w, hello.requires);
  if (hello.protocolMax >= SCHEMAS_PROTOCOL) {
    // The schemas: the served contracts' first, then the required ones'.
    const schemas = [...hello.contracts, ...hello.requires].map((c) => c.schema ?? "");
    const listed = new Writer();
    listed.seq(schemas, (w, text) => w.string(text));
    if (w.length - 4 + listed.length > HANDSHAKE_MAX_FRAME) {
      // Schemas too large for a HELLO are left out: the host then compares
      // fingerprints only, as with an older plugin.
      process.stderr.write(
        `goproc: the contracts' schemas make the hello ${w.length - 4 + listed.length} bytes, over the protocol's ${HANDSHAKE_MAX_FRAME}; the host compares fingerprints only\n`,
      );
      w.seq(schemas, (w) => w.string(""));
    } else {
      w.raw(listed.bytes());
    }
  }
  return finishFrame(w, HANDSHAKE_MAX_FRAME);
}

/** A WELCOME body; a `DecodeError` when it is not one. */
export function decodeWelcome(body: Uint8Array): Welcome {
  return decodeValue(body, (r) => {
    const protocol = r.u32();
    const maxFrame = r.u32();
    const hostPid = r.u32();
    const contracts =
      protocol >= 2 ? r.seq(2, (r) => ({ name: r.string(), fingerprint: r.string() })) : [];
    return { protocol, maxFrame, hostPid, contracts };
  });
}

/** Below this size the frames queued for the host are copied out and the buffer reused. */
const REUSE_OUTPUT = 64 * 1024;
/**
 * A string or byte string at least this long is not copied into the outbox:
 * it is written to the socket as it is, between the outbox's bytes.
 */
const SEND_AS_IS = 64 * 1024;

/**
 * The frames queued for the host, back to back in one buffer: many answers
 * go out in one socket write. Long strings and byte strings stay where they
 * are (`asIs`) and are written in their place, without a copy.
 */
class Outbox extends Writer {
  /** Byte strings sent as they are, in order... */
  private asIs: Uint8Array[] = [];
  /** ... each before the outbox byte at this position. */
  private asIsAt: number[] = [];

  protected override byteString(b: Uint8Array): void {
    if (b.length < SEND_AS_IS) {
      super.byteString(b);
      return;
    }
    this.varSmall(b.length);
    this.asIs.push(b);
    this.asIsAt.push(this.length);
  }

  /** Starts a frame for call `id` (0 for none); returns where it starts. Close it with `end`. */
  begin(kind: number, id: number | bigint): number {
    const at = this.reserve(HEADER_LEN);
    this.buf[at + 4] = kind;
    if (typeof id === "bigint") {
      this.view.setBigUint64(at + 5, id, true);
    } else {
      this.view.setUint32(at + 5, id % TWO_32, true);
      this.view.setUint32(at + 9, Math.floor(id / TWO_32), true);
    }
    return at;
  }

  /**
   * Fills in the length of the frame begun at `at`, and returns that length
   * (as long as the frame is sent, with the byte strings sent as they are).
   */
  end(at: number): number {
    let length = this.length - at - 4;
    const asIsAt = this.asIsAt;
    for (let i = asIsAt.length - 1; i >= 0 && asIsAt[i]! > at; i--) length += this.asIs[i]!.length;
    this.view.setUint32(at, length, true);
    return length;
  }

  /** Drops everything written from `at` on (a frame that cannot be sent). */
  cut(at: number): void {
    this.length = at;
    while (this.asIsAt.length > 0 && this.asIsAt[this.asIsAt.length - 1]! > at) {
      this.asIsAt.pop();
      this.asIs.pop();
    }
  }

  /** A varint of a non-negative integer below 2^53. */
  uint(v: number): void {
    if (v <= 0xffffffff) {
      this.varSmall(v);
    } else {
      const at = this.reserve(9);
      this.buf[at] = U64_MARK;
      this.view.setBigUint64(at + 1, BigInt(v), true);
    }
  }

  /**
   * Writes the queued frames to `socket`, in one write; the outbox starts
   * over empty. Returns how many bytes were handed to the socket.
   */
  sendTo(socket: net.Socket): number {
    const bytes = this.buf.subarray(0, this.length);
    this.length = 0;
    const n = this.asIs.length;
    if (n === 0) {
      if (bytes.length <= REUSE_OUTPUT) {
        socket.write(bytes.slice());
        return bytes.length;
      }
      // A large batch is handed over rather than copied.
      this.renew();
      socket.write(bytes);
      return bytes.length;
    }
    // The outbox's bytes around the byte strings sent as they are, gathered
    // into one write by cork/uncork; the buffer goes with them.
    const asIs = this.asIs;
    const asIsAt = this.asIsAt;
    this.asIs = [];
    this.asIsAt = [];
    this.renew();
    socket.cork();
    let from = 0;
    let sent = bytes.length;
    for (let i = 0; i < n; i++) {
      const to = asIsAt[i]!;
      if (to > from) socket.write(bytes.subarray(from, to));
      socket.write(asIs[i]!);
      sent += asIs[i]!.length;
      from = to;
    }
    if (bytes.length > from) socket.write(bytes.subarray(from));
    socket.uncork();
    return sent;
  }

  private renew(): void {
    this.buf = new Uint8Array(256);
    this.view = new DataView(this.buf.buffer);
  }
}

/** 1 at each known frame kind: a kind is a byte, looked up on every frame. */
const KNOWN_KINDS = new Uint8Array(256);
for (const kind of Object.values(Kind)) KNOWN_KINDS[kind] = 1;

/**
 * The little-endian u32 at `buf[at..at + 4]`, which the caller knows is
 * there: `Buffer.readUInt32LE` checks its argument first, on every frame.
 */
function u32le(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)) + buf[at + 3]! * 0x1000000;
}

const NO_BYTES = new Uint8Array(0);

/** Bytes read from the socket at a time, into one reused buffer. */
const READ_BUFFER = 64 * 1024;

/** What `FrameReader` calls for a complete frame, which lies in `buf[at..end]`. */
type OnFrame = (kind: number, buf: Buffer, at: number, end: number, owned: boolean) => void;

/**
 * Splits a byte stream into frames, checking each header before buffering
 * its body. The socket reads straight into the memory `next()` names: one
 * reused buffer, where frames are handled where they lie (so nothing may
 * keep a view of them), or, for a frame longer than that buffer, memory of
 * the frame's own size, read into in place and then handed over (`owned`).
 */
class FrameReader {
  private readonly buf = Buffer.allocUnsafeSlow(READ_BUFFER);
  /** The start of a frame, read and not yet handled: `buf[0..end]`. */
  private end = 0;
  /** A frame longer than `buf`, read into its own memory up to `longFilled`. */
  private long: Buffer | null = null;
  private longFilled = 0;
  max = HANDSHAKE_MAX_FRAME;

  /** Checks a frame's length field as soon as it is read. */
  private check(length: number): void {
    if (length < 9) {
      throw new ProtocolError(`frame length ${length} is shorter than the 9 bytes of kind and id`);
    }
    if (length > this.max) {
      throw new ProtocolError(`frame length ${length} exceeds the maximum frame size ${this.max}`);
    }
  }

  private static checkKind(kind: number): void {
    if (KNOWN_KINDS[kind] !== 1) throw new ProtocolError(`unknown frame kind 0x${kind.toString(16)}`);
  }

  /** Where the next read goes; never empty. */
  next(): Uint8Array {
    const long = this.long;
    return long !== null ? long.subarray(this.longFilled) : this.buf.subarray(this.end);
  }

  /** `n` bytes were read into `next()`; calls `onFrame` for each complete frame. */
  read(n: number, onFrame: OnFrame): void {
    const long = this.long;
    if (long !== null) {
      this.longFilled += n;
      if (this.longFilled < long.length) return;
      this.long = null;
      this.longFilled = 0;
      const kind = long[4] ?? 0;
      FrameReader.checkKind(kind);
      onFrame(kind, long, 0, long.length, true);
      return;
    }
    const buf = this.buf;
    const end = this.end + n;
    let at = 0;
    while (end - at >= 4) {
      const length = u32le(buf, at);
      this.check(length);
      const frameEnd = at + 4 + length;
      if (frameEnd > end) break;
      const kind = buf[at + 4] ?? 0;
      FrameReader.checkKind(kind);
      onFrame(kind, buf, at, frameEnd, false);
      at = frameEnd;
    }
    const left = end - at;
    if (left >= 5) FrameReader.checkKind(buf[at + 4] ?? 0);
    if (left >= 4) {
      const size = 4 + u32le(buf, at);
      if (size > buf.length) {
        // Too long for the read buffer: memory of its own, checked above.
        const long = Buffer.allocUnsafeSlow(size);
        buf.copy(long, 0, at, end);
        this.long = long;
        this.longFilled = left;
        this.end = 0;
        return;
      }
    }
    // The start of the next frame moves to the front, to be read after.
    if (left > 0 && at > 0) buf.copyWithin(0, at, end);
    this.end = left;
  }
}

// ---------------------------------------------------------------------------
// Serving
// ---------------------------------------------------------------------------

/** Options of `serve`. */
export interface ServeOptions {
  /**
   * Exit the process when the connection ends (default `true`), as a plugin
   * has nothing else to do; `false` resolves the promise instead.
   */
  readonly exit?: boolean;
  /**
   * The host contracts this plugin calls, as their generated client classes
   * (`[StoreClient, LoggerClient]`): the hello lists them, the host refuses
   * the plugin when it serves one of them from another contract version,
   * and the plugin refuses a welcome that does not list each of them.
   */
  readonly requires?: readonly HostContract[];
  /**
   * The bytes of stream items the plugin lets the host have in flight per
   * stream: the answer streams of its calls to the host and the stream
   * arguments of the host's calls (default `DEFAULT_STREAM_WINDOW`, 1 MiB).
   */
  readonly streamWindow?: number;
  /**
   * The events each subscription holds for a reader that does not keep up
   * before it drops the oldest (default `DEFAULT_EVENT_QUEUE`, 256).
   */
  readonly eventQueue?: number;
}

/** How a connection ended: the exit status, and a line for stderr. */
interface Status {
  readonly code: number;
  readonly message?: string;
}

/**
 * The context of one call. Its `AbortController` is made when the handler
 * first asks for `signal` (most never do), already aborted if the call
 * ended by then.
 */
class Call implements CallContext {
  readonly deadline: number | null;
  readonly method: string;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The calls to the host this handler made that wait for their answer. */
  calls: Set<Pending> | undefined = undefined;
  /** Stopped because its deadline passed (rather than cancelled). */
  expired = false;
  /** The credit of its answer stream, for a method that answers with one. */
  output: SendCredit | undefined = undefined;
  /** Its stream argument, for a method that takes one. */
  input: ArgInput | undefined = undefined;
  /** Run once when the call is stopped: ends its streams. */
  onStop: (() => void) | undefined = undefined;
  private controller: AbortController | undefined = undefined;
  private reason: Error | undefined = undefined;

  constructor(method: string, deadline: number | null) {
    this.method = method;
    this.deadline = deadline;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Why the handler was stopped; `undefined` while it may run. */
  get stopped(): Error | undefined {
    return this.reason;
  }

  /** Stops the call: aborts its signal with `reason`, and cancels its calls to the host. */
  abort(reason: Error): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
    const onStop = this.onStop;
    this.onStop = undefined;
    onStop?.();
    const calls = this.calls;
    if (calls !== undefined) {
      this.calls = undefined;
      for (const p of calls) p.conn.handlerStopped(p, this);
    }
  }
}

/** One call to the host, from `Client.$call` until its answer, or until it is given up. */
class Pending {
  readonly conn: Connection;
  /** `Contract.method`, for messages. */
  readonly label: string;
  readonly contract: ContractRef;
  readonly method: number;
  readonly args: (w: Writer) => void;
  readonly decode: (r: Reader) => unknown;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
  /** When the caller stops waiting, in `performance.now()` ms; `null` for never. */
  deadline: number | null = null;
  /** The call's own timeout, for messages; `undefined` when the deadline is the handler's. */
  timeoutMs: number | undefined = undefined;
  /** The call id, once the request is numbered (0 before). */
  id = 0;
  /** The request is in the outbox or the socket: giving up sends CANCEL. */
  written = false;
  /** Answered or given up. */
  done = false;
  timer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** The handler that made the call. */
  parent: Call | undefined = undefined;
  signal: AbortSignal | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** The answer stream that receives its items, for a method that answers with one. */
  stream: AnswerStream<unknown> | undefined = undefined;
  /** Its stream argument, for a method that takes one, and the credit the host granted for it. */
  input: ArgSource<unknown> | undefined = undefined;
  argCredit: SendCredit | undefined = undefined;
  /** The answer stream's window. */
  window = DEFAULT_STREAM_WINDOW;

  constructor(
    conn: Connection,
    contract: ContractRef,
    method: number,
    name: string,
    args: (w: Writer) => void,
    decode: (r: Reader) => unknown,
    resolve: (v: unknown) => void,
    reject: (e: unknown) => void,
  ) {
    this.conn = conn;
    this.contract = contract;
    this.method = method;
    this.label = `${contract.name}.${name}`;
    this.args = args;
    this.decode = decode;
    this.resolve = resolve;
    this.reject = reject;
  }
}

/** The call id of the frame at `buf[at..]`, as a Map key: a number when exact, a bigint otherwise. */
function idKey(buf: Buffer, at: number): number | bigint {
  const lo = u32le(buf, at + 5);
  const hi = u32le(buf, at + 9);
  return hi < 0x200000 ? hi * TWO_32 + lo : buf.readBigUInt64LE(at + 5);
}

/**
 * What the host is told of a thrown value (docs/WIRE.md, ERROR code 4): an
 * Error as `<name>: <message>` (the name alone when the message is empty)
 * with its stack as the detail; anything else as `thrown: <String(value)>`.
 * No method name: the host names the call itself.
 */
function errorMessage(e: unknown): { message: string; detail: string } {
  try {
    if (e instanceof Error) {
      // As `Error.prototype.toString` has it: an empty message gives the name alone.
      const name = e.name === undefined ? "Error" : String(e.name);
      const text = e.message === undefined ? "" : String(e.message);
      const message = text === "" ? name : name === "" ? text : `${name}: ${text}`;
      let detail = "";
      try {
        detail = String(e.stack ?? "");
      } catch {
        // A stack that cannot be read: the message alone.
      }
      return { message, detail };
    }
  } catch {
    // An error whose name or message cannot be read: described as a value.
  }
  let text: string;
  try {
    text = String(e);
  } catch {
    text = `a ${typeof e} with no string form`;
  }
  return { message: `thrown: ${text}`, detail: "" };
}

/** Whether `await` would wait for `v` (it has a callable `then`). */
function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === "object" || typeof v === "function") &&
    v !== null &&
    typeof (v as { then?: unknown }).then === "function"
  );
}

/** The longest error message sent when the whole error does not fit in a frame. */
const SHORT_ERROR_CHARS = 4096;

/**
 * `s` as valid Unicode, at most `max` UTF-16 units: a pair cut in half is
 * dropped and a lone surrogate becomes U+FFFD. (JavaScript strings need not be
 * valid Unicode, and the wire's strings must be.)
 */
function wellFormed(s: string, max = Number.POSITIVE_INFINITY): string {
  let t = s;
  if (t.length > max) {
    t = t.slice(0, max);
    const last = t.charCodeAt(t.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) t = t.slice(0, -1);
  }
  return isWellFormed(t) ? t : t.replace(/[\uD800-\uDFFF]/gu, "\uFFFD");
}

/**
 * Unwritten answers (what the socket holds, `writableLength`, less the
 * requests in it) past which the plugin stops reading the host's requests;
 * it reads again once they are all written (the socket's `drain`), so a host
 * that does not read costs a bounded amount of memory (docs/WIRE.md section
 * 4, "Backpressure"). Unwritten requests past the same amount hold back new
 * requests instead, until the socket drains; the plugin never stops reading
 * because of its own requests, so the host's answers keep flowing.
 */
const HIGH_WATER = 1024 * 1024;

/** The frame kinds whose body must be empty, by name. */
const EMPTY_BODY_KINDS = new Map<number, string>([
  [Kind.Cancel, "CANCEL"],
  [Kind.Ping, "PING"],
  [Kind.Pong, "PONG"],
  [Kind.Shutdown, "SHUTDOWN"],
  [Kind.Close, "CLOSE"],
]);

/** Whether the frame at `buf[at..]` carries id 0. */
function idIsZero(buf: Buffer, at: number): boolean {
  return buf.readUInt32LE(at + 5) === 0 && buf.readUInt32LE(at + 9) === 0;
}

/** The error of a call whose deadline passed before the host answered. */
function timeoutError(p: Pending): CallTimeout {
  return new CallTimeout(
    p.label,
    p.timeoutMs !== undefined
      ? `${p.label} timed out: ${p.conn.peer} did not answer within ${p.timeoutMs} ms`
      : `${p.label} timed out: ${p.conn.peer} did not answer before the deadline of the handler that made the call`,
  );
}

/** The error of a call whose handler was stopped before the host answered. */
function stoppedError(p: Pending, handler: Call): CallError {
  if (handler.expired) {
    return new CallTimeout(p.label, `${p.label} timed out: the handler that made it (${handler.method}) passed its deadline`);
  }
  const why = handler.stopped;
  return new CallCancelled(
    p.label,
    `${p.label} was cancelled: the handler that made it (${handler.method}) was stopped${why === undefined ? "" : `: ${why.message}`}`,
    { cause: why },
  );
}

/**
 * The stream argument of a call the host made, as its handler reads it: the
 * items that arrived (at most the window granted, plus one), then the end,
 * or the host's error as the last item. Read once, with `for await`.
 */
class ArgInput implements AsyncIterableIterator<unknown> {
  private readonly conn: Connection;
  private readonly id: number | bigint;
  private readonly label: string;
  private readonly item: (r: Reader) => unknown;
  readonly credit: ReceiveCredit;
  private values: unknown[] = [];
  private costs: number[] = [];
  private head = 0;
  private ended = false;
  private failure: { readonly error: unknown } | undefined = undefined;
  /** The handler stopped reading (returned from its loop, or the call ended). */
  private stopped = false;
  private iterating = false;
  private waiter: (() => void) | undefined = undefined;

  constructor(conn: Connection, id: number | bigint, label: string, item: (r: Reader) => unknown, window: number) {
    this.conn = conn;
    this.id = id;
    this.label = label;
    this.item = item;
    this.credit = new ReceiveCredit(window);
  }

  [Symbol.asyncIterator](): this {
    if (this.iterating) throw new TypeError(`the stream argument of ${this.label} can be read once`);
    this.iterating = true;
    return this;
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** An ARG_ITEM: `false` when the host had no credit left for it. */
  onItem(body: Uint8Array, owned: boolean): boolean {
    const cost = itemCost(body.length);
    if (!this.credit.receive(cost)) return false;
    if (this.stopped || this.ended || this.failure !== undefined) return true;
    let value: unknown;
    try {
      const r = new Reader(body, owned);
      value = this.item(r);
      r.end();
    } catch (e) {
      this.failure = {
        error: new DecodeError(`an item of the stream argument of ${this.label} does not decode: ${errorMessage(asDecodeError(e)).message}`),
      };
      this.wake();
      return true;
    }
    this.values.push(value);
    this.costs.push(cost);
    this.wake();
    return true;
  }

  /** An ARG_END: empty when the host's stream ended, else its error. */
  onEnd(body: Uint8Array): void {
    if (this.ended || this.failure !== undefined) return;
    if (body.length === 0) {
      this.ended = true;
    } else {
      const { code, message, detail } = decodeErrorBody(body);
      this.failure = { error: new RemoteError(this.label, code, message, detail) };
    }
    this.wake();
  }

  /** The call ended or was stopped: a reader still waiting gets `reason`. */
  stop(reason: Error | undefined): void {
    if (this.stopped) return;
    if (reason !== undefined && !this.ended && this.failure === undefined) this.failure = { error: reason };
    this.stopped = reason === undefined;
    this.wake();
  }

  async next(): Promise<IteratorResult<unknown>> {
    for (;;) {
      if (this.head < this.values.length) {
        const value = this.values[this.head];
        const cost = this.costs[this.head]!;
        this.values[this.head] = undefined;
        this.head++;
        if (this.head * 2 >= this.values.length && this.head > 64) {
          this.values = this.values.slice(this.head);
          this.costs = this.costs.slice(this.head);
          this.head = 0;
        }
        if (!this.stopped) {
          const grant = this.credit.take(cost);
          if (grant > 0) this.conn.grant(Kind.ArgCredit, this.id, grant);
        }
        return { value, done: false };
      }
      if (this.failure !== undefined) {
        const { error } = this.failure;
        this.close();
        throw error;
      }
      if (this.ended || this.stopped) {
        this.close();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** The handler stops reading: no more credit; items still arriving are dropped. */
  async return(): Promise<IteratorResult<unknown>> {
    this.close();
    return { value: undefined, done: true };
  }

  private close(): void {
    this.stopped = true;
    this.ended = true;
    this.failure = undefined;
    this.values = [];
    this.costs = [];
    this.head = 0;
    this.wake();
  }
}

/** An `ErrorBody`; a `DecodeError` when the bytes are not one. */
function decodeErrorBody(body: Uint8Array): { code: number; message: string; detail: string } {
  return decodeValue(body, (r) => ({ code: r.u32(), message: r.string(), detail: r.string() }));
}

/** The iterator of what a stream handler returned; a `TypeError` when it is no `AsyncIterable` or `Iterable`. */
function iteratorOf(v: unknown, label: string): AsyncIterator<unknown> | Iterator<unknown> {
  if (v !== null && (typeof v === "object" || typeof v === "function")) {
    const asyncIt = (v as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    if (typeof asyncIt === "function") return asyncIt.call(v);
    const it = (v as Partial<Iterable<unknown>>)[Symbol.iterator];
    if (typeof it === "function") return it.call(v);
  }
  throw new TypeError(`${label} answers with a stream: its handler must return an AsyncIterable (an async generator), not ${describe(v)}`);
}

/** Ends an iterator early (its `finally` blocks run); what that throws is not the caller's. */
function closeIterator(it: AsyncIterator<unknown> | Iterator<unknown>): void {
  try {
    const r = it.return?.();
    if (isThenable(r)) (r as Promise<unknown>).then(undefined, () => {});
  } catch {
    // An iterator whose return() throws is done anyway.
  }
}

/** A STREAM_CREDIT or ARG_CREDIT body: one u32, at least 1. */
function decodeCredit(body: Uint8Array, kind: number): number {
  const name = kind === Kind.StreamCredit ? "STREAM_CREDIT" : "ARG_CREDIT";
  let n: number;
  try {
    n = decodeValue(body, (r) => r.u32());
  } catch (e) {
    throw new ProtocolError(`a ${name} body is one u32; this one does not decode: ${errorMessage(e).message}`);
  }
  if (n < 1) throw new ProtocolError(`a ${name} grants ${n} bytes; a grant is at least 1`);
  return n;
}

/**
 * Publishes past this many bytes the socket has not written yet are dropped:
 * publishing never waits, and a host that does not read costs a bounded
 * amount of memory.
 */
const PUBLISH_BACKLOG = 4 * HIGH_WATER;

/** One subscription of this plugin: its queue of events, read by one reader. */
class Sub implements Subscription<unknown>, AsyncIterator<Event<unknown>> {
  readonly id: number;
  readonly pattern: string;
  readonly label: string;
  readonly payload: (r: Reader) => unknown;
  readonly queue: EventQueue<unknown>;
  private readonly onClose: (s: Sub) => void;
  private closed = false;
  private waiter: (() => void) | undefined = undefined;

  constructor(
    id: number,
    label: string,
    pattern: string,
    payload: (r: Reader) => unknown,
    capacity: number,
    onClose: (s: Sub) => void,
  ) {
    this.id = id;
    this.label = label;
    this.pattern = pattern;
    this.payload = payload;
    this.queue = new EventQueue(capacity);
    this.onClose = onClose;
  }

  [Symbol.asyncIterator](): AsyncIterator<Event<unknown>> {
    return this;
  }

  deliver(e: Event<unknown>): void {
    if (this.closed) return;
    this.queue.push(e);
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async next(): Promise<IteratorResult<Event<unknown>>> {
    for (;;) {
      const e = this.queue.shift();
      if (e !== undefined) return { value: e, done: false };
      if (this.closed) return { value: undefined, done: true };
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  async return(): Promise<IteratorResult<Event<unknown>>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** Ends the subscription: UNSUBSCRIBE, and readers see the end. */
  close(): void {
    if (this.closed) return;
    this.end();
    this.onClose(this);
  }

  /** Ends it here only (the connection closed). */
  end(): void {
    this.closed = true;
    this.queue.clear();
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** One connection to the host. */
class Connection {
  private readonly socket: net.Socket;
  private readonly services: readonly Service[];
  private readonly requires: readonly ContractRef[];
  private readonly frames: FrameReader;
  private readonly running = new Map<number | bigint, Call>();
  private readonly out = new Outbox(4096);
  /** Decodes each request's head and arguments where they lie in the read buffer. */
  private readonly requestReader = new Reader(NO_BYTES);
  /** The contracts the host serves to this plugin, by name: their index in the welcome, and fingerprint. */
  private hostContracts = new Map<string, { readonly index: number; readonly fingerprint: string }>();
  /**
   * This plugin's calls to the host that wait for their answer, by id. Ids
   * count up from 1 as plain numbers: they stay below 2^53 (exact in a
   * number) for as long as any process runs, and an answer whose id is
   * 2^53 or more is no call's.
   */
  private readonly pending = new Map<number | bigint, Pending>();
  private nextId = 1;
  /** Calls made before the host's welcome, sent once it comes. */
  private beforeWelcome: Pending[] = [];
  /** Requests held back while the socket holds too many unwritten requests. */
  private held: Pending[] = [];
  private waitingForDrain = false;
  /** Bytes of requests in the outbox, not yet handed to the socket. */
  private unsentRequestBytes = 0;
  /** Every byte handed to the socket so far. */
  private sentTotal = 0;
  /**
   * For each batch handed to the socket that holds requests, in order: where
   * the batch ends in `sentTotal`, then how many request bytes it holds.
   */
  private readonly requestMarks: number[] = [];
  private maxFrame = DEFAULT_MAX_FRAME;
  private welcomed = false;
  private draining = false;
  private closed = false;
  /** While a read is handled: what it queues goes out when it is done. */
  private reading = false;
  private flushQueued = false;
  /** Not reading, until the answers the socket holds are written. */
  private paused = false;
  private readonly flushNow = (): void => this.flush();
  private readonly onFrameAt: OnFrame = (kind, buf, at, end, owned) => this.onFrame(kind, buf, at, end, owned);
  private readonly onDrain = (): void => {
    this.paused = false;
    if (!this.closed) this.socket.resume();
  };
  private readonly onRequestsDrained = (): void => {
    this.waitingForDrain = false;
    this.releaseHeld();
  };
  private readonly done: (status: Status) => void;
  private readonly onWelcome: () => void;
  /** The protocol version the host chose (2 until it did). */
  private protocol = 2;
  /** The window of the streams this plugin receives. */
  readonly streamWindow: number;
  /** The events each subscription holds. */
  private readonly eventQueue: number;
  /** This plugin's live subscriptions, by id. */
  private readonly subs = new Map<number, Sub>();
  private nextSub = 1;
  /** PUBLISH and SUBSCRIBE frames made before the host's welcome, sent once it comes (at most `eventQueue` publishes). */
  private eventsBeforeWelcome: { readonly frame: Uint8Array; readonly publish: boolean; readonly sub?: Sub }[] = [];
  /** Publishes dropped because the host did not read what the plugin wrote. */
  droppedPublishes = 0;
  /** How the connection ended, once it did. */
  status: Status | undefined;
  /** Who answers this end's calls, for messages: the host, or for a test client the implementation. */
  peer = "the host";

  constructor(
    socket: net.Socket,
    frames: FrameReader,
    services: readonly Service[],
    requires: readonly ContractRef[],
    done: (status: Status) => void,
    onWelcome: () => void,
    options: ServeOptions = {},
  ) {
    this.socket = socket;
    this.frames = frames;
    this.services = services;
    this.requires = requires;
    this.done = done;
    this.onWelcome = onWelcome;
    this.streamWindow = checkWindow(options.streamWindow ?? DEFAULT_STREAM_WINDOW);
    this.eventQueue = new EventQueue(options.eventQueue ?? DEFAULT_EVENT_QUEUE).capacity;
  }

  /**
   * Sends what is queued soon: after the read being handled, or else once
   * the current tick's callbacks and promise reactions ran, so that the
   * answers they give go out in one write.
   */
  private queued(): void {
    if (this.reading || this.flushQueued) return;
    this.flushQueued = true;
    process.nextTick(this.flushNow);
  }

  private flush(): void {
    this.flushQueued = false;
    if (this.closed || this.out.length === 0) return;
    const socket = this.socket;
    this.sentTotal += this.out.sendTo(socket);
    if (this.unsentRequestBytes !== 0) {
      this.requestMarks.push(this.sentTotal, this.unsentRequestBytes);
      this.unsentRequestBytes = 0;
    }
    // A write that leaves the socket holding more than its own high-water
    // mark returned false, so `drain` follows once everything is written.
    if (
      !this.paused &&
      socket.writableLength > HIGH_WATER &&
      socket.writableLength - this.unwrittenRequests() > HIGH_WATER
    ) {
      this.paused = true;
      socket.pause();
      socket.once("drain", this.onDrain);
    }
  }

  /** Bytes of requests the socket holds, not yet written (at most: a batch partly written counts whole). */
  private unwrittenRequests(): number {
    const marks = this.requestMarks;
    if (marks.length === 0) return 0;
    const written = this.sentTotal - this.socket.writableLength;
    let i = 0;
    while (i < marks.length && marks[i]! <= written) i += 2;
    if (i > 0) marks.splice(0, i);
    let sum = 0;
    for (let j = 1; j < marks.length; j += 2) sum += marks[j]!;
    return sum;
  }

  hello(token: string): void {
    const frame = encodeHello({
      protocolMin: PROTOCOL_MIN,
      protocolMax: PROTOCOL_MAX,
      token,
      language: "typescript",
      runtime: RUNTIME,
      pid: process.pid,
      contracts: this.services,
      requires: this.requires,
    });
    if (this.closed) return;
    this.out.raw(frame);
    this.queued();
  }

  /** Queues a frame with an empty body. */
  private control(kind: number, id: number | bigint): void {
    if (this.closed) return;
    this.out.end(this.out.begin(kind, id));
    this.queued();
  }

  /** `n` bytes were read where `frames.next()` said. */
  onRead(n: number): void {
    this.reading = true;
    try {
      this.frames.read(n, this.onFrameAt);
    } catch (e) {
      const why = e instanceof Error ? e.message : describe(e);
      this.finish({ code: 1, message: `protocol error on the connection to the host: ${why}` });
    } finally {
      this.reading = false;
    }
    this.flush();
  }

  /**
   * Takes the host's welcome: the protocol, the maximum frame size and the
   * contracts it serves. In-process tests welcome both ends this way, with
   * no HELLO on the wire.
   */
  accept(welcome: Welcome): void {
    const { protocol, maxFrame } = welcome;
    if (protocol < PROTOCOL_MIN || protocol > PROTOCOL_MAX) {
      throw new ProtocolError(`the host chose protocol ${protocol}, this plugin speaks ${PROTOCOL_MIN}..=${PROTOCOL_MAX}`);
    }
    if (maxFrame < MIN_MAX_FRAME) {
      throw new ProtocolError(
        `the host's welcome names a maximum frame size of ${maxFrame} bytes, less than the ${MIN_MAX_FRAME} the protocol requires`,
      );
    }
    const served = new Map<string, { readonly index: number; readonly fingerprint: string }>();
    welcome.contracts.forEach((c, index) => {
      if (!served.has(c.name)) served.set(c.name, { index, fingerprint: c.fingerprint });
    });
    for (const c of this.requires) {
      const offered = served.get(c.name);
      const problem =
        offered === undefined
          ? `the host does not serve contract ${c.name}, which this plugin requires (fingerprint ${c.fingerprint})`
          : offered.fingerprint !== c.fingerprint
            ? `this plugin requires host contract ${c.name} fingerprint ${c.fingerprint}, but the host serves ${c.name} with fingerprint ${offered.fingerprint}; build both from the same contract`
            : undefined;
      if (problem !== undefined) {
        this.onWelcome();
        this.finish({ code: 1, message: problem });
        return;
      }
    }
    this.hostContracts = served;
    this.maxFrame = maxFrame;
    this.protocol = protocol;
    this.welcomed = true;
    this.frames.max = this.maxFrame;
    this.onWelcome();
    const waiting = this.beforeWelcome;
    this.beforeWelcome = [];
    for (const p of waiting) if (!p.done) this.send(p);
    const events = this.eventsBeforeWelcome;
    this.eventsBeforeWelcome = [];
    for (const e of events) {
      if (e.sub !== undefined && !this.subs.has(e.sub.id)) continue;
      if (this.protocol < STREAMS_PROTOCOL) {
        e.sub?.end();
        continue;
      }
      this.out.raw(e.frame);
      this.queued();
    }
  }

  private onFrame(kind: number, buf: Buffer, at: number, end: number, owned: boolean): void {
    // Frames that follow a CLOSE in the same read are not for us.
    if (this.closed) return;
    if (kind === Kind.Request && this.welcomed) {
      this.onRequest(buf, at, end, owned);
      // A frame with memory of its own is not kept alive until the next request.
      if (owned) this.requestReader.reset(NO_BYTES, 0, 0, false);
      return;
    }
    const body = buf.subarray(at + HEADER_LEN, end);
    if (!this.welcomed) {
      if ((kind === Kind.Welcome || kind === Kind.Refuse) && !idIsZero(buf, at)) {
        throw new ProtocolError(`the host's ${kind === Kind.Welcome ? "WELCOME" : "REFUSE"} carries id ${idKey(buf, at)}, not id 0`);
      }
      if (kind === Kind.Welcome) {
        let welcome: Welcome;
        try {
          welcome = decodeWelcome(body);
        } catch (e) {
          throw new ProtocolError(`the host's welcome does not decode: ${errorMessage(e).message}`);
        }
        this.accept(welcome);
        return;
      }
      if (kind === Kind.Refuse) {
        let reason: string;
        try {
          reason = decodeValue(body, (r) => r.string());
        } catch {
          reason = "(the refusal does not decode)";
        }
        this.finish({ code: 1, message: `the host refused this plugin: ${reason}` });
        return;
      }
      throw new ProtocolError(`the host answered the hello with kind 0x${kind.toString(16)}, expected WELCOME or REFUSE`);
    }
    const name = EMPTY_BODY_KINDS.get(kind);
    if (name !== undefined) {
      if (body.length !== 0) {
        throw new ProtocolError(`a ${name} frame must have an empty body, this one has ${body.length} byte(s)`);
      }
      if ((kind === Kind.Shutdown || kind === Kind.Close) && !idIsZero(buf, at)) {
        throw new ProtocolError(`a ${name} frame must carry id 0, this one carries id ${idKey(buf, at)}`);
      }
    }
    if (kind >= Kind.Event && this.protocol < STREAMS_PROTOCOL) {
      throw new ProtocolError(`frame kind 0x${kind.toString(16)} is from protocol ${STREAMS_PROTOCOL}, and this connection speaks ${this.protocol}`);
    }
    switch (kind) {
      case Kind.StreamCredit:
      case Kind.ArgCredit: {
        const n = decodeCredit(body, kind);
        const key = idKey(buf, at);
        const credit = kind === Kind.StreamCredit ? this.running.get(key)?.output : this.pending.get(key)?.argCredit;
        credit?.grant(n);
        return;
      }
      case Kind.StreamItem: {
        const p = this.pending.size === 0 ? undefined : this.pending.get(idKey(buf, at));
        const stream = p?.stream;
        if (p === undefined || stream === undefined || !p.written) return;
        this.onStreamItem(p, stream, body, owned);
        return;
      }
      case Kind.ArgItem: {
        const input = this.running.get(idKey(buf, at))?.input;
        if (input !== undefined && !input.onItem(body, owned)) {
          throw new ProtocolError(
            `the host sent an ARG_ITEM for call ${idKey(buf, at)} with no credit left: it may send ${input.credit.window} bytes of items ahead of what the plugin took`,
          );
        }
        return;
      }
      case Kind.ArgEnd: {
        const input = this.running.get(idKey(buf, at))?.input;
        if (input === undefined) return;
        let ok = true;
        if (body.length !== 0) {
          try {
            decodeErrorBody(body);
          } catch {
            ok = false;
          }
        }
        if (!ok) throw new ProtocolError(`an ARG_END body is empty or an ErrorBody; this one does not decode`);
        input.onEnd(body);
        return;
      }
      case Kind.Event:
        this.onEvent(idKey(buf, at), body);
        return;
      case Kind.Cancel: {
        const key = idKey(buf, at);
        const call = this.running.get(key);
        if (call !== undefined) {
          this.running.delete(key);
          call.abort(new Error("the host cancelled the call"));
          this.maybeFinishDraining();
        }
        return;
      }
      case Kind.Ping:
        this.control(Kind.Pong, idKey(buf, at));
        return;
      case Kind.Shutdown:
        this.draining = true;
        this.maybeFinishDraining();
        return;
      case Kind.Close:
        this.finish({ code: 0 });
        return;
      case Kind.Response:
      case Kind.Error:
        this.onAnswer(kind, buf, at, body, owned);
        return;
      case Kind.Pong:
        // This runtime sends no pings: no pong is awaited.
        return;
      default:
        throw new ProtocolError(`unexpected frame kind 0x${kind.toString(16)} after the handshake`);
    }
  }

  /**
   * A RESPONSE or ERROR: the answer to one of this plugin's calls, or, for an
   * id no call waits for (answered, given up, never made), dropped unread.
   * An answer that does not decode fails its call; the connection lives.
   */
  private onAnswer(kind: number, buf: Buffer, at: number, body: Buffer, owned: boolean): void {
    if (this.pending.size === 0) return;
    const p = this.pending.get(idKey(buf, at));
    if (p === undefined || !p.written || !this.settle(p)) return;
    if (kind === Kind.Response) {
      let value: unknown;
      try {
        const r = new Reader(body, owned);
        value = p.decode(r);
        r.end();
      } catch (e) {
        const why = errorMessage(asDecodeError(e)).message;
        p.reject(new CallError(p.label, `${this.peer}'s answer to ${p.label} does not decode: ${why}`, { cause: e }));
        return;
      }
      p.resolve(value);
      return;
    }
    let code: number;
    let message: string;
    let detail: string;
    try {
      const r = new Reader(body);
      code = r.u32();
      message = r.string();
      detail = r.string();
      r.end();
    } catch (e) {
      const why = errorMessage(asDecodeError(e)).message;
      p.reject(new CallError(p.label, `${this.peer}'s ERROR answer to ${p.label} does not decode: ${why}`, { cause: e }));
      return;
    }
    if (code === ErrorCode.DeadlineExceeded) {
      p.reject(new CallTimeout(p.label, `${p.label} timed out in ${this.peer}: ${errorCodeName(code)}: ${message}`));
    } else {
      p.reject(new RemoteError(p.label, code, message, detail, this.peer));
    }
  }

  /**
   * Calls method `method` of host contract `contract` (the arguments written
   * by `args`, the answer read by `decode`). `timeout` is the call's own, in
   * ms (`null` for none, `undefined` to inherit the handler's deadline).
   */
  call(
    contract: ContractRef,
    method: number,
    name: string,
    args: (w: Writer) => void,
    decode: (r: Reader) => unknown,
    timeout: number | null | undefined,
    signal: AbortSignal | undefined,
    extra?: CallExtra,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const p = new Pending(this, contract, method, name, args, decode, resolve, reject);
      if (extra !== undefined) {
        p.window = extra.window ?? this.streamWindow;
        p.stream = extra.stream;
        p.input = extra.input;
        if (p.input !== undefined) p.argCredit = new SendCredit();
        if (p.stream !== undefined) {
          p.stream.pending = p;
          p.stream.credit = new ReceiveCredit(p.window);
        }
      }
      if (this.closed) {
        reject(this.closedError(p));
        return;
      }
      const parent = handlerContext?.getStore();
      if (parent !== undefined && parent.stopped !== undefined) {
        reject(stoppedError(p, parent));
        return;
      }
      if (signal !== undefined && signal.aborted) {
        reject(new CallCancelled(p.label, `${p.label} was not sent: its abort signal had aborted`, { cause: signal.reason }));
        return;
      }
      const now = performance.now();
      if (timeout === undefined) {
        if (parent !== undefined && parent.deadline !== null) p.deadline = now + (parent.deadline - Date.now());
      } else if (timeout !== null) {
        p.deadline = now + timeout;
        p.timeoutMs = timeout;
      }
      if (p.deadline !== null) {
        const left = p.deadline - now;
        if (left <= 0) {
          reject(timeoutError(p));
          return;
        }
        // setTimeout holds at most 2^31-1 ms (24.8 days): a call waits longer
        // only if it has no deadline worth the name.
        if (left <= 0x7fffffff) p.timer = setTimeout(() => this.timedOut(p), left);
      }
      if (parent !== undefined) {
        p.parent = parent;
        (parent.calls ??= new Set()).add(p);
      }
      if (signal !== undefined) {
        p.signal = signal;
        p.onAbort = () => this.giveUp(p, new CallCancelled(p.label, `${p.label} was cancelled: its abort signal aborted`, { cause: signal.reason }));
        signal.addEventListener("abort", p.onAbort, { once: true });
      }
      if (!this.welcomed) {
        this.beforeWelcome.push(p);
        return;
      }
      this.send(p);
    });
  }

  /** Numbers a call and writes its request, or holds it back while too many requests are unwritten. */
  private send(p: Pending): void {
    const served = this.hostContracts.get(p.contract.name);
    if (served === undefined) {
      this.settle(p);
      p.reject(new CallError(p.label, `${p.label} cannot be called: the host does not serve contract ${p.contract.name}`));
      return;
    }
    if (served.fingerprint !== p.contract.fingerprint) {
      this.settle(p);
      p.reject(
        new CallError(
          p.label,
          `${p.label} cannot be called: this plugin was built against contract ${p.contract.name} fingerprint ${p.contract.fingerprint}, the host serves fingerprint ${served.fingerprint}; build both from the same contract`,
        ),
      );
      return;
    }
    p.id = this.nextId++;
    this.pending.set(p.id, p);
    if (this.held.length > 0 || this.requestsBackedUp()) {
      this.held.push(p);
      this.awaitDrain();
      return;
    }
    this.writeRequest(p, served.index);
  }

  /** Whether unwritten requests (in the outbox and the socket) passed the limit. */
  private requestsBackedUp(): boolean {
    return (
      this.unsentRequestBytes + this.socket.writableLength > HIGH_WATER &&
      this.unsentRequestBytes + this.unwrittenRequests() > HIGH_WATER
    );
  }

  private awaitDrain(): void {
    if (this.waitingForDrain) return;
    this.waitingForDrain = true;
    // Requests waiting in the outbox go to the socket first; `drain` follows.
    if (this.out.length !== 0) this.queued();
    this.socket.once("drain", this.onRequestsDrained);
  }

  /** Writes the held-back requests whose callers still wait, while the limit allows. */
  private releaseHeld(): void {
    if (this.closed) return;
    const held = this.held;
    let i = 0;
    for (; i < held.length; i++) {
      const p = held[i]!;
      if (p.done) continue;
      if (this.requestsBackedUp()) break;
      this.writeRequest(p, this.hostContracts.get(p.contract.name)!.index);
    }
    this.held = held.slice(i);
    if (this.held.some((p) => !p.done)) this.awaitDrain();
    else this.held = [];
  }

  /** Writes the request of call `p` to the outbox; a request that cannot be written fails its call. */
  private writeRequest(p: Pending, contract: number): void {
    if (this.closed) return;
    let deadlineMs = 0;
    if (p.deadline !== null) {
      const left = Math.ceil(p.deadline - performance.now());
      if (left <= 0) {
        this.expire(p);
        return;
      }
      deadlineMs = left;
    }
    const out = this.out;
    const at = out.begin(Kind.Request, p.id);
    try {
      out.u32(contract);
      out.u32(p.method);
      out.uint(deadlineMs);
      p.args(out);
      const length = out.end(at);
      if (length > this.maxFrame) {
        throw new EncodeError(`the request is ${length} bytes, more than the maximum frame size ${this.maxFrame}`);
      }
      this.unsentRequestBytes += length + 4;
    } catch (e) {
      out.cut(at);
      this.settle(p);
      p.reject(e);
      return;
    }
    p.written = true;
    // An answer stream's first credit follows its request.
    const credit = p.stream?.credit;
    if (credit !== undefined) this.grant(Kind.StreamCredit, p.id, credit.start());
    if (p.input !== undefined) void this.feed(p, p.input);
    this.queued();
  }

  /**
   * Sends the stream argument of call `p` to the host as its credit allows,
   * then ARG_END: empty when the source ended, with an ErrorBody (code 4)
   * when it threw. Stops, closing the source, once the call is answered.
   */
  private async feed(p: Pending, input: ArgSource<unknown>): Promise<void> {
    const credit = p.argCredit!;
    let it: AsyncIterator<unknown> | Iterator<unknown> | undefined;
    let finished = false;
    try {
      for (;;) {
        while (!credit.open) {
          if (p.done || this.closed) return;
          await credit.wait();
        }
        if (p.done || this.closed) return;
        let r: IteratorResult<unknown>;
        try {
          it ??= iteratorOf(input.source, p.label);
          r = await it.next();
        } catch (e) {
          finished = true;
          if (p.done || this.closed) return;
          const { message } = errorMessage(e);
          const out = this.out;
          const at = out.begin(Kind.ArgEnd, p.id);
          out.u32(ErrorCode.HandlerFailed);
          out.string(wellFormed(message, SHORT_ERROR_CHARS));
          out.string("");
          out.end(at);
          this.queued();
          return;
        }
        if (p.done || this.closed) return;
        if (r.done === true) {
          finished = true;
          this.control(Kind.ArgEnd, p.id);
          return;
        }
        const out = this.out;
        const at = out.begin(Kind.ArgItem, p.id);
        let length: number;
        try {
          input.encode(out, r.value);
          length = out.end(at);
          if (length > this.maxFrame) {
            throw new EncodeError(`the item is ${length} bytes, more than the maximum frame size ${this.maxFrame}; send a stream of smaller items`);
          }
        } catch (e) {
          out.cut(at);
          const { message } = errorMessage(e);
          const end = out.begin(Kind.ArgEnd, p.id);
          out.u32(ErrorCode.HandlerFailed);
          out.string(wellFormed(`an item of the stream argument cannot be sent: ${message}`, SHORT_ERROR_CHARS));
          out.string("");
          out.end(end);
          this.queued();
          return;
        }
        credit.spend(length + 4);
        this.queued();
      }
    } finally {
      if (!finished && it !== undefined) closeIterator(it);
    }
  }

  /** Queues a STREAM_CREDIT or ARG_CREDIT of `n` bytes for call `id`. */
  grant(kind: number, id: number | bigint, n: number): void {
    if (this.closed) return;
    const out = this.out;
    const at = out.begin(kind, id);
    out.u32(n);
    out.end(at);
    this.queued();
  }

  /** PUBLISH: hands the event to the host, never waiting (dropped while the host does not read). */
  publish(channel: bigint, event: number, topic: string, payload: (w: Writer) => void): void {
    if (this.closed) return;
    if (!this.welcomed) {
      const w = frameWriter(Kind.Publish, null);
      w.u64(channel);
      w.u32(event);
      w.string(topic);
      payload(w);
      const frame = finishFrame(w, this.maxFrame);
      const queued = this.eventsBeforeWelcome;
      if (queued.filter((e) => e.publish).length >= this.eventQueue) {
        queued.splice(queued.findIndex((e) => e.publish), 1);
        this.droppedPublishes++;
      }
      queued.push({ frame, publish: true });
      return;
    }
    if (this.protocol < STREAMS_PROTOCOL) {
      throw new Error(`cannot publish: the host speaks protocol ${this.protocol}, and events need protocol ${STREAMS_PROTOCOL}`);
    }
    const out = this.out;
    const at = out.begin(Kind.Publish, 0);
    try {
      out.u64(channel);
      out.u32(event);
      out.string(topic);
      payload(out);
      const length = out.end(at);
      if (length > this.maxFrame) {
        throw new EncodeError(`the event is ${length} bytes, more than the maximum frame size ${this.maxFrame}`);
      }
      if (this.socket.writableLength + out.length > PUBLISH_BACKLOG) {
        // The host does not read: this event goes the way a full queue's would.
        out.cut(at);
        this.droppedPublishes++;
        return;
      }
    } catch (e) {
      out.cut(at);
      throw e;
    }
    this.queued();
  }

  /** SUBSCRIBE: a new subscription to event `event` of `channel` on `pattern`. */
  subscribe<T>(contract: string, channel: bigint, event: number, name: string, pattern: string, payload: (r: Reader) => T): Subscription<T> {
    if (this.welcomed && this.protocol < STREAMS_PROTOCOL) {
      throw new Error(`cannot subscribe: the host speaks protocol ${this.protocol}, and events need protocol ${STREAMS_PROTOCOL}`);
    }
    while (this.subs.has(this.nextSub) || this.nextSub === 0) this.nextSub = (this.nextSub + 1) % Number.MAX_SAFE_INTEGER;
    const id = this.nextSub++;
    const sub = new Sub(id, `${contract}.${name}`, pattern, payload, this.eventQueue, (s) => {
      if (this.subs.get(s.id) !== s) return;
      this.subs.delete(s.id);
      if (this.welcomed) this.control(Kind.Unsubscribe, s.id);
    });
    if (this.closed) {
      sub.end();
      return sub as Subscription<unknown> as Subscription<T>;
    }
    this.subs.set(id, sub);
    const w = frameWriter(Kind.Subscribe, null);
    w.string(contract);
    w.u64(channel);
    w.u32(event);
    w.string(pattern);
    const frame = finishFrame(w, this.welcomed ? this.maxFrame : DEFAULT_MAX_FRAME);
    new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setBigUint64(5, BigInt(id), true);
    if (this.welcomed) {
      this.out.raw(frame);
      this.queued();
    } else {
      this.eventsBeforeWelcome.push({ frame, publish: false, sub });
    }
    return sub as Subscription<unknown> as Subscription<T>;
  }

  /** An EVENT for subscription `id`: queued for its reader, or dropped when it is no live subscription's. */
  private onEvent(id: number | bigint, body: Buffer): void {
    const sub = typeof id === "number" ? this.subs.get(id) : undefined;
    if (sub === undefined) return;
    let event: Event<unknown>;
    try {
      event = decodeValue(body, (r) => {
        const lagged = r.u64();
        const topic = r.string();
        return { topic, lagged, payload: sub.payload(r) };
      });
    } catch (e) {
      process.stderr.write(`goproc: an event for ${sub.label} on ${sub.pattern} does not decode, dropped: ${errorMessage(e).message}\n`);
      return;
    }
    sub.deliver(event);
  }

  /** The caller closed the answer stream of call `p`: CANCEL, and the call fails with `error` (which nobody reads). */
  cancelStream(p: Pending, error: CallError): void {
    this.giveUp(p, error);
  }

  /** A STREAM_ITEM for call `p`, which waits for items of `stream`. */
  private onStreamItem(p: Pending, stream: AnswerStream<unknown>, body: Buffer, owned: boolean): void {
    const cost = itemCost(body.length);
    const credit = stream.credit!;
    if (!credit.receive(cost)) {
      throw new ProtocolError(
        `the host sent a STREAM_ITEM for call ${p.id} (${p.label}) with no credit left: it may send ${credit.window} bytes of items ahead of what the plugin read`,
      );
    }
    let value: unknown;
    try {
      const r = new Reader(body, owned);
      value = stream.item(r);
      r.end();
    } catch (e) {
      const why = errorMessage(asDecodeError(e)).message;
      this.giveUp(p, new CallError(p.label, `an item of the answer stream of ${p.label} does not decode: ${why}`, { cause: e }));
      return;
    }
    stream.push(value, cost);
  }

  /**
   * Ends call `p` here: out of the tables, its timer and signal listener
   * gone. `false` when it had ended already (answered or given up).
   */
  private settle(p: Pending): boolean {
    if (p.done) return false;
    p.done = true;
    if (p.id !== 0) this.pending.delete(p.id);
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (p.onAbort !== undefined) p.signal?.removeEventListener("abort", p.onAbort);
    p.parent?.calls?.delete(p);
    p.argCredit?.wake();
    return true;
  }

  /** The caller stopped waiting for `p`: fails it with `error`, and sends CANCEL if the request went out. */
  private giveUp(p: Pending, error: CallError): void {
    if (!this.settle(p)) return;
    if (p.written) this.control(Kind.Cancel, p.id);
    p.reject(error);
  }

  /**
   * The timer of call `p` fired. Node runs timers before it reads the
   * socket: after a stall (a handler that blocked the event loop, a busy
   * machine) an answer that came in time may be waiting unread. The call
   * times out only after the socket was read once more.
   */
  private timedOut(p: Pending): void {
    if (!p.done) setImmediate(() => this.expire(p));
  }

  /** The deadline of call `p` passed. */
  private expire(p: Pending): void {
    const parent = p.parent;
    if (p.timeoutMs === undefined && parent !== undefined && parent.timer !== undefined && parent.stopped === undefined) {
      // The deadline is the handler's, whose own timer, due now too, stops
      // it (ERROR code 6 to the host) and then this call (CallTimeout).
      // Looked at again in a moment, in case the handler ends first.
      p.timer = setTimeout(() => this.timedOut(p), 1);
      return;
    }
    this.giveUp(p, timeoutError(p));
  }

  /** The handler that made call `p` was stopped (cancelled, or past its deadline). */
  handlerStopped(p: Pending, handler: Call): void {
    this.giveUp(p, stoppedError(p, handler));
  }

  /** The error of a call made on a connection that ended. */
  private closedError(p: Pending): ConnectionClosed {
    const why = this.status?.message;
    return new ConnectionClosed(
      p.label,
      `${p.label} got no answer: the connection to ${this.peer} closed${why === undefined ? "" : ` (${why})`}`,
    );
  }

  /**
   * Answers a call with an ERROR frame. Never throws: the text is made valid
   * Unicode, and when message and detail are too long for a frame the
   * message alone is sent, cut short.
   */
  private sendError(id: number | bigint, code: number, message: string, detail = ""): void {
    if (this.closed) return;
    const out = this.out;
    const at = out.begin(Kind.Error, id);
    out.u32(code);
    out.string(wellFormed(message));
    out.string(wellFormed(detail));
    if (out.end(at) > this.maxFrame) {
      out.cut(at);
      // The header (9), the code (at most 5), two lengths (at most 5 + 1) and
      // at most 3 UTF-8 bytes per UTF-16 unit.
      const room = Math.max(0, Math.floor((this.maxFrame - 20) / 3));
      const short = out.begin(Kind.Error, id);
      out.u32(code);
      out.string(wellFormed(message, Math.min(SHORT_ERROR_CHARS, room)));
      out.string("");
      out.end(short);
    }
    this.queued();
  }

  /** Answers a call with the value its handler gave. */
  private answer(id: number | bigint, bound: BoundMethod, v: unknown): void {
    if (this.closed) return;
    const out = this.out;
    const at = out.begin(Kind.Response, id);
    try {
      bound.encode(out, v);
      const length = out.end(at);
      if (length > this.maxFrame) {
        throw new EncodeError(`the answer is ${length} bytes, more than the maximum frame size ${this.maxFrame}`);
      }
    } catch (e) {
      out.cut(at);
      const { message, detail } = errorMessage(e);
      this.sendError(id, ErrorCode.HandlerFailed, `the handler's answer cannot be sent: ${message}`, detail);
      return;
    }
    this.queued();
  }

  /**
   * Answers a call of the built-in introspection contract: describe lists the
   * documented schema of each contract served, in the HELLO's order.
   */
  private introspect(id: number | bigint, method: number, r: Reader): void {
    if (method !== DESCRIBE_METHOD) {
      this.sendError(
        id,
        ErrorCode.UnknownMethod,
        `the introspection contract has 1 method (describe, number ${DESCRIBE_METHOD}); there is no method number ${method}`,
      );
      return;
    }
    try {
      r.end();
    } catch (e) {
      this.sendError(id, ErrorCode.BadRequest, `describe takes no arguments: ${errorMessage(e).message}`);
      return;
    }
    if (this.closed) return;
    const out = this.out;
    const at = out.begin(Kind.Response, id);
    out.len(this.services.length);
    for (const s of this.services) out.string(s.documented);
    const length = out.end(at);
    if (length > this.maxFrame) {
      out.cut(at);
      this.sendError(
        id,
        ErrorCode.HandlerFailed,
        `the documented schemas take ${length} bytes, more than the host's maximum frame of ${this.maxFrame} bytes`,
      );
      return;
    }
    this.queued();
  }

  private onRequest(buf: Buffer, at: number, end: number, owned: boolean): void {
    const id = idKey(buf, at);
    if (this.running.has(id)) {
      throw new ProtocolError(`the host sent a REQUEST that reuses id ${id} of a call still running`);
    }
    if (this.draining) {
      this.sendError(id, ErrorCode.ShuttingDown, "the plugin is shutting down and takes no new calls");
      return;
    }
    const r = this.requestReader;
    r.reset(buf, at + HEADER_LEN, end, owned);
    let service: number;
    let method: number;
    let deadlineMs: number;
    try {
      service = r.u32();
      method = r.u32();
      deadlineMs = r.u64Number();
    } catch (e) {
      this.sendError(id, ErrorCode.BadRequest, `the request head does not decode: ${errorMessage(e).message}`);
      return;
    }
    if (service === INTROSPECTION_CONTRACT) {
      this.introspect(id, method, r);
      return;
    }
    const svc = this.services[service];
    if (svc === undefined) {
      this.sendError(
        id,
        ErrorCode.UnknownService,
        `this plugin serves ${this.services.length} contract(s); there is no contract number ${service}`,
      );
      return;
    }
    const bound = svc.method(method);
    if (bound === undefined) {
      this.sendError(
        id,
        ErrorCode.UnknownMethod,
        `contract ${svc.name} has ${svc.methodCount} method(s); there is no method number ${method}`,
      );
      return;
    }
    let run: (impl: unknown, ctx: CallContext, input?: AsyncIterable<unknown>) => unknown;
    try {
      run = bound.prepare(r);
      r.end();
    } catch (e) {
      this.sendError(
        id,
        ErrorCode.BadRequest,
        `the arguments of ${bound.name} do not decode: ${errorMessage(asDecodeError(e)).message}`,
      );
      return;
    }
    const deadline = deadlineMs > 0 ? Date.now() + deadlineMs : null;
    const call = new Call(bound.name, deadline);
    let input: ArgInput | undefined;
    if (bound.argItem !== undefined) {
      // The stream argument's first credit goes when the handler starts.
      input = new ArgInput(this, id, bound.name, bound.argItem, this.streamWindow);
      call.input = input;
      call.onStop = () => input?.stop(call.stopped);
      this.grant(Kind.ArgCredit, id, input.credit.start());
    }
    // With host clients in use, the handler runs in its own context, which
    // its calls to the host read; without, it costs nothing.
    const context = handlerContext;
    let result: unknown;
    try {
      result = context === undefined ? run(bound.impl, call, input) : context.run(call, run, bound.impl, call, input);
    } catch (e) {
      const { message, detail } = errorMessage(e);
      this.sendError(id, ErrorCode.HandlerFailed, message, detail);
      return;
    }
    if (bound.answerStream) {
      let it: AsyncIterator<unknown> | Iterator<unknown>;
      try {
        it = iteratorOf(result, bound.name);
      } catch (e) {
        const { message, detail } = errorMessage(e);
        this.sendError(id, ErrorCode.HandlerFailed, message, detail);
        return;
      }
      const credit = new SendCredit();
      call.output = credit;
      call.onStop = () => {
        input?.stop(call.stopped);
        credit.wake();
        // The generator's `finally` blocks run, in the handler's context.
        if (context === undefined) closeIterator(it);
        else context.run(call, closeIterator, it);
      };
      this.arm(id, call, deadlineMs);
      this.running.set(id, call);
      void this.pump(id, call, bound, it, credit, context);
      return;
    }
    if (!isThenable(result)) {
      // Answered at once: no promise, no timer, nothing to cancel.
      input?.stop(undefined);
      this.answer(id, bound, result);
      return;
    }
    this.arm(id, call, deadlineMs);
    this.running.set(id, call);
    Promise.resolve(result).then(
      (v) => {
        if (!this.release(id, call)) return;
        this.answer(id, bound, v);
        this.maybeFinishDraining();
      },
      (e: unknown) => {
        if (!this.release(id, call)) return;
        const { message, detail } = errorMessage(e);
        this.sendError(id, ErrorCode.HandlerFailed, message, detail);
        this.maybeFinishDraining();
      },
    );
  }

  /** Starts the deadline timer of call `id`: past it, the handler is stopped and the host gets ERROR code 6. */
  private arm(id: number | bigint, call: Call, deadlineMs: number): void {
    const deadline = call.deadline;
    // The handler sees every deadline, but setTimeout holds at most 2^31-1 ms
    // (24.8 days): a longer one is left to the host, which stops waiting then.
    if (deadline === null || deadlineMs > 0x7fffffff) return;
    call.timer = setTimeout(() => {
      if (this.running.get(id) !== call) return;
      this.running.delete(id);
      call.expired = true;
      call.abort(new Error("the call's deadline passed"));
      this.sendError(id, ErrorCode.DeadlineExceeded, "the handler did not finish before the call's deadline");
      this.maybeFinishDraining();
    }, Math.max(0, deadline - Date.now()));
  }

  /**
   * Sends the items of the answer stream of call `id` as its credit allows:
   * the iterator is not asked for an item while the credit is used up, so
   * an async generator waits at its `yield`. Ends with an empty RESPONSE,
   * or ERROR code 4 when the generator throws.
   */
  private async pump(
    id: number | bigint,
    call: Call,
    bound: BoundMethod,
    it: AsyncIterator<unknown> | Iterator<unknown>,
    credit: SendCredit,
    context: AsyncLocalStorage<Call> | undefined,
  ): Promise<void> {
    const next = (): unknown => it.next();
    for (;;) {
      while (!credit.open) {
        if (this.running.get(id) !== call) return;
        await credit.wait();
      }
      if (this.running.get(id) !== call) return;
      let r: IteratorResult<unknown>;
      try {
        r = (await (context === undefined ? next() : context.run(call, next))) as IteratorResult<unknown>;
      } catch (e) {
        if (!this.release(id, call)) return;
        call.input?.stop(undefined);
        const { message, detail } = errorMessage(e);
        this.sendError(id, ErrorCode.HandlerFailed, message, detail);
        this.maybeFinishDraining();
        return;
      }
      if (this.running.get(id) !== call) return;
      if (r === null || typeof r !== "object") {
        this.release(id, call);
        this.sendError(id, ErrorCode.HandlerFailed, `TypeError: the iterator of ${bound.name} gave ${describe(r)}, not an iterator result`);
        this.maybeFinishDraining();
        return;
      }
      if (r.done === true) {
        this.release(id, call);
        call.input?.stop(undefined);
        this.control(Kind.Response, id);
        this.maybeFinishDraining();
        return;
      }
      if (this.closed) return;
      const out = this.out;
      const at = out.begin(Kind.StreamItem, id);
      let length: number;
      try {
        bound.encode(out, r.value);
        length = out.end(at);
        if (length > this.maxFrame) {
          throw new EncodeError(`the item is ${length} bytes, more than the maximum frame size ${this.maxFrame}; send a stream of smaller items`);
        }
      } catch (e) {
        out.cut(at);
        this.release(id, call);
        call.input?.stop(undefined);
        if (context === undefined) closeIterator(it);
        else context.run(call, closeIterator, it);
        const { message, detail } = errorMessage(e);
        this.sendError(id, ErrorCode.HandlerFailed, `an item of the answer stream cannot be sent: ${message}`, detail);
        this.maybeFinishDraining();
        return;
      }
      credit.spend(length + 4);
      this.queued();
    }
  }

  /** Ends a call; `false` when it was already cancelled or timed out. */
  private release(key: number | bigint, call: Call): boolean {
    if (this.running.get(key) !== call) return false;
    this.running.delete(key);
    if (call.timer !== undefined) {
      clearTimeout(call.timer);
      call.timer = undefined;
    }
    call.onStop = undefined;
    call.input?.stop(undefined);
    return true;
  }

  private maybeFinishDraining(): void {
    if (this.draining && this.running.size === 0) {
      this.control(Kind.Close, 0);
      this.finish({ code: 0 });
    }
  }

  /** Stops reading, aborts what is still running, flushes and reports `status`. */
  finish(status: Status): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.status = status;
    // Every call to the host still waiting fails now: none hangs.
    const waiting = [...this.beforeWelcome, ...this.pending.values()];
    this.beforeWelcome = [];
    this.held = [];
    for (const p of waiting) {
      if (this.settle(p)) p.reject(this.closedError(p));
    }
    for (const call of this.running.values()) {
      call.abort(new Error("the connection to the host closed"));
    }
    this.running.clear();
    for (const sub of this.subs.values()) sub.end();
    this.subs.clear();
    this.eventsBeforeWelcome = [];
    const timer = setTimeout(() => {
      this.socket.destroy();
      this.done(status);
    }, FLUSH_ON_EXIT_MS);
    timer.unref();
    this.socket.end(() => {
      clearTimeout(timer);
      this.socket.destroy();
      this.done(status);
    });
  }
}

/** The line a plugin prints when no host started it. */
function notStartedByHost(missing: string): never {
  process.stderr.write(
    "this program is a goproc plugin; it is meant to be started by a host program, not run " +
      `directly (missing environment variable ${missing})\n`,
  );
  process.exit(2);
}

/**
 * Connects to the host that started this process and serves `services`
 * (from the generated `...Service(impl)` functions, in this order) until
 * the host closes the connection or asks the plugin to shut down; then
 * exits the process (unless `options.exit` is false). `options.requires`
 * names the host contracts the plugin calls (`host(StoreClient)`).
 *
 * Run by hand, without a host, it prints one line that says so and exits
 * with status 2.
 */
export function serve(services: Service | readonly Service[], options: ServeOptions = {}): Promise<void> {
  const list: readonly Service[] = Array.isArray(services) ? services : [services as Service];
  const exit = options.exit ?? true;
  // Before the hello: a host would otherwise accept the plugin and learn of
  // a missing method only when it calls it.
  const incomplete = unimplemented(list, "serve");
  if (incomplete !== undefined) {
    if (!exit) return Promise.reject(new Error(incomplete));
    process.stderr.write(`goproc: ${incomplete}\n`);
    process.exit(1);
  }
  const address = process.env["GOPROC_ADDR"];
  const token = process.env["GOPROC_TOKEN"];
  if (address === undefined || address === "") notStartedByHost("GOPROC_ADDR");
  if (token === undefined || token === "") notStartedByHost("GOPROC_TOKEN");
  const requires = (options.requires ?? []).map((c) => c.contract);
  if (requires.length > 0) trackHandlers();
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const done = (status: Status): void => {
      if (settled) return;
      settled = true;
      clearTimeout(welcomeTimer);
      if (status.message !== undefined) process.stderr.write(`goproc: ${status.message}\n`);
      if (exit) process.exit(status.code);
      if (status.code === 0) resolve();
      else reject(new Error(status.message ?? "the connection to the host failed"));
    };
    // The socket reads straight into the frame reader's memory.
    const frames = new FrameReader();
    const socket = net.connect({
      path: address,
      onread: {
        buffer: () => frames.next(),
        callback: (n: number) => {
          conn.onRead(n);
          return true;
        },
      },
    });
    const welcomeTimer = setTimeout(() => {
      conn.finish({ code: 1, message: `the host did not answer the hello within ${WELCOME_TIMEOUT_MS} ms` });
    }, WELCOME_TIMEOUT_MS);
    const conn = new Connection(socket, frames, list, requires, done, () => clearTimeout(welcomeTimer), options);
    current = conn;
    socket.on("connect", () => {
      try {
        conn.hello(token);
      } catch (e) {
        conn.finish({ code: 1, message: `cannot send the hello: ${errorMessage(e).message}` });
      }
    });
    socket.on("end", () => conn.finish({ code: 0 }));
    socket.on("error", (e: Error) => {
      // EPIPE and ECONNRESET after the host left are an ordinary end.
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE" || code === "ECONNRESET") {
        conn.finish({ code: 0 });
      } else {
        conn.finish({ code: 1, message: `connection to the host at ${address}: ${e.message}` });
      }
    });
    socket.on("close", () => done(conn.status ?? { code: 0 }));
  });
}

// ---------------------------------------------------------------------------
// In-process testing
// ---------------------------------------------------------------------------

/** Options of `testClient`. */
export interface TestClientOptions {
  /** The bytes of stream items in flight per stream, both ways (default `DEFAULT_STREAM_WINDOW`). */
  readonly streamWindow?: number;
  /** The largest frame either end sends or accepts (default `DEFAULT_MAX_FRAME`). */
  readonly maxFrame?: number;
}

/** A typed client of an implementation served in this process, from `testClient`. */
export interface TestClient<C> {
  /** Calls the implementation: `await t.client.add(1n, 2n)`; `withTimeout` and `withSignal` work as on a host. */
  readonly client: C;
  /**
   * Ends the connection: calls still waiting fail with `ConnectionClosed`,
   * handlers still running see their signal abort. Resolves once both ends
   * closed; a test must call it (the open connection keeps Node running).
   */
  close(): Promise<void>;
}

/** Names the in-process sockets of this process apart. */
let testSockets = 0;

/** A fresh address to listen on: a Unix socket in the temporary folder, or a named pipe on Windows. */
function testAddress(): string {
  const name = `goproc-test-${process.pid}-${++testSockets}-${Date.now().toString(36)}`;
  return process.platform === "win32" ? `\\\\.\\pipe\\${name}` : nodePath.join(nodeOs.tmpdir(), `${name}.sock`);
}

/**
 * Serves `impl` in this process and returns a `client` of it (an instance
 * of the generated class `client`, such as `CalculatorClient`) whose calls
 * go through the real encoders, frames, dispatcher, deadlines and
 * cancellation over a local socket pair: the plugin end is what `serve`
 * runs, the other end is the calling half of the runtime. A value the
 * codec cannot carry, or that does not come back as sent, fails the call
 * as it would with a host. The generated `calculatorTestClient(impl)` calls
 * this for you.
 *
 * Rejects when `impl` lacks a method of the contract, naming it, or when
 * `client` is the class of another contract.
 */
export function testClient<I, C extends Client>(
  contract: ContractDef<I>,
  client: (new () => C) & HostContract,
  impl: I,
  options: TestClientOptions = {},
): Promise<TestClient<C>> {
  const service = bind(contract, impl);
  const incomplete = unimplemented([service], `testClient(${contract.name})`);
  if (incomplete !== undefined) return Promise.reject(new Error(incomplete));
  if (client.contract.name !== contract.name || client.contract.fingerprint !== contract.fingerprint) {
    return Promise.reject(
      new TypeError(
        `testClient: the client class calls contract ${client.contract.name} (fingerprint ${client.contract.fingerprint}), ` +
          `the implementation is of ${contract.name} (fingerprint ${contract.fingerprint}); pass the client class of the same module`,
      ),
    );
  }
  const maxFrame = options.maxFrame ?? DEFAULT_MAX_FRAME;
  const serveOptions: ServeOptions = { exit: false, ...(options.streamWindow === undefined ? {} : { streamWindow: options.streamWindow }) };
  const address = testAddress();
  return new Promise<TestClient<C>>((resolve, reject) => {
    const server = net.createServer();
    server.once("error", (e: Error) => reject(new Error(`testClient: cannot listen on ${address}: ${e.message}`)));
    server.once("connection", (hostSocket: net.Socket) => {
      server.close();
      if (process.platform !== "win32") nodeFs.rmSync(address, { force: true });
      // The calling end: reads by copying from `data` events into its frame reader.
      let hostClosed!: () => void;
      const hostDone = new Promise<void>((r) => (hostClosed = r));
      const hostFrames = new FrameReader();
      const caller = new Connection(hostSocket, hostFrames, [], [], () => undefined, () => undefined, serveOptions);
      caller.peer = "the implementation";
      hostSocket.on("data", (chunk: Buffer) => {
        let from = 0;
        while (from < chunk.length) {
          const into = hostFrames.next();
          const n = Math.min(into.length, chunk.length - from);
          into.set(chunk.subarray(from, from + n));
          from += n;
          caller.onRead(n);
        }
      });
      hostSocket.on("end", () => caller.finish({ code: 0 }));
      hostSocket.on("error", () => caller.finish({ code: 0 }));
      hostSocket.on("close", () => hostClosed());
      welcome(caller, [{ name: contract.name, fingerprint: contract.fingerprint, schema: contract.schema ?? "" }]);
      welcome(plugin, []);
      const c = new client();
      // Calls go through this connection, not the one `serve` opened.
      (c as unknown as { $conn: Connection }).$conn = caller;
      resolve({
        client: c,
        close: () => {
          caller.finish({ code: 0 });
          plugin.finish({ code: 0 });
          return Promise.all([hostDone, pluginDone]).then(() => undefined);
        },
      });
    });
    const welcome = (conn: Connection, contracts: readonly ContractRef[]): void =>
      conn.accept({ protocol: PROTOCOL_MAX, maxFrame, hostPid: process.pid, contracts });
    // The plugin end: the socket reads straight into the frame reader, as in `serve`.
    let pluginClosed!: () => void;
    const pluginDone = new Promise<void>((r) => (pluginClosed = r));
    const pluginFrames = new FrameReader();
    let plugin!: Connection;
    server.listen(address, () => {
      const socket = net.connect({
        path: address,
        onread: {
          buffer: () => pluginFrames.next(),
          callback: (n: number) => {
            plugin.onRead(n);
            return true;
          },
        },
      });
      plugin = new Connection(socket, pluginFrames, [service], [], () => undefined, () => undefined, serveOptions);
      socket.on("end", () => plugin.finish({ code: 0 }));
      socket.on("error", (e: Error) => {
        // Before the connection is made, nothing else would settle the promise.
        server.close();
        reject(new Error(`testClient: cannot connect to ${address}: ${e.message}`));
        plugin.finish({ code: 0 });
      });
      socket.on("close", () => pluginClosed());
    });
  });
}
