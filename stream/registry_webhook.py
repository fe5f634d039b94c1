"""Push, not only poll: MLflow's registry webhook tells every stream worker that the champion
alias moved.

A ModelEvent on ``model-events`` reaches the one worker that owns its partition, and the others
see the move at their next poll (``CENTINELA_CHAMPION_POLL_SECONDS``). Where the MLflow server
offers registry webhooks (MLflow 3.3+, experimental, on a SQL store), each worker with
``CENTINELA_MLFLOW_WEBHOOK_SECRET`` set registers its own webhook for alias changes at start
(its ``/mlflow-webhook`` view at ``CENTINELA_STREAM_ADVERTISED_URL``) and deletes it at stop.
A delivery is accepted only with a valid signature: MLflow signs
``<delivery id>.<timestamp>.<body>`` with HMAC-SHA256 and the secret, and a timestamp more than
:data:`MAX_AGE_SECONDS` away is refused, so a recorded delivery cannot be replayed later. An
accepted delivery for our model's ``champion`` alias starts the same refresh as a ModelEvent.
A delivery for the ``challenger`` alias (or the champion's) refreshes the challenger scored in
the shadow. Where the server has no webhooks (or refuses ours), the worker says so once and
the topic and the poll carry on alone.

>>> secret, body = "s3cret", b'{"data": {"name": "m", "alias": "champion", "version": "2"}}'
>>> headers = signed_headers(secret, "d-1", "1700000000", body)
>>> signature_valid(secret, headers, body, now=1700000010.0)
True
>>> signature_valid("other", headers, body, now=1700000010.0)
False
>>> champion_moved(body, "m"), champion_moved(body, "other-model")
(True, False)
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from mode import Service

from centinela.contract.settings import Settings
from centinela.models.registry import CHALLENGER, CHAMPION, client
from stream.champion import ChampionHolder, ModelHolder

log = logging.getLogger(__name__)

PATH = "/mlflow-webhook"
MAX_AGE_SECONDS = 300.0
SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_HEADER = "X-MLflow-Delivery-Id"


def _signature(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, delivery_id: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The headers MLflow sends with a delivery (for tests and for checking by hand)."""
    return {
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: _signature(secret, delivery_id, timestamp, body),
    }


def signature_valid(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> bool:
    """The delivery was signed with ``secret`` and is recent."""
    delivery_id = headers.get(DELIVERY_HEADER, "")
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    given = headers.get(SIGNATURE_HEADER, "")
    try:
        fresh = abs(now - float(timestamp)) <= MAX_AGE_SECONDS
    except ValueError:
        return False
    expected = _signature(secret, delivery_id, timestamp, body)
    return fresh and hmac.compare_digest(given.encode(), expected.encode())


def champion_moved(body: bytes, model_name: str) -> bool:
    """The delivery is about the champion alias of ``model_name``."""
    return moved_alias(body, model_name) == CHAMPION


def moved_alias(body: bytes, model_name: str) -> str | None:
    """The alias of ``model_name`` the delivery is about, if it is about one of ours."""
    try:
        data = json.loads(body).get("data") or {}
    except (ValueError, AttributeError):
        return None
    alias = data.get("alias")
    return alias if data.get("name") == model_name and isinstance(alias, str) else None


def advertised_url(settings: Settings) -> str:
    base = settings.stream_advertised_url or f"http://127.0.0.1:{settings.stream_web_port}"
    return base.rstrip("/") + PATH


class RegistryWebhook(Service):
    """This worker's webhook in the registry, and what a delivery does."""

    def __init__(
        self,
        settings: Settings,
        holder: ChampionHolder,
        challenger: ModelHolder | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.holder = holder
        self.challenger = challenger
        secret = settings.mlflow_webhook_secret
        self.secret = "" if secret is None else secret.get_secret_value()
        self.url = advertised_url(settings)
        self.webhook_id: str | None = None
        self.accepted = 0
        self.refused = 0
        self._refreshes: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        """One name per model and worker address, within MLflow's rules for webhook names
        (under 63 characters; letters, digits, dots, dashes): a restarted worker finds its own."""
        key = f"{self.settings.model_name}|{self.url}".encode()
        return f"centinela-stream-{hashlib.sha256(key).hexdigest()[:24]}"

    async def on_started(self) -> None:
        loop = asyncio.get_running_loop()
        self.webhook_id = await loop.run_in_executor(None, self._register)

    async def on_stop(self) -> None:
        if self.webhook_id is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._delete)

    def receive(self, headers: Mapping[str, str], body: bytes, *, now: float) -> int:
        """The HTTP status for a delivery; a valid one about our champion starts a refresh."""
        if not signature_valid(self.secret, headers, body, now=now):
            self.refused += 1
            log.warning("refused an MLflow webhook delivery: bad or stale signature")
            return 401
        self.accepted += 1
        alias = moved_alias(body, self.settings.model_name)
        if alias == CHAMPION:
            log.info("MLflow webhook: the champion alias moved; refreshing")
            self._refresh(self.holder)
        # A champion moved onto the challenger's version ends its shadow scoring too.
        if alias in (CHAMPION, CHALLENGER) and self.challenger is not None:
            self._refresh(self.challenger)
        return 200

    def _refresh(self, holder: ModelHolder) -> None:
        task = asyncio.get_running_loop().create_task(holder.refresh())
        self._refreshes.add(task)  # keep a reference until it is done
        task.add_done_callback(self._refreshes.discard)

    def _register(self) -> str | None:
        try:
            registry = client(self.settings)
            for stale in registry.list_webhooks():  # ours from a run that did not stop cleanly
                if stale.name == self.name:
                    registry.delete_webhook(stale.webhook_id)
            webhook = registry.create_webhook(
                name=self.name,
                url=self.url,
                events=["model_version_alias.created", "model_version_alias.deleted"],
                description=f"Centinela stream worker of {self.settings.model_name} at {self.url}",
                secret=self.secret,
            )
        except Exception as error:  # no webhooks on this server, or not allowed: poll instead
            log.warning(
                "the MLflow server did not take a webhook for %s (%s); the champion is "
                "swapped on model events and every %ss poll only",
                self.url,
                error,
                self.settings.champion_poll_seconds,
            )
            return None
        log.info("MLflow webhook %s registered for %s", webhook.webhook_id, self.url)
        return str(webhook.webhook_id)

    def _delete(self) -> None:
        try:
            client(self.settings).delete_webhook(self.webhook_id or "")
        except Exception as error:  # the registry may be gone at shutdown; it is only a webhook
            log.warning("could not delete MLflow webhook %s: %s", self.webhook_id, error)
