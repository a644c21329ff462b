"""The grouped-decay optimizer factory: which parameters decay, how (coupled L2 or decoupled), at which lr.

Config: the ``optim`` section, from the ``optim`` config group (``configs/optim/``: sgd.yaml holds every key, with
what each means; momentum, adam and adamw start from it)::

    name: sgd | momentum | adam | adamw  (adamw: decoupled, whatever decay_mode says)
    lr, momentum, weight_decay, decay_mode: coupled | decoupled  (l2: coupled's former name, still accepted),
    decay_embeddings, decay_only, no_decay, groups, clip_norm,
    schedule {name, warmup_steps, warmup_start, milestones, gamma, momentum_warmup_steps, momentum_warmup_start}

Biases, every normalization-layer parameter and all other 1-D parameters never decay, whatever the config.

ParamAttr regularizers: a parameter's own ``regularizer`` (ppdet sets ``L2Decay`` on its convolutions through
``ParamAttr``) would add an L2 term of its own. ``build_optimizer`` clears it on every parameter it optimizes, for
every optimizer, before the optimizer is built, so the groups alone decide what decays (Paddle's SGD and Adam then
give each parameter its group's coupled L2): this is the one place that handles them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib.resources import files

import paddle
from omegaconf import DictConfig, OmegaConf

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
DECAY_MODES = ("coupled", "decoupled")
LEGACY_COUPLED = "l2"  # coupled's first name: accepted with a deprecation line, and what run records keep
SCHEDULES = ("constant", "cosine", "piecewise")
NORM_LAYERS = (paddle.nn.layer.norm._BatchNormBase, paddle.nn.LayerNorm, paddle.nn.GroupNorm,
               paddle.nn.layer.norm._InstanceNormBase)
NO_DECAY_NAME_PARTS = ("bias", "norm")
DEFAULTS = OmegaConf.create(files("paddle_reg.configs").joinpath("optim", "sgd.yaml").read_text())  # every key


def with_defaults(cfg: DictConfig) -> DictConfig:
    """``cfg`` with every key of the section present (a run config leaves out a null clip_norm, a test what it needs)."""
    return OmegaConf.merge(DEFAULTS, cfg)


def decay_mode(cfg: DictConfig) -> str:
    """``coupled`` or ``decoupled``: adamw decays decoupled by definition; ``l2`` is coupled's former name."""
    if cfg.name == "adamw":
        return "decoupled"
    return "coupled" if cfg.decay_mode == LEGACY_COUPLED else cfg.decay_mode


@dataclass
class ParamGroup:
    """Parameters sharing one decay coefficient and one learning-rate multiplier."""

    name: str
    weight_decay: float
    lr_mult: float
    names: list[str] = field(default_factory=list)
    params: list = field(default_factory=list, repr=False)

    def row(self) -> dict:
        return {"name": self.name, "weight_decay": self.weight_decay, "lr_mult": self.lr_mult,
                "count": len(self.names), "params": self.names}


@dataclass
class DecayGroups:
    """The decay table of a model: which parameters decay and the optimizer's groups (recorded in run.json)."""

    decay: list[str]
    no_decay: list[str]
    groups: list[ParamGroup] = field(default_factory=list)

    def table(self) -> dict:
        return {"decay": self.decay, "no_decay": self.no_decay,
                "decay_count": len(self.decay), "no_decay_count": len(self.no_decay),
                "groups": [group.row() for group in self.groups]}

    def lines(self, shown: int = 4) -> list[str]:
        """One log line per group; the first ``shown`` names only (run.json records them all)."""
        return [f"param group {g.name}: {len(g.names)} tensors, weight_decay {g.weight_decay:g}, lr x{g.lr_mult:g}: "
                f"{', '.join(g.names[:shown])}{f', … (+{len(g.names) - shown} more)' if len(g.names) > shown else ''}"
                for g in self.groups]


def _matches(patterns, name: str) -> bool:
    return any(re.search(pattern, name) for pattern in patterns or ())


