"""The regime × seed grid: plan the runs, execute them (in parallel processes), skip finished ones."""
from __future__ import annotations

import copy
import json
import logging
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from tqdm import tqdm

from paddle_reg.errors import UserError
from paddle_reg.store import RunDir

log = logging.getLogger(__name__)
LOG_FORMAT = "%(asctime)s %(message)s"


@dataclass
class RunSpec:
    """Everything one run needs, as plain data so it can cross into a worker process."""

    run_config: dict  # the effective settings: they define the run and its hash
    resolved: dict  # the whole composed config, for the record
    runs_dir: str
    data_root: str
    threads: int
    device: str
    flush_denormal: bool

    @property
    def label(self) -> str:
        return f"{self.run_config['task']}/{self.run_config['regime']}/seed{self.run_config['seed']}"

    @property
    def run_dir(self) -> RunDir:
        c = self.run_config
        return RunDir.for_run(Path(self.runs_dir), c["task"], c["regime"], c["seed"], c)


def effective_run_config(cfg: DictConfig, seed: int) -> dict:
    """The settings that define one run, with the regularizers its regime leaves off zeroed (or nulled: ``reg.*``)."""
    full = OmegaConf.to_container(cfg, resolve=True)
    model, optim = copy.deepcopy(full["model"]), copy.deepcopy(full["optim"])
    if not cfg.regime.dropout:
        model["dropout"] = {name: 0.0 for name in model["dropout"]}
    if not cfg.regime.weight_decay:
        optim["weight_decay"] = 0.0
        for group in optim.get("groups") or []:
            if group.get("weight_decay") is not None:
                group["weight_decay"] = 0.0
    extra = set(cfg.regime.get("extra") or ())
    reg = {name: (value if name in extra else None) for name, value in full.get("reg", {}).items()}
    return {"task": cfg.task.name, "regime": cfg.regime.name, "seed": seed, "data": full["data"],
            "model": model, "optim": optim, "reg": reg, "train": full["train"]}


def plan(regime_cfgs: dict[str, DictConfig], seeds: list[int], runs_dir: Path, data_root: Path,
         threads: int, device: str, flush_denormal: bool) -> list[RunSpec]:
    """Seed-major order, so an interrupted grid already holds every regime for its first seeds."""
    return [RunSpec(effective_run_config(cfg, seed), OmegaConf.to_container(cfg, resolve=True), str(runs_dir),
                    str(data_root), threads, device, flush_denormal)
            for seed in seeds for cfg in regime_cfgs.values()]


_DATA_CACHE: dict = {}


def load_data(task, cfg: DictConfig, data_root: Path):
    """The task's data, cached per process for the last data config: runs of one grid share it."""
    key = (task.name, json.dumps(OmegaConf.to_container(cfg.data), sort_keys=True), str(data_root))
    if key not in _DATA_CACHE:
        _DATA_CACHE.clear()
        _DATA_CACHE[key] = task.load_data(cfg, data_root)
    return _DATA_CACHE[key]


def execute(spec: RunSpec, progress: bool | None = None) -> dict:
    """Train one run unless it is done; returns a summary. Diverged and crashed runs are recorded, not raised."""
    from paddle_reg import runtime
    from paddle_reg.denormals import set_flush_denormal
    from paddle_reg.optim import build_optimizer
    from paddle_reg.regularizers import StepRegularizers
    from paddle_reg.task_registry import get_task
    from paddle_reg.trainer import Diverged, Trainer, train_settings

    run_dir = spec.run_dir
    summary = {"label": spec.label, "path": str(run_dir.path)}
    if run_dir.is_done:
        return {**summary, "status": run_dir.status, "skipped": True}
    flush_mode = set_flush_denormal(spec.flush_denormal)
    device = runtime.select_device(spec.device)
    runtime.set_threads(spec.threads)
    cfg = OmegaConf.create(spec.run_config)
    task = get_task(cfg.task)
    data = load_data(task, OmegaConf.create(spec.resolved), Path(spec.data_root))
    runtime.seed_everything(cfg.seed)
    model = task.build_model(cfg, data)
    steps_per_epoch = len(data.train) // cfg.train.batch_size
    optimizer, scheduler, groups = build_optimizer(model, cfg.optim, steps_per_epoch, cfg.train.epochs)
    for line in groups.lines():
        log.info("%s %s", spec.label, line)
    step_regs = StepRegularizers(model, {k: v for k, v in (cfg.get("reg") or {}).items() if k not in task.applies_reg},
                                 task.image_shape)
    run_dir.start(spec.resolved, spec.run_config, runtime.environment(device, spec.threads, flush_mode), groups.table())
    trainer = Trainer(task, model, optimizer, scheduler, run_dir, train_settings(cfg), label=spec.label,
                      progress=progress, step_regs=step_regs)
    started = time.perf_counter()
    try:
        final = trainer.fit(data)
    except Diverged as exc:
        log.warning("%s diverged: %s", spec.label, exc)
        run_dir.finish("diverged", {"diverged_epoch": exc.epoch})
        return {**summary, "status": "diverged"}
    except UserError:
        raise
    except Exception:  # one broken run must not take the rest of the grid down with it
        error = traceback.format_exc()
        log.error("%s failed:\n%s", spec.label, error)
        run_dir.finish("failed", {}, error=error)
        return {**summary, "status": "failed"}
    run_dir.finish("finished", final, wall_time_s=time.perf_counter() - started)
    return {**summary, "status": "finished"}


def _init_worker(level: int, flush_denormal: bool) -> None:
    from paddle_reg.denormals import set_flush_denormal

    set_flush_denormal(flush_denormal)  # before Paddle starts threads: they inherit this thread's float mode
    import paddle  # noqa: F401  (its import installs a root log handler; replace it with ours)

    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt="%H:%M:%S", force=True)


def execute_all(specs: list[RunSpec], jobs: int, progress: bool | None) -> list[dict]:
    pending = [spec for spec in specs if not spec.run_dir.is_done]
    summaries = [{"label": s.label, "path": str(s.run_dir.path), "status": s.run_dir.status, "skipped": True}
                 for s in specs if s.run_dir.is_done]
    for summary in summaries:
        log.info("%s already %s: skipped (%s)", summary["label"], summary["status"], summary["path"])
    if jobs == 1 or len(pending) <= 1:
        return summaries + [execute(spec, progress) for spec in pending]
    context = multiprocessing.get_context("spawn")  # Paddle's runtime is not fork-safe
    bar = tqdm(total=len(pending), desc="runs", disable=None if progress is None else not progress)
    with ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=context, initializer=_init_worker,
                             initargs=(logging.getLogger().level or logging.INFO, pending[0].flush_denormal)) as pool:
        futures = [pool.submit(execute, spec, False) for spec in pending]
        try:
            for future in as_completed(futures):
                summaries.append(future.result())
                bar.update()
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    bar.close()
    return summaries
