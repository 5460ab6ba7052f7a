"""Reads `<method index> <hex>` lines: the arguments of an Everything method
as Rust's bincode encoded them. Decodes each with the generated stubs and
prints the re-encoding (as the method's answer) in hex, one line each.
Every echo method's answer has the type of its arguments, so the bytes must
come back unchanged."""

from __future__ import annotations

import sys

from goproc_stubs import everything
from goproc_stubs.goproc_runtime import Reader


def main() -> None:
    methods = everything.EVERYTHING_CONTRACT.methods
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        index_text, _, hex_text = line.partition(" ")
        spec = methods[int(index_text)]
        r = Reader(bytes.fromhex(hex_text))
        args = spec.decode_args(r)
        r.done()
        out = bytearray()
        spec.encode_ok(out, args[0] if len(args) == 1 else args)
        print(out.hex())


if __name__ == "__main__":
    main()
