"""Canary serving in the batch step and its holder, without a broker: a hash-chosen share of
events is served by the challenger on ``predictions`` (role ``canary``), each event exactly
once by one version; the champion's join and windows do not change; a stopped canary serves
nothing."""

from __future__ import annotations

import asyncio
import dataclasses
import zlib
from typing import Any

import pytest

from centinela.contract.codec import decode
from centinela.contract.records import Prediction
from centinela.contract.settings import Settings
from stream.batch_output import BatchOutput
from stream.canary import canary_rows, served_by_canary
from stream.challenger import ChallengerHolder
from stream.champion import Champion
from tests.stream.stream_data import trained_model
from tests.stream.test_pipeline import SETTINGS, Log, new_pipeline, run
from tests.stream.test_shadow import Raising, batch_of, champion_view

SHARE = 0.2


@pytest.fixture(scope="module")
def champion() -> Champion:
    return Champion.from_model(trained_model("1"), SETTINGS)


@pytest.fixture(scope="module")
def challenger() -> Champion:
    return Champion.from_model(trained_model("2", seed=3), SETTINGS, role="shadow")


def records(rows: dict[int, list[tuple[bytes, bytes]]]) -> dict[str, Prediction]:
    decoded = [decode(Prediction, v) for part in rows.values() for _, v in part]
    by_id = {p.event_id: p for p in decoded}
    assert len(by_id) == len(decoded), "an event served twice"
    return by_id


def with_canary(pipeline: Any, champion: Champion, challenger: Champion, features: Any,
                share: float = SHARE) -> BatchOutput:  # fmt: skip
    return pipeline.process(
        champion, features, {}, labels_caught_up=lambda p: True, received_at=0.0,
        challenger=challenger, canary_share=share,
    )  # fmt: skip


def test_the_choice_is_crc32_of_the_event_id_so_every_process_and_replay_agrees() -> None:
    ids = [f"evt-{i}" for i in range(50_000)]
    rows = canary_rows(ids, SHARE)
    expected = [i for i, e in enumerate(ids) if zlib.crc32(e.encode()) < SHARE * 2**32]
    assert rows.tolist() == expected
    assert [served_by_canary(e, SHARE) for e in ids] == [i in set(expected) for i in range(50_000)]
    assert abs(len(rows) / len(ids) - SHARE) < 0.01
    assert canary_rows(ids[:10], 0.0).size == 0 and canary_rows(ids[:10], 1.0).size == 10
    # A bigger share keeps every event a smaller one chose: raising the share only adds events.
    assert set(rows.tolist()) <= set(canary_rows(ids, 0.3).tolist())


def test_the_canary_serves_its_share_once_each_and_the_shadow_keeps_the_rest(
    champion: Champion, challenger: Champion
) -> None:
    features, batch = batch_of(2000, Log())
    ids = [event_id for event_id, _, _ in batch]
    chosen = {e for e in ids if served_by_canary(e, SHARE)}
    pipeline, alone_pipeline = new_pipeline(champion), new_pipeline(champion)
    out = with_canary(pipeline, champion, challenger, features)
    alone = run(alone_pipeline, champion, features)

    served = records(out.predictions)
    assert set(served) == set(ids)  # every accepted event, once
    canary = {e for e, p in served.items() if p.role == "canary"}
    assert canary == chosen and 0.17 < len(canary) / len(ids) < 0.23
    assert {p.model_version for e, p in served.items() if e in canary} == {"2"}
    assert {(p.role, p.model_version) for e, p in served.items() if e not in canary} == {
        ("champion", "1")
    }
    shadow = records(out.shadow_predictions)
    assert set(shadow) == set(ids) - canary  # the challenger's answer is on one topic only
    assert {p.role for p in shadow.values()} == {"shadow"}
    # The canary's records are the challenger's answers, as its shadow records would be.
    shadow_only = records(with_canary(new_pipeline(champion), champion, challenger, features,
                                      share=0.0).shadow_predictions)  # fmt: skip
    for event_id in canary:
        assert served[event_id].predicted_class == shadow_only[event_id].predicted_class
        assert served[event_id].probabilities == shadow_only[event_id].probabilities
    alone_served = records(alone.predictions)
    for event_id in set(ids) - canary:
        assert served[event_id].predicted_class == alone_served[event_id].predicted_class
    # Key order follows the partition's events, as without a canary.
    for partition, rows in out.predictions.items():
        assert [k for k, _ in rows] == [k for k, _ in alone.predictions[partition]]
    assert out.stats.canary_served == len(canary) == pipeline.shadow.canary_served
    assert out.stats.shadow_scored == len(ids) - len(canary) == pipeline.shadow.scored
    # The join, the windows and labeled follow the champion whatever serves.
    view, alone_view = champion_view(out), champion_view(alone)
    del view["predictions"], alone_view["predictions"]
    assert view == alone_view


def test_a_challenger_that_raises_serves_nothing_and_the_champion_serves_every_event(
    champion: Champion, challenger: Champion
) -> None:
    broken = dataclasses.replace(
        challenger, model=dataclasses.replace(challenger.model, model=Raising())
    )
    features, batch = batch_of(500, Log())
    out = with_canary(new_pipeline(champion), champion, broken, features)
    served = records(out.predictions)
    assert set(served) == {e for e, _, _ in batch}
    assert {p.role for p in served.values()} == {"champion"}
    assert out.stats.canary_served == 0 and not out.shadow_predictions


class Registry:
    """What the holder asks the registry: the challenger alias and the version's stop tag."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.stopped: str | None = None
        self.lookups = 0

    def alias(self, settings: Settings) -> str | None:
        return "2"

    def load(self, settings: Settings, version: str) -> Any:
        return self.model

    def stop_reason(self, settings: Settings, version: str) -> str | None:
        self.lookups += 1
        return self.stopped


def test_the_holder_serves_the_share_until_the_version_is_tagged_stopped() -> None:
    registry = Registry(trained_model("2", seed=3))
    settings = SETTINGS.model_copy(update={"canary_share": SHARE})
    holder = ChallengerHolder(
        settings,
        loader=registry.load,
        alias_lookup=registry.alias,
        stop_lookup=registry.stop_reason,
    )
    assert holder.canary_share == 0.0  # no challenger yet
    asyncio.run(holder.refresh())
    assert holder.canary_share == SHARE and holder.canary_stopped() is None
    registry.stopped = "canary stopped: live verdict worse"
    asyncio.run(holder.refresh())
    assert holder.canary_share == 0.0
    assert holder.canary_stopped() == "canary stopped: live verdict worse"
    registry.stopped = None  # a stop is for good: the holder does not ask again
    lookups = registry.lookups
    asyncio.run(holder.refresh())
    assert holder.canary_share == 0.0 and registry.lookups == lookups


def test_without_a_share_the_holder_never_reads_the_stop_tag() -> None:
    registry = Registry(trained_model("2", seed=3))
    holder = ChallengerHolder(
        SETTINGS, loader=registry.load, alias_lookup=registry.alias,
        stop_lookup=registry.stop_reason,
    )  # fmt: skip
    asyncio.run(holder.refresh())
    assert holder.current is not None and holder.canary_share == 0.0 and registry.lookups == 0
