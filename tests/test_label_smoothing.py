"""Label smoothing (registry entry `label_smoothing`): the classification loss against (1 − ε)·onehot + ε/K."""
from __future__ import annotations

import json

import numpy as np
import paddle
import pytest
from conftest import TINY, compose_config, run_cli

from paddle_reg.errors import UserError
from paddle_reg.grid import effective_run_config
from paddle_reg.regularizers import StepRegularizers, mixup
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.mnist import MLP
from paddle_reg.validation import validate

REL = 1e-6  # Paddle smooths the labels in float32


def smoothed_cross_entropy(logits: np.ndarray, labels: np.ndarray, eps: float) -> float:
    """The formula: mean over samples of −Σ_k q_k·log softmax(z)_k with q = (1 − ε)·onehot + ε/K."""
    classes = logits.shape[1]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    soft = (1 - eps) * np.eye(classes)[labels] + eps / classes
    return float(-(soft * log_softmax).sum(axis=1).mean())


def batch(seed=0, count=16, classes=10):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(count, classes)).astype("float64") * 3, rng.integers(0, classes, count)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.3])
def test_the_loss_is_cross_entropy_against_the_smoothed_labels(eps):
    logits, labels = batch()
    loss = get_task("mnist").loss(paddle.to_tensor(logits), paddle.to_tensor(labels), label_smoothing=eps)
    assert float(loss) == pytest.approx(smoothed_cross_entropy(logits, labels, eps), rel=REL)


def test_smoothing_penalizes_a_confident_right_answer_and_the_default_is_none():
    logits, labels = np.array([[20.0, 0.0, 0.0]]), np.array([0])
    task = get_task("mnist")
    plain = float(task.loss(paddle.to_tensor(logits), paddle.to_tensor(labels)))
    assert plain == pytest.approx(smoothed_cross_entropy(logits, labels, 0.0), abs=1e-12) and plain < 1e-8
    assert float(task.loss(paddle.to_tensor(logits), paddle.to_tensor(labels), label_smoothing=0.1)) > 1.0


def test_the_trainer_hands_the_value_to_the_loss_mixed_batches_included():
    paddle.seed(0)
    model = MLP(784, [8], 10, 0.0, 0.0)
    logits, labels = (paddle.to_tensor(a) for a in batch(1))
    regs = StepRegularizers(model, {}, (1, 28, 28), loss_options={"label_smoothing": 0.2})
    loss = regs.data_loss(get_task("mnist").loss, logits, labels, None)
    assert float(loss) == pytest.approx(smoothed_cross_entropy(logits.numpy(), labels.numpy(), 0.2), rel=REL)
    _, targets = mixup(paddle.zeros([16, 1, 28, 28]), labels, 0.4, np.random.default_rng(0))
    mixed = regs.data_loss(get_task("mnist").loss, logits, labels, targets)
    expected = targets.lam * smoothed_cross_entropy(logits.numpy(), targets.a.numpy(), 0.2) \
        + (1 - targets.lam) * smoothed_cross_entropy(logits.numpy(), targets.b.numpy(), 0.2)
    assert float(mixed) == pytest.approx(expected, rel=REL)


def test_the_classification_tasks_take_it_and_a_run_records_it_only_when_on():
    run = effective_run_config(compose_config("task=news", "regime=dropout+label_smoothing",
                                              "reg.label_smoothing=0.2"), 0)
    assert run["regime"] == "dropout+label_smoothing" and run["reg"]["label_smoothing"] == 0.2
    assert "label_smoothing" not in effective_run_config(compose_config("task=mnist", "regime=dropout"), 0)["reg"]
    with pytest.raises(UserError, match="reg.label_smoothing=1.0 must be in \\[0, 1\\)"):
        validate(compose_config("reg.label_smoothing=1.0"), get_task("mnist"), ["none"])
    with pytest.raises(UserError, match="regime label_smoothing does not apply to task pcb"):
        validate(compose_config("task=pcb"), get_task("pcb"), ["label_smoothing"])


def test_a_smoothed_run_trains_on_its_own_loss(mnist_root, tmp_path):
    result = run_cli(TINY + ["regimes=[dropout,label_smoothing+dropout]", "seeds=[0]"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    loss = {p.parent.parent.name: json.loads(p.read_text())[0]["train_loss"]
            for p in (tmp_path / "runs" / "mnist").glob("*/seed0-*/history.json")}
    assert set(loss) == {"dropout", "dropout+label_smoothing"} and loss["dropout"] != loss["dropout+label_smoothing"]
