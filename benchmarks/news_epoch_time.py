"""Time per epoch of a news profile, extrapolated from a bounded number of training steps on the real data.

    PADDLE_REG_DATA=../shared/data python benchmarks/news_epoch_time.py --profile full --steps 40 [key=value ...]

Measures training steps per second (Adam, the profile's batch, threads and model) and eval titles per second,
then prints the projected time of one epoch: its training steps plus the per-epoch validation pass.
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import paddle
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from machine import prepare
from paddle_reg import runtime
from paddle_reg.classification import ArraySplit
from paddle_reg.datasource import data_root
from paddle_reg.grid import effective_run_config
from paddle_reg.optim import build_optimizer
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.news import predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--regime", default="both")
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--eval-titles", type=int, default=2000)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=news", f"profile={args.profile}",
                                                       f"regime={args.regime}", *args.overrides])
    prepare(cfg.threads)
    task = get_task("news")
    started = time.perf_counter()
    data = task.load_data(cfg, data_root(cfg.paths.data_root))
    load_s = time.perf_counter() - started
    run_cfg = OmegaConf.create(effective_run_config(cfg, seed=0))
    runtime.seed_everything(0)
    model = task.build_model(run_cfg, data)
    steps_per_epoch = len(data.train) // cfg.train.batch_size
    optimizer, scheduler, _ = build_optimizer(model, run_cfg.optim, steps_per_epoch, cfg.train.epochs)
    model.train()
    batches = task.train_batches(data.train, cfg.train.batch_size, np.random.default_rng(0))
    timings = []
    for step, (ids, labels) in zip(range(args.steps + 3), batches):
        begun = time.perf_counter()
        loss = task.loss(model(ids), labels)
        loss.backward()
        optimizer.step()
        optimizer.clear_grad()
        float(loss)
        if step >= 3:  # the first steps pay kernel setup
            timings.append(time.perf_counter() - begun)
    step_s = float(np.median(timings))
    sample = ArraySplit(data.val.inputs[: args.eval_titles], data.val.labels[: args.eval_titles])
    begun = time.perf_counter()
    predict(model, sample)
    eval_per_title = (time.perf_counter() - begun) / len(sample)
    train_epoch = step_s * steps_per_epoch
    val_epoch = eval_per_title * len(data.val)
    print(f"profile={args.profile} regime={args.regime} threads={cfg.threads} batch={cfg.train.batch_size} "
          f"train titles={len(data.train)} val titles={len(data.val)} vocab={len(data.vocab)} "
          f"model={dict(cfg.model)}; data load {load_s:.1f} s (cached tokens)")
    print(f"training: median {1 / step_s:.2f} steps/s over {len(timings)} steps "
          f"(mean {len(timings) / sum(timings):.2f}); {steps_per_epoch} steps/epoch -> {train_epoch:.0f} s")
    print(f"eval: {1 / eval_per_title:.0f} titles/s -> validation pass {val_epoch:.0f} s")
    print(f"projected epoch: {train_epoch + val_epoch:.0f} s = {(train_epoch + val_epoch) / 3600:.2f} h; "
          f"{cfg.train.epochs} epochs: {cfg.train.epochs * (train_epoch + val_epoch) / 3600:.1f} h")


if __name__ == "__main__":
    paddle.set_device("cpu")
    main()
