"""The regularizer registry: each regularizer described once, and the regimes composed from it.

An entry holds a regularizer's name (also its regime's name), where its value lives in the config and its default
(``reg.<name>`` entries: the composed config's ``reg`` block starts from these defaults, a task config sets its own
where they differ), the check of that value, what applies it, and one line on what it does. A task declares the
names it supports (``Task.regularizers``). From here come the composed config's ``reg`` defaults (the config
``regularizers`` in ``configs/config.yaml``), the regime checks and their one-line refusals, the regime list of
``--help`` and the README's regimes table (a test compares them).

A regime is a set of entries: ``none`` (no entry), one name, or names joined by ``+`` (``dropout+maxnorm``). The
order a user writes them in does not matter: a regime is named with its entries in registry order, and ``both``
stands for ``dropout+weight_decay`` wherever that pair is in the set (``both``, ``both+maxnorm``).

What applies an entry (``applies``):
    model      the task's ``build_model``, which reads the value from the run config (a layer swapped in or added)
    optimizer  the optimizer factory (``paddle_reg.optim``)
    step       ``StepRegularizers`` around each training step; an ``images`` entry (a batch augmentation) only on
               tasks with ``image_shape``: a task without one that supports it applies it itself (PCB: boxes move)
    loss       the task's ``loss``, which receives the value as the keyword argument of the entry's name
    trainer    the training loop (``paddle_reg.trainer``: early stopping)

Adding a regularizer: one entry below, the code that applies it (a layer in ``build_model``, a ``StepRegularizers``
part, or a keyword of the task's loss) and its test; each task that supports it lists its name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from omegaconf import OmegaConf

from paddle_reg import checks
from paddle_reg.errors import UserError

NONE, BOTH = "none", "both"
PAIR = ("dropout", "weight_decay")  # the entries `both` names
APPLIED_BY = {"model": "the model", "optimizer": "the optimizer", "step": "the trainer, each step",
              "loss": "the task's loss", "trainer": "the training loop"}


@dataclass(frozen=True)
class Regularizer:
    name: str
    applies: str  # a key of APPLIED_BY
    what: str  # one line: what it does
    check: Callable[[str, Any, Any], None]  # (field, value, default); raises UserError naming the field
    default: Any = None  # a reg.<name> entry's value unless the task config sets its own
    key: str = ""  # where its value lives when not reg.<name> (the two core regularizers)
    shown: str = ""  # how the README and --help show its setting; "": reg.<name>=<default>
    switch_off: Callable[[dict], None] | None = None  # a core entry's way off in a run config (reg.<name>: null)
    images: bool = False  # a batch augmentation: needs the inputs as images (Task.image_shape)
    excludes: tuple[str, ...] = ()  # entries it cannot be combined with (either side may name the other)

    @property
    def field(self) -> str:
        return self.key or f"reg.{self.name}"

    @property
    def setting(self) -> str:
        return self.shown or f"{self.field}={cli_value(self.default)}"


def cli_value(value) -> str:
    """``value`` as written after ``key=`` on the command line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{cli_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _sites(field: str, value, default) -> None:
    for site, p in value.items():
        checks.probability(f"{field}.{site}", p, 0.5)


def _decay(field: str, value, default) -> None:
    checks.non_negative(field, value, 1e-4)


def _probability(field: str, value, default) -> None:
    checks.probability(field, value, default)


def _positive(field: str, value, default) -> None:
    checks.positive(field, value, default)


def _alpha(field: str, value, default) -> None:
    checks.block(field, value, ("alpha",), cli_value(default))
    checks.positive(f"{field}.alpha", value["alpha"], default["alpha"])


def _cutout(field: str, value, default) -> None:
    checks.block(field, value, ("size",), cli_value(default))
    checks.positive_int(f"{field}.size", value["size"], default["size"])


def _dropblock(field: str, value, default) -> None:
    checks.block(field, value, ("p", "block_size"), cli_value(default))
    checks.probability(f"{field}.p", value["p"], default["p"])
    checks.positive_int(f"{field}.block_size", value["block_size"], default["block_size"])


def _droppath(field: str, value, default) -> None:
    from paddle_reg.regularizers.layers import DROP_PATH_SCHEDULES  # here: the configs read this module before Paddle

    checks.block(field, value, ("p", "schedule"), cli_value(default))
    checks.probability(f"{field}.p", value["p"], default["p"])
    if value["schedule"] not in DROP_PATH_SCHEDULES:
        raise UserError(f"{field}.schedule={value['schedule']} is unknown: choose one of "
                        f"{', '.join(DROP_PATH_SCHEDULES)}")


def _early_stop(field: str, value, default) -> None:
    checks.block(field, value, ("patience",), "{patience:10,min_delta:0.0}")
    checks.positive_int(f"{field}.patience", value["patience"], default["patience"])
    checks.non_negative(f"{field}.min_delta", value.get("min_delta", 0.0), 0.0)
    if value.get("mode") not in (None, "min", "max"):
        raise UserError(f"{field}.mode={value['mode']} is unknown: choose one of min, max (or null: the task's)")
    if value.get("metric") is not None and value.get("mode") is None:
        raise UserError(f"{field}.metric={value['metric']} needs its direction: set {field}.mode=min or max")


def _dropout_off(run: dict) -> None:
    if "dropout" in run["model"]:
        run["model"]["dropout"] = {site: 0.0 for site in run["model"]["dropout"]}


def _decay_off(run: dict) -> None:
    run["optim"]["weight_decay"] = 0.0
    for group in run["optim"].get("groups") or []:
        if group.get("weight_decay") is not None:
            group["weight_decay"] = 0.0


REGULARIZERS = (
    Regularizer("dropout", "model", "Dropout at the model's dropout sites (p per site; 0 leaves a site out)", _sites,
                key="model.dropout", shown="model.dropout.<site>=0.5", switch_off=_dropout_off),
    Regularizer("weight_decay", "optimizer", "L2 weight decay λ on weights, never biases or norms "
                "(optim.decay_mode: coupled or decoupled)", _decay, key="optim.weight_decay",
                shown="optim.weight_decay=1e-4", switch_off=_decay_off),
    Regularizer("dropconnect", "model", "DropConnect: a Bernoulli mask on a Linear layer's weights per step",
                _probability, 0.5),
    Regularizer("gaussian", "model", "Gaussian dropout at the dropout sites: noise N(1, p/(1−p))", _probability, 0.5),
    Regularizer("spatial", "model", "SpatialDropout1D: whole embedding channels dropped per sample", _probability, 0.2),
    Regularizer("dropblock", "model", "DropBlock: square blocks of feature maps dropped (ppdet's, in the tiny neck)",
                _dropblock, {"p": 0.1, "block_size": 5}),
    Regularizer("l1", "step", "λ·Σ|w| over the weight matrices, added to the loss", _positive, 1e-5),
    Regularizer("maxnorm", "step", "‖incoming weights of each unit‖₂ ≤ c after each step", _positive, 3.0),
    Regularizer("mixup", "step", "Mixup: each batch blended with a shuffled copy, λ ~ Beta(α, α)", _alpha,
                {"alpha": 0.2}, images=True, excludes=("cutmix",)),
    Regularizer("cutmix", "step", "CutMix: a box of a shuffled copy pasted in, λ = the area kept", _alpha,
                {"alpha": 1.0}, images=True),
    Regularizer("cutout", "step", "Cutout: one size × size square per image zeroed", _cutout, {"size": 8}, images=True),
    Regularizer("early_stop", "trainer", "stop after patience epochs without validation progress (metric null: "
                "the task's)", _early_stop, {"patience": 10, "min_delta": 0.0, "metric": None, "mode": None}),
    Regularizer("label_smoothing", "loss", "cross-entropy against the soft labels (1 − ε)·onehot + ε/K",
                _probability, 0.1),
    Regularizer("droppath", "model", "DropPath (stochastic depth): each residual branch dropped per sample, rate p_l = "
                "(l/L)·p (linear) or p (constant) in block l of L", _droppath, {"p": 0.2, "schedule": "linear"}),
)
BY_NAME = {entry.name: entry for entry in REGULARIZERS}
REG_NAMES = tuple(entry.name for entry in REGULARIZERS if not entry.key)  # the reg.<name> entries
IMAGE_AUGMENTATIONS = tuple(entry.name for entry in REGULARIZERS if entry.images)
# Run configs of the first release hold each of these as null while it is off, and a run's folder is named by the
# hash of its run config: they stay so. An entry added since is left out of a run config while it is off, so adding
# one moves no existing run.
RECORDED_WHEN_OFF = ("dropconnect", "gaussian", "spatial", "dropblock", "l1", "maxnorm", "mixup", "cutmix", "cutout",
                     "early_stop")


def supported(task) -> tuple[str, ...]:
    """The task's regularizers in registry order."""
    return tuple(entry.name for entry in REGULARIZERS if entry.name in task.regularizers)


def regimes_of(task) -> list[str]:
    """What a task runs alone: none, each regularizer it supports, and both when it supports the pair."""
    names = [NONE, *supported(task)]
    if all(name in names for name in PAIR):
        names.insert(names.index(PAIR[1]) + 1, BOTH)
    return names


def regime_name(names) -> str:
    """The name of the regime of ``names``: registry order, ``both`` for the pair, ``none`` for no entry."""
    ordered = [entry.name for entry in REGULARIZERS if entry.name in names]
    if all(name in ordered for name in PAIR):
        ordered = [BOTH] + [name for name in ordered if name not in PAIR]
    return "+".join(ordered) or NONE


def resolve(regime, task) -> tuple[str, tuple[str, ...]]:
    """The regime's name and its entries in registry order; one-line UserError when the task cannot apply it."""
    parts = [] if regime is None else str(regime).split("+")
    names = [name for part in parts for name in (PAIR if part == BOTH else () if part == NONE else (part,))]
    wrong = [name for name in dict.fromkeys(names) if name not in task.regularizers or name not in BY_NAME]
    if wrong or not parts:
        which = f" ({', '.join(wrong)})" if parts and wrong != [str(regime)] else ""
        raise UserError(f"regime {regime if parts else '(none given)'} does not apply to task {task.name}{which}: "
                        f"choose from {', '.join(regimes_of(task))}; names joined by + combine "
                        f"(regime=NAME+NAME, regimes=[...])")
    ordered = tuple(entry.name for entry in REGULARIZERS if entry.name in names)
    for name in ordered:
        for other in BY_NAME[name].excludes:
            if other in ordered:
                raise UserError(f"regime {regime} combines {name} and {other}, which exclude each other: keep one")
    return regime_name(ordered), ordered


def check_values(cfg) -> None:
    """Every regularizer value the config holds, on or not: model.dropout.*, optim.weight_decay, each reg.<name>."""
    for entry in REGULARIZERS:
        value = OmegaConf.select(cfg, entry.key) if entry.key else None
        if value is not None:
            entry.check(entry.key, value, entry.default)
    for name, value in (cfg.get("reg") or {}).items():
        if name not in REG_NAMES:
            raise UserError(f"reg.{name} is unknown: choose from {', '.join(REG_NAMES)}")
        if value is not None:
            BY_NAME[name].check(f"reg.{name}", value, BY_NAME[name].default)


def check_regime(cfg, task, regime) -> tuple[str, tuple[str, ...]]:
    """``resolve``, and each of the regime's regularizers has a value in ``cfg``."""
    name, entries = resolve(regime, task)
    for entry in map(BY_NAME.get, entries):
        if OmegaConf.select(cfg, entry.field) is None:
            raise UserError(f"regime {regime} needs a value for {entry.field}, which is null: set e.g. {entry.setting}")
    return name, entries


def apply_regime(run: dict, task, entries: tuple[str, ...]) -> None:
    """Switch off in ``run`` (a run config as plain containers) every regularizer not in ``entries``.

    The core two go to zero; ``reg`` keeps the task's own entries only, null while off (see RECORDED_WHEN_OFF).
    """
    reg = run.get("reg") or {}
    run["reg"] = {}
    for entry in REGULARIZERS:
        if entry.switch_off is not None:
            if entry.name not in entries:
                entry.switch_off(run)
        elif entry.name in entries:
            run["reg"][entry.name] = reg.get(entry.name)
        elif entry.name in RECORDED_WHEN_OFF and entry.name in task.regularizers:
            run["reg"][entry.name] = None


def applied_by(reg: dict | None, applies: str) -> dict:
    """The regularizers of a run config's ``reg`` block that are on and applied by ``applies``."""
    return {name: value for name, value in (reg or {}).items() if value is not None and BY_NAME[name].applies == applies}


def _tasks() -> dict:
    from paddle_reg.task_registry import BUILT_IN, get_task

    return {name: get_task(name) for name in BUILT_IN}


def _applied_by(entry: Regularizer) -> str:
    return APPLIED_BY[entry.applies] + (" (tasks with image inputs; the others apply it themselves)" if entry.images else "")


def markdown_table() -> str:
    """The README's regimes table."""
    tasks = _tasks()
    rows = ["| regime | setting | applied by | what it does | tasks |", "| --- | --- | --- | --- | --- |"]
    for entry in REGULARIZERS:
        names = ", ".join(name for name, task in tasks.items() if entry.name in task.regularizers)
        what = entry.what.replace("|", "\\|")  # a table cell
        rows.append(f"| `{entry.name}` | `{entry.setting}` | {_applied_by(entry)} | {what} | {names} |")
    return "\n".join(rows)


def help_text() -> str:
    """The regime section of ``--help``."""
    tasks = _tasks()
    lines = [f"regime=NAME runs one regime, regimes=[NAME,...] a grid. NAME: {NONE}, {BOTH} (= {'+'.join(PAIR)}), or "
             "one of these, or several joined by + (dropout+maxnorm):"]
    for entry in REGULARIZERS:
        names = ", ".join(name for name, task in tasks.items() if entry.name in task.regularizers)
        lines += [f"  {entry.name:<16} {entry.what}",
                  f"  {'':<16} {entry.setting} · applied by {_applied_by(entry)} · tasks: {names}"]
    return "\n".join(lines)


def register_config() -> None:
    """The reg.<name> defaults as the config ``regularizers`` (listed in configs/config.yaml), and --help's resolver."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="regularizers", node={"reg": {name: BY_NAME[name].default for name in REG_NAMES}})
    if not OmegaConf.has_resolver("paddle_reg_regimes"):
        OmegaConf.register_new_resolver("paddle_reg_regimes", help_text)
