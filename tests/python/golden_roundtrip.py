"""Reads `<method index> <hex>` lines: the arguments of an Everything method
as Rust's bincode encoded them. Decodes each with the generated stubs, as the
plugin would after a 3-byte request head (whose bytes count in the item
budget), calls the method of the echo plugin (`everything_plugin.Echo`) and
prints its answer's encoding in hex, one line each. Every echo method's
answer has the type of its arguments, so those bytes must come back
unchanged; `count_units` answers how many units arrived."""

from __future__ import annotations

import sys
from typing import Any, Coroutine

from everything_plugin import Echo
from goproc_stubs import everything
from goproc_stubs.goproc_runtime import Reader

# The smallest request head: service, method and deadline, one byte each.
HEAD = b"\0\0\0"


def run(call: Coroutine[Any, Any, Any]) -> Any:
    """The result of a handler that never waits."""
    try:
        call.send(None)
    except StopIteration as done:
        return done.value
    raise AssertionError("the echo handler waited")


def main() -> None:
    echo = Echo()
    methods = everything.EVERYTHING_CONTRACT.methods
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        index_text, _, hex_text = line.partition(" ")
        spec = methods[int(index_text)]
        r = Reader(HEAD + bytes.fromhex(hex_text), len(HEAD))
        args = spec.decode_args(r)
        r.done()
        result = run(getattr(echo, spec.name)(*args))
        out = bytearray()
        spec.encode_ok(out, result)
        print(out.hex())


if __name__ == "__main__":
    main()
