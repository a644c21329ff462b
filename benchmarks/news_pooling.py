"""Training speed of the news BiLSTM with mean vs max pooling, side by side in one process.

Synthetic titles shaped like THUCNews (lengths 3..32 of a 3,000-token vocabulary), Adam, batch 64:
    python benchmarks/news_pooling.py [--steps 30] [--repeats 3] [--threads 1] [--hidden 128] [--layers 1]
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import paddle
import paddle.nn.functional as F

from machine import prepare
from paddle_reg.tasks.news import BiLSTMClassifier

VOCAB, MAX_LEN, CLASSES = 3000, 32, 10


def batches(count: int, batch: int, seed: int) -> list[tuple[paddle.Tensor, paddle.Tensor]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        lengths = rng.integers(3, MAX_LEN + 1, size=batch)
        ids = rng.integers(2, VOCAB, size=(batch, MAX_LEN)) * (np.arange(MAX_LEN) < lengths[:, None])
        out.append((paddle.to_tensor(ids.astype(np.int64)), paddle.to_tensor(rng.integers(0, CLASSES, size=batch))))
    return out


def steps_per_second(model, optimizer, data) -> float:
    started = time.perf_counter()
    for ids, labels in data:
        loss = F.cross_entropy(model(ids), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
    float(loss)
    return len(data) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--embed", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    args = parser.parse_args()
    prepare(args.threads)
    data = batches(args.steps, args.batch, seed=0)
    speeds: dict[str, list[float]] = {"mean": [], "max": []}
    models = {}
    for pooling in speeds:
        paddle.seed(0)
        model = BiLSTMClassifier(VOCAB, CLASSES, args.embed, args.hidden, args.layers, 128, pooling)
        models[pooling] = (model, paddle.optimizer.Adam(parameters=model.parameters()))
        steps_per_second(*models[pooling], data[:3])  # warm-up
    for _ in range(args.repeats):
        for pooling in speeds:
            speeds[pooling].append(steps_per_second(*models[pooling], data))
    print(f"threads={args.threads} batch={args.batch} embed={args.embed} hidden={args.hidden} layers={args.layers} "
          f"steps={args.steps} repeats={args.repeats}; training steps per second")
    for pooling, values in speeds.items():
        print(f"{pooling:4s} pooling: median {statistics.median(values):.2f}  {['%.2f' % v for v in values]}")
    print(f"mean / max speed ratio: {statistics.median(speeds['mean']) / statistics.median(speeds['max']):.2f}")


if __name__ == "__main__":
    main()
