"""The unit-failure probe (claim E9): exact share of units zeroed, hooks removed afterwards."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from paddle_reg.tasks.mnist import MLP, MnistData, MnistTask

from paddle_reg.classification import ArraySplit
from paddle_reg.probes import UnitFailure, unit_failure


@pytest.fixture
def model_and_data():
    paddle.seed(0)
    model = MLP(784, [40, 20], 10, 0.0, 0.0)
    model.eval()
    rng = np.random.default_rng(0)
    split = ArraySplit(rng.random((50, 784), dtype=np.float32), rng.integers(0, 10, 50).astype(np.int64))
    return model, MnistData(split, split, split)


def test_probe_zeroes_the_exact_share_of_each_hidden_layer(model_and_data):
    model, data = model_and_data
    probe = UnitFailure(model, 0.25, np.random.default_rng(1))
    model(paddle.to_tensor(data.test.inputs[:2]))
    assert sorted(int((m.numpy() == 0).sum()) for m in probe.masks.values()) == [5, 10]  # 25 % of 20 and of 40
    probe.remove()


def test_no_failure_is_the_plain_accuracy_and_all_units_failing_is_a_constant_output(model_and_data):
    model, data = model_and_data
    task = MnistTask()
    clean = task.evaluate(model, data, "test").metrics["accuracy"]
    result = unit_failure(task, model, data, [0.0, 1.0], repeats=2, seed=0)
    assert result["accuracy"][0] == pytest.approx(clean)
    constant = int(np.argmax(model.net[-1].bias.numpy()))  # every hidden unit zeroed: logits are the last bias
    assert result["accuracy"][1] == pytest.approx(np.mean(data.test.labels == constant))
    assert task.evaluate(model, data, "test").metrics["accuracy"] == pytest.approx(clean)  # hooks are gone
