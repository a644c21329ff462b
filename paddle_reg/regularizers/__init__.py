"""The suite's regularizer set: layers, penalties and constraints, batch augmentations, and the trainer's step hooks."""
from paddle_reg.regularizers.mixing import MixedTargets, cutmix, cutout, mixed_loss, mixup
from paddle_reg.regularizers.penalties import MaxNorm, apply_max_norm, l1_penalty, penalized_weights
from paddle_reg.regularizers.training import TRAINER_REGULARIZERS, StepRegularizers

__all__ = ["MixedTargets", "cutmix", "cutout", "mixed_loss", "mixup", "MaxNorm", "apply_max_norm", "l1_penalty",
           "penalized_weights", "TRAINER_REGULARIZERS", "StepRegularizers"]
