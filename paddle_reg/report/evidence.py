"""The places whose runs measure claims: one report's arms as ``Evidence``, kept in its summary.json and read back.

A place is a report folder named by its path under the reports directory: ``claims/e4`` (a claim experiment),
``mnist`` (a task's grid), ``mnist/<sweep job>``. Verdicts, the regime diagnosis of the arms, the index's forest plot
and a report's key findings are computed from Evidence, so the index judges every claim again from the summaries
alone.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from paddle_reg.report.collect import RegimeSummary, RunRecord, baseline, report_metrics, summarize
from paddle_reg.report.compare import Comparison, compare_arms
from paddle_reg.report.diagnosis import ArmDiagnosis, diagnose_arms
from paddle_reg.task_api import ReportMetric

SUMMARY_FILE = "summary.json"


@dataclass
class Evidence:
    """What one report measured: its arms (summaries of their runs) and the task's metrics."""

    task: str
    place: str
    summaries: list[RegimeSummary]
    metrics: tuple[ReportMetric, ...]
    command: str
    measured_in: str  # the report's HTML file as the reports show it
    profile: str = ""
    environment: dict = field(default_factory=dict)

    def arm(self, label: str) -> RegimeSummary | None:
        return next((s for s in self.summaries if s.regime == label), None)

    def metric(self, name: str) -> ReportMetric | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def headline(self) -> ReportMetric:
        return self.metrics[0]

    @property
    def base(self) -> RegimeSummary | None:
        return baseline(self.summaries)

    @cached_property
    def diagnoses(self) -> dict[str, ArmDiagnosis]:
        """Each arm's regime diagnosis (converged? overfitting?) from its runs' curves of the headline metric."""
        return diagnose_arms(self.summaries, self.headline) if self.metrics else {}

    def setting(self, summary: RegimeSummary, path: str):
        """A value of the arm's effective run config, e.g. ``optim.weight_decay``."""
        value = next((r.run_config for r in summary.runs if r.run_config), {})
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def ranked(self, metric: ReportMetric) -> list[RegimeSummary]:
        """The arms with a mean of ``metric``, best first (none for a metric without a better side)."""
        if metric.better not in ("lower", "higher"):
            return []
        arms = [s for s in self.summaries if metric.name in s.stats]
        return sorted(arms, key=lambda s: s.stats[metric.name][0], reverse=metric.better == "higher")

    def compare(self, arm: RegimeSummary, metric: str, base: RegimeSummary | None = None) -> Comparison:
        return compare_arms(arm, base or self.base, metric)

    def versus_none(self, metric: str) -> dict[str, Comparison]:
        """Every other arm with values of ``metric`` against `none`."""
        base = self.base
        if base is None or not base.values(metric):
            return {}
        return {s.regime: self.compare(s, metric) for s in self.summaries if s is not base and s.values(metric)}

    def to_json(self) -> dict:
        """The part of summary.json Evidence is read back from."""
        return {"arms": [s.regime for s in self.summaries],
                "runs": [r.to_json() for s in self.summaries for r in s.runs]}


def place_of(out_dir: Path, reports_dir: Path | None) -> str:
    """The report folder's path under ``reports_dir`` (its own name when it lies elsewhere)."""
    out_dir = Path(out_dir).resolve()
    try:
        return out_dir.relative_to(Path(reports_dir).resolve()).as_posix() if reports_dir is not None else out_dir.name
    except ValueError:
        return out_dir.name


def from_summary(summary: dict, place: str) -> Evidence:
    records = [RunRecord.from_json(r) for r in summary["runs"]]
    return Evidence(summary["task"], place, summarize(records, summary["arms"]),
                    report_metrics(summary["task"]), summary["command"], summary["report"], summary["profile"],
                    summary["environment"])


def read_places(reports_dir: Path) -> dict[str, Evidence]:
    """Every report's Evidence under ``reports_dir``, by place (a summary without runs holds none)."""
    places = {}
    for path in sorted(Path(reports_dir).rglob(SUMMARY_FILE)):
        summary = json.loads(path.read_text(encoding="utf-8"))
        if summary.get("runs"):
            place = path.parent.relative_to(reports_dir).as_posix()
            places[place] = from_summary(summary, place)
    return places
