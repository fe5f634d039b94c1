"""The model side: MLflow registry access, named trainers and the reference profile.

- :mod:`~centinela.models.registry`: aliases, loading a version with its profile, logging and
  registering a version.
- :mod:`~centinela.models.trainers`: trainers registered by name (scikit-learn pipelines).
- :mod:`~centinela.models.profile`: the reference profile a version carries for drift tests.
- :mod:`~centinela.models.publishing`: the one path from labeled rows to a registered version
  (train, profile, log, register).
"""

__all__: list[str] = []
