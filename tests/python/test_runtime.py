"""Tests of the Python runtime on its own: docs/WIRE.md's golden rows (read
from the file given as the first argument), strict decoding, the limits of
WIRE.md section 3.1, range-checked encoding, the serve loop over a fake
transport (a reused call id, backpressure), and the plugin's own calls to
its host over a fake transport (answers routed, cancel, deadlines, the end
of the connection). Needs the Everything stubs importable as
`goproc_stubs`."""

from __future__ import annotations

import asyncio
import random
import re
import struct
import subprocess
import sys
import time
from typing import (
    Any, AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Coroutine, Iterable, TypeVar, cast,
)

from goproc_stubs import everything as ev
from goproc_stubs import goproc_runtime as rt
from goproc_stubs.goproc_runtime import DecodeError, EncodeError, Reader

W = Callable[[bytearray], None]
T = TypeVar("T")


def golden_tables(path: str) -> list[dict[str, bytes]]:
    text = open(path, encoding="utf-8").read()
    tables = []
    for block in re.findall(r"<!-- golden:start -->(.*?)<!-- golden:end -->", text, re.S):
        rows: dict[str, bytes] = {}
        for m in re.finditer(r"^\| `(.+?)` \| `(.*?)` \|$", block, re.M):
            raw = m.group(2)
            rows[m.group(1)] = b"" if raw == "(none)" else bytes.fromhex(raw)
        tables.append(rows)
    return tables


def enc(*writers: W) -> bytes:
    out = bytearray()
    for w in writers:
        w(out)
    return bytes(out)


def value_rows() -> dict[str, bytes]:
    return {
        "bool true": enc(lambda o: rt.w_bool(o, True)),
        "u8 200": enc(lambda o: rt.w_u8(o, 200)),
        "i8 -2": enc(lambda o: rt.w_i8(o, -2)),
        "u16 250": enc(lambda o: rt.w_u16(o, 250)),
        "u16 251": enc(lambda o: rt.w_u16(o, 251)),
        "u32 70000": enc(lambda o: rt.w_u32(o, 70000)),
        "u64 2^32": enc(lambda o: rt.w_u64(o, 1 << 32)),
        "i32 -1": enc(lambda o: rt.w_i32(o, -1)),
        "i64 -2": enc(lambda o: rt.w_i64(o, -2)),
        "i64 1": enc(lambda o: rt.w_i64(o, 1)),
        "u128 2^64": enc(lambda o: rt.w_u128(o, 1 << 64)),
        "f32 1.5": enc(lambda o: rt.w_f32(o, 1.5)),
        "f64 -0.25": enc(lambda o: rt.w_f64(o, -0.25)),
        "char 'é'": enc(lambda o: rt.w_char(o, "é")),
        'String "hé"': enc(lambda o: rt.w_str(o, "hé")),
        "Vec<u8> [1, 2, 3]": enc(lambda o: rt.w_bytes(o, b"\x01\x02\x03")),
        "Vec<u16> [1, 300]": enc(lambda o: rt.w_len(o, 2), lambda o: rt.w_u16(o, 1), lambda o: rt.w_u16(o, 300)),
        "[u8; 3] [1, 2, 3]": enc(lambda o: rt.w_u8(o, 1), lambda o: rt.w_u8(o, 2), lambda o: rt.w_u8(o, 3)),
        "Option<i32> None": enc(lambda o: o.append(0)),
        "Option<i32> Some(-1)": enc(lambda o: o.append(1), lambda o: rt.w_i32(o, -1)),
        "Option<Option<i32>> Some(None)": enc(lambda o: o.append(1), lambda o: o.append(0)),
        'BTreeMap<u8, String> {1: "one"}': enc(lambda o: rt.w_len(o, 1), lambda o: rt.w_u8(o, 1), lambda o: rt.w_str(o, "one")),
        "(u8, bool)": enc(lambda o: rt.w_u8(o, 7), lambda o: rt.w_bool(o, False)),
        "()": b"",
        "struct Point { x: 1, y: -1 }": enc(lambda o: rt.w_i32(o, 1), lambda o: rt.w_i32(o, -1)),
        "enum Shape::Circle(1.0)": enc(lambda o: ev._enc_Shape(o, ev.Shape.Circle(1.0))),
        "enum Shape::Rect { w: 2, h: 3 }": enc(lambda o: ev._enc_Shape(o, ev.ShapeRect(width=2, height=3))),
        "Result<i64, String> Ok(3)": enc(lambda o: o.append(0), lambda o: rt.w_i64(o, 3)),
        'Result<i64, String> Err("no")': enc(lambda o: o.append(1), lambda o: rt.w_str(o, "no")),
    }


def frame_rows() -> dict[str, bytes]:
    head_add = enc(lambda o: rt.w_u32(o, 0), lambda o: rt.w_u32(o, 0), lambda o: rt.w_u64(o, 0),
                   lambda o: rt.w_i64(o, 1), lambda o: rt.w_i64(o, 2))
    head_div = enc(lambda o: rt.w_u32(o, 0), lambda o: rt.w_u32(o, 1), lambda o: rt.w_u64(o, 1500),
                   lambda o: rt.w_i64(o, 1), lambda o: rt.w_i64(o, 0))
    # The runtime's own encoder, as the Rust plugin would say it.
    hello = rt.encode_hello(
        "c0ffee", 4242, [rt.Contract("Calculator", "3f9a", ())], [rt.Contract("Store", "5b7e", ())],
        language="rust", runtime="goproc-rust 0.1.0", protocol_max=3,
    )
    # Version 1, which this runtime no longer speaks: no `requires`.
    hello_v1 = enc(
        lambda o: rt.w_u32(o, 1), lambda o: rt.w_u32(o, 1), lambda o: rt.w_str(o, "c0ffee"),
        lambda o: rt.w_str(o, "rust"), lambda o: rt.w_str(o, "goproc-rust 0.1.0"),
        lambda o: rt.w_u32(o, 4242), lambda o: rt.w_len(o, 1), lambda o: rt.w_str(o, "Calculator"),
        lambda o: rt.w_str(o, "3f9a"),
    )
    welcome_v1 = enc(lambda o: rt.w_u32(o, 1), lambda o: rt.w_u32(o, 16 << 20), lambda o: rt.w_u32(o, 100))
    welcome = enc(
        lambda o: rt.w_u32(o, 3), lambda o: rt.w_u32(o, 16 << 20), lambda o: rt.w_u32(o, 100),
        lambda o: rt.w_len(o, 1), lambda o: rt.w_str(o, "Store"), lambda o: rt.w_str(o, "5b7e"),
    )
    return {
        "HELLO": bytes(rt._frame(rt.KIND_HELLO, 0, hello)),
        "WELCOME": bytes(rt._frame(rt.KIND_WELCOME, 0, welcome)),
        "HELLO protocol 1": bytes(rt._frame(rt.KIND_HELLO, 0, hello_v1)),
        "WELCOME protocol 1": bytes(rt._frame(rt.KIND_WELCOME, 0, welcome_v1)),
        "REFUSE": bytes(rt._frame(rt.KIND_REFUSE, 0, enc(lambda o: rt.w_str(o, "wrong token")))),
        "REQUEST add(1, 2)": bytes(rt._frame(rt.KIND_REQUEST, 1, head_add)),
        "RESPONSE 3": bytes(rt._frame(rt.KIND_RESPONSE, 1, enc(lambda o: rt.w_i64(o, 3)))),
        "REQUEST divide(1, 0) deadline 1500 ms": bytes(rt._frame(rt.KIND_REQUEST, 2, head_div)),
        "RESPONSE Err(DivisionByZero)": bytes(rt._frame(rt.KIND_RESPONSE, 2, b"\x01\x00")),
        "ERROR unknown method": bytes(rt._error_frame(3, rt.CODE_UNKNOWN_METHOD, "no method 9")),
        "CANCEL 2": bytes(rt._frame(rt.KIND_CANCEL, 2)),
        "PING 7": bytes(rt._frame(rt.KIND_PING, 7)),
        "PONG 7": bytes(rt._frame(rt.KIND_PONG, 7)),
        "SHUTDOWN": bytes(rt._frame(rt.KIND_SHUTDOWN, 0)),
        "CLOSE": bytes(rt._frame(rt.KIND_CLOSE, 0)),
        # The plugin's own call and the host's answer are checked through a
        # client (test_golden_call).
        'REQUEST Store.get("k") from the plugin': bytes(rt._frame(
            rt.KIND_REQUEST, 1, enc(lambda o: o.extend(b"\x00\x00\x00"), lambda o: rt.w_str(o, "k")),
        )),
        'RESPONSE Some("v") from the host': bytes(rt._frame(
            rt.KIND_RESPONSE, 1, enc(lambda o: o.append(1), lambda o: rt.w_str(o, "v")),
        )),
        # The stream and event rows: what the host sends is built here, what
        # the plugin sends comes from the runtime (golden_stream_rows).
        'STREAM_ITEM 3 "hi"': bytes(rt._frame(rt.KIND_STREAM_ITEM, 3, enc(lambda o: rt.w_str(o, "hi")))),
        "RESPONSE 4 3": bytes(rt._frame(rt.KIND_RESPONSE, 4, enc(lambda o: rt.w_u64(o, 3)))),
        "ARG_END 5 failed": bytes(rt._frame(rt.KIND_ARG_END, 5, enc(
            lambda o: rt.w_u32(o, 4), lambda o: rt.w_str(o, "disk"), lambda o: rt.w_str(o, ""),
        ))),
        "EVENT 1 lagged 2": bytes(rt._frame(rt.KIND_EVENT, 1, enc(
            lambda o: rt.w_u64(o, 2), lambda o: rt.w_str(o, "sensors/k/temp"), lambda o: rt.w_f32(o, 21.5),
        ))),
        # Version 4: the schemas in the HELLO, and the host's describe call.
        "HELLO protocol 4": bytes(rt._frame(rt.KIND_HELLO, 0, rt.encode_hello(
            "c0ffee", 4242, [GOLDEN_CALCULATOR], [GOLDEN_STORE],
            language="rust", runtime="goproc-rust 0.1.0", protocol_max=4,
        ))),
        "REQUEST describe": bytes(rt._frame(rt.KIND_REQUEST, 9, enc(
            lambda o: rt.w_u32(o, rt.INTROSPECTION_CONTRACT), lambda o: rt.w_u32(o, rt.DESCRIBE_METHOD),
            lambda o: rt.w_u64(o, 5000),
        ))),
    } | asyncio.run(golden_stream_rows()) | asyncio.run(golden_describe_rows())


# The contracts of WIRE.md's version 4 rows, their schemas as the section
# "Schemas (version 4)" prints them.
_MATH_ERROR = (
    "enum MathError {\n"
    "    DivisionByZero,\n"
    "    Overflow {\n"
    "        operation: String,\n"
    "    },\n"
    "}\n"
)
GOLDEN_CALCULATOR = rt.Contract(
    "Calculator", "3f9a", (),
    schema=(
        "contract Calculator {\n"
        "    fn add(a: i64, b: i64) -> i64;\n"
        "    fn divide(a: i64, b: i64) -> Result<i64, MathError>;\n"
        "}\n\n" + _MATH_ERROR
    ),
    documented=(
        "/// Arithmetic.\n"
        "contract Calculator {\n"
        "    /// Adds two numbers.\n"
        "    fn add(a: i64, b: i64) -> i64;\n"
        "    /// Divides, or says why not.\n"
        "    fn divide(a: i64, b: i64) -> Result<i64, MathError>;\n"
        "}\n\n" + _MATH_ERROR
    ),
)
GOLDEN_STORE = rt.Contract(
    "Store", "5b7e", (), schema="contract Store {\n    fn get(key: String) -> Option<String>;\n}\n",
)


