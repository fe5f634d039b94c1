"""The champion the stream scores with, and its hot swap (docs/architecture.md, "The flow").

:class:`ChampionHolder` loads ``models:/<name>@champion`` in a background thread whenever the
alias may have moved (a ModelEvent, the poll timer, a registry webhook) and hands the new
version over between two batches, so every batch is scored by exactly one version. Without a
champion the worker is not ready and waits; when the registry does not answer it keeps the
cached model. The holder is a :class:`ModelHolder` of the ``champion`` alias: the challenger
scored in the shadow has one of its own (:mod:`stream.challenger`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import mlflow

from centinela.contract.codec import PredictionEncoder
from centinela.contract.records import PredictionRole
from centinela.contract.settings import Settings
from centinela.exceptions import CentinelaError, ChampionMissingError, RegistryUnavailableError
from centinela.models.profile import PROFILE_ARTIFACT, ReferenceProfile
from centinela.models.registry import CHAMPION, LoadedModel, alias_version, client, load_model
from stream.time_bounds import TimeBounds
from stream.validation import FeatureValidator, LabelValidator

log = logging.getLogger(__name__)

Loader = Callable[[Settings, str], LoadedModel]
AliasLookup = Callable[[Settings], "str | None"]


@dataclass(frozen=True)
class Champion:
    """A loaded version with what scoring needs around it: validators and the encoder (which
    writes the role it scores in: the champion's, or a challenger's in the shadow)."""

    model: LoadedModel
    features: FeatureValidator
    labels: LabelValidator
    encoder: PredictionEncoder
    class_keys: tuple[str, ...]

    @property
    def version(self) -> str:
        return self.model.version

    @property
    def profile(self) -> ReferenceProfile:
        return self.model.profile

    @classmethod
    def from_model(
        cls, model: LoadedModel, settings: Settings, *, role: PredictionRole = "champion"
    ) -> Champion:
        profile = model.profile
        limit, bounds = settings.max_message_bytes, TimeBounds.from_settings(settings)
        return cls(
            model=model,
            features=FeatureValidator(
                profile, max_bytes=limit, bounds=bounds, max_abs=settings.feature_max_abs
            ),
            labels=LabelValidator(profile, max_bytes=limit, bounds=bounds),
            encoder=PredictionEncoder(model.name, model.version, profile.classes, role=role),
            class_keys=tuple(str(c) for c in profile.classes),
        )


def load_version(settings: Settings, version: str) -> LoadedModel:
    return load_model(settings, version=version)


def _champion_alias(settings: Settings) -> str | None:
    return alias_version(settings, CHAMPION)


def load_profile(settings: Settings, version: str) -> ReferenceProfile:
    """Only the reference profile of a version (windows of an older version need it)."""
    mlflow_client = client(settings)
    run_id = mlflow_client.get_model_version(settings.model_name, version).run_id
    path = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=PROFILE_ARTIFACT, tracking_uri=settings.mlflow_tracking_uri
    )
    return ReferenceProfile.from_json(Path(path).read_text(encoding="utf-8"))


class ModelHolder:
    """The version an alias names: the current one, the next one being loaded, and a drop.

    The champion's holder must find one (without it the worker is not ready); a challenger's
    may find none, which is the usual state (``required=False``): the alias removed drops the
    version after the current batch, and nothing is wrong.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        alias: str,
        role: PredictionRole,
        required: bool,
        loader: Loader,
        alias_lookup: AliasLookup,
    ) -> None:
        self.settings = settings
        self.alias = alias
        self.role: PredictionRole = role
        self.required = required
        self._loader = loader
        self._alias_lookup = alias_lookup
        self.current: Champion | None = None
        self._next: Champion | None = None
        self._drop = False  # the alias is gone: no version after the current batch
        self._lock = asyncio.Lock()
        self.problem: str | None = f"no {alias} loaded yet" if required else None
        self.swaps = 0

    @property
    def ready(self) -> bool:
        return self.current is not None

    @property
    def pending_version(self) -> str | None:
        """The version loaded and waiting for the current batch to end, if any."""
        return None if self._next is None else self._next.version

    async def refresh(self) -> None:
        """Look up the alias; load a new version in a thread. Never raises."""
        if self._lock.locked():
            return  # a refresh is under way; it will see the latest alias
        async with self._lock:
            loaded = await self._fetch()
            if loaded is not None:
                self._stage(Champion.from_model(loaded, self.settings, role=self.role))

    async def _fetch(self) -> LoadedModel | None:
        """The newly named version, loaded; None when there is nothing new (or it failed)."""
        loop = asyncio.get_running_loop()
        try:
            wanted = await loop.run_in_executor(None, self._alias_lookup, self.settings)
            if wanted is None:
                self._absent()
                return None
            known = self._next or self.current
            if known is not None and known.version == wanted:
                self._drop = False  # the alias came back to the version we hold
                self.problem = None
                return None
            return await loop.run_in_executor(None, self._loader, self.settings, wanted)
        except RegistryUnavailableError as error:
            self._report(f"registry unreachable, scoring with the cached model: {error}")
        except ChampionMissingError as error:
            self._report(f"waiting for a {self.alias}: {error}")
        except CentinelaError as error:
            self._report(f"cannot load the {self.alias}: {error}")
        except Exception as error:  # MLflow and storage errors: keep the cached model
            log.exception("loading the %s failed", self.alias)
            self._report(f"cannot load the {self.alias}: {error!r}")
        return None

    def _absent(self) -> None:
        if self.required:
            name = self.settings.model_name
            raise ChampionMissingError(f"model {name!r} has no {self.alias}")
        self.problem = None
        self._next = None
        if self.current is not None and not self._drop:
            self._drop = True
            version = self.current.version
            log.info("no %s any more: version %s stops after this batch", self.alias, version)

    def _stage(self, model: Champion) -> None:
        self._loaded(model)
        self.problem = None
        self._drop = False
        if self.current is None:
            self.current = model
            log.info("%s is version %s", self.alias, model.version)
        else:
            self._next = model
            log.info("%s version %s loaded; switching after this batch", self.alias, model.version)

    def _loaded(self, model: Champion) -> None:
        """A hook for what a subclass keeps of each loaded version."""

    def take_next(self) -> Champion | None:
        """Between batches: switch to a newly loaded version, if any; return it. A dropped
        version leaves no current one (and returns None)."""
        if self._drop:
            dropped, self.current, self._drop = self.current, None, False
            self.swaps += 1
            log.info("%s version %s dropped", self.alias, dropped.version if dropped else "-")
            return None
        if self._next is None:
            return None
        previous, self.current, self._next = self.current, self._next, None
        self.swaps += 1
        log.info(
            "hot swap of the %s: version %s -> %s",
            self.alias,
            previous.version if previous else "-",
            self.current.version if self.current else "-",
        )
        return self.current

    def _report(self, problem: str) -> None:
        if problem != self.problem:
            log.warning("%s", problem)
        self.problem = problem


class ChampionHolder(ModelHolder):
    """The champion, and the reference profiles of the versions windows were scored by."""

    def __init__(
        self,
        settings: Settings,
        *,
        loader: Loader = load_version,
        alias_lookup: AliasLookup = _champion_alias,
    ) -> None:
        super().__init__(
            settings,
            alias=CHAMPION,
            role="champion",
            required=True,
            loader=loader,
            alias_lookup=alias_lookup,
        )
        self._profiles: dict[str, ReferenceProfile] = {}

    def _loaded(self, model: Champion) -> None:
        self._profiles[model.version] = model.profile

    def profile_of(self, version: str) -> ReferenceProfile:
        found = self._profiles.get(version)
        if found is None:  # only after a restart, for windows of an older version
            log.warning("loading the profile of version %s synchronously", version)
            found = self._profiles[version] = load_profile(self.settings, version)
        return found

    async def ensure_profiles(self, versions: Iterable[str]) -> None:
        loop = asyncio.get_running_loop()
        for version in set(versions) - set(self._profiles):
            profile = await loop.run_in_executor(None, load_profile, self.settings, version)
            self._profiles[version] = profile
