"""In-process tests of plugin handlers (`test_client`, `goproc_runtime.testing`):
calls, domain errors raised as their values, cancellation, deadlines, codec
bugs, streams, and handlers that call their host. Run by
tests/python_testing.rs with the stubs of examples/calculator/contract.rs,
tests/contracts/host_services.rs and tests/contracts/streams.rs importable
as `goproc_stubs`.

The first test is the pytest test of docs/PYTHON.md ("Testing"), written
for unittest (CI machines have no pytest): the same body, with
`assertRaises` for `pytest.raises`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import tempfile
import unittest
from typing import AsyncIterator

from goproc_stubs import calculator, host_services, streams
from goproc_stubs import goproc_runtime as rt
from goproc_stubs.calculator import MathError
from goproc_stubs.goproc_runtime import f64, i64, u32, u64
from guest_plugin import Guest
from streams_plugin import Probe, Streams


class Calc(calculator.Calculator):
    """The calculator under test; `greet("slow")` waits until cancelled."""

    def __init__(self) -> None:
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()
        self.time_left: float | None = None

    async def add(self, a: i64, b: i64) -> i64:
        if a == 1 << 62:
            # A bug: the sum does not fit in an i64.
            return a * 4
        return a + b

    async def divide(self, a: i64, b: i64) -> i64:
        if b == 0:
            raise MathError.DivisionByZero()
        if a == -(1 << 63) and b == -1:
            raise MathError.Overflow(operation=f"{a} / {b}")
        return a // b

    async def sum(self, values: list[f64]) -> f64:
        return sum(values, -0.0)

    async def greet(self, name: str) -> str:
        if name == "slow":
            self.time_left = rt.time_left()
            self.started.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return f"Hello, {name}!"


class Host(host_services.HostApi):
    """A fake host for the Guest plugin's calls."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    async def get(self, key: str) -> str | None:
        return self.data.get(key)

    async def put(self, key: str, value: str) -> str | None:
        old = self.data.get(key)
        self.data[key] = value
        return old

    async def fail(self, how: str) -> u32:
        raise rt.ErrorValue(f"refused: {how}")

    async def bounce(self, depth: u32) -> list[str]:
        return ["host"]

    async def wait(self, tag: str) -> None:
        await asyncio.sleep(60)

    async def time_left_ms(self) -> u64 | None:
        left = rt.time_left()
        return None if left is None else int(left * 1000)


