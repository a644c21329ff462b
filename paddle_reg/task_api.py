"""What the trainer and the grid need from a task module (tasks/*.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

import numpy as np
import paddle
from omegaconf import DictConfig


@dataclass(frozen=True)
class ReportMetric:
    """A metric the report tabulates per regime: ``(final[key] − final[minus]) × scale``, e.g. ``test_error`` × 100 in %."""

    key: str  # a key of final.json: "<split>_<metric>" as returned by Task.evaluate
    name: str  # short id used in summary.json and the claims, e.g. "test_error", "gap"
    label: str  # column heading
    unit: str = ""  # "%", "pp", "s", ...
    scale: float = 1.0
    better: str = "lower"  # "lower" | "higher" | "neither": which sign of a delta against `none` is an improvement
    minus: str | None = None  # a second final.json key subtracted from the first (a generalization gap)

    def value(self, final: dict) -> float:
        return (final[self.key] - (final[self.minus] if self.minus else 0.0)) * self.scale


def weights_fingerprint(model: paddle.nn.Layer) -> tuple:
    """A cheap identity of the current weights (sums of every 16th parameter)."""
    params = model.parameters()
    return tuple(round(float(p.sum()), 6) for p in params[:: max(1, len(params) // 16)])


class LatestPerSplit:
    """The latest result of a task's pass over each split, reused while the weights are unchanged (the trainer
    evaluates the best checkpoint on test, then asks for its details)."""

    def __init__(self):
        self._latest: dict[tuple, tuple] = {}  # (data id, split) → (weights fingerprint, result)

    def get(self, model: paddle.nn.Layer, data: Any, split: str, compute: Callable[[], Any]) -> Any:
        weights, key = weights_fingerprint(model), (id(data), split)
        if self._latest.get(key, (None,))[0] != weights:
            self._latest[key] = (weights, compute())
        return self._latest[key][1]


class Task(Protocol):
    name: str
    # The regularizers of paddle_reg.registry this task supports: its regimes are none and any set of them (one
    # naming another is refused). Where each applies is the registry's: build_model applies the `model` ones.
    regularizers: tuple[str, ...]
    metrics: tuple[str, ...]  # the keys of evaluate()'s result: reg.early_stop.metric must be one
    monitor: str  # validation metric that picks the best epoch and drives early stopping
    monitor_mode: str  # "min" or "max"
    report_metrics: tuple[ReportMetric, ...]  # the report's regime × metric table, headline metric first

    def load_data(self, cfg: DictConfig, data_root) -> Any:
        """Read and validate the splits; raise UserError naming a missing or corrupt file.

        ``cfg`` is the run's effective config (``paths`` included): the grid calls this before any run is recorded.
        """

    def build_model(self, cfg: DictConfig, data: Any) -> paddle.nn.Layer:
        """The model with the effective (regime-applied) regularization of ``cfg``, sized for ``data`` (e.g. its vocabulary).

        ``cfg`` is the run's effective config, the one ``load_data`` got too.
        """

    def train_batches(self, data: Any, batch_size: int, rng: np.random.Generator) -> Iterator[tuple]:
        """Shuffled training batches of one epoch, ``(inputs, labels)`` as Paddle tensors."""

    def loss(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        """Mean training loss of a batch; each `loss` regularizer of the registry it supports is a keyword argument."""

    def batch_stats(self, logits: paddle.Tensor, labels: paddle.Tensor) -> dict[str, paddle.Tensor]:
        """Per-batch sums the trainer accumulates into running train metrics (kept on device)."""

    def evaluate(self, model: paddle.nn.Layer, data: Any, split: str) -> dict[str, float]:
        """Metrics of ``model`` in eval mode on one split (``train``, ``val`` or ``test``)."""

    def epoch_metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        """Running train metrics of an epoch from the accumulated ``batch_stats`` sums."""

    # Optional: ``image_shape: tuple[int, int, int]``, the (C, H, W) view of the inputs; with it the trainer applies
    # the batch augmentations reg.mixup, reg.cutmix and reg.cutout (classification losses only).
    # Optional: ``check(cfg)``, the task's own settings of an effective config (model sizes, choices), raising
    # UserError; validation calls it for every arm before anything is loaded or trained.
    # Optional: ``details(model, data) -> dict`` of non-scalar results of the best checkpoint (a confusion
    # matrix, per-class AP), JSON-serializable; the trainer stores it as final.json["details"].

