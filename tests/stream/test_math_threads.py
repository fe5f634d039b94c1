"""The stream worker's numeric libraries run on the threads its setting allows."""

from __future__ import annotations

import os

import numpy  # noqa: F401 - its BLAS is what the limit must reach
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from centinela.contract.settings import Settings
from stream.math_threads import THREAD_VARIABLES, limit_math_threads


@pytest.fixture
def original_limits(monkeypatch: pytest.MonkeyPatch):
    for variable in THREAD_VARIABLES:
        monkeypatch.setenv(variable, "7")  # undone by monkeypatch after the test
    limits = threadpool_limits(limits=None)  # records the current limits, changes nothing
    yield
    limits.restore_original_limits()


@pytest.mark.usefixtures("original_limits")
@pytest.mark.parametrize("threads", [1, 2])
def test_loaded_libraries_and_those_loaded_later_get_the_limit(threads: int) -> None:
    limit_math_threads(threads)
    loaded = threadpool_info()
    assert loaded, "numpy's BLAS should be among the loaded libraries"
    assert {library["num_threads"] for library in loaded} == {threads}
    assert {os.environ[variable] for variable in THREAD_VARIABLES} == {str(threads)}


def test_the_default_is_one_thread() -> None:
    assert Settings(_env_file=None).stream_math_threads == 1  # type: ignore[call-arg]
