"""Small run folders written through the run store, and reports of them, for the report tests."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paddle_reg.store import RunDir

HOSTILE = "<script>alert('x')</script>"


def fixture_run(runs: Path, regime: str, seed: int, test_error: float, train_error: float, status: str = "finished",
                epoch_time: float = 2.0, weights: np.ndarray | None = None, details: dict | None = None,
                extra_config: dict | None = None, last_test_error: float | None = None,
                history: list[dict] | None = None, stopped_early: bool = False,
                val_error: float | None = None) -> RunDir:
    """A finished (or ``status``) MNIST run; ``history`` replaces the default three epochs."""
    run_config = {"task": "mnist", "regime": regime, "seed": seed, "model": {"dropout": {"hidden": 0.5}},
                  "optim": {"weight_decay": 1e-4}, "note": HOSTILE, **(extra_config or {})}
    run = RunDir.for_run(runs, "mnist", regime, seed, run_config)
    run.start({"resolved": True, "note": HOSTILE}, run_config, {"paddle": "3.3.1", "device": "cpu", "threads": 1},
              {"decay": ["fc.weight"], "no_decay": ["fc.bias"], "decay_count": 1, "no_decay_count": 1})
    history = history or [{"epoch": e, "train_loss": 1.0 / e, "train_error": train_error + 0.02 / e,
                           "val_error": test_error + 0.01 / e, "epoch_time_s": epoch_time} for e in (1, 2, 3)]
    (run.path / "history.json").write_text(json.dumps(history))
    if weights is not None:
        import paddle

        run.best_path.parent.mkdir(parents=True, exist_ok=True)
        paddle.save({"fc.weight": paddle.to_tensor(weights.astype("float32")), "fc.bias": paddle.zeros([2])},
                    str(run.best_path))
    final = {}
    if status == "finished":
        final = {"test_error": test_error, "test_accuracy": 1 - test_error, "train_error": train_error, "best_epoch": 3,
                 "stopped_early": stopped_early}
        if last_test_error is not None:
            final["last_test_error"] = last_test_error
        if val_error is not None:
            final["val_error"] = val_error
        if details:
            final["details"] = details
    run.finish(status, final)
    return run


def epoch_history(val_error: list[float], val_loss: list[float] | None = None,
                  train_error: list[float] | None = None) -> list[dict]:
    """Per-epoch records with the given curves (errors as fractions), for the regime diagnosis."""
    records = []
    for i, error in enumerate(val_error):
        record = {"epoch": i + 1, "train_loss": 0.1, "val_error": error, "epoch_time_s": 1.0}
        if val_loss is not None:
            record["val_loss"] = val_loss[i]
        if train_error is not None:
            record["train_error"] = train_error[i]
        records.append(record)
    return records


CONFUSION = {"test_confusion": {"labels": ["体育 sports", HOSTILE], "matrix": [[8, 2], [1, 9]]},
             "test_per_class_ap": {"labels": ["短路 short", "open"], "ap50": [0.5, 0.25]}}


def write_fixture_reports(tmp_path: Path) -> Path:
    """An MNIST report of none vs dropout (3 seeds each, one more dropout run diverged) and its index; over 12
    epochs none is still improving (the report's warning) and dropout has converged and overfits."""
    from paddle_reg.report import write_index, write_task_report

    runs = tmp_path / "runs"
    rng = np.random.default_rng(0)
    dense, sparse = rng.normal(0, 0.1, (20, 2)), np.where(rng.random((20, 2)) < 0.5, 0.0, 0.1)
    epochs = np.arange(1, 13)

    def improving() -> list[dict]:
        return epoch_history(list(0.05 - 0.002 * epochs + rng.normal(0, 3e-4, 12)),
                             list(0.5 - 0.01 * epochs + rng.normal(0, 2e-3, 12)), list(0.04 - 0.002 * epochs))

    def overfitting() -> list[dict]:
        return epoch_history(list(0.016 + 0.03 * np.exp(-epochs / 2) + rng.normal(0, 3e-4, 12)),
                             list(0.08 + 0.004 * np.maximum(epochs - 5, 0) + rng.normal(0, 1e-3, 12)),
                             list(0.015 + 0.03 * np.exp(-epochs / 2)))

    dirs = [fixture_run(runs, "none", 0, 0.020, 0.010, weights=dense, details=CONFUSION, history=improving()),
            fixture_run(runs, "none", 1, 0.030, 0.012, weights=dense, details=CONFUSION, history=improving()),
            fixture_run(runs, "none", 2, 0.025, 0.011, weights=dense, details=CONFUSION, history=improving()),
            fixture_run(runs, "dropout", 0, 0.015, 0.014, weights=sparse, details=CONFUSION, history=overfitting()),
            fixture_run(runs, "dropout", 1, 0.016, 0.0145, weights=sparse, details=CONFUSION, history=overfitting()),
            fixture_run(runs, "dropout", 2, 0.017, 0.015, weights=sparse, details=CONFUSION, history=overfitting()),
            fixture_run(runs, "dropout", 3, 0.0, 0.0, "diverged")]
    reports = tmp_path / "reports"
    write_task_report(dirs, reports / "mnist", command=f"python -m paddle_reg.run note={HOSTILE}", profile="quick",
                      reports_dir=reports)
    write_index(reports)
    return reports
