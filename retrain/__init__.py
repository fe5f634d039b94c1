"""The retrain worker and the review flow: from a retrain request to a registered challenger.

- :mod:`retrain.worker` consumes ``retrain-requests`` (``centinela retrain``) and runs
  :func:`retrain.job.run_request`: read the range of ``labeled`` (:mod:`retrain.data`), validate
  it (:mod:`retrain.data_checks`), train with the champion's recipe (:mod:`retrain.training`),
  evaluate both models on the same hold-out (:mod:`retrain.evaluation`) and register the
  challenger (:mod:`retrain.registration`), announcing it on ``model-events``.
- :mod:`retrain.review` is ``centinela models status|compare|promote|reject|rollback``, with the
  alias history of :mod:`retrain.history`; :mod:`retrain.promotion` is the optional automatic
  promotion, off by default.
- :mod:`retrain.submit` is ``centinela retrain request``: a person asks for a retrain.
"""

from retrain.evaluation import Comparison
from retrain.exceptions import RetrainError, ReviewError, TrainingDataError, UnknownModelError
from retrain.job import Registered, run_request
from retrain.review import ModelStatus, Review, VersionInfo
from retrain.worker import RetrainWorker

__all__ = [
    "Comparison",
    "ModelStatus",
    "Registered",
    "RetrainError",
    "RetrainWorker",
    "Review",
    "ReviewError",
    "TrainingDataError",
    "UnknownModelError",
    "VersionInfo",
    "run_request",
]
