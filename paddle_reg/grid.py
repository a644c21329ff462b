"""The regime × seed grid: plan the runs and execute one (under its lease; finished runs are skipped).

Where runs execute (a local process pool, a Ray cluster) is ``paddle_reg.executors``' and ``paddle_reg.cluster``'s."""
from __future__ import annotations

import json
import logging
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from omegaconf import DictConfig, OmegaConf

from paddle_reg import registry
from paddle_reg.errors import UserError
from paddle_reg.optim import LEGACY_COUPLED, decay_mode
from paddle_reg.runtime import train_subset_seed
from paddle_reg.store import RunDir

log = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(message)s"
LEASED = "leased"  # a summary's status when another live process holds the run: execute it again later


# What an effective config holds besides the settings that define a run: where data and caches live. It changes no
# result, so it stays out of the run's hash.
NOT_HASHED = ("paths",)


@dataclass
class RunSpec:
    """Everything one run needs, as plain data so it can cross into a worker process."""

    arm: str  # the arm the report shows the run in: its regime, or the label a claim experiment gives it
    config: dict  # the effective config: what load_data, build_model and the trainer read (regime applied)
    resolved: dict  # the whole composed config, for the record
    runs_dir: str
    data_root: str
    threads: int
    device: str
    flush_denormal: bool
    lease_timeout_s: float  # a lease without a heartbeat for this long is dead, whatever its host (paddle_reg.lease)

    @property
    def run_config(self) -> dict:
        """The settings that define the run (the effective config but NOT_HASHED): its folder holds their hash."""
        return {key: value for key, value in self.config.items() if key not in NOT_HASHED}

    @property
    def label(self) -> str:
        """What the logs call the run: task, arm (on a learning curve with its size, ``dropout@500``) and seed."""
        return f"{self.config['task']}/{self.arm}/seed{self.config['seed']}"

    @property
    def run_dir(self) -> RunDir:
        c = self.run_config
        return RunDir.for_run(Path(self.runs_dir), c["task"], c["regime"], c["seed"], c)


def effective_run_config(cfg: DictConfig, seed: int) -> dict:
    """What one run of ``cfg``'s regime reads: the regularizers it leaves off switched off (the registry's
    ``apply_regime``), ``optim.decay_mode`` as run records spell it, ``paths`` for load_data."""
    from paddle_reg.task_registry import get_task

    task = get_task(cfg.task.name)
    name, entries = registry.resolve(cfg.regime, task)
    full = OmegaConf.to_container(cfg, resolve=True)
    run = {"task": cfg.task.name, "regime": name, "seed": seed, "data": full["data"], "model": full["model"],
           "optim": full["optim"], "reg": full.get("reg") or {}, "train": full["train"], "paths": full["paths"]}
    registry.apply_regime(run, task, entries)
    optim = run["optim"]
    # runs before the rename recorded coupled decay as "l2", and adamw as decoupled: keeping that keeps their hashes
    optim["decay_mode"] = LEGACY_COUPLED if decay_mode(OmegaConf.create(optim)) == "coupled" else "decoupled"
    # added after the first runs: recorded only when set, as those runs have none
    if optim.get("clip_norm") is None:
        optim.pop("clip_norm", None)
    if not optim["schedule"].get("momentum_warmup_steps"):
        optim["schedule"].pop("momentum_warmup_steps", None)
        optim["schedule"].pop("momentum_warmup_start", None)
    if not run["data"].get("resample_with_seed"):
        run["data"].pop("resample_with_seed", None)
    if run["train"].get("steps") is None:
        run["train"].pop("steps", None)
    return run


def plan(arm_cfgs: dict[str, DictConfig], seeds: list[int], runs_dir: Path, data_root: Path) -> list[RunSpec]:
    """One spec per arm (label → its composed config) and seed; seed-major, so an interrupted grid already holds
    every arm for its first seeds. How each runs (threads, device, ...) is the first arm's config: one command's."""
    first = next(iter(arm_cfgs.values()))
    return [RunSpec(label, effective_run_config(cfg, seed), OmegaConf.to_container(cfg, resolve=True), str(runs_dir),
                    str(data_root), first.threads, first.device, first.flush_denormal, float(first.lease_timeout_s))
            for seed in seeds for label, cfg in arm_cfgs.items()]


_DATA_CACHE: dict = {}


def load_data(task, cfg: DictConfig, data_root: Path):
    """The task's data for an effective config, cached per process for the last one: runs of one grid share it."""
    key = (task.name, json.dumps(OmegaConf.to_container(cfg.data), sort_keys=True), train_subset_seed(cfg),
           json.dumps(OmegaConf.to_container(cfg.paths) if "paths" in cfg else None, sort_keys=True), str(data_root))
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = task.load_data(cfg, data_root)
    return _DATA_CACHE[key]


