"""Learning-curve reports: each arm's headline metric and its difference to `none` against the training-set size, and
at which sizes each regularizer helps, hurts or is equivalent to none.

A curve point is judged as a claim part is, with the curve's δ: the arm is compared with `none` at that size by the
analysis the runs' structure calls for (report/compare.py: paired by seed when both ran the same seeds on the same
architecture and data, Welch otherwise), and that comparison is read as three claim parts (``readings``) by the
claims' rules (report/verdicts.py, ``Margin.judge``), including their edge cases: fewer than 3 runs a side, zero
spread, and the detectable effect of an inconclusive point.
"""
from __future__ import annotations

import base64
import csv
import io
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from paddle_reg.report import diagnosis, plots
from paddle_reg.report.build import render, write_html_pdf, write_summary
from paddle_reg.report.collect import RegimeSummary, provenance, read_runs, report_metrics, shown_path, summarize
from paddle_reg.report.compare import DESIGN_RULE, WELCH, Comparison, compare_arms, mean_interval
from paddle_reg.report.verdicts import (EDGE_RULE, INCONCLUSIVE, NOT_MEASURED, SUPPORTED, Margin, describe, power,
                                        unit_of)
from paddle_reg.store import RunDir, write_atomic
from paddle_reg.task_api import ReportMetric

HELPS, HURTS, EQUIVALENT = "helps", "hurts", "equivalent"
BASELINE = "none"
CURVE_RULE = ("A point is read as three claim parts with the curve's δ and judged by the claims' rules: it helps when "
              "a change of at least δ to the metric's better side is supported (95 % CI beyond δ on that side), hurts "
              "when one to the worse side is, and is equivalent to none when no effect is (90 % CI inside ±δ: two "
              "one-sided tests, TOST, at α = 0.05); it is inconclusive otherwise.")


def readings(delta: float, better: str) -> dict[str, Margin]:
    """The claim parts a point is read as: a change of at least δ to the better side, to the worse side; none (±δ)."""
    if better not in ("lower", "higher"):
        raise ValueError(f"a curve's metric needs a better side, not {better!r}")
    reason = "the curve's smallest effect that matters (curve.delta)"
    worse = "higher" if better == "lower" else "lower"
    return {HELPS: Margin(better, delta, reason), HURTS: Margin(worse, delta, reason),
            EQUIVALENT: Margin("none", delta, reason)}


def judge(c: Comparison, delta: float, better: str) -> tuple[str, str]:
    """(verdict, the condition that decided it): the reading the claims' rules support, else inconclusive; not
    measured below their minimum of runs."""
    for verdict, margin in readings(delta, better).items():
        found, why = margin.judge(c)
        if found in (SUPPORTED, NOT_MEASURED):
            return (verdict if found == SUPPORTED else NOT_MEASURED), why
    return INCONCLUSIVE, "the 95 % CI is not beyond δ on either side and the 90 % CI not inside ±δ"


@dataclass
class Point:
    """One arm at one size: the metric over its finished seeds, the 95 % t-interval of the mean, and (for an arm other
    than `none`) its comparison with `none` and the verdict on it."""

    arm: str
    size: int
    mean: float | None
    std: float | None
    n: int
    low: float | None
    high: float | None
    planned: int  # runs planned
    regime: str = ""  # the regime diagnosis's tag (report/diagnosis.py), e.g. "converged · overfits"
    comparison: Comparison | None = None  # None for `none` itself, or when either side has no finished run
    verdict: str | None = None  # None for `none` itself
    why: str = ""  # the condition that decided the verdict
    evidence: str = ""  # the comparison in words (verdicts.describe)
    power: str = ""  # an inconclusive point's detectable effect and the seeds that would detect δ

    def decide(self, c: Comparison | None, delta: float, metric: ReportMetric) -> None:
        """Set the comparison with `none` (None: a side without finished runs) and the verdict on it."""
        unit = unit_of(metric)
        if c is None:
            self.verdict, self.why, self.evidence = NOT_MEASURED, "not measured (n = 0)", "no finished runs to compare"
            return
        self.comparison, self.evidence = c, describe(c, unit)
        self.verdict, self.why = judge(c, delta, metric.better)
        if self.verdict == INCONCLUSIVE:
            self.power = power(c, readings(delta, metric.better)[EQUIVALENT], unit)

    @property
    def sample(self) -> str:
        """The comparison's n: pairs, or each side's runs for Welch."""
        c = self.comparison
        if c is None:
            return "n = 0"
        return f"n = {c.n} vs {c.n_base}" if c.analysis == WELCH else f"n = {c.n}"

    def to_json(self) -> dict:
        data = {k: v for k, v in asdict(self).items() if k not in ("arm", "size")}
        data["comparison"] = self.comparison.to_json() if self.comparison else None
        return data


