"""CLI: ``python -m paddle_reg.run task=mnist [profile=quick] [regimes=[...]] [seeds=[...]] [key=value ...]``.

Trains every regime × seed of the task (finished runs are skipped, interrupted ones resume),
then writes the comparison report. ``--help`` lists the config groups; ``-m`` sweeps values.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from paddle_reg.checks import is_int, positive
from paddle_reg.errors import UserError

log = logging.getLogger("paddle_reg")


@dataclass
class Curve:
    """A learning curve (the ``curve`` block of a curve experiment): every arm at every training-set size."""

    name: str  # its report: reports/curves/<name>/
    sizes: list[int]  # data.train_size of each point
    arms: list[str]  # the arms compared at each size, `none` the baseline
    delta: float  # the smallest effect that matters, in the metric's report unit
    metric: str | None  # a report metric's name; None: the task's headline metric
    points: dict[str, tuple[str, int]]  # planned arm label → (arm, size)


@dataclass
class Plan:
    """The runs of one command and where its report goes."""

    specs: list  # grid.RunSpec, each with its arm label
    order: list[str]  # arm labels in the order they are reported
    report_dir: Path
    claim_id: str | None  # set by a claim experiment (configs/experiment/<id>.yaml)
    curve: Curve | None = None  # set by a curve experiment (configs/experiment/curve_<task>.yaml)

    @property
    def labels(self) -> dict[str, str]:
        """Run folder → arm label."""
        return {str(spec.run_dir.path): spec.arm for spec in self.specs}


def grid_arms(grid: DictConfig) -> list[dict]:
    """The arms of one ``claim.grids`` entry: one per combination of the value lists under its ``set``, labelled by
    its ``label`` template over the keys' last parts (``lr={lr} λ={weight_decay}``), else by every ``part=value``."""
    keys = list(grid.set)
    short = [key.rsplit(".", 1)[-1] for key in keys]
    arms = []
    for values in itertools.product(*(grid.set[key] for key in keys)):
        shown = {name: f"{value:g}" if isinstance(value, float) else str(value) for name, value in zip(short, values)}
        label = grid.label.format(**shown) if grid.get("label") else " ".join(f"{k}={v}" for k, v in shown.items())
        arms.append({"label": label, "regime": grid.regime, "set": dict(zip(keys, values))})
    return arms


def arm_overrides(cfg: DictConfig, task) -> dict[str, list[str]]:
    """Arm label → overrides: one arm per regime (named as the registry names it, so `maxnorm+dropout` and
    `dropout+maxnorm` are one arm), or the arms of a claim experiment: those it lists under ``claim.arms``, then
    those its ``claim.grids`` span."""
    from paddle_reg.registry import resolve

    arms = [*(OmegaConf.select(cfg, "claim.arms") or []),
            *(arm for grid in OmegaConf.select(cfg, "claim.grids") or [] for arm in grid_arms(grid))]
    if not arms:
        regimes = [cfg.regime] if cfg.get("regime") is not None else list(cfg.regimes)
        if not regimes:
            resolve(None, task)
        return {name: [f"regime={name}"] for name in dict.fromkeys(resolve(r, task)[0] for r in regimes)}
    labels = [arm["label"] for arm in arms]
    if len(set(labels)) < len(labels):
        twice = sorted({label for label in labels if labels.count(label) > 1})
        raise UserError(f"claim arms share the label {', '.join(twice)}: give each arm (and grid label) its own")
    return {arm["label"]: [f"regime={arm['regime']}"]
            + [f"{key}={json.dumps(value)}" for key, value in (arm.get("set") or {}).items()] for arm in arms}


