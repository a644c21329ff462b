"""CLI: ``python -m paddle_reg.tune task=mnist regime=dropout trials=20 [tune.lr=true] [key=value ...]``.

Searches the regime's values (Dropout p, weight decay λ, and optim.lr when asked) with Optuna: TPE, and the median
pruner on the per-epoch validation metric. Each trial is a run in the store (hash-named: a repeated or resumed trial
reuses it); the study lives in an Optuna storage that several tune processes share (a journal file in the runs
folder, or an RDB URL). Then the best values are re-run over ``seeds`` against ``none`` and the report is written.
"""
from __future__ import annotations

import copy
import logging
import math
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from paddle_reg.errors import UserError

log = logging.getLogger("paddle_reg")
LR = "lr"
STALE = "stale"  # user attribute of a trial whose process died: failed, and its values enqueued again
TUNERS = "tuners"  # <runs_dir>/studies/tuners/: the leases of the tune processes running trials


@dataclass(frozen=True)
class Interval:
    key: str  # the config key the value goes to, also the Optuna parameter's name
    low: float
    high: float
    log: bool


def _interval(name: str, bounds, key: str, check) -> Interval:
    from paddle_reg.checks import number

    field = f"tune.space.{name}"
    if not isinstance(bounds, (dict, DictConfig)) or "low" not in bounds or "high" not in bounds:
        raise UserError(f"{field}={bounds} must be a block with low and high: set e.g. {field}={{low:0.1,high:0.5}}")
    low, high = number(f"{field}.low", bounds.low), number(f"{field}.high", bounds.high)
    for bound, value in (("low", low), ("high", high)):
        check(f"{field}.{bound}", value)
    if not low < high:
        raise UserError(f"{field}: low={low} must be below high={high}")
    log_scale = bounds.get("log", False)
    if not isinstance(log_scale, bool):
        raise UserError(f"{field}.log={log_scale} must be true or false")
    if log_scale and low <= 0:
        raise UserError(f"{field}.low={low} must be > 0 on a log scale: set e.g. {field}.low=1e-6 or {field}.log=false")
    return Interval(key, low, high, log_scale)


def search_space(cfg: DictConfig, task) -> list[Interval]:
    """The intervals ``cfg.regime`` searches: one per value of its regularizers that ``tune.space`` names (each
    dropout site the task config sets above 0), plus optim.lr with ``tune.lr``; one-line UserError otherwise."""
    from paddle_reg import checks, registry

    if cfg.get("regime") is None:
        raise UserError("tune searches one regime: set regime=NAME (e.g. regime=dropout, regime=both)")
    name, entries = registry.resolve(cfg.regime, task)
    space = cfg.tune.space or {}
    known = [entry.name for entry in registry.REGULARIZERS] + [LR]
    for key in space:
        if key not in known:
            raise UserError(f"tune.space.{key} is unknown: name a regularizer or lr ({', '.join(known)})")
    intervals = []
    for entry in map(registry.BY_NAME.get, entries):
        if entry.name not in space:
            continue
        if entry.name == "dropout":
            sites = [site for site, p in (cfg.model.get("dropout") or {}).items() if p > 0]
            if not sites:
                raise UserError(f"regime {name} has no dropout site above 0 in task {task.name}'s config: set e.g. "
                                f"model.dropout.<site>=0.5 to search it")
            intervals += [_interval("dropout", space.dropout, f"model.dropout.{site}",
                                    lambda field, v: checks.probability(field, v, 0.5)) for site in sites]
        elif entry.name == "weight_decay":
            intervals.append(_interval("weight_decay", space.weight_decay, entry.key,
                                       lambda field, v: checks.non_negative(field, v, 1e-4)))
        elif isinstance(entry.default, (int, float)):
            intervals.append(_interval(entry.name, space[entry.name], entry.field,
                                       lambda field, v, e=entry: e.check(field, v, e.default)))
        else:
            raise UserError(f"tune.space.{entry.name}: {entry.field} is a block ({registry.cli_value(entry.default)}), "
                            f"not one number: tune searches numbers only")
    if cfg.tune.lr:
        if LR not in space:
            raise UserError("tune.lr=true needs tune.space.lr: set e.g. tune.space.lr={low:1e-4,high:1e-1,log:true}")
        intervals.append(_interval(LR, space.lr, "optim.lr", lambda field, v: checks.positive(field, v, 1e-3)))
    if not intervals:
        raise UserError(f"regime {name} has nothing to search: tune.space names none of {', '.join(entries) or 'its'} "
                        f"regularizers (and tune.lr=false)")
    return intervals


