"""What the trainer applies around each step, from a run's ``reg`` section: batch augmentation, L1, max-norm, and
the loss's own regularizer keywords (label smoothing)."""
from __future__ import annotations

from functools import partial

import numpy as np
import paddle

from paddle_reg.errors import UserError
from paddle_reg.registry import IMAGE_AUGMENTATIONS
from paddle_reg.regularizers.mixing import MixedTargets, cutmix, cutout, mixed_loss, mixup
from paddle_reg.regularizers.penalties import MaxNorm, l1_penalty, penalized_weights


class StepRegularizers:
    """Batch augmentation before the forward pass, the L1 term in the loss, the max-norm constraint after the step.

    The batch augmentations apply to tasks that declare ``image_shape`` (C, H, W), the view of their inputs as
    images (classification losses); a task without it applies reg.mixup/cutmix/cutout itself (detection).
    ``loss_options`` (the registry's ``loss`` regularizers that are on, e.g. ``{"label_smoothing": 0.1}``) go to the
    task's loss as keyword arguments.
    """

    def __init__(self, model: paddle.nn.Layer, reg: dict | None, image_shape: tuple[int, ...] | None = None,
                 loss_options: dict | None = None):
        reg = {name: value for name, value in (reg or {}).items() if value is not None}
        self.loss_options = dict(loss_options or {})
        if image_shape is None:
            reg = {name: value for name, value in reg.items() if name not in IMAGE_AUGMENTATIONS}
        if "mixup" in reg and "cutmix" in reg:
            raise UserError("reg.mixup and reg.cutmix are both on: a regime mixes batches one way; list one in extra")
        self.image_shape = tuple(image_shape) if image_shape else None
        self.mixup_alpha = reg["mixup"]["alpha"] if "mixup" in reg else None
        self.cutmix_alpha = reg["cutmix"]["alpha"] if "cutmix" in reg else None
        self.cutout_size = reg["cutout"]["size"] if "cutout" in reg else None
        self.l1 = reg.get("l1")
        self.l1_params = penalized_weights(model) if self.l1 else []
        self.max_norm = MaxNorm(model, reg["maxnorm"]) if reg.get("maxnorm") else None

    @property
    def augments(self) -> bool:
        return any(v is not None for v in (self.mixup_alpha, self.cutmix_alpha, self.cutout_size))

    def augment(self, inputs, labels, rng: np.random.Generator) -> tuple[paddle.Tensor, MixedTargets | None]:
        """The batch's (possibly masked or mixed) inputs, and its mixed targets when Mixup or CutMix is on."""
        if not self.augments:
            return inputs, None
        flat_shape = inputs.shape
        images = inputs.reshape([-1, *self.image_shape])
        targets = None
        if self.cutout_size is not None:
            images = cutout(images, self.cutout_size, rng)
        if self.mixup_alpha is not None:
            images, targets = mixup(images, labels, self.mixup_alpha, rng)
        elif self.cutmix_alpha is not None:
            images, targets = cutmix(images, labels, self.cutmix_alpha, rng)
        return images.reshape(flat_shape), targets

    def data_loss(self, loss_fn, logits, labels, targets: MixedTargets | None) -> paddle.Tensor:
        loss_fn = partial(loss_fn, **self.loss_options) if self.loss_options else loss_fn
        return loss_fn(logits, labels) if targets is None else mixed_loss(loss_fn, logits, targets)

    def penalty(self) -> paddle.Tensor | None:
        """The L1 term λ·Σ|w|, or None."""
        return l1_penalty(self.l1_params, self.l1) if self.l1 else None

    def after_step(self) -> None:
        if self.max_norm is not None:
            self.max_norm()

    def __repr__(self) -> str:
        on = {"mixup": self.mixup_alpha, "cutmix": self.cutmix_alpha, "cutout": self.cutout_size, "l1": self.l1,
              "maxnorm": self.max_norm.max_norm if self.max_norm else None, **self.loss_options}
        return f"StepRegularizers({', '.join(f'{k}={v}' for k, v in on.items() if v is not None)})"
