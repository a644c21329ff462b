"""A normalization-layer factory: ``bn``, ``ln``, ``gn``, ``in``, ``none``.

Paddle's BatchNorm ``momentum`` follows the TensorFlow/Keras convention, the opposite of PyTorch's:
running ← momentum·running + (1 − momentum)·batch, default 0.9 (PyTorch's default 0.1 is the same speed).
The factory takes the Paddle value; ``paddle_reg.facts`` (F7) measures the convention on the installed Paddle.
"""
from __future__ import annotations

from paddle import nn

NORMS = ("bn", "ln", "gn", "in", "none")
BATCH_NORMS = {1: nn.BatchNorm1D, 2: nn.BatchNorm2D, 3: nn.BatchNorm3D}
INSTANCE_NORMS = {1: nn.InstanceNorm1D, 2: nn.InstanceNorm2D, 3: nn.InstanceNorm3D}


def group_count(channels: int, groups: int) -> int:
    """The largest divisor of ``channels`` not above ``groups``."""
    return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


def norm_layer(kind: str, channels: int, spatial_dims: int = 2, groups: int = 32, momentum: float = 0.9,
               epsilon: float = 1e-5) -> nn.Layer:
    """A norm over ``channels`` for inputs with ``spatial_dims`` (0: [N, C] features; 1: [N, C, L]; 2: [N, C, H, W]).

    ``ln`` on maps is GroupNorm with one group (statistics over C, H, W per sample); on features, LayerNorm(C).
    ``momentum`` (Paddle's convention, see the module doc) applies to ``bn`` only.
    """
    if kind == "bn":
        return BATCH_NORMS[max(spatial_dims, 1)](channels, momentum=momentum, epsilon=epsilon)
    if kind == "ln":
        return nn.LayerNorm(channels, epsilon=epsilon) if spatial_dims == 0 else nn.GroupNorm(1, channels, epsilon)
    if kind == "gn":
        return nn.GroupNorm(group_count(channels, groups), channels, epsilon)
    if kind == "in":
        if spatial_dims == 0:
            raise ValueError("instance norm needs spatial positions: [N, C] features have none")
        return INSTANCE_NORMS[spatial_dims](channels, epsilon=epsilon)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm '{kind}': choose one of {', '.join(NORMS)}")
