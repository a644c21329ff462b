"""CLI: ``python -m paddle_reg.run task=mnist [profile=quick] [regimes=[...]] [seeds=[...]] [key=value ...]``.

Trains every regime × seed of the task (finished runs are skipped, interrupted ones resume),
then writes the comparison report. ``--help`` lists the config groups; ``-m`` sweeps values.
"""
from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from paddle_reg.errors import UserError

log = logging.getLogger("paddle_reg")


def _regime_configs(cfg: DictConfig, overrides: list[str], regimes: list[str]) -> dict[str, DictConfig]:
    """Compose the command's config once per regime, with the user's overrides applied on top."""
    kept = [o for o in overrides if not o.lstrip("+~").startswith(("regime=", "regimes="))]
    return {name: hydra.compose(config_name="config", overrides=kept + [f"regime={name}"]) for name in regimes}


def reproduce_command(overrides: list[str]) -> str:
    return " ".join(["python -m paddle_reg.run", *map(shlex.quote, overrides)])


def run_command(cfg: DictConfig, overrides: list[str], report_subdir: str = "") -> int:
    from paddle_reg import grid
    from paddle_reg.datasource import data_root
    from paddle_reg.tasks import get_task
    from paddle_reg.validation import validate

    task = get_task(cfg.task.name)
    regimes = [cfg.regime.name] if cfg.get("regime") else list(cfg.regimes)
    validate(cfg, task, regimes)
    root = data_root(cfg.paths.data_root)
    data = grid.load_data(task, cfg, root)  # a missing or corrupt file stops here, before any run is recorded
    if len(data.train) < cfg.train.batch_size:
        raise UserError(f"train.batch_size={cfg.train.batch_size} is larger than the {len(data.train)} training "
                        f"samples: lower it or raise data.train_size")
    regime_cfgs = _regime_configs(cfg, overrides, regimes)
    runs_dir = Path(cfg.paths.runs_dir).resolve()
    specs = grid.plan(regime_cfgs, list(cfg.seeds), runs_dir, root, cfg.threads, cfg.device)
    log.info("%s: %d regimes × %d seeds, profile %s, runs in %s", cfg.task.name, len(regimes), len(cfg.seeds),
             cfg.profile_name, runs_dir)
    summaries = grid.execute_all(specs, cfg.jobs, cfg.progress)
    if cfg.report:
        from paddle_reg.report import write_task_report

        out = write_task_report([s.run_dir for s in specs], Path(cfg.paths.reports_dir) / cfg.task.name / report_subdir,
                                command=reproduce_command(overrides), profile=cfg.profile_name)
        log.info("report: %s", out)
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


def main() -> None:
    os.environ["HYDRA_FULL_ERROR"] = "1"  # let errors reach the handlers below instead of Hydra's printer
    try:
        _hydra_entry()
    except (HydraException, OmegaConfBaseException) as exc:
        _fail(f"config error: {one_line(exc)}", UserError.exit_code)


if __name__ == "__main__":
    main()
