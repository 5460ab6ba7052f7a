#!/usr/bin/env python3
"""A Sensor plugin in Python: `run(count, interval_ms)` publishes `count`
measurements, one every `interval_ms`, as `SensorEvents.measurement` events
on `home/<room>/temperature` and `home/<room>/humidity` (alternately). The
room is the first command-line argument (`kitchen` when there is none).
Publishing never waits: the host routes each event to every subscriber whose
pattern matches (`home/+/temperature`, `home/#`).

The stubs in `generated/` come from `examples/events/contract.rs`:

    goproc-codegen --lang python --out examples/events/python/generated examples/events/contract.rs
"""

from __future__ import annotations

import asyncio
import math
import sys

# `python3 plugin.py` puts this folder on sys.path: `generated` is a package.
from generated import contract
from generated.contract import Measurement, SensorEvents


class PythonSensor(contract.Sensor):
    def __init__(self, room: str) -> None:
        self.room = room
        self.name = f"python-{room}"
        self.events = SensorEvents.from_host()

    async def run(self, count: int, interval_ms: int) -> int:
        for i in range(count):
            if i % 2 == 0:
                topic, value = f"home/{self.room}/temperature", 20.0 + 2.0 * math.sin(i / 5)
            else:
                topic, value = f"home/{self.room}/humidity", 45.0 + 5.0 * math.cos(i / 5)
            self.events.publish_measurement(topic, Measurement(sensor=self.name, value=value))
            if interval_ms and i + 1 < count:
                await asyncio.sleep(interval_ms / 1000)
        return count


if __name__ == "__main__":
    room = sys.argv[1] if len(sys.argv) > 1 else "kitchen"
    contract.serve(PythonSensor(room))
