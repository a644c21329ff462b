"""Small run folders written through the run store, and reports of them, for the report tests."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from paddle_reg.store import RunDir

HOSTILE = "<script>alert('x')</script>"


def fixture_run(runs: Path, regime: str, seed: int, test_error: float, train_error: float, status: str = "finished",
                epoch_time: float = 2.0, weights: np.ndarray | None = None, details: dict | None = None,
                extra_config: dict | None = None, last_test_error: float | None = None) -> RunDir:
    run_config = {"task": "mnist", "regime": regime, "seed": seed, "model": {"dropout": {"hidden": 0.5}},
                  "optim": {"weight_decay": 1e-4}, "note": HOSTILE, **(extra_config or {})}
    run = RunDir.for_run(runs, "mnist", regime, seed, run_config)
    run.start({"resolved": True, "note": HOSTILE}, run_config, {"paddle": "3.3.1", "device": "cpu", "threads": 1},
              {"decay": ["fc.weight"], "no_decay": ["fc.bias"], "decay_count": 1, "no_decay_count": 1})
    history = [{"epoch": e, "train_loss": 1.0 / e, "train_error": train_error + 0.02 / e,
                "val_error": test_error + 0.01 / e, "epoch_time_s": epoch_time} for e in (1, 2, 3)]
    (run.path / "history.json").write_text(json.dumps(history))
    if weights is not None:
        import paddle

        run.best_path.parent.mkdir(parents=True, exist_ok=True)
        paddle.save({"fc.weight": paddle.to_tensor(weights.astype("float32")), "fc.bias": paddle.zeros([2])},
                    str(run.best_path))
    final = {}
    if status == "finished":
        final = {"test_error": test_error, "test_accuracy": 1 - test_error, "train_error": train_error, "best_epoch": 3}
        if last_test_error is not None:
            final["last_test_error"] = last_test_error
        if details:
            final["details"] = details
    run.finish(status, final)
    return run


CONFUSION = {"test_confusion": {"labels": ["体育 sports", HOSTILE], "matrix": [[8, 2], [1, 9]]},
             "test_per_class_ap": {"labels": ["短路 short", "open"], "ap50": [0.5, 0.25]}}


def write_fixture_reports(tmp_path: Path) -> Path:
    """An MNIST report of none vs dropout (3 seeds each, one more dropout run diverged) and its index."""
    from paddle_reg.report import write_index, write_task_report

    runs = tmp_path / "runs"
    rng = np.random.default_rng(0)
    dense, sparse = rng.normal(0, 0.1, (20, 2)), np.where(rng.random((20, 2)) < 0.5, 0.0, 0.1)
    dirs = [fixture_run(runs, "none", 0, 0.020, 0.010, weights=dense, details=CONFUSION),
            fixture_run(runs, "none", 1, 0.030, 0.012, weights=dense, details=CONFUSION),
            fixture_run(runs, "none", 2, 0.025, 0.011, weights=dense, details=CONFUSION),
            fixture_run(runs, "dropout", 0, 0.015, 0.014, weights=sparse, details=CONFUSION),
            fixture_run(runs, "dropout", 1, 0.016, 0.0145, weights=sparse, details=CONFUSION),
            fixture_run(runs, "dropout", 2, 0.017, 0.015, weights=sparse, details=CONFUSION),
            fixture_run(runs, "dropout", 3, 0.0, 0.0, "diverged")]
    reports = tmp_path / "reports"
    write_task_report(dirs, reports / "mnist", command=f"python -m paddle_reg.run note={HOSTILE}", profile="quick",
                      reports_dir=reports)
    write_index(reports)
    return reports
