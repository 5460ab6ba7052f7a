#!/usr/bin/env python3
"""Raw asyncio echo: the baseline beside goproc's Python plugin.

Connects to the Unix socket named by the first argument and writes back
every byte it reads, as it reads it (asyncio.Protocol, the same style as the
goproc Python runtime). No framing, no decoding: the floor for a Python
process answering over a local socket.
"""

import asyncio
import sys


class Echo(asyncio.Protocol):
    def __init__(self, done: "asyncio.Future[None]") -> None:
        self.done = done
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def main(path: str) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    await loop.create_unix_connection(lambda: Echo(done), path)
    await done


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