def curve_of(cfg: DictConfig, arms: list[str], task) -> Curve | None:
    """The command's learning curve, one point per arm and size labelled ``<arm>@<size>``; None without ``curve``."""
    block = OmegaConf.select(cfg, "curve")
    if block is None:
        return None
    sizes = list(block.get("sizes") or [])
    if not sizes or not all(is_int(n) and n >= 1 for n in sizes) or len(set(sizes)) < len(sizes):
        raise UserError(f"curve.sizes={sizes} must be distinct positive training-set sizes: set e.g. "
                        f"curve.sizes=[500,5000,55000]")
    positive("curve.delta", block.get("delta"), 0.2)
    names = [m.name for m in task.report_metrics]
    if block.get("metric") is not None and block.metric not in names:
        raise UserError(f"curve.metric={block.metric} is not a report metric of task {task.name}: choose one of "
                        f"{', '.join(names)} (or null: {names[0]})")
    points = {f"{arm}@{size}": (arm, size) for size in sorted(sizes) for arm in arms}
    return Curve(str(block.get("name") or cfg.task.name), sorted(sizes), arms, float(block.delta), block.get("metric"),
                 points)


def _arm_configs(cfg: DictConfig, overrides: list[str], task) -> tuple[dict[str, DictConfig], Curve | None]:
    """Compose the command's config once per arm, with the user's overrides applied on top; on a learning curve each
    arm's config once per size, with its ``data.train_size``."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(("regime=", "regimes="))]
    arms = {label: hydra.compose(config_name="config", overrides=kept + extra)
            for label, extra in arm_overrides(cfg, task).items()}
    curve = curve_of(cfg, list(arms), task)
    if curve is None:
        return arms, None
    return {label: OmegaConf.merge(arms[arm], {"data": {"train_size": size}})
            for label, (arm, size) in curve.points.items()}, curve


def task_reports(cfg: DictConfig, reports: Path) -> Path:
    """``reports/<task>`` for the task's default profile, ``reports/<task>/<profile>`` for another one (so ``profile=full``
    does not overwrite the default report)."""
    default = hydra.compose(config_name="config", overrides=[f"task={cfg.task.name}"]).profile_name
    folder = reports / cfg.task.name
    return folder if cfg.profile_name == default else folder / cfg.profile_name


def plan_command(cfg: DictConfig, overrides: list[str], data_root: Path, report_subdir: str = "") -> Plan:
    """Check every arm's config and list its runs (needs an initialized Hydra: the CLI, initialize_config_module)."""
    from paddle_reg import grid
    from paddle_reg.task_registry import get_task
    from paddle_reg.validation import validate

    task = get_task(cfg.task.name)
    arm_cfgs, curve = _arm_configs(cfg, overrides, task)
    for arm_cfg in arm_cfgs.values():
        validate(arm_cfg, task, [arm_cfg.regime])
    runs_dir = Path(cfg.paths.runs_dir).resolve()
    specs = grid.plan(arm_cfgs, list(cfg.seeds), runs_dir, data_root)
    claim_id = OmegaConf.select(cfg, "claim.id")
    reports = Path(cfg.paths.reports_dir)
    if curve is not None:
        report_dir = reports / "curves" / curve.name / report_subdir
    else:
        report_dir = reports / "claims" / claim_id.lower() if claim_id else task_reports(cfg, reports) / report_subdir
    return Plan(specs, list(arm_cfgs), report_dir, claim_id, curve)


def write_report(plan: Plan, cfg: DictConfig, overrides: list[str]) -> Path:
    from paddle_reg.report import write_curve_report, write_index, write_task_report

    run_dirs, command = [s.run_dir for s in plan.specs], reproduce_command(overrides)
    if plan.curve is not None:
        c = plan.curve
        out = write_curve_report(run_dirs, plan.report_dir, cfg.task.name, command=command, profile=cfg.profile_name,
                                 labels=plan.labels, points=c.points, arms=c.arms, delta=c.delta, metric=c.metric)
    else:
        out = write_task_report(run_dirs, plan.report_dir, command=command, profile=cfg.profile_name,
                                labels=plan.labels, order=plan.order, claim_id=plan.claim_id,
                                reports_dir=Path(cfg.paths.reports_dir),
                                published=OmegaConf.to_container(cfg.published, resolve=True))
    write_index(Path(cfg.paths.reports_dir))
    return out


