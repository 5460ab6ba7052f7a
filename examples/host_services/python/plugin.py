#!/usr/bin/env python3
"""A PageCounter plugin in Python that calls its host: the count of each
page lives in the host's `Store`, and every visit is logged through the
host's `Logger`.

The stubs in `generated/` come from `examples/host_services/contract.rs`:

    goproc-codegen --lang python --out examples/host_services/python/generated examples/host_services/contract.rs
"""

from __future__ import annotations

import asyncio
import sys

# `python3 plugin.py` puts this folder on sys.path: `generated` is a package.
from generated import contract
from generated.contract import LevelInfo, LoggerClient, StoreClient


class Counter(contract.PageCounter):
    def __init__(self) -> None:
        # Clients of the contracts the host serves; their calls work once
        # `serve` has connected.
        self.store = StoreClient.from_host()
        self.log = LoggerClient.from_host()
        # Visits to one page count one after the other in this process.
        self.lock = asyncio.Lock()

    async def visit(self, page: str) -> int:
        # The calls below inherit this handler's deadline, and are
        # cancelled with it.
        key = f"visits/{page}"
        async with self.lock:
            seen = await self.store.get(key)
            try:
                count = int(seen or "0") + 1
            except ValueError:
                # Not a count: start again.
                count = 1
            await self.store.put(key, str(count))
        await self.log.log(LevelInfo(), f"python counted visit {count} of {page}")
        return count


if __name__ == "__main__":
    contract.serve_page_counter(Counter(), requires=[StoreClient, LoggerClient])
