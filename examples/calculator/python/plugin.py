#!/usr/bin/env python3
"""A Calculator plugin in Python.

The stubs in `generated/` come from `examples/calculator/contract.rs`:

    goproc-codegen --lang python --out examples/calculator/python/generated \\
        examples/calculator/contract.rs

A host starts this program (`python3 plugin.py`) the way it starts a Rust
plugin; run by hand, it says it is a plugin and exits.
"""

from __future__ import annotations

# `python3 plugin.py` puts this folder on sys.path: `generated` is a package.
from generated import calculator
from generated.calculator import MathError
from generated.goproc_runtime import f64, i64

I64_MIN = -(1 << 63)


def wrap_i64(v: int) -> i64:
    """Two's-complement wrap-around, as Rust's `i64::wrapping_add`."""
    return ((v - I64_MIN) % (1 << 64)) + I64_MIN


class Calc(calculator.Calculator):
    """The same behaviour as the Rust calculator in `examples/calculator/plugin.rs`."""

    async def add(self, a: i64, b: i64) -> i64:
        return wrap_i64(a + b)

    async def divide(self, a: i64, b: i64) -> i64:
        if b == 0:
            raise MathError.DivisionByZero()
        if a == I64_MIN and b == -1:
            raise MathError.Overflow(operation=f"{a} / {b}")
        # Rust's integer division truncates toward zero; Python's // floors.
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q

    async def sum(self, values: list[f64]) -> f64:
        # Rust's `Iterator::sum` for floats starts from -0.0.
        total = -0.0
        for v in values:
            total += v
        return total

    async def greet(self, name: str) -> str:
        return f"Hello, {name}!"


if __name__ == "__main__":
    calculator.serve(Calc())
