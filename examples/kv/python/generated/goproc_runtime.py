"""goproc runtime for Python plugins (standard library only).

This module is written out by `goproc-codegen --lang python` next to the
modules it generates from Rust contract traits. It implements the goproc wire
protocol, versions 2 to 4 (`docs/WIRE.md`): frames, the bincode `standard`
value encoding, the handshake (with the contracts' schemas), the loop that
serves calls, the plugin's own calls to the contracts its host serves,
streams with credit flow control, events, and the describe request.

A plugin implements the contract's abstract class and calls the generated
`serve(impl)`; several contracts are served together with
`goproc_runtime.serve(a.service(impl_a), b.service(impl_b))`. A handler asks
about the call it serves with `deadline()` and `time_left()`.

A plugin that calls its host names the host contracts it needs,
`serve(impl, requires=[StoreClient])`, and calls them through the generated
client classes: `await StoreClient.from_host().get("k")`. A call that fails
without an answer of its type raises a `CallError` (`CallTimeout`,
`RemoteError`, `ConnectionClosed`, `ContractNotServed`); a domain error
(`-> Result<T, E>` answering `Err(e)`) raises `e` itself when its type is a
class of the stubs (a `DomainError`), else `ErrorValue(e)`: what a handler
raises to answer with it.

Tests serve a handler in process and call it through a typed client, over
the real codecs and dispatcher: `async with testing(CalculatorClient,
service) as calc` (the generated `test_client(impl)`).

A method that answers with a stream is an async generator in the handler
(`async def count(...) -> AsyncIterator[int]: yield ...`); a stream
argument reaches the handler as an async iterator. A client's stream method
returns an async iterator at once (no `await`): `async for n in
client.count(0, 10)`; leaving it early (`aclose()`) cancels the call. A
stream argument of a client call is any iterable or async iterable.

Events: the generated `<Contract>Events.from_host()` publishes
(`publish_<event>(topic, payload)`, never blocks) and subscribes
(`subscribe_<event>(pattern)`, an async iterable of `Event`s).
"""

from __future__ import annotations

import sys

# The oldest Python this runtime runs on (`asyncio.timeout` and
# `asyncio.Task.cancelling` are new in 3.11). Checked before anything else:
# an older Python gets one line that says so, not a cryptic error later
# (`dataclass(slots=True)` is a TypeError before 3.10).
PYTHON_MIN = (3, 11)
if sys.version_info < PYTHON_MIN:
    _found = ".".join(str(part) for part in sys.version_info[:3])
    sys.stderr.write(
        f"goproc plugin: this plugin needs Python {PYTHON_MIN[0]}.{PYTHON_MIN[1]} or newer; "
        f"it runs on Python {_found} ({sys.executable})\n"
    )
    sys.exit(2)

import asyncio
import collections
import contextlib
import contextvars
import inspect
import opcode
import os
import socket
import struct
import threading
import time
import traceback
import types
from dataclasses import dataclass
from typing import (
    Any, AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable, ClassVar, Coroutine,
    Generic, Iterable, NoReturn, Self, Sequence, TypeAlias, TypeVar, cast,
)

PROTOCOL_MIN = 2
PROTOCOL_MAX = 4
# The first protocol version with streams and events.
PROTOCOL_STREAMS = 3
# The first protocol version whose HELLO carries the contracts' schemas.
PROTOCOL_SCHEMAS = 4
# The built-in introspection contract's number in a REQUEST, and its one
# method: describe, answered with the documented schema of each contract
# served (docs/WIRE.md, "Introspection").
INTROSPECTION_CONTRACT = 0xFFFF_FFFF
DESCRIBE_METHOD = 0
RUNTIME = "goproc-python 0.1.0"
DEFAULT_MAX_FRAME = 16 * 1024 * 1024
MAX_HANDSHAKE_FRAME = 64 * 1024
HEADER_LEN = 13
MIN_LENGTH = 9
# The smallest maximum frame size a host may name (docs/WIRE.md section 4).
MIN_MAX_FRAME = 4096
# How many structs, enums and `Result`s a decoded value may nest inside one
# another (docs/WIRE.md section 3.1).
NESTING_LIMIT = 128

KIND_HELLO = 0x01
KIND_WELCOME = 0x02
KIND_REFUSE = 0x03
KIND_REQUEST = 0x10
KIND_RESPONSE = 0x11
KIND_ERROR = 0x12
KIND_CANCEL = 0x13
KIND_PING = 0x20
KIND_PONG = 0x21
KIND_SHUTDOWN = 0x30
KIND_CLOSE = 0x31
KIND_EVENT = 0x40
KIND_STREAM_ITEM = 0x41
KIND_STREAM_CREDIT = 0x42
KIND_ARG_ITEM = 0x43
KIND_ARG_END = 0x44
KIND_ARG_CREDIT = 0x45
KIND_PUBLISH = 0x46
KIND_SUBSCRIBE = 0x47
KIND_UNSUBSCRIBE = 0x48
# The kinds of version 3: a protocol error on a connection that speaks version 2.
_V3_KINDS = frozenset(range(KIND_EVENT, KIND_UNSUBSCRIBE + 1))
_KNOWN_KINDS = frozenset(
    (KIND_HELLO, KIND_WELCOME, KIND_REFUSE, KIND_REQUEST, KIND_RESPONSE, KIND_ERROR,
     KIND_CANCEL, KIND_PING, KIND_PONG, KIND_SHUTDOWN, KIND_CLOSE)
) | _V3_KINDS

# How many bytes of stream items a receiver lets its sender send ahead
# (docs/WIRE.md, "Streams"): `serve(..., stream_window=)` and
# `client.with_stream_window()` change it.
DEFAULT_STREAM_WINDOW = 1024 * 1024
# The largest credit a grant may carry.
_MAX_CREDIT = 0xFFFF_FFFF
# How many events a subscription holds for a reader that does not keep up;
# past it the oldest is dropped (and counted in the next event's `lagged`).
DEFAULT_EVENT_QUEUE = 256
# The longest topic or pattern, in UTF-8 bytes.
MAX_TOPIC = 65535

CODE_UNKNOWN_SERVICE = 1
CODE_UNKNOWN_METHOD = 2
CODE_BAD_REQUEST = 3
CODE_HANDLER_FAILED = 4
CODE_CANCELLED = 5
CODE_DEADLINE_EXCEEDED = 6
CODE_SHUTTING_DOWN = 7

# When the connection ends, how long cancelled handlers and worker threads
# get to finish before the process exits anyway (seconds, each).
EXIT_GRACE = 0.2
# How long the last frames (answers, CLOSE) may take to reach the host.
FLUSH_ON_EXIT = 5.0

NOT_STARTED_BY_HOST = (
    "this program is a goproc plugin; it is meant to be started by a host program, "
    "not run directly"
)

T = TypeVar("T")
E = TypeVar("E")
C = TypeVar("C", bound="Client")

# The Rust widths of numbers, for annotations: the stubs say `a: i64` where
# Python has one `int` (one `float`), so a reader sees the range the encoder
# accepts (EncodeError outside it). To Python and to mypy each is `int` or
# `float`: a plugin may annotate its handlers with either spelling.
u8: TypeAlias = int
u16: TypeAlias = int
u32: TypeAlias = int
u64: TypeAlias = int
u128: TypeAlias = int
usize: TypeAlias = int
i8: TypeAlias = int
i16: TypeAlias = int
i32: TypeAlias = int
i64: TypeAlias = int
i128: TypeAlias = int
isize: TypeAlias = int
f32: TypeAlias = float
f64: TypeAlias = float

# Precompiled structs: the fast path for fixed-width values.
_HEADER = struct.Struct("<IBQ")
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")
_F64 = struct.Struct("<d")

_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF
_U64_MAX = 0xFFFF_FFFF_FFFF_FFFF
_U128_MAX = (1 << 128) - 1


def _f32_nan(bits: int) -> float:
    """The float for the f32 NaN `bits`: the double NaN with the same sign and
    payload, signalling if it is. (Python's conversion from f32 to double
    sets the quiet bit, so a signalling NaN would come back quiet.)"""
    return float(_F64.unpack(_U64.pack(
        (bits & 0x8000_0000) << 32 | 0x7FF0_0000_0000_0000 | (bits & 0x7F_FFFF) << 29
    ))[0])


def _f32_nan_bits(v: float) -> int:
    """The f32 bits of the NaN float `v`, the inverse of `_f32_nan`: the
    payload's top 23 bits, quiet if none of them is set (as a conversion
    would make it), so a NaN never becomes an infinity."""
    try:
        bits: int = _U64.unpack(_F64.pack(v))[0]
    except struct.error as e:
        raise EncodeError(f"{v!r} cannot be encoded as f32: {e}") from None
    payload = bits >> 29 & 0x7F_FFFF
    return (bits >> 32 & 0x8000_0000) | 0x7F80_0000 | (payload or 0x40_0000)


class DecodeError(ValueError):
    """Bytes that are not a valid encoding of the expected type."""


class EncodeError(ValueError):
    """A value that cannot be encoded as its declared type (out of range, wrong type)."""


class ProtocolError(Exception):
    """The host broke the wire protocol; the connection is closed."""


class DomainError(Exception):
    """A domain error: what a Rust method declared `-> Result<T, E>` returns
    as `Err(e)`. Catch it to catch any of them.

    An error type that is a class in the stubs (an enum or a struct)
    derives from DomainError, so the error value is the exception itself: a
    handler raises `MathError.DivisionByZero()` to answer with that `Err`,
    and a client's call raises the value it was answered with (`except
    MathError`). Any other error type (`String`, a number, a list) travels
    in the one wrapper, `ErrorValue`.
    """

    def __str__(self) -> str:
        # An error class of the stubs (a dataclass) has no `args`: it says
        # what it is, `MathError.Overflow(operation='1 / 0')`.
        return super().__str__() if self.args else repr(self)


class ErrorValue(DomainError, Generic[E]):
    """A domain error whose type is not a class of the stubs (`String`, a
    number, a list): a handler raises `ErrorValue("no such key")` to answer
    with `Err("no such key")`, and a client's call raises it with `value`,
    the error value."""

    value: E

    def __init__(self, value: E) -> None:
        super().__init__(value)
        self.value = value


def nest(base: type, **variants: type) -> None:
    """Makes each variant class of an enum reachable from the enum's base
    class, under its variant's name (`MathError.DivisionByZero`), and named
    so in reprs and tracebacks. The generated modules call it once per enum."""
    for name, cls in variants.items():
        setattr(base, name, cls)
        cls.__qualname__ = f"{base.__qualname__}.{name}"


class CallError(Exception):
    """A call to the host that ended without an answer of its type.

    `method` names the call (`Store.get`). The subclasses say why; a domain
    error is not a `CallError` but a `DomainError`.
    """

    method: str

    def __init__(self, method: str, message: str) -> None:
        super().__init__(message)
        self.method = method


class CallTimeout(CallError, TimeoutError):
    """The call's deadline passed before its answer arrived (the host was
    told to stop with CANCEL, or said itself that the deadline passed)."""


class RemoteError(CallError):
    """The host answered with an error: it does not know the method, could
    not decode the arguments, its handler failed (panicked), or it is
    shutting down. `code` is the ERROR frame's code (`CODE_HANDLER_FAILED`,
    ...), `message` the host's message (`panic: ...`), `detail` where it
    failed (may be empty)."""

    code: int
    message: str
    detail: str

    def __init__(self, method: str, code: int, message: str, detail: str) -> None:
        super().__init__(method, f"{method} failed in the host: {_code_name(code)}: {message}")
        self.code = code
        self.message = message
        self.detail = detail


class ConnectionClosed(CallError, ConnectionError):
    """The connection to the host ended before the answer arrived (or before
    the call could be sent)."""


class ContractNotServed(CallError):
    """The host does not serve the client's contract, or serves another
    version of it (another fingerprint)."""


class TopicError(ValueError):
    """A topic or a pattern that breaks the rules of docs/WIRE.md ("Events"):
    raised before anything is sent."""


def check_topic(topic: str) -> bytes:
    """`topic`'s UTF-8 bytes, or a `TopicError` saying what is wrong with it:
    1 to 65,535 bytes, no `+`, `#` or NUL (levels may be empty)."""
    if type(topic) is not str:
        raise TopicError(f"a topic is a str, not {type(topic).__name__}")
    raw = _topic_bytes(topic, "topic")
    for bad, name in (("+", "'+'"), ("#", "'#'"), ("\0", "NUL")):
        if bad in topic:
            raise TopicError(
                f"topic {topic!r} contains {name}, which only patterns may hold "
                "(publish on a plain topic such as 'sensors/kitchen/temp')"
            )
    return raw


def check_pattern(pattern: str) -> bytes:
    """`pattern`'s UTF-8 bytes, or a `TopicError` saying what is wrong with
    it: a topic whose levels may be `+` (exactly one level) or, as the last
    level only, `#` (the rest); each fills its whole level."""
    if type(pattern) is not str:
        raise TopicError(f"a pattern is a str, not {type(pattern).__name__}")
    raw = _topic_bytes(pattern, "pattern")
    if "\0" in pattern:
        raise TopicError(f"pattern {pattern!r} contains NUL")
    levels = pattern.split("/")
    for i, level in enumerate(levels):
        if level in ("+", "#"):
            if level == "#" and i != len(levels) - 1:
                raise TopicError(
                    f"pattern {pattern!r} has '#' in level {i + 1} of {len(levels)}: "
                    "'#' matches the rest of a topic, so it may only be the last level"
                )
        elif "+" in level or "#" in level:
            raise TopicError(
                f"pattern {pattern!r} has level {level!r}: '+' and '#' must fill a whole level "
                "('a/+/c', 'a/#'), not share it with other characters"
            )
    return raw


def _topic_bytes(text: str, what: str) -> bytes:
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise TopicError(f"{what} {text!r} is not valid Unicode: {e}") from None
    if not raw:
        raise TopicError(f"a {what} may not be empty")
    if len(raw) > MAX_TOPIC:
        raise TopicError(f"a {what} is at most {MAX_TOPIC} bytes of UTF-8, this one is {len(raw)}")
    return raw


def topic_matches(pattern: str, topic: str) -> bool:
    """Whether `pattern` (checked) matches `topic`, as the host routes
    events: MQTT 3.1.1 rules, `$`-topics hidden from leading wildcards."""
    if topic.startswith("$") and pattern[:1] in ("+", "#"):
        return False
    want = pattern.split("/")
    have = topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)


_CODE_NAMES = {
    1: "unknown contract", 2: "unknown method", 3: "bad request", 4: "handler failed",
    5: "cancelled", 6: "deadline exceeded", 7: "shutting down",
}


def _code_name(code: int) -> str:
    return _CODE_NAMES.get(code) or f"error code {code}"


@dataclass(slots=True)
class Some(Generic[T]):
    """`Some(value)` where a plain `T | None` would be ambiguous: `Option<Option<T>>`, `Option<()>`."""

    value: T


@dataclass(slots=True)
class Ok(Generic[T]):
    """`Ok(value)` of a `Result<T, E>` held inside another value."""

    value: T


@dataclass(slots=True)
class Err(Generic[E]):
    """`Err(value)` of a `Result<T, E>` held inside another value."""

    value: E


# ---------------------------------------------------------------------------
# Decoding


