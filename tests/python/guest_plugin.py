"""The Guest plugin of the two-way tests (tests/python_host_services.rs): it
serves `Guest` and calls the host's `HostApi` from every handler, as the doc
comments of tests/contracts/host_services.rs say. Needs the stubs of that
file importable as `goproc_stubs`."""

from __future__ import annotations

from goproc_stubs import goproc_runtime as rt
from goproc_stubs import host_services
from goproc_stubs.host_services import HostApiClient


class Guest(host_services.Guest):
    def __init__(self) -> None:
        self.host = HostApiClient.from_host()

    async def store_and_read(self, key: str, value: str) -> str | None:
        await self.host.put(key, value)
        return await self.host.get(key)

    async def bounce(self, depth: int) -> list[str]:
        trail = ["python"]
        if depth > 0:
            trail += await self.host.bounce(depth - 1)
        return trail

    async def call_failing(self, how: str) -> str:
        try:
            n = await self.host.with_timeout(2.0).fail(how)
        except rt.ErrorValue as e:
            return f"domain error: {e.value}"
        except rt.CallTimeout as e:
            return f"timeout: {e}"
        except rt.CallError as e:
            return f"failed: {e}"
        return f"ok: {n}"

    async def wait_in_host(self, tag: str) -> None:
        await self.host.wait(tag)

    async def host_time_left_ms(self) -> int | None:
        return await self.host.time_left_ms()


if __name__ == "__main__":
    host_services.serve_guest(Guest(), requires=[HostApiClient])
