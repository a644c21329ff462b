"""python -m paddle_reg.tune on tiny MNIST-format files: the search space, pruning, the study, resuming, the report."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from omegaconf import OmegaConf

from conftest import REPO, TINY, compose_config
from paddle_reg.errors import UserError
from paddle_reg.report.study import objective_metric
from paddle_reg.task_registry import get_task
from paddle_reg.tune import open_storage, retry_stale_trials, search_space, storage_of, tpe_sampler

# Slow enough learning that trials differ (lr 2e-4) and a fixed TPE seed: the same study every time.
TUNE = [a for a in TINY if a != "report=false"] + ["regime=dropout", "train.epochs=3", "optim.lr=2e-4",
                                                  "tune.startup_trials=2", "tune.warmup_epochs=0",
                                                  "tune.space.dropout={low:0.05,high:0.95}", "progress=false"]


def tune_cli(args: list[str], cwd: Path, data_root: Path, timeout: int = 600, **popen):
    env = {**os.environ, "PADDLE_REG_DATA": str(data_root)}
    return subprocess.run([sys.executable, "-m", "paddle_reg.tune", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **popen)


def load(runs: Path, name: str):
    return optuna.load_study(study_name=name, storage=open_storage(str(runs / "studies" / f"{name}.journal")))


def states(study) -> dict[str, int]:
    out: dict[str, int] = {}
    for trial in study.trials:
        out[trial.state.name] = out.get(trial.state.name, 0) + 1
    return out


def epoch_lines(output: str) -> int:
    return len(re.findall(r"seed\d+ epoch \d+/", output))


@pytest.mark.parametrize("overrides,keys", [
    (["regime=dropout"], ["model.dropout.hidden"]),
    (["regime=both"], ["model.dropout.hidden", "optim.weight_decay"]),
    (["regime=weight_decay", "tune.lr=true"], ["optim.weight_decay", "optim.lr"]),
    (["regime=dropout", "model.dropout.input=0.2"], ["model.dropout.input", "model.dropout.hidden"]),
    (["regime=dropout+maxnorm", "+tune.space.maxnorm={low:1.0,high:4.0}"], ["model.dropout.hidden", "reg.maxnorm"]),
    (["regime=dropout+maxnorm"], ["model.dropout.hidden"]),  # maxnorm not in tune.space: it keeps reg.maxnorm
])
def test_search_space_follows_the_regime_and_the_config(overrides, keys):
    cfg = compose_config("task=mnist", *overrides)
    assert [i.key for i in search_space(cfg, get_task("mnist"))] == keys


@pytest.mark.parametrize("overrides,message", [
    ([], r"^tune searches one regime: set regime=NAME"),
    (["regime=none"], r"^regime none has nothing to search"),
    (["regime=dropout", "tune.space.dropout={low:0.6,high:0.2}"], r"^tune.space.dropout: low=0.6 must be below high"),
    (["regime=dropout", "tune.space.dropout.high=1.0"], r"^tune.space.dropout.high=1.0 must be in \[0, 1\)"),
    (["regime=weight_decay", "tune.space.weight_decay.low=0"], r"^tune.space.weight_decay.low=0.0 must be > 0 on a log"),
    (["regime=weight_decay", "tune.space.weight_decay.low=-1"], r"^tune.space.weight_decay.low=-1.0 must be >= 0"),
    (["regime=dropout", "+tune.space.momentum={low:0.1,high:0.9}"], r"^tune.space.momentum is unknown"),
    (["regime=dropout", "tune.space.dropout=0.5"], r"^tune.space.dropout=0.5 must be a block with low and high"),
    (["regime=dropout", "model.dropout.hidden=0"], r"^regime dropout has no dropout site above 0"),
    (["regime=dropout", "tune.lr=true", "~tune.space.lr"], r"^tune.lr=true needs tune.space.lr"),
])
def test_bad_search_space_is_one_line(overrides, message):
    with pytest.raises(UserError, match=message) as error:
        search_space(compose_config("task=mnist", *overrides), get_task("mnist"))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("storage,expected", [
    (None, "{cwd}/runs/studies/s.journal"),
    ("sqlite:///tune.db", "sqlite:///{cwd}/tune.db"),  # Ray tasks report epochs from another folder
    ("sqlite:///tune.db?timeout=30", "sqlite:///{cwd}/tune.db?timeout=30"),
    ("sqlite:////shared/tune.db", "sqlite:////shared/tune.db"),
    ("postgresql://user@db/tuning", "postgresql://user@db/tuning"),
    ("studies/s.journal", "{cwd}/studies/s.journal"),
])
def test_the_storage_is_the_same_from_any_folder(storage, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = compose_config("task=mnist", f"tune.storage='{storage}'" if storage else "tune.storage=null")
    assert storage_of(cfg, "s") == expected.format(cwd=Path.cwd())


def test_an_rdb_url_is_a_storage_others_see_and_a_bad_one_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path}/tune.db"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.tell(study.ask(), 0.25)
    assert [t.value for t in optuna.load_study(study_name="s", storage=url).trials] == [0.25]  # another connection
    with pytest.raises(UserError, match=r"^tune.storage=bogus://db cannot be opened \(.*\): give an RDB URL") as error:
        open_storage("bogus://db")
    assert "\n" not in str(error.value)


def test_tpe_keeps_running_trials_in_mind_even_with_one_job():  # other processes share the study
    assert tpe_sampler(compose_config("task=mnist", "jobs=1"))._constant_liar


TASK_PROFILES = sorted(f"{p.parent.name}/{p.stem}" for p in (REPO / "configs" / "task_profile").glob("*/*.yaml"))


@pytest.mark.parametrize("task_profile", TASK_PROFILES)
def test_trials_train_with_a_seed_outside_the_seeds_the_best_values_are_rerun_over(task_profile):
    task, profile = task_profile.split("/")
    cfg = compose_config(f"task={task}", f"profile={profile}")
    assert cfg.tune.seed not in cfg.seeds  # else one re-run would be the selected trial itself


def test_the_objective_is_shown_in_the_unit_of_the_tasks_test_metric():
    error = objective_metric("mnist", "error")
    assert (error.label, error.unit, error.scale) == ("validation error", "%", 100)
    loss = objective_metric("mnist", "loss")  # no test_loss among the task's report metrics: as it is
    assert (loss.label, loss.unit, loss.scale) == ("validation loss", "", 1.0)


def test_a_trial_whose_process_died_on_any_host_is_failed_and_its_values_tried_again(tmp_path):
    from optuna.distributions import FloatDistribution

    study = optuna.create_study(study_name="s", storage=open_storage(str(tmp_path / "s.journal")))
    tuners, now = tmp_path / "studies" / "tuners", time.time()
    elsewhere = {"token": "t", "pid": 1, "host": "elsewhere", "started": now - 600}

    def running(name: str, tuner: dict, run_lease: dict | None = None):
        """A trial started by a tune process whose lease is ``tuner``; its run's lease ``run_lease``."""
        tuners.mkdir(parents=True, exist_ok=True)
        (tuners / f"{name}.json").write_text(json.dumps(tuner))
        run = tmp_path / "runs" / name
        run.mkdir(parents=True)
        if run_lease:
            (run / "lease.json").write_text(json.dumps(run_lease))
        trial = study.ask({"model.dropout.hidden": FloatDistribution(0.05, 0.95)})
        trial.set_user_attr("tuner", str(tuners / f"{name}.json"))
        trial.set_user_attr("run", str(run))
        return trial

    dead = running("dead", {**elsewhere, "heartbeat": now - 121})  # its machine died two minutes ago
    alive = running("alive", {**elsewhere, "heartbeat": now - 10})
    training = running("training", {**elsewhere, "heartbeat": now - 121}, {**elsewhere, "heartbeat": now - 10})
    asked = study.ask()  # its process has not named its lease yet
    assert retry_stale_trials(study, 120) == 1
    by_number = {t.number: t for t in study.get_trials()}
    assert by_number[dead.number].state.name == "FAIL" and by_number[dead.number].user_attrs["stale"]
    assert [by_number[t.number].state.name for t in (alive, training, asked)] == ["RUNNING"] * 3
    assert retry_stale_trials(study, 120) == 0  # once
    retry = study.ask({"model.dropout.hidden": FloatDistribution(0.05, 0.95)})  # the next trial takes its values
    assert retry.params == by_number[dead.number].params and retry.user_attrs["retry_of"] == dead.number


