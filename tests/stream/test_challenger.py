"""The challenger's holder: no challenger is the usual state; loaded, swapped and dropped between
batches; refreshed by the model-events agent on the events that may move it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from centinela.exceptions import RegistryUnavailableError
from stream.app import build_app, build_components
from stream.challenger import ChallengerHolder
from stream.champion import ChampionHolder
from tests.stream.test_app import Registry, event, settings_for, until


class Challengers(Registry):
    """The same stand-in, for the challenger alias."""

    def __init__(self) -> None:
        super().__init__()
        self.challenger: str | None = None

    def challenger_alias(self, settings: object) -> str | None:
        if self.down:
            raise RegistryUnavailableError("registry down")
        return self.challenger


def holder_for(registry: Challengers, tmp_path: Path) -> ChallengerHolder:
    settings = settings_for(tmp_path)
    return ChallengerHolder(settings, loader=registry.load, alias_lookup=registry.challenger_alias)


def test_no_challenger_is_no_problem_and_one_is_loaded_swapped_and_dropped(tmp_path: Path) -> None:
    registry = Challengers()
    holder = holder_for(registry, tmp_path)

    async def scenario() -> None:
        await holder.refresh()
        assert holder.current is None and holder.problem is None and registry.loads == []
        registry.challenger = "2"
        await holder.refresh()
        assert holder.current is not None and holder.current.version == "2"
        assert holder.current.encoder.role == "shadow"
        registry.challenger = "3"
        await holder.refresh()
        assert holder.pending_version == "3" and holder.current.version == "2"
        assert holder.take_next() is not None and holder.current.version == "3"

        registry.challenger = None  # rejected: the alias is removed
        await holder.refresh()
        assert holder.current is not None and holder.current.version == "3"  # until the batch ends
        assert holder.take_next() is None and holder.current is None
        assert holder.problem is None and holder.swaps == 2

        registry.challenger = "4"
        await holder.refresh()
        registry.down = True  # the registry away: the challenger is kept, the problem said
        await holder.refresh()
        assert holder.current is not None and holder.current.version == "4"
        assert "unreachable" in (holder.problem or "") and holder.take_next() is None
        assert registry.loads == ["2", "3", "4"]

    asyncio.run(scenario())


def test_an_alias_that_comes_back_before_the_batch_ends_keeps_the_challenger(
    tmp_path: Path,
) -> None:
    registry = Challengers()
    registry.challenger = "2"
    holder = holder_for(registry, tmp_path)

    async def scenario() -> None:
        await holder.refresh()
        registry.challenger = None
        await holder.refresh()
        registry.challenger = "2"
        await holder.refresh()
        assert holder.take_next() is None
        assert holder.current is not None and holder.current.version == "2"
        assert registry.loads == ["2"]

    asyncio.run(scenario())


def test_model_events_refresh_the_challenger_and_only_promotions_the_champion(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    registry = Challengers()
    champion = ChampionHolder(settings, loader=registry.load, alias_lookup=registry.alias)
    challenger = ChallengerHolder(
        settings, loader=registry.load, alias_lookup=registry.challenger_alias
    )
    app, _ = build_app(settings, build_components(settings, champion, challenger))
    [agent] = list(app.agents.values())

    async def scenario() -> None:
        await champion.refresh()
        async with agent.test_context() as running:
            registry.challenger = "2"
            await running.put(event("registered", "2", model="other-model"))
            await running.put(event("registered", "2"))
            await until(lambda: challenger.current is not None)
            assert challenger.current is not None and challenger.current.version == "2"
            assert champion.pending_version is None and registry.loads == ["1", "2"]

            registry.champion, registry.challenger = "2", None  # promoted
            await running.put(event("promoted", "2"))
            await until(lambda: champion.pending_version == "2")
            await until(lambda: challenger.take_next() is None and challenger.current is None)

            registry.challenger = "3"
            await running.put(event("registered", "3"))
            await until(lambda: challenger.current is not None)
            registry.challenger = None
            await running.put(event("rejected", "3"))
            await until(lambda: challenger.take_next() is None and challenger.current is None)

    asyncio.run(scenario())
