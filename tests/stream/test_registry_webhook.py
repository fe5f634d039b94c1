"""The registry webhook's checks: what a delivery must carry to be believed."""

from __future__ import annotations

import json

from stream.registry_webhook import (
    MAX_AGE_SECONDS,
    SIGNATURE_HEADER,
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