def _check(cfg: DictConfig, task) -> list[Interval]:
    from paddle_reg.checks import is_int, positive_int
    from paddle_reg.validation import validate

    validate(cfg, task, [cfg.regime] if cfg.get("regime") is not None else [])
    intervals = search_space(cfg, task)
    positive_int("trials", cfg.trials, 20)
    positive_int("tune.startup_trials", cfg.tune.startup_trials, 5)
    if not is_int(cfg.tune.warmup_epochs) or cfg.tune.warmup_epochs < 0:
        raise UserError(f"tune.warmup_epochs={cfg.tune.warmup_epochs} must be an integer >= 0: set e.g. "
                        f"tune.warmup_epochs=1")
    if not is_int(cfg.tune.seed) or cfg.tune.seed < 0:
        raise UserError(f"tune.seed={cfg.tune.seed} must be an integer >= 0: set e.g. tune.seed=1000")
    if cfg.tune.sampler_seed is not None and not is_int(cfg.tune.sampler_seed):
        raise UserError(f"tune.sampler_seed={cfg.tune.sampler_seed} must be an integer or null")
    return intervals


def storage_of(cfg: DictConfig, study: str) -> str:
    """The journal file's path (by default in the runs folder: every node sees it), or the RDB URL given; a relative
    journal or SQLite path is made absolute here, where it was typed: pool workers and Ray tasks that report epochs
    to the study may start in another folder."""
    if not cfg.tune.storage:
        return str(Path(cfg.paths.runs_dir).resolve() / "studies" / f"{study}.journal")
    storage = str(cfg.tune.storage)
    if "://" not in storage:
        return str(Path(storage).resolve())
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(storage)
    except ArgumentError:
        return storage  # open_storage says what is wrong with it
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:") or Path(url.database).is_absolute():
        return storage
    return url.set(database=str(Path(url.database).resolve())).render_as_string(hide_password=False)


_STORAGES: dict = {}


def open_storage(storage: str):
    """One storage per process and place: ``scheme://...`` an RDB, anything else a journal file."""
    import optuna
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    if storage not in _STORAGES:
        if "://" in storage:
            try:
                _STORAGES[storage] = optuna.storages.RDBStorage(storage)
            except Exception as exc:  # noqa: BLE001  (SQLAlchemy's errors for a bad URL or server are many)
                raise UserError(f"tune.storage={storage} cannot be opened ({type(exc).__name__}: "
                                f"{str(exc).splitlines()[0]}): give an RDB URL such as sqlite:///tune.db") from None
        else:
            Path(storage).parent.mkdir(parents=True, exist_ok=True)
            # an O_EXCL lock file: works on NFS, where the default symlink lock does not
            _STORAGES[storage] = optuna.storages.JournalStorage(
                JournalFileBackend(storage, lock_obj=JournalFileOpenLock(storage)))
    return _STORAGES[storage]


def median_pruner(startup_trials: int, warmup_epochs: int):
    """Stops a trial whose epoch value is worse than the median of the finished trials' at that epoch."""
    import optuna

    return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=warmup_epochs)


@dataclass(frozen=True)
class TrialReporter:
    """The trainer's epoch callback for one trial: reports the value and asks the pruner, in whichever process or
    node trains it (all it carries is where the study is)."""

    storage: str
    study: str
    trial_id: int
    startup_trials: int
    warmup_epochs: int

    def __call__(self, epoch: int, value: float) -> bool:
        import optuna

        study = optuna.load_study(study_name=self.study, storage=open_storage(self.storage),
                                  pruner=median_pruner(self.startup_trials, self.warmup_epochs))
        trial = optuna.trial.Trial(study, self.trial_id)
        trial.report(value, epoch)
        return trial.should_prune()


def tuner_lease(runs_dir: Path, timeout_s: float):
    """This tune process's lease, held while it runs trials: each trial names its file (user attribute ``tuner``), so
    any process that shares the study can tell, on any host, whether the trial's process is alive."""
    import uuid

    from paddle_reg.lease import Lease

    return Lease(runs_dir / "studies" / TUNERS, timeout_s, name=f"{uuid.uuid4().hex}.json")


def retry_stale_trials(study, timeout_s: float) -> int:
    """Trials left running by a dead tune process (its lease dead, on whichever host) whose run no live process
    trains are failed and their values enqueued again: the new trial finds their run and resumes it."""
    import optuna
    from optuna.trial import TrialState

    from paddle_reg.lease import holder

    retried = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tuner, run = trial.user_attrs.get("tuner"), trial.user_attrs.get("run")
        if tuner is None:  # just asked for: its process has not named itself yet
            continue
        if holder(Path(tuner).parent, timeout_s, Path(tuner).name) is not None \
                or (run and holder(Path(run), timeout_s) is not None):
            continue
        try:  # the storage's own calls: Optuna's public API ends only the trials of this process
            study._storage.set_trial_user_attr(trial._trial_id, STALE, True)
            study._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        except (optuna.exceptions.UpdateFinishedTrialError, RuntimeError):
            continue  # another process retried it first
        study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
        retried += 1
    return retried