def test_help_is_tunes_own_and_no_override_of_the_command(tmp_path):
    result = tune_cli(["--help"], tmp_path, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("python -m paddle_reg.tune task=... regime=... trials=N [tune.lr=true] [key=value")
    assert "python -m paddle_reg.run [-m]" not in result.stdout and "== Regimes ==" not in result.stdout
    keys = result.stdout.split("== Tuning keys ==\n")[1].split("== Config groups")[0]
    tune = compose_config().tune
    for key in [*(f"tune.{k}" for k in tune if k != "space"), *(f"tune.space.{k}" for k in tune.space)]:
        assert f"  {key} " in keys, f"{key} is not in tune --help (configs/hydra/help/tune.yaml)"
    assert "task: mnist, mnist_cnn" in result.stdout and "\ntune:\n  study: null\n" in result.stdout

    shown = tune_cli(["task=mnist", "regime=dropout", "trials=3", "--cfg", "hydra"], tmp_path, tmp_path)
    assert shown.returncode == 0, shown.stderr[-3000:]
    overrides = OmegaConf.create(shown.stdout).hydra.overrides
    assert list(overrides.task) == ["task=mnist", "regime=dropout", "trials=3"]  # what hashes and reports see
    assert list(overrides.hydra) == ["hydra/help=tune"]


def test_bad_tune_input_exits_2_with_one_line(mnist_root, tmp_path):
    result = tune_cli(TUNE + ["trials=0"], tmp_path, mnist_root)
    assert result.returncode == 2 and result.stderr.strip() == \
        "error: trials=0 must be a positive integer: set e.g. trials=20"
    result = tune_cli(TUNE + ["tune.space.dropout={low:0.9,high:0.1}"], tmp_path, mnist_root)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "runs").exists()  # checked before anything is created


