"""The worker's memory helpers: records right-sized before they wait in flight, Arrow left out,
fetched records dropped unread freed at once."""

from __future__ import annotations

import gc
import tracemalloc
import weakref
from types import SimpleNamespace

import orjson
from aiokafka.consumer.fetcher import FetchResult, PartitionRecords
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import TopicPartition

from stream.memory import free_dropped_fetches, right_sized
from tests.fresh_interpreter import run_fresh


def held_bytes(make: object) -> int:
    """Bytes still allocated by 1,000 results of ``make()`` (kept alive while measured)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [make() for _ in range(1000)]  # type: ignore[operator]
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(kept) == 1000
    return held


def test_right_sized_keeps_the_bytes_and_only_their_length() -> None:
    record = {"event_id": "e-1", "features": {f"f{i}": i / 7 for i in range(20)}}
    printed = orjson.dumps(record)
    assert right_sized(printed) == printed
    copy_cost = held_bytes(lambda: right_sized(orjson.dumps(record)))
    assert copy_cost < 1000 * (len(printed) + 100)  # the bytes object's header is ~33 bytes


WITHOUT_ARROW = """
import sys, tempfile
from stream.memory import leave_out_arrow
leave_out_arrow()
import mlflow.sklearn
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
import stream.app  # everything the worker imports
frame = pd.DataFrame(np.random.default_rng(0).random((40, 3)), columns=["a", "b", "c"])
model = LogisticRegression().fit(frame, frame["a"] > 0.5)
folder = tempfile.mkdtemp() + "/model"
mlflow.sklearn.save_model(model, folder)
loaded = mlflow.sklearn.load_model(folder)
assert (loaded.predict_proba(frame.to_numpy()) == model.predict_proba(frame)).all()
try:
    import pyarrow
except ModuleNotFoundError as refused:
    print("refused:", refused)
print("loaded:", "pyarrow" in sys.modules)
"""


def test_the_worker_s_libraries_run_with_arrow_left_out() -> None:
    printed = run_fresh(WITHOUT_ARROW)
    assert "refused: pyarrow is left out of the stream worker" in printed
    assert "loaded: False" in printed


def test_arrow_is_not_left_out_once_loaded() -> None:
    script = (
        "import sys, pyarrow\nfrom stream.memory import leave_out_arrow\n"
        "leave_out_arrow()\nimport pyarrow.parquet\nprint('pyarrow.parquet' in sys.modules)"
    )
    assert run_fresh(script) == "True"


def fetched_records(count: int) -> PartitionRecords:
    """Records of one partition as aiokafka's fetcher holds them after a fetch."""
    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=1_000_000,
    )
    for offset in range(count):
        builder.append(offset, timestamp=None, key=None, value=b"x" * 100, headers=[])
    response = MemoryRecords(bytes(builder.build()))
    return PartitionRecords(TopicPartition("t", 0), response, None, 0, None, None, True, 0)


def fetch_result(records: PartitionRecords, paused: bool) -> FetchResult:
    state = SimpleNamespace(paused=paused, position=records.next_fetch_offset)
    state.consumed_to = lambda offset: setattr(state, "position", offset)
    assignment = SimpleNamespace(active=True, state_value=lambda tp: state)
    return FetchResult(
        TopicPartition("t", 0), assignment=assignment, partition_records=records, backoff=0
    )


def test_records_dropped_unread_are_freed_without_a_garbage_collection() -> None:
    free_dropped_fetches()
    free_dropped_fetches()  # idempotent: wraps once
    assert not hasattr(FetchResult.check_assignment.__wrapped__, "frees_dropped")
    records = fetched_records(100)
    next(records)  # half read, as when a getmany stopped at max_records
    dropped = weakref.ref(records)
    result = fetch_result(records, paused=True)
    del records
    gc.disable()
    try:
        assert result.getall(10) == []  # paused: aiokafka drops them
        assert dropped() is None
    finally:
        gc.enable()


def test_records_of_a_partition_still_fetchable_stay() -> None:
    free_dropped_fetches()
    records = fetched_records(100)
    result = fetch_result(records, paused=False)
    assert [record.offset for record in result.getall(10)] == list(range(10))
    assert result.has_more()
