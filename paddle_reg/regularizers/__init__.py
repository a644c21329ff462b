"""The suite's regularizer set: stochastic layers, norms, penalties and constraints, batch augmentations.

Each is a pure function plus a thin Layer (identity in eval mode); ``StepRegularizers`` is what the trainer
applies around each step from a run's ``reg`` section.
"""
from paddle_reg.regularizers.layers import (DROP_PATH_SCHEDULES, DROPOUT_POSITIONS, DropBlock2D, DropConnectLinear,
                                            DropPath, Dropout, GaussianDropout, SpatialDropout1D, SpatialDropout2D,
                                            drop_block, drop_connect, drop_path, drop_path_rates, dropout,
                                            gaussian_dropout, spatial_dropout)
from paddle_reg.regularizers.mixing import MixedTargets, cutmix, cutout, mixed_loss, mixup
from paddle_reg.regularizers.norm import NORMS, norm_layer
from paddle_reg.regularizers.penalties import MaxNorm, apply_max_norm, l1_penalty, penalized_weights
from paddle_reg.regularizers.training import StepRegularizers

__all__ = [
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianDropout", "DropConnectLinear", "DropPath",
    "DropBlock2D", "DROPOUT_POSITIONS", "DROP_PATH_SCHEDULES", "dropout", "spatial_dropout", "gaussian_dropout",
    "drop_connect", "drop_path", "drop_path_rates", "drop_block", "NORMS", "norm_layer", "MaxNorm", "apply_max_norm",
    "l1_penalty", "penalized_weights", "MixedTargets", "cutmix", "cutout", "mixed_loss", "mixup", "StepRegularizers",
]
