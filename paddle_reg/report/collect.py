"""Read run folders into per-run records and per-regime summaries (mean ± std over seeds)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats

from paddle_reg.store import RunDir
from paddle_reg.task_api import ReportMetric

REGIME_ORDER = ("none", "dropout", "weight_decay", "both")


def report_metrics(task_name: str) -> tuple[ReportMetric, ...]:
    from paddle_reg.tasks import get_task

    return get_task(task_name).report_metrics


@dataclass
class RunRecord:
    regime: str
    seed: int
    status: str
    path: str
    final: dict
    history: list[dict]
    info: dict
    run_config: dict

    @property
    def metrics(self) -> dict[str, float]:
        """The task's report metrics of the best-validation checkpoint, plus the mean training time per epoch."""
        if self.status != "finished":
            return {}
        values = {m.name: m.value(self.final) for m in report_metrics(self.run_config["task"])}
        values["epoch_time_s"] = float(np.mean([h["epoch_time_s"] for h in self.history]))
        return values


@dataclass
class RegimeSummary:
    regime: str
    runs: list[RunRecord]
    stats: dict[str, tuple[float, float, int]] = field(default_factory=dict)  # metric → (mean, std, n)

    @property
    def status_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for run in self.runs:
            counts[run.status] = counts.get(run.status, 0) + 1
        return counts

    def values(self, metric: str) -> list[float]:
        """``metric`` of each finished run, in seed order."""
        return [run.metrics[metric] for run in self.runs if run.status == "finished"]


def _shown_path(path: Path) -> str:
    """Relative to the working directory when inside it, so committed reports carry no machine paths."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_runs(run_dirs: list[RunDir]) -> list[RunRecord]:
    records = []
    for run_dir in run_dirs:
        info = run_dir.info()
        run = run_dir.config().get("run", {})
        records.append(RunRecord(regime=run.get("regime", info.get("regime", "?")), seed=run.get("seed", -1),
                                 status=info.get("status") or "not started", path=_shown_path(run_dir.path),
                                 final=run_dir.final(), history=run_dir.history(), info=info, run_config=run))
    return records


def summarize(records: list[RunRecord]) -> list[RegimeSummary]:
    """One summary per regime in the canonical order; std is the sample std (ddof=1), 0 for a single run."""
    regimes = sorted({r.regime for r in records}, key=lambda r: (REGIME_ORDER + (r,)).index(r))
    summaries = []
    for regime in regimes:
        runs = sorted((r for r in records if r.regime == regime), key=lambda r: r.seed)
        summary = RegimeSummary(regime, runs)
        finished = next((r for r in runs if r.status == "finished"), None)
        for metric in (finished.metrics if finished else ()):
            values = np.array(summary.values(metric), dtype=float)
            std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            summary.stats[metric] = (float(values.mean()), std, len(values))
        summaries.append(summary)
    return summaries


@dataclass
class Delta:
    """Difference of regime means against the baseline with a Welch t 95% confidence interval."""

    diff: float
    low: float | None
    high: float | None
    p_value: float | None


def welch_delta(values: list[float], baseline: list[float], level: float = 0.95) -> Delta:
    """mean(values) − mean(baseline); CI and two-sided p from Welch's t (unequal variances, Satterthwaite df)."""
    a, b = np.asarray(values, float), np.asarray(baseline, float)
    diff = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return Delta(diff, None, None, None)
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return Delta(diff, diff, diff, None)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    p_value = float(2 * stats.t.sf(abs(diff) / se, df))
    return Delta(diff, diff - half, diff + half, p_value)


def deltas_vs_none(summaries: list[RegimeSummary], metric: str) -> dict[str, Delta]:
    base = next((s for s in summaries if s.regime == "none"), None)
    if base is None or not base.values(metric):
        return {}
    return {s.regime: welch_delta(s.values(metric), base.values(metric))
            for s in summaries if s.regime != "none" and s.values(metric)}
