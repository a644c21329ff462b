"""The MNIST reader, split and model on tiny generated files."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from conftest import learnable_digits, write_idx
from paddle_reg.classification import stratified_subset
from paddle_reg.errors import UserError
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.mnist import IMAGE_MAGIC, LABEL_MAGIC, MLP, read_idx


def test_idx_round_trip(tmp_path):
    images, labels = learnable_digits(50, seed=0)
    write_idx(tmp_path / "i.gz", images, IMAGE_MAGIC)
    write_idx(tmp_path / "l.gz", labels, LABEL_MAGIC)
    assert np.array_equal(read_idx(tmp_path / "i.gz", IMAGE_MAGIC), images)
    assert np.array_equal(read_idx(tmp_path / "l.gz", LABEL_MAGIC), labels)


def test_labels_file_read_as_images_is_refused(tmp_path):
    write_idx(tmp_path / "l.gz", np.zeros(5, np.uint8), LABEL_MAGIC)
    with pytest.raises(UserError, match="magic number is not 2051"):
        read_idx(tmp_path / "l.gz", IMAGE_MAGIC)


def test_stratified_subset_keeps_class_proportions():
    labels = np.repeat(np.arange(4), [400, 300, 200, 100])
    picked = stratified_subset(labels, 100, seed=0)
    assert len(picked) == len(set(picked)) == 100
    assert np.bincount(labels[picked]).tolist() == [40, 30, 20, 10]
    assert np.array_equal(picked, stratified_subset(labels, 100, seed=0))


def test_splits_are_disjoint_and_sized(mnist_root):
    cfg = OmegaConf.create({"data": {"val_size": 200, "train_size": 500, "split_seed": 0}})
    data = get_task("mnist").load_data(cfg, mnist_root)
    assert (len(data.train), len(data.val), len(data.test)) == (500, 200, 300)
    assert data.train.inputs.dtype == np.float32 and data.train.inputs.max() <= 1.0
    train_rows = {row.tobytes() for row in data.train.inputs}
    assert not any(row.tobytes() in train_rows for row in data.val.inputs)


def test_mlp_puts_dropout_after_relu_in_hidden_layers_only():
    model = MLP(784, [64, 32], 10, input_p=0.2, hidden_p=0.5)
    kinds = [type(layer).__name__ for layer in model.net]
    assert kinds == ["Dropout", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    assert [type(layer).__name__ for layer in MLP(784, [64], 10, 0.0, 0.0).net] == ["Linear", "ReLU", "Linear"]


def test_mlp_modes_train_is_stochastic_eval_is_deterministic():
    paddle.seed(0)
    model = MLP(784, [64], 10, input_p=0.0, hidden_p=0.5)
    x = paddle.rand([8, 784])
    model.train()
    assert not np.allclose(model(x).numpy(), model(x).numpy())
    model.eval()
    assert model(x).shape == [8, 10]
    assert np.array_equal(model(x).numpy(), model(x).numpy())