class Reader:
    """Reads values from one body; every read is bounds-checked against its end.

    A reader also enforces the limits of docs/WIRE.md section 3.1: `items` is
    what is left of the body's item budget (the counts of all its sequences
    and maps add up to at most the body's length in bytes), and `levels` is
    how many more structs, enums and `Result`s may nest inside the one being
    decoded (NESTING_LIMIT at the outermost). `buf` holds the body from
    offset 0 (a request's arguments start after its head), so the budget is
    `end`.
    """

    __slots__ = ("buf", "pos", "end", "items", "levels")

    def __init__(self, buf: bytes, pos: int = 0, end: int | None = None) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end is None else end
        self.items = self.end
        self.levels = NESTING_LIMIT

    def _short(self, need: int) -> DecodeError:
        return DecodeError(
            f"unexpected end of input: need {need} byte(s) at offset {self.pos}, "
            f"{self.end - self.pos} left"
        )

    def done(self) -> None:
        """Fails unless every byte was read."""
        if self.pos != self.end:
            raise DecodeError(
                f"{self.end - self.pos} trailing byte(s) after the value "
                f"({self.pos} of {self.end} bytes used)"
            )

    def take(self, n: int) -> bytes:
        """The next `n` raw bytes."""
        p = self.pos
        if n > self.end - p:
            raise self._short(n)
        self.pos = p + n
        return bytes(self.buf[p:p + n])

    def u8(self) -> int:
        p = self.pos
        if p >= self.end:
            raise self._short(1)
        self.pos = p + 1
        return self.buf[p]

    def i8(self) -> int:
        v = self.u8()
        return v - 256 if v >= 128 else v

    def bool_(self) -> bool:
        v = self.u8()
        if v > 1:
            raise DecodeError(f"invalid bool byte 0x{v:02x} at offset {self.pos - 1}")
        return v == 1

    def _varint(self, widest: int, what: str) -> int:
        # widest: the largest marker allowed for the target type (0xfb u16 ... 0xfe u128).
        p = self.pos
        if p >= self.end:
            raise self._short(1)
        b = self.buf[p]
        if b < 251:
            self.pos = p + 1
            return b
        if b > widest:
            raise DecodeError(f"varint marker 0x{b:02x} at offset {p} is too wide for {what}")
        if b == 0xFB:
            n = 2
        elif b == 0xFC:
            n = 4
        elif b == 0xFD:
            n = 8
        elif b == 0xFE:
            n = 16
        else:
            raise DecodeError(f"invalid varint marker 0xff at offset {p}")
        if p + 1 + n > self.end:
            raise self._short(1 + n)
        self.pos = p + 1 + n
        if n == 2:
            return int(_U16.unpack_from(self.buf, p + 1)[0])
        if n == 4:
            return int(_U32.unpack_from(self.buf, p + 1)[0])
        if n == 8:
            return int(_U64.unpack_from(self.buf, p + 1)[0])
        return int.from_bytes(self.buf[p + 1:p + 17], "little")

    def u16(self) -> int:
        return self._varint(0xFB, "u16")

    def u32(self) -> int:
        return self._varint(0xFC, "u32")

    def u64(self) -> int:
        return self._varint(0xFD, "u64")

    def u128(self) -> int:
        return self._varint(0xFE, "u128")

    def i16(self) -> int:
        v = self._varint(0xFB, "i16")
        return (v >> 1) ^ -(v & 1)

    def i32(self) -> int:
        v = self._varint(0xFC, "i32")
        return (v >> 1) ^ -(v & 1)

    def i64(self) -> int:
        v = self._varint(0xFD, "i64")
        return (v >> 1) ^ -(v & 1)

    def i128(self) -> int:
        v = self._varint(0xFE, "i128")
        return (v >> 1) ^ -(v & 1)

    def f32(self) -> float:
        p = self.pos
        if p + 4 > self.end:
            raise self._short(4)
        self.pos = p + 4
        v: float = _F32.unpack_from(self.buf, p)[0]
        if v != v:
            return _f32_nan(_U32.unpack_from(self.buf, p)[0])
        return v

    def f64(self) -> float:
        p = self.pos
        if p + 8 > self.end:
            raise self._short(8)
        self.pos = p + 8
        return float(_F64.unpack_from(self.buf, p)[0])

    def char(self) -> str:
        p = self.pos
        if p >= self.end:
            raise self._short(1)
        b = self.buf[p]
        if b < 0x80:
            n = 1
        elif 0xC2 <= b < 0xE0:
            n = 2
        elif 0xE0 <= b < 0xF0:
            n = 3
        elif 0xF0 <= b < 0xF5:
            n = 4
        else:
            raise DecodeError(f"invalid UTF-8 first byte 0x{b:02x} for a char at offset {p}")
        raw = self.take(n)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"invalid char at offset {p}: {e}") from None

    def length(self) -> int:
        """A byte length; never more than what is left in the body."""
        p = self.pos
        n = self._varint(0xFD, "a length")
        if n > self.end - self.pos:
            raise DecodeError(
                f"length {n} at offset {p} is longer than the {self.end - self.pos} byte(s) left"
            )
        return n

    def count(self) -> int:
        """An item count for items of at least one byte each: charged to the
        item budget, and never more than the bytes left."""
        p = self.pos
        n = self._varint(0xFD, "a count")
        if n > self.items or n > self.end - self.pos:
            raise self._too_many(n, p)
        self.items -= n
        return n

    def count_any(self) -> int:
        """An item count for items that may take no bytes (unit values):
        charged to the item budget."""
        p = self.pos
        n = self._varint(0xFD, "a count")
        if n > self.items:
            raise self._too_many(n, p)
        self.items -= n
        return n

    def _too_many(self, n: int, p: int) -> DecodeError:
        if n > self.items:
            return DecodeError(
                f"count {n} at offset {p} is more than the item budget allows: the sequences and "
                f"maps of a body hold at most one item per byte of it ({self.items} left)"
            )
        return DecodeError(
            f"count {n} at offset {p} is more than the {self.end - self.pos} byte(s) left could hold"
        )

    def too_deep(self) -> DecodeError:
        """The error for a struct, enum or `Result` nested past the limit."""
        return DecodeError(
            f"the value breaks the nesting limit: more than {NESTING_LIMIT} structs and enums "
            f"inside one another at offset {self.pos}"
        )

    def enter_result(self) -> int:
        """The tag of a `Result` (0 for `Ok`), one nesting level deeper; the
        decoder of its value hands it to `leave`."""
        levels = self.levels
        if not levels:
            raise self.too_deep()
        self.levels = levels - 1
        return self.variant(2, "Result")

    def leave(self, value: T) -> T:
        """Returns `value`, one nesting level up (after `enter_result`)."""
        self.levels += 1
        return value

    def str_(self) -> str:
        p = self.pos
        if p < self.end:
            n = self.buf[p]
            if n < 251 and n < self.end - p:
                # The usual case: a one-byte length that fits.
                self.pos = p + 1 + n
                try:
                    return self.buf[p + 1:p + 1 + n].decode("utf-8")
                except UnicodeDecodeError as e:
                    raise DecodeError(f"invalid UTF-8 in a string at offset {p + 1}: {e}") from None
        n = self.length()
        p = self.pos
        self.pos = p + n
        try:
            return self.buf[p:p + n].decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"invalid UTF-8 in a string at offset {p}: {e}") from None

    def bytes_(self) -> bytes:
        # Charged to the item budget like the sequence of u8 a Rust
        # `Vec<u8>` also is, so every runtime refuses the same bodies.
        at = self.pos
        n = self.length()
        if n > self.items:
            raise self._too_many(n, at)
        self.items -= n
        p = self.pos
        self.pos = p + n
        return bytes(self.buf[p:p + n])

    def option(self) -> bool:
        """The tag of an `Option`: `True` for `Some`."""
        v = self.u8()
        if v > 1:
            raise DecodeError(f"invalid Option tag {v} at offset {self.pos - 1}")
        return v == 1

    def variant(self, count: int, what: str) -> int:
        """An enum's variant index, checked against its number of variants."""
        p = self.pos
        v = self._varint(0xFC, "a variant index")
        if v >= count:
            raise DecodeError(f"variant index {v} at offset {p} is out of range for {what}")
        return v


class _ViewReader(Reader):
    """A reader of a long body left where it was read: `buf` is a memoryview
    of the read buffer, not a copy (typed `bytes`, whose reads it shares but
    for `decode`)."""

    __slots__ = ()

    def str_(self) -> str:
        n = self.length()
        p = self.pos
        self.pos = p + n
        try:
            return str(self.buf[p:p + n], "utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"invalid UTF-8 in a string at offset {p}: {e}") from None


# The generated fast decoders (MethodSpec.decode_fast) read floats with these.
F32_AT = _F32.unpack_from
F64_AT = _F64.unpack_from


def varint_at(b: bytearray, p: int, e: int, widest: int) -> tuple[int, int]:
    """The varint at `b[p]` whose marker is 251 or more, and the position
    after it, for the generated fast decoders. A marker past `widest` or
    bytes past `e` raise DecodeError: the request is then decoded through
    its Reader, which says what is wrong."""
    marker = b[p]
    if marker > widest:
        raise DecodeError(f"varint marker 0x{marker:02x} at {p}")
    # 0xFB: 2 bytes, 0xFC: 4, 0xFD: 8, 0xFE: 16.
    q = p + 1 + (2 << (marker - 0xFB))
    if q > e:
        raise DecodeError(f"varint past the end at {p}")
    return int.from_bytes(b[p + 1:q], "little"), q


# ---------------------------------------------------------------------------
# Encoding. Each writer appends to a bytearray and refuses out-of-range values.


def _int_error(v: object, what: str) -> EncodeError:
    if not isinstance(v, int) or isinstance(v, bool):
        return EncodeError(f"expected an int for {what}, got {type(v).__name__}")
    return EncodeError(f"{v} is out of range for {what}")


def w_bool(out: bytearray, v: bool) -> None:
    if v is True:
        out.append(1)
    elif v is False:
        out.append(0)
    else:
        raise EncodeError(f"expected a bool, got {type(v).__name__}")


def w_u8(out: bytearray, v: int) -> None:
    if type(v) is not int or not 0 <= v <= 0xFF:
        raise _int_error(v, "u8")
    out.append(v)


def w_i8(out: bytearray, v: int) -> None:
    if type(v) is not int or not -0x80 <= v <= 0x7F:
        raise _int_error(v, "i8")
    out.append(v & 0xFF)


def _w_var(out: bytearray, v: int) -> None:
    # v is a checked non-negative int.
    if v < 251:
        out.append(v)
    elif v <= _U16_MAX:
        out.append(0xFB)
        out += _U16.pack(v)
    elif v <= _U32_MAX:
        out.append(0xFC)
        out += _U32.pack(v)
    elif v <= _U64_MAX:
        out.append(0xFD)
        out += _U64.pack(v)
    else:
        out.append(0xFE)
        out += v.to_bytes(16, "little")


def w_u16(out: bytearray, v: int) -> None:
    if type(v) is not int or not 0 <= v <= _U16_MAX:
        raise _int_error(v, "u16")
    _w_var(out, v)


def w_u32(out: bytearray, v: int) -> None:
    if type(v) is not int or not 0 <= v <= _U32_MAX:
        raise _int_error(v, "u32")
    _w_var(out, v)


def w_u64(out: bytearray, v: int) -> None:
    if type(v) is not int or not 0 <= v <= _U64_MAX:
        raise _int_error(v, "u64")
    _w_var(out, v)


def w_u128(out: bytearray, v: int) -> None:
    if type(v) is not int or not 0 <= v <= _U128_MAX:
        raise _int_error(v, "u128")
    _w_var(out, v)


def w_i16(out: bytearray, v: int) -> None:
    if type(v) is not int or not -0x8000 <= v <= 0x7FFF:
        raise _int_error(v, "i16")
    _w_var(out, (v << 1) ^ (v >> 15))


def w_i32(out: bytearray, v: int) -> None:
    if type(v) is not int or not -0x8000_0000 <= v <= 0x7FFF_FFFF:
        raise _int_error(v, "i32")
    _w_var(out, (v << 1) ^ (v >> 31))


def w_i64(out: bytearray, v: int) -> None:
    if type(v) is not int or not -(1 << 63) <= v < (1 << 63):
        raise _int_error(v, "i64")
    _w_var(out, (v << 1) ^ (v >> 63))


def w_i128(out: bytearray, v: int) -> None:
    if type(v) is not int or not -(1 << 127) <= v < (1 << 127):
        raise _int_error(v, "i128")
    _w_var(out, (v << 1) ^ (v >> 127))


def w_f32(out: bytearray, v: float) -> None:
    if v != v:
        out += _U32.pack(_f32_nan_bits(v))
        return
    try:
        out += _F32.pack(v)
    except (struct.error, OverflowError) as e:
        raise EncodeError(f"{v!r} cannot be encoded as f32: {e}") from None


def w_f64(out: bytearray, v: float) -> None:
    try:
        out += _F64.pack(v)
    except struct.error as e:
        raise EncodeError(f"{v!r} cannot be encoded as f64: {e}") from None


def _utf8(v: str, what: str) -> bytes:
    if type(v) is not str:
        raise EncodeError(f"expected a str for {what}, got {type(v).__name__}")
    try:
        return v.encode("utf-8")
    except UnicodeEncodeError as e:
        # Lone surrogates have no UTF-8 encoding.
        raise EncodeError(f"{what} is not valid Unicode: {e}") from None


def w_char(out: bytearray, v: str) -> None:
    if type(v) is not str or len(v) != 1:
        raise EncodeError(f"expected a str of exactly one character for char, got {v!r}")
    out += _utf8(v, "char")


def w_len(out: bytearray, n: int) -> None:
    _w_var(out, n)


def w_str(out: bytearray, v: str) -> None:
    if type(v) is str:
        try:
            raw = v.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            n = len(raw)
            if n < 251:
                # The usual case: a one-byte length.
                out.append(n)
            else:
                _w_var(out, n)
            out += raw
            return
    raw = _utf8(v, "String")
    _w_var(out, len(raw))
    out += raw


def w_bytes(out: bytearray, v: bytes) -> None:
    if not isinstance(v, (bytes, bytearray, memoryview)):
        raise EncodeError(f"expected bytes, got {type(v).__name__}")
    _w_var(out, len(v))
    out += v


def w_array_len(v: Sequence[object], n: int) -> None:
    """Checks that a fixed-size array has exactly `n` items (the wire carries no length)."""
    if len(v) != n:
        raise EncodeError(f"expected exactly {n} item(s) for an array, got {len(v)}")


# ---------------------------------------------------------------------------
# What a handler can ask about its call

_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "goproc_deadline", default=None
)


def deadline() -> float | None:
    """The deadline of the call the current handler serves, on the
    `time.monotonic()` clock: the caller stops waiting then, and the handler
    is cancelled. `None` when the caller set no deadline, or outside a handler.
    """
    return _DEADLINE.get()


def time_left() -> float | None:
    """How many seconds the current handler has left before its deadline
    (never negative), or `None` when its call has no deadline."""
    d = _DEADLINE.get()
    if d is None:
        return None
    return max(0.0, d - time.monotonic())


# ---------------------------------------------------------------------------
# Contracts and serving


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """One method of a contract: how to decode its arguments and encode its answer."""

    name: str
    decode_args: Callable[[Reader], tuple[Any, ...]]
    encode_ok: Callable[[bytearray, Any], None]
    # For `-> Result<T, E>`: the exception class a handler raises for `Err(e)`, and E's encoder.
    error: type[DomainError] | None = None
    encode_err: Callable[[bytearray, Any], None] | None = None
    # The method answers with a stream: `encode_ok` encodes one item.
    stream: bool = False
    # The position of the stream argument among the handler's arguments (-1:
    # none), and the decoder of one of its items.
    arg_at: int = -1
    decode_item: Callable[[Reader], Any] | None = None
    # For arguments that are all scalars or strings: their decoder in place,
    # `(read buffer, start, end) -> arguments`, or None for what only
    # `decode_args` decodes right (see `_Plugin.answer_run`).
    decode_fast: Callable[[bytearray, int, int], tuple[Any, ...] | None] | None = None


