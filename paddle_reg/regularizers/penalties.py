"""Penalties and constraints on weights: the L1 term added to the loss, the max-norm constraint after each step."""
from __future__ import annotations

import numpy as np
import paddle
from paddle import nn

CONV_LAYERS = (nn.Conv1D, nn.Conv2D, nn.Conv3D)


def penalized_weights(model: nn.Layer) -> list:
    """Weight matrices and kernels (ndim ≥ 2), the tensors the default decay rule decays: biases and norms stay free."""
    return [p for p in model.parameters() if not p.stop_gradient and p.ndim >= 2]


def l1_penalty(params: list, coeff: float) -> paddle.Tensor:
    """λ·Σ|w| over ``params``."""
    return coeff * paddle.add_n([p.abs().sum() for p in params])


def unit_norm_axes(layer: nn.Layer) -> tuple[int, ...]:
    """Axes of a layer's weight that hold one output unit's incoming weights: Linear [in, out] → (0,), Conv [out, in, k…] → (1, …)."""
    return (0,) if isinstance(layer, nn.Linear) else tuple(range(1, layer.weight.ndim))


def max_norm_targets(model: nn.Layer) -> list[tuple]:
    """(weight, axes) of every Linear and Conv layer: the constrained incoming-weight vectors."""
    return [(layer.weight, unit_norm_axes(layer)) for layer in model.sublayers(include_self=True)
            if isinstance(layer, (nn.Linear, *CONV_LAYERS)) and not layer.weight.stop_gradient]


def cap_in_numpy(weight: paddle.Tensor, axes: tuple[int, ...], max_norm: float) -> None:
    """w_j ← w_j · min(1, c / ‖w_j‖₂), the norms taken by numpy on the parameter's own memory (a CPU float32 tensor);
    the weight is written only when some unit exceeds c."""
    values = np.from_dlpack(weight.detach())
    norm = np.sqrt(np.square(values).sum(axis=axes, keepdims=True))
    scale = np.minimum(1.0, max_norm / (norm + 1e-12)).astype(values.dtype, copy=False)
    if (scale < 1.0).any():
        weight.set_value(values * scale)


def cap_in_paddle(weight: paddle.Tensor, axes: tuple[int, ...], max_norm: float) -> None:
    """w_j ← w_j · min(1, c / ‖w_j‖₂) in Paddle's ops, on any device and dtype."""
    norm = weight.norm(p=2, axis=list(axes), keepdim=True)
    weight.set_value(weight * paddle.clip(max_norm / (norm + 1e-12), max=1.0))


@paddle.no_grad()
def apply_max_norm(targets: list[tuple], max_norm: float) -> None:
    """w_j ← w_j · min(1, c / ‖w_j‖₂) for each unit j's incoming weight vector."""
    for weight, axes in targets:
        # on the CPU numpy's reductions run ≈ 30× faster than Paddle's kernels here (benchmarks/max_norm_cost.py)
        on_cpu = weight.place.is_cpu_place() and weight.dtype == paddle.float32
        (cap_in_numpy if on_cpu else cap_in_paddle)(weight, axes, max_norm)


class MaxNorm:
    """Max-norm constraint ‖w_j‖₂ ≤ c on the incoming weights of every unit of ``model``'s Linear and Conv layers."""

    def __init__(self, model: nn.Layer, max_norm: float):
        self.targets, self.max_norm = max_norm_targets(model), max_norm

    def __call__(self) -> None:
        apply_max_norm(self.targets, self.max_norm)

    def __repr__(self) -> str:
        return f"MaxNorm(max_norm={self.max_norm}, weights={len(self.targets)})"