def is_decayable(name: str, param, in_norm_layer: bool, in_embedding: bool, cfg: DictConfig) -> bool:
    """The decay policy: never 1-D/bias/norm parameters; embeddings if asked; then ``decay_only`` and ``no_decay``."""
    if param.ndim <= 1 or in_norm_layer or any(part in name.lower() for part in NO_DECAY_NAME_PARTS):
        return False
    if in_embedding and not cfg.decay_embeddings:
        return False
    if cfg.decay_only is not None and not _matches(cfg.decay_only, name):
        return False
    return not _matches(cfg.no_decay, name)


def _params_of(model: paddle.nn.Layer, kinds) -> set[int]:
    return {id(p) for layer in model.sublayers(include_self=True) if isinstance(layer, kinds)
            for p in layer.parameters(include_sublayers=False)}


def param_groups_weight_decay(model: paddle.nn.Layer, cfg: DictConfig | None = None) -> DecayGroups:
    """Sort the trainable parameters into groups by (override, decayable); empty groups are dropped."""
    cfg = with_defaults(cfg if cfg is not None else OmegaConf.create({}))
    in_norm, in_embedding = _params_of(model, NORM_LAYERS), _params_of(model, paddle.nn.Embedding)
    decay, no_decay, groups = [], [], {}
    for name, param in model.named_parameters():
        if param.stop_gradient:
            continue
        decays = is_decayable(name, param, id(param) in in_norm, id(param) in in_embedding, cfg)
        (decay if decays else no_decay).append(name)
        index, override = next(((i, g) for i, g in enumerate(cfg.groups) if re.search(g.match, name)), (None, None))
        key = (index, decays)
        if key not in groups:
            own = override is not None and override.get("weight_decay") is not None
            coeff = (float(override.weight_decay) if own else float(cfg.weight_decay)) if decays else 0.0
            label = ("decay" if decays else "no_decay") if override is None else \
                f"{override.match}{'' if decays else ' (no_decay)'}"
            groups[key] = ParamGroup(label, coeff, float(override.get("lr_mult", 1.0)) if override else 1.0)
        groups[key].names.append(name)
        groups[key].params.append(param)
    ordered = sorted(groups.items(), key=lambda item: (item[0][0] is not None, item[0][0] or 0, not item[0][1]))
    return DecayGroups(decay, no_decay, [group for _, group in ordered])


class DecoupledDecay:
    """Wraps an optimizer so each group shrinks as p ← p − lr·lr_mult·λ·p before the step, apart from the gradient."""

    def __init__(self, optimizer, groups: list[ParamGroup]):
        self.optimizer = optimizer
        self.groups = [g for g in groups if g.weight_decay > 0]

    @paddle.no_grad()
    def step(self):
        lr = self.optimizer.get_lr()
        for group in self.groups:
            shrink = 1.0 - lr * group.lr_mult * group.weight_decay
            for param in group.params:
                param.scale_(shrink)  # in place: one op and no copy per tensor
        self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


def lr_factor(step: int, schedule: DictConfig, steps_per_epoch: int, total_steps: int) -> float:
    """lr(step) / lr: linear warmup from ``warmup_start``, then constant, cosine to 0, or ×gamma at each milestone epoch."""
    warmup = schedule.warmup_steps
    if step < warmup:
        return schedule.warmup_start + (1.0 - schedule.warmup_start) * step / warmup
    if schedule.name == "cosine":
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if schedule.name == "piecewise":
        return schedule.gamma ** sum(step >= epoch * steps_per_epoch for epoch in schedule.milestones)
    return 1.0


def momentum_at(step: int, cfg: DictConfig) -> float:
    """μ(step): linear from ``schedule.momentum_warmup_start`` to ``momentum`` over ``momentum_warmup_steps``, then
    ``momentum``."""
    ramp, start = cfg.schedule.momentum_warmup_steps, cfg.schedule.momentum_warmup_start
    return cfg.momentum if step >= ramp else start + (cfg.momentum - start) * step / ramp


