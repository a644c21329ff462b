"""Regularization's cost per epoch: the quick MNIST MLP trained one epoch under a regime against `none`.

Each regime's run is composed from the real config (task=mnist, profile=quick, regime=NAME) exactly as the
CLI composes it, and trained by the suite's Trainer for one epoch on the real data. `none` and the regime
run in adjacent pairs, and the printed ratio is the median over pairs of the training time of the epoch
(from history.json's epoch_time_s; evaluation excluded), so drifts in machine speed hit both sides alike.
Article T claims 10-20% extra time per epoch; goal for `both` ≤ 1.10.

    python benchmarks/regularization_cost.py [--regimes both] [--repeats 5] [--threads 1] [--train-size N]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
from pathlib import Path

from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from paddle_reg import runtime
from paddle_reg.datasource import data_root
from paddle_reg.grid import effective_run_config
from paddle_reg.optim import build_optimizer
from paddle_reg.regularizers import StepRegularizers
from paddle_reg.store import RunDir
from paddle_reg.task_registry import get_task
from paddle_reg.trainer import Trainer, train_settings


def run_config(regime: str, train_size: int | None) -> OmegaConf:
    overrides = ["task=mnist", "profile=quick", f"regime={regime}", "train.epochs=1"]
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides + ([f"data.train_size={train_size}"] if train_size else []))
    return OmegaConf.create(effective_run_config(cfg, seed=0))


def epoch_seconds(task, data, cfg) -> float:
    """Training seconds of one epoch of ``cfg``'s run, as the Trainer records it."""
    runtime.seed_everything(cfg.seed)
    model = task.build_model(cfg, data)
    optimizer, scheduler, _ = build_optimizer(model, cfg.optim, len(data.train) // cfg.train.batch_size, 1)
    with tempfile.TemporaryDirectory() as folder:
        run_dir = RunDir(Path(folder))
        Trainer(task, model, optimizer, scheduler, run_dir, train_settings(cfg), progress=False,
                step_regs=StepRegularizers(model, cfg.reg, task.image_shape)).fit(data)
        return run_dir.history()[0]["epoch_time_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regimes", default="both", help="comma-separated regimes compared with none")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--train-size", type=int, default=None, help="a stratified subset: shorter epochs, same steps")
    args = parser.parse_args()
    logging.getLogger("paddle_reg").setLevel(logging.WARNING)
    runtime.set_threads(args.threads)
    task = get_task("mnist")
    regimes = args.regimes.split(",")
    configs = {name: run_config(name, args.train_size) for name in ["none", *regimes]}
    data = task.load_data(configs["none"], data_root())
    epoch_seconds(task, data, configs["none"])  # warm-up: first-call kernel setup is paid by neither side
    times: dict[str, list[float]] = {name: [] for name in configs}
    ratios: dict[str, list[float]] = {name: [] for name in regimes}
    for _ in range(args.repeats):
        for name in regimes:
            base = epoch_seconds(task, data, configs["none"])
            own = epoch_seconds(task, data, configs[name])
            times["none"].append(base)
            times[name].append(own)
            ratios[name].append(own / base)
    print(f"threads={args.threads} repeats={args.repeats}; MNIST MLP 784-512-512-10, batch 128, one epoch "
          f"({len(data.train) // 128} steps), training seconds (evaluation excluded)")
    for name, values in times.items():
        print(f"{name:<13} median {statistics.median(values):6.2f} s  {['%.2f' % t for t in values]}")
    for name, values in ratios.items():
        goal = "  (goal <= 1.10)" if name == "both" else ""
        print(f"ratio {name}/none: median {statistics.median(values):.3f}  {['%.3f' % r for r in values]}{goal}")


if __name__ == "__main__":
    main()