async def golden_describe_rows() -> dict[str, bytes]:
    """`RESPONSE describe`: the serve loop's answer to `REQUEST describe`."""
    plugin = rt._Plugin([rt.Service(GOLDEN_CALCULATOR, object())], b"")
    transport = FakeTransport()
    plugin.connection_made(transport)
    feed(plugin, frame(rt.KIND_WELCOME, 0, welcome_body(protocol=4)))
    head = bytearray()
    rt.w_u32(head, rt.INTROSPECTION_CONTRACT)
    rt.w_u32(head, rt.DESCRIBE_METHOD)
    rt.w_u64(head, 5000)
    feed(plugin, frame(rt.KIND_REQUEST, 9, bytes(head)))
    await turns()
    (answer,) = transport.frames()
    return {"RESPONSE describe": frame(*answer)}


def expect_decode_error(what: str, read: Callable[[Reader], object], data: bytes) -> None:
    r = Reader(data)
    try:
        read(r)
        r.done()
    except DecodeError:
        return
    raise AssertionError(f"{what}: {data.hex()} decoded without an error")


def expect_encode_error(what: str, write: W, needle: str) -> None:
    try:
        write(bytearray())
    except EncodeError as e:
        assert needle in str(e), f"{what}: message {str(e)!r} does not mention {needle!r}"
        return
    raise AssertionError(f"{what}: encoded without an error")


def test_golden(path: str) -> None:
    values, frames = golden_tables(path)
    ours = value_rows()
    assert set(values) == set(ours), f"WIRE.md value rows differ from this test's: {set(values) ^ set(ours)}"
    for name, want in values.items():
        assert ours[name] == want, f"{name}: {ours[name].hex()} != WIRE.md {want.hex()}"
    ours_frames = frame_rows()
    # Rows the runtime cannot make itself, since a plugin never sends them:
    # read back by golden_streams_are_read.
    assert set(frames) == set(ours_frames), f"WIRE.md frame rows differ from this test's: {set(frames) ^ set(ours_frames)}"
    for name, want in frames.items():
        assert ours_frames[name] == want, f"{name}: {ours_frames[name].hex()} != WIRE.md {want.hex()}"
    # The decoders read the golden values back.
    assert Reader(values["u16 251"]).u16() == 251
    assert Reader(values["u128 2^64"]).u128() == 1 << 64
    assert Reader(values["i64 -2"]).i64() == -2
    assert Reader(values["char 'é'"]).char() == "é"
    assert ev._dec_Shape(Reader(values["enum Shape::Rect { w: 2, h: 3 }"])) == ev.Shape.Rect(width=2, height=3)
    asyncio.run(the_golden_welcomes_are_read(frames))
    asyncio.run(the_golden_call_goes_out_and_its_answer_comes_back(frames))
    asyncio.run(the_golden_stream_frames_are_read(frames))


def test_strict_decoding() -> None:
    expect_decode_error("bool 2", Reader.bool_, b"\x02")
    expect_decode_error("trailing byte", Reader.bool_, b"\x01\x00")
    expect_decode_error("empty u8", Reader.u8, b"")
    expect_decode_error("string longer than the body", Reader.str_, b"\xfd" + (1 << 36).to_bytes(8, "little") + b"ab")
    expect_decode_error("bytes longer than the body", Reader.bytes_, b"\x05abc")
    expect_decode_error("invalid UTF-8", Reader.str_, b"\x02\xc3\x28")
    expect_decode_error("u16 with a u32 marker", Reader.u16, b"\xfc\x00\x00\x01\x00")
    expect_decode_error("u64 with a u128 marker", Reader.u64, b"\xfe" + bytes(16))
    expect_decode_error("varint marker 0xff", Reader.u128, b"\xff" + bytes(16))
    expect_decode_error("truncated varint", Reader.u32, b"\xfc\x01\x02")
    expect_decode_error("surrogate char", Reader.char, b"\xed\xa0\x80")
    expect_decode_error("char past U+10FFFF", Reader.char, b"\xf4\x90\x80\x80")
    expect_decode_error("char of a continuation byte", Reader.char, b"\x80")
    expect_decode_error("truncated char", Reader.char, b"\xc3")
    expect_decode_error("option tag 2", Reader.option, b"\x02\x00")
    expect_decode_error("variant past the end", ev._dec_Shape, b"\x09")
    expect_decode_error("huge count of units", Reader.count_any, b"\xfd" + (1 << 40).to_bytes(8, "little"))
    expect_decode_error("count past the body", Reader.count, b"\x10\x00")
    expect_decode_error("record cut short", ev._dec_Record_, b"\x01\x02a")
    # Random and mutated bytes fail with DecodeError and nothing else.
    rng = random.Random(7)
    good = bytearray()
    ev._enc_Record_(good, ev.Record_(id=5, name="name", score=1.5, flags=[True], nickname="nick", shape=ev.Shape.Polygon([(1, -1)]), blob=b"blob"))
    for k in range(3000):
        if k % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        else:
            data = bytearray(good)
            data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randrange(len(data) + 1)])
        r = Reader(data)
        try:
            ev._dec_Record_(r)
            r.done()
        except DecodeError:
            pass


