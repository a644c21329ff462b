"""The task contract: the base class every task derives from, built in (tasks/*.py) or plugged in."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

if TYPE_CHECKING:  # annotations only: finding a task by name (Hydra's config search path) must not load Paddle
    import numpy as np
    import paddle
    from omegaconf import DictConfig


@dataclass(frozen=True)
class ReportMetric:
    """A metric the report tabulates per regime: ``(final[key] − final[minus]) × scale``, e.g. ``test_error`` × 100 in %."""

    key: str  # a key of final.json: "<split>_<metric>", the metrics of Task.evaluate prefixed with their split
    name: str  # short id used in summary.json and the claims, e.g. "test_error", "gap"
    label: str  # column heading
    unit: str = ""  # "%", "pp", "s", ...
    scale: float = 1.0
    better: str = "lower"  # "lower" | "higher" | "neither": which sign of a delta against `none` is an improvement
    minus: str | None = None  # a second final.json key subtracted from the first (a generalization gap)

    def value(self, final: dict) -> float:
        return (final[self.key] - (final[self.minus] if self.minus else 0.0)) * self.scale


@dataclass
class Evaluation:
    """One pass of a model over one split: its scalar metrics and, optionally, non-scalar details."""

    metrics: dict[str, float]
    details: dict[str, Any] = field(default_factory=dict)  # JSON-serializable, e.g. a confusion matrix


class Task(ABC):
    """What the grid, the trainer and the report need from a task; the one description of the task contract.

    A task is one instance of a subclass: a built-in module's ``TASK`` (``tasks/<name>.py``, listed in
    ``paddle_reg.task_registry``), or the object a package's entry point in the group ``paddle_reg.tasks`` names.
    The trainer calls ``train_batches``, ``loss`` and ``batch_stats`` per step, ``epoch_metrics`` per epoch and
    ``evaluate`` once per split and weights; ``paddle_reg.classification.ClassificationTask`` implements all of them
    but ``load_data`` and ``build_model`` for in-memory arrays and a cross-entropy loss.

    Its config, ``task/<name>.yaml`` (``# @package _global_``) plus ``task_profile/<name>/<profile>.yaml`` for each
    profile it supports, sets ``task.name``; ``data.val_size`` and ``data.train_size`` (null: all training samples);
    ``model.dropout.<site>``, the p of each dropout site (the ``dropout`` and ``both`` regimes keep them, the others
    zero them); ``optim`` (``paddle_reg.optim``'s keys: ``name``, ``lr``, ``weight_decay``, ...); ``reg.<name>``, the
    value of each extended regime it accepts; ``train.epochs``, ``train.batch_size``, ``train.patience`` (null: no early
    stopping) and ``train.min_delta``. A plug-in ships these in a ``configs/`` folder of its top-level package.
    ``configs/config.yaml`` adds ``train.steps`` (the trainer's) and ``data.resample_with_seed``: ``load_data`` draws
    its training subset with ``paddle_reg.runtime.train_subset_seed(cfg)``, so each seed can train on its own.
    """

    name: str  # the name of task=NAME, of its config task/<name>.yaml, and of its runs' folder
    # The regularizers of paddle_reg.registry this task supports: its regimes are none and any set of them (one
    # naming another is refused). Where each applies is the registry's: build_model applies the `model` ones.
    regularizers: tuple[str, ...]
    metrics: tuple[str, ...]  # the keys of evaluate()'s metrics: reg.early_stop.metric must be one
    monitor: str  # validation metric that picks the best epoch and drives early stopping
    monitor_mode: str  # "min" or "max"
    report_metrics: tuple[ReportMetric, ...]  # the report's regime × metric table, headline metric first
    # The (C, H, W) view of the inputs; with it the trainer applies the batch augmentations reg.mixup, reg.cutmix and
    # reg.cutout (classification losses only). None: the inputs are no images, or the task augments them itself.
    image_shape: tuple[int, int, int] | None = None

    @abstractmethod
    def load_data(self, cfg: DictConfig, data_root) -> Any:
        """Read and validate the splits; raise UserError naming a missing or corrupt file.

        Returns an object with ``train`` (what ``train_batches`` takes; ``len()`` is its sample count) and whatever
        ``evaluate`` reads for the splits ``train``, ``val`` and ``test``. ``cfg`` is the run's effective config
        (``paths`` included): the grid calls this before any run is recorded.
        """

    @abstractmethod
    def build_model(self, cfg: DictConfig, data: Any) -> paddle.nn.Layer:
        """The model with the effective (regime-applied) regularization of ``cfg``, sized for ``data`` (e.g. its vocabulary).

        ``cfg`` is the run's effective config, the one ``load_data`` got too.
        """

    @abstractmethod
    def train_batches(self, train: Any, batch_size: int, rng: np.random.Generator) -> Iterator[tuple]:
        """Shuffled training batches of one pass over ``data.train``, ``(inputs, labels)`` as Paddle tensors: the
        ``len(train) // batch_size`` full batches of an order drawn from ``rng`` (the trainer counts steps by them)."""

    @abstractmethod
    def loss(self, outputs: Any, labels: paddle.Tensor) -> paddle.Tensor:
        """Mean training loss of a batch from the model's training-mode outputs; each `loss` regularizer of the
        registry the task supports comes as a keyword argument."""

    @abstractmethod
    def batch_stats(self, outputs: Any, labels: paddle.Tensor) -> dict[str, paddle.Tensor]:
        """Per-batch sums the trainer accumulates into running train metrics (kept on device)."""

    @abstractmethod
    def epoch_metrics(self, sums: dict[str, float], count: int) -> dict[str, float]:
        """Running train metrics of an epoch from the accumulated ``batch_stats`` sums."""

    def check(self, cfg: DictConfig) -> None:
        """The task's own settings of an effective config (model sizes, choices): raise UserError on a bad one.

        Validation calls it for every arm before anything is loaded or trained; the default checks nothing.
        """

    @abstractmethod
    def evaluate(self, model: paddle.nn.Layer, data: Any, split: str) -> Evaluation:
        """One pass of ``model`` in eval mode over a split (``train``, ``val`` or ``test``), leaving its mode as it was.

        The trainer stores the metrics as ``<split>_<metric>`` (history.json, final.json) and the details of the best
        checkpoint's test pass as ``final.json["details"]["test_<key>"]``: a ``{"labels", "matrix"}`` entry becomes
        heatmaps in the report, a ``{"labels", <column>: [one number per label], ...}`` entry a table.
        """