def counted(study) -> int:
    """Trials that count towards ``trials``: complete, pruned, or failed (diverged, crashed) but not for a dead
    process (its values are tried again)."""
    from optuna.trial import TrialState

    return sum(1 for t in study.get_trials(deepcopy=False)
               if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
               or (t.state == TrialState.FAIL and not t.user_attrs.get(STALE)))


class Objective:
    """One trial: its values into the config, its run executed (trained, resumed or found done), its value read."""

    def __init__(self, cfg: DictConfig, task, intervals: list[Interval], executor, storage: str, study_name: str,
                 data_root: Path, tuner: Path):
        self.cfg, self.task, self.intervals, self.executor = cfg, task, intervals, executor
        self.storage, self.study_name, self.data_root, self.tuner = storage, study_name, data_root, tuner
        self.monitor = monitored(cfg, task)[0]

    def spec(self, values: dict):
        from paddle_reg import grid

        cfg = with_values(self.cfg, values)
        return grid.plan({cfg.regime: cfg}, [self.cfg.tune.seed], Path(self.cfg.paths.runs_dir).resolve(),
                         self.data_root)[0]

    def __call__(self, trial) -> float:
        import optuna

        from paddle_reg.executors import LEASE_POLL_S
        from paddle_reg.grid import LEASED

        trial.set_user_attr("tuner", str(self.tuner))  # first: until then no process can tell whether it is alive
        values = {i.key: trial.suggest_float(i.key, i.low, i.high, log=i.log) for i in self.intervals}
        spec = self.spec(values)
        run = spec.run_dir
        for key, value in (("run", str(run.path)), ("host", platform.node()), ("pid", os.getpid())):
            trial.set_user_attr(key, value)
        for record in run.history():  # epochs a resumed run trained before: the pruner sees the whole curve
            trial.report(record[f"val_{self.monitor}"], record["epoch"])
        log.info("trial %d: %s (%s)", trial.number, ", ".join(f"{k}={v:.4g}" for k, v in values.items()), run.path)
        reporter = TrialReporter(self.storage, self.study_name, trial._trial_id, self.cfg.tune.startup_trials,
                                 self.cfg.tune.warmup_epochs)
        while True:
            summary = self.executor.submit(spec, reporter).result()
            if summary["status"] != LEASED:
                break
            time.sleep(LEASE_POLL_S)  # another process trains these values: its result is this trial's
        status = run.status
        trial.set_user_attr("status", status)
        if status == "pruned":
            raise optuna.TrialPruned(f"pruned after epoch {run.final().get('pruned_epoch')}")
        if status != "finished":
            log.warning("trial %d: run %s (%s)", trial.number, status, run.path)
            return math.nan  # Optuna records the trial as failed
        return float(run.final()[f"val_{self.monitor}"])


def monitored(cfg: DictConfig, task) -> tuple[str, str]:
    """The validation metric the trainer reports each epoch and picks the best epoch by (the study's objective), and
    whether lower or higher is better ("min" | "max")."""
    from paddle_reg.grid import effective_run_config
    from paddle_reg.trainer import train_settings

    settings = train_settings(OmegaConf.create(effective_run_config(cfg, cfg.tune.seed)))
    return settings.monitor or task.monitor, settings.mode or task.monitor_mode


