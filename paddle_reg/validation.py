"""Checks of a composed config, all run before anything is loaded or trained; each failure is one UserError naming
the field and a valid value. The regularizers' values and the regimes are checked by the registry's entries."""
from __future__ import annotations

import logging

from omegaconf import DictConfig, ListConfig, OmegaConf

from paddle_reg import registry
from paddle_reg.checks import block, is_int, number, positive, positive_int, probability, regexes
from paddle_reg.errors import UserError
from paddle_reg.grid import effective_run_config
from paddle_reg.optim import DECAY_MODES, LEGACY_COUPLED, OPTIMIZERS, SCHEDULES, with_defaults

log = logging.getLogger(__name__)
DEVICES = ("auto", "cpu", "gpu")
EXECUTORS = ("local", "ray")
PUBLISHED_KEYS = ("regime", "metric", "value", "source", "note")  # of each figure under `published`
PUBLISHED_EXAMPLE = "published=[{regime:dropout,value:1.25,source:'Srivastava et al. 2014, table 2'}]"
_DEPRECATIONS_LOGGED: set[str] = set()


def _deprecated(message: str) -> None:
    """Log ``message`` once per process (a command validates each of its arms)."""
    if message not in _DEPRECATIONS_LOGGED:
        _DEPRECATIONS_LOGGED.add(message)
        log.warning(message)


def validate_optim(optim: DictConfig) -> None:
    """The ``optim`` section; keys it leaves out take the factory's defaults."""
    if "schedule" in optim:
        block("optim.schedule", optim.schedule, ("name",), "{name:cosine}")
    optim = with_defaults(optim)
    positive("optim.lr", optim.lr, 1e-3)
    probability("optim.momentum", optim.momentum, 0.9)
    if optim.decay_mode == LEGACY_COUPLED:  # optim is a copy here
        _deprecated(f"optim.decay_mode={LEGACY_COUPLED} is deprecated: it means optim.decay_mode=coupled, write that")
        optim.decay_mode = "coupled"
    for key, choices in (("name", OPTIMIZERS), ("decay_mode", DECAY_MODES), ("schedule.name", SCHEDULES)):
        value = OmegaConf.select(optim, key)
        if value not in choices:
            raise UserError(f"optim.{key}={value} is unknown: choose one of {', '.join(choices)}")
    if optim.clip_norm is not None:
        positive("optim.clip_norm", optim.clip_norm, 5.0)
    regexes("optim.decay_only", optim.decay_only)
    regexes("optim.no_decay", optim.no_decay)
    for i, group in enumerate(optim.groups):
        field = f"optim.groups[{i}]"
        block(field, group, ("match",), "{match:'^embedding',lr_mult:1.0,weight_decay:5e-4}")
        regexes(f"{field}.match", [group.match])
        positive(f"{field}.lr_mult", group.get("lr_mult", 1.0), 1.0)
        if group.get("weight_decay") is not None and number(f"{field}.weight_decay", group.weight_decay) < 0:
            raise UserError(f"{field}.weight_decay={group.weight_decay} must be >= 0 (or null: optim.weight_decay)")
    schedule = optim.schedule
    if not is_int(schedule.warmup_steps) or schedule.warmup_steps < 0:
        raise UserError(f"optim.schedule.warmup_steps={schedule.warmup_steps} must be an integer >= 0: set e.g. "
                        "optim.schedule.warmup_steps=500")
    if not 0.0 <= number("optim.schedule.warmup_start", schedule.warmup_start) <= 1.0:
        raise UserError(f"optim.schedule.warmup_start={schedule.warmup_start} must be in [0, 1] (a fraction of optim.lr)")
    if not all(is_int(m) and m >= 1 for m in schedule.milestones):
        raise UserError(f"optim.schedule.milestones={list(schedule.milestones)} must be epochs >= 1: set e.g. "
                        "optim.schedule.milestones=[30,60]")
    positive("optim.schedule.gamma", schedule.gamma, 0.1)
    if not is_int(schedule.momentum_warmup_steps) or schedule.momentum_warmup_steps < 0:
        raise UserError(f"optim.schedule.momentum_warmup_steps={schedule.momentum_warmup_steps} must be an integer >= 0: "
                        "set e.g. optim.schedule.momentum_warmup_steps=10000")
    if schedule.momentum_warmup_steps > 0 and optim.name != "momentum":
        raise UserError(f"optim.schedule.momentum_warmup_steps={schedule.momentum_warmup_steps} warms up the momentum "
                        f"of optim.name=momentum, not {optim.name}: set optim=momentum or "
                        "optim.schedule.momentum_warmup_steps=0")
    probability("optim.schedule.momentum_warmup_start", schedule.momentum_warmup_start, 0.5)


