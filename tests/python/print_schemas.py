"""Prints the schema texts the generated Python stubs carry, for the test
that all three languages give the same bytes (tests/python_schema.rs): for
each contract its name, canonical text and documented text, each followed
by a NUL (the texts hold none)."""

from __future__ import annotations

import sys

from goproc_stubs import calculator, everything

for c in (everything.EVERYTHING_CONTRACT, calculator.CALCULATOR_CONTRACT):
    for text in (c.name, c.schema, c.documented):
        sys.stdout.write(text + "\0")