def run_study(cfg: DictConfig, task, intervals: list[Interval], data_root: Path):
    """Create or load the study, retry its stale trials, run this process's share of ``trials``."""
    import optuna

    from paddle_reg.executors import executor_for

    name = cfg.tune.study or f"{cfg.task.name}-{cfg.regime}-{cfg.profile_name}"
    storage = storage_of(cfg, name)
    metric, mode = monitored(cfg, task)
    direction = "minimize" if mode == "min" else "maximize"
    pruner = median_pruner(cfg.tune.startup_trials, cfg.tune.warmup_epochs)
    study = optuna.create_study(study_name=name, storage=open_storage(storage), sampler=tpe_sampler(cfg), pruner=pruner,
                                direction=direction, load_if_exists=True)
    study.set_user_attr("metric", metric)
    if study.direction.name.lower() != direction:
        raise UserError(f"study {name} in {storage} is to {study.direction.name.lower()}, task {task.name}'s metric "
                        f"is to {direction}: name another study with tune.study=NAME")
    retried = retry_stale_trials(study, cfg.lease_timeout_s)
    if retried:
        log.info("study %s: %d trial(s) of a dead process enqueued again", name, retried)
    remaining = cfg.trials - counted(study)
    log.info("study %s (%s): %d of %d trials done, %s", name, storage, cfg.trials - max(remaining, 0), cfg.trials,
             f"running {remaining}" if remaining > 0 else "nothing to run")
    if remaining > 0:
        runs_dir = Path(cfg.paths.runs_dir).resolve()
        executor = executor_for(cfg, runs_dir)(cfg.jobs)
        tuner = tuner_lease(runs_dir, cfg.lease_timeout_s)
        objective = Objective(cfg, task, intervals, executor, storage, name, data_root, tuner.path)

        def after_trial(study, trial) -> None:
            retried = retry_stale_trials(study, cfg.lease_timeout_s)  # a process that died since: tried again here
            if retried:
                log.info("study %s: %d trial(s) of a dead process enqueued again", name, retried)
            if counted(study) >= cfg.trials:  # trials=N is the study's total over every process that shares it
                study.stop()

        try:
            tuner.acquire()  # a new file of its own: nobody else holds it
            study.optimize(objective, n_trials=remaining, n_jobs=cfg.jobs, callbacks=[after_trial],
                           catch=(), gc_after_trial=False)
        finally:
            executor.close()
            tuner.release()
    return study, storage


def tpe_sampler(cfg: DictConfig):
    """TPE with the constant liar: a running trial (this process's other jobs, or another process's) counts as a bad
    result, so trials that run at once do not all suggest the same values."""
    import optuna

    return optuna.samplers.TPESampler(n_startup_trials=cfg.tune.startup_trials, seed=cfg.tune.sampler_seed,
                                      constant_liar=True)


def with_values(cfg: DictConfig, values: dict) -> DictConfig:
    out = copy.deepcopy(cfg)
    for key, value in values.items():
        OmegaConf.update(out, key, value)
    return out


def best_arms(cfg: DictConfig, study) -> dict[str, DictConfig]:
    """``none`` and the regime with the study's best values: the arms re-run over ``seeds``."""
    return {"none": with_values(cfg, {"regime": "none"}), cfg.regime: with_values(cfg, study.best_trial.params)}


def tune_command(cfg: DictConfig, overrides: list[str]) -> int:
    from paddle_reg.denormals import set_flush_denormal

    set_flush_denormal(cfg.flush_denormal is True)  # first: before Paddle is imported and starts threads
    import optuna

    from paddle_reg import grid
    from paddle_reg.datasource import data_root
    from paddle_reg.executors import execute_all, executor_for
    from paddle_reg.report.study import write_study_report
    from paddle_reg.run import reproduce_command
    from paddle_reg.task_registry import get_task

    task = get_task(cfg.task.name)
    root = data_root(cfg.paths.data_root)
    intervals = _check(cfg, task)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    runs_dir = Path(cfg.paths.runs_dir).resolve()
    plan = grid.plan({cfg.regime: cfg}, [cfg.tune.seed], runs_dir, root)
    grid.check_data(task, plan)  # a missing or corrupt file stops here, before any trial
    study, storage = run_study(cfg, task, intervals, root)
    if not [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]:
        raise UserError(f"study {study.study_name} has no complete trial (all pruned or failed): raise trials or "
                        f"tune.startup_trials")
    arms = best_arms(cfg, study)
    specs = grid.plan(arms, list(cfg.seeds), runs_dir, root)
    summaries = execute_all(specs, executor_for(cfg, runs_dir), cfg.progress)
    if cfg.report:
        out = write_study_report(study, storage, intervals, specs, list(arms),
                                 Path(cfg.paths.reports_dir) / cfg.task.name / f"tune-{study.study_name}",
                                 command=reproduce_command(overrides, "paddle_reg.tune"), profile=cfg.profile_name,
                                 reports_dir=Path(cfg.paths.reports_dir))
        log.info("report: %s", out)
    failed = [s["label"] for s in summaries if s["status"] == "failed"]
    if failed:
        log.error("%d run(s) failed (see run.json in their folders): %s", len(failed), ", ".join(failed))
    return 1 if failed else 0


@hydra.main(version_base="1.3", config_path="pkg://paddle_reg.configs", config_name="config")
def _hydra_entry(cfg: DictConfig) -> None:
    from paddle_reg.run import _fail

    try:
        code = tune_command(cfg, list(HydraConfig.get().overrides.task))
    except UserError as exc:
        _fail(f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted: the study and its finished trials are kept; the same command goes on", 130)
    if code:
        sys.exit(code)


def main() -> None:
    from paddle_reg.run import launch

    launch(_hydra_entry, ("hydra/help=tune",))  # --help: configs/hydra/help/tune.yaml


if __name__ == "__main__":
    main()
