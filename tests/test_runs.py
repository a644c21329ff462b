"""Run store and trainer behaviour through the real CLI on tiny MNIST-format files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import TINY, run_cli

ONE_RUN = TINY + ["regime=none", "seeds=[0]", "train.epochs=3"]


def run_dirs(runs: Path, regime: str = "*") -> list[Path]:
    return sorted(p.parent for p in runs.glob(f"mnist/{regime}/*/run.json"))


def comparable(run: Path) -> dict:
    """What must match between two runs: final metrics and per-epoch losses/metrics, not times."""
    history = json.loads((run / "history.json").read_text())
    timeless = [{k: v for k, v in h.items() if not k.endswith("time_s")} for h in history]
    return {"final": json.loads((run / "final.json").read_text()), "history": timeless}


def test_same_seed_and_config_give_identical_metrics(mnist_root, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        result = run_cli(ONE_RUN + ["regime=dropout", "threads=1"], tmp_path / name, mnist_root)
        assert result.returncode == 0, result.stderr
    first, second = (comparable(run_dirs(tmp_path / n / "runs")[0]) for n in ("a", "b"))
    assert first == second
    assert first["final"]["test_error"] < 0.5  # it learned something: the comparison is not between two blanks


def test_finished_run_is_skipped_and_record_is_complete(mnist_root, tmp_path):
    assert run_cli(ONE_RUN, tmp_path, mnist_root).returncode == 0
    (run,) = run_dirs(tmp_path / "runs")
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished"
    assert info["environment"]["paddle"] and info["environment"]["threads"] == 1
    assert "git_commit" in info["environment"]
    assert json.loads((run / "config.json").read_text())["run"]["seed"] == 0
    assert len(json.loads((run / "history.json").read_text())) == 3
    assert all(h["epoch_time_s"] > 0 for h in json.loads((run / "history.json").read_text()))
    before = (run / "final.json").stat().st_mtime_ns
    again = run_cli(ONE_RUN, tmp_path, mnist_root)
    assert "already finished: skipped" in again.stdout
    assert (run / "final.json").stat().st_mtime_ns == before


def test_run_killed_mid_epoch_resumes_to_the_same_result(mnist_root, tmp_path):
    args = TINY + ["regime=dropout", "seeds=[0]", "train.epochs=8", "train.batch_size=16", "data.val_size=100"]
    env = {**os.environ, "PADDLE_REG_DATA": str(mnist_root)}
    (tmp_path / "killed").mkdir()
    process = subprocess.Popen([sys.executable, "-m", "paddle_reg.run", *args], cwd=tmp_path / "killed", env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = None
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        found = list((tmp_path / "killed" / "runs").glob("mnist/dropout/*/history.json"))
        if found and json.loads(found[0].read_text() or "[]"):
            history = found[0]
            break
        time.sleep(0.02)
    assert history is not None, "the run never finished an epoch"
    time.sleep(0.05)  # into the next epoch
    process.send_signal(signal.SIGKILL)
    process.wait()
    run = history.parent
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    assert not (run / "final.json").exists()

    resumed = run_cli(args, tmp_path / "killed", mnist_root)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch" in resumed.stdout
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["resumes"][0] >= 1

    (tmp_path / "straight").mkdir()
    assert run_cli(args, tmp_path / "straight", mnist_root).returncode == 0
    assert comparable(run) == comparable(run_dirs(tmp_path / "straight" / "runs")[0])


def test_diverged_run_is_recorded_and_grid_goes_on(mnist_root, tmp_path):
    result = run_cli(TINY + ["regimes=[none,dropout]", "seeds=[0]", "optim.name=sgd", "optim.lr=1e30",
                             "optim.schedule.name=constant", "model.dropout.hidden=0.5"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    statuses = {p.parent.name: json.loads((p / "run.json").read_text())["status"] for p in run_dirs(tmp_path / "runs")}
    assert set(statuses.values()) == {"diverged"}
    assert len(statuses) == 2  # the second regime still ran after the first diverged
    assert "diverged" in result.stdout + result.stderr


def test_early_stopping_stops_after_patience(mnist_root, tmp_path):
    result = run_cli(ONE_RUN + ["train.epochs=30", "train.patience=1", "train.min_delta=0.5"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    (run,) = run_dirs(tmp_path / "runs")
    final = json.loads((run / "final.json").read_text())
    assert final["stopped_early"] and final["epochs_run"] == 2 and final["best_epoch"] == 1


def test_multirun_sweep_writes_one_report_per_job(mnist_root, tmp_path):
    args = ["-m", *[a for a in TINY if a != "report=false"], "regimes=[none]", "seeds=[0]", "train.epochs=1,2"]
    result = run_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    reports = sorted(p.parent.name for p in (tmp_path / "reports" / "mnist" / "smoke").glob("*/report.html"))
    assert len(reports) == 2 and reports[0].endswith("train.epochs=1") and reports[1].endswith("train.epochs=2")
    assert len(run_dirs(tmp_path / "runs")) == 2


def test_early_stop_regime_stops_and_final_holds_the_last_epochs_test_metrics(mnist_root, tmp_path):
    result = run_cli(TINY + ["regime=early_stop", "seeds=[0]", "train.epochs=30", "reg.early_stop.patience=1",
                             "reg.early_stop.min_delta=0.5"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    (run,) = run_dirs(tmp_path / "runs", "early_stop")
    final = json.loads((run / "final.json").read_text())
    assert final["stopped_early"] and final["epochs_run"] == 2 and final["best_epoch"] == 1
    assert {"last_test_error", "last_test_accuracy", "last_test_loss"} <= set(final)
    assert final["last_test_loss"] != final["test_loss"]  # epoch 2's weights, not the best (epoch 1) checkpoint's


def test_extended_regimes_change_training_and_record_the_decay_table(mnist_root, tmp_path):
    result = run_cli(TINY + ["regimes=[none,l1,maxnorm,mixup,cutmix,cutout]", "seeds=[0]", "reg.l1=1e-3",
                             "reg.maxnorm=0.5"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    loss = {p.parent.name: json.loads((p / "history.json").read_text())[0]["train_loss"]
            for p in run_dirs(tmp_path / "runs")}
    assert len(loss) == 6 and len(set(loss.values())) == 6, loss
    info = json.loads((run_dirs(tmp_path / "runs", "none")[0] / "run.json").read_text())
    assert [g["name"] for g in info["decay_groups"]["groups"]] == ["decay", "no_decay"]
    assert "param group decay: 2 tensors" in result.stdout


def test_optimizer_state_survives_a_rebuild_with_other_parameter_names():
    """A resumed run rebuilds its model in a new process, where Paddle's parameter names (linear_N.w_0) can differ."""
    import paddle

    from paddle_reg.store import local_optimizer_state, portable_optimizer_state

    def trained():
        model = paddle.nn.Sequential(paddle.nn.Linear(3, 4), paddle.nn.Linear(4, 2))
        optimizer = paddle.optimizer.Momentum(parameters=model.parameters())
        model(paddle.ones([2, 3])).sum().backward()
        optimizer.step()
        return model, optimizer

    model, optimizer = trained()
    saved = portable_optimizer_state(model, optimizer.state_dict())
    rebuilt, fresh = trained()  # a second model in this process: its parameters have other names
    assert [p.name for p in rebuilt.parameters()] != [p.name for p in model.parameters()]
    fresh.set_state_dict(local_optimizer_state(rebuilt, saved))
    for old, new in zip(model.parameters(), rebuilt.parameters()):
        velocity = lambda opt, p: opt._accumulators["velocity"][p.name].numpy()  # noqa: E731
        assert (velocity(fresh, new) == velocity(optimizer, old)).all()
