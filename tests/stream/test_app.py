"""The Faust app: the model-events agent (with Faust's test_context) and the hot swap; the
merger's replay yields to the scoring service's restores."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from centinela.contract.records import ModelEvent
from centinela.contract.settings import Settings
from centinela.exceptions import RegistryUnavailableError
from centinela.models.registry import LoadedModel
from stream import merger_service
from stream.app import build_app, build_components
from stream.champion import ChampionHolder
from stream.restore import RestoreProgress
from tests.stream.stream_data import trained_model


def settings_for(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, home=tmp_path, topic_prefix="app.", model_name="m")  # type: ignore[call-arg]


class Registry:
    """An in-memory stand-in for the alias lookup and loader the holder is given."""

    def __init__(self) -> None:
        self.champion: str | None = "1"
        self.down = False
        self.loads: list[str] = []

    def alias(self, settings: Settings) -> str | None:
        if self.down:
            raise RegistryUnavailableError("registry down")
        return self.champion

    def load(self, settings: Settings, version: str) -> LoadedModel:
        self.loads.append(version)
        return trained_model(version)


def event(kind: str, version: str, model: str = "m") -> bytes:
    return ModelEvent(event_type=kind, model_name=model, version=version).model_dump_json().encode()  # type: ignore[arg-type]


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """put() returns once the agent has the value (it has no sink); wait for its effect."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the agent did not act in time"
        await asyncio.sleep(0.01)


def test_a_promotion_on_model_events_hot_swaps_between_batches(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    registry = Registry()
    holder = ChampionHolder(settings, loader=registry.load, alias_lookup=registry.alias)
    app, _ = build_app(settings, build_components(settings, holder))
    [agent] = list(app.agents.values())

    async def scenario() -> None:
        await holder.refresh()
        assert holder.current is not None and holder.current.version == "1"
        async with agent.test_context() as running:
            registry.champion = "2"
            await running.put(event("registered", "2"))  # not a promotion: nothing happens
            await running.put(event("promoted", "2", model="other-model"))
            await running.put(event("promoted", "2"))
            await until(lambda: holder.pending_version == "2")
            assert registry.loads == ["1", "2"]
            # The new version waits for the current batch to end: no event sees two versions.
            assert holder.current.version == "1"
            assert holder.take_next() is not None
            assert holder.current.version == "2"

            await running.put(b"not a model event")  # unreadable: ignored, the agent goes on
            registry.champion = "1"
            await running.put(event("rolled_back", "1"))
            await until(lambda: holder.pending_version == "1")
            assert holder.take_next() is not None and holder.current.version == "1"

    asyncio.run(scenario())


def test_without_a_champion_not_ready_and_an_unreachable_registry_keeps_the_model(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    registry = Registry()
    registry.champion = None
    holder = ChampionHolder(settings, loader=registry.load, alias_lookup=registry.alias)

    async def scenario() -> None:
        await holder.refresh()
        assert not holder.ready and "champion" in (holder.problem or "")
        registry.champion = "3"
        await holder.refresh()
        assert holder.ready and holder.current is not None and holder.current.version == "3"
        registry.down, registry.champion = True, "4"
        await holder.refresh()
        assert holder.current.version == "3" and holder.take_next() is None
        assert "unreachable" in (holder.problem or "")

    asyncio.run(scenario())


def test_the_mergers_replay_waits_for_the_scoring_restores_at_most_a_while(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """Replaying published windows costs seconds of CPU after a long run: in one process it
    waits until the scoring service has its partitions restored, so that new events are
    scored first, but never longer than YIELD_TO_SCORING_SECONDS after its assignment."""
    settings = settings_for(tmp_path)
    registry = Registry()
    holder = ChampionHolder(settings, loader=registry.load, alias_lookup=registry.alias)
    parts = build_components(settings, holder)
    scorer, merger = parts.scorer, parts.merger
    merger.assigned_at = time.monotonic()
    assert merger._yield_to_scoring()  # the scoring group has not assigned anything yet
    scorer._assigned = True
    assert not merger._yield_to_scoring()  # assigned, nothing to restore
    scorer.restoring[0] = RestoreProgress(0)
    assert merger._yield_to_scoring()
    monkeypatch.setattr(
        merger_service, "YIELD_TO_SCORING_SECONDS", time.monotonic() - merger.assigned_at
    )
    assert not merger._yield_to_scoring()  # waited long enough