def reproduce_command(overrides: list[str], module: str = "paddle_reg.run") -> str:
    """The command a report prints, quoted for a shell (``{low:0.1,high:0.5}`` would otherwise brace-expand)."""
    return " ".join([f"python -m {module}", *map(shlex.quote, overrides)])


def run_command(cfg: DictConfig, overrides: list[str], report_subdir: str = "") -> int:
    """Check everything (every arm's config, then its data), then train and report."""
    from paddle_reg.denormals import set_flush_denormal

    set_flush_denormal(cfg.flush_denormal is True)  # first: before Paddle is imported and starts threads
    from paddle_reg import grid
    from paddle_reg.datasource import data_root
    from paddle_reg.executors import execute_all, executor_for
    from paddle_reg.task_registry import get_task

    task = get_task(cfg.task.name)
    root = data_root(cfg.paths.data_root)
    plan = plan_command(cfg, overrides, root, report_subdir)
    data = grid.check_data(task, plan.specs)  # a missing or corrupt file stops here, before any run is recorded
    shape = f"{len(plan.curve.arms)} arms × {len(plan.curve.sizes)} training-set sizes" if plan.curve \
        else f"{len(plan.order)} arms"
    runs_dir = Path(cfg.paths.runs_dir).resolve()
    log.info("%s: %s × %d seeds, profile %s, runs in %s (executor %s)", cfg.task.name, shape, len(cfg.seeds),
             cfg.profile_name, runs_dir, cfg.executor)
    summaries = execute_all(plan.specs, executor_for(cfg, runs_dir), cfg.progress)
    probe = OmegaConf.select(cfg, "claim.probe")
    if probe:
        from paddle_reg.probes import run_probes

        run_probes([s.run_dir for s in plan.specs], task, data, OmegaConf.to_container(probe))
    if cfg.report:
        log.info("report: %s", write_report(plan, cfg, overrides))
    failed = [s["label"] for s in summaries if s["status"] == "failed"]
    if failed:
        log.error("%d run(s) failed (see run.json in their folders): %s", len(failed), ", ".join(failed))
    return 1 if failed else 0


@hydra.main(version_base="1.3", config_path="pkg://paddle_reg.configs", config_name="config")
def _hydra_entry(cfg: DictConfig) -> None:
    hydra_cfg = HydraConfig.get()
    # each job of a -m sweep gets its own report folder, named by its overrides
    subdir = hydra_cfg.job.override_dirname.replace("/", "_") if hydra_cfg.mode == RunMode.MULTIRUN else ""
    try:
        code = run_command(cfg, list(hydra_cfg.overrides.task), subdir)
    except UserError as exc:  # exit here: Hydra would print its own banner for an exception
        _fail(f"error: {exc}", exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted: finished runs are kept; the same command resumes the rest", 130)
    if code:
        sys.exit(code)


def _fail(message: str, code: int) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def one_line(exc: BaseException) -> str:
    """Hydra's messages span lines (options listed below); keep the facts on one line."""
    lines = []
    for line in str(exc).splitlines():
        if line.startswith("Config search path"):
            break
        if line.strip():
            lines.append(line.strip())
    return " ".join(lines)


def current_overrides(args: list[str]) -> list[str]:
    """``args`` with the old spelling ``+experiment=<id>`` as ``experiment=<id>`` (config.yaml lists the group now)."""
    return [arg[1:] if arg.startswith("+experiment=") else arg for arg in args]


def launch(hydra_entry, hydra_overrides: tuple[str, ...] = ()) -> None:
    """Runs a Hydra entry point of the suite (this command, ``paddle_reg.tune``): config errors as one line, exit 2.
    ``hydra_overrides`` (``hydra/help=tune``) go before the user's; Hydra keeps them out of the task overrides."""
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let errors reach the handlers below instead of Hydra's printer
    sys.argv[1:] = [*hydra_overrides, *current_overrides(sys.argv[1:])]
    try:
        hydra_entry()
    except (HydraException, OmegaConfBaseException) as exc:
        _fail(f"config error: {one_line(exc)}", UserError.exit_code)


def main() -> None:
    launch(_hydra_entry)


if __name__ == "__main__":
    main()
