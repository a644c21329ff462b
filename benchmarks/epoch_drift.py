"""Epoch-time drift on a long MNIST run: last/first epoch training time per regime (goal ≤ 1.1 for every regime).

Weights that coupled L2 drives toward 0 while a cosine schedule takes the learning rate to 0 turn subnormal, and on
x86 each operation on a subnormal is many times slower: without flush-to-zero, a 40-epoch `weight_decay` run's epochs
grew from 2.4 s to 24.9 s. Each regime here is one run of the real CLI (`python -m paddle_reg.run task=mnist
profile=quick regime=NAME train.epochs=30 seeds=[0] jobs=1`, one thread) in a temporary runs folder, one at a time;
the ratio compares the median training time of its last 3 epochs with that of its first 3 (epoch 1 excluded: it
pays for kernel setup). ``--flush-denormal false`` shows the drift the fix removes.

    python benchmarks/epoch_drift.py [--epochs 30] [--regimes none,dropout,weight_decay,both] [--flush-denormal false]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from machine import prepare

WINDOW = 3


def epoch_times(regime: str, epochs: int, flush_denormal: bool, runs_dir: Path) -> list[float]:
    command = [sys.executable, "-m", "paddle_reg.run", "task=mnist", "profile=quick", f"regime={regime}",
               f"train.epochs={epochs}", "seeds=[0]", "jobs=1", "threads=1", "report=false", "progress=false",
               f"flush_denormal={str(flush_denormal).lower()}", f"paths.runs_dir={runs_dir}"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=os.environ)
    (history,) = runs_dir.glob(f"mnist/{regime}/*/history.json")
    return [epoch["epoch_time_s"] for epoch in json.loads(history.read_text())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--regimes", default="none,dropout,weight_decay,both")
    parser.add_argument("--flush-denormal", default="true", choices=["true", "false"])
    args = parser.parse_args()
    flush = args.flush_denormal == "true"
    prepare(threads=1, flush_denormal=flush)
    print(f"MNIST MLP 784-512-512-10, profile quick (Adam, cosine to 0, λ = 1e-4 coupled), {args.epochs} epochs, "
          f"flush_denormal={args.flush_denormal}; training seconds per epoch")
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        for regime in args.regimes.split(","):
            times = epoch_times(regime, args.epochs, flush, Path(folder))
            first, last = statistics.median(times[1:1 + WINDOW]), statistics.median(times[-WINDOW:])
            worst = max(worst, last / first)
            print(f"{regime:<13} first {first:6.2f} s  last {last:6.2f} s  ratio last/first {last / first:5.2f}  "
                  f"(max epoch {max(times[1:]):.2f} s)")
    print(f"worst last/first {worst:.2f}  (goal <= 1.1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
