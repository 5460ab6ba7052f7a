#!/usr/bin/env python3
"""A Producer plugin in Python: `samples(count)` streams `count` samples,
sample `seq` measuring `sin(seq / 10)`, as fast as the host takes them.
The runtime sends each sample as the host's credit allows, so a host that
reads slowly holds this generator still instead of filling memory.

The stubs in `generated/` come from `examples/streams/contract.rs`:

    goproc-codegen --lang python --out examples/streams/python/generated examples/streams/contract.rs
"""

from __future__ import annotations

import math
import sys
from typing import AsyncIterator

# `python3 plugin.py` puts this folder on sys.path: `generated` is a package.
from generated import contract
from generated.contract import Sample


class SineProducer(contract.Producer):
    async def samples(self, count: int) -> AsyncIterator[Sample]:
        for seq in range(count):
            # Waits here whenever the host has not granted room for more.
            yield Sample(seq=seq, value=math.sin(seq / 10))


if __name__ == "__main__":
    contract.serve_producer(SineProducer())
