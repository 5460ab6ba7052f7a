"""The Counter plugin of the schema tests (tests/contracts/stats.rs), served
from whichever stubs `goproc_stubs` on PYTHONPATH holds: the contract's own,
or a copy whose types drifted, which the host must refuse before any call."""

from __future__ import annotations

from goproc_stubs import counter


class Counter(counter.Counter):
    async def stats(self) -> counter.Stats:
        return counter.Stats(calls=4, bytes_in=1, bytes_out=2)

    async def reset(self, mode: counter.Mode) -> int:
        return 4


if __name__ == "__main__":
    counter.serve(Counter())