def point(arm: str, size: int, summary: RegimeSummary | None, metric: str) -> Point:
    m = mean_interval(summary.values(metric) if summary else [])
    return Point(arm, size, m.value, m.std, m.n, m.low, m.high, len(summary.runs) if summary else 0)


def _joined(items: list) -> str:
    """``500, 2,400 and 55,000``: sizes (with thousands separators) or phrases, as a sentence lists them."""
    shown = [f"{s:,}" if isinstance(s, int) else s for s in items]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def sentences(points: dict[str, dict[int, Point]], arms: list[str], delta: float, unit: str) -> list[str]:
    """Per arm: at which training-set sizes it helps, hurts, is equivalent to none, is inconclusive or not measured."""
    said = {HELPS: "helps", HURTS: "hurts", EQUIVALENT: f"is equivalent to none (within ±{delta:g} {unit})",
            INCONCLUSIVE: "is inconclusive", NOT_MEASURED: "is not measured"}
    lines = []
    for arm in arms:
        if arm == BASELINE:
            continue
        by_verdict: dict[str, list] = {}
        for size, p in points[arm].items():
            by_verdict.setdefault(p.verdict, []).append(f"{size:,} ({p.sample})" if p.verdict == NOT_MEASURED else size)
        parts = [f"{said[v]} at {_joined(sizes)}" for v, sizes in by_verdict.items()]
        lines.append(f"{arm} {_joined(parts)} training samples.")
    return lines


def _runs_csv(records, points: dict[str, tuple[str, int]], metric: ReportMetric) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["arm", "size", "regime", "seed", "status", metric.name, "path"])
    for r in records:
        arm, size = points[r.group]
        writer.writerow([arm, size, r.regime, r.seed, r.status, r.metrics.get(metric.name, ""), r.path])
    return out.getvalue()


