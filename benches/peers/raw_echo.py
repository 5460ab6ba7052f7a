#!/usr/bin/env python3
"""Raw asyncio server: the floor beside goproc's Python plugin.

Connects to the Unix socket named by the first argument and answers every
call frame (``u32 LE length | u64 LE call id | bytes``) with a frame of the
same id and bytes: an RPC server minus the framework. Written the fastest
plain way: an ``asyncio.BufferedProtocol`` reading into one kept buffer (no
StreamReader; a plain ``Protocol`` costs a fresh 256 KiB bytes object per
read, about 20 us a call, more than the goproc runtime spends), every frame
of a read parsed in one loop, and all of the read's answers in one write.
"""

import asyncio
import struct
import sys

HEAD = struct.Struct("<IQ")


class Server(asyncio.BufferedProtocol):
    def __init__(self, done: "asyncio.Future[None]") -> None:
        self.done = done
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray(256 * 1024)
        self.view = memoryview(self.buf)
        self.have = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.have == len(self.buf):
            # A frame larger than the buffer: move to one twice the size.
            bigger = bytearray(2 * len(self.buf))
            bigger[: self.have] = self.buf
            self.buf, self.view = bigger, memoryview(bigger)
        return self.view[self.have :]

    def buffer_updated(self, nbytes: int) -> None:
        data, end = self.buf, self.have + nbytes
        unpack, pack = HEAD.unpack_from, HEAD.pack
        out = []
        at = 0
        while end - at >= 12:
            length, call = unpack(data, at)
            stop = at + 4 + length
            if stop > end:
                break
            out.append(pack(length, call))
            out.append(data[at + 12 : stop])
            at = stop
        if at:
            self.view[: end - at] = self.view[at:end]
        self.have = end - at
        if out:
            assert self.transport is not None
            self.transport.write(b"".join(out))

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def main(path: str) -> None:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    await loop.create_unix_connection(lambda: Server(done), path)
    await done


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
