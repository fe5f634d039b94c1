"""The changelog groups a partition still needs, by bucket (stream/group_ledger.py): never
retired early, at most a bucket late, the same after a snapshot, and small."""

from __future__ import annotations

import math
import random
import tracemalloc

from stream import blob_json
from stream.changelog import chunk_keys, new_group_id
from stream.group_ledger import GroupLedger

HORIZON = 7455.0


def random_groups(seed: int, n: int = 2000) -> list[tuple[str, int, float, int | None]]:
    rng = random.Random(seed)
    groups = []
    for index in range(n):
        group_id = new_group_id() if index % 10 else f"group-{index}"  # a few odd ids too
        moment = -math.inf if index % 97 == 0 else rng.uniform(0.0, 4 * HORIZON)
        window = None if moment == -math.inf else int(moment // 20)
        groups.append((group_id, rng.choice([1, 1, 1, 2, 5]), moment, window))
    return groups


def test_a_group_retires_never_before_its_horizon_and_at_most_a_bucket_after():
    groups = random_groups(seed=1)
    ledger = GroupLedger(HORIZON)
    for group in groups:
        ledger.add(*group)
    keys_of = {group_id: chunk_keys(group_id, chunks) for group_id, chunks, _, _ in groups}
    retired: dict[str, float] = {}
    for expired in range(0, int(6 * HORIZON), 100):
        keys = set(ledger.retire(closed=10**9, expired=float(expired)))
        for group_id, _, moment, _ in groups:
            if group_id not in retired and keys & set(keys_of[group_id]):
                assert keys >= set(keys_of[group_id])  # every chunk of the group at once
                retired[group_id] = expired
                assert moment + HORIZON < expired  # never early
    for group_id, _, moment, _ in groups:
        assert retired[group_id] <= max(moment, 0.0) + HORIZON + ledger.width + 100
    assert len(ledger) == 0


def test_open_windows_hold_their_groups():
    ledger = GroupLedger(HORIZON)
    ledger.add(new_group_id(), 1, 10.0, 7)
    assert ledger.retire(closed=6, expired=1e12) == []
    assert ledger.retire(closed=None, expired=1e12) == []
    assert len(ledger.retire(closed=7, expired=1e12)) == 1


def test_a_ledger_survives_a_snapshot_document():
    ledger = GroupLedger(HORIZON)
    for group in random_groups(seed=2):
        ledger.add(*group)
    ledger.retire(closed=10**9, expired=2 * HORIZON)
    back = GroupLedger.from_document(
        HORIZON, blob_json.loads(blob_json.dumps(ledger.to_document()))
    )
    assert back == ledger and len(back) == len(ledger) > 0
    for expired in (3 * HORIZON, 4 * HORIZON, 6 * HORIZON):
        assert back.retire(closed=10**9, expired=expired) == ledger.retire(
            closed=10**9, expired=expired
        )


def test_a_group_costs_a_few_bytes_not_hundreds():
    ids = [new_group_id() for _ in range(100_000)]
    tracemalloc.start()
    ledger = GroupLedger(HORIZON)
    for index, group_id in enumerate(ids):
        ledger.add(group_id, 1, index * 0.05, index // 400)
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(ledger) == 100_000
    assert held / 100_000 < 20  # a LoggedGroup in a heap tuple took ~285
