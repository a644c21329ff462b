"""Learning-curve reports: each arm's headline metric and its difference to `none` against the training-set size, and
at which sizes each regularizer helps, hurts or is equivalent to none.

At each size an arm is compared with `none` over the seeds both finished, paired by seed: a seed's runs share their
initialization and batch order and, with ``data.resample_with_seed``, their training subset. With d the per-seed
differences (arm − none) in the metric's report unit and δ the smallest effect that matters:

- equivalent: the 90 % t-interval of mean(d) lies inside (−δ, +δ) (two one-sided tests, TOST, each at α = 0.05);
- helps / hurts: the 95 % t-interval excludes 0 on the metric's better / worse side and |mean(d)| > δ;
- inconclusive: anything else, or fewer than 2 paired seeds.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from paddle_reg.report import diagnosis, plots
from paddle_reg.report.build import render, write_html_pdf
from paddle_reg.report.collect import RegimeSummary, read_runs, report_metrics, shown_path, summarize
from paddle_reg.store import RunDir, write_atomic
from paddle_reg.task_api import ReportMetric

HELPS, HURTS, EQUIVALENT, INCONCLUSIVE = "helps", "hurts", "equivalent", "inconclusive"
CI_LEVEL = 0.95  # the interval of the effect and of each point's mean
TOST_LEVEL = 0.90  # TOST at α = 0.05: both one-sided tests reject exactly when this interval lies inside ±δ
BASELINE = "none"


@dataclass
class Comparison:
    """arm − none at one size: the mean paired difference, its intervals and tests, and the verdict."""

    diff: float
    low: float | None  # the 95 % interval
    high: float | None
    low90: float | None  # the 90 % interval TOST decides on
    high90: float | None
    p_value: float | None  # two-sided paired t-test against 0
    tost_p: float | None  # the larger one-sided p of the tests against −δ and +δ
    n: int  # paired seeds
    verdict: str


def _interval(result, level: float) -> tuple[float, float]:
    ci = result.confidence_interval(confidence_level=level)
    return float(ci.low), float(ci.high)


def verdict(diff: float, ci95: tuple[float, float], ci90: tuple[float, float], delta: float, better: str) -> str:
    """The rule of the module doc on one comparison; ``better`` is "lower" or "higher"."""
    if -delta < ci90[0] and ci90[1] < delta:
        return EQUIVALENT
    if abs(diff) > delta and (ci95[0] > 0 or ci95[1] < 0):
        return HELPS if (ci95[1] < 0) == (better == "lower") else HURTS
    return INCONCLUSIVE


def compare(values: dict[int, float], baseline: dict[int, float], delta: float, better: str) -> Comparison:
    """``values`` − ``baseline`` paired by seed (seed → metric), judged against ``delta``."""
    if better not in ("lower", "higher"):
        raise ValueError(f"a curve's metric needs a better side, not {better!r}")
    seeds = sorted(set(values) & set(baseline))
    d = np.array([values[s] - baseline[s] for s in seeds], dtype=float)
    diff = float(d.mean()) if len(d) else float("nan")
    if len(d) < 2:
        return Comparison(diff, None, None, None, None, None, None, len(d), INCONCLUSIVE)
    if np.ptp(d) == 0.0:  # every seed moved by the same amount: the intervals shrink to that point
        ci95 = ci90 = (diff, diff)
        p_value, tost_p = float(diff == 0.0), float(abs(diff) >= delta)
    else:
        test = stats.ttest_1samp(d, 0.0)
        ci95, ci90, p_value = _interval(test, CI_LEVEL), _interval(test, TOST_LEVEL), float(test.pvalue)
        tost_p = max(float(stats.ttest_1samp(d, -delta, alternative="greater").pvalue),
                     float(stats.ttest_1samp(d, delta, alternative="less").pvalue))
    return Comparison(diff, *ci95, *ci90, p_value, tost_p, len(d), verdict(diff, ci95, ci90, delta, better))


@dataclass
class Point:
    """One arm at one size: the metric over its finished seeds, the 95 % t-interval of the mean, the comparison."""

    arm: str
    size: int
    mean: float | None
    std: float | None
    n: int
    low: float | None
    high: float | None
    planned: int  # runs planned
    comparison: Comparison | None = None  # None for `none` itself, or when either side has no finished run
    regime: str = ""  # the regime diagnosis's tag (report/diagnosis.py), e.g. "converged · overfits"


def point(arm: str, size: int, summary: RegimeSummary | None, metric: str) -> Point:
    values = np.array(summary.values(metric) if summary else [], dtype=float)
    planned = len(summary.runs) if summary else 0
    if not len(values):
        return Point(arm, size, None, None, 0, None, None, planned)
    mean = float(values.mean())
    if len(values) < 2:
        return Point(arm, size, mean, 0.0, 1, None, None, planned)
    low, high = _interval(stats.ttest_1samp(values, 0.0), CI_LEVEL) if np.ptp(values) else (mean, mean)
    return Point(arm, size, mean, float(values.std(ddof=1)), len(values), low, high, planned)


def _joined(items: list) -> str:
    """``500, 2,400 and 55,000``: sizes (with thousands separators) or phrases, as a sentence lists them."""
    shown = [f"{s:,}" if isinstance(s, int) else s for s in items]
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def sentences(points: dict[str, dict[int, Point]], arms: list[str], delta: float, unit: str) -> list[str]:
    """Per arm: at which training-set sizes it helps, hurts, is equivalent to none or is inconclusive."""
    said = {HELPS: "helps", HURTS: "hurts", EQUIVALENT: f"is equivalent to none (within ±{delta:g} {unit})",
            INCONCLUSIVE: "is inconclusive", None: "was not measured"}
    lines = []
    for arm in arms:
        if arm == BASELINE:
            continue
        by_verdict: dict[str | None, list[int]] = {}
        for size, p in points[arm].items():
            by_verdict.setdefault(p.comparison.verdict if p.comparison else None, []).append(size)
        parts = [f"{said[v]} at {_joined(sizes)}" for v, sizes in sorted(by_verdict.items(),
                                                                               key=lambda item: item[1][0])]
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
                if base and mine and base.by_seed(head.name) and mine.by_seed(head.name):
                    grid[arm][size].comparison = compare(mine.by_seed(head.name), base.by_seed(head.name), delta,
                                                         head.better)
    first = next((r for r in records if r.info.get("environment")), None)
    train = first.run_config.get("train", {}) if first else {}
    unit = "pp" if head.unit == "%" else head.unit
    return {
        "title": f"{task}: learning curves", "task": task, "profile": profile, "command": command,
        "generated": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "measured_in": measured_in,
        "environment": first.info["environment"] if first else {}, "seeds": sorted({r.seed for r in records}),
        "metric": head, "delta": delta, "delta_unit": unit, "arms": arms, "sizes": sizes, "points": grid,
        "steps": train.get("steps"), "batch_size": train.get("batch_size"), "epochs": train.get("epochs"),
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
        "rules": {"level": CI_LEVEL, "tost_level": TOST_LEVEL},
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
        "points": {arm: {str(size): {k: v for k, v in asdict(p).items() if k not in ("arm", "size")}
                         for size, p in by_size.items()} for arm, by_size in context["points"].items()},
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
    write_atomic(out_dir / "summary.json", lambda tmp: tmp.write_text(json.dumps(_summary_json(context), indent=2,
                                                                                 ensure_ascii=False)))
    write_atomic(out_dir / "runs.csv", lambda tmp: tmp.write_text(_runs_csv(context["records"], points,
                                                                            context["metric"])))
    write_html_pdf(out_dir, html)
    return out_dir / "report.html"
