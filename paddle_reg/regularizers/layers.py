"""Stochastic regularizer layers: each a pure function plus a thin Layer, the identity in eval mode.

Every mask is inverted (kept values scaled by 1/keep), so the expectation of the output equals the input.
"""
from __future__ import annotations

import math

import paddle
import paddle.nn.functional as F
from paddle import nn

from paddle_reg.regularizers.noise import bernoulli, gaussian_noise, on_cpu, scaled_keep_mask

DROPOUT_POSITIONS = ("after_relu", "before_relu")  # where a dropout site sits relative to its activation
DROP_PATH_SCHEDULES = ("constant", "linear")  # how DropPath's rate grows with a block's depth
CHANNEL_AXES = {"NCL": [0, 1], "NLC": [0, 2], "NCHW": [0, 1], "NHWC": [0, 3]}


def dropout(x, p: float, training: bool = True):
    """x·m/(1−p), m ~ Bernoulli(1−p) per element: Paddle's ``F.dropout`` with the mask drawn by NumPy on the CPU."""
    if not training or p == 0.0:
        return x
    return x * scaled_keep_mask(x.shape, 1.0 - p, x.dtype) if on_cpu(x) else F.dropout(x, p, training=True)


def spatial_dropout(x, p: float, training: bool = True, data_format: str = "NCHW"):
    """x·m/(1−p) with one m ~ Bernoulli(1−p) per (sample, channel), shared over all positions."""
    if not training or p == 0.0:
        return x
    return F.dropout(x, p, axis=CHANNEL_AXES[data_format], training=True)


def gaussian_dropout(x, p: float, training: bool = True):
    """x·n, n ~ N(1, p/(1−p)) per element: dropout's mean and variance with continuous noise."""
    if not training or p == 0.0:
        return x
    std = math.sqrt(p / (1.0 - p))
    return x * (gaussian_noise(x.shape, std, x.dtype) if on_cpu(x) else paddle.normal(1.0, std, x.shape))


def drop_connect(weight, p: float, training: bool = True):
    """W·M/(1−p), M ~ Bernoulli(1−p) per weight, one mask per call (per batch)."""
    return dropout(weight, p, training)


def drop_path(x, p: float, training: bool = True):
    """x·m/(1−p) with one m ~ Bernoulli(1−p) per sample: a residual branch kept or dropped whole."""
    if not training or p == 0.0:
        return x
    return F.dropout(x, p, axis=0, training=True)


def drop_path_rates(depth: int, p_last: float, schedule: str = "linear") -> list[float]:
    """Stochastic-depth rates of blocks l = 1..L: linear p_l = (l/L)·p_L (Huang et al. 2016), or constant p_l = p_L."""
    if schedule not in DROP_PATH_SCHEDULES:
        raise ValueError(f"unknown DropPath schedule '{schedule}': choose one of {', '.join(DROP_PATH_SCHEDULES)}")
    return [p_last * (layer / depth if schedule == "linear" else 1.0) for layer in range(1, depth + 1)]


def drop_block(x, p: float, block_size: int, training: bool = True):
    """Zero block_size² squares of an [N, C, H, W] map, seeds ~ Bernoulli(γ) so a fraction p drops; rescale by kept share.

    γ = p/bs² · HW/((H−bs+1)(W−bs+1)) (Ghiasi et al. 2018); seeds are drawn over the whole map (timm's fast form).
    """
    if not training or p == 0.0:
        return x
    _, _, height, width = x.shape
    size = min(block_size, height, width)
    gamma = p * height * width / size**2 / ((height - size + 1) * (width - size + 1))
    seeds = bernoulli(x.shape, gamma, x.dtype) if on_cpu(x) else (paddle.rand(x.shape, dtype=x.dtype) < gamma).astype(x.dtype)
    # a size × size max filter as two 1-D passes; even sizes pad one extra row/column, cut off after
    rows = F.max_pool2d(seeds, kernel_size=(size, 1), stride=1, padding=(size // 2, 0))[:, :, :height]
    blocks = F.max_pool2d(rows, kernel_size=(1, size), stride=1, padding=(0, size // 2))[:, :, :, :width]
    keep = 1.0 - blocks
    # per-sample float32 counts are exact below 2**24 elements; their total is summed in float64
    kept = keep.sum(axis=[1, 2, 3]).astype("float64").sum().clip(min=1.0)
    return x * (keep * (keep.numel().astype("float64") / kept).astype(x.dtype))


class _Stochastic(nn.Layer):
    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p={p} must be in [0, 1)")
        self.p = p

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Dropout(_Stochastic):
    """Inverted dropout per element; the identity in eval mode."""

    def forward(self, x):
        return dropout(x, self.p, self.training)


class SpatialDropout1D(_Stochastic):
    """Drops whole channels of [N, C, L] (``NCL``) or [N, L, C] (``NLC``, e.g. embedded tokens) sequences."""

    def __init__(self, p: float, data_format: str = "NCL"):
        super().__init__(p)
        self.data_format = data_format

    def forward(self, x):
        return spatial_dropout(x, self.p, self.training, self.data_format)

    def extra_repr(self) -> str:
        return f"p={self.p}, data_format={self.data_format}"


class SpatialDropout2D(SpatialDropout1D):
    """Drops whole feature maps of [N, C, H, W] (``NCHW``) or [N, H, W, C] (``NHWC``) inputs."""

    def __init__(self, p: float, data_format: str = "NCHW"):
        super().__init__(p, data_format)


class GaussianDropout(_Stochastic):
    """Multiplicative Gaussian noise N(1, p/(1−p)) (Srivastava et al. 2014, §10)."""

    def forward(self, x):
        return gaussian_dropout(x, self.p, self.training)


class DropPath(_Stochastic):
    """Stochastic depth: drops a residual branch per sample; use as ``x + DropPath(p)(branch(x))``."""

    def forward(self, x):
        return drop_path(x, self.p, self.training)


class DropBlock2D(_Stochastic):
    """DropBlock for conv feature maps: contiguous block_size × block_size regions dropped together."""

    def __init__(self, p: float, block_size: int):
        super().__init__(p)
        self.block_size = block_size

    def forward(self, x):
        return drop_block(x, self.p, self.block_size, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}, block_size={self.block_size}"


class DropConnectLinear(nn.Linear):
    """A Linear whose weight gets a fresh Bernoulli(1−p) mask per forward in training, scaled by 1/(1−p) (Wan et al. 2013)."""

    def __init__(self, in_features: int, out_features: int, p: float):
        super().__init__(in_features, out_features)
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p={p} must be in [0, 1)")
        self.p = p

    def forward(self, x):
        return F.linear(x, drop_connect(self.weight, self.p, self.training), self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"
