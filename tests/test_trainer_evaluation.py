"""The trainer's evaluation passes: each split once per set of weights, details from the best checkpoint's test pass."""
from __future__ import annotations

import hashlib

import pytest
from omegaconf import OmegaConf

from conftest import compose_config
from paddle_reg.grid import effective_run_config
from paddle_reg.optim import build_optimizer
from paddle_reg.store import RunDir
from paddle_reg.task_api import Evaluation
from paddle_reg.tasks.mnist import MnistTask
from paddle_reg.trainer import Trainer, train_settings


class RecordingMnist(MnistTask):
    """MNIST whose passes are recorded as (split, weights), whose val errors are given (they pick the best epoch),
    and whose details name the weights of their pass."""

    def __init__(self, val_errors: list[float]):
        self.val_errors = iter(val_errors)
        self.passes: list[tuple[str, str]] = []

    def evaluate(self, model, data, split):
        weights = hashlib.sha256(b"".join(p.numpy().tobytes() for p in model.parameters())).hexdigest()
        self.passes.append((split, weights))
        metrics = super().evaluate(model, data, split).metrics
        if split == "val":
            metrics["error"] = next(self.val_errors)
        return Evaluation(metrics, {"weights": weights})


def train(task, mnist_root, tmp_path) -> dict:
    cfg = compose_config("task=mnist", "profile=smoke", "regime=none", "data.val_size=200", "model.hidden=[16]",
                         "train.epochs=3")
    run_cfg = OmegaConf.create(effective_run_config(cfg, 0))
    data = task.load_data(cfg, mnist_root)
    model = task.build_model(run_cfg, data)
    optimizer, scheduler, _ = build_optimizer(model, run_cfg.optim, len(data.train) // run_cfg.train.batch_size, 3)
    return Trainer(task, model, optimizer, scheduler, RunDir(tmp_path / "run"), train_settings(run_cfg)).fit(data)


def test_a_best_epoch_before_the_last_is_tested_once_and_its_val_metrics_come_from_its_record(mnist_root, tmp_path):
    task = RecordingMnist([0.5, 0.6, 0.7])
    final = train(task, mnist_root, tmp_path)
    assert [split for split, _ in task.passes] == ["val", "val", "val", "test", "test", "train"]
    assert len(set(task.passes)) == len(task.passes)  # no split twice with the same weights
    epoch1, last = task.passes[0][1], task.passes[2][1]
    assert task.passes[3:] == [("test", last), ("test", epoch1), ("train", epoch1)]
    assert final["best_epoch"] == 1 and final["val_error"] == 0.5
    assert final["details"] == {"test_weights": epoch1}
    assert {"train_error", "val_loss", "test_accuracy", "last_test_error"} <= set(final)


def test_a_best_last_epoch_gives_the_test_and_last_test_metrics_from_one_pass(mnist_root, tmp_path):
    task = RecordingMnist([0.7, 0.6, 0.5])
    final = train(task, mnist_root, tmp_path)
    assert [split for split, _ in task.passes] == ["val", "val", "val", "test", "train"]
    last = task.passes[2][1]
    assert task.passes[3:] == [("test", last), ("train", last)]
    assert final["best_epoch"] == 3 and final["val_error"] == 0.5 and final["details"] == {"test_weights": last}
    assert {k: v for k, v in final.items() if k.startswith("test_")} == \
        pytest.approx({k[len("last_"):]: v for k, v in final.items() if k.startswith("last_test_")})
