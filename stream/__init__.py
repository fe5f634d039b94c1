"""The stream worker: validate, score, join labels, keep drift windows, report and alert.

The worker runs as ``centinela stream``. Its hot path (:mod:`stream.scoring_service`) reads
features and labels with aiokafka in micro-batches; Faust runs the lifecycle, the model-events
agent, a timer and the web views (:mod:`stream.app`). Everything it shares with the other
processes (records, settings, topics, the model registry, the drift statistics) comes from
:mod:`centinela`; see docs/architecture.md.
"""

__all__: list[str] = []