def same_values(a: object, b: object) -> bool:
    """Equal, floats bit for bit (NaN payloads, -0.0)."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same_values(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def fast_bodies(rng: random.Random) -> list[bytes]:
    """Argument bodies for the fast decoders: every varint form, strings and
    byte strings of one-byte and longer lengths, floats (NaNs too), and
    random bytes that start with the bytes that matter."""
    bodies: list[bytes] = [b""]
    for v in (0, 1, 2, 127, 128, 250, 251, 0xFFFF, 0x10000, (1 << 32) - 1, 1 << 32, (1 << 64) - 1, 1 << 64):
        out = bytearray()
        rt.w_u128(out, v)
        bodies.append(bytes(out))
    for text in ("", "abc", "é" * 100, "x" * 300, "\U0001F600" * 70):
        out = bytearray()
        rt.w_str(out, text)
        bodies.append(bytes(out))
    bodies += [b"\x02\xc3\x28", b"\x05abc", b"\xfb\x01"]
    for x in (0.0, -0.0, 1.5, float("inf"), float("nan")):
        bodies.append(struct.pack("<d", x))
        bodies.append(struct.pack("<f", x))
    bodies += [struct.pack("<I", 0x7F80_0001), struct.pack("<Q", 0x7FF0_0000_0000_0001)]
    interesting = [0, 1, 2, 127, 128, 250, 251, 252, 253, 254, 255]
    for _ in range(3000):
        head = bytes(rng.choice(interesting) for _ in range(rng.randrange(1, 4)))
        bodies.append(head + bytes(rng.randrange(256) for _ in range(rng.randrange(20))))
    # Pairs: the methods of two arguments.
    bodies += [a + b for a in bodies[:40] for b in bodies[:40]]
    return bodies


def test_fast_decoders() -> None:
    """A method's fast decoder (MethodSpec.decode_fast) accepts exactly what
    its Reader decoder accepts, but f32 NaNs (left to the Reader), and
    decodes it to the same arguments, wherever the body lies in the buffer
    and whatever follows it."""
    specs = [m for m in ev.EVERYTHING_CONTRACT.methods if m.decode_fast is not None]
    names = {m.name for m in specs}
    for name in ("echo_bool", "echo_u8", "echo_i8", "echo_u128", "echo_i64", "echo_f32", "echo_f64",
                 "echo_string", "echo_bytes", "echo_byte_buf", "echo_unit", "nothing", "checked"):
        assert name in names, name
    for name in ("echo_char", "echo_vec", "echo_option", "echo_record", "echo_many"):
        assert name not in names, name
    rng = random.Random(11)
    bodies = fast_bodies(rng)
    for spec in specs:
        fast = cast(Callable[[bytearray, int, int], Any], spec.decode_fast)
        for body in bodies:
            r = Reader(body)
            try:
                want = spec.decode_args(r)
                r.done()
            except DecodeError:
                want = None
            for before, after in ((0, 0), (3, 0), (5, 40)):
                buf = bytearray(rng.randrange(256) for _ in range(before)) + body
                buf += bytes(rng.randrange(256) for _ in range(after))
                try:
                    got = fast(buf, before, before + len(body))
                except (DecodeError, IndexError, UnicodeDecodeError):
                    got = None
                if got is None:
                    nan_f32 = spec.name == "echo_f32" and want is not None and want[0] != want[0]
                    assert want is None or nan_f32, (spec.name, body.hex(), want)
                else:
                    assert want is not None and same_values(got, want), (spec.name, body.hex(), got, want)


def nested_shape(depth: int) -> bytes:
    """`Labeled(Labeled(... Empty ..., ""), "")`, `depth` enums deep."""
    return bytes([4] * (depth - 1) + [0] + [0] * (depth - 1))


def nested_tree(depth: int) -> bytes:
    """`Node([Node([... Leaf(7) ...])])`, `depth` enums deep."""
    return bytes([1, 1] * (depth - 1) + [0, 7])


def expect_limit(what: str, read: Callable[[Reader], object], data: bytes, needle: str) -> None:
    try:
        read(Reader(data))
    except DecodeError as e:
        assert needle in str(e), f"{what}: message {str(e)!r} does not mention {needle!r}"
        return
    raise AssertionError(f"{what}: decoded without an error")


def check_nesting(name: str, nested: Callable[[int], bytes], dec: Callable[[Reader], object],
                  encode: Callable[[bytearray, Any], None]) -> None:
    """128 structs and enums inside one another decode and re-encode; 129 do not."""
    r = Reader(nested(rt.NESTING_LIMIT))
    value = dec(r)
    r.done()
    assert r.levels == rt.NESTING_LIMIT, f"{name}: the levels are given back"
    out = bytearray()
    encode(out, value)
    assert bytes(out) == nested(rt.NESTING_LIMIT), name
    for depth in (rt.NESTING_LIMIT + 1, 20_000):
        expect_limit(f"{name} {depth} deep", dec, nested(depth), "nesting limit")
        expect_limit(f"{name} {depth} deep", dec, nested(depth), "128")


def method(name: str) -> rt.MethodSpec:
    return next(m for m in ev.EVERYTHING_CONTRACT.methods if m.name == name)


def test_limits() -> None:
    check_nesting("Shape", nested_shape, ev._dec_Shape, ev._enc_Shape)
    check_nesting("Tree", nested_tree, ev._dec_Tree, ev._enc_Tree)
    # Siblings do not add up: 300 shapes two levels deep in one list.
    r = Reader(bytes([0xFB, 44, 1]) + bytes([1, 4, 0, 0]) * 300)
    (shapes,) = method("echo_shapes").decode_args(r)
    r.done()
    assert len(shapes) == 300 and r.levels == rt.NESTING_LIMIT
    # A Result is one level: enter_result counts it, leave gives it back.
    r = Reader(bytes(rt.NESTING_LIMIT + 1))
    for _ in range(rt.NESTING_LIMIT):
        assert r.enter_result() == 0
    expect_limit("Result 129 deep", lambda r: [r.enter_result() for _ in range(rt.NESTING_LIMIT + 1)],
                 bytes(rt.NESTING_LIMIT + 1), "nesting limit")
    for _ in range(rt.NESTING_LIMIT):
        assert r.leave(5) == 5
    assert r.levels == rt.NESTING_LIMIT
    # Items: the counts of one body add up to at most its length.
    r = Reader(bytes([2, 2, 0, 0]))
    assert (r.count_any(), r.count_any()) == (2, 2)
    expect_limit("a third count", lambda r: (r.count_any(), r.count_any(), r.count_any()),
                 bytes([2, 2, 1, 0]), "count 1")
    r = Reader(bytes([0, 0, 0, 4]), 3)
    assert r.count_any() == 4
    expect_limit("five units in four bytes", Reader.count_any, bytes([5, 0, 0, 0]), "count 5")
    expect_limit("a huge map", Reader.count, b"\xfd" + (1 << 40).to_bytes(8, "little"), f"count {1 << 40}")
    units = method("count_units")
    for n in range(5):
        r = Reader(bytes([0, 0, 0, n]), 3)
        assert units.decode_args(r) == ([None] * n,)
    expect_limit("count_units(5)", lambda r: units.decode_args(r), bytes([5]), "count 5")


def test_view_reader() -> None:
    """A long body is decoded in the read buffer, through a memoryview, to
    the same values as from bytes."""
    good = bytearray()
    record = ev.Record_(
        id=7, name="naïve ✓", score=-0.5, flags=[True, False], nickname="nick",
        shape=ev.Shape.Labeled(ev.Shape.Circle(1.5), "é"), blob=b"\x00blob",
    )
    ev._enc_Record_(good, record)
    buf = bytearray(b"\xee" * 5) + good + bytearray(b"\xee" * 5)
    r = rt._ViewReader(cast(bytes, memoryview(buf)[5:5 + len(good)]))
    got = ev._dec_Record_(r)
    r.done()
    assert got == record, got
    assert type(got.blob) is bytes and type(got.name) is str
    r = rt._ViewReader(cast(bytes, memoryview(bytearray(b"\x02\xc3\x28"))))
    try:
        r.str_()
    except DecodeError:
        pass
    else:
        raise AssertionError("invalid UTF-8 through a memoryview decoded")
    r = rt._ViewReader(cast(bytes, memoryview(bytearray("é".encode()))))
    assert r.char() == "é"


def test_checked_encoding() -> None:
    expect_encode_error("u8 300", lambda o: rt.w_u8(o, 300), "300 is out of range for u8")
    expect_encode_error("u8 -1", lambda o: rt.w_u8(o, -1), "u8")
    expect_encode_error("i8 128", lambda o: rt.w_i8(o, 128), "i8")
    expect_encode_error("u16 65536", lambda o: rt.w_u16(o, 65536), "u16")
    expect_encode_error("i32 2^31", lambda o: rt.w_i32(o, 1 << 31), "i32")
    expect_encode_error("u64 -1", lambda o: rt.w_u64(o, -1), "u64")
    expect_encode_error("i64 2^63", lambda o: rt.w_i64(o, 1 << 63), "i64")
    expect_encode_error("u128 2^128", lambda o: rt.w_u128(o, 1 << 128), "u128")
    expect_encode_error("i128 -2^127-1", lambda o: rt.w_i128(o, -(1 << 127) - 1), "i128")
    expect_encode_error("a str for u32", lambda o: rt.w_u32(o, "1"), "expected an int")  # type: ignore[arg-type]
    expect_encode_error("a float for i64", lambda o: rt.w_i64(o, 1.0), "expected an int")  # type: ignore[arg-type]
    expect_encode_error("two chars", lambda o: rt.w_char(o, "ab"), "exactly one character")
    expect_encode_error("lone surrogate", lambda o: rt.w_str(o, "\ud800"), "not valid Unicode")
    expect_encode_error("f32 overflow", lambda o: rt.w_f32(o, 1e300), "f32")
    expect_encode_error("short array", lambda o: rt.w_array_len([1, 2], 4), "exactly 4")
    expect_encode_error("wrong variant", lambda o: ev._enc_Shape(o, ev.Pair(1, 2)), "Shape")  # type: ignore[arg-type]
    expect_encode_error("field out of range", lambda o: ev._enc_Pair(o, ev.Pair(1, -2)), "u16")
    # Values round-trip through the generated codecs at the edges.
    for v in (0, 1, 250, 251, 65535, 65536, (1 << 32) - 1, 1 << 32, (1 << 64) - 1):
        out = bytearray()
        rt.w_u64(out, v)
        assert Reader(bytes(out)).u64() == v
    for v in (0, -1, 1, -(1 << 63), (1 << 63) - 1):
        out = bytearray()
        rt.w_i64(out, v)
        assert Reader(bytes(out)).i64() == v
    # A string's length counts its UTF-8 bytes: 63 four-byte characters
    # take 252, a length of three bytes.
    for text in ("x" * 250, "x" * 251, "\U0001F600" * 62, "\U0001F600" * 63, "é" * 200):
        out = bytearray()
        rt.w_str(out, text)
        raw = text.encode("utf-8")
        n = len(raw)
        want = (bytes([n]) if n < 251 else b"\xfb" + n.to_bytes(2, "little")) + raw
        assert bytes(out) == want, (len(text), out[:4].hex())
        assert Reader(bytes(out)).str_() == text


def test_f32_nans() -> None:
    def f64_bits(v: float) -> int:
        return int(struct.unpack("<Q", struct.pack("<d", v))[0])

    def f32_out(v: float) -> int:
        out = bytearray()
        rt.w_f32(out, v)
        return int(struct.unpack("<I", out)[0])

    def double(bits: int) -> float:
        return float(struct.unpack("<d", struct.pack("<Q", bits))[0])

    # An f32 NaN is the double NaN with its sign, its payload (shifted to the
    # top) and its signalling bit, and goes back to the same f32 bits.
    for bits, want in (
        (0x7F80_0001, 0x7FF0_0000_2000_0000),
        (0xFF80_0001, 0xFFF0_0000_2000_0000),
        (0x7FBF_FFFF, 0x7FF7_FFFF_E000_0000),
        (0x7FC0_0000, 0x7FF8_0000_0000_0000),
        (0xFFC0_1234, 0xFFF8_0246_8000_0000),
    ):
        v = Reader(struct.pack("<I", bits)).f32()
        assert f64_bits(v) == want, (hex(bits), hex(f64_bits(v)))
        assert f32_out(v) == bits, (hex(bits), hex(f32_out(v)))
    # A double NaN encoded as f32 keeps the top of its payload and its
    # signalling bit; one whose payload has no bit in the top 23 becomes the
    # quiet NaN, never an infinity.
    for bits, want in (
        (0x7FF0_0000_4000_0000, 0x7F80_0002),
        (0x7FF8_0000_2000_0001, 0x7FC0_0001),
        (0x7FF0_0000_0000_0001, 0x7FC0_0000),
        (0xFFF0_0000_1FFF_FFFF, 0xFFC0_0000),
        (0x7FF8_0000_0000_0000, 0x7FC0_0000),
    ):
        assert f32_out(double(bits)) == want, (hex(bits), hex(f32_out(double(bits))))
    # Other values are as before.
    assert f32_out(float("inf")) == 0x7F80_0000 and f32_out(-0.0) == 0x8000_0000


class FakeTransport(asyncio.Transport):
    """Keeps what the plugin writes; says whether reading is paused."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.paused = False
        self.pauses = 0
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        self.paused = True
        self.pauses += 1

    def resume_reading(self) -> None:
        self.paused = False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def frames(self) -> list[tuple[int, int, bytes]]:
        """The frames written so far after the HELLO: (kind, id, body)."""
        out, pos = [], 0
        while pos < len(self.written):
            length, kind, call_id = struct.unpack_from("<IBQ", self.written, pos)
            out.append((kind, call_id, bytes(self.written[pos + 13:pos + 4 + length])))
            pos += 4 + length
        return [f for f in out if f[0] != rt.KIND_HELLO]


def frame(kind: int, call_id: int, body: bytes = b"") -> bytes:
    return bytes(rt._frame(kind, call_id, body))


def request(call_id: int, method: int, args: bytes = b"") -> bytes:
    return frame(rt.KIND_REQUEST, call_id, bytes([0, method, 0]) + args)


def feed(plugin: Any, data: bytes) -> None:
    """Hands `data` to the plugin as the transport would, in reads of what its buffer takes."""
    while data:
        buf = plugin.get_buffer(-1)
        n = min(len(buf), len(data))
        buf[:n] = data[:n]
        plugin.buffer_updated(n)
        data = data[n:]


