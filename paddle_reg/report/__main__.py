"""``python -m paddle_reg.report <runs folder | task | overrides...>``: (re)write reports from finished runs.

- a runs folder (e.g. ``runs/mnist``): every run under it, one report per task, arms by regime;
- a task name or the same overrides as ``paddle_reg.run`` (``mnist``, ``task=news``, ``experiment=e4``):
  exactly the runs that command trains, missing ones shown as such.
Then ``reports/index.html|pdf``. Nothing is trained.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from paddle_reg.errors import UserError

log = logging.getLogger("paddle_reg")


def _folder_reports(folder: Path, reports_dir: Path) -> list[Path]:
    from paddle_reg.report import write_task_report
    from paddle_reg.store import RunDir

    by_task: dict[str, list[RunDir]] = {}
    for info in sorted(folder.rglob("run.json")):
        run = RunDir(info.parent)
        by_task.setdefault(run.config().get("run", {}).get("task") or run.info().get("task", "?"), []).append(run)
    if not by_task:
        raise UserError(f"no runs under {folder}: a runs folder holds <task>/<regime>/seed<k>-<hash>/run.json; "
                        f"train some with python -m paddle_reg.run task=mnist")
    outs = []
    for task, runs in by_task.items():
        profiles = {r.config().get("resolved", {}).get("profile_name", "?") for r in runs}
        outs.append(write_task_report(runs, reports_dir / task, command=f"python -m paddle_reg.report {folder}",
                                      profile=", ".join(sorted(map(str, profiles))), reports_dir=reports_dir))
    return outs


def _command_report(overrides: list[str]) -> Path:
    from hydra import compose, initialize_config_module

    from paddle_reg.datasource import data_root
    from paddle_reg.run import plan_command, write_report

    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides)
        plan = plan_command(cfg, overrides, data_root(cfg.paths.data_root))
        if not any(spec.run_dir.path.is_dir() for spec in plan.specs):
            raise UserError(f"none of the {len(plan.specs)} runs of `python -m paddle_reg.run {' '.join(overrides)}` "
                            f"exists under {Path(cfg.paths.runs_dir).resolve()}: train them with that command first")
        return write_report(plan, cfg, overrides)


def main(argv: list[str] | None = None) -> int:
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from paddle_reg.run import current_overrides, one_line

    args = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for name in ("weasyprint", "fontTools", "matplotlib"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if not args or args[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if args else 2
    try:
        first = Path(args[0])
        if "=" not in args[0] and (first.is_dir() or "/" in args[0] or first.suffix):
            if not first.is_dir():
                raise UserError(f"runs folder {first} does not exist: give a folder of runs (e.g. runs/mnist) "
                                f"or a task name")
            reports_dir = Path(args[1].split("=", 1)[1]) if args[1:] and args[1].startswith("paths.reports_dir=") \
                else Path("reports")
            outs = _folder_reports(first, reports_dir)
            from paddle_reg.report import write_index

            write_index(reports_dir)
        else:
            overrides = current_overrides([f"task={a}" if "=" not in a else a for a in args])
            outs = [_command_report(overrides)]
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (HydraException, OmegaConfBaseException) as exc:
        print(f"config error: {one_line(exc)}", file=sys.stderr)
        return UserError.exit_code
    for out in outs:
        log.info("report: %s", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