def check_data(task, specs: list[RunSpec]):
    """Load the data of every spec before anything is trained (a missing or corrupt file stops here) and check its
    batch size against it; returns the first spec's data."""
    first = None
    for spec in specs:
        data = load_data(task, OmegaConf.create(spec.config), Path(spec.data_root))
        first = data if first is None else first
        batch_size = spec.config["train"]["batch_size"]
        if len(data.train) < batch_size:
            raise UserError(f"train.batch_size={batch_size} is larger than the {len(data.train)} training "
                            f"samples: lower it or raise data.train_size")
    return first


class _LeaseLost(Exception):
    """Another process took this run's lease over while it trained (its heartbeat had gone stale)."""


EpochCallback = Callable[[int, float], bool]  # (epoch, monitored validation value) → stop the run now (pruned)


def execute(spec: RunSpec, progress: bool | None = None, on_epoch: EpochCallback | None = None) -> dict:
    """Train one run unless it is done, holding its lease; returns a summary. Diverged, crashed and pruned runs are
    recorded, not raised; a run another live process holds comes back as status ``leased``, untouched."""
    from paddle_reg.lease import Lease

    run_dir = spec.run_dir
    summary = {"label": spec.label, "path": str(run_dir.path)}
    if run_dir.is_done:
        return {**summary, "status": run_dir.status, "skipped": True}
    lease = Lease(run_dir.path, spec.lease_timeout_s)
    holder = lease.acquire()
    if holder is not None:
        return {**summary, "status": LEASED, "holder": holder}
    try:
        if run_dir.is_done:  # finished by the holder this process waited for
            return {**summary, "status": run_dir.status, "skipped": True}
        return {**summary, **_train(spec, progress, on_epoch, lease)}
    except _LeaseLost:
        log.warning("%s: another process took this run over; leaving it to that one", spec.label)
        return {**summary, "status": LEASED}
    finally:
        lease.release()


def _train(spec: RunSpec, progress: bool | None, on_epoch: EpochCallback | None, lease) -> dict:
    """Train (or resume) one run whose lease this process holds; returns its status."""
    from paddle_reg import runtime
    from paddle_reg.denormals import set_flush_denormal
    from paddle_reg.optim import build_optimizer
    from paddle_reg.regularizers import StepRegularizers
    from paddle_reg.task_registry import get_task
    from paddle_reg.trainer import Diverged, Pruned, Trainer, train_settings

    run_dir = spec.run_dir
    flush_mode = set_flush_denormal(spec.flush_denormal)
    device = runtime.select_device(spec.device)
    runtime.set_threads(spec.threads)
    cfg = OmegaConf.create(spec.config)
    task = get_task(cfg.task)
    data = load_data(task, cfg, Path(spec.data_root))
    runtime.seed_everything(cfg.seed)
    model = task.build_model(cfg, data)
    settings = train_settings(cfg)
    optimizer, scheduler, groups = build_optimizer(model, cfg.optim, settings.steps_per_epoch(len(data.train)),
                                                   cfg.train.epochs)
    for line in groups.lines():
        log.info("%s %s", spec.label, line)
    reg = spec.config["reg"]
    step_regs = StepRegularizers(model, registry.applied_by(reg, "step"), task.image_shape,
                                 registry.applied_by(reg, "loss"))
    run_dir.start(spec.resolved, spec.run_config, runtime.environment(device, spec.threads, flush_mode), groups.table())

    def after_epoch(epoch: int, value: float) -> bool:
        if lease.lost:
            raise _LeaseLost
        return on_epoch is not None and on_epoch(epoch, value)

    trainer = Trainer(task, model, optimizer, scheduler, run_dir, settings, label=spec.label,
                      progress=progress, step_regs=step_regs, on_epoch=after_epoch)
    started = time.perf_counter()
    try:
        final = trainer.fit(data)
    except Diverged as exc:
        log.warning("%s diverged: %s", spec.label, exc)
        run_dir.finish("diverged", {"diverged_epoch": exc.epoch})
        return {"status": "diverged"}
    except Pruned as exc:
        log.info("%s pruned after epoch %d", spec.label, exc.epoch)
        run_dir.finish("pruned", {"pruned_epoch": exc.epoch})
        return {"status": "pruned", "pruned_epoch": exc.epoch}
    except (UserError, _LeaseLost):
        raise
    except Exception:  # one broken run must not take the rest of the grid down with it
        error = traceback.format_exc()
        log.error("%s failed:\n%s", spec.label, error)
        run_dir.finish("failed", {}, error=error)
        return {"status": "failed"}
    run_dir.finish("finished", final, wall_time_s=time.perf_counter() - started)
    return {"status": "finished"}