class MomentumWarmup:
    """Wraps a Momentum optimizer so step t updates with μ(t) (``momentum_at``); t is the lr scheduler's step count,
    which the optimizer's checkpoint holds, so a resumed run goes on with the μ it stopped at."""

    def __init__(self, optimizer: paddle.optimizer.Momentum, scheduler, cfg: DictConfig):
        self.optimizer, self.scheduler, self.cfg = optimizer, scheduler, cfg

    def step(self):
        # Paddle has no setter: for parameter groups without their own μ (the factory's), Momentum reads it from
        # _default_dict at every step
        self.optimizer._default_dict["momentum"] = momentum_at(self.scheduler.last_epoch, self.cfg)
        self.optimizer.step()

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


def build_scheduler(cfg: DictConfig, steps_per_epoch: int, epochs: int):
    """A per-step scheduler for ``cfg.schedule``; None for a constant lr without warmup (of the lr or the momentum)."""
    schedule = cfg.schedule
    if schedule.name == "constant" and schedule.warmup_steps == 0 and schedule.momentum_warmup_steps == 0:
        return None
    total = steps_per_epoch * epochs
    return paddle.optimizer.lr.LambdaDecay(
        learning_rate=cfg.lr, lr_lambda=lambda step: lr_factor(step, schedule, steps_per_epoch, total))


def build_optimizer(model: paddle.nn.Layer, cfg: DictConfig, steps_per_epoch: int, epochs: int):
    """Return ``(optimizer, scheduler or None, DecayGroups)`` for ``cfg``, the validated ``optim`` config section.

    Each update takes Paddle's fastest path with the same math: Adam and Momentum update all tensors in one
    multi-tensor kernel (Momentum's also folds coupled L2 into the update); decoupled Adam is Paddle's AdamW kernel,
    which shrinks p inside the update. SGD's coupled L2 and decoupled SGD/Momentum add one op per decayed tensor.
    """
    cfg = with_defaults(cfg)
    table = param_groups_weight_decay(model, cfg)
    scheduler = build_scheduler(cfg, steps_per_epoch, epochs)
    lr = scheduler if scheduler is not None else cfg.lr
    clip = paddle.nn.ClipGradByNorm(cfg.clip_norm) if cfg.clip_norm is not None else None
    for group in table.groups:  # ParamAttr regularizers (module doc): the groups alone decide what decays
        for param in group.params:
            param.regularizer = None
    coupled = decay_mode(cfg) == "coupled"
    if cfg.name in ("adam", "adamw") and not coupled:
        # Paddle's AdamW: p ← p − lr·lr_mult·λ·p inside its fused kernel, per group λ
        param_groups = [{"params": g.params, "weight_decay": g.weight_decay, "learning_rate": g.lr_mult}
                        for g in table.groups]
        return (paddle.optimizer.AdamW(learning_rate=lr, parameters=param_groups, weight_decay=0.0, grad_clip=clip),
                scheduler, table)
    param_groups = [{"params": g.params, "learning_rate": g.lr_mult,
                     "weight_decay": paddle.regularizer.L2Decay(g.weight_decay) if coupled and g.weight_decay > 0
                     else None} for g in table.groups]
    if cfg.name == "sgd":
        optimizer = paddle.optimizer.SGD(learning_rate=lr, parameters=param_groups, grad_clip=clip)
    elif cfg.name == "momentum":
        optimizer = paddle.optimizer.Momentum(learning_rate=lr, momentum=cfg.momentum, parameters=param_groups,
                                              grad_clip=clip, use_multi_tensor=True)
    else:
        optimizer = paddle.optimizer.Adam(learning_rate=lr, parameters=param_groups, grad_clip=clip,
                                          use_multi_tensor=True)
    if cfg.name == "momentum" and cfg.schedule.momentum_warmup_steps > 0:
        optimizer = MomentumWarmup(optimizer, scheduler, cfg)
    if not coupled and any(g.weight_decay > 0 for g in table.groups):
        optimizer = DecoupledDecay(optimizer, table.groups)
    return optimizer, scheduler, table
