"""Random masks and noise for the stochastic layers, drawn where they are cheapest with the same distribution.

On the CPU, NumPy's PCG64 draws them: Paddle's CPU generator (one Mersenne Twister call per element) takes about
4 times as long, and every Paddle option (``F.dropout``, ``paddle.rand``, ``paddle.bernoulli``, ``paddle.normal``)
goes through it. Each call seeds a fresh NumPy generator with one draw from Paddle's CPU generator, so
``paddle.seed`` still fixes every mask. Tensors on another device take Paddle's own generator there.
"""
from __future__ import annotations

import numpy as np
import paddle


def on_cpu(x: paddle.Tensor) -> bool:
    return x.place.is_cpu_place()


def _numpy_generator() -> np.random.Generator:
    return np.random.default_rng(paddle.base.core.default_cpu_generator().random())


def bernoulli(shape: list[int], prob: float, dtype, scale: float = 1.0) -> paddle.Tensor:
    """scale·m with m ~ Bernoulli(prob) per element (a CPU tensor)."""
    uniform = _numpy_generator().random(shape, dtype=np.float32)
    return paddle.to_tensor(np.multiply(uniform < np.float32(prob), scale, dtype=np.float32), dtype=dtype)


def scaled_keep_mask(shape: list[int], keep: float, dtype) -> paddle.Tensor:
    """m/keep with m ~ Bernoulli(keep) per element (a CPU tensor): E[m/keep] = 1."""
    return bernoulli(shape, keep, dtype, 1.0 / keep)


def gaussian_noise(shape: list[int], std: float, dtype) -> paddle.Tensor:
    """n ~ N(1, std²) per element (a CPU tensor)."""
    normal = _numpy_generator().standard_normal(shape, dtype=np.float32)
    return paddle.to_tensor(np.multiply(normal, np.float32(std)) + np.float32(1.0), dtype=dtype)
