"""Checks of one config field each; a failure is one UserError naming the field and a value that works."""
from __future__ import annotations

import re

from omegaconf import DictConfig, ListConfig

from paddle_reg.errors import UserError


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_int(field: str, value, example: int) -> None:
    if not is_int(value) or value < 1:
        raise UserError(f"{field}={value} must be a positive integer: set e.g. {field}={example}")


def number(field: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{field}={value} must be a number")
    return float(value)


def probability(field: str, value, example: float = 0.1) -> None:
    if not 0.0 <= number(field, value) < 1.0:
        raise UserError(f"{field}={value} must be in [0, 1): set e.g. {field}={example}")


def positive(field: str, value, example: float) -> None:
    if number(field, value) <= 0:
        raise UserError(f"{field}={value} must be > 0: set e.g. {field}={example}")


def non_negative(field: str, value, example: float) -> None:
    if number(field, value) < 0:
        raise UserError(f"{field}={value} must be >= 0: set e.g. {field}={example}")


def block(field: str, value, keys: tuple[str, ...], example: str) -> None:
    if not isinstance(value, (DictConfig, dict)) or not all(k in value for k in keys):
        raise UserError(f"{field}={value} must be a block with {', '.join(keys)}: set e.g. {field}={example}")


def regexes(field: str, value) -> None:
    for pattern in value or ():
        try:
            re.compile(pattern)
        except (re.error, TypeError) as exc:
            raise UserError(f"{field} holds {pattern!r}, not a regular expression ({exc})") from None


def positive_ints(field: str, value, example: str) -> None:
    """A list of positive integers (layer sizes)."""
    if not isinstance(value, (list, tuple, ListConfig)) or not all(is_int(v) and v >= 1 for v in value):
        raise UserError(f"{field}={value} must be a list of positive integers: set e.g. {field}={example}")
