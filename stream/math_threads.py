"""How many threads the stream worker's numeric libraries may use.

numpy's BLAS starts one thread per core, and a model library may bring OpenMP. The worker's
matrices are small (a batch of 1,000 rows by some tens of features): a second thread does not
make a predict faster, but it spins while waiting for work, and on a 2-core machine that CPU is
the scoring loop's and the broker's. With numpy's default the in-process batch step
(bench/profile_pipeline.py) burnt 63 us of CPU per event for 42 us of work; with one thread,
42 us. The setting is CENTINELA_STREAM_MATH_THREADS.
"""

from __future__ import annotations

import logging
import os

from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

# Read when such a library loads: a model flavour imported later gets the same limit.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_math_threads(threads: int) -> None:
    """At most ``threads`` threads in each numeric library, loaded now or later."""
    for variable in THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    # Libraries already loaded (numpy's and scipy's OpenBLAS) read those variables no more.
    threadpool_limits(limits=threads)
    log.debug("numeric libraries limited to %d thread(s) each", threads)