@dataclass(frozen=True, slots=True)
class Contract:
    """A contract's name, fingerprint and method table (index = wire method
    number), and its schema: the canonical text the HELLO sends (empty: not
    stated) and the documented text a describe request answers."""

    name: str
    fingerprint: str
    methods: tuple[MethodSpec, ...]
    schema: str = ""
    documented: str = ""


class Service:
    """A contract together with the object that implements it."""

    __slots__ = ("contract", "impl", "handlers", "is_async", "never_awaits")

    def __init__(self, contract: Contract, impl: object) -> None:
        self.contract = contract
        self.impl = impl
        handlers: list[Callable[..., Any]] = []
        for m in contract.methods:
            fn = getattr(impl, m.name, None)
            if not callable(fn):
                raise TypeError(
                    f"{type(impl).__name__} does not implement {contract.name}.{m.name}"
                )
            handlers.append(fn)
        self.handlers = handlers
        # `async def` handlers are called inside their task (see `_Plugin.run`),
        # unless their code has no await at all: those answer at once, as a
        # plain `def` handler does (see `_Plugin.on_request`).
        self.is_async = [inspect.iscoroutinefunction(fn) for fn in handlers]
        self.never_awaits = [a and _never_awaits(fn) for a, fn in zip(self.is_async, handlers)]


# The instructions of every way an `async def` can suspend: `await`, `async
# with`, `async for` (and `yield` in an async generator).
_SUSPENDING_OPS = frozenset(
    opcode.opmap[name]
    for name in (
        "GET_AWAITABLE", "SEND", "YIELD_VALUE", "BEFORE_ASYNC_WITH", "GET_AITER", "GET_ANEXT",
        "END_ASYNC_FOR",
    )
    if name in opcode.opmap
)