def test_a_pruned_run_is_recorded_and_resumes_when_run_again(mnist_root, tmp_path):
    from paddle_reg import grid

    cfg = compose_config(*[a for a in TUNE if not a.startswith("tune.")], f"paths.data_root={mnist_root}")
    (spec,) = grid.plan({"dropout": cfg}, [0], tmp_path / "runs", mnist_root)
    seen = []
    summary = grid.execute(spec, False, lambda epoch, value: seen.append((epoch, value)) or epoch == 1)
    assert summary["status"] == "pruned" and [e for e, _ in seen] == [1]
    run = spec.run_dir
    assert run.status == "pruned" and run.final() == {"pruned_epoch": 1} and len(run.history()) == 1
    assert run.history()[0]["val_error"] == seen[0][1]
    assert grid.execute(spec, False)["status"] == "finished"  # a grid that needs the run trains it on
    assert run.info()["resumes"] == [1] and len(run.history()) == 3


def test_study_trials_are_runs_pruned_ones_recorded_and_the_report_reruns_the_best(mnist_root, tmp_path):
    args = TUNE + ["trials=6", "tune.sampler_seed=3", "seeds=[0,1]"]
    result = tune_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr[-3000:]
    study = load(tmp_path / "runs", "mnist-dropout-smoke")
    assert sum(states(study).get(s, 0) for s in ("COMPLETE", "PRUNED")) == 6, states(study)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    assert pruned, "no trial was pruned: the median pruner never stopped a worse-than-median trial"
    for trial in study.trials:
        info = json.loads((Path(trial.user_attrs["run"]) / "run.json").read_text())
        assert info["status"] == ("pruned" if trial in pruned else "finished")
        assert json.loads((Path(trial.user_attrs["run"]) / "config.json").read_text())["run"]["model"]["dropout"][
            "hidden"] == trial.params["model.dropout.hidden"]
    for trial in pruned:
        last = max(trial.intermediate_values)
        assert last < 3 and json.loads((Path(trial.user_attrs["run"]) / "final.json").read_text()) == \
            {"pruned_epoch": last}
    best = study.best_trial
    assert best.value == json.loads((Path(best.user_attrs["run"]) / "final.json").read_text())["val_error"]
    assert len({t.user_attrs["run"] for t in study.trials}) == 6  # hash-named: one folder per trial's values
    seed1 = list((tmp_path / "runs" / "mnist").glob("*/seed1-*"))
    assert sorted(p.parent.name for p in seed1) == ["dropout", "none"]  # the best values re-run over seeds
    # the trials train with tune.seed (1000), the re-run over seeds [0, 1] trains runs of its own
    assert sorted({p.name.split("-")[0] for p in (tmp_path / "runs" / "mnist" / "dropout").iterdir()}) == \
        ["seed0", "seed1", "seed1000"]
    report = tmp_path / "reports" / "mnist" / "tune-mnist-dropout-smoke"
    html = (report / "report.html").read_text()
    for part in ("Tuning study", "Optimization history", "Parameter importances", "Parallel coordinates",
                 "Effect against", f"trial {best.number}:"):
        assert part in html
    assert f"trial {best.number}: validation error {100 * best.value:.4g} %" in html
    assert "optimistically biased" not in html  # tune.seed (1000) is not in seeds: no re-run is a trial's own
    assert "not drawn" not in html and (report / "report.pdf").stat().st_size > 10_000
    assert "python -m paddle_reg.tune " in html and "hydra/help" not in html  # tune's own help choice is no override
    assert "&#39;tune.space.dropout={low:0.05,high:0.95}&#39;" in html  # quoted: a shell would brace-expand it

    again = tune_cli(args + ["report=false"], tmp_path, mnist_root)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "6 of 6 trials done, nothing to run" in again.stdout + again.stderr
    assert epoch_lines(again.stdout + again.stderr) == 0
    assert len(load(tmp_path / "runs", "mnist-dropout-smoke").trials) == 6


