"""A Calculator plugin for the failure tests: `greet` raises, `sum` is a
plain `def`, and `add(a, b)` with a negative `a` sleeps `-a` milliseconds
first (for deadline, cancel and shutdown tests)."""

from __future__ import annotations

import asyncio

from goproc_stubs import calculator
from goproc_stubs.calculator import MathError


class Faulty(calculator.Calculator):
    async def add(self, a: int, b: int) -> int:
        if a < 0:
            await asyncio.sleep(-a / 1000.0)
        return a + b

    async def divide(self, a: int, b: int) -> int:
        if b == 0:
            raise MathError.DivisionByZero()
        if b == 1:
            # A value out of range for i64: an encoding failure, not a crash.
            return a * (1 << 70)
        return a // b

    def sum(self, values: list[float]) -> float:  # type: ignore[override]
        # A plain `def` handler is accepted too.
        return float(len(values))

    async def greet(self, name: str) -> str:
        return helper_that_raises(name)


def helper_that_raises(name: str) -> str:
    raise ValueError(f"no greeting for {name!r}")


if __name__ == "__main__":
    calculator.serve(Faulty())
