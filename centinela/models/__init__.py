"""The model side: MLflow registry access, named trainers and the reference profile.

- :mod:`~centinela.models.registry`: aliases, loading a version with its profile, logging and
  registering a version.
- :mod:`~centinela.models.trainers`: trainers registered by name (scikit-learn pipelines).
- :mod:`~centinela.models.profile`: the reference profile a version carries for drift tests.
"""

__all__: list[str] = []
