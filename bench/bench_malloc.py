"""Why the worker sets glibc's mmap and trim thresholds (stream/memory.py).

Encodes the same aiokafka produce request (four record batches of ~0.9 MB, like the worker's
batches of predictions and changelog) over and over, each setting in a fresh process (mallopt
settings belong to a process): the worker's settings, glibc's defaults, and the 256 KB mmap
threshold the worker used before (2026-11-26 morning). Prints MB/s encoded per setting and
the ratios to glibc's defaults.

    .venv/bin/python bench/bench_malloc.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SETTINGS = {
    "worker (mmap 4 MB, trim 8 MB)": "worker",
    "glibc defaults": "default",
    "mmap 256 KB, trim 128 KB (before)": "small",
}


def record_batch(records: int, size: int) -> bytes:
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    builder = DefaultRecordBatchBuilder(
        magic=2,
        compression_type=0,
        is_transactional=0,
        producer_id=-1,
        producer_epoch=-1,
        base_sequence=-1,
        batch_size=10**8,
    )
    value = b"x" * size
    for offset in range(records):
        builder.append(offset, timestamp=None, key=b"k", value=value, headers=[])
    return bytes(builder.build())


def encode_rate(setting: str, rounds: int) -> float:
    """MB/s of ProduceRequest encoding in this process, under ``setting``."""
    from aiokafka.protocol.produce import ProduceRequest_v7

    from stream.memory import tune_malloc

    if setting == "worker":
        tune_malloc()
    elif setting == "small":
        tune_malloc(mmap_threshold=256 * 1024, trim_threshold=128 * 1024)
    batches = [record_batch(1000, 900) for _ in range(4)]
    request = ProduceRequest_v7(
        transactional_id=None,
        required_acks=-1,
        timeout=30_000,
        topics=[("t", list(enumerate(batches)))],
    )
    started = time.perf_counter()
    for _ in range(rounds):
        request.encode()
    megabytes = sum(map(len, batches)) / 1e6 * rounds
    return megabytes / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--child", choices=sorted(SETTINGS.values()), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(encode_rate(args.child, args.rounds))
        return 0
    rates = {}
    for label, setting in SETTINGS.items():
        command = [sys.executable, __file__, "--child", setting, "--rounds", str(args.rounds)]
        rates[label] = float(subprocess.run(command, check=True, capture_output=True).stdout)
    default = rates["glibc defaults"]
    for label, rate in rates.items():
        print(f"{label:32s} {rate:8,.0f} MB/s  {rate / default:5.2f}x glibc defaults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
