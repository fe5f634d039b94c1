"""The queue to settling is bounded by the records its batches hold, not by their number."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from stream.settle_queue import SettleQueue


@dataclass
class Batch:
    records: int


def test_many_small_batches_fit_where_a_few_big_ones_do() -> None:
    async def scenario() -> tuple[int, bool]:
        queue: SettleQueue[Batch] = SettleQueue(max_records=10_000, max_batches=100)
        for _ in range(40):  # a quiet stream: 40 batches of 200 records
            queue.put_nowait(Batch(200))
        return queue.qsize(), queue.full()

    assert asyncio.run(scenario()) == (40, False)


def test_a_put_waits_while_full_and_goes_in_once_a_get_makes_room() -> None:
    async def scenario() -> list[str]:
        queue: SettleQueue[Batch] = SettleQueue(max_records=1_000, max_batches=100)
        seen: list[str] = []
        queue.put_nowait(Batch(600))
        queue.put_nowait(Batch(600))  # 600 < 1,000 before it: taken, now full

        async def producer() -> None:
            await queue.put(Batch(100))
            seen.append("put")

        task = asyncio.create_task(producer())
        await asyncio.sleep(0.01)
        seen.append(f"waiting with {queue.records} records")
        first = await queue.get()
        seen.append(f"got {first.records}")
        await task
        seen.append(f"{queue.records} records in {queue.qsize()} batches")
        return seen

    assert asyncio.run(scenario()) == [
        "waiting with 1200 records",
        "got 600",
        "put",
        "700 records in 2 batches",
    ]


def test_a_batch_bigger_than_the_bound_goes_in_when_the_queue_has_room() -> None:
    async def scenario() -> tuple[int, bool]:
        queue: SettleQueue[Batch] = SettleQueue(max_records=1_000, max_batches=100)
        await asyncio.wait_for(queue.put(Batch(50_000)), timeout=1)
        return queue.records, queue.full()

    assert asyncio.run(scenario()) == (50_000, True)


def test_join_still_waits_for_every_batch_taken_to_be_done() -> None:
    async def scenario() -> list[str]:
        queue: SettleQueue[Batch] = SettleQueue(max_records=1_000, max_batches=100)
        seen: list[str] = []
        queue.put_nowait(Batch(10))
        queue.put_nowait(Batch(20))

        async def settle() -> None:
            while True:
                batch = await queue.get()
                await asyncio.sleep(0.01)
                seen.append(f"settled {batch.records}")
                queue.task_done()

        settling = asyncio.create_task(settle())
        await queue.join()
        seen.append(f"joined with {queue.records} records waiting")
        settling.cancel()
        return seen

    assert asyncio.run(scenario()) == ["settled 10", "settled 20", "joined with 0 records waiting"]


def test_batches_without_records_are_bounded_by_their_number() -> None:
    async def scenario() -> tuple[int, int, bool]:
        queue: SettleQueue[Batch] = SettleQueue(max_records=1_000, max_batches=5)
        for _ in range(5):  # a tick's outputs: windows closed by the clock, no records
            queue.put_nowait(Batch(0))
        waiting = asyncio.create_task(queue.put(Batch(0)))
        await asyncio.sleep(0.01)
        blocked = not waiting.done()
        queue.get_nowait()
        await asyncio.wait_for(waiting, timeout=1)
        return queue.qsize(), queue.records, blocked

    assert asyncio.run(scenario()) == (5, 0, True)


def test_a_batch_taken_is_unsettled_until_it_is_marked_done() -> None:
    async def scenario() -> list[bool]:
        queue: SettleQueue[Batch] = SettleQueue(max_records=1_000, max_batches=100)
        seen = [queue.settled()]
        queue.put_nowait(Batch(10))
        seen.append(queue.settled())
        queue.get_nowait()  # being settled: no longer waiting, not yet done
        seen.append(queue.settled())
        queue.task_done()
        seen.append(queue.settled())
        return seen

    assert asyncio.run(scenario()) == [True, False, False, True]
