"""Trainer overhead: the suite's Trainer against a bare hand-written Paddle loop, side by side in one process.

Both train the quick-profile MNIST MLP (784-512-512-10, dropout 0.5, Adam, batch 128) on the real
data with the same seed for the same epochs, evaluate on the validation split after each epoch and
on train/val/test at the end. The Trainer also checkpoints every epoch, keeps the best weights and
writes VisualDL scalars. The two run in adjacent pairs, and the printed ratio is the median of the
pairs' ratios, so drifts in machine speed (large on shared CPUs) hit both sides alike (goal ≤ 1.03).

    python benchmarks/trainer_overhead.py [--epochs 1] [--repeats 5] [--threads 1]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import paddle
import paddle.nn.functional as F
from omegaconf import OmegaConf

from machine import prepare
from paddle_reg import runtime
from paddle_reg.datasource import data_root
from paddle_reg.optim import build_optimizer
from paddle_reg.store import RunDir
from paddle_reg.task_registry import get_task
from paddle_reg.trainer import Trainer, TrainSettings

CFG = OmegaConf.create({
    "data": {"val_size": 5000, "train_size": None, "split_seed": 0},
    "model": {"hidden": [512, 512], "dropout": {"input": 0.0, "hidden": 0.5}},
    "optim": {"name": "adam", "lr": 1e-3, "momentum": 0.9, "weight_decay": 1e-4, "decay_mode": "coupled",
              "schedule": {"name": "cosine"}},
})
BATCH = 128


def fresh(task, data, epochs: int):
    runtime.seed_everything(0)
    model = task.build_model(CFG, data)
    optimizer, scheduler, _ = build_optimizer(model, CFG.optim, len(data.train) // BATCH, epochs)
    return model, optimizer, scheduler


def bare_loop(task, data, epochs: int) -> float:
    model, optimizer, scheduler = fresh(task, data, epochs)
    started = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = np.random.default_rng(epoch).permutation(len(data.train))
        for start in range(0, len(order) - BATCH + 1, BATCH):
            index = order[start:start + BATCH]
            loss = F.cross_entropy(model(paddle.to_tensor(data.train.inputs[index])),
                                   paddle.to_tensor(data.train.labels[index]))
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            scheduler.step()
        task.evaluate(model, data, "val")
    for split in ("train", "val", "test"):
        task.evaluate(model, data, split)
    return time.perf_counter() - started


def suite_trainer(task, data, epochs: int) -> float:
    model, optimizer, scheduler = fresh(task, data, epochs)
    with tempfile.TemporaryDirectory() as folder:
        trainer = Trainer(task, model, optimizer, scheduler, RunDir(Path(folder)),
                          TrainSettings(epochs, BATCH, None, 0.0, 0), progress=False)
        started = time.perf_counter()
        trainer.fit(data)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    logging.getLogger("paddle_reg").setLevel(logging.WARNING)  # no per-epoch lines in the measurement output
    prepare(args.threads)
    task = get_task("mnist")
    data = task.load_data(CFG, data_root())
    bare_loop(task, data, 1)  # warm-up: first-call kernel setup is paid by neither side
    bare, trainer = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(task, data, args.epochs) / args.epochs)
        trainer.append(suite_trainer(task, data, args.epochs) / args.epochs)
    ratios = [t / b for t, b in zip(trainer, bare)]
    print(f"threads={args.threads} epochs={args.epochs} repeats={args.repeats}; seconds per epoch, final evaluation included")
    print(f"bare Paddle loop  : median {statistics.median(bare):.2f}  {['%.2f' % t for t in bare]}")
    print(f"paddle_reg Trainer: median {statistics.median(trainer):.2f}  {['%.2f' % t for t in trainer]}")
    print(f"ratio trainer/bare: median {statistics.median(ratios):.3f}  {['%.3f' % r for r in ratios]}  (goal <= 1.03)")


if __name__ == "__main__":
    main()
