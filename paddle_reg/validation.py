"""Checks of user-set config values; each failure is one UserError naming the field and a valid value."""
from __future__ import annotations

import re

from omegaconf import DictConfig, OmegaConf

from paddle_reg.errors import UserError
from paddle_reg.optim import DECAY_MODES, OPTIMIZERS, SCHEDULES, with_defaults
from paddle_reg.regularizers.layers import DROPOUT_POSITIONS

DEVICES = ("auto", "cpu", "gpu")
# the extended regularizers, reg.<name> in a task config, each switched on by the regime of its name; an example value
EXTENDED = {"droppath": "0.1", "dropconnect": "0.5", "gaussian": "0.5", "spatial": "0.2",
            "dropblock": "{p:0.1,block_size:5}", "l1": "1e-5", "maxnorm": "3.0", "mixup": "{alpha:0.2}",
            "cutmix": "{alpha:1.0}", "cutout": "{size:8}", "early_stop": "{patience:10,min_delta:0.0}"}


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(field: str, value, example: int) -> None:
    if not _is_int(value) or value < 1:
        raise UserError(f"{field}={value} must be a positive integer: set e.g. {field}={example}")


def _number(field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{field}={value} must be a number")
    return float(value)


def _probability(field: str, value, example: float = 0.1) -> None:
    if not 0.0 <= _number(field, value) < 1.0:
        raise UserError(f"{field}={value} must be in [0, 1): set e.g. {field}={example}")


def _positive(field: str, value, example: float) -> None:
    if _number(field, value) <= 0:
        raise UserError(f"{field}={value} must be > 0: set e.g. {field}={example}")


def _block(field: str, value, keys: tuple[str, ...], example: str) -> None:
    if not isinstance(value, DictConfig) or not all(k in value for k in keys):
        raise UserError(f"{field}={value} must be a block with {', '.join(keys)}: set e.g. {field}={example}")


def _regexes(field: str, value) -> None:
    for pattern in value or ():
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise UserError(f"{field} holds {pattern!r}, not a regular expression ({exc})") from None


def validate_reg(name: str, value) -> None:
    """One ``reg.<name>`` value of the task config (set, i.e. not null)."""
    field = f"reg.{name}"
    if name in ("droppath", "dropconnect", "gaussian", "spatial"):
        _probability(field, value)
    elif name in ("l1", "maxnorm"):
        _positive(field, value, 1e-5 if name == "l1" else 3.0)
    elif name in ("mixup", "cutmix"):
        _block(field, value, ("alpha",), "{alpha:0.2}")
        _positive(f"{field}.alpha", value.alpha, 0.2)
    elif name == "cutout":
        _block(field, value, ("size",), "{size:8}")
        _positive_int(f"{field}.size", value.size, 8)
    elif name == "dropblock":
        _block(field, value, ("p", "block_size"), "{p:0.1,block_size:5}")
        _probability(f"{field}.p", value.p)
        _positive_int(f"{field}.block_size", value.block_size, 5)
    elif name == "early_stop":
        _block(field, value, ("patience",), "{patience:10,min_delta:0.0}")
        _positive_int(f"{field}.patience", value.patience, 10)
        if _number(f"{field}.min_delta", value.get("min_delta", 0.0)) < 0:
            raise UserError(f"{field}.min_delta={value.min_delta} must be >= 0: set e.g. {field}.min_delta=0.0")
        if value.get("mode") not in (None, "min", "max"):
            raise UserError(f"{field}.mode={value.mode} is unknown: choose one of min, max (or null: the task's)")
        if value.get("metric") is not None and value.get("mode") is None:
            raise UserError(f"{field}.metric={value.metric} needs its direction: set {field}.mode=min or max")
    else:
        raise UserError(f"{field} is unknown: choose from {', '.join(EXTENDED)}")


def validate_optim(optim: DictConfig) -> None:
    """The ``optim`` section; keys it leaves out take the factory's defaults."""
    if "schedule" in optim:
        _block("optim.schedule", optim.schedule, ("name",), "{name:cosine}")
    optim = with_defaults(optim)
    if _number("optim.weight_decay", optim.weight_decay) < 0:
        raise UserError(f"optim.weight_decay={optim.weight_decay} must be >= 0: set e.g. optim.weight_decay=1e-4")
    _positive("optim.lr", optim.lr, 1e-3)
    _probability("optim.momentum", optim.momentum, 0.9)
    for key, choices in (("name", OPTIMIZERS), ("decay_mode", DECAY_MODES), ("schedule.name", SCHEDULES)):
        value = OmegaConf.select(optim, key)
        if value not in choices:
            raise UserError(f"optim.{key}={value} is unknown: choose one of {', '.join(choices)}")
    if optim.name == "adamw" and optim.decay_mode != "decoupled":
        raise UserError("optim.name=adamw decays decoupled by definition: set optim.decay_mode=decoupled, "
                        "or optim.name=adam for coupled L2")
    if optim.clip_norm is not None:
        _positive("optim.clip_norm", optim.clip_norm, 5.0)
    _regexes("optim.decay_only", optim.decay_only)
    _regexes("optim.no_decay", optim.no_decay)
    for i, group in enumerate(optim.groups):
        field = f"optim.groups[{i}]"
        _block(field, group, ("match",), "{match:'^embedding',lr_mult:1.0,weight_decay:5e-4}")
        _regexes(f"{field}.match", [group.match])
        _positive(f"{field}.lr_mult", group.get("lr_mult", 1.0), 1.0)
        if group.get("weight_decay") is not None and _number(f"{field}.weight_decay", group.weight_decay) < 0:
            raise UserError(f"{field}.weight_decay={group.weight_decay} must be >= 0 (or null: optim.weight_decay)")
    schedule = optim.schedule
    if not _is_int(schedule.warmup_steps) or schedule.warmup_steps < 0:
        raise UserError(f"optim.schedule.warmup_steps={schedule.warmup_steps} must be an integer >= 0: set e.g. "
                        "optim.schedule.warmup_steps=500")
    if not 0.0 <= _number("optim.schedule.warmup_start", schedule.warmup_start) <= 1.0:
        raise UserError(f"optim.schedule.warmup_start={schedule.warmup_start} must be in [0, 1] (a fraction of optim.lr)")
    if not all(_is_int(m) and m >= 1 for m in schedule.milestones):
        raise UserError(f"optim.schedule.milestones={list(schedule.milestones)} must be epochs >= 1: set e.g. "
                        "optim.schedule.milestones=[30,60]")
    _positive("optim.schedule.gamma", schedule.gamma, 0.1)


def validate(cfg: DictConfig, task, regimes: list[str]) -> None:
    unknown = [r for r in regimes if r not in task.regimes]
    if unknown or not regimes:
        raise UserError(f"regime {', '.join(map(str, unknown)) or '(none given)'} does not apply to task {task.name}: "
                        f"choose from {', '.join(task.regimes)} (regimes=[...] or regime=NAME)")
    reg = cfg.get("reg") or {}
    for name, value in reg.items():
        if value is not None:
            validate_reg(name, value)
    for name in regimes:
        if name in EXTENDED and reg.get(name) is None:
            raise UserError(f"regime {name} needs a value for reg.{name}, which the task config leaves null: "
                            f"set e.g. reg.{name}={EXTENDED[name]}")
    if not cfg.seeds or not all(_is_int(s) and s >= 0 for s in cfg.seeds):
        raise UserError(f"seeds={list(cfg.seeds)} must be a non-empty list of integers >= 0: set e.g. seeds=[0,1,2]")
    for field, example in (("train.epochs", 5), ("train.batch_size", 128), ("jobs", 2), ("threads", 1),
                           ("data.val_size", 5000)):
        _positive_int(field, OmegaConf.select(cfg, field), example)
    if cfg.data.train_size is not None:
        _positive_int("data.train_size", cfg.data.train_size, 5000)
    if cfg.train.patience is not None:
        _positive_int("train.patience", cfg.train.patience, 10)
    for name, p in cfg.model.dropout.items():
        if not 0.0 <= _number(f"model.dropout.{name}", p) < 1.0:
            raise UserError(f"model.dropout.{name}={p} must be in [0, 1): set e.g. model.dropout.{name}=0.5")
    position = OmegaConf.select(cfg, "model.dropout_position")
    if position is not None and position not in DROPOUT_POSITIONS:
        raise UserError(f"model.dropout_position={position} is unknown: choose one of {', '.join(DROPOUT_POSITIONS)}")
    validate_optim(cfg.optim)
    if cfg.device not in DEVICES:
        raise UserError(f"device={cfg.device} is unknown: choose one of {', '.join(DEVICES)}")
    if not isinstance(cfg.flush_denormal, bool):
        raise UserError(f"flush_denormal={cfg.flush_denormal} must be true or false")
