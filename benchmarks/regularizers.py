"""Regularizer layers' cost: forward + backward time of each against Paddle's own nn.Dropout on the same tensor.

The layers run interleaved, round after round, in one process; each round times every layer on the same input,
and the printed ratio is the median over rounds of layer time / Dropout time (goal ≤ 1.5). DropConnect, which
replaces a Linear rather than following one, is compared with Linear → Dropout on the Linear's input.

    python benchmarks/regularizers.py [--rounds 15] [--repeats 5] [--threads 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import paddle

from machine import prepare
from paddle_reg.regularizers import (DropBlock2D, DropConnectLinear, DropPath, Dropout, GaussianDropout,
                                     SpatialDropout1D, SpatialDropout2D, cutmix, cutout, mixup)

P = 0.3
MAPS = [32, 64, 32, 32]  # conv feature maps: batch 32, 64 channels, 32 × 32
SEQUENCE = [32, 128, 256]  # embedded tokens [N, L, C]
FEATURES = [128, 1024]  # MLP activations [N, C]
IMAGES = [128, 1, 28, 28]  # MNIST batch


def fwd_bwd(fn, shape: list[int], repeats: int) -> float:
    """Seconds per forward + backward of ``fn`` on a fresh input of ``shape`` (mean of ``repeats``)."""
    x = paddle.rand(shape)
    x.stop_gradient = False
    started = time.perf_counter()
    for _ in range(repeats):
        fn(x).sum().backward()
        x.clear_gradient()
    return (time.perf_counter() - started) / repeats


def cases() -> dict[str, tuple]:
    """name → (layer call, its Dropout baseline, input shape)."""
    dropout = paddle.nn.Dropout(P)
    rng = np.random.default_rng(0)
    labels = paddle.zeros([IMAGES[0]], dtype="int64")
    linear, connect = paddle.nn.Linear(1024, 1024), DropConnectLinear(1024, 1024, P)
    return {
        "Dropout (the suite's)": (Dropout(P), dropout, MAPS),
        "SpatialDropout2D": (SpatialDropout2D(P), dropout, MAPS),
        "SpatialDropout1D (NLC)": (SpatialDropout1D(P, "NLC"), dropout, SEQUENCE),
        "GaussianDropout": (GaussianDropout(P), dropout, MAPS),
        "DropPath": (DropPath(P), dropout, MAPS),
        "DropBlock2D (block 5)": (DropBlock2D(P, 5), dropout, MAPS),
        "DropConnectLinear vs Linear→Dropout": (connect, lambda x: dropout(linear(x)), FEATURES),
        "Cutout (size 8)": (lambda x: cutout(x, 8, rng), dropout, IMAGES),
        "Mixup": (lambda x: mixup(x, labels, 0.2, rng)[0], dropout, IMAGES),
        "CutMix": (lambda x: cutmix(x, labels, 1.0, rng)[0], dropout, IMAGES),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    prepare(args.threads)
    paddle.seed(0)
    table = cases()
    for layer, baseline, shape in table.values():  # warm-up: kernel setup is paid by neither side
        fwd_bwd(layer, shape, 1), fwd_bwd(baseline, shape, 1)
    ratios: dict[str, list[float]] = {name: [] for name in table}
    times: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(args.rounds):
        for name, (layer, baseline, shape) in table.items():
            base = fwd_bwd(baseline, shape, args.repeats)
            own = fwd_bwd(layer, shape, args.repeats)
            ratios[name].append(own / base)
            times[name].append(own)
    print(f"threads={args.threads} rounds={args.rounds} repeats={args.repeats} p={P}; forward+backward, "
          f"median over rounds of (layer / Dropout on the same tensor)")
    for name, (_, _, shape) in table.items():
        ratio = statistics.median(ratios[name])
        print(f"{name:<38} {str(shape):<18} {statistics.median(times[name]) * 1e3:8.2f} ms  ratio {ratio:5.2f}  "
              f"{'ok' if ratio <= 1.5 else 'over goal'} (goal <= 1.5)")


if __name__ == "__main__":
    main()