def _never_awaits(fn: Callable[..., Any]) -> bool:
    """Whether `fn`, an `async def` (or a bound one), can never suspend: its own
    code has none of the instructions that await. Such a handler runs to its
    end in one step, so running that step at once, without a task, answers
    as its task would: no timer or cancellation can reach it mid-way."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if not isinstance(code, types.CodeType) or not code.co_flags & inspect.CO_COROUTINE:
        return False
    raw = code.co_code
    # One opcode every two bytes (3.6+); inline caches read as opcode 0.
    return not any(raw[i] in _SUSPENDING_OPS for i in range(0, len(raw), 2))


# A method a request can be answered at once for: its spec, its handler,
# whether that is an `async def` (that never awaits), its fast argument
# decoder (None: the spec's, through a Reader), its answer's encoder, and
# whether the answer starts with `Ok`'s tag (`-> Result<T, E>`).
_Route: TypeAlias = tuple[
    MethodSpec, Callable[..., Any], bool, Callable[[bytearray, int, int], tuple[Any, ...] | None] | None,
    Callable[[bytearray, Any], None], bool,
]


def _routes(services: Sequence[Service]) -> dict[int, _Route]:
    """The methods whose requests `_Plugin.answer_run` may answer, keyed by
    the first two bytes of a request's head (contract and method number,
    each a one-byte varint): those that stream nothing and whose handler is
    a plain `def` or an `async def` that never awaits."""
    routes: dict[int, _Route] = {}
    for s, service in enumerate(services[:251]):
        for m, spec in enumerate(service.contract.methods[:251]):
            if spec.stream or spec.arg_at >= 0:
                continue
            if service.is_async[m] and not service.never_awaits[m]:
                continue
            routes[s << 8 | m] = (
                spec, service.handlers[m], service.is_async[m], spec.decode_fast, spec.encode_ok,
                spec.error is not None,
            )
    return routes


# The header of an answer, before its length and id are known.
_NO_HEADER = bytes(HEADER_LEN)
# Types whose values are never awaitable (a plain `def` handler's usual answers).
_PLAIN_VALUES = frozenset((type(None), bool, int, float, str, bytes, list, dict, tuple))


# Room for a request's header and head in front of its arguments: 13 bytes
# of header, and the head's three varints at their widest (5 + 5 + 9).
REQUEST_ROOM = HEADER_LEN + 19


def request_buffer() -> bytearray:
    """A buffer for one request's arguments: the generated clients append
    the arguments after `REQUEST_ROOM` bytes, where the call writes the
    header and head once it knows them (no copy of the arguments)."""
    return bytearray(REQUEST_ROOM)


def read_unit(r: Reader) -> None:
    """The decoder of a method that returns `()`."""
    return None


# The connection `serve` opened: the one the clients call through.
_connection: _Plugin | None = None


class Client:
    """The base of the generated client classes (`StoreClient`): calls to a
    contract that the host serves to this plugin.

    `StoreClient.from_host()` makes one; it may be made at any time (at
    import, in `__init__`), and its calls work once `serve` has connected,
    from handlers and from any other task alike. Each call's deadline is
    its client's timeout (`with_timeout`), else what is left of the handler
    it is made in (`time_left()`), else none.
    """

    CONTRACT: ClassVar[Contract]
    __slots__ = ("_timeout", "_window", "_via")

    def __init__(self) -> None:
        self._timeout: float | None = None
        self._window: int | None = None
        # The connection of an in-process test (`testing`); None: the host's.
        self._via: _Plugin | None = None

    @classmethod
    def from_host(cls) -> Self:
        """A client of this contract, served by the host that started this process."""
        return cls()

    def _copy(self) -> Self:
        client = type(self)()
        client._timeout = self._timeout
        client._window = self._window
        client._via = self._via
        return client

    def with_timeout(self, seconds: float) -> Self:
        """The same client, whose calls have a deadline of their own: each
        fails with `CallTimeout` (and the host is told to stop) when its
        answer has not arrived `seconds` after it was made. It replaces the
        deadline a call would inherit from its handler. A stream's deadline
        covers the whole stream."""
        if not seconds >= 0:
            raise ValueError(f"a timeout is a number of seconds, not {seconds!r}")
        client = self._copy()
        client._timeout = float(seconds)
        return client

    def with_stream_window(self, size: int) -> Self:
        """The same client, whose answer streams let the host send `size`
        bytes of items ahead of what this plugin has read (the default is
        `serve`'s `stream_window`, 1 MiB unless it says otherwise)."""
        client = self._copy()
        client._window = _check_window(size)
        return client

    def _call(
        self, method: int, request: bytearray, decode: Callable[[Reader], T],
        source: AsyncIterable[Any] | Iterable[Any] | None = None,
        encode_item: Callable[[bytearray, Any], None] | None = None,
    ) -> Awaitable[T]:
        """Calls method number `method` with the arguments in `request` (a
        `request_buffer()`), and decodes its answer with `decode`; a method
        with a stream argument sends `source`'s items, each encoded with
        `encode_item`."""
        return self._conn(method).call(
            self.CONTRACT, method, request, decode, None, None, self._timeout, source, encode_item,
        )

    def _call_result(
        self, method: int, request: bytearray, decode: Callable[[Reader], T],
        decode_err: Callable[[Reader], E], error: type[DomainError],
        source: AsyncIterable[Any] | Iterable[Any] | None = None,
        encode_item: Callable[[bytearray, Any], None] | None = None,
    ) -> Awaitable[T]:
        """As `_call`, for a method declared `-> Result<T, E>`: returns the
        `Ok` value, raises `error(value)` for `Err(value)`."""
        return self._conn(method).call(
            self.CONTRACT, method, request, decode, decode_err, error, self._timeout, source, encode_item,
        )

    async def _stream(
        self, method: int, request: bytearray, decode: Callable[[Reader], T],
        source: AsyncIterable[Any] | Iterable[Any] | None = None,
        encode_item: Callable[[bytearray, Any], None] | None = None,
    ) -> AsyncGenerator[T, None]:
        """Calls method number `method`, which answers with a stream, when
        first iterated; yields the items decoded with `decode`. Closing the
        iterator early (`aclose()`, or leaving `async for` and dropping it)
        tells the host to stop with CANCEL."""
        conn = self._conn(method)
        items = conn.stream(
            self.CONTRACT, method, request, decode, self._timeout, self._window, source, encode_item,
        )
        try:
            async for item in items:
                yield item
        finally:
            await items.aclose()

    def _conn(self, method: int) -> _Plugin:
        conn = _connection if self._via is None else self._via
        if conn is None:
            name = _method_name(self.CONTRACT, method)
            raise ConnectionClosed(
                name, f"{name} cannot be sent: this process is not connected to a host "
                "(calls to the host work once serve() has connected)",
            )
        return conn


def _check_window(size: int) -> int:
    if type(size) is not int or not 1 <= size <= _MAX_CREDIT:
        raise ValueError(f"a stream window is a number of bytes from 1 to {_MAX_CREDIT}, not {size!r}")
    return size


@dataclass(frozen=True, slots=True)
class EventContract:
    """An event contract's name, fingerprint and kinds of events (index =
    the wire's `event`)."""

    name: str
    fingerprint: str
    kinds: tuple[str, ...]

    @property
    def channel(self) -> int:
        """The wire's `channel`: the fingerprint's first 16 hex digits."""
        return int(self.fingerprint[:16], 16)


@dataclass(slots=True)
class Event(Generic[T]):
    """One event a subscription received: its topic, its payload, and how
    many events the subscription dropped just before it (the host's drops
    and this process's) because its reader did not keep up."""

    topic: str
    payload: T
    lagged: int = 0


class Subscription(Generic[T]):
    """The events of one kind whose topics match one pattern, as they arrive:
    `async for event in subscription`. At most `capacity` wait for the
    reader; past that the oldest is dropped and counted in the next event's
    `lagged`. `close()` ends it (the iteration stops)."""

    __slots__ = ("_conn", "_id", "_name", "_decode", "_queue", "_capacity", "_dropped", "_waiter",
                 "_closed", "_error", "pattern")

    def __init__(
        self, conn: _Plugin, sub_id: int, name: str, pattern: str, decode: Callable[[Reader], T],
        capacity: int,
    ) -> None:
        self._conn = conn
        self._id = sub_id
        self._name = name
        self.pattern = pattern
        self._decode = decode
        self._queue: collections.deque[tuple[int, str, bytes]] = collections.deque()
        self._capacity = capacity
        self._dropped = 0
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._error: BaseException | None = None

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event[T]:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._queue:
                lagged, topic, body = self._queue.popleft()
                lagged += self._dropped
                self._dropped = 0
                r = Reader(body)
                try:
                    payload = self._decode(r)
                    r.done()
                except (DecodeError, RecursionError) as e:
                    raise CallError(
                        self._name, f"an event of {self._name} on {topic!r} does not decode: {e}",
                    ) from None
                return Event(topic, payload, lagged)
            if self._error is not None:
                raise self._error
            waiter = self._waiter = self._conn.loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None

    def close(self) -> None:
        """Ends the subscription: the host is told (UNSUBSCRIBE), waiting
        events are dropped and the iteration stops."""
        if not self._closed:
            self._closed = True
            self._queue.clear()
            self._conn.unsubscribe(self._id, self)
            self._wake()

    def pending(self) -> int:
        """How many events wait to be read."""
        return len(self._queue)

    def _push(self, lagged: int, topic: str, body: bytes) -> None:
        if len(self._queue) >= self._capacity:
            # Drop the oldest; the next event read says so.
            old = self._queue.popleft()
            self._dropped += 1 + old[0]
        self._queue.append((lagged, topic, body))
        self._wake()

    def _fail(self, error: BaseException) -> None:
        self._error = error
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class Events:
    """The base of the generated event classes (`TelemetryEvents`): publish
    and subscribe through the host that started this plugin.

    `TelemetryEvents.from_host()` makes one at any time; publishing and
    subscribing work once `serve` has connected (a subscription made before
    the host's welcome is sent with it).
    """

    EVENTS: ClassVar[EventContract]
    __slots__ = ()

    @classmethod
    def from_host(cls) -> Self:
        """The events of this contract, routed by the host that started this process."""
        return cls()

    def _publish(self, kind: int, topic: str, payload: T, encode: Callable[[bytearray, T], None]) -> None:
        """Publishes `payload` (encoded with `encode`) as event `kind` on
        `topic`; never waits."""
        raw = check_topic(topic)
        _event_connection(self.EVENTS, kind, "published").publish(self.EVENTS, kind, raw, payload, encode)

    def _subscribe(self, kind: int, pattern: str, decode: Callable[[Reader], T], capacity: int) -> Subscription[T]:
        """Subscribes to event `kind` on topics matching `pattern`."""
        check_pattern(pattern)
        if type(capacity) is not int or capacity < 1:
            raise ValueError(f"a subscription's capacity is a number of events, at least 1, not {capacity!r}")
        return _event_connection(self.EVENTS, kind, "subscribed to").subscribe(
            self.EVENTS, kind, pattern, decode, capacity,
        )


def _event_connection(contract: EventContract, kind: int, what: str) -> _Plugin:
    conn = _connection
    if conn is None:
        name = f"{contract.name}.{contract.kinds[kind]}"
        raise ConnectionClosed(
            name, f"{name} cannot be {what}: this process is not connected to a host "
            "(events work once serve() has connected)",
        )
    return conn


def _method_name(contract: Contract | None, method: int) -> str:
    if contract is None:
        return "ping"
    return f"{contract.name}.{contract.methods[method].name}"


async def ping(timeout: float | None = None) -> float:
    """Sends PING to the host and waits for its PONG: the round trip, in
    seconds. Fails like a call (`CallTimeout` past `timeout`, or past the
    current handler's deadline; `ConnectionClosed`)."""
    conn = _connection
    if conn is None:
        raise ConnectionClosed("ping", "ping cannot be sent: this process is not connected to a host")
    return await conn.ping(timeout)


def _describe(exc: BaseException) -> str:
    """How a failed call names its exception: `<class name>: <str(exc)>`, or
    the class name alone when `str(exc)` is empty (`ValueError: boom`,
    `RuntimeError`)."""
    kind = type(exc).__name__
    try:
        text = str(exc)
    except Exception:
        # As Python's own traceback says it.
        text = "<exception str() failed>"
    return f"{kind}: {text}" if text else kind


def _frame(kind: int, call_id: int, body: bytes | bytearray = b"") -> bytearray:
    out = bytearray(HEADER_LEN)
    _HEADER.pack_into(out, 0, MIN_LENGTH + len(body), kind, call_id)
    out += body
    return out


# The longest message an ERROR frame keeps when the whole error does not fit
# in a frame (characters), as in the other runtimes.
_SHORT_ERROR_CHARS = 4096


def _really_cancelled() -> bool:
    """Whether the current task itself is being cancelled (by CANCEL or the end of the
    connection), rather than a handler letting a CancelledError of its own escape."""
    task = asyncio.current_task()
    return task is None or task.cancelling() > 0


def _error_frame(
    call_id: int, code: int, message: str, detail: str = "", max_frame: int = 0,
) -> bytearray:
    """An ERROR frame. With `max_frame`, an error too long for a frame loses
    its detail and keeps as much of its message as fits (at most
    _SHORT_ERROR_CHARS characters): the host takes a longer frame for a
    broken connection."""
    out = bytearray(HEADER_LEN)
    _w_var(out, code)
    # Replace what has no UTF-8 form rather than fail to report the failure.
    for text in (message, detail):
        raw = text.encode("utf-8", "replace")
        _w_var(out, len(raw))
        out += raw
    if max_frame and len(out) - 4 > max_frame:
        # The header, the code and the message's length (5 bytes at most
        # each), the empty detail's length.
        room = max_frame - MIN_LENGTH - 5 - 5 - 1
        short = message[:_SHORT_ERROR_CHARS].encode("utf-8", "replace")[:room]
        # A character cut in half is dropped.
        return _error_frame(call_id, code, short.decode("utf-8", "ignore"))
    _HEADER.pack_into(out, 0, len(out) - 4, KIND_ERROR, call_id)
    return out


def encode_hello(
    token: str, pid: int, contracts: Sequence[Contract], requires: Sequence[Contract] = (),
    language: str = "python", runtime: str = RUNTIME,
    protocol_min: int = PROTOCOL_MIN, protocol_max: int = PROTOCOL_MAX,
) -> bytearray:
    """The body of this plugin's HELLO frame: it serves `contracts` and
    calls the host's `requires`; from protocol 4 on, the schemas of both
    follow, served ones first."""
    out = bytearray()
    w_u32(out, protocol_min)
    w_u32(out, protocol_max)
    w_str(out, token)
    w_str(out, language)
    w_str(out, runtime)
    w_u32(out, pid)
    for listed in (contracts, requires):
        w_len(out, len(listed))
        for c in listed:
            w_str(out, c.name)
            w_str(out, c.fingerprint)
    if protocol_max >= PROTOCOL_SCHEMAS:
        schemas = [c.schema for c in (*contracts, *requires)]
        at = len(out)
        _write_schemas(out, schemas)
        if MIN_LENGTH + len(out) > MAX_HANDSHAKE_FRAME:
            # Schemas too large for a HELLO are left out: the host then
            # compares fingerprints only, as with an older plugin.
            sys.stderr.write(
                f"goproc plugin: the contracts' schemas make the hello {MIN_LENGTH + len(out)} bytes, "
                f"over the protocol's {MAX_HANDSHAKE_FRAME}; the host compares fingerprints only\n"
            )
            del out[at:]
            _write_schemas(out, ["" for _ in schemas])
    return out


def _write_schemas(out: bytearray, schemas: Sequence[str]) -> None:
    w_len(out, len(schemas))
    for text in schemas:
        w_str(out, text)


def encode_described(contracts: Sequence[Contract]) -> bytearray:
    """The RESPONSE body of a describe request: the documented schema of
    each contract in `contracts`, as a bincode `Vec<String>`."""
    out = bytearray()
    w_len(out, len(contracts))
    for c in contracts:
        w_str(out, c.documented)
    return out


# The read buffer's usual size; a longer frame gets a buffer of its own size.
_READ_BUFFER = 64 * 1024
# Below this much free space, the unread bytes move to the front first.
_MIN_READ = 4 * 1024
# A REQUEST frame longer than this got a read buffer of its own (see
# make_room): its body is decoded there, through a memoryview, instead of
# being copied first.
_LONG_FRAME = _READ_BUFFER - 4
# Backpressure (docs/WIRE.md section 4). When more than _HIGH_WATER bytes of
# answers are unwritten (in the transport's buffer, or queued here while the
# transport is over that mark), the plugin stops reading; it reads again once
# the transport has written all but _LOW_WATER bytes and took what was queued.
_HIGH_WATER = 1024 * 1024
_LOW_WATER = 256 * 1024
# Past this many unwritten bytes of its own frames while the host does not
# read, a plugin drops the events it publishes (publishing never waits).
_EVENT_BACKLOG = 4 * _HIGH_WATER
# Data longer than this goes to the transport as a memoryview: what the socket
# does not take at once is then copied once (into the transport's buffer), not
# twice (a slice of it first).
_VIEW_WRITE = 64 * 1024

# The frame kinds whose body is empty, by name, for messages.
_EMPTY_BODY_KINDS = {
    KIND_CANCEL: "CANCEL", KIND_PING: "PING", KIND_PONG: "PONG",
    KIND_SHUTDOWN: "SHUTDOWN", KIND_CLOSE: "CLOSE",
}


def _credit_frame(kind: int, call_id: int, n: int) -> bytearray:
    """A STREAM_CREDIT or ARG_CREDIT frame granting `n` more bytes."""
    out = bytearray(HEADER_LEN)
    _w_var(out, n)
    _HEADER.pack_into(out, 0, len(out) - 4, kind, call_id)
    return out


class _Credit:
    """What a sender of stream items may still send, in bytes of frames:
    it sends while this is above zero, and waits for grants otherwise."""

    __slots__ = ("credit", "waiter")

    def __init__(self) -> None:
        self.credit = 0
        self.waiter: asyncio.Future[None] | None = None

    def grant(self, n: int) -> None:
        self.credit += n
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Returns once there is credit."""
        while self.credit <= 0:
            waiter = self.waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self.waiter = None


class _Inbox:
    """The items of one stream this side receives, held against the credit
    it granted: never more than the window plus one item. The consumer's
    `take` grants again each time it has taken half a window."""

    __slots__ = ("items", "credit", "taken", "window", "waiter")

    def __init__(self, window: int) -> None:
        self.items: collections.deque[bytes] = collections.deque()
        # Granted and not yet used by the sender (the first grant is the window).
        self.credit = window
        self.taken = 0
        self.window = window
        self.waiter: asyncio.Future[None] | None = None

    def put(self, body: bytes) -> bool:
        """Keeps an item; False when the sender had no credit for it."""
        if self.credit <= 0:
            return False
        self.credit -= HEADER_LEN + len(body)
        self.items.append(body)
        self.wake()
        return True

    def take(self) -> tuple[bytes, int]:
        """The next item, and the credit to grant now (0: none yet)."""
        body = self.items.popleft()
        self.taken += HEADER_LEN + len(body)
        if self.taken >= max(1, self.window // 2):
            grant = min(self.taken, _MAX_CREDIT)
            self.taken -= grant
            self.credit += grant
            return body, grant
        return body, 0

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        waiter = self.waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self.waiter = None


class _ArgStream(AsyncIterator[Any]):
    """A handler's stream argument: the items the host sends (ARG_ITEM),
    decoded as the handler reads them, then the end (ARG_END), or the
    host's error as the last item."""

    __slots__ = ("conn", "call_id", "name", "decode", "inbox", "ended", "error", "stopped")

    def __init__(self, conn: _Plugin, call_id: int, name: str, decode: Callable[[Reader], Any], window: int) -> None:
        self.conn = conn
        self.call_id = call_id
        self.name = name
        self.decode = decode
        self.inbox = _Inbox(window)
        self.ended = False
        self.error: BaseException | None = None
        self.stopped = False

    def __aiter__(self) -> _ArgStream:
        return self

    async def __anext__(self) -> Any:
        inbox = self.inbox
        while True:
            if self.stopped:
                raise StopAsyncIteration
            if inbox.items:
                body, grant = inbox.take()
                if grant and self.conn.arg_streams.get(self.call_id) is self and not self.conn.ended:
                    self.conn.send_request(_credit_frame(KIND_ARG_CREDIT, self.call_id, grant))
                r = _ViewReader(cast(bytes, memoryview(body))) if len(body) > _LONG_FRAME else Reader(body)
                try:
                    value = self.decode(r)
                    r.done()
                except (DecodeError, RecursionError) as e:
                    raise DecodeError(f"an item of the stream argument of {self.name} does not decode: {e}") from None
                return value
            if self.ended:
                error, self.error = self.error, None
                self.stopped = True
                if error is not None:
                    raise error
                raise StopAsyncIteration
            await inbox.wait()

    async def aclose(self) -> None:
        """Stops reading: no more credit is granted, items still arriving are dropped."""
        self.stop()

    def stop(self) -> None:
        self.stopped = True
        self.inbox.items.clear()
        if self.conn.arg_streams.get(self.call_id) is self:
            del self.conn.arg_streams[self.call_id]

    def end(self, error: BaseException | None) -> None:
        self.ended = True
        self.error = error
        self.inbox.wake()


class _Call:
    """One call of this plugin to the host, waiting for its answer."""

    __slots__ = (
        "future", "contract", "method", "decode", "decode_err", "error", "frame", "seconds", "timer",
        "inbox", "credit", "pump", "source", "encode_item",
    )

    def __init__(
        self, future: asyncio.Future[Any], contract: Contract | None, method: int,
        decode: Callable[[Reader], Any] | None, decode_err: Callable[[Reader], Any] | None,
        error: type[DomainError] | None, frame: bytearray, seconds: float | None,
    ) -> None:
        self.future = future
        self.contract = contract
        self.method = method
        self.decode = decode
        self.decode_err = decode_err
        self.error = error
        # The REQUEST (or PING) frame, to withdraw it while it is unwritten.
        self.frame = frame
        # How long the call had when it was sent, when it has a deadline.
        self.seconds = seconds
        self.timer: asyncio.TimerHandle | None = None
        # An answer stream: the items received, not yet read.
        self.inbox: _Inbox | None = None
        # A stream argument: its source, the item encoder, the host's
        # credit and the task that sends the items.
        self.source: AsyncIterable[Any] | Iterable[Any] | None = None
        self.encode_item: Callable[[bytearray, Any], None] | None = None
        self.credit: _Credit | None = None
        self.pump: asyncio.Task[None] | None = None

    def name(self) -> str:
        return _method_name(self.contract, self.method)


def _as_async(handler: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`handler` as an `async` function, whether it is one or not."""
    if inspect.iscoroutinefunction(handler):
        return cast(Callable[..., Awaitable[Any]], handler)

    async def call(*args: Any) -> Any:
        result = handler(*args)
        if inspect.isawaitable(result):
            result = await result
        return result
    return call


@types.coroutine
def _carry_on(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Goes on with a coroutine already started and suspended on `yielded`,
    as `await coro` would had it started in the awaiting task."""
    while True:
        try:
            sent = yield yielded
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as e:
            try:
                yielded = coro.throw(e)
            except StopIteration as done:
                return done.value
        else:
            try:
                yielded = coro.send(sent)
            except StopIteration as done:
                return done.value


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    """Fails a call's future, unless it is done (cancelled) already. The
    exception counts as seen: a task cancelled at the same moment never
    reads it, and asyncio would log it as never retrieved."""
    if not future.done():
        future.set_exception(exc)
        future.exception()


class _Plugin(asyncio.BufferedProtocol):
    """The plugin's side of one connection: frames in, handlers run, frames
    out; and the plugin's own calls to the host."""

    # Slots: the attributes the read loop touches for every frame load at
    # the speed of a slot, however many the class has.
    __slots__ = (
        "services", "hello", "requires", "loop", "transport", "inbuf", "inview", "start", "fill",
        "reading", "outbuf", "outbytes", "tail", "routes", "read_time", "deadline_token", "deadline_ms",
        "deadline_set",
        "flush_scheduled", "write_paused", "read_paused",
        "resume_scheduled", "welcomed", "max_frame", "tasks", "cancelled", "spawned", "draining",
        "at_once", "ended", "end_reason", "host_contracts", "welcome", "calls", "next_id", "request_bytes",
        "room", "finished", "closed", "protocol", "window", "out_streams", "arg_streams",
        "subscriptions", "next_sub", "early", "events_dropped",
    )

    def __init__(
        self, services: Sequence[Service], hello: bytes, requires: Sequence[Contract] = (),
        window: int = DEFAULT_STREAM_WINDOW,
    ) -> None:
        self.services = list(services)
        self.hello = hello
        self.requires = list(requires)
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        # Reads land in one reused buffer (no new bytes object per read);
        # inbuf[start:fill] are the bytes received and not yet parsed.
        self.inbuf = bytearray(_READ_BUFFER)
        self.inview = memoryview(self.inbuf)
        self.start = 0
        self.fill = 0
        self.reading = False
        # Frames not yet given to the transport, and their length in bytes.
        self.outbuf: list[bytes | bytearray] = []
        self.outbytes = 0
        # The last frame in outbuf when answers made at once may be appended to
        # it (see answer_run): a read's answers fill one buffer.
        self.tail: bytearray | None = None
        # The methods a request can be answered at once for, by head (see _routes).
        self.routes = _routes(self.services)
        # The deadline of the calls answered at once (see set_deadline): set
        # in _DEADLINE from the first of them to the end of their run of
        # frames; its milliseconds (-1: not set) and its moment.
        self.read_time = 0.0
        self.deadline_token: contextvars.Token[float | None] | None = None
        self.deadline_ms = -1
        self.deadline_set: float | None = None
        self.flush_scheduled = False
        # The transport's buffer is over _HIGH_WATER (pause_writing).
        self.write_paused = False
        # Reading stopped for backpressure; frames may wait in inbuf.
        self.read_paused = False
        self.resume_scheduled = False
        self.welcomed = False
        self.max_frame = MAX_HANDSHAKE_FRAME
        # The calls whose handlers run, by id.
        self.tasks: dict[int, asyncio.Task[None]] = {}
        # The tasks of calls cancelled by CANCEL that have not ended yet.
        self.cancelled: set[asyncio.Task[None]] = set()
        # How many tasks were created for calls (see process).
        self.spawned = 0
        # Whether a handler that never awaits may answer at once: only while
        # every frame of this read so far was a request answered at once, so
        # that nothing this read made ready (a task's first step, a cancelled
        # or woken handler) runs after a handler that came later.
        self.at_once = False
        self.draining = False
        # Set by finish, as `finished` is; end_reason says why the connection ended.
        self.ended = False
        self.end_reason = ""
        # The contracts the host serves to this plugin (WELCOME): name -> (index, fingerprint).
        self.host_contracts: dict[str, tuple[int, str]] = {}
        # Set when the host welcomed this plugin; failed if the connection ends first.
        self.welcome: asyncio.Future[None] = self.loop.create_future()
        # This plugin's calls to the host that wait for their answers, by id.
        self.calls: dict[int, _Call] = {}
        self.next_id = 1
        # The bytes of requests (and CANCEL, PING) in outbuf: unlike answers,
        # they never stop the reading (docs/WIRE.md section 4, "Backpressure").
        self.request_bytes = 0
        # Set when requests may be queued again after they passed _HIGH_WATER.
        self.room: asyncio.Future[None] | None = None
        self.finished: asyncio.Future[str | None] = self.loop.create_future()
        # Set when the transport is closed and its last bytes written.
        self.closed: asyncio.Future[None] = self.loop.create_future()
        # The protocol version the host chose (WELCOME).
        self.protocol = 0
        # The bytes of stream items this plugin lets the host send ahead.
        self.window = window
        # The answer streams of the host's calls: the credit the host granted, by id.
        self.out_streams: dict[int, _Credit] = {}
        # The stream arguments of the host's calls, by id.
        self.arg_streams: dict[int, _ArgStream] = {}
        # This plugin's live subscriptions, by id; the next id to try.
        self.subscriptions: dict[int, Subscription[Any]] = {}
        self.next_sub = 1
        # SUBSCRIBE frames made before the welcome, by subscription id.
        self.early: dict[int, bytearray] = {}
        # Events not published because the host did not read.
        self.events_dropped = 0

    # -- output ---------------------------------------------------------

    def send(self, frame: bytes | bytearray) -> None:
        # Frames queued in one turn of the loop go out in one write; those
        # queued while reading go out when the read is handled (`process`).
        self.outbuf.append(frame)
        self.outbytes += len(frame)
        self.tail = None
        if not self.flush_scheduled and not self.reading:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def send_request(self, frame: bytearray) -> None:
        """Queues one of this plugin's own frames (REQUEST, CANCEL, PING):
        as `send`, but it does not count toward the answers that stop the
        reading."""
        self.outbuf.append(frame)
        self.request_bytes += len(frame)
        self.tail = None
        if not self.flush_scheduled and not self.reading:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        self.write_out()
        if self.write_paused and self.outbytes > _HIGH_WATER:
            # Answers made outside a read (by handlers' tasks) passed the mark.
            self.stop_reading()

    def write_out(self) -> None:
        """Gives the queued frames to the transport, unless it is over its
        high-water mark; then reads again if reading waited only for that."""
        if self.outbuf and not self.write_paused:
            self.write_all()
        room = self.room
        if room is not None and not self.write_paused:
            # Requests that waited for room may be queued.
            self.room = None
            if not room.done():
                room.set_result(None)
        if self.read_paused and not self.write_paused and not self.resume_scheduled:
            self.resume_scheduled = True
            self.loop.call_soon(self.read_again)

    def write_all(self) -> None:
        out = self.outbuf
        t = self.transport
        if t is not None and not t.is_closing():
            data = out[0] if len(out) == 1 else b"".join(out)
            # May call pause_writing.
            t.write(memoryview(data) if len(data) > _VIEW_WRITE else data)
        out.clear()
        # The transport may hold on to what it was given: never appended to again.
        self.tail = None
        self.outbytes = 0
        self.request_bytes = 0

    def pause_writing(self) -> None:
        # The transport holds more than _HIGH_WATER unwritten bytes: new
        # frames wait in outbuf. Reading goes on (the host's answers to this
        # plugin's calls must get through) until the answers waiting here
        # pass _HIGH_WATER too (process, flush).
        self.write_paused = True

    def resume_writing(self) -> None:
        # The transport is down to _LOW_WATER.
        self.write_paused = False
        self.write_out()

    def stop_reading(self) -> None:
        if not self.read_paused:
            self.read_paused = True
            if self.transport is not None:
                self.transport.pause_reading()

    def read_again(self) -> None:
        """Handles the frames that waited in the read buffer, then reads from
        the socket again, unless the answers are over the mark once more."""
        self.resume_scheduled = False
        if not self.read_paused or self.write_paused or self.outbuf or self.ended:
            return
        self.read_paused = False
        self.process()
        if not self.read_paused and not self.ended and self.transport is not None:
            self.transport.resume_reading()

    def finish(self, error: str | None) -> None:
        """Ends the connection; `error` says why when it is a failure."""
        if self.ended:
            return
        self.ended = True
        self.end_reason = error or "the connection ended"
        # The calls to the host fail first: the handlers cancelled below
        # then send no CANCEL for them.
        calls = list(self.calls.values())
        self.calls.clear()
        for call in calls:
            if call.timer is not None:
                call.timer.cancel()
            name = call.name()
            _fail(call.future, ConnectionClosed(
                name, f"the connection to the host ended before {name} was answered: {self.end_reason}",
            ))
        _fail(self.welcome, ConnectionClosed("", self.end_reason))
        if self.room is not None:
            _fail(self.room, ConnectionClosed("", self.end_reason))
            self.room = None
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        self.out_streams.clear()
        for arg in self.arg_streams.values():
            arg.end(ConnectionClosed(arg.name, f"the connection to the host ended: {self.end_reason}"))
        self.arg_streams.clear()
        subscriptions = list(self.subscriptions.values())
        self.subscriptions.clear()
        self.early.clear()
        for sub in subscriptions:
            sub._fail(ConnectionClosed(sub._name, f"the connection to the host ended: {self.end_reason}"))
        # Whatever the transport holds already, the last frames go too.
        if self.outbuf:
            self.write_all()
        if self.transport is not None:
            self.transport.close()
        self.finished.set_result(error)

    # -- input ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER, low=_LOW_WATER)
        self.send(_frame(KIND_HELLO, 0, self.hello))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if exc is not None:
            self.finish(f"the connection to the host failed: {exc}")
        elif not self.welcomed:
            self.finish("the host closed the connection before answering the hello")
        else:
            self.finish(None)

    def eof_received(self) -> bool | None:
        if not self.welcomed:
            self.finish("the host closed the connection before answering the hello")
        else:
            self.finish(None)
        return None

    def get_buffer(self, sizehint: int) -> memoryview:
        if len(self.inbuf) - self.fill < _MIN_READ:
            self.make_room()
        return self.inview[self.fill:]

    def make_room(self) -> None:
        """Moves the unparsed bytes to the front of the read buffer, or into a
        bigger one when the frame they start is longer than the buffer."""
        start, fill = self.start, self.fill
        size = _READ_BUFFER
        if fill - start >= 4:
            # process already checked this length against the maximum.
            size = max(size, 4 + _U32.unpack_from(self.inbuf, start)[0])
        if size > len(self.inbuf) or start > 0:
            unread = bytes(self.inview[start:fill])
            if size > len(self.inbuf):
                self.inbuf = bytearray(size)
                self.inview = memoryview(self.inbuf)
            self.inbuf[:len(unread)] = unread
            self.start, self.fill = 0, len(unread)

    def buffer_updated(self, nbytes: int) -> None:
        self.fill += nbytes
        self.process()

    def process(self) -> None:
        """Handles the whole frames in inbuf[start:fill]; stops early when the
        unwritten answers pass _HIGH_WATER (the rest waits for read_again)."""
        fill = self.fill
        buf = self.inbuf
        view = self.inview
        pos = self.start
        spawned_before = self.spawned
        # Both change only in on_frame (the welcome).
        max_frame = self.max_frame
        welcomed = self.welcomed
        self.reading = True
        self.at_once = True
        self.read_time = 0.0
        try:
            while True:
                if self.at_once and welcomed:
                    pos = self.answer_run(pos, fill)
                    if self.spawned != spawned_before:
                        self.at_once = False
                    if self.ended:
                        return
                    if self.outbytes > _HIGH_WATER:
                        self.stop_reading()
                        break
                left = fill - pos
                if left < HEADER_LEN:
                    # A bad length is seen as soon as its 4 bytes are.
                    if left >= 4:
                        self.check_length(_U32.unpack_from(buf, pos)[0])
                    break
                length, kind, call_id = _HEADER.unpack_from(buf, pos)
                if length < MIN_LENGTH or length > max_frame:
                    self.check_length(length)
                end = pos + 4 + length
                if end > fill:
                    break
                if kind == KIND_REQUEST and welcomed:
                    self.end_deadline()
                    if length > _LONG_FRAME:
                        # Decoded in place: the only copies are the values.
                        r: Reader = _ViewReader(cast(bytes, view[pos + HEADER_LEN:end]))
                    else:
                        r = Reader(bytes(view[pos + HEADER_LEN:end]))
                    pos = end
                    self.on_request(call_id, r)
                    if self.spawned != spawned_before:
                        self.at_once = False
                else:
                    self.end_deadline()
                    body = view[pos + HEADER_LEN:end]
                    pos = end
                    self.at_once = False
                    self.on_frame(kind, call_id, body)
                    max_frame = self.max_frame
                    welcomed = self.welcomed
                if self.ended:
                    return
                if self.outbytes > _HIGH_WATER:
                    # The answers of this read are over the mark already.
                    self.stop_reading()
                    break
        except ProtocolError as e:
            self.finish(f"protocol error: {e}")
            return
        finally:
            self.reading = False
            self.at_once = False
            self.end_deadline()
        if pos == fill:
            self.start = self.fill = 0
            if len(buf) > _READ_BUFFER:
                # Do not keep a buffer sized for one long frame.
                self.inbuf = bytearray(_READ_BUFFER)
                self.inview = memoryview(self.inbuf)
        else:
            self.start = pos
        if self.spawned != spawned_before:
            # The tasks just created run their first step in the next turn of the
            # loop, before this flush: the answers of the calls that need not wait
            # go out together, in that same turn.
            if not self.flush_scheduled:
                self.flush_scheduled = True
                self.loop.call_soon(self.flush)
        else:
            self.write_out()

    def check_length(self, length: int) -> None:
        """Fails unless a frame's length field is within the limits."""
        if length < MIN_LENGTH:
            raise ProtocolError(
                f"frame length {length} is shorter than the {MIN_LENGTH} bytes of kind and id"
            )
        if length > self.max_frame:
            raise ProtocolError(
                f"frame length {length} exceeds the maximum frame size {self.max_frame}"
            )

    def on_frame(self, kind: int, call_id: int, body: memoryview) -> None:
        if kind not in _KNOWN_KINDS:
            raise ProtocolError(f"unknown frame kind 0x{kind:02x}")
        if not self.welcomed:
            self.on_handshake(kind, call_id, bytes(body))
            return
        name = _EMPTY_BODY_KINDS.get(kind)
        if name is not None and len(body):
            raise ProtocolError(f"a {name} frame must have an empty body; this one has {len(body)} byte(s)")
        if kind in _V3_KINDS:
            self.on_v3_frame(kind, call_id, body)
            return
        if kind == KIND_CANCEL:
            self.out_streams.pop(call_id, None)
            arg = self.arg_streams.pop(call_id, None)
            if arg is not None:
                arg.stopped = True
            task = self.tasks.pop(call_id, None)
            if task is not None:
                # Its id is free at once; the task may still run a while.
                self.cancelled.add(task)
                task.add_done_callback(self.cancelled.discard)
                task.cancel()
                self.maybe_drained()
        elif kind == KIND_PING:
            self.send(_frame(KIND_PONG, call_id))
        elif kind == KIND_SHUTDOWN or kind == KIND_CLOSE:
            if call_id != 0:
                raise ProtocolError(f"a {name} frame must carry id 0, not {call_id}")
            if kind == KIND_CLOSE:
                self.finish(None)
            else:
                self.draining = True
                self.maybe_drained()
        elif kind in (KIND_RESPONSE, KIND_ERROR, KIND_PONG):
            self.on_answer(kind, call_id, body)
        else:
            raise ProtocolError(f"unexpected frame kind 0x{kind:02x} after the handshake")

    def on_v3_frame(self, kind: int, call_id: int, body: memoryview) -> None:
        """The frames of streams and events (version 3)."""
        if self.protocol < PROTOCOL_STREAMS:
            raise ProtocolError(
                f"frame kind 0x{kind:02x} belongs to protocol {PROTOCOL_STREAMS}, but this connection "
                f"speaks protocol {self.protocol}"
            )
        if kind == KIND_STREAM_ITEM:
            # An item of the answer stream of this plugin's call.
            call = self.calls.get(call_id)
            if call is None or call.inbox is None:
                return
            if not call.inbox.put(bytes(body)):
                raise ProtocolError(
                    f"the host sent a stream item for call {call_id} with no credit left "
                    f"(the window is {call.inbox.window} bytes)"
                )
        elif kind == KIND_ARG_ITEM:
            arg = self.arg_streams.get(call_id)
            if arg is None or arg.ended:
                return
            if not arg.inbox.put(bytes(body)):
                raise ProtocolError(
                    f"the host sent an argument item for call {call_id} with no credit left "
                    f"(the window is {arg.inbox.window} bytes)"
                )
        elif kind == KIND_STREAM_CREDIT or kind == KIND_ARG_CREDIT:
            name = "STREAM_CREDIT" if kind == KIND_STREAM_CREDIT else "ARG_CREDIT"
            try:
                r = Reader(bytes(body))
                n = r.u32()
                r.done()
            except DecodeError as e:
                raise ProtocolError(f"a {name} frame's body does not decode: {e}") from None
            if kind == KIND_STREAM_CREDIT:
                credit = self.out_streams.get(call_id)
            else:
                call = self.calls.get(call_id)
                credit = None if call is None else call.credit
            if credit is not None:
                credit.grant(n)
        elif kind == KIND_ARG_END:
            arg = self.arg_streams.get(call_id)
            if arg is None or arg.ended:
                return
            error: BaseException | None = None
            if len(body):
                try:
                    r = Reader(bytes(body))
                    code, message, detail = r.u32(), r.str_(), r.str_()
                    r.done()
                except DecodeError as e:
                    raise ProtocolError(f"the ARG_END frame of call {call_id} does not decode: {e}") from None
                error = RemoteError(arg.name, code, message, detail)
            arg.end(error)
        elif kind == KIND_EVENT:
            sub = self.subscriptions.get(call_id)
            if sub is None:
                return
            try:
                r = Reader(bytes(body))
                lagged = r.u64()
                topic = r.str_()
            except DecodeError as e:
                raise ProtocolError(f"the EVENT frame for subscription {call_id} does not decode: {e}") from None
            sub._push(lagged, topic, r.buf[r.pos:])
        else:
            raise ProtocolError(f"the host sent frame kind 0x{kind:02x}, which only a plugin sends")

    def on_handshake(self, kind: int, call_id: int, body: bytes) -> None:
        if kind not in (KIND_WELCOME, KIND_REFUSE):
            raise ProtocolError(f"the host answered the hello with kind 0x{kind:02x}, expected WELCOME or REFUSE")
        if call_id != 0:
            name = "WELCOME" if kind == KIND_WELCOME else "REFUSE"
            raise ProtocolError(f"a {name} frame must carry id 0, not {call_id}")
        try:
            r = Reader(body)
            if kind == KIND_WELCOME:
                protocol = r.u32()
                max_frame = r.u32()
                r.u32()  # host pid
                if not PROTOCOL_MIN <= protocol <= PROTOCOL_MAX:
                    raise ProtocolError(
                        f"the host chose protocol {protocol}, which this runtime does not speak "
                        f"(it speaks {PROTOCOL_MIN}..{PROTOCOL_MAX})"
                    )
                served: dict[str, tuple[int, str]] = {}
                for index in range(r.count()):
                    name = r.str_()
                    served.setdefault(name, (index, r.str_()))
                r.done()
                if max_frame < MIN_MAX_FRAME:
                    raise ProtocolError(
                        f"the host's welcome names a maximum frame size of {max_frame} bytes, "
                        f"below the protocol's minimum of {MIN_MAX_FRAME}"
                    )
                self.max_frame = max_frame
                self.host_contracts = served
                self.protocol = protocol
                missing = self.missing_host_contract()
                if missing is not None:
                    # The session is open: CLOSE is its last frame.
                    self.send(_frame(KIND_CLOSE, 0))
                    self.finish(missing)
                    return
                self.welcomed = True
                self.welcome.set_result(None)
                self.send_early_subscriptions()
            else:
                reason = r.str_()
                r.done()
                self.finish(f"the host refused this plugin: {reason}")
        except DecodeError as e:
            raise ProtocolError(f"the host's answer to the hello does not decode: {e}") from None

    def missing_host_contract(self) -> str | None:
        """Why the host's WELCOME does not do for this plugin: a required
        contract it does not serve, or serves in another version."""
        for c in self.requires:
            served = self.host_contracts.get(c.name)
            if served is None:
                others = ", ".join(self.host_contracts) or "none"
                return (
                    f"the host does not serve contract {c.name}, which this plugin requires "
                    f"(it serves: {others})"
                )
            if served[1] != c.fingerprint:
                return (
                    f"this plugin requires host contract {c.name} fingerprint {c.fingerprint}, but the "
                    f"host serves {c.name} with fingerprint {served[1]}; build both from the same contract"
                )
        return None

    def on_request(self, call_id: int, r: Reader) -> None:
        if call_id in self.tasks:
            raise ProtocolError(f"a request reuses id {call_id}, the id of a call still running")
        if self.draining:
            self.send(_error_frame(call_id, CODE_SHUTTING_DOWN, "the plugin is shutting down and takes no new calls"))
            return
        body = r.buf
        if r.end >= 3 and body[0] < 251 and body[1] < 251 and body[2] < 251:
            # The usual head: three one-byte varints.
            service_index, method_index, deadline_ms = body[0], body[1], body[2]
            r.pos = 3
        else:
            try:
                service_index = r.u32()
                method_index = r.u32()
                deadline_ms = r.u64()
            except DecodeError as e:
                self.send(_error_frame(call_id, CODE_BAD_REQUEST, f"the request head does not decode: {e}"))
                return
        if service_index == INTROSPECTION_CONTRACT:
            self.send(self.introspect(call_id, method_index, r))
            return
        if service_index >= len(self.services):
            self.send(_error_frame(
                call_id, CODE_UNKNOWN_SERVICE,
                f"this plugin serves {len(self.services)} contract(s); "
                f"there is no contract number {service_index}",
            ))
            return
        service = self.services[service_index]
        methods = service.contract.methods
        if method_index >= len(methods):
            self.send(_error_frame(
                call_id, CODE_UNKNOWN_METHOD,
                f"contract {service.contract.name} has {len(methods)} method(s); "
                f"there is no method number {method_index} (is the host built from a newer contract?)",
            ))
            return
        spec = methods[method_index]
        try:
            args = spec.decode_args(r)
            r.done()
        except (DecodeError, RecursionError) as e:
            # RecursionError: a value nested within the limit that still needs
            # more frames than Python allows; a bad request all the same.
            self.send(_error_frame(
                call_id, CODE_BAD_REQUEST,
                f"the arguments of {service.contract.name}.{spec.name} do not decode: {e}",
            ))
            return
        # The handler, and the task that runs it, see the call's deadline.
        when = time.monotonic() + deadline_ms / 1000.0 if deadline_ms > 0 else None
        token = _DEADLINE.set(when) if when is not None else None
        try:
            handler = service.handlers[method_index]
            if spec.stream or spec.arg_at >= 0:
                self.start_streaming(call_id, service.contract, spec, handler, args, when)
                return
            if self.at_once and service.never_awaits[method_index]:
                self.run_at_once(call_id, spec, handler, args, when)
                return
            if service.is_async[method_index]:
                self.tasks[call_id] = self.loop.create_task(self.run(call_id, spec, handler, args, when))
                self.spawned += 1
                return
            try:
                result = handler(*args)
            except Exception as e:
                self.send(self.answer_failure(call_id, spec, e))
                return
            if inspect.isawaitable(result):
                ready: Awaitable[Any] = result
                self.tasks[call_id] = self.loop.create_task(
                    self.run(call_id, spec, lambda: ready, (), when)
                )
                self.spawned += 1
            else:
                self.send(self.answer(call_id, spec, result))
        finally:
            if token is not None:
                _DEADLINE.reset(token)

    def answer_run(self, pos: int, fill: int) -> int:
        """Answers at once the requests from inbuf[pos:fill] on, one after
        the other, as long as each can be: its method is a route (see
        _routes), its head the usual one, its arguments decode. The handler
        runs now (as `run_at_once` runs it) and its answer goes into the
        read's output buffer. Returns where it stopped; the frame there is
        for `process` (an error to report, a head or an id to check, a task
        to start, or not a request)."""
        if self.draining:
            return pos
        buf = self.inbuf
        routes = self.routes
        tasks = self.tasks
        # A head of three varints at least; a long body goes through a Reader.
        shortest = MIN_LENGTH + 3
        longest = min(self.max_frame, _LONG_FRAME)
        # Past the mark, process stops reading.
        while fill - pos >= HEADER_LEN and self.outbytes <= _HIGH_WATER:
            length, kind, call_id = _HEADER.unpack_from(buf, pos)
            end = pos + 4 + length
            if kind != KIND_REQUEST or not shortest <= length <= longest or end > fill:
                break
            p = pos + HEADER_LEN
            route = routes.get(buf[p] << 8 | buf[p + 1])
            if route is None or call_id in tasks:
                break
            deadline_ms = buf[p + 2]
            if deadline_ms < 251:
                q = p + 3
            elif deadline_ms == 0xFB and end - p >= 5:
                deadline_ms = buf[p + 3] | buf[p + 4] << 8
                q = p + 5
            else:
                break
            spec, handler, is_async, decode, encode, ok_tag = route
            try:
                if decode is None:
                    r = Reader(buf, q, end)
                    # The body's budget: its length, head included.
                    r.items = end - p
                    args = spec.decode_args(r)
                    if r.pos != end:
                        break
                else:
                    decoded = decode(buf, q, end)
                    if decoded is None:
                        break
                    args = decoded
            except (DecodeError, RecursionError, IndexError, UnicodeDecodeError):
                break
            pos = end
            if deadline_ms != self.deadline_ms:
                self.set_deadline(deadline_ms)
            if is_async:
                try:
                    coro = handler(*args)
                    yielded = coro.send(None)
                except StopIteration as done:
                    result = done.value
                except asyncio.CancelledError as e:
                    # Nobody cancels a call that runs at once: the handler's own.
                    self.send(self.stray_cancel_frame(call_id, e))
                    continue
                except Exception as e:
                    self.send(self.answer_failure(call_id, spec, e))
                    continue
                else:
                    # It suspended after all: the rest runs in a task (see run_at_once).
                    tasks[call_id] = self.loop.create_task(
                        self.run(call_id, spec, _carry_on, (coro, yielded), self.deadline_set)
                    )
                    self.spawned += 1
                    break
            else:
                try:
                    result = handler(*args)
                except Exception as e:
                    self.send(self.answer_failure(call_id, spec, e))
                    continue
                if type(result) not in _PLAIN_VALUES and inspect.isawaitable(result):
                    ready: Awaitable[Any] = result
                    tasks[call_id] = self.loop.create_task(
                        self.run(call_id, spec, lambda: ready, (), self.deadline_set)
                    )
                    self.spawned += 1
                    break
            # The answer goes straight after the read's other answers.
            out = self.tail
            if out is None:
                out = self.tail = bytearray()
                self.outbuf.append(out)
            start = len(out)
            out += _NO_HEADER
            try:
                if ok_tag:
                    out.append(0)
                encode(out, result)
            except Exception as e:
                del out[start:]
                self.send(self.answer_failure(call_id, spec, e, "the handler's return value cannot be encoded: "))
                continue
            length = len(out) - start - 4
            if length > self.max_frame:
                del out[start:]
                self.send(self.too_long(call_id, spec, length))
                continue
            _HEADER.pack_into(out, start, length, KIND_RESPONSE, call_id)
            self.outbytes += length + 4
        return pos

    def set_deadline(self, deadline_ms: int) -> None:
        """Sets _DEADLINE for the calls answered at once from here on, whose
        deadline is `deadline_ms` after this read (0: none). Calls one after
        the other with the same deadline share the setting; end_deadline
        gives _DEADLINE back its value before them."""
        when = None
        if deadline_ms > 0:
            if not self.read_time:
                self.read_time = time.monotonic()
            when = self.read_time + deadline_ms / 1000.0
        token = _DEADLINE.set(when)
        if self.deadline_token is None:
            self.deadline_token = token
        self.deadline_ms = deadline_ms
        self.deadline_set = when

    def end_deadline(self) -> None:
        """Gives _DEADLINE back the value it had before the calls answered at once."""
        token = self.deadline_token
        if token is not None:
            self.deadline_token = None
            self.deadline_ms = -1
            _DEADLINE.reset(token)

    def run_at_once(
        self, call_id: int, spec: MethodSpec, handler: Callable[..., Coroutine[Any, Any, Any]],
        args: tuple[Any, ...], when: float | None,
    ) -> None:
        """Runs the coroutine of a handler that never awaits to its end now, in
        the read's turn, and queues its answer: no task, no turn of the loop.
        Nothing can cancel it or time it out before it ends, as in its own
        task (where the deadline's timer and CANCEL act only at an await)."""
        try:
            # Called here: arguments it does not take fail the call, as in `run`.
            coro = handler(*args)
            yielded = coro.send(None)
        except StopIteration as done:
            self.send(self.answer(call_id, spec, done.value))
        except asyncio.CancelledError as e:
            # Nobody cancels a call that runs at once: the handler's own.
            self.send(self.stray_cancel_frame(call_id, e))
        except Exception as e:
            self.send(self.answer_failure(call_id, spec, e))
        else:
            # It suspended after all (its code was read as never awaiting): the
            # rest runs in a task, as every awaiting handler does.
            self.tasks[call_id] = self.loop.create_task(
                self.run(call_id, spec, _carry_on, (coro, yielded), when)
            )
            self.spawned += 1

    def introspect(self, call_id: int, method_index: int, r: Reader) -> bytearray:
        """The answer to a call of the built-in introspection contract:
        describe lists the documented schema of each contract served, in the
        HELLO's order."""
        if method_index != DESCRIBE_METHOD:
            return _error_frame(
                call_id, CODE_UNKNOWN_METHOD,
                f"the introspection contract has 1 method (describe, number {DESCRIBE_METHOD}); "
                f"there is no method number {method_index}",
            )
        try:
            r.done()
        except DecodeError as e:
            return _error_frame(call_id, CODE_BAD_REQUEST, f"describe takes no arguments: {e}")
        body = encode_described([s.contract for s in self.services])
        if MIN_LENGTH + len(body) > self.max_frame:
            return _error_frame(
                call_id, CODE_HANDLER_FAILED,
                f"the documented schemas take {len(body)} bytes, more than the host's maximum frame "
                f"of {self.max_frame} bytes",
            )
        return _frame(KIND_RESPONSE, call_id, body)

    def start_streaming(
        self, call_id: int, contract: Contract, spec: MethodSpec, handler: Callable[..., Any],
        args: tuple[Any, ...], when: float | None,
    ) -> None:
        """Starts the task of a call whose answer or argument streams: the
        stream argument joins the handler's arguments, and its first credit
        goes to the host as the handler starts."""
        name = f"{contract.name}.{spec.name}"
        if self.protocol < PROTOCOL_STREAMS:
            self.send(_error_frame(
                call_id, CODE_BAD_REQUEST,
                f"{name} streams, which needs protocol {PROTOCOL_STREAMS}; this connection speaks "
                f"protocol {self.protocol}",
            ))
            return
        arg: _ArgStream | None = None
        if spec.arg_at >= 0:
            arg = _ArgStream(self, call_id, name, cast(Callable[[Reader], Any], spec.decode_item), self.window)
            self.arg_streams[call_id] = arg
            args = args[:spec.arg_at] + (arg,) + args[spec.arg_at:]
            self.send_request(_credit_frame(KIND_ARG_CREDIT, call_id, self.window))
        if spec.stream:
            credit = _Credit()
            self.out_streams[call_id] = credit
            task = self.loop.create_task(self.run_stream(call_id, spec, handler, args, when, credit))
        else:
            task = self.loop.create_task(self.run(call_id, spec, _as_async(handler), args, when))
        self.tasks[call_id] = task
        self.spawned += 1
        task.add_done_callback(lambda _: self.forget_streams(call_id, arg))

    def forget_streams(self, call_id: int, arg: _ArgStream | None) -> None:
        """Forgets the stream state of a call whose handler ended (unless a
        new call took its id)."""
        if arg is not None:
            arg.stop()
        if call_id not in self.tasks:
            self.out_streams.pop(call_id, None)

    async def run_stream(
        self, call_id: int, spec: MethodSpec, handler: Callable[..., Any], args: tuple[Any, ...],
        when: float | None, credit: _Credit,
    ) -> None:
        """Runs a handler that answers with a stream: sends its items as the
        host's credit allows, then the end (RESPONSE with an empty body), or
        ERROR. Cancelled (CANCEL, the deadline, the end of the connection),
        the generator is closed, so its `finally` blocks run."""
        frame: bytearray
        items: Any = None
        me = asyncio.current_task()
        try:
            try:
                async with asyncio.timeout(None if when is None else max(0.0, when - time.monotonic())) as cm:
                    result = handler(*args)
                    if inspect.isawaitable(result):
                        result = await result
                    is_async = hasattr(result, "__aiter__")
                    items = aiter(result) if is_async else iter(result)
                    # The end of the stream, unless an item fails.
                    frame = _frame(KIND_RESPONSE, call_id)
                    sent = 0
                    while True:
                        if is_async:
                            try:
                                item = await anext(items)
                            except StopAsyncIteration:
                                break
                        else:
                            try:
                                item = next(items)
                            except StopIteration:
                                break
                        out = bytearray(HEADER_LEN)
                        try:
                            spec.encode_ok(out, item)
                        except Exception as e:
                            frame = self.answer_failure(call_id, spec, e, "an item of the handler's stream cannot be encoded: ")
                            break
                        length = len(out) - 4
                        if length > self.max_frame:
                            frame = _error_frame(
                                call_id, CODE_HANDLER_FAILED,
                                f"an item of the stream is {length} bytes, more than the maximum frame "
                                f"size {self.max_frame}; send it in smaller items",
                            )
                            break
                        _HEADER.pack_into(out, 0, length, KIND_STREAM_ITEM, call_id)
                        if credit.credit <= 0:
                            await credit.wait()
                        if self.tasks.get(call_id) is not me:
                            # Cancelled, or the connection ended.
                            return
                        self.send(out)
                        credit.credit -= len(out)
                        sent += 1
                        if sent % 512 == 0:
                            # Let the frames go and the host's be read.
                            await asyncio.sleep(0)
            except TimeoutError:
                if not cm.expired() and (when is None or time.monotonic() < when):
                    raise
                frame = _error_frame(call_id, CODE_DEADLINE_EXCEEDED, "the stream did not end before the call's deadline")
        except asyncio.CancelledError as e:
            if _really_cancelled():
                raise
            frame = self.stray_cancel_frame(call_id, e)
        except Exception as e:
            frame = self.answer_failure(call_id, spec, e)
        finally:
            aclose = getattr(items, "aclose", None) or getattr(items, "close", None)
            if aclose is not None:
                try:
                    done = aclose()
                    if inspect.isawaitable(done):
                        await done
                except BaseException:
                    pass
        self.finish_call(call_id, frame)

    def stray_cancel_frame(self, call_id: int, e: asyncio.CancelledError) -> bytearray:
        """The answer to a call whose handler let a CancelledError of its own
        escape: still an answer, or the call would wait forever."""
        return _error_frame(
            call_id, CODE_HANDLER_FAILED,
            "the handler raised CancelledError, but the call was not cancelled",
            "".join(traceback.format_exception(e)), self.max_frame,
        )

    def finish_call(self, call_id: int, frame: bytearray) -> None:
        """Sends the answer `frame` of the call the current task ran."""
        if self.cancelled and asyncio.current_task() in self.cancelled:
            return
        if self.tasks.pop(call_id, None) is not None:
            self.out_streams.pop(call_id, None)
            self.send(frame)
            if self.draining:
                self.maybe_drained()

    async def run(
        self, call_id: int, spec: MethodSpec, handler: Callable[..., Awaitable[Any]],
        args: tuple[Any, ...], when: float | None,
    ) -> None:
        # The handler is called here, in its task: a call cancelled before its task
        # starts leaves no coroutine that nobody awaits.
        frame: bytearray | None
        try:
            if when is not None:
                try:
                    async with asyncio.timeout(max(0.0, when - time.monotonic())) as cm:
                        result = await handler(*args)
                except TimeoutError:
                    # Past the deadline, whichever timer fired first: this
                    # handler's, or that of a call to the host it made,
                    # which inherited the deadline and raised CallTimeout.
                    if not cm.expired() and time.monotonic() < when:
                        raise
                    frame = _error_frame(
                        call_id, CODE_DEADLINE_EXCEEDED,
                        "the handler did not finish before the call's deadline",
                    )
                else:
                    frame = self.answer(call_id, spec, result)
            else:
                result = await handler(*args)
                frame = self.answer(call_id, spec, result)
        except asyncio.CancelledError as e:
            if _really_cancelled():
                # Cancelled by CANCEL (nothing more is sent for this id) or by the end of the connection.
                raise
            frame = self.stray_cancel_frame(call_id, e)
        except Exception as e:
            frame = self.answer_failure(call_id, spec, e)
        # A call the host cancelled sends nothing, even when its handler let
        # the cancellation go; a new call may have its id by now.
        if self.cancelled and asyncio.current_task() in self.cancelled:
            return
        # Removing the entry first: the end of the connection took it already.
        if self.tasks.pop(call_id, None) is not None:
            self.send(frame)
            if self.draining:
                self.maybe_drained()

    def answer(self, call_id: int, spec: MethodSpec, result: Any) -> bytearray:
        out = bytearray(HEADER_LEN)
        try:
            if spec.error is not None:
                out.append(0)
            spec.encode_ok(out, result)
        except Exception as e:
            return self.answer_failure(call_id, spec, e, "the handler's return value cannot be encoded: ")
        length = len(out) - 4
        if length > self.max_frame:
            return self.too_long(call_id, spec, length)
        _HEADER.pack_into(out, 0, length, KIND_RESPONSE, call_id)
        return out

    def answer_failure(self, call_id: int, spec: MethodSpec, exc: Exception, context: str = "") -> bytearray:
        if spec.error is not None and spec.encode_err is not None and isinstance(exc, spec.error):
            out = bytearray(HEADER_LEN)
            out.append(1)
            try:
                # The wrapper carries the value; an error class is the value.
                spec.encode_err(out, exc.value if isinstance(exc, ErrorValue) else exc)
            except Exception as e:
                return self.answer_failure(call_id, spec, e, "the handler's domain error cannot be encoded: ")
            return self.finish_response(call_id, spec, out)
        # The host names the method already: the message is what went wrong.
        return _error_frame(
            call_id, CODE_HANDLER_FAILED, context + _describe(exc),
            "".join(traceback.format_exception(exc)), self.max_frame,
        )

    def finish_response(self, call_id: int, spec: MethodSpec, out: bytearray) -> bytearray:
        length = len(out) - 4
        if length > self.max_frame:
            return self.too_long(call_id, spec, length)
        _HEADER.pack_into(out, 0, length, KIND_RESPONSE, call_id)
        return out

    def too_long(self, call_id: int, spec: MethodSpec, length: int) -> bytearray:
        return _error_frame(
            call_id, CODE_HANDLER_FAILED,
            f"the answer is {length} bytes, more than the maximum frame size {self.max_frame}",
        )

    def maybe_drained(self) -> None:
        if self.draining and not self.tasks:
            self.send(_frame(KIND_CLOSE, 0))
            self.finish(None)

    # -- this plugin's calls to the host --------------------------------

    async def call(
        self, contract: Contract, method: int, out: bytearray, decode: Callable[[Reader], Any],
        decode_err: Callable[[Reader], Any] | None, error: type[DomainError] | None,
        timeout: float | None, source: AsyncIterable[Any] | Iterable[Any] | None = None,
        encode_item: Callable[[bytearray, Any], None] | None = None,
    ) -> Any:
        """Calls `contract.method` with the arguments in `out` (after
        REQUEST_ROOM bytes) and returns the decoded answer; `source`'s items
        are the stream argument, when the method takes one."""
        when, start, left = await self.prepare(contract, method, out, timeout, source is not None)
        call = _Call(self.loop.create_future(), contract, method, decode, decode_err, error, out, left)
        call.source = source
        call.encode_item = encode_item
        return await self.round_trip(call, start, KIND_REQUEST, when)

    async def stream(
        self, contract: Contract, method: int, out: bytearray, decode: Callable[[Reader], Any],
        timeout: float | None, window: int | None, source: AsyncIterable[Any] | Iterable[Any] | None,
        encode_item: Callable[[bytearray, Any], None] | None,
    ) -> AsyncGenerator[Any, None]:
        """Calls `contract.method`, which answers with a stream, and yields
        its items as they arrive; the end, or the host's error, ends it.
        Closed early, it sends CANCEL."""
        when, start, left = await self.prepare(contract, method, out, timeout, True)
        window = self.window if window is None else window
        call = _Call(self.loop.create_future(), contract, method, read_unit, None, None, out, left)
        call.source = source
        call.encode_item = encode_item
        inbox = call.inbox = _Inbox(window)
        call.future.add_done_callback(lambda _: inbox.wake())
        call_id = await self.open_call(call, start, KIND_REQUEST, when)
        self.send_request(_credit_frame(KIND_STREAM_CREDIT, call_id, window))
        try:
            while True:
                if inbox.items:
                    body, grant = inbox.take()
                    if grant and self.calls.get(call_id) is call:
                        self.send_request(_credit_frame(KIND_STREAM_CREDIT, call_id, grant))
                    r = _ViewReader(cast(bytes, memoryview(body))) if len(body) > _LONG_FRAME else Reader(body)
                    try:
                        value = decode(r)
                        r.done()
                    except (DecodeError, RecursionError) as e:
                        name = call.name()
                        raise CallError(
                            name, f"an item of the stream of {name} does not decode as its type: {e}; were "
                            "the host and this plugin built from different versions of the types the "
                            "contract uses?",
                        ) from None
                    yield value
                elif call.future.done():
                    # The end (None), or the error as the last item.
                    call.future.result()
                    return
                else:
                    await inbox.wait()
        finally:
            if self.calls.get(call_id) is call:
                del self.calls[call_id]
                self.stop_call(call_id, call)

    async def prepare(
        self, contract: Contract, method: int, out: bytearray, timeout: float | None, streams: bool,
    ) -> tuple[float | None, int, float | None]:
        """Checks that the host serves `contract` and writes the REQUEST's
        head into `out`: the call's deadline, where its frame starts in
        `out`, and how long it has."""
        # The deadline: the call's own, else what is left of its handler's.
        when = _DEADLINE.get() if timeout is None else time.monotonic() + timeout
        if not self.welcomed:
            await self.wait_for_welcome(contract, method, when)
        served = self.host_contracts.get(contract.name)
        if served is None or served[1] != contract.fingerprint:
            name = _method_name(contract, method)
            if served is None:
                why = f"the host does not serve contract {contract.name}"
            else:
                why = (
                    f"the host serves contract {contract.name} with fingerprint {served[1]}, "
                    f"this plugin's stubs have {contract.fingerprint}"
                )
            raise ContractNotServed(name, f"{name} cannot be called: {why}")
        left = None if when is None else when - time.monotonic()
        deadline_ms = 0
        if left is not None:
            if left <= 0:
                name = _method_name(contract, method)
                raise CallTimeout(name, f"the call to {name} timed out: its deadline passed before it was sent")
            deadline_ms = max(1, int(left * 1000))
        head = bytearray()
        _w_var(head, served[0])
        _w_var(head, method)
        _w_var(head, deadline_ms)
        start = REQUEST_ROOM - HEADER_LEN - len(head)
        length = len(out) - start - 4
        if length > self.max_frame:
            name = _method_name(contract, method)
            raise CallError(
                name, f"the request of {name} is {length} bytes, more than the host's maximum frame "
                f"size {self.max_frame}",
            )
        if streams and self.protocol < PROTOCOL_STREAMS:
            name = _method_name(contract, method)
            raise CallError(
                name, f"{name} streams, which needs protocol {PROTOCOL_STREAMS}; the host speaks "
                f"protocol {self.protocol}",
            )
        out[start + HEADER_LEN:REQUEST_ROOM] = head
        return when, start, left

    # -- events -----------------------------------------------------------

    def publish(
        self, contract: EventContract, kind: int, topic: bytes, payload: T,
        encode: Callable[[bytearray, T], None],
    ) -> None:
        """Sends one PUBLISH; never waits. While the host does not read and
        this plugin's unwritten frames pass _EVENT_BACKLOG, events are
        dropped (and counted in `events_dropped`)."""
        out = bytearray(HEADER_LEN)
        _w_var(out, contract.channel)
        _w_var(out, kind)
        _w_var(out, len(topic))
        out += topic
        encode(out, payload)
        name = f"{contract.name}.{contract.kinds[kind]}"
        self.check_events(name, "published")
        length = len(out) - 4
        if length > self.max_frame:
            raise EncodeError(
                f"the event {name} is {length} bytes, more than the host's maximum frame size {self.max_frame}"
            )
        if self.write_paused and self.request_bytes > _EVENT_BACKLOG:
            self.events_dropped += 1
            return
        _HEADER.pack_into(out, 0, length, KIND_PUBLISH, 0)
        self.send_request(out)

    def check_events(self, name: str, what: str) -> None:
        if self.ended:
            raise ConnectionClosed(name, f"{name} cannot be {what}: the connection to the host ended: {self.end_reason}")
        if not self.welcomed:
            raise ConnectionClosed(name, f"{name} cannot be {what} before the host welcomed this plugin")
        if self.protocol < PROTOCOL_STREAMS:
            raise CallError(
                name, f"{name} cannot be {what}: events need protocol {PROTOCOL_STREAMS}, and the host "
                f"speaks protocol {self.protocol}",
            )

    def subscribe(
        self, contract: EventContract, kind: int, pattern: str, decode: Callable[[Reader], T], capacity: int,
    ) -> Subscription[T]:
        """Opens a subscription: SUBSCRIBE now, or with the welcome."""
        name = f"{contract.name}.{contract.kinds[kind]}"
        if self.welcomed or self.ended:
            self.check_events(name, "subscribed to")
        sub_id = self.next_sub
        while sub_id in self.subscriptions or sub_id == 0:
            sub_id = (sub_id + 1) & _U64_MAX
        self.next_sub = (sub_id + 1) & _U64_MAX or 1
        sub = Subscription(self, sub_id, name, pattern, decode, capacity)
        out = bytearray(HEADER_LEN)
        w_str(out, contract.name)
        _w_var(out, contract.channel)
        _w_var(out, kind)
        w_str(out, pattern)
        _HEADER.pack_into(out, 0, len(out) - 4, KIND_SUBSCRIBE, sub_id)
        self.subscriptions[sub_id] = sub
        if self.welcomed:
            self.send_request(out)
        else:
            self.early[sub_id] = out
        return sub

    def unsubscribe(self, sub_id: int, sub: Subscription[Any]) -> None:
        if self.subscriptions.get(sub_id) is not sub:
            return
        del self.subscriptions[sub_id]
        if self.early.pop(sub_id, None) is None and self.welcomed and not self.ended:
            self.send_request(_frame(KIND_UNSUBSCRIBE, sub_id))

    def send_early_subscriptions(self) -> None:
        """Sends the subscriptions made before the welcome."""
        early = list(self.early.items())
        self.early.clear()
        for sub_id, out in early:
            sub = self.subscriptions.get(sub_id)
            if sub is None:
                continue
            if self.protocol < PROTOCOL_STREAMS:
                del self.subscriptions[sub_id]
                sub._fail(CallError(
                    sub._name, f"{sub._name} cannot be subscribed to: events need protocol "
                    f"{PROTOCOL_STREAMS}, and the host speaks protocol {self.protocol}",
                ))
            else:
                self.send_request(out)

    async def ping(self, timeout: float | None) -> float:
        when = _DEADLINE.get() if timeout is None else time.monotonic() + timeout
        if not self.welcomed:
            await self.wait_for_welcome(None, 0, when)
        left = None if when is None else when - time.monotonic()
        if left is not None and left <= 0:
            raise CallTimeout("ping", "the ping timed out: its deadline passed before it was sent")
        call = _Call(self.loop.create_future(), None, 0, None, None, None, bytearray(HEADER_LEN), left)
        started = time.monotonic()
        await self.round_trip(call, 0, KIND_PING, when)
        return time.monotonic() - started

    async def round_trip(self, call: _Call, start: int, kind: int, when: float | None) -> Any:
        """Sends `call.frame` (from `start`, where its header goes) with a
        new id, and waits for the answer."""
        call_id = await self.open_call(call, start, kind, when)
        try:
            return await call.future
        except asyncio.CancelledError:
            # The caller's task was cancelled (its handler was, or its own
            # caller gave up): the host is told to stop too.
            if self.calls.get(call_id) is call:
                del self.calls[call_id]
                self.stop_call(call_id, call)
            raise

    async def open_call(self, call: _Call, start: int, kind: int, when: float | None) -> int:
        """Sends `call.frame` (from `start`, where its header goes) with a
        new id, and the items of its stream argument after it: the id."""
        if self.ended:
            raise self.closed_error(call.name())
        if self.write_paused and self.request_bytes > _HIGH_WATER:
            await self.wait_for_room(call.name(), when)
        call_id = self.next_id
        self.next_id = call_id + 1
        frame = call.frame
        _HEADER.pack_into(frame, start, len(frame) - start - 4, kind, call_id)
        if start:
            # The header and head end where the arguments start: the
            # arguments are not copied.
            del frame[:start]
        self.calls[call_id] = call
        self.send_request(frame)
        if when is not None:
            call.timer = self.loop.call_later(max(0.0, when - time.monotonic()), self.expire, call_id, call)
        if call.source is not None:
            call.credit = _Credit()
            pump = call.pump = self.loop.create_task(self.pump(call_id, call))
            # Once the call is answered (or fails), no more items go.
            call.future.add_done_callback(lambda _: pump.cancel())
        return call_id

    async def pump(self, call_id: int, call: _Call) -> None:
        """Sends the items of a call's stream argument as the host's credit
        allows, then ARG_END: empty, or the error of a source that failed."""
        credit = cast(_Credit, call.credit)
        encode = cast(Callable[[bytearray, Any], None], call.encode_item)
        source = call.source
        call.source = None
        items: Any = None
        end = _frame(KIND_ARG_END, call_id)
        try:
            is_async = hasattr(source, "__aiter__")
            items = aiter(cast(AsyncIterable[Any], source)) if is_async else iter(cast(Iterable[Any], source))
            sent = 0
            while True:
                if is_async:
                    try:
                        item = await anext(items)
                    except StopAsyncIteration:
                        break
                else:
                    try:
                        item = next(items)
                    except StopIteration:
                        break
                out = bytearray(HEADER_LEN)
                encode(out, item)
                length = len(out) - 4
                if length > self.max_frame:
                    raise EncodeError(
                        f"an item of the stream is {length} bytes, more than the host's maximum frame "
                        f"size {self.max_frame}; send it in smaller items"
                    )
                _HEADER.pack_into(out, 0, length, KIND_ARG_ITEM, call_id)
                if credit.credit <= 0:
                    await credit.wait()
                if self.calls.get(call_id) is not call or self.ended:
                    return
                self.send_request(out)
                credit.credit -= len(out)
                sent += 1
                if sent % 512 == 0:
                    await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # The source failed: the host's handler sees the error.
            body = bytearray()
            _w_var(body, CODE_HANDLER_FAILED)
            w_str(body, _describe(e).encode("utf-8", "replace").decode("utf-8")[:_SHORT_ERROR_CHARS])
            w_str(body, "")
            end = _frame(KIND_ARG_END, call_id, body)
        finally:
            aclose = getattr(items, "aclose", None) or getattr(items, "close", None)
            if aclose is not None:
                try:
                    done = aclose()
                    if inspect.isawaitable(done):
                        await done
                except BaseException:
                    pass
        if self.calls.get(call_id) is call and not self.ended:
            self.send_request(end)

    def stop_call(self, call_id: int, call: _Call) -> None:
        """Forgets a call that waits no more: withdraws its frame if it is
        still unwritten, else sends CANCEL (a PING needs none)."""
        if call.timer is not None:
            call.timer.cancel()
        if call.pump is not None:
            call.pump.cancel()
        frame = call.frame
        for i, queued in enumerate(self.outbuf):
            if queued is frame:
                del self.outbuf[i]
                self.request_bytes -= len(frame)
                return
        if call.contract is not None and not self.ended:
            self.send_request(_frame(KIND_CANCEL, call_id))

    def expire(self, call_id: int, call: _Call) -> None:
        """The deadline of a call passed before its answer came."""
        if self.calls.get(call_id) is not call:
            return
        del self.calls[call_id]
        call.timer = None
        self.stop_call(call_id, call)
        name = call.name()
        _fail(call.future, CallTimeout(name, f"the call to {name} timed out after {call.seconds:.3g} s"))

    def closed_error(self, name: str) -> ConnectionClosed:
        return ConnectionClosed(name, f"{name} cannot be sent: the connection to the host ended: {self.end_reason}")

    async def wait_for_welcome(self, contract: Contract | None, method: int, when: float | None) -> None:
        """Waits (within the call's deadline) until the host welcomed this plugin."""
        try:
            if when is None:
                await asyncio.shield(self.welcome)
            else:
                async with asyncio.timeout(max(0.0, when - time.monotonic())):
                    await asyncio.shield(self.welcome)
        except ConnectionClosed:
            raise self.closed_error(_method_name(contract, method)) from None
        except TimeoutError:
            name = _method_name(contract, method)
            raise CallTimeout(
                name, f"the call to {name} timed out before the host welcomed this plugin",
            ) from None

    async def wait_for_room(self, name: str, when: float | None) -> None:
        """Waits (within the call's deadline) until the requests waiting to
        be written are below _HIGH_WATER: the host does not read."""
        while self.write_paused and self.request_bytes > _HIGH_WATER:
            if self.ended:
                raise self.closed_error(name)
            if self.room is None:
                self.room = self.loop.create_future()
            try:
                if when is None:
                    await asyncio.shield(self.room)
                else:
                    async with asyncio.timeout(max(0.0, when - time.monotonic())):
                        await asyncio.shield(self.room)
            except ConnectionClosed:
                raise self.closed_error(name) from None
            except TimeoutError:
                raise CallTimeout(
                    name, f"the call to {name} timed out waiting to be sent (the host does not read)",
                ) from None

    def on_answer(self, kind: int, call_id: int, body: memoryview) -> None:
        """Hands a RESPONSE, ERROR or PONG to the call it answers. The first
        answer wins; one nobody waits for is dropped unread."""
        call = self.calls.get(call_id)
        if call is None or (kind == KIND_PONG) != (call.contract is None):
            return
        if kind == KIND_ERROR:
            try:
                r = Reader(bytes(body))
                code, message, detail = r.u32(), r.str_(), r.str_()
                r.done()
            except DecodeError as e:
                raise ProtocolError(f"the ERROR frame answering call {call_id} does not decode: {e}") from None
        del self.calls[call_id]
        if call.timer is not None:
            call.timer.cancel()
        future = call.future
        if future.done():
            # Cancelled a moment ago: its task has not run yet.
            return
        if kind == KIND_PONG:
            future.set_result(None)
            return
        name = call.name()
        if kind == KIND_ERROR:
            if code == CODE_DEADLINE_EXCEEDED and call.seconds is not None:
                # The host gave up on the deadline a moment before this side did.
                _fail(future, CallTimeout(name, f"the call to {name} timed out after {call.seconds:.3g} s"))
            else:
                _fail(future, RemoteError(name, code, message, detail))
            return
        r = _ViewReader(cast(bytes, body)) if len(body) > _LONG_FRAME else Reader(bytes(body))
        decode = cast(Callable[[Reader], Any], call.decode)
        try:
            if call.decode_err is None:
                value = decode(r)
                r.done()
            elif r.enter_result() == 0:
                value = r.leave(decode(r))
                r.done()
            else:
                err = r.leave(call.decode_err(r))
                r.done()
                # An error class of the stubs is raised as it is; any other value in the wrapper.
                error = cast(type[DomainError], call.error)
                _fail(future, err if isinstance(err, error) else cast(Callable[[Any], DomainError], error)(err))
                return
        except (DecodeError, RecursionError) as e:
            _fail(future, CallError(
                name, f"the answer of {name} does not decode as its return type: {e}; were the host "
                "and this plugin built from different versions of the types the contract uses?",
            ))
            return
        future.set_result(value)


async def serve_async(
    *services: Service, requires: Sequence[type[Client]] = (), stream_window: int = DEFAULT_STREAM_WINDOW,
) -> None:
    """Connects to the host that started this process and serves `services`
    until the host closes the connection or asks the plugin to shut down.
    `requires` are the clients of the host's contracts this plugin calls
    (`StoreClient`): the host refuses the plugin unless it serves each.
    `stream_window` is how many bytes of stream items the host may send
    ahead of what a handler (or a client's answer stream) has read.

    Raises `ConnectionError` when the host refuses the plugin, does not
    serve a required contract, or breaks the protocol.
    """
    global _connection
    address = os.environ.get("GOPROC_ADDR")
    token = os.environ.get("GOPROC_TOKEN")
    if address is None or token is None:
        missing = "GOPROC_ADDR" if address is None else "GOPROC_TOKEN"
        raise _NotStartedByHost(missing)
    if not services:
        raise ValueError("serve() needs at least one service")
    for client in requires:
        if not (isinstance(client, type) and issubclass(client, Client) and hasattr(client, "CONTRACT")):
            raise TypeError(f"requires= lists generated client classes (StoreClient), not {client!r}")
    needed = [client.CONTRACT for client in requires]
    hello = bytes(encode_hello(token, os.getpid(), [s.contract for s in services], needed))
    loop = asyncio.get_running_loop()
    plugin = _Plugin(services, hello, needed, _check_window(stream_window))
    # The clients call through this connection, from now on.
    _connection = plugin
    try:
        await loop.create_unix_connection(lambda: plugin, address)
    except OSError as e:
        raise ConnectionError(f"connecting to the host at {address}: {e}") from None
    error = await plugin.finished
    # Let the last frames (answers, CLOSE) reach the host.
    try:
        async with asyncio.timeout(FLUSH_ON_EXIT):
            await asyncio.shield(plugin.closed)
    except TimeoutError:
        pass
    if error is not None:
        raise ConnectionError(error)


# ---------------------------------------------------------------------------
# In-process testing


# How long `testing` waits for the plugin's side to close once the test is done.
_TEST_CLOSE = 5.0


class _TestHost(_Plugin):
    """The host's side of an in-process test connection (`testing`): it
    answers the plugin side's HELLO with a WELCOME, as a host does, then
    calls the plugin's contracts through the same call machinery a plugin
    uses to call its host (and serves `host` contracts to the plugin)."""

    __slots__ = ()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A host says nothing first: it waits for the HELLO.
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.set_write_buffer_limits(high=_HIGH_WATER, low=_LOW_WATER)

    def on_v3_frame(self, kind: int, call_id: int, body: memoryview) -> None:
        if kind in (KIND_PUBLISH, KIND_SUBSCRIBE, KIND_UNSUBSCRIBE):
            # Nothing else in the test subscribes or publishes: events the
            # handlers publish are dropped, their subscriptions stay quiet.
            return
        super().on_v3_frame(kind, call_id, body)

    def on_handshake(self, kind: int, call_id: int, body: bytes) -> None:
        if kind != KIND_HELLO or call_id != 0:
            raise ProtocolError(f"the plugin opened with frame kind 0x{kind:02x} id {call_id}, not a HELLO with id 0")
        try:
            r = Reader(body)
            protocol_min, protocol_max = r.u32(), r.u32()
            r.str_()  # token
            r.str_()  # language
            r.str_()  # runtime
            r.u32()  # pid
            served: dict[str, tuple[int, str]] = {}
            for index in range(r.count()):
                name = r.str_()
                served.setdefault(name, (index, r.str_()))
            for _ in range(r.count()):
                r.str_()
                r.str_()
            if protocol_max >= PROTOCOL_SCHEMAS:
                for _ in range(r.count()):
                    r.str_()
            r.done()
        except DecodeError as e:
            raise ProtocolError(f"the plugin's HELLO does not decode: {e}") from None
        protocol = min(protocol_max, PROTOCOL_MAX)
        if protocol < max(protocol_min, PROTOCOL_MIN):
            raise ProtocolError(f"the plugin speaks protocols {protocol_min}..{protocol_max}, this runtime {PROTOCOL_MIN}..{PROTOCOL_MAX}")
        welcome = bytearray()
        w_u32(welcome, protocol)
        w_u32(welcome, DEFAULT_MAX_FRAME)
        w_u32(welcome, os.getpid())
        w_len(welcome, len(self.services))
        for s in self.services:
            w_str(welcome, s.contract.name)
            w_str(welcome, s.contract.fingerprint)
        self.send(_frame(KIND_WELCOME, 0, welcome))
        self.protocol = protocol
        self.max_frame = DEFAULT_MAX_FRAME
        self.host_contracts = served
        self.welcomed = True
        self.welcome.set_result(None)


@contextlib.asynccontextmanager
async def testing(
    client: type[C], *services: Service, host: Sequence[Service] = (),
    requires: Sequence[type[Client]] = (), stream_window: int = DEFAULT_STREAM_WINDOW,
) -> AsyncIterator[C]:
    """Serves `services` in this process and yields a `client` (a generated
    client class, `CalculatorClient`) of one of them, for tests: each call
    goes through the real encoders, the handshake, the dispatcher, deadlines
    (`with_timeout`) and cancellation, over a socket pair in memory.

        async with goproc_runtime.testing(CalculatorClient, calculator.service(Calc())) as calc:
            assert await calc.add(1, 2) == 3

    The generated `test_client(impl)` of a contract module is this with its
    own client and service. `host` are services the test host serves to the
    plugin, whose handlers call them through `<Contract>Client.from_host()`
    (listed in `requires`, as `serve` takes them). On leaving, the
    connection closes and the handlers still running are cancelled. Events
    the handlers publish reach no one (the test host drops them), and their
    subscriptions receive nothing.
    """
    if not services:
        raise ValueError("testing() needs at least one service to call")
    if not (isinstance(client, type) and issubclass(client, Client) and hasattr(client, "CONTRACT")):
        raise TypeError(f"testing() takes a generated client class (CalculatorClient) first, not {client!r}")
    names = [s.contract.name for s in services]
    if client.CONTRACT.name not in names:
        raise ValueError(
            f"testing() was given {client.__name__}, a client of {client.CONTRACT.name}, but serves "
            f"{', '.join(names)}; pass the service of {client.CONTRACT.name}"
        )
    global _connection
    window = _check_window(stream_window)
    needed = [c.CONTRACT for c in requires]
    hello = bytes(encode_hello("in-process test", os.getpid(), [s.contract for s in services], needed))
    loop = asyncio.get_running_loop()
    plugin = _Plugin(services, hello, needed, window)
    tester = _TestHost(host, b"", (), window)
    plugin_sock, host_sock = socket.socketpair()
    try:
        # The transports own the sockets from here on.
        await loop.create_unix_connection(lambda: tester, sock=host_sock)
        await loop.create_unix_connection(lambda: plugin, sock=plugin_sock)
    except BaseException:
        tester.finish("the test connection did not open")
        plugin_sock.close()
        host_sock.close()
        raise
    # The handlers' calls to their host (`from_host()`) go to the test host.
    outer = _connection
    _connection = plugin
    try:
        try:
            await asyncio.shield(plugin.welcome)
        except ConnectionClosed:
            raise ConnectionError(
                f"the in-process test connection did not open: {plugin.end_reason}"
            ) from None
        caller = client()
        caller._via = tester
        yield caller
    finally:
        _connection = outer
        # The host closes the connection, as a host does when done with a plugin.
        if not tester.ended:
            tester.send(_frame(KIND_CLOSE, 0))
            tester.finish(None)
        try:
            async with asyncio.timeout(_TEST_CLOSE):
                await asyncio.shield(plugin.finished)
        except TimeoutError:
            plugin.finish("the test ended")


class _NotStartedByHost(Exception):
    def __init__(self, missing: str) -> None:
        super().__init__(missing)
        self.missing = missing


# Set when handlers or threads outlived the connection by more than EXIT_GRACE.
_lingering = False


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Runs `main` on a new event loop, like `asyncio.run`, except that the
    work left over when it returns (handlers that ignore cancellation,
    threads of `asyncio.to_thread`) gets EXIT_GRACE seconds, not forever:
    a plugin whose host is gone must not keep running."""
    global _lingering
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(main)
    finally:
        try:
            left = asyncio.all_tasks(loop)
            for task in left:
                task.cancel()
            if left:
                _, pending = loop.run_until_complete(asyncio.wait(left, timeout=EXIT_GRACE))
                _lingering = _lingering or bool(pending)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            # Tells idle executor threads to stop; does not wait for busy ones.
            loop.close()
            until = time.monotonic() + EXIT_GRACE
            for thread in threading.enumerate():
                if thread is threading.current_thread() or thread.daemon:
                    continue
                thread.join(max(0.0, until - time.monotonic()))
                if thread.is_alive():
                    _lingering = True


def _exit(code: int) -> NoReturn:
    """Exits with `code`; at once, without waiting for anything, when work
    outlived the connection."""
    if _lingering:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)
    sys.exit(code)


def serve(
    *services: Service, requires: Sequence[type[Client]] = (), stream_window: int = DEFAULT_STREAM_WINDOW,
) -> NoReturn:
    """Serves `services` (from the generated `service(impl)` functions) and
    exits the process when the host is done with it: status 0 when the host
    closed the connection or asked the plugin to shut down, 1 (with one line
    on stderr) when the host refused the plugin, does not serve a contract
    in `requires` (the generated clients of the host contracts this plugin
    calls, `[StoreClient]`) or broke the protocol.

    Run by hand, not by a goproc host, it prints one line that says so and
    exits with status 2.
    """
    try:
        _run(serve_async(*services, requires=requires, stream_window=stream_window))
    except _NotStartedByHost as e:
        print(f"{NOT_STARTED_BY_HOST} (missing environment variable {e.missing})", file=sys.stderr)
        _exit(2)
    except ConnectionError as e:
        print(f"goproc plugin: {e}", file=sys.stderr)
        _exit(1)
    except KeyboardInterrupt:
        _exit(130)
    except SystemExit as e:
        # `sys.exit()` from a handler ends the process, as anywhere else.
        if e.code is None or isinstance(e.code, int):
            _exit(e.code or 0)
        print(e.code, file=sys.stderr)
        _exit(1)
    except BaseException as e:
        # Escaped the event loop: reported as Python reports any uncaught exception.
        sys.excepthook(type(e), e, e.__traceback__)
        _exit(1)
    _exit(0)
