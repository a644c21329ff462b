"""The tuning report: the study (best values, its trials, Optuna's figures), then the best values re-run over seeds
against ``none`` with the usual statistics (``build_context``'s)."""
from __future__ import annotations

import warnings
from pathlib import Path

from paddle_reg.report import build, plots
from paddle_reg.report.collect import shown_path, task_metrics
from paddle_reg.report.evidence import place_of
from paddle_reg.task_api import ReportMetric


def _figure(plot, study) -> tuple[str | None, str]:
    """One of Optuna's matplotlib visualizations as PNG (base64), or why it could not be drawn."""
    import matplotlib.pyplot as plt
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        warnings.simplefilter("ignore", UserWarning)  # e.g. "parameter importances will be equal" on a tiny study
        try:
            axes = plot(study)
        except (ValueError, RuntimeError, ZeroDivisionError) as exc:
            plt.close("all")
            return None, str(exc)
    figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
    figure.set_size_inches(6.5, 3.4)
    figure.tight_layout()
    return build.base64_png(plots._png(figure)), ""


def objective_metric(task_name: str, metric: str) -> ReportMetric:
    """How the report shows the study's objective, the validation ``metric`` (``error``): in the unit and scale of the
    task's report metric on the test split (``test_error``: %, × 100), as it is when the task has none."""
    shown = next((m for m in task_metrics(task_name) if m.key == f"test_{metric}" and m.minus is None), None)
    label = f"validation {metric}"
    return ReportMetric(f"val_{metric}", label, label, shown.unit, shown.scale) if shown else \
        ReportMetric(f"val_{metric}", label, label)


def study_section(study, storage: str, intervals, specs) -> dict:
    """The study, and what the re-run arms of ``specs`` (``none`` and the best values over seeds) owe to it."""
    import optuna.visualization.matplotlib as vis
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    counts = {state.name.lower(): sum(1 for t in trials if t.state == state) for state in TrialState
              if any(t.state == state for t in trials)}
    best = study.best_trial
    objective = objective_metric(specs[0].config["task"], study.user_attrs["metric"])
    figures = []
    for title, plot in (("Optimization history: each trial's value and the best so far", vis.plot_optimization_history),
                        ("Parameter importances: fANOVA over the complete trials (seeded: the same study gives the "
                         "same figure)", lambda s: vis.plot_param_importances(s, evaluator=FanovaImportanceEvaluator(
                             seed=0))),
                        ("Parallel coordinates: each complete trial's values and result", vis.plot_parallel_coordinate),
                        ("Validation curves of the trials (the pruner's view; pruned ones stop early)",
                         vis.plot_intermediate_values)):
        png, reason = _figure(plot, study)
        figures.append({"title": title, "png": png, "reason": reason})
    reused = next((spec for spec in specs if str(spec.run_dir.path) == best.user_attrs.get("run")), None)
    none = next((spec for spec in specs if spec.arm == "none"), None)
    return {
        "name": study.study_name, "storage": storage, "direction": study.direction.name.lower(),
        "objective": {"label": objective.label, "unit": objective.unit, "scale": objective.scale},
        "counts": counts, "best_number": best.number, "best_value": best.value * objective.scale,
        "best_params": best.params, "best_run": best.user_attrs.get("run", ""),
        "reused": {"arm": reused.arm, "seed": reused.config["seed"]} if reused else None,
        "none_lr": none.config["optim"]["lr"] if none and "optim.lr" in best.params else None,
        "space": [{"key": i.key, "low": i.low, "high": i.high, "log": i.log} for i in intervals],
        "trials": [{"number": t.number, "state": t.state.name.lower(),
                    "value": None if t.value is None else t.value * objective.scale, "params": t.params,
                    "epochs": max(t.intermediate_values) if t.intermediate_values else None,
                    "run": t.user_attrs.get("run", ""), "retry_of": t.user_attrs.get("retry_of")}
                   for t in trials],
        "figures": figures,
    }


def write_study_report(study, storage: str, intervals, specs, order: list[str], out_dir: Path, command: str,
                       profile: str, reports_dir: Path) -> Path:
    """report.html and report.pdf in ``out_dir``: the study, then the re-run arms of ``specs``."""
    out_dir = Path(out_dir)
    labels = {str(spec.run_dir.path): spec.arm for spec in specs}
    context = build.build_context([spec.run_dir for spec in specs], command, profile, labels, order,
                                  reports_dir=reports_dir, place=place_of(out_dir, reports_dir),
                                  measured_in=shown_path(out_dir / "report.html"),
                                  study=study_section(study, storage, intervals, specs))
    build.write_html_pdf(out_dir, build.render("task_report.html.j2", context))
    return out_dir / "report.html"
