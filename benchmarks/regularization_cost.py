"""Regularization's cost per training step on the quick MNIST MLP, one thread: the suite's paths and Paddle's plain ones.

Two comparisons against `none`, each interleaved round after round in one process so drifts in machine speed hit
every side alike:

* suite: one epoch of the suite's Trainer per regime (none, dropout, weight_decay, both), each run composed from the
  real config (task=mnist, profile=quick, regime=NAME) as the CLI composes it, timed by the Trainer (epoch_time_s:
  training steps only). Goal: both/none ≤ 1.10.
* paddle: the same MLP step as a Paddle user writes it: `nn.Dropout(0.5)` after each hidden ReLU, and weight decay
  through `paddle.optimizer.Adam(weight_decay=λ)` (coupled L2, one regularizer op per tensor) or `AdamW`.

The ratios of every round, with the machine's state, go to reports/benchmarks/regularization_cost.json: the reports
judge claim E8 (regularization's time cost) from that file. The last line is `both/none <median ratio>` (suite).

    python benchmarks/regularization_cost.py [--rounds 5] [--steps 200] [--train-size N] [--out PATH]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

from machine import prepare

REPO = Path(__file__).resolve().parents[1]
SUITE_REGIMES = ("none", "dropout", "weight_decay", "both")
LAMBDA, P, BATCH = 1e-4, 0.5, 128


def suite_config(regime: str, train_size: int | None):
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf

    from paddle_reg.grid import effective_run_config

    overrides = ["task=mnist", "profile=quick", f"regime={regime}", "train.epochs=1"]
    overrides += [f"data.train_size={train_size}"] if train_size else []
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
    return OmegaConf.create(effective_run_config(cfg, seed=0))


def suite_epoch_seconds(task, data, cfg) -> float:
    """Training seconds of one epoch of ``cfg``'s run, as the suite's Trainer records it."""
    from paddle_reg import runtime
    from paddle_reg.optim import build_optimizer
    from paddle_reg.regularizers import StepRegularizers
    from paddle_reg.store import RunDir
    from paddle_reg.trainer import Trainer, train_settings

    runtime.seed_everything(cfg.seed)
    model = task.build_model(cfg, data)
    optimizer, scheduler, _ = build_optimizer(model, cfg.optim, len(data.train) // cfg.train.batch_size, 1)
    with tempfile.TemporaryDirectory() as folder:
        run_dir = RunDir(Path(folder))
        Trainer(task, model, optimizer, scheduler, run_dir, train_settings(cfg), progress=False,
                step_regs=StepRegularizers(model, cfg.reg, task.image_shape)).fit(data)
        return run_dir.history()[0]["epoch_time_s"]


def plain_paddle_cases() -> dict:
    """name → (model with or without nn.Dropout, optimizer factory) as the Paddle docs write them."""
    import paddle

    def mlp(dropout: bool):
        layers = []
        for width_in, width_out in ((784, 512), (512, 512)):
            layers += [paddle.nn.Linear(width_in, width_out), paddle.nn.ReLU()] + ([paddle.nn.Dropout(P)] if dropout else [])
        return paddle.nn.Sequential(*layers, paddle.nn.Linear(512, 10))

    adam = lambda m: paddle.optimizer.Adam(1e-3, parameters=m.parameters())  # noqa: E731
    adam_l2 = lambda m: paddle.optimizer.Adam(1e-3, parameters=m.parameters(), weight_decay=LAMBDA)  # noqa: E731
    adamw = lambda m: paddle.optimizer.AdamW(1e-3, parameters=m.parameters(), weight_decay=LAMBDA)  # noqa: E731
    return {"none": (lambda: mlp(False), adam), "dropout": (lambda: mlp(True), adam),
            "weight_decay": (lambda: mlp(False), adam_l2), "both": (lambda: mlp(True), adam_l2),
            "weight_decay_adamw": (lambda: mlp(False), adamw)}


def plain_step_seconds(build_model, build_optimizer, batches, steps: int) -> float:
    import paddle
    import paddle.nn.functional as F

    paddle.seed(0)
    model = build_model()
    optimizer = build_optimizer(model)
    model.train()
    for step in range(steps + 10):
        if step == 10:  # the first steps pay for kernel setup
            started = time.perf_counter()
        inputs, labels = batches[step % len(batches)]
        F.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
        optimizer.clear_grad()
    float(model[0].weight.sum())  # wait for the last update
    return (time.perf_counter() - started) / steps


def comparison(seconds: dict[str, list[float]]) -> dict:
    """Per arm: its seconds per round and its ratio to `none` in the same round."""
    base = seconds["none"]
    return {name: {"seconds": [round(s, 6) for s in values],
                   "ratios": [round(s / b, 5) for s, b in zip(values, base)] if name != "none" else None}
            for name, values in seconds.items()}


def spread(ratios: list[float]) -> str:
    return f"median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}, {len(ratios)} rounds)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=200, help="steps per plain-Paddle measurement")
    parser.add_argument("--train-size", type=int, default=None, help="a stratified subset: shorter suite epochs")
    parser.add_argument("--out", type=Path, default=REPO / "reports" / "benchmarks" / "regularization_cost.json")
    args = parser.parse_args()
    machine = prepare(threads=1)
    logging.getLogger("paddle_reg").setLevel(logging.WARNING)

    import numpy as np
    import paddle

    from paddle_reg.datasource import data_root
    from paddle_reg.store import write_json
    from paddle_reg.task_registry import get_task

    task = get_task("mnist")
    configs = {name: suite_config(name, args.train_size) for name in SUITE_REGIMES}
    data = task.load_data(configs["none"], data_root())
    rng = np.random.default_rng(0)
    batches = [(paddle.to_tensor(data.train.inputs[i]), paddle.to_tensor(data.train.labels[i]))
               for i in (rng.choice(len(data.train), BATCH, replace=False) for _ in range(20))]
    cases = plain_paddle_cases()
    suite_epoch_seconds(task, data, configs["none"])  # warm-up: first-call setup is paid by neither side
    suite: dict[str, list[float]] = {name: [] for name in SUITE_REGIMES}
    plain: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name in SUITE_REGIMES:
            suite[name].append(suite_epoch_seconds(task, data, configs[name]))
        for name, (build_model, build_optimizer) in cases.items():
            plain[name].append(plain_step_seconds(build_model, build_optimizer, batches, args.steps))
    steps_per_epoch = len(data.train) // BATCH
    record = {
        "benchmark": "regularization_cost", "command": "python benchmarks/regularization_cost.py "
        + " ".join(sys.argv[1:]), "machine": machine, "rounds": args.rounds,
        "model": f"MLP 784-512-512-10, batch {BATCH}, Adam 1e-3, dropout p={P} after each hidden ReLU, λ={LAMBDA}",
        "suite": {"what": f"one epoch ({steps_per_epoch} steps) of the suite's Trainer per regime, profile quick",
                  "arms": comparison(suite)},
        "paddle": {"what": f"{args.steps} steps of a bare loop: nn.Dropout, Adam(weight_decay=λ), AdamW(weight_decay=λ)",
                   "arms": comparison(plain)},
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out, record)
    print(f"suite Trainer, one epoch ({steps_per_epoch} steps), ratio to none:")
    for name in SUITE_REGIMES[1:]:
        print(f"  {name:<19} {spread(record['suite']['arms'][name]['ratios'])}")
    print(f"plain Paddle loop ({args.steps} steps), ratio to Adam without regularization:")
    for name in list(cases)[1:]:
        print(f"  {name:<19} {spread(record['paddle']['arms'][name]['ratios'])}")
    print(f"written: {args.out}")
    both = statistics.median(record["suite"]["arms"]["both"]["ratios"])
    print(f"both/none {both:.3f}  (goal <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
