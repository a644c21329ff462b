"""The grouped-decay optimizer factory: which parameters decay, and how (coupled L2 or decoupled)."""
from __future__ import annotations

from dataclasses import dataclass

import paddle
from omegaconf import DictConfig

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
DECAY_MODES = ("l2", "decoupled")
SCHEDULES = ("constant", "cosine")
NORM_LAYERS = (paddle.nn.layer.norm._BatchNormBase, paddle.nn.LayerNorm, paddle.nn.GroupNorm,
               paddle.nn.layer.norm._InstanceNormBase)
NO_DECAY_NAME_PARTS = ("bias", "norm")


@dataclass
class DecayGroups:
    decay: list[str]
    no_decay: list[str]

    def table(self) -> dict:
        return {"decay": self.decay, "no_decay": self.no_decay,
                "decay_count": len(self.decay), "no_decay_count": len(self.no_decay)}


def param_groups_weight_decay(model: paddle.nn.Layer) -> tuple[list, list, DecayGroups]:
    """Split parameters: 1-D ones, biases and every normalization-layer parameter do not decay."""
    in_norm_layer = {id(p) for layer in model.sublayers(include_self=True) if isinstance(layer, NORM_LAYERS)
                     for p in layer.parameters(include_sublayers=False)}
    decay, no_decay, names = [], [], DecayGroups([], [])
    for name, param in model.named_parameters():
        if param.stop_gradient:
            continue
        skip = param.ndim <= 1 or id(param) in in_norm_layer or any(part in name.lower() for part in NO_DECAY_NAME_PARTS)
        (no_decay if skip else decay).append(param)
        (names.no_decay if skip else names.decay).append(name)
    return decay, no_decay, names


class DecoupledDecay:
    """Wraps an optimizer so decayed parameters shrink as p ← p − lr·λ·p before each step, apart from the gradient."""

    def __init__(self, optimizer, params: list, coeff: float):
        self.optimizer, self.params, self.coeff = optimizer, params, coeff

    @paddle.no_grad()
    def step(self):
        shrink = 1.0 - self.optimizer.get_lr() * self.coeff
        for param in self.params:
            param.set_value(param * shrink)
        self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


def build_scheduler(cfg: DictConfig, steps_per_epoch: int, epochs: int):
    if cfg.schedule == "constant":
        return None
    return paddle.optimizer.lr.CosineAnnealingDecay(learning_rate=cfg.lr, T_max=max(1, steps_per_epoch * epochs))


def build_optimizer(model: paddle.nn.Layer, cfg: DictConfig, steps_per_epoch: int, epochs: int):
    """Return ``(optimizer, scheduler or None, DecayGroups)`` for ``cfg``, the validated ``optim`` config section."""
    decay, no_decay, groups = param_groups_weight_decay(model)
    scheduler = build_scheduler(cfg, steps_per_epoch, epochs)
    lr = scheduler if scheduler is not None else cfg.lr
    coupled = cfg.decay_mode == "l2" and cfg.weight_decay > 0
    param_groups = [
        {"params": decay, "weight_decay": paddle.regularizer.L2Decay(cfg.weight_decay) if coupled else None},
        {"params": no_decay, "weight_decay": None},
    ]
    param_groups = [group for group in param_groups if group["params"]]
    if cfg.name == "sgd":
        optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=param_groups)
    elif cfg.name == "momentum":
        optimizer = paddle.optimizer.Momentum(learning_rate=lr, momentum=cfg.momentum, parameters=param_groups)
    elif cfg.name == "adam" or coupled:
        optimizer = paddle.optimizer.Adam(learning_rate=lr, parameters=param_groups)
    else:  # adamw, decoupled: Paddle's own AdamW applies lr·λ·p, limited to the decay group by name
        decay_names = {p.name for p in decay}
        return (paddle.optimizer.AdamW(learning_rate=lr, parameters=decay + no_decay, weight_decay=cfg.weight_decay,
                                       apply_decay_param_fun=lambda name: name in decay_names), scheduler, groups)
    if cfg.decay_mode == "decoupled" and cfg.weight_decay > 0:
        optimizer = DecoupledDecay(optimizer, decay, cfg.weight_decay)
    return optimizer, scheduler, groups
