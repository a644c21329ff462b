"""Checks of user-set config values; each failure is one UserError naming the field and a valid value."""
from __future__ import annotations

from omegaconf import DictConfig, OmegaConf

from paddle_reg.errors import UserError
from paddle_reg.optim import DECAY_MODES, OPTIMIZERS, SCHEDULES

DEVICES = ("auto", "cpu", "gpu")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(field: str, value, example: int) -> None:
    if not _is_int(value) or value < 1:
        raise UserError(f"{field}={value} must be a positive integer: set e.g. {field}={example}")


def _number(field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{field}={value} must be a number")
    return float(value)


def validate(cfg: DictConfig, task, regimes: list[str]) -> None:
    unknown = [r for r in regimes if r not in task.regimes]
    if unknown or not regimes:
        raise UserError(f"regime {', '.join(map(str, unknown)) or '(none given)'} does not apply to task {task.name}: "
                        f"choose from {', '.join(task.regimes)} (regimes=[...] or regime=NAME)")
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
    if _number("optim.weight_decay", cfg.optim.weight_decay) < 0:
        raise UserError(f"optim.weight_decay={cfg.optim.weight_decay} must be >= 0: set e.g. optim.weight_decay=1e-4")
    if _number("optim.lr", cfg.optim.lr) <= 0:
        raise UserError(f"optim.lr={cfg.optim.lr} must be > 0: set e.g. optim.lr=1e-3")
    for field, choices in (("device", DEVICES), ("optim.name", OPTIMIZERS), ("optim.decay_mode", DECAY_MODES),
                           ("optim.schedule", SCHEDULES)):
        value = OmegaConf.select(cfg, field)
        if value not in choices:
            raise UserError(f"{field}={value} is unknown: choose one of {', '.join(choices)}")
