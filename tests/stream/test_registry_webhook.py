"""The registry webhook's checks: what a delivery must carry to be believed."""

from __future__ import annotations

import asyncio
import json

from centinela.contract.settings import Settings
from stream.registry_webhook import (
    MAX_AGE_SECONDS,
    SIGNATURE_HEADER,
    RegistryWebhook,
    champion_moved,
    signature_valid,
    signed_headers,
)

SECRET, NOW = "s3cret", 1_800_000_000.0
BODY = json.dumps({"data": {"name": "m", "alias": "champion", "version": "4"}}).encode()


def test_a_delivery_signed_now_with_our_secret_is_believed() -> None:
    headers = signed_headers(SECRET, "delivery-1", str(int(NOW)), BODY)
    assert signature_valid(SECRET, headers, BODY, now=NOW + 1)


def test_a_changed_body_a_replay_or_a_missing_signature_is_refused() -> None:
    headers = signed_headers(SECRET, "delivery-1", str(int(NOW)), BODY)
    tampered = BODY.replace(b'"4"', b'"5"')
    assert not signature_valid(SECRET, headers, tampered, now=NOW)
    assert not signature_valid(SECRET, headers, BODY, now=NOW + MAX_AGE_SECONDS + 1)
    unsigned = {k: v for k, v in headers.items() if k != SIGNATURE_HEADER}
    assert not signature_valid(SECRET, unsigned, BODY, now=NOW)
    assert not signature_valid(SECRET, {**headers, "X-MLflow-Timestamp": "soon"}, BODY, now=NOW)


def test_only_our_models_champion_alias_counts() -> None:
    assert champion_moved(BODY, "m")
    challenger = json.dumps({"data": {"name": "m", "alias": "challenger", "version": "4"}})
    assert not champion_moved(challenger.encode(), "m")
    assert not champion_moved(b"[1, 2]", "m") and not champion_moved(b"{", "m")


class Refreshes:
    """Counts the refreshes a delivery starts (stands in for a holder)."""

    def __init__(self) -> None:
        self.count = 0

    async def refresh(self) -> None:
        self.count += 1


def test_a_challenger_delivery_refreshes_the_challenger_and_a_champion_one_both() -> None:
    settings = Settings(_env_file=None, model_name="m", mlflow_webhook_secret=SECRET)  # type: ignore[call-arg]
    champion, challenger = Refreshes(), Refreshes()

    async def deliver() -> list[tuple[int, int, int]]:
        webhook = RegistryWebhook(settings, champion, challenger)  # type: ignore[arg-type]
        seen = []
        for alias, name in [("challenger", "m"), ("champion", "m"), ("challenger", "other")]:
            body = json.dumps({"data": {"name": name, "alias": alias}}).encode()
            headers = signed_headers(SECRET, "d", str(int(NOW)), body)
            code = webhook.receive(headers, body, now=NOW)
            await asyncio.sleep(0.01)  # the refreshes run as tasks
            seen.append((code, champion.count, challenger.count))
        return seen

    assert asyncio.run(deliver()) == [(200, 0, 1), (200, 1, 2), (200, 1, 2)]