def validate(cfg: DictConfig, task, regimes: list[str]) -> None:
    """``cfg`` composed for ``task``, with each of ``regimes``: values, regimes, the early-stop metric and the task's
    own settings (``check``, on each regime's effective config)."""
    registry.check_values(cfg)
    if not cfg.seeds or not all(is_int(s) and s >= 0 for s in cfg.seeds):
        raise UserError(f"seeds={list(cfg.seeds)} must be a non-empty list of integers >= 0: set e.g. seeds=[0,1,2]")
    for field, example in (("train.epochs", 5), ("train.batch_size", 128), ("jobs", 2), ("threads", 1),
                           ("data.val_size", 5000)):
        positive_int(field, OmegaConf.select(cfg, field), example)
    if cfg.data.train_size is not None:
        positive_int("data.train_size", cfg.data.train_size, 5000)
    if cfg.train.patience is not None:
        positive_int("train.patience", cfg.train.patience, 10)
    steps = OmegaConf.select(cfg, "train.steps")
    if steps is not None:
        positive_int("train.steps", steps, 3000)
        epochs = cfg.train.epochs
        if steps % epochs:
            raise UserError(f"train.steps={steps} must be a multiple of train.epochs={epochs} (its periods, each "
                            f"validated): set e.g. train.steps={max(1, steps // epochs) * epochs}")
    if not isinstance(OmegaConf.select(cfg, "data.resample_with_seed", default=False), bool):
        raise UserError(f"data.resample_with_seed={cfg.data.resample_with_seed} must be true or false")
    validate_optim(cfg.optim)
    if cfg.device not in DEVICES:
        raise UserError(f"device={cfg.device} is unknown: choose one of {', '.join(DEVICES)}")
    if not regimes:
        registry.resolve(None, task)
    for regime in regimes:
        _, entries = registry.check_regime(cfg, task, regime)
        metric = OmegaConf.select(cfg, "reg.early_stop.metric") if "early_stop" in entries else None
        if metric is not None and metric not in task.metrics:
            raise UserError(f"reg.early_stop.metric={metric} is not a validation metric of task {task.name}: "
                            f"choose one of {', '.join(task.metrics)}")
        task.check(OmegaConf.create(effective_run_config(OmegaConf.merge(cfg, {"regime": regime}), 0)))
    validate_published(cfg, task)
    validate_execution(cfg)
    if not isinstance(cfg.flush_denormal, bool):
        raise UserError(f"flush_denormal={cfg.flush_denormal} must be true or false")


def validate_execution(cfg: DictConfig) -> None:
    """Where runs execute: the executor, the Ray block, the lease timeout."""
    if cfg.executor not in EXECUTORS:
        raise UserError(f"executor={cfg.executor} is unknown: choose one of {', '.join(EXECUTORS)}")
    address = cfg.ray.address
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise UserError(f"ray.address={address} must be null (a local Ray), auto, host:port or ray://host:port")
    if not is_int(cfg.ray.max_retries) or cfg.ray.max_retries < 0:
        raise UserError(f"ray.max_retries={cfg.ray.max_retries} must be an integer >= 0: set e.g. ray.max_retries=3")
    positive("lease_timeout_s", cfg.lease_timeout_s, 120)


def validate_published(cfg: DictConfig, task) -> None:
    """The ``published`` block: figures the report shows beside the arms, each with a regime the task runs (null: shown
    for context), a report metric (null: the headline), a numeric value and a source."""
    figures = OmegaConf.select(cfg, "published")
    if not isinstance(figures, ListConfig):
        raise UserError(f"published={figures} must be a list of figures: set e.g. {PUBLISHED_EXAMPLE}, or published=[]")
    metrics = [m.name for m in task.report_metrics]
    for i, figure in enumerate(figures):
        field = f"published[{i}]"
        if not isinstance(figure, DictConfig):
            raise UserError(f"{field}={figure} must be a block with value and source: set e.g. {PUBLISHED_EXAMPLE}")
        unknown = [key for key in figure if key not in PUBLISHED_KEYS]
        if unknown:
            raise UserError(f"{field}.{unknown[0]} is unknown: a published figure has {', '.join(PUBLISHED_KEYS)}")
        regime = figure.get("regime")
        if regime is not None:
            try:
                registry.resolve(regime, task)
            except UserError:
                raise UserError(f"{field}.regime={regime} is not a regime of task {task.name}: choose from "
                                f"{', '.join(registry.regimes_of(task))} (names joined by + combine), or null for a "
                                f"figure of another model, shown for context") from None
        metric = figure.get("metric")
        if metric is not None and metric not in metrics:
            raise UserError(f"{field}.metric={metric} is not a report metric of task {task.name}: choose one of "
                            f"{', '.join(metrics)} (or null: {metrics[0]})")
        value = figure.get("value")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{field}.value={value} must be a number, the figure in its metric's report unit: set e.g. "
                            f"{field}.value=1.25 (1.25 %)")
        source = figure.get("source")
        if not isinstance(source, str) or not source.strip():
            raise UserError(f"{field}.source is missing: cite where the figure is published, e.g. "
                            f"{field}.source='Srivastava et al. 2014, table 2'")
