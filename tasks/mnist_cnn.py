"""MNIST with a small CNN whose blocks take a normalization layer (bn, gn, ln, in, none): claims E7 and E13."""
from __future__ import annotations

from omegaconf import DictConfig
from paddle import nn

from paddle_reg.checks import positive_int, positive_ints
from paddle_reg.classification import ClassificationTask
from paddle_reg.errors import UserError
from paddle_reg.regularizers import NORMS, Dropout, norm_layer
from paddle_reg.tasks.mnist import MnistTask

NORM_POSITIONS = ("after_norm", "before_norm")  # where a block's Dropout sits relative to its norm


class ConvNet(nn.Layer):
    """The flat 784 pixels as a [N, 1, 28, 28] image, average-pooled by ``input_pool`` (2: to 14², a quarter of the
    convolutions' cost), then per block conv 3×3 → norm → ReLU → Dropout (``after_norm``) or conv 3×3 → Dropout →
    norm → ReLU (``before_norm``), a 2×2 max-pool after every block but the last, then a Linear on the flattened maps.

    Inverted dropout commutes with ReLU, so ``after_norm`` is also conv → norm → Dropout → ReLU: the norm's output
    dropped ("BN → Dropout"); ``before_norm`` hands the norm dropped activations ("Dropout → BN", whose batch
    statistics then differ between training and inference: Li et al. 2019's variance shift).
    """

    def __init__(self, channels: list[int], classes: int, norm: str, dropout_p: float, position: str = "after_norm",
                 groups: int = 8, input_pool: int = 1):
        super().__init__()
        self.input_pool = nn.AvgPool2D(input_pool) if input_pool > 1 else nn.Identity()
        layers: list[nn.Layer] = []
        width, side = 1, 28 // input_pool
        for index, size in enumerate(channels):
            conv = nn.Conv2D(width, size, 3, padding=1)
            normalize = norm_layer(norm, size, spatial_dims=2, groups=groups)
            noise = [Dropout(dropout_p)] if dropout_p > 0 else []
            layers += [conv, normalize, nn.ReLU(), *noise] if position == "after_norm" else \
                [conv, *noise, normalize, nn.ReLU()]
            if index < len(channels) - 1:
                layers.append(nn.MaxPool2D(2))
                side //= 2
            width = size
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(width * side * side, classes)

    def forward(self, x):
        return self.classifier(self.features(self.input_pool(x.reshape([-1, 1, 28, 28]))).flatten(1))


class MnistCnnTask(MnistTask):
    name = "mnist_cnn"
    regularizers = ClassificationTask.regularizers + ("dropout", "mixup", "cutmix", "cutout")

    def check(self, cfg: DictConfig) -> None:
        positive_ints("model.channels", cfg.model.channels, "[16,32,32]")
        if cfg.model.norm not in NORMS:
            raise UserError(f"model.norm={cfg.model.norm} is unknown: choose one of {', '.join(NORMS)}")
        positive_int("model.norm_groups", cfg.model.norm_groups, 8)
        positive_int("model.input_pool", cfg.model.input_pool, 2)
        if cfg.model.dropout_position not in NORM_POSITIONS:
            raise UserError(f"model.dropout_position={cfg.model.dropout_position} is unknown for the CNN: choose one "
                            f"of {', '.join(NORM_POSITIONS)}")

    def build_model(self, cfg: DictConfig, data) -> ConvNet:
        return ConvNet(list(cfg.model.channels), 10, cfg.model.norm, cfg.model.dropout.conv,
                       cfg.model.dropout_position, cfg.model.norm_groups, cfg.model.input_pool)


TASK = MnistCnnTask()
