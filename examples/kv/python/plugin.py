#!/usr/bin/env python3
"""A KeyValueStore plugin in Python, with the behaviour of `examples/kv/store.rs`.

The stubs in `generated/` come from `examples/kv/contract.rs`:

    goproc-codegen --lang python --out examples/kv/python/generated examples/kv/contract.rs
"""

from __future__ import annotations

# `python3 plugin.py` puts this folder on sys.path: `generated` is a package.
from generated import key_value_store as kv
from generated.goproc_runtime import u32, u64
from generated.key_value_store import BatchReport, Entry, Op, StoreError

CAPACITY = 1000


class Store(kv.KeyValueStore):
    """An in-memory store. Handlers run on one event loop, so no lock is needed."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _put(self, key: str, value: bytes, tags: list[str], ttl_seconds: u32 | None) -> u64:
        old = self.entries.get(key)
        if old is None and len(self.entries) >= CAPACITY:
            raise StoreError.Full(capacity=CAPACITY)
        version = 1 if old is None else old.version + 1
        self.entries[key] = Entry(value=value, tags=tags, ttl_seconds=ttl_seconds, version=version)
        return version

    async def put(self, key: str, value: bytes, tags: list[str], ttl_seconds: u32 | None) -> u64:
        return self._put(key, value, tags, ttl_seconds)

    async def get(self, key: str) -> Entry | None:
        return self.entries.get(key)

    async def delete(self, key: str) -> Entry:
        entry = self.entries.pop(key, None)
        if entry is None:
            raise StoreError.NotFound(key)
        return entry

    async def batch(self, ops: list[Op]) -> BatchReport:
        # Like the Rust store, changes before a failing op stay applied.
        report = BatchReport(written=0, removed=0)
        for op in ops:
            match op:
                case Op.Put(key=key, value=value):
                    self._put(key, value, [], None)
                    report.written += 1
                case Op.Delete(key):
                    if self.entries.pop(key, None) is None:
                        raise StoreError.NotFound(key)
                    report.removed += 1
                case Op.Clear():
                    report.removed += len(self.entries)
                    self.entries.clear()
        return report

    async def tag_counts(self) -> dict[str, u64]:
        counts: dict[str, u64] = {}
        for entry in self.entries.values():
            for tag in entry.tags:
                counts[tag] = counts.get(tag, 0) + 1
        return counts

    async def keys(self) -> list[str]:
        return sorted(self.entries)


if __name__ == "__main__":
    kv.serve(Store())
