#!/usr/bin/env python3
"""A KeyValueStore plugin in Python, with the behaviour of `examples/kv/store.rs`.

The stubs in `generated/` come from `examples/kv/contract.rs`:

    goproc-codegen --lang python --out examples/kv/python/generated examples/kv/contract.rs
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from generated import key_value_store as kv  # noqa: E402
from generated.key_value_store import (  # noqa: E402
    BatchReport,
    Entry,
    Op,
    OpClear,
    OpDelete,
    OpPut,
    StoreErrorFull,
    StoreErrorNotFound,
    StoreErrorRaised,
)

CAPACITY = 1000


class Store(kv.KeyValueStore):
    """An in-memory store. Handlers run on one event loop, so no lock is needed."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _put(self, key: str, value: bytes, tags: list[str], ttl_seconds: int | None) -> int:
        old = self.entries.get(key)
        if old is None and len(self.entries) >= CAPACITY:
            raise StoreErrorRaised(StoreErrorFull(capacity=CAPACITY))
        version = 1 if old is None else old.version + 1
        self.entries[key] = Entry(value=value, tags=tags, ttl_seconds=ttl_seconds, version=version)
        return version

    async def put(self, key: str, value: bytes, tags: list[str], ttl_seconds: int | None) -> int:
        return self._put(key, value, tags, ttl_seconds)

    async def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    async def delete(self, key: str) -> Entry:
        entry = self.entries.pop(key, None)
        if entry is None:
            raise StoreErrorRaised(StoreErrorNotFound(key))
        return entry

    async def batch(self, ops: list[Op]) -> BatchReport:
        # Like the Rust store, changes before a failing op stay applied.
        report = BatchReport(written=0, removed=0)
        for op in ops:
            if isinstance(op, OpPut):
                self._put(op.key, op.value, [], None)
                report.written += 1
            elif isinstance(op, OpDelete):
                if self.entries.pop(op._0, None) is None:
                    raise StoreErrorRaised(StoreErrorNotFound(op._0))
                report.removed += 1
            elif isinstance(op, OpClear):
                report.removed += len(self.entries)
                self.entries.clear()
        return report

    async def tag_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for entry in self.entries.values():
            for tag in entry.tags:
                counts[tag] = counts.get(tag, 0) + 1
        return counts

    async def keys(self) -> list[str]:
        return sorted(self.entries)


if __name__ == "__main__":
    kv.serve(Store())
