"""scikit-learn's 8×8 handwritten digits (1,797 images, shipped with scikit-learn) and an MLP, as paddle_reg task ``digits``.

The whole plug-in: this module's ``TASK`` (named by the entry point in pyproject.toml) and the configs in
``configs/`` (``task/digits.yaml``, ``task_profile/digits/<profile>.yaml``). ``ClassificationTask`` brings
batching, the cross-entropy loss, the metrics and the report's columns; a task writes ``load_data`` and
``build_model``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig
from paddle import nn

from paddle_reg.classification import ArraySplit, ClassificationTask, stratified_subset
from paddle_reg.errors import UserError
from paddle_reg.regularizers import Dropout
from paddle_reg.runtime import train_subset_seed


@dataclass
class DigitsData:
    train: ArraySplit
    val: ArraySplit
    test: ArraySplit


class DigitsTask(ClassificationTask):
    name = "digits"
    regularizers = ClassificationTask.regularizers + ("dropout",)  # and the shared ones: weight_decay, l1, ...

    def load_data(self, cfg: DictConfig, data_root) -> DigitsData:
        from sklearn.datasets import load_digits  # the data ships with scikit-learn: data_root is not needed

        digits = load_digits()
        inputs, labels = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
        d = cfg.data
        if d.test_size + d.val_size >= len(labels):
            raise UserError(f"data.test_size={d.test_size} and data.val_size={d.val_size} leave none of the "
                            f"{len(labels)} digits for training: lower them")
        test = stratified_subset(labels, d.test_size, d.split_seed)
        rest = np.setdiff1d(np.arange(len(labels)), test)
        val = rest[stratified_subset(labels[rest], d.val_size, d.split_seed)]
        train = np.setdiff1d(rest, val)
        if d.train_size is not None:
            train = train[stratified_subset(labels[train], d.train_size, train_subset_seed(cfg))]
        pick = lambda index: ArraySplit(inputs[index], labels[index])  # noqa: E731
        return DigitsData(pick(train), pick(val), pick(test))

    def build_model(self, cfg: DictConfig, data: DigitsData) -> nn.Layer:
        layers, width = [], data.train.inputs.shape[1]
        for size in cfg.model.hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), Dropout(cfg.model.dropout.hidden)]
            width = size
        return nn.Sequential(*layers, nn.Linear(width, 10))


TASK = DigitsTask()
