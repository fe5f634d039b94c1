"""A person's retrain request (``centinela retrain request``), published like the stream's.

>>> parse_duration("90m"), parse_duration("2h"), parse_duration("1d")
(datetime.timedelta(seconds=5400), datetime.timedelta(seconds=7200), datetime.timedelta(days=1))
>>> parse_moment("2026-01-01T00:00:00Z").isoformat()
'2026-01-01T00:00:00+00:00'
"""

from __future__ import annotations

import re
import ssl
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError, NoBrokersAvailable

from centinela.contract.codec import encode, encode_key
from centinela.contract.kafka_access import access_error, unreachable
from centinela.contract.kafka_clients import kafka_python_config
from centinela.contract.records import RetrainRequest
from centinela.contract.settings import Settings
from centinela.contract.topics import Topics
from centinela.exceptions import BrokerUnavailableError
from centinela.models.registry import CHAMPION, alias_version
from retrain.exceptions import RetrainError

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if match is None:
        raise RetrainError(f"cannot read {text!r} as a duration; write e.g. 90m, 6h or 2d")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RetrainError(f"cannot read {text!r} as an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise RetrainError(f"{text!r} has no time zone; add Z or +00:00")
    return moment.astimezone(UTC)


def manual_request(
    settings: Settings, start: datetime, until: datetime, *, actor: str, note: str
) -> RetrainRequest:
    """A request for the current champion's model over ``[start, until]`` (event time)."""
    if until <= start:
        raise RetrainError(
            f"the range is empty: {until.isoformat()} is not after {start.isoformat()}"
        )
    champion = alias_version(settings, CHAMPION)
    if champion is None:
        raise RetrainError(f"model {settings.model_name!r} has no champion to retrain")
    evidence: dict[str, Any] = {"requested_by": actor, "note": note}
    return RetrainRequest(
        request_id=f"manual-{uuid.uuid4().hex[:12]}",
        model_name=settings.model_name,
        champion_version=champion,
        reason="manual",
        evidence=evidence,
        train_from=start,
        train_until=until,
    )


def publish_request(settings: Settings, request: RetrainRequest) -> None:
    topic = Topics.from_settings(settings).retrain_requests
    try:
        producer = KafkaProducer(acks="all", **kafka_python_config(settings))
    except (NoBrokersAvailable, KafkaError, ssl.SSLError) as error:  # SSLError: TLS refused
        raise unreachable(settings, error) from None
    try:
        producer.send(topic, key=encode_key(request.model_name), value=encode(request)).get(30)
    except KafkaError as error:
        raise access_error(settings) or BrokerUnavailableError(
            f"could not publish to {topic}: {error}"
        ) from None
    finally:
        producer.close(timeout=30)
