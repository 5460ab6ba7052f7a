#!/usr/bin/env python3
"""A Transform plugin in Python: reverses its text.

The registry starts it as its manifest says (`python3 plugin.py`, in this
folder) after checking the sha256 of every file its [checksums] lists. The
stubs in `generated/` come from `examples/registry/contract.rs`:

    goproc-codegen --lang python --out examples/registry/plugins/python-reverse/generated \\
        examples/registry/contract.rs

Editing this file or regenerating the stubs changes their sha256: update the
manifest's [checksums] too (examples/registry/main.rs says how).
"""

from __future__ import annotations

# `python3 plugin.py` puts this folder on sys.path: `generated` is a package.
from generated import transform


class Reverse(transform.Transform):
    async def describe(self) -> str:
        return "reverses the text (Python)"

    async def apply(self, text: str) -> str:
        return text[::-1]


if __name__ == "__main__":
    transform.serve(Reverse())
