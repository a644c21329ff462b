"""Batching, loss and metrics shared by the classification tasks (MNIST, news titles)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import paddle
import paddle.nn.functional as F

from paddle_reg.task_api import Evaluation, ReportMetric, Task

EVAL_BATCH_SIZE = 1000


@dataclass
class ArraySplit:
    inputs: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted indices of ``size`` samples whose class proportions match ``labels``."""
    if size >= len(labels):
        return np.arange(len(labels))
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(labels, return_counts=True)
    quota = np.floor(counts * size / len(labels)).astype(int)
    # hand the rounding remainder to the classes with the largest fractional parts
    remainder = size - quota.sum()
    quota[np.argsort(-(counts * size / len(labels) - quota), kind="stable")[:remainder]] += 1
    picked = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))


class ClassificationTask(Task):
    """Cross-entropy classification over in-memory ``ArraySplit`` data; the best epoch has the lowest val error."""

    # the registry's regularizers any classification model takes (a task adds those its model applies)
    regularizers = ("weight_decay", "l1", "maxnorm", "early_stop", "label_smoothing")
    metrics = ("loss", "accuracy", "error")  # the keys of evaluate()
    monitor = "error"
    monitor_mode = "min"
    report_metrics = (
        ReportMetric("test_error", "test_error", "test error", "%", 100),
        ReportMetric("test_accuracy", "test_accuracy", "test accuracy", "%", 100, better="higher"),
        ReportMetric("train_error", "train_error", "train error", "%", 100),
        ReportMetric("test_error", "gap", "gap (test − train error)", "pp", 100, minus="train_error"),
        ReportMetric("best_epoch", "best_epoch", "best epoch", better="lower"),
    )

    def batch_inputs(self, inputs: np.ndarray) -> paddle.Tensor:
        """One batch's inputs as a tensor (the news task trims the padding columns first)."""
        return paddle.to_tensor(inputs)

    def train_batches(self, split: ArraySplit, batch_size: int, rng: np.random.Generator):
        order = rng.permutation(len(split))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            index = order[start : start + batch_size]
            yield self.batch_inputs(split.inputs[index]), paddle.to_tensor(split.labels[index])

    def loss(self, logits, labels, label_smoothing: float = 0.0):
        """Mean cross-entropy; with ε = ``label_smoothing`` against the soft labels (1 − ε)·onehot + ε/K."""
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)

    def batch_stats(self, logits, labels):
        return {"correct": (logits.argmax(axis=-1) == labels).astype("int64").sum()}

    def epoch_metrics(self, sums, count):
        return {"accuracy": sums["correct"] / count, "error": 1.0 - sums["correct"] / count}

    @paddle.no_grad()
    def evaluate(self, model, data, split):
        part: ArraySplit = getattr(data, split)
        was_training = model.training
        model.eval()
        loss_sum, correct = 0.0, 0
        for start in range(0, len(part), EVAL_BATCH_SIZE):
            inputs = paddle.to_tensor(part.inputs[start : start + EVAL_BATCH_SIZE])
            labels = paddle.to_tensor(part.labels[start : start + EVAL_BATCH_SIZE])
            logits = model(inputs)
            loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
            correct += int((logits.argmax(axis=-1) == labels).astype("int64").sum())
        if was_training:
            model.train()
        return Evaluation({"loss": loss_sum / len(part), "accuracy": correct / len(part),
                           "error": 1.0 - correct / len(part)})