def build_curve_context(run_dirs: list[RunDir], task: str, command: str, profile: str, labels: dict[str, str],
                        points: dict[str, tuple[str, int]], arms: list[str], delta: float, metric: str | None,
                        measured_in: str = "") -> dict:
    records = read_runs(run_dirs, labels)
    summaries = {s.regime: s for s in summarize(records, list(points))}
    metrics = report_metrics(task)
    head = next(m for m in metrics if m.name == (metric or metrics[0].name))
    sizes = sorted({size for _, size in points.values()})
    label_of = {point_key: label for label, point_key in points.items()}
    grid = {arm: {size: point(arm, size, summaries.get(label_of[(arm, size)]), head.name) for size in sizes}
            for arm in arms}
    diagnoses = {label: diagnosis.diagnose(summary, head) for label, summary in summaries.items()}
    for label, found in diagnoses.items():
        arm, size = points[label]
        grid[arm][size].regime = found.tag
    baseline = {size: diagnoses.get(label_of.get((BASELINE, size))) for size in sizes}
    improving = [size for size, found in baseline.items()
                 if found is not None and found.convergence.status == diagnosis.IMPROVING]
    if BASELINE in grid:
        for arm in arms:
            if arm == BASELINE:
                continue
            for size in sizes:
                base, mine = summaries.get(label_of[(BASELINE, size)]), summaries.get(label_of[(arm, size)])
                measured = base and mine and base.by_seed(head.name) and mine.by_seed(head.name)
                grid[arm][size].decide(compare_arms(mine, base, head.name) if measured else None, delta, head)
    first = next((r for r in records if r.info.get("environment")), None)
    train = first.run_config.get("train", {}) if first else {}
    unit = "pp" if head.unit == "%" else head.unit
    return {
        "title": f"{task}: learning curves", "task": task, "profile": profile, "command": command,
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "measured_in": measured_in,
        "environment": first.info["environment"] if first else {}, "provenance": provenance(records),
        "seeds": sorted({r.seed for r in records}),
        "metric": head, "delta": delta, "delta_unit": unit, "arms": arms, "sizes": sizes, "points": grid,
        "steps": train.get("steps"), "batch_size": train.get("batch_size"), "epochs": train.get("epochs"),
        "patience": train.get("patience"), "stopped_early": sum(bool(r.final.get("stopped_early")) for r in records),
        "finished": sum(r.status == "finished" for r in records),
        "resampled": bool(first and first.run_config.get("data", {}).get("resample_with_seed")),
        "sentences": sentences(grid, arms, delta, unit) if BASELINE in grid else [],
        "baseline_warning": f"At {_joined(improving)} training samples the none arm was still improving when "
                            f"training ended: the deltas there measure this budget, not converged training."
        if improving else None,
        "diagnoses": diagnoses, "diagnosis_rules": (diagnosis.CONVERGENCE_RULE, diagnosis.OVERFITTING_RULE),
        "summaries": summaries,
        "records": sorted(records, key=lambda r: (points[r.group][1], arms.index(points[r.group][0]), r.seed)),
        "labels": points,
        "figure": base64.b64encode(plots.size_curves(grid, arms, sizes, delta, head.label, head.unit, unit)).decode(),
        "rules": (CURVE_RULE, DESIGN_RULE, EDGE_RULE),
    }


def _summary_json(context: dict) -> dict:
    head = context["metric"]
    return {
        "kind": "learning_curve", "task": context["task"], "profile": context["profile"],
        "command": context["command"], "generated": context["generated"], "report": context["measured_in"],
        "environment": context["environment"], "sizes": context["sizes"], "arms": context["arms"],
        "metric": {"name": head.name, "label": head.label, "unit": head.unit, "better": head.better},
        "metrics": [{"name": head.name, "label": head.label, "unit": head.unit, "better": head.better}],
        # each point as an arm, as every report's summary holds its arms (reports/index.json lists them)
        "regimes": {label: {"status": s.status_counts,
                            "stats": {head.name: dict(zip(("mean", "std", "n"), s.stats[head.name]))}
                            if head.name in s.stats else {},
                            "diagnosis": context["diagnoses"][label].to_json()}
                    for label, s in context["summaries"].items()},
        "delta": context["delta"], "steps": context["steps"], "resample_with_seed": context["resampled"],
        "points": {arm: {str(size): p.to_json() for size, p in by_size.items()}
                   for arm, by_size in context["points"].items()},
        "sentences": context["sentences"], "baseline_warning": context["baseline_warning"],
    }


def write_curve_report(run_dirs: list[RunDir], out_dir: Path, task: str, command: str, profile: str,
                       labels: dict[str, str], points: dict[str, tuple[str, int]], arms: list[str], delta: float,
                       metric: str | None = None) -> Path:
    """Write report.html, report.pdf, summary.json and runs.csv of ``task``'s learning curve; ``points`` maps each arm
    label (``labels``: run folder → label) to its (arm, training-set size); ``metric`` None: the task's headline."""
    out_dir = Path(out_dir)
    context = build_curve_context(run_dirs, task, command, profile, labels, points, arms, delta, metric,
                                  shown_path(out_dir / "report.html"))
    html = render("curve_report.html.j2", context)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_summary(out_dir, _summary_json(context))
    write_atomic(out_dir / "runs.csv", lambda tmp: tmp.write_text(_runs_csv(context["records"], points,
                                                                            context["metric"])))
    write_html_pdf(out_dir, html)
    return out_dir / "report.html"
