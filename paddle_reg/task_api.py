"""What the trainer and the grid need from a task module (tasks/*.py)."""
from __future__ import annotations

from typing import Any, Iterator, Protocol

import numpy as np
import paddle
from omegaconf import DictConfig


class Task(Protocol):
    name: str
    regimes: tuple[str, ...]  # regimes this task's model can apply
    monitor: str  # validation metric that picks the best epoch and drives early stopping
    monitor_mode: str  # "min" or "max"

    def load_data(self, cfg: DictConfig, data_root) -> Any:
        """Read and validate the splits; raise UserError naming a missing or corrupt file."""

    def build_model(self, cfg: DictConfig) -> paddle.nn.Layer:
        """The model with the effective (regime-applied) regularization of ``cfg``."""

    def train_batches(self, data: Any, batch_size: int, rng: np.random.Generator) -> Iterator[tuple]:
        """Shuffled training batches of one epoch, ``(inputs, labels)`` as Paddle tensors."""

    def loss(self, logits: paddle.Tensor, labels: paddle.Tensor) -> paddle.Tensor:
        """Mean training loss of a batch."""

    def batch_stats(self, logits: paddle.Tensor, labels: paddle.Tensor) -> dict[str, paddle.Tensor]:
        """Per-batch sums the trainer accumulates into running train metrics (kept on device)."""

    def evaluate(self, model: paddle.nn.Layer, data: Any, split: str) -> dict[str, float]:
        """Metrics of ``model`` in eval mode on one split (``train``, ``val`` or ``test``)."""

    def epoch_metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        """Running train metrics of an epoch from the accumulated ``batch_stats`` sums."""