async def turns(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


class Calls:
    """`stubborn` ignores its cancellation and answers 1 once `release` is
    set; `slow` answers 3 once `finish` is set; `big` answers 300 KiB at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.finish = asyncio.Event()

    async def stubborn(self) -> int:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await self.release.wait()
        return 1

    async def slow(self) -> int:
        await self.finish.wait()
        return 3

    def big(self) -> bytes:
        return bytes(300 * 1024)


CALLS = rt.Contract(
    name="Calls",
    fingerprint="00",
    methods=(
        rt.MethodSpec("stubborn", lambda r: (), rt.w_u8),
        rt.MethodSpec("slow", lambda r: (), rt.w_u8),
        rt.MethodSpec("big", lambda r: (), rt.w_bytes),
    ),
)
def welcome_body(max_frame: int = 1 << 20, serves: tuple[rt.Contract, ...] = (), protocol: int = 2) -> bytes:
    """A WELCOME body (version 2 unless `protocol` says otherwise): host
    pid 1, and the contracts it serves."""
    body = bytearray([protocol, 0xFC]) + max_frame.to_bytes(4, "little") + bytes([1])
    rt.w_len(body, len(serves))
    for c in serves:
        rt.w_str(body, c.name)
        rt.w_str(body, c.fingerprint)
    return bytes(body)


WELCOME = frame(rt.KIND_WELCOME, 0, welcome_body())


def start(calls: Calls) -> tuple[Any, FakeTransport]:
    plugin = rt._Plugin([rt.Service(CALLS, calls)], b"")
    transport = FakeTransport()
    plugin.connection_made(transport)
    feed(plugin, WELCOME)
    return plugin, transport


async def a_cancelled_call_that_answers_late_does_not_answer_for_the_call_reusing_its_id() -> None:
    calls = Calls()
    plugin, transport = start(calls)
    feed(plugin, request(9, 0))
    await turns()
    # Cancelled: id 9 is free again, and a new call takes it while the
    # cancelled handler still runs.
    feed(plugin, frame(rt.KIND_CANCEL, 9) + request(9, 1))
    await turns()
    calls.release.set()
    await turns()
    assert transport.frames() == [], f"the cancelled call answered: {transport.frames()}"
    calls.finish.set()
    await turns()
    assert transport.frames() == [(rt.KIND_RESPONSE, 9, bytes([3]))], transport.frames()
    assert not plugin.finished.done()


async def a_request_reusing_a_running_calls_id_ends_the_connection() -> None:
    calls = Calls()
    plugin, transport = start(calls)
    feed(plugin, request(4, 1))
    await turns()
    feed(plugin, request(4, 1))
    assert plugin.finished.done() and "reuses id 4" in (plugin.finished.result() or "")
    assert transport.closing


async def answers_past_the_high_water_mark_stop_the_reading_until_they_are_written() -> None:
    calls = Calls()
    plugin, transport = start(calls)
    # Ten answers of 300 KiB from one read: the fourth passes 1 MiB, so the
    # rest wait in the read buffer until those are written.
    feed(plugin, b"".join(request(100 + k, 2) for k in range(10)))
    assert transport.paused and transport.pauses == 1
    assert [f[1] for f in transport.frames()] == [100, 101, 102, 103]
    await turns()
    # Written (the fake transport takes everything): read again.
    assert [f[1] for f in transport.frames()] == list(range(100, 110))
    assert not transport.paused and transport.pauses == 2
    # While the transport is over its mark, answers wait in the plugin, and
    # reading goes on (the host's answers to the plugin's own calls must get
    # through) until they pass the mark too; once the transport drains, they
    # go and reading resumes.
    plugin.pause_writing()
    assert not transport.paused
    feed(plugin, request(200, 1))
    await turns()
    calls.finish.set()
    await turns()
    feed(plugin, request(201, 1))
    await turns()
    assert not transport.paused
    feed(plugin, b"".join(request(300 + k, 2) for k in range(5)))
    assert transport.paused and transport.pauses == 3
    assert [f[1] for f in transport.frames()][10:] == [], "written while the transport was full"
    plugin.resume_writing()
    await turns()
    assert [f[1] for f in transport.frames()][10:] == [200, 201, 300, 301, 302, 303, 304]
    assert not transport.paused


class Refusal(rt.ErrorValue[int]):
    """The domain error of `Failing.refuse`, a u8."""


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


class Failing:
    """Handlers that fail in every way a handler can."""

    async def boom(self) -> int:
        raise ValueError("boom")

    async def silent(self) -> int:
        raise RuntimeError()

    def plain(self) -> int:
        raise KeyError("k")

    async def unprintable(self) -> int:
        raise Unprintable()

    async def bad_return(self) -> int:
        return 256

    async def refuse(self) -> int:
        raise Refusal(300)

    async def huge(self) -> bytes:
        return bytes(2 << 20)

    async def cancelled(self) -> int:
        raise asyncio.CancelledError()


FAILING = rt.Contract(
    name="Failing",
    fingerprint="00",
    methods=(
        rt.MethodSpec("boom", lambda r: (), rt.w_u8),
        rt.MethodSpec("silent", lambda r: (), rt.w_u8),
        rt.MethodSpec("plain", lambda r: (), rt.w_u8),
        rt.MethodSpec("unprintable", lambda r: (), rt.w_u8),
        rt.MethodSpec("bad_return", lambda r: (), rt.w_u8),
        rt.MethodSpec("refuse", lambda r: (), rt.w_u8, Refusal, rt.w_u8),
        rt.MethodSpec("huge", lambda r: (), rt.w_bytes),
        rt.MethodSpec("cancelled", lambda r: (), rt.w_u8),
    ),
)


async def a_failed_call_is_answered_with_code_4_naming_what_failed_not_the_method() -> None:
    plugin = rt._Plugin([rt.Service(FAILING, Failing())], b"")
    transport = FakeTransport()
    plugin.connection_made(transport)
    feed(plugin, WELCOME)
    feed(plugin, b"".join(request(k + 1, k) for k in range(len(FAILING.methods))))
    await turns()
    errors: dict[str, tuple[str, str]] = {}
    for kind, call_id, body in transport.frames():
        assert kind == rt.KIND_ERROR, (kind, call_id, body)
        r = Reader(body)
        code, message, detail = r.u32(), r.str_(), r.str_()
        r.done()
        assert code == rt.CODE_HANDLER_FAILED, (call_id, code, message)
        errors[FAILING.methods[call_id - 1].name] = (message, detail)
    assert {name: message for name, (message, _) in errors.items()} == {
        "boom": "ValueError: boom",
        "silent": "RuntimeError",
        "plain": "KeyError: 'k'",
        "unprintable": "Unprintable: <exception str() failed>",
        "bad_return": "the handler's return value cannot be encoded: EncodeError: 256 is out of range for u8",
        "refuse": "the handler's domain error cannot be encoded: EncodeError: 300 is out of range for u8",
        "huge": f"the answer is {9 + 5 + (2 << 20)} bytes, more than the maximum frame size {1 << 20}",
        "cancelled": "the handler raised CancelledError, but the call was not cancelled",
    }, errors
    # The traceback is the detail, ending with the message's exception.
    for name in ("boom", "silent", "plain", "unprintable", "bad_return", "refuse", "cancelled"):
        detail = errors[name][1]
        assert detail.startswith("Traceback (most recent call last):"), (name, detail)
    assert errors["boom"][1].endswith("ValueError: boom\n"), errors["boom"][1]
    assert errors["huge"][1] == ""
    assert not plugin.finished.done()


async def an_error_too_long_for_a_frame_loses_its_detail_and_keeps_what_fits_of_its_message() -> None:
    class Long:
        async def long(self) -> int:
            raise ValueError("x" + "é" * 3_000_000)

    contract = rt.Contract("Long", "00", (rt.MethodSpec("long", lambda r: (), rt.w_u8),))
    for max_frame, chars in ((1 << 20, 4096 - len("ValueError: x")), (4096, 2031)):
        plugin = rt._Plugin([rt.Service(contract, Long())], b"")
        transport = FakeTransport()
        plugin.connection_made(transport)
        feed(plugin, frame(rt.KIND_WELCOME, 0, welcome_body(max_frame)) + request(1, 0))
        await turns()
        [(kind, call_id, body)] = transport.frames()
        assert (kind, call_id) == (rt.KIND_ERROR, 1)
        assert rt.HEADER_LEN - 4 + len(body) <= max_frame, len(body)
        r = Reader(body)
        code, message, detail = r.u32(), r.str_(), r.str_()
        r.done()
        # With a 4096-byte frame, 4075 bytes of message fit: the half of an
        # "é" past them is dropped.
        assert (code, message, detail) == (rt.CODE_HANDLER_FAILED, "ValueError: x" + "é" * chars, ""), (
            max_frame, code, len(message), message[:40], detail[:40],
        )


async def describe_answers_the_documented_schemas_in_hello_order_and_refuses_other_methods() -> None:
    first = rt.Contract("First", "01", (), schema="contract First {\n}\n", documented="/// One.\ncontract First {\n}\n")
    second = rt.Contract("Second", "02", (), schema="contract Second {\n}\n", documented="contract Second {\n}\n")
    plugin = rt._Plugin([rt.Service(first, object()), rt.Service(second, object())], b"")
    transport = FakeTransport()
    plugin.connection_made(transport)
    # Protocol 2: the host only asks on 4, but the plugin answers on any.
    feed(plugin, WELCOME)
    head = bytearray()
    rt.w_u32(head, rt.INTROSPECTION_CONTRACT)
    rt.w_u32(head, rt.DESCRIBE_METHOD)
    rt.w_u64(head, 1500)
    feed(plugin, frame(rt.KIND_REQUEST, 5, bytes(head)))
    other = bytearray()
    rt.w_u32(other, rt.INTROSPECTION_CONTRACT)
    rt.w_u32(other, 1)
    rt.w_u64(other, 0)
    feed(plugin, frame(rt.KIND_REQUEST, 6, bytes(other)))
    feed(plugin, frame(rt.KIND_REQUEST, 7, bytes(head) + b"\x00"))
    await turns()
    frames = transport.frames()
    assert [(k, i) for k, i, _ in frames] == [(rt.KIND_RESPONSE, 5), (rt.KIND_ERROR, 6), (rt.KIND_ERROR, 7)], frames
    r = Reader(frames[0][2])
    assert [r.str_() for _ in range(r.count())] == [first.documented, second.documented]
    r.done()
    code = Reader(frames[1][2])
    assert code.u32() == rt.CODE_UNKNOWN_METHOD and "no method number 1" in code.str_()
    code = Reader(frames[2][2])
    assert code.u32() == rt.CODE_BAD_REQUEST and "takes no arguments" in code.str_()


class Clock:
    """`now` never awaits: it is answered at once, and notes the deadline it
    sees and starts a task that reads it later; `echo` takes a string."""

    def __init__(self) -> None:
        self.seen: list[float | None] = []
        self.later: list[asyncio.Task[float | None]] = []

    async def now(self) -> int:
        self.seen.append(rt.deadline())
        self.later.append(asyncio.get_running_loop().create_task(self.deadline_later()))
        return len(self.seen)

    async def deadline_later(self) -> float | None:
        await asyncio.sleep(0)
        return rt.deadline()

    async def echo(self, text: str) -> str:
        return text


def clock_args_echo(r: Reader) -> tuple[str]:
    return (r.str_(),)


def clock_fast_echo(b: bytearray, p: int, e: int) -> tuple[str] | None:
    n = b[p]
    if n > 250 or p + 1 + n != e:
        return None
    return (b[p + 1:e].decode(),)


CLOCK = rt.Contract(
    name="Clock",
    fingerprint="00",
    methods=(
        rt.MethodSpec("now", lambda r: (), rt.w_u8),
        rt.MethodSpec("echo", clock_args_echo, rt.w_str, decode_fast=clock_fast_echo),
    ),
)


def timed_request(call_id: int, method: int, deadline_ms: int, args: bytes = b"") -> bytes:
    head = bytearray([0, method])
    rt.w_u64(head, deadline_ms)
    return frame(rt.KIND_REQUEST, call_id, bytes(head) + args)


async def calls_answered_at_once_see_their_own_deadlines_and_answer_in_order() -> None:
    clock = Clock()
    plugin = rt._Plugin([rt.Service(CLOCK, clock)], b"")
    transport = FakeTransport()
    plugin.connection_made(transport)
    feed(plugin, WELCOME)
    # One read: deadlines of one- and three-byte varints and none, a request
    # whose head is five bytes (70000 ms), requests that fail (arguments
    # that do not decode, no such method), then a PING, after which the
    # last call runs in a task.
    deadlines = [0, 1500, 1500, 0, 30000, 70000, 1500, 0, 2500]
    data = bytearray()
    for k, ms in enumerate(deadlines):
        if k == 8:
            data += frame(rt.KIND_PING, 77)
        data += timed_request(k + 1, 0, ms)
        if k == 4:
            data += timed_request(50, 1, 30000, b"\x02\xc3\x28")
            data += timed_request(51, 1, 30000, b"\x02ok")
            data += timed_request(52, 9, 30000)
    before = time.monotonic()
    feed(plugin, bytes(data))
    assert rt.deadline() is None, "a call's deadline stayed set after the read"
    await turns()
    after = time.monotonic()
    assert len(clock.seen) == len(deadlines)
    for ms, seen in zip(deadlines, clock.seen):
        if ms == 0:
            assert seen is None, (ms, seen)
        else:
            assert seen is not None and before + ms / 1000 <= seen <= after + ms / 1000, (ms, seen, before)
    # Tasks a handler starts keep its deadline.
    assert await asyncio.gather(*clock.later) == clock.seen
    frames = transport.frames()
    assert [(kind, call_id) for kind, call_id, _ in frames] == [
        (rt.KIND_RESPONSE, 1), (rt.KIND_RESPONSE, 2), (rt.KIND_RESPONSE, 3), (rt.KIND_RESPONSE, 4),
        (rt.KIND_RESPONSE, 5), (rt.KIND_ERROR, 50), (rt.KIND_RESPONSE, 51), (rt.KIND_ERROR, 52),
        (rt.KIND_RESPONSE, 6), (rt.KIND_RESPONSE, 7), (rt.KIND_RESPONSE, 8), (rt.KIND_PONG, 77),
        (rt.KIND_RESPONSE, 9),
    ], frames
    assert [body for kind, call_id, body in frames if kind == rt.KIND_RESPONSE] == [
        bytes([k]) for k in range(1, 6)
    ] + [b"\x02ok"] + [bytes([k]) for k in range(6, 10)]
    bad = Reader(frames[5][2])
    assert bad.u32() == rt.CODE_BAD_REQUEST and "Clock.echo do not decode" in bad.str_()


def test_schemas_in_the_hello() -> None:
    """From protocol 4 the HELLO ends with the schemas, served then required;
    below it, nothing is added."""
    served = rt.Contract("Calculator", "3f9a", (), schema="contract Calculator {\n}\n")
    required = rt.Contract("Store", "5b7e", ())
    r = Reader(bytes(rt.encode_hello("t", 1, [served], [required])))
    assert (r.u32(), r.u32(), r.str_(), r.str_(), r.str_(), r.u32()) == (2, 4, "t", "python", rt.RUNTIME, 1)
    assert [(r.str_(), r.str_()) for _ in range(r.count())] == [("Calculator", "3f9a")]
    assert [(r.str_(), r.str_()) for _ in range(r.count())] == [("Store", "5b7e")]
    # A contract built by hand states no schema: an empty string.
    assert [r.str_() for _ in range(r.count())] == [served.schema, ""]
    r.done()
    # Schemas that would make the HELLO longer than 64 KiB are left out.
    huge = rt.Contract("Huge", "00", (), schema="x" * rt.MAX_HANDSHAKE_FRAME)
    hello = bytes(rt.encode_hello("t", 1, [huge], [required]))
    assert rt.MIN_LENGTH + len(hello) <= rt.MAX_HANDSHAKE_FRAME
    assert hello.endswith(b"\x02\x00\x00"), hello[-8:].hex()
    r = Reader(bytes(rt.encode_hello("t", 1, [served], [required], protocol_max=3)))
    assert (r.u32(), r.u32(), r.str_(), r.str_(), r.str_(), r.u32()) == (2, 3, "t", "python", rt.RUNTIME, 1)
    assert [(r.str_(), r.str_()) for _ in range(r.count())] == [("Calculator", "3f9a")]
    assert [(r.str_(), r.str_()) for _ in range(r.count())] == [("Store", "5b7e")]
    r.done()


def test_serving() -> None:
    for test in (
        describe_answers_the_documented_schemas_in_hello_order_and_refuses_other_methods,
        a_cancelled_call_that_answers_late_does_not_answer_for_the_call_reusing_its_id,
        a_request_reusing_a_running_calls_id_ends_the_connection,
        answers_past_the_high_water_mark_stop_the_reading_until_they_are_written,
        a_failed_call_is_answered_with_code_4_naming_what_failed_not_the_method,
        an_error_too_long_for_a_frame_loses_its_detail_and_keeps_what_fits_of_its_message,
        calls_answered_at_once_see_their_own_deadlines_and_answer_in_order,
    ):
        asyncio.run(test())


# ---------------------------------------------------------------------------
# The plugin's calls to its host


class StoreFailRaised(rt.ErrorValue[str]):
    """The domain error of `Store.fail`, a String."""


def _answer_get(r: Reader) -> str | None:
    return r.str_() if r.option() else None


STORE = rt.Contract(
    name="Store",
    fingerprint="5b7e",
    methods=(
        rt.MethodSpec("get", lambda r: (r.str_(),), rt.w_str),
        rt.MethodSpec("fail", lambda r: (r.str_(),), rt.w_u32, StoreFailRaised, rt.w_str),
    ),
)


class StoreClient(rt.Client):
    """As goproc-codegen writes a client: `get(key) -> Option<String>`,
    `fail(how) -> Result<u32, String>`, served by the host as contract 0."""

    __slots__ = ()
    CONTRACT = STORE

    async def get(self, key: str) -> str | None:
        out = rt.request_buffer()
        rt.w_str(out, key)
        return await self._call(0, out, _answer_get)

    async def fail(self, how: str) -> int:
        out = rt.request_buffer()
        rt.w_str(out, how)
        return await self._call_result(1, out, Reader.u32, Reader.str_, StoreFailRaised)


def _answer_units(r: Reader) -> list[None]:
    return [None for _ in range(r.count_any())]


class OddClient(rt.Client):
    """Store's methods, with the answers of other types: a `Tree`, a `Vec<()>`."""

    __slots__ = ()
    CONTRACT = STORE

    async def tree(self) -> ev.Tree:
        return await self._call(0, rt.request_buffer(), ev._dec_Tree)

    async def units(self) -> list[None]:
        return await self._call(0, rt.request_buffer(), _answer_units)


class Relay:
    """Handlers that call the host while they serve."""

    def __init__(self) -> None:
        self.store = StoreClient.from_host()

    async def relay(self, key: str) -> str:
        return await self.store.get(key) or "-"

    async def left(self) -> str:
        """Calls the host, and says how the call's deadline looked: the
        request's `deadline_ms` is what the test reads."""
        await self.store.get("left")
        return "done"


RELAY = rt.Contract(
    name="Relay",
    fingerprint="00",
    methods=(
        rt.MethodSpec("relay", lambda r: (r.str_(),), rt.w_str),
        rt.MethodSpec("left", lambda r: (), rt.w_str),
    ),
)


def connect(
    requires: tuple[rt.Contract, ...] = (STORE,), serves: tuple[rt.Contract, ...] = (STORE,),
) -> tuple[Any, FakeTransport]:
    """A plugin serving Relay, welcomed by a host that serves `serves`; the
    clients call through it."""
    plugin = rt._Plugin([rt.Service(RELAY, Relay())], b"", requires)
    transport = FakeTransport()
    plugin.connection_made(transport)
    feed(plugin, frame(rt.KIND_WELCOME, 0, welcome_body(serves=serves)))
    rt._connection = plugin
    return plugin, transport


def request_head(body: bytes) -> tuple[int, int, int, Reader]:
    """A REQUEST body's head (contract, method, deadline_ms) and a reader at its arguments."""
    r = Reader(body)
    return r.u32(), r.u32(), r.u64(), r


def response(call_id: int, body: bytes) -> bytes:
    return frame(rt.KIND_RESPONSE, call_id, body)


def error(call_id: int, code: int, message: str, detail: str = "") -> bytes:
    return bytes(rt._error_frame(call_id, code, message, detail))


def some(text: str) -> bytes:
    return enc(lambda o: o.append(1), lambda o: rt.w_str(o, text))


async def expect_raises(kind: type[BaseException], task: asyncio.Task[Any], *needles: str) -> BaseException:
    try:
        await task
    except kind as e:
        for needle in needles:
            assert needle in str(e), f"{kind.__name__} {str(e)!r} does not mention {needle!r}"
        return e
    except BaseException as e:
        raise AssertionError(f"expected {kind.__name__}, got {type(e).__name__}: {e}") from e
    raise AssertionError(f"expected {kind.__name__}, the call returned")


async def the_golden_welcomes_are_read(frames: dict[str, bytes]) -> None:
    # The plugin reads the golden WELCOME: what the host serves, and its maximum frame.
    plugin = rt._Plugin([], b"", [STORE])
    plugin.connection_made(FakeTransport())
    feed(plugin, frames["WELCOME"])
    assert plugin.welcomed and not plugin.finished.done()
    assert (plugin.max_frame, plugin.host_contracts) == (16 << 20, {"Store": (0, "5b7e")})
    assert plugin.protocol == 3
    # A WELCOME of version 1 ends the start: this runtime speaks versions 2 to 4.
    plugin = rt._Plugin([], b"")
    plugin.connection_made(FakeTransport())
    feed(plugin, frames["WELCOME protocol 1"])
    assert not plugin.welcomed
    assert "the host chose protocol 1, which this runtime does not speak (it speaks 2..4)" in (
        plugin.finished.result() or ""
    ), plugin.finished.result()


async def the_golden_call_goes_out_and_its_answer_comes_back(frames: dict[str, bytes]) -> None:
    plugin, transport = connect()
    task = asyncio.create_task(StoreClient.from_host().get("k"))
    await turns()
    [(kind, call_id, body)] = transport.frames()
    assert frame(kind, call_id, body) == frames['REQUEST Store.get("k") from the plugin'], body.hex()
    feed(plugin, frames['RESPONSE Some("v") from the host'])
    assert await task == "v"


async def answers_reach_their_calls_and_the_first_answer_wins() -> None:
    plugin, transport = connect()
    store = StoreClient.from_host()
    first = asyncio.create_task(store.get("a"))
    second = asyncio.create_task(store.get("b"))
    failing = asyncio.create_task(store.fail("x"))
    await turns()
    ids = {request_head(body)[3].str_(): call_id for _, call_id, body in transport.frames()}
    assert sorted(ids) == ["a", "b", "x"] and len(set(ids.values())) == 3, ids
    # Answered out of order, each to its own call; the second answer to a call is dropped.
    feed(plugin, response(ids["b"], some("B")) + response(ids["a"], b"\x00") + response(ids["b"], some("late")))
    feed(plugin, error(ids["a"], rt.CODE_HANDLER_FAILED, "late"))
    assert (await first, await second) == (None, "B")
    # Answers to ids nobody waits for are dropped, even an ERROR that would not decode.
    feed(plugin, response(999, b"\x01") + error(998, 1, "x") + frame(rt.KIND_ERROR, 997, b"\xff") + frame(rt.KIND_PONG, 996))
    assert not plugin.finished.done() and not failing.done()
    feed(plugin, response(ids["x"], b"\x00\x07"))
    assert await failing == 7
    # The domain error is the contract's exception, with the value.
    failing = asyncio.create_task(store.fail("x"))
    await turns()
    feed(plugin, response(transport.frames()[-1][1], b"\x01\x02no"))
    e = await expect_raises(StoreFailRaised, failing)
    assert cast(StoreFailRaised, e).value == "no"
    # ERROR: a RemoteError with the host's code, message and detail.
    call = asyncio.create_task(store.get("e"))
    await turns()
    feed(plugin, error(transport.frames()[-1][1], rt.CODE_HANDLER_FAILED, "panic: oops", "at store.rs:1"))
    e = await expect_raises(rt.RemoteError, call, "Store.get failed in the host: handler failed: panic: oops")
    remote = cast(rt.RemoteError, e)
    assert (remote.code, remote.message, remote.detail, remote.method) == (4, "panic: oops", "at store.rs:1", "Store.get")
    assert isinstance(remote, rt.CallError)
    assert not plugin.finished.done()


async def an_answer_that_does_not_decode_fails_its_call_not_the_connection() -> None:
    plugin, transport = connect()
    store = StoreClient.from_host()
    for body, needle in (
        (b"\x01", "unexpected end of input"),
        (b"\x00\x00", "trailing byte"),
        (b"\x02", "invalid Option tag 2"),
        (b"\x01\x05ab", "longer than"),
    ):
        call = asyncio.create_task(store.get("k"))
        await turns()
        feed(plugin, response(transport.frames()[-1][1], body))
        await expect_raises(rt.CallError, call, "the answer of Store.get does not decode", needle)
    failing = asyncio.create_task(store.fail("k"))
    await turns()
    feed(plugin, response(transport.frames()[-1][1], b"\x02"))
    await expect_raises(rt.CallError, failing, "does not decode", "out of range for Result")
    # The limits of WIRE.md section 3.1 hold for answers as for requests.
    odd = OddClient.from_host()
    odd_calls: list[tuple[Callable[[], Coroutine[Any, Any, Any]], bytes, str]] = [
        (odd.tree, nested_tree(rt.NESTING_LIMIT + 1), "nesting limit"),
        (odd.units, b"\x05", "item budget"),
    ]
    for make, body, needle in odd_calls:
        odd_call = asyncio.create_task(make())
        await turns()
        feed(plugin, response(transport.frames()[-1][1], body))
        await expect_raises(rt.CallError, odd_call, "does not decode", needle)
    tree = asyncio.create_task(odd.tree())
    await turns()
    feed(plugin, response(transport.frames()[-1][1], nested_tree(rt.NESTING_LIMIT)))
    assert isinstance(await tree, ev.Tree.Node)
    assert not plugin.finished.done()
    # An ERROR whose body does not decode breaks the framing rules.
    call = asyncio.create_task(store.get("k"))
    await turns()
    feed(plugin, frame(rt.KIND_ERROR, transport.frames()[-1][1], b"\x04\x01"))
    await expect_raises(rt.ConnectionClosed, call, "protocol error", "does not decode")
    assert "protocol error" in (plugin.finished.result() or "")


async def a_cancelled_call_sends_cancel_and_an_unwritten_one_is_withdrawn() -> None:
    plugin, transport = connect()
    store = StoreClient.from_host()
    call = asyncio.create_task(store.get("k"))
    await turns()
    [(kind, call_id, _)] = transport.frames()
    call.cancel()
    await turns()
    assert transport.frames()[1:] == [(rt.KIND_CANCEL, call_id, b"")], transport.frames()
    # Its late answer is dropped.
    feed(plugin, response(call_id, some("late")))
    assert call.cancelled() and not plugin.calls and not plugin.finished.done()
    # While the transport is full, requests wait unwritten; one whose caller
    # gives up is never sent, and needs no CANCEL.
    plugin.pause_writing()
    kept = asyncio.create_task(store.get("kept"))
    dropped = asyncio.create_task(store.get("dropped"))
    await turns()
    dropped.cancel()
    await turns()
    plugin.resume_writing()
    await turns()
    sent = [(kind, request_head(body)[3].str_()) for kind, _, body in transport.frames()[2:]]
    assert sent == [(rt.KIND_REQUEST, "kept")], sent
    feed(plugin, response(transport.frames()[-1][1], some("yes")))
    assert await kept == "yes"


async def a_handler_stopped_by_the_host_cancels_its_calls_to_the_host() -> None:
    plugin, transport = connect()
    # The host cancels its call: the handler's call to the host is cancelled.
    feed(plugin, frame(rt.KIND_REQUEST, 50, bytes([0, 0, 0]) + enc(lambda o: rt.w_str(o, "k"))))
    await turns()
    [(kind, call_id, body)] = transport.frames()
    assert kind == rt.KIND_REQUEST and request_head(body)[:3] == (0, 0, 0)
    feed(plugin, frame(rt.KIND_CANCEL, 50))
    await turns()
    assert transport.frames()[1:] == [(rt.KIND_CANCEL, call_id, b"")], transport.frames()
    # Past its deadline the same: the host hears CANCEL for the inner call,
    # and the handler's call is answered with "deadline exceeded".
    feed(plugin, frame(rt.KIND_REQUEST, 51, bytes([0, 1, 60])))
    await turns()
    (kind, inner, body) = transport.frames()[2]
    assert kind == rt.KIND_REQUEST and 0 < request_head(body)[2] <= 60, request_head(body)
    await asyncio.sleep(0.15)
    rest = transport.frames()[3:]
    assert (rt.KIND_CANCEL, inner, b"") in rest, rest
    [(code_kind, outer, body)] = [f for f in rest if f[0] == rt.KIND_ERROR]
    assert outer == 51 and Reader(body).u32() == rt.CODE_DEADLINE_EXCEEDED, rest
    assert not plugin.calls and not plugin.finished.done()


async def a_calls_deadline_is_its_own_else_its_handlers() -> None:
    plugin, transport = connect()
    store = StoreClient.from_host()

    def deadline_of_last() -> int:
        return request_head(transport.frames()[-1][2])[2]

    # Outside a handler: none, unless the call has its own.
    asyncio.create_task(store.get("k"))
    await turns()
    assert deadline_of_last() == 0
    asyncio.create_task(store.with_timeout(2.5).get("k"))
    await turns()
    assert 2400 < deadline_of_last() <= 2500, deadline_of_last()
    # In a handler whose call has 1.5 s: what is left of them.
    feed(plugin, frame(rt.KIND_REQUEST, 60, bytes([0, 1, 0xFB]) + (1500).to_bytes(2, "little")))
    await turns()
    assert 1400 < deadline_of_last() <= 1500, deadline_of_last()
    # A call past its own deadline raises CallTimeout and tells the host to stop.
    call = asyncio.create_task(store.with_timeout(0.05).get("slow"))
    await turns()
    call_id = transport.frames()[-1][1]
    e = await expect_raises(rt.CallTimeout, call, "the call to Store.get timed out after 0.05 s")
    assert isinstance(e, TimeoutError) and isinstance(e, rt.CallError)
    await turns()
    assert transport.frames()[-1] == (rt.KIND_CANCEL, call_id, b""), transport.frames()[-1]
    # The host saying the deadline passed is a timeout too, for a call with one.
    call = asyncio.create_task(store.with_timeout(5).get("k"))
    await turns()
    feed(plugin, error(transport.frames()[-1][1], rt.CODE_DEADLINE_EXCEEDED, "too slow"))
    await expect_raises(rt.CallTimeout, call, "timed out")
    assert not plugin.finished.done()


async def calls_nest_while_the_plugin_keeps_reading() -> None:
    plugin, transport = connect()
    # Two handlers wait on the host; the host answers them in reverse order,
    # then a third request is served while nothing else is answered.
    feed(plugin, frame(rt.KIND_REQUEST, 70, bytes([0, 0, 0]) + enc(lambda o: rt.w_str(o, "a"))))
    feed(plugin, frame(rt.KIND_REQUEST, 71, bytes([0, 0, 0]) + enc(lambda o: rt.w_str(o, "b"))))
    await turns()
    inner = {request_head(body)[3].str_(): call_id for _, call_id, body in transport.frames()}
    feed(plugin, response(inner["b"], some("B")) + response(inner["a"], b"\x00"))
    await turns()
    answers = {call_id: Reader(body).str_() for kind, call_id, body in transport.frames() if kind == rt.KIND_RESPONSE}
    assert answers == {70: "-", 71: "B"}, answers


async def the_end_of_the_connection_fails_every_call() -> None:
    plugin, transport = connect()
    store = StoreClient.from_host()
    calls = [asyncio.create_task(store.get(str(k))) for k in range(3)]
    await turns()
    plugin.connection_lost(None)
    for call in calls:
        await expect_raises(rt.ConnectionClosed, call, "the connection to the host ended before Store.get was answered")
    # Later calls fail at once; so do calls before any connection.
    await expect_raises(rt.ConnectionClosed, asyncio.create_task(store.get("k")), "cannot be sent")
    rt._connection = None
    await expect_raises(rt.ConnectionClosed, asyncio.create_task(store.get("k")), "not connected to a host")


async def a_call_made_before_the_welcome_waits_for_it() -> None:
    plugin = rt._Plugin([], b"", [STORE])
    transport = FakeTransport()
    plugin.connection_made(transport)
    rt._connection = plugin
    call = asyncio.create_task(StoreClient.from_host().get("early"))
    await turns()
    assert transport.frames() == []
    feed(plugin, frame(rt.KIND_WELCOME, 0, welcome_body(serves=(STORE,))))
    await turns()
    [(kind, call_id, body)] = transport.frames()
    feed(plugin, response(call_id, some("ok")))
    assert await call == "ok"


async def a_contract_the_host_does_not_serve_fails_the_start_or_the_call() -> None:
    other = rt.Contract("Store", "aaaa", ())
    plugin, transport = connect(requires=(other,))
    assert "this plugin requires host contract Store fingerprint aaaa, but the host serves Store with fingerprint 5b7e" in (
        plugin.finished.result() or ""
    ), plugin.finished.result()
    assert transport.frames() == [(rt.KIND_CLOSE, 0, b"")], transport.frames()
    plugin, _ = connect(requires=(rt.Contract("Logger", "11", ()),))
    assert "the host does not serve contract Logger, which this plugin requires (it serves: Store)" in (
        plugin.finished.result() or ""
    ), plugin.finished.result()
    # Not required, not served: the call fails, the connection lives.
    plugin, _ = connect(requires=(), serves=())
    await expect_raises(
        rt.ContractNotServed, asyncio.create_task(StoreClient.from_host().get("k")),
        "Store.get cannot be called: the host does not serve contract Store",
    )
    assert not plugin.finished.done()


async def a_ping_is_answered_by_its_pong() -> None:
    plugin, transport = connect()
    ping = asyncio.create_task(rt.ping())
    await turns()
    [(kind, ping_id, _)] = transport.frames()
    assert kind == rt.KIND_PING
    # A RESPONSE does not answer a PING, nor a PONG a REQUEST.
    call = asyncio.create_task(StoreClient.from_host().get("k"))
    await turns()
    call_id = transport.frames()[-1][1]
    feed(plugin, response(ping_id, b"") + frame(rt.KIND_PONG, call_id))
    assert not ping.done() and not call.done()
    feed(plugin, frame(rt.KIND_PONG, ping_id) + response(call_id, b"\x00"))
    assert await ping >= 0 and await call is None


def test_calls_to_the_host() -> None:
    try:
        for test in (
            answers_reach_their_calls_and_the_first_answer_wins,
            an_answer_that_does_not_decode_fails_its_call_not_the_connection,
            a_cancelled_call_sends_cancel_and_an_unwritten_one_is_withdrawn,
            a_handler_stopped_by_the_host_cancels_its_calls_to_the_host,
            a_calls_deadline_is_its_own_else_its_handlers,
            calls_nest_while_the_plugin_keeps_reading,
            the_end_of_the_connection_fails_every_call,
            a_call_made_before_the_welcome_waits_for_it,
            a_contract_the_host_does_not_serve_fails_the_start_or_the_call,
            a_ping_is_answered_by_its_pong,
        ):
            asyncio.run(test())
    finally:
        rt._connection = None


def test_an_older_python_is_named_and_refused() -> None:
    """The runtime checks the Python version when it is imported, before
    anything that fails on an older one. (An older Python is faked: the
    check reads `sys.version_info`.)"""

    def import_as(version: tuple[int, int, int]) -> subprocess.CompletedProcess[str]:
        fake = f"import sys; sys.version_info = {version + ('final', 0)!r}; import goproc_stubs.everything"
        return subprocess.run([sys.executable, "-c", fake], capture_output=True, text=True, timeout=60)

    for version in ((3, 10, 13), (3, 7, 0), (2, 7, 18)):
        old = import_as(version)
        found = ".".join(map(str, version))
        assert (old.returncode, old.stdout, old.stderr) == (
            2, "",
            f"goproc plugin: this plugin needs Python 3.11 or newer; it runs on Python {found} ({sys.executable})\n",
        ), (version, old)
    for version in ((3, 11, 0), (3, 13, 1), (4, 0, 0)):
        new = import_as(version)
        assert (new.returncode, new.stdout, new.stderr) == (0, "", ""), (version, new)
    assert rt.PYTHON_MIN == (3, 11)


# ---------------------------------------------------------------------------
# Streams and events (protocol 3)


class Logs:
    """WIRE.md's `Logs` served: `tail` answers `hi`, or `lines` items of
    `size` bytes each when the path is `many <lines> <size>`; `upload`
    counts the bytes; `shout` upper-cases its lines. `seen` is what upload
    read, `failure` what ended its stream."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.failure: BaseException | None = None
        self.closed = asyncio.Event()
        self.produced = 0

    async def tail(self, path: str) -> AsyncIterator[str]:
        try:
            if path.startswith("many "):
                _, lines, size = path.split()
                for _ in range(int(lines)):
                    self.produced += 1
                    yield "x" * int(size)
            elif path == "forever":
                while True:
                    self.produced += 1
                    yield "x"
                    await asyncio.sleep(0)
            else:
                yield "hi"
        finally:
            self.closed.set()

    async def upload(self, name: str, data: AsyncIterator[bytes]) -> int:
        total = 0
        try:
            async for chunk in data:
                self.seen.append(chunk)
                total += len(chunk)
        except Exception as e:
            self.failure = e
            raise
        return total

    async def shout(self, lines: AsyncIterator[str]) -> AsyncIterator[str]:
        async for line in lines:
            yield line.upper()


LOGS = rt.Contract(
    name="Logs",
    fingerprint="10c5",
    methods=(
        rt.MethodSpec("tail", lambda r: (r.str_(),), rt.w_str, stream=True),
        rt.MethodSpec("upload", lambda r: (r.str_(),), rt.w_u64, arg_at=1, decode_item=Reader.bytes_),
        rt.MethodSpec("shout", lambda r: (), rt.w_str, stream=True, arg_at=0, decode_item=Reader.str_),
    ),
)

class LogsClient(rt.Client):
    """As goproc-codegen writes a client of WIRE.md's `Logs`:
    `tail(path) -> Stream<String>`, `upload(name, data: Stream<Vec<u8>>) -> u64`."""

    __slots__ = ()
    CONTRACT = LOGS

    def tail(self, path: str) -> AsyncGenerator[str, None]:
        out = rt.request_buffer()
        rt.w_str(out, path)
        return self._stream(0, out, Reader.str_)

    async def upload(self, name: str, data: AsyncIterable[bytes] | Iterable[bytes]) -> int:
        out = rt.request_buffer()
        rt.w_str(out, name)
        return await self._call(1, out, Reader.u64, data, rt.w_bytes)

    def shout(self, lines: AsyncIterable[str] | Iterable[str]) -> AsyncGenerator[str, None]:
        return self._stream(2, rt.request_buffer(), Reader.str_, lines, rt.w_str)


TELEMETRY = rt.EventContract("Telemetry", "3f9a", ("temperature",))


class TelemetryEvents(rt.Events):
    """As goproc-codegen writes the events of WIRE.md's `Telemetry`:
    `temperature(celsius: f32)`."""

    __slots__ = ()
    EVENTS = TELEMETRY

    def publish_temperature(self, topic: str, celsius: float) -> None:
        self._publish(0, topic, celsius, rt.w_f32)

    def subscribe_temperature(self, pattern: str, capacity: int = rt.DEFAULT_EVENT_QUEUE) -> rt.Subscription[float]:
        return self._subscribe(0, pattern, Reader.f32, capacity)


def serve_logs(logs: Logs, window: int = rt.DEFAULT_STREAM_WINDOW) -> tuple[Any, FakeTransport]:
    """A plugin serving Logs, welcomed (protocol 3) by a host that serves Logs too."""
    plugin = rt._Plugin([rt.Service(LOGS, logs)], b"", (), window)
    transport = FakeTransport()
    plugin.connection_made(transport)
    feed(plugin, frame(rt.KIND_WELCOME, 0, welcome_body(serves=(LOGS,), protocol=3)))
    rt._connection = plugin
    return plugin, transport


def credit(kind: int, call_id: int, n: int) -> bytes:
    return bytes(rt._credit_frame(kind, call_id, n))


def logs_request(call_id: int, method: int, args: bytes = b"") -> bytes:
    return frame(rt.KIND_REQUEST, call_id, bytes([0, method, 0]) + args)


def text(value: str) -> bytes:
    return enc(lambda o: rt.w_str(o, value))


async def golden_stream_rows() -> dict[str, bytes]:
    """The stream and event rows of WIRE.md section 5 that a Python plugin
    sends, or sends as a caller of its host, made by the runtime itself."""
    rows: dict[str, bytes] = {}
    try:
        # The host's side of the calls, as this runtime's client makes them.
        plugin, transport = serve_logs(Logs())
        plugin.next_id = 3
        tail = LogsClient.from_host().with_stream_window(65536).tail("a")
        first = asyncio.ensure_future(anext(tail))
        await turns()
        (_, _, req), (_, _, grant) = transport.frames()
        rows['REQUEST tail("a")'] = frame(rt.KIND_REQUEST, 3, req)
        rows["STREAM_CREDIT 3 +65536"] = frame(rt.KIND_STREAM_CREDIT, 3, grant)
        first.cancel()
        await turns()
        plugin.next_id = 4
        upload = asyncio.ensure_future(LogsClient.from_host().upload("f", [b"\x01\x02\x03"]))
        await turns()
        sent = transport.frames()
        rows['REQUEST upload("f")'] = frame(rt.KIND_REQUEST, 4, sent[-1][2])
        feed(plugin, credit(rt.KIND_ARG_CREDIT, 4, 4096))
        await turns()
        (_, _, item), (_, _, end) = transport.frames()[len(sent):]
        rows["ARG_ITEM 4 [1, 2, 3]"] = frame(rt.KIND_ARG_ITEM, 4, item)
        rows["ARG_END 4"] = frame(rt.KIND_ARG_END, 4, end)
        upload.cancel()
        await turns()
        # The plugin's side: it serves tail and upload, with a window of 4096.
        plugin, transport = serve_logs(Logs(), window=4096)
        feed(plugin, rows['REQUEST tail("a")'] + rows["STREAM_CREDIT 3 +65536"])
        await turns()
        (_, _, item), (_, _, end) = transport.frames()
        rows['STREAM_ITEM 3 "hi"'] = frame(rt.KIND_STREAM_ITEM, 3, item)
        rows["RESPONSE 3 end of stream"] = frame(rt.KIND_RESPONSE, 3, end)
        feed(plugin, rows['REQUEST upload("f")'])
        await turns()
        rows["ARG_CREDIT 4 +4096"] = frame(*transport.frames()[-1])
        feed(plugin, rows["ARG_ITEM 4 [1, 2, 3]"] + rows["ARG_END 4"])
        await turns()
        rows["RESPONSE 4 3"] = frame(*transport.frames()[-1])
        # Events: subscription 1, a publish, the unsubscribe.
        plugin, transport = serve_logs(Logs())
        events = TelemetryEvents.from_host()
        sub = events.subscribe_temperature("sensors/+/temp")
        events.publish_temperature("sensors/k/temp", 21.5)
        sub.close()
        await turns()
        subscribe, publish, unsubscribe = transport.frames()
        rows["SUBSCRIBE 1 sensors/+/temp"] = frame(*subscribe)
        rows["PUBLISH sensors/k/temp 21.5"] = frame(*publish)
        rows["UNSUBSCRIBE 1"] = frame(*unsubscribe)
    finally:
        rt._connection = None
    return rows


async def the_golden_stream_frames_are_read(frames: dict[str, bytes]) -> None:
    """The frames only a host sends, read by the runtime."""
    try:
        # A caller's stream gets the golden item and end.
        plugin, transport = serve_logs(Logs())
        plugin.next_id = 3
        tail = LogsClient.from_host().tail("a")
        got = asyncio.ensure_future(collect(tail))
        await turns()
        feed(plugin, frames['STREAM_ITEM 3 "hi"'] + frames["RESPONSE 3 end of stream"])
        assert await got == ["hi"]
        # The upload's answer.
        plugin.next_id = 4
        upload = asyncio.ensure_future(LogsClient.from_host().upload("f", [b"\x01\x02\x03"]))
        await turns()
        feed(plugin, frames["ARG_CREDIT 4 +4096"])
        await turns()
        feed(plugin, frames["RESPONSE 4 3"])
        assert await upload == 3
        # A handler's stream argument that failed at the host: its error is the last item.
        logs = Logs()
        plugin, transport = serve_logs(logs)
        feed(plugin, logs_request(5, 1, text("f")) + frames["ARG_ITEM 4 [1, 2, 3]"].replace(b"\x04", b"\x05", 1))
        feed(plugin, frames["ARG_END 5 failed"])
        await turns()
        assert logs.seen == [b"\x01\x02\x03"], logs.seen
        assert isinstance(logs.failure, rt.RemoteError) and logs.failure.message == "disk", logs.failure
        [(kind, call_id, body)] = [f for f in transport.frames() if f[0] == rt.KIND_ERROR]
        assert call_id == 5 and Reader(body).u32() == rt.CODE_HANDLER_FAILED
        # An event delivered to subscription 1 after 2 were dropped.
        sub = TelemetryEvents.from_host().subscribe_temperature("sensors/+/temp")
        feed(plugin, frames["EVENT 1 lagged 2"])
        event = await anext(sub)
        assert (event.topic, event.payload, event.lagged) == ("sensors/k/temp", 21.5, 2), event
    finally:
        rt._connection = None


async def collect(items: AsyncIterator[T]) -> list[T]:
    return [item async for item in items]


async def an_answer_stream_waits_for_credit_and_ends_cancelled_with_finally() -> None:
    logs = Logs()
    plugin, transport = serve_logs(logs)
    # 100 items of 20 bytes cost 36 bytes each (13 + 1 + 20 + ... the
    # string's length byte): a grant of 100 bytes lets 3 go (the third takes
    # the credit below zero), then the generator waits.
    feed(plugin, logs_request(7, 0, text("many 100 20")) + credit(rt.KIND_STREAM_CREDIT, 7, 100))
    await turns()
    items = [f for f in transport.frames() if f[0] == rt.KIND_STREAM_ITEM]
    assert len(items) == 3 and all(len(body) == 21 for _, _, body in items), items
    assert logs.produced <= 4, logs.produced
    feed(plugin, credit(rt.KIND_STREAM_CREDIT, 7, 34))
    await turns()
    assert len([f for f in transport.frames() if f[0] == rt.KIND_STREAM_ITEM]) == 4
    # CANCEL closes the generator: its finally runs, nothing more is sent.
    before = len(transport.frames())
    feed(plugin, frame(rt.KIND_CANCEL, 7))
    await turns()
    assert logs.closed.is_set() and len(transport.frames()) == before, transport.frames()[before:]
    assert 7 not in plugin.out_streams and 7 not in plugin.tasks
    # Run to the end with plenty of credit: the items, then RESPONSE with an empty body.
    feed(plugin, logs_request(8, 0, text("many 50 1")) + credit(rt.KIND_STREAM_CREDIT, 8, 1 << 20))
    await turns()
    mine = [f for f in transport.frames() if f[1] == 8]
    assert len(mine) == 51 and mine[-1] == (rt.KIND_RESPONSE, 8, b""), mine[-3:]
    # A credit for a stream that ended is dropped quietly.
    feed(plugin, credit(rt.KIND_STREAM_CREDIT, 8, 5))
    assert not plugin.finished.done()


async def a_stream_past_its_deadline_ends_with_code_6() -> None:
    logs = Logs()
    plugin, transport = serve_logs(logs)
    feed(plugin, frame(rt.KIND_REQUEST, 9, bytes([0, 0, 30]) + text("forever")) + credit(rt.KIND_STREAM_CREDIT, 9, 1 << 30))
    await asyncio.sleep(0.1)
    last = transport.frames()[-1]
    assert last[:2] == (rt.KIND_ERROR, 9) and Reader(last[2]).u32() == rt.CODE_DEADLINE_EXCEEDED, last
    assert logs.closed.is_set()


async def items_beyond_the_credit_close_the_connection() -> None:
    # An argument item the plugin granted no credit for.
    plugin, transport = serve_logs(Logs(), window=20)
    feed(plugin, logs_request(3, 1, text("f")))
    await turns()
    assert transport.frames()[-1] == (rt.KIND_ARG_CREDIT, 3, bytes([20]))
    # 13 + 11 = 24 bytes: allowed (the credit was above zero), and it goes below.
    item = frame(rt.KIND_ARG_ITEM, 3, enc(lambda o: rt.w_bytes(o, bytes(10))))
    feed(plugin, item)
    assert not plugin.finished.done()
    feed(plugin, item)
    reason = plugin.finished.result() or ""
    assert "protocol error" in reason and "no credit left" in reason and "call 3" in reason, reason
    # An answer item beyond what the plugin's call granted.
    plugin, transport = serve_logs(Logs())
    tail = LogsClient.from_host().with_stream_window(20).tail("a")
    got = asyncio.ensure_future(collect(tail))
    await turns()
    call_id = transport.frames()[0][1]
    feed(plugin, frame(rt.KIND_STREAM_ITEM, call_id, text("x" * 20)))
    assert not plugin.finished.done()
    feed(plugin, frame(rt.KIND_STREAM_ITEM, call_id, text("y")))
    reason = plugin.finished.result() or ""
    assert "no credit left" in reason and "window is 20 bytes" in reason, reason
    try:
        await got
    except rt.ConnectionClosed:
        pass
    else:
        raise AssertionError("the stream did not end with the connection")


async def a_callers_window_is_granted_again_as_items_are_read() -> None:
    plugin, transport = serve_logs(Logs())
    tail = LogsClient.from_host().with_stream_window(100).tail("a")
    first = asyncio.ensure_future(anext(tail))
    await turns()
    (_, call_id, _), grant = transport.frames()
    assert grant == (rt.KIND_STREAM_CREDIT, call_id, bytes([100]))
    # Items of 25 bytes (13 + 12): three go within the window plus one.
    item = frame(rt.KIND_STREAM_ITEM, call_id, text("x" * 11))
    feed(plugin, item * 4)
    assert await first == "x" * 11
    # One read (25 bytes) is less than half the window: no grant yet.
    assert len(transport.frames()) == 2
    assert await anext(tail) == "x" * 11
    await turns()
    # Two reads are 50 bytes, half the window: granted again.
    assert transport.frames()[-1] == (rt.KIND_STREAM_CREDIT, call_id, bytes([50])), transport.frames()
    # Closing the stream early sends CANCEL; later items are dropped.
    await tail.aclose()
    await turns()
    assert transport.frames()[-1] == (rt.KIND_CANCEL, call_id, b"")
    feed(plugin, item)
    assert not plugin.finished.done() and not plugin.calls


async def an_argument_stream_is_sent_against_credit_and_a_failing_source_reports_its_error() -> None:
    plugin, transport = serve_logs(Logs())

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(10):
            yield bytes([i]) * 10
        raise OSError("disk")

    upload = asyncio.ensure_future(LogsClient.from_host().upload("f", chunks()))
    await turns()
    [(_, call_id, _)] = transport.frames()
    # Nothing goes before the host grants credit: then 24 bytes an item.
    feed(plugin, credit(rt.KIND_ARG_CREDIT, call_id, 48))
    await turns()
    assert [f[0] for f in transport.frames()[1:]] == [rt.KIND_ARG_ITEM] * 2
    feed(plugin, credit(rt.KIND_ARG_CREDIT, call_id, 1000))
    await turns()
    sent = transport.frames()[1:]
    assert [f[0] for f in sent] == [rt.KIND_ARG_ITEM] * 10 + [rt.KIND_ARG_END], sent
    r = Reader(sent[-1][2])
    assert (r.u32(), r.str_(), r.str_()) == (4, "OSError: disk", "")
    feed(plugin, response(call_id, bytes([100])))
    assert await upload == 100
    # Once the call is answered, no more items go.
    endless = asyncio.ensure_future(LogsClient.from_host().upload("f", iter(lambda: b"z", None)))
    await turns()
    call_id = transport.frames()[-1][1]
    feed(plugin, credit(rt.KIND_ARG_CREDIT, call_id, 13 + 2))
    await turns()
    feed(plugin, response(call_id, bytes([1])))
    assert await endless == 1
    before = len(transport.frames())
    feed(plugin, credit(rt.KIND_ARG_CREDIT, call_id, 1000))
    await turns()
    assert len(transport.frames()) == before, transport.frames()[before:]


async def a_handlers_argument_stream_is_granted_again_as_it_reads() -> None:
    plugin, transport = serve_logs(Logs(), window=100)
    # shout: both ways at once.
    feed(plugin, logs_request(4, 2) + credit(rt.KIND_STREAM_CREDIT, 4, 1 << 20))
    await turns()
    assert transport.frames() == [(rt.KIND_ARG_CREDIT, 4, bytes([100]))]
    line = frame(rt.KIND_ARG_ITEM, 4, text("a" * 36))
    feed(plugin, line * 2)
    await turns()
    # Two items of 50 bytes read: half the window each time.
    kinds = [f[0] for f in transport.frames()[1:]]
    assert kinds.count(rt.KIND_STREAM_ITEM) == 2 and kinds.count(rt.KIND_ARG_CREDIT) == 2, transport.frames()
    feed(plugin, frame(rt.KIND_ARG_END, 4))
    await turns()
    assert transport.frames()[-1] == (rt.KIND_RESPONSE, 4, b"")
    # Items and ends for a call that is over are dropped.
    feed(plugin, line + frame(rt.KIND_ARG_END, 4))
    assert not plugin.finished.done()


async def version_3_frames_on_a_version_2_connection_close_it() -> None:
    plugin = rt._Plugin([rt.Service(LOGS, Logs())], b"")
    plugin.connection_made(FakeTransport())
    body = bytearray(welcome_body())
    body[0] = 2
    feed(plugin, frame(rt.KIND_WELCOME, 0, bytes(body)))
    assert plugin.welcomed and plugin.protocol == 2
    feed(plugin, credit(rt.KIND_STREAM_CREDIT, 1, 5))
    reason = plugin.finished.result() or ""
    assert "belongs to protocol 3" in reason and "speaks protocol 2" in reason, reason


def test_streams() -> None:
    try:
        for test in (
            an_answer_stream_waits_for_credit_and_ends_cancelled_with_finally,
            a_stream_past_its_deadline_ends_with_code_6,
            items_beyond_the_credit_close_the_connection,
            a_callers_window_is_granted_again_as_items_are_read,
            an_argument_stream_is_sent_against_credit_and_a_failing_source_reports_its_error,
            a_handlers_argument_stream_is_granted_again_as_it_reads,
            version_3_frames_on_a_version_2_connection_close_it,
        ):
            asyncio.run(test())
    finally:
        rt._connection = None


def event(sub_id: int, lagged: int, topic: str, celsius: float) -> bytes:
    return frame(rt.KIND_EVENT, sub_id, enc(
        lambda o: rt.w_u64(o, lagged), lambda o: rt.w_str(o, topic), lambda o: rt.w_f32(o, celsius),
    ))


async def a_slow_subscription_drops_its_oldest_and_says_so_in_lagged() -> None:
    plugin, transport = serve_logs(Logs())
    events = TelemetryEvents.from_host()
    slow = events.subscribe_temperature("sensors/#", capacity=4)
    fast = events.subscribe_temperature("sensors/+/temp")
    await turns()
    ids = [f[1] for f in transport.frames() if f[0] == rt.KIND_SUBSCRIBE]
    assert ids == [1, 2], ids
    # Ten events for each; the host says it dropped 3 before the fourth.
    for i in range(10):
        feed(plugin, event(1, 3 if i == 3 else 0, f"sensors/{i}/temp", float(i)))
        feed(plugin, event(2, 0, f"sensors/{i}/temp", float(i)))
    assert slow.pending() == 4 and fast.pending() == 10
    # The slow one kept the newest four: the six it dropped, and the host's
    # three, are counted in the first it reads.
    got = [await anext(slow) for _ in range(4)]
    assert [(e.payload, e.lagged) for e in got] == [(6.0, 9), (7.0, 0), (8.0, 0), (9.0, 0)], got
    assert [(await anext(fast)).lagged for _ in range(10)] == [0] * 10
    # Closing ends the iteration and tells the host; its later events are dropped.
    slow.close()
    await turns()
    assert transport.frames()[-1] == (rt.KIND_UNSUBSCRIBE, 1, b"")
    feed(plugin, event(1, 0, "sensors/x/temp", 1.0))
    assert await collect(slow) == []
    assert plugin.subscriptions.keys() == {2}
    # Memory stays bounded: thousands of events wait as 4 at most.
    few = events.subscribe_temperature("#", capacity=4)
    await turns()
    sub_id = transport.frames()[-1][1]
    for i in range(5000):
        feed(plugin, event(sub_id, 0, "a", float(i)))
    assert few.pending() == 4
    assert (await anext(few)).lagged == 4996
    # A subscription made before the welcome goes out with it; the end of
    # the connection ends every subscription with ConnectionClosed.
    early = rt._Plugin([], b"")
    early.connection_made(FakeTransport())
    rt._connection = early
    waiting = events.subscribe_temperature("a/+")
    assert early.early and not plugin.finished.done()
    feed(early, frame(rt.KIND_WELCOME, 0, welcome_body(protocol=3)))
    await turns()
    assert cast(FakeTransport, early.transport).frames()[-1][0] == rt.KIND_SUBSCRIBE
    early.finish(None)
    try:
        await anext(waiting)
    except rt.ConnectionClosed:
        pass
    else:
        raise AssertionError("the subscription outlived the connection")


def test_events() -> None:
    try:
        asyncio.run(a_slow_subscription_drops_its_oldest_and_says_so_in_lagged())
    finally:
        rt._connection = None
    # Topics and patterns are checked before anything is sent.
    for topic in ("a", "a/b", "/a", "a//b", "$SYS/x", "é" * 10, "x" * 65535):
        rt.check_topic(topic)
    for topic, needle in (
        ("", "may not be empty"), ("a/+", "contains '+'"), ("a/#", "contains '#'"),
        ("a\0b", "contains NUL"), ("x" * 65536, "at most 65535 bytes"), ("\ud800", "not valid Unicode"),
    ):
        try:
            rt.check_topic(topic)
        except rt.TopicError as e:
            assert needle in str(e), (topic[:20], str(e))
        else:
            raise AssertionError(f"topic {topic[:20]!r} was accepted")
    for pattern in ("a", "+", "#", "a/+/c", "a/#", "+/+", "/#", "$SYS/#"):
        rt.check_pattern(pattern)
    for pattern, needle in (
        ("", "may not be empty"), ("a/b+", "must fill a whole level"), ("a/#/b", "may only be the last level"),
        ("#a", "must fill a whole level"), ("a\0", "contains NUL"),
    ):
        try:
            rt.check_pattern(pattern)
        except rt.TopicError as e:
            assert needle in str(e), (pattern, str(e))
        else:
            raise AssertionError(f"pattern {pattern!r} was accepted")
    # Publishing and subscribing check first, before the connection is even looked at.
    try:
        TelemetryEvents.from_host().publish_temperature("a/+", 1.0)
    except rt.TopicError:
        pass
    else:
        raise AssertionError("a topic with '+' was published")
    try:
        TelemetryEvents.from_host().publish_temperature("a", 1.0)
    except rt.ConnectionClosed as e:
        assert "not connected" in str(e), str(e)
    else:
        raise AssertionError("an event was published without a connection")
    # The matching rules the host applies, as WIRE.md states them.
    for pattern, topic, want in (
        ("a/#", "a", True), ("a/#", "a/b/c", True), ("+/x", "$SYS/x", False), ("#", "$SYS/x", False),
        ("$SYS/#", "$SYS/x", True), ("a/+", "a/b/c", False), ("a/+/c", "a//c", True), ("+", "a", True),
    ):
        assert rt.topic_matches(pattern, topic) == want, (pattern, topic)
    assert TELEMETRY.channel == 0x3F9A


def main() -> None:
    test_golden(sys.argv[1])
    test_strict_decoding()
    test_fast_decoders()
    test_limits()
    test_view_reader()
    test_checked_encoding()
    test_f32_nans()
    test_serving()
    test_schemas_in_the_hello()
    test_calls_to_the_host()
    test_streams()
    test_events()
    test_an_older_python_is_named_and_refused()
    print("runtime tests passed")


if __name__ == "__main__":
    main()
