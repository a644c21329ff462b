"""MNIST with a deep, narrow residual MLP whose blocks take DropPath (stochastic depth): claim E14."""
from __future__ import annotations

import paddle.nn.functional as F
from omegaconf import DictConfig
from paddle import nn

from paddle_reg.checks import positive_int
from paddle_reg.classification import ClassificationTask
from paddle_reg.errors import UserError
from paddle_reg.regularizers import NORMS, Dropout, DropPath, drop_path_rates, norm_layer
from paddle_reg.tasks.mnist import MnistTask


class ResidualBlock(nn.Layer):
    """x + DropPath(p)(fc2(Dropout(ReLU(fc1(norm(x)))))): a pre-norm residual block whose branch drops per sample."""

    def __init__(self, width: int, norm: str, dropout_p: float, drop_path_p: float):
        super().__init__()
        self.norm = norm_layer(norm, width, spatial_dims=0)
        self.fc1, self.fc2 = nn.Linear(width, width), nn.Linear(width, width)
        self.dropout = Dropout(dropout_p) if dropout_p > 0 else nn.Identity()
        self.drop_path = DropPath(drop_path_p)

    def forward(self, x):
        return x + self.drop_path(self.fc2(self.dropout(F.relu(self.fc1(self.norm(x))))))


class ResidualMLP(nn.Layer):
    """Linear stem 784 → width, ``depth`` residual blocks (block l drops its branch with ``drop_path[l − 1]``), then
    norm → ReLU → Linear."""

    def __init__(self, width: int, depth: int, classes: int, norm: str, dropout_p: float, drop_path: list[float]):
        super().__init__()
        self.stem = nn.Linear(784, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width, norm, dropout_p, p) for p in drop_path))
        self.norm = norm_layer(norm, width, spatial_dims=0)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x):
        return self.classifier(F.relu(self.norm(self.blocks(self.stem(x)))))


class MnistResnetTask(MnistTask):
    name = "mnist_resnet"
    regularizers = ClassificationTask.regularizers + ("dropout", "mixup", "cutmix", "cutout", "droppath")

    def check(self, cfg: DictConfig) -> None:
        positive_int("model.width", cfg.model.width, 64)
        positive_int("model.depth", cfg.model.depth, 24)
        if cfg.model.norm not in NORMS or cfg.model.norm == "in":
            choices = ", ".join(n for n in NORMS if n != "in")
            raise UserError(f"model.norm={cfg.model.norm} is unknown for the residual MLP: choose one of {choices}")

    def build_model(self, cfg: DictConfig, data) -> ResidualMLP:
        droppath = (cfg.get("reg") or {}).get("droppath")
        rates = drop_path_rates(cfg.model.depth, droppath.p, droppath.schedule) if droppath else [0.0] * cfg.model.depth
        return ResidualMLP(cfg.model.width, cfg.model.depth, 10, cfg.model.norm, cfg.model.dropout.branch, rates)


TASK = MnistResnetTask()
