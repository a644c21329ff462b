"""Batch-level image augmentations that regularize: Mixup, CutMix (mixed targets) and Cutout (masked input).

Images are ``[N, C, H, W]`` tensors; randomness comes from a numpy Generator so a run's draws follow its seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import paddle


@dataclass
class MixedTargets:
    """Targets of a mixed batch: a share ``lam`` of sample i is label ``a[i]``, the rest ``b[i]``."""

    a: paddle.Tensor
    b: paddle.Tensor
    lam: float

    @property
    def major(self) -> paddle.Tensor:
        """The label holding the larger share of each sample (for running train accuracy)."""
        return self.a if self.lam >= 0.5 else self.b


def mixed_loss(loss_fn, logits, targets: MixedTargets) -> paddle.Tensor:
    """λ·loss(y_a) + (1−λ)·loss(y_b)."""
    return targets.lam * loss_fn(logits, targets.a) + (1.0 - targets.lam) * loss_fn(logits, targets.b)


def mixup(images, labels, alpha: float, rng: np.random.Generator) -> tuple[paddle.Tensor, MixedTargets]:
    """x ← λ·x + (1−λ)·x[perm], λ ~ Beta(α, α) (Zhang et al. 2018)."""
    lam = float(rng.beta(alpha, alpha))
    perm = paddle.to_tensor(rng.permutation(len(labels)))
    mixed = lam * images + (1.0 - lam) * paddle.gather(images, perm)
    return mixed, MixedTargets(labels, paddle.gather(labels, perm), lam)


def random_box(height: int, width: int, area_fraction: float, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a box of about ``area_fraction`` of the image, centred uniformly, clipped."""
    cut = np.sqrt(area_fraction)
    h, w = int(round(height * cut)), int(round(width * cut))
    cy, cx = int(rng.integers(height)), int(rng.integers(width))
    return max(cy - h // 2, 0), min(cy + (h + 1) // 2, height), max(cx - w // 2, 0), min(cx + (w + 1) // 2, width)


def box_mask(shape: tuple[int, int], box: tuple[int, int, int, int]) -> np.ndarray:
    """1 inside ``box``, 0 outside, as float32 ``[H, W]``."""
    mask = np.zeros(shape, dtype=np.float32)
    top, bottom, left, right = box
    mask[top:bottom, left:right] = 1.0
    return mask


def cutmix(images, labels, alpha: float, rng: np.random.Generator) -> tuple[paddle.Tensor, MixedTargets]:
    """Paste a box of x[perm] into x; λ = 1 − box area / image area, box area ≈ (1−λ₀), λ₀ ~ Beta(α, α) (Yun et al. 2019)."""
    height, width = images.shape[-2:]
    box = random_box(height, width, 1.0 - float(rng.beta(alpha, alpha)), rng)
    inside = box_mask((height, width), box)
    perm = paddle.to_tensor(rng.permutation(len(labels)))
    lam = 1.0 - float(inside.sum()) / (height * width)
    mixed = paddle.where(paddle.to_tensor(inside > 0), paddle.gather(images, perm), images)
    return mixed, MixedTargets(labels, paddle.gather(labels, perm), lam)


def cutout_masks(count: int, height: int, width: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """``[N, 1, H, W]`` float32 masks: 0 in one size×size square per sample (centre uniform, clipped at the border), 1 elsewhere."""
    cy, cx = rng.integers(height, size=(count, 1)), rng.integers(width, size=(count, 1))
    rows = (np.arange(height) >= cy - size // 2) & (np.arange(height) < cy + (size + 1) // 2)
    cols = (np.arange(width) >= cx - size // 2) & (np.arange(width) < cx + (size + 1) // 2)
    return (~(rows[:, :, None] & cols[:, None, :]))[:, None].astype(np.float32)


def cutout(images, size: int, rng: np.random.Generator) -> paddle.Tensor:
    """Zero one size×size square per image (DeVries & Taylor 2017)."""
    count, _, height, width = images.shape
    return images * paddle.to_tensor(cutout_masks(count, height, width, size, rng))