def test_tuning_lr_too_reports_what_none_keeps_and_a_rerun_that_is_the_selected_trial(mnist_root, tmp_path):
    args = TUNE + ["tune.lr=true", "trials=2", "train.epochs=1", "seeds=[0]", "tune.seed=0"]
    result = tune_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr[-3000:]
    study = load(tmp_path / "runs", "mnist-dropout-smoke")
    best = study.best_trial
    assert set(best.params) == {"model.dropout.hidden", "optim.lr"}
    assert json.loads((Path(best.user_attrs["run"]) / "config.json").read_text())["run"]["optim"]["lr"] == \
        best.params["optim.lr"]
    assert not list((tmp_path / "runs" / "studies" / "tuners").glob("*.json"))  # its lease released on exit
    report = tmp_path / "reports" / "mnist" / "tune-mnist-dropout-smoke"
    assert (report / "report.pdf").stat().st_size > 10_000
    html = (report / "report.html").read_text()
    assert "<code>none</code> keeps the configured <code>optim.lr=0.0002</code>" in html
    assert f"Seed 0 of dropout is the selected trial {best.number}'s own run" in html
    assert f"trial {best.number}: validation error {100 * best.value:.4g} %" in html  # the task's unit, not 0.xx


def test_a_killed_tune_process_leaves_its_trial_to_the_next_which_resumes_the_run(mnist_root, tmp_path):
    args = TUNE + ["trials=2", "tune.sampler_seed=0", "train.epochs=8", "train.batch_size=16", "data.val_size=100",
                   "report=false"]
    env = {**os.environ, "PADDLE_REG_DATA": str(mnist_root)}
    first = subprocess.Popen([sys.executable, "-m", "paddle_reg.tune", *args], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = None
    deadline = time.time() + 300
    while history is None and time.time() < deadline and first.poll() is None:
        found = list((tmp_path / "runs").glob("mnist/dropout/*/history.json"))
        history = found[0] if found and json.loads(found[0].read_text() or "[]") else None
        time.sleep(0.02)
    assert history is not None, "the first trial never finished an epoch"
    first.send_signal(signal.SIGKILL)
    first.wait()
    result = tune_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 trial(s) of a dead process enqueued again" in result.stdout + result.stderr
    study = load(tmp_path / "runs", "mnist-dropout-smoke")
    stale, *others = study.trials
    assert stale.state.name == "FAIL" and stale.user_attrs["stale"]
    retry = next(t for t in others if t.user_attrs.get("retry_of") == stale.number)
    assert retry.params == stale.params and retry.user_attrs["run"] == str(history.parent)
    assert json.loads((history.parent / "run.json").read_text())["resumes"][0] >= 1
    assert sum(1 for t in others if t.state.name in ("COMPLETE", "PRUNED")) == 2


def test_two_tune_processes_share_one_study(mnist_root, tmp_path):
    args = TUNE + ["trials=4", "report=false", "seeds=[0]"]
    env = {**os.environ, "PADDLE_REG_DATA": str(mnist_root)}
    processes = [subprocess.Popen([sys.executable, "-m", "paddle_reg.tune", *args], cwd=tmp_path, env=env,
                                  text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    study = load(tmp_path / "runs", "mnist-dropout-smoke")
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert 4 <= len(done) <= 5, states(study)  # the last trial each process had started may finish beyond 4
    assert all(f"trial {t.number}:" in "".join(outputs) for t in done)
    assert {t.user_attrs["pid"] for t in done} == {p.pid for p in processes}  # both took part
    # each run trained once: the trials', and none's and the best values' over seeds (the best each process saw)
    epochs = sum(len(json.loads(h.read_text())) for h in (tmp_path / "runs" / "mnist").glob("*/*/history.json"))
    assert epoch_lines("".join(outputs)) == epochs
