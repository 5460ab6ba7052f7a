#!/usr/bin/env python3
"""A PageCounter plugin in Python that calls its host: the count of each
page lives in the host's `Store`, and every visit is logged through the
host's `Logger`.

The stubs in `generated/` come from `examples/host_services/contract.rs`:

    goproc-codegen --lang python --out examples/host_services/python/generated examples/host_services/contract.rs
"""

from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generated import contract  # noqa: E402
from generated.contract import LevelInfo, LoggerClient, StoreClient  # noqa: E402


class Counter(contract.PageCounter):
    def __init__(self) -> None:
        # Clients of the contracts the host serves; their calls work once
        # `serve` has connected.
        self.store = StoreClient.from_host()
        self.log = LoggerClient.from_host()
        # Visits to the same page in this process count one after the other.
        self.lock = asyncio.Lock()

    async def visit(self, page: str) -> int:
        key = f"visits/{page}"
        async with self.lock:
            count = int(await self.store.get(key) or "0") + 1
            await self.store.put(key, str(count))
        await self.log.log(LevelInfo(), f"counted visit {count} to {page} (stored under {key})")
        return count


if __name__ == "__main__":
    contract.serve_page_counter(Counter(), requires=[StoreClient, LoggerClient])
