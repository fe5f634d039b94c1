"""The worker's HTTP views, served by Faust's web server on ``settings.stream_web_port``.

- ``/health``: the process and its event loop answer (liveness);
- ``/ready``: a champion is loaded, the scoring consumer runs and no partition's state failed to
  restore (readiness), else 503 and why;
- ``/metrics``: Prometheus text (:mod:`stream.prometheus`);
- ``/status``: JSON: champion, challenger and its shadow predictions, partitions, last windows,
  open alerts, last retrain request;
- ``/mlflow-webhook`` (POST, when ``CENTINELA_MLFLOW_WEBHOOK_SECRET`` is set): MLflow's signed
  delivery of an alias change (:mod:`stream.registry_webhook`).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from faust.web import View
from prometheus_client import CONTENT_TYPE_LATEST

from stream.registry_webhook import PATH as WEBHOOK_PATH
from stream.spill import rocksdb_memory

if TYPE_CHECKING:
    import faust

    from stream.app import StreamComponents
    from stream.registry_webhook import RegistryWebhook


def readiness(parts: StreamComponents) -> tuple[bool, list[str]]:
    problems = []
    if parts.holder.current is None:
        problems.append(parts.holder.problem or "no champion loaded")
    if not parts.scorer.consuming:
        problems.append("the scoring consumer is not running")
    for partition, progress in sorted(parts.scorer.restoring.items()):
        if progress.failure is not None:
            problems.append(
                f"partition {partition}: restoring its state failed {progress.attempts} "
                f"time(s), retrying; it is not processed until then ({progress.failure})"
            )
    return not problems, problems


def status(parts: StreamComponents) -> dict[str, Any]:
    champion = parts.holder.current
    ready, problems = readiness(parts)
    return {
        "model_name": parts.settings.model_name,
        "champion": None
        if champion is None
        else {
            "version": champion.version,
            "run_id": champion.model.run_id,
            "trainer": champion.model.trainer,
        },
        "ready": ready,
        "problems": problems,
        "registry_problem": parts.holder.problem,
        "hot_swaps": parts.holder.swaps,
        **shadow_status(parts),
        "partitions": {
            str(p): {
                **state.windows.describe(),
                "join_pending_events": state.join.pending_events,
                "join_pending_labels": state.join.pending_labels,
                "join_memory_entries": state.join.memory_entry_count,
                "join_spilled_entries": state.join.spilled_entries,
            }
            for p, state in sorted(parts.scorer.pipeline.states.items())
        },
        "join_rocksdb_bytes": rocksdb_memory(
            store
            for state in parts.scorer.pipeline.states.values()
            if (store := state.join.spill_store) is not None
        ),
        "restoring": {
            str(p): progress.describe() for p, progress in sorted(parts.scorer.restoring.items())
        },
        "last_batch_at": None
        if parts.scorer.last_batch_at is None
        else parts.scorer.last_batch_at.isoformat(),
        "late": {
            "events_total": parts.scorer.lateness.total,
            "last_batch_share": parts.scorer.lateness.share,
            "warning": parts.scorer.lateness.warning,
        },
        "mlflow_queue_depth": parts.monitoring.depth,
        "mlflow_windows_logged": parts.monitoring.logged,
        "mlflow_overflow": parts.monitoring.overflow,
        "registry_webhook": None
        if parts.registry_webhook is None
        else {
            "id": parts.registry_webhook.webhook_id,
            "url": parts.registry_webhook.url,
            "accepted": parts.registry_webhook.accepted,
            "refused": parts.registry_webhook.refused,
        },
        **parts.board.snapshot(),
    }


def shadow_status(parts: StreamComponents) -> dict[str, Any]:
    """The challenger scored in the shadow (None without one), what it scored, and what it
    served as the canary (``stopped``: the reason its canary stopped, if it did)."""
    holder, scorer = parts.challenger, parts.scorer.pipeline.shadow
    current = None if holder is None else holder.current
    return {
        "challenger": None
        if current is None
        else {"version": current.version, "run_id": current.model.run_id},
        "shadow": {
            "predictions_total": scorer.scored,
            "skipped_batches": scorer.skipped_batches,
            "registry_problem": None if holder is None else holder.problem,
        },
        "canary": {
            "share": 0.0 if holder is None else holder.canary_share,
            "configured_share": parts.settings.canary_share,
            "served_total": scorer.canary_served,
            "stopped": None if holder is None else holder.canary_stopped(),
        },
    }


def register_views(app: faust.App, parts: StreamComponents) -> None:
    @app.page("/health")
    async def health(view: Any, request: Any) -> Any:
        return view.json({"status": "ok"})

    @app.page("/ready")
    async def ready(view: Any, request: Any) -> Any:
        ok, problems = readiness(parts)
        return view.json({"ready": ok, "problems": problems}, status=200 if ok else 503)

    @app.page("/metrics")
    async def metrics(view: Any, request: Any) -> Any:
        parts.metrics.ready.set(float(readiness(parts)[0]))
        return view.bytes(parts.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    @app.page("/status")
    async def status_view(view: Any, request: Any) -> Any:
        return view.json(status(parts))

    if parts.registry_webhook is None:
        return
    pushed: RegistryWebhook = parts.registry_webhook

    @app.page(WEBHOOK_PATH)
    class RegistryDelivery(View):
        async def post(self, request: Any) -> Any:
            body = await request.read()
            code = pushed.receive(request.headers, body, now=time.time())
            return self.json({"accepted": code == 200}, status=code)