class HarnessTest(unittest.IsolatedAsyncioTestCase):
    async def test_divide(self) -> None:
        # docs/PYTHON.md, "Testing": the same body as its pytest test.
        async with calculator.test_client(Calc()) as calc:
            self.assertEqual(await calc.divide(7, 2), 3)
            with self.assertRaises(MathError.DivisionByZero):
                await calc.divide(1, 0)

    async def test_calls_go_through_the_codecs(self) -> None:
        async with calculator.test_client(Calc()) as calc:
            self.assertEqual(await calc.add(2, 3), 5)
            self.assertEqual(await calc.greet("Ada"), "Hello, Ada!")
            total = await calc.sum([0.5, 0.25])
            self.assertEqual(total, 0.75)
            # Encoded and decoded as an f64: -0.0 keeps its sign.
            self.assertEqual(str(await calc.sum([])), "-0.0")
            # The client's own encoder checks the widths before sending.
            with self.assertRaises(rt.EncodeError):
                await calc.add(1 << 63, 0)

    async def test_a_domain_error_is_raised_as_the_value(self) -> None:
        async with calculator.test_client(Calc()) as calc:
            try:
                await calc.divide(-(1 << 63), -1)
            except MathError as e:
                self.assertIsInstance(e, rt.DomainError)
                match e:
                    case MathError.Overflow(operation=op):
                        self.assertEqual(op, f"{-(1 << 63)} / -1")
                    case _:
                        self.fail(f"expected MathError.Overflow, got {e!r}")
                self.assertEqual(e, MathError.Overflow(operation=f"{-(1 << 63)} / -1"))
                self.assertEqual(str(e), f"MathError.Overflow(operation='{-(1 << 63)} / -1')")
            else:
                self.fail("divide(MIN, -1) did not raise")

    async def test_cancelling_a_call_cancels_its_handler(self) -> None:
        impl = Calc()
        async with calculator.test_client(impl) as calc:
            call = asyncio.create_task(calc.greet("slow"))
            await asyncio.wait_for(impl.started.wait(), 5)
            call.cancel()
            with self.assertRaises(asyncio.CancelledError):
                await call
            # CANCEL crossed the connection: the handler's task was cancelled.
            await asyncio.wait_for(impl.cancelled.wait(), 5)
            # The connection still serves calls.
            self.assertEqual(await calc.add(1, 1), 2)

    async def test_a_deadline_reaches_the_handler_and_fails_the_call(self) -> None:
        impl = Calc()
        async with calculator.test_client(impl) as calc:
            with self.assertRaises(rt.CallTimeout):
                await calc.with_timeout(0.2).greet("slow")
            left = impl.time_left
            self.assertIsNotNone(left)
            assert left is not None
            self.assertTrue(0 < left <= 0.2, f"the handler had {left} s left")
            await asyncio.wait_for(impl.cancelled.wait(), 5)

    async def test_a_value_that_does_not_encode_fails_the_call(self) -> None:
        async with calculator.test_client(Calc()) as calc:
            with self.assertRaises(rt.RemoteError) as caught:
                await calc.add(1 << 62, 0)
            self.assertEqual(caught.exception.code, rt.CODE_HANDLER_FAILED)
            self.assertIn("the handler's return value cannot be encoded", caught.exception.message)
            self.assertIn("out of range for i64", caught.exception.message)

    async def test_an_answer_that_does_not_decode_fails_the_call(self) -> None:
        # A codec bug: `add` answers with an f64's 8 bytes where the client
        # reads an i64. A mock would have passed the value through.
        contract = calculator.CALCULATOR_CONTRACT
        broken = dataclasses.replace(contract.methods[0], encode_ok=rt.w_f64)
        service = rt.Service(dataclasses.replace(contract, methods=(broken, *contract.methods[1:])), Calc())
        async with rt.testing(calculator.CalculatorClient, service) as calc:
            with self.assertRaises(rt.CallError) as caught:
                await calc.add(2, 3)
            self.assertIn("does not decode as its return type", str(caught.exception))

    async def test_handlers_call_the_services_of_the_test_host(self) -> None:
        host = Host()
        async with host_services.guest_test_client(
            Guest(), host=[host_services.host_api_service(host)], requires=[host_services.HostApiClient],
        ) as guest:
            self.assertEqual(await guest.store_and_read("k", "v"), "v")
            self.assertEqual(host.data, {"k": "v"})
            self.assertEqual(await guest.bounce(1), ["python", "host"])
            # A String domain error travels in the wrapper, ErrorValue.
            self.assertEqual(await guest.call_failing("x"), "domain error: refused: x")
            # The guest's deadline is inherited by its call to the host.
            left = await guest.with_timeout(5).host_time_left_ms()
            assert left is not None
            self.assertTrue(0 < left <= 5000, f"the host saw {left} ms left")

    async def test_streams_flow_both_ways_with_credit_and_cancel(self) -> None:
        async with streams.streams_test_client(Streams()) as client:
            self.assertEqual([n async for n in client.count(3, 4)], [3, 4, 5, 6])
            summary = await client.upload([b"ab", b"c"])
            self.assertEqual((summary.bytes_, summary.chunks), (3, 2))

            async def lines() -> AsyncIterator[str]:
                for line in ("a", "b"):
                    yield line

            self.assertEqual([x async for x in client.shout("> ", lines())], ["> A", "> B"])
            got: list[int] = []
            with self.assertRaises(rt.RemoteError) as caught:
                async for n in client.fail_after(2):
                    got.append(n)
            self.assertEqual(got, [0, 1])
            self.assertIn("boom after 2", caught.exception.message)
            # A window far below the stream's size: the credit paces it.
            chunks = [c async for c in client.with_stream_window(4096).download(100_000, 1000)]
            self.assertEqual(sum(len(c) for c in chunks), 100_000)
            # Leaving a stream early cancels the handler: its `finally` runs.
            with tempfile.TemporaryDirectory() as tmp:
                marker = os.path.join(tmp, "stopped")
                items = client.forever(marker)
                self.assertEqual([await anext(items) for _ in range(10)], list(range(10)))
                await items.aclose()
                for _ in range(500):
                    if os.path.exists(marker):
                        break
                    await asyncio.sleep(0.01)
                self.assertTrue(os.path.exists(marker), "the stream's handler was not stopped")

    async def test_events_of_a_handler_reach_no_one_and_break_nothing(self) -> None:
        async with streams.event_probe_test_client(Probe()) as probe:
            await probe.publish("sensors/a/temp", "a", 3)
            watch = probe.watch("sensors/#", 0)
            first = await anext(watch)
            self.assertEqual(first.topic, "")
            await watch.aclose()
            # The connection still serves calls.
            await probe.publish("sensors/b/temp", "b", 1)

    async def test_a_missing_host_contract_is_named(self) -> None:
        with self.assertRaises(ConnectionError) as caught:
            async with host_services.guest_test_client(Guest(), requires=[host_services.HostApiClient]):
                pass
        self.assertIn("does not serve contract HostApi", str(caught.exception))

    async def test_the_wrong_client_is_named(self) -> None:
        with self.assertRaises(ValueError) as caught:
            async with rt.testing(host_services.GuestClient, calculator.service(Calc())):
                pass
        self.assertIn("a client of Guest, but serves Calculator", str(caught.exception))


def main() -> None:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(HarnessTest)
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        raise SystemExit(1)
    # What the Rust test checks: every test ran.
    print(f"{result.testsRun} harness tests passed")


if __name__ == "__main__":
    main()
