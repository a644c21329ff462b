"""Published figures beside the arms that reproduce them: the ``published`` block of a task profile (README,
"Published figures").

A figure names the regime it corresponds to (null: another model, shown for context only), a report metric (null: the
headline) and its value in that metric's report unit. Against the arm of that regime: the arm's mean over its finished
runs with the 95 % t-interval of the mean (``compare.mean_interval``), the gap measured − published, and whether the
published value lies inside that interval; else how far the measured mean is on the metric's worse or better side.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from paddle_reg.registry import resolve
from paddle_reg.report.compare import LEVEL, Mean, mean_interval
from paddle_reg.report.evidence import Evidence
from paddle_reg.report.verdicts import unit_of
from paddle_reg.task_api import ReportMetric
from paddle_reg.task_registry import get_task

CI = f"{100 * LEVEL:g} % CI"
INSIDE = f"published value inside the measured {CI}"
CONTEXT = "context: another model, no verdict"


@dataclass
class Anchor:
    """One published figure and what this report measured for it."""

    regime: str | None  # the arm it is compared with, as the registry names it; None: shown for context
    metric: str  # a report metric's name
    label: str  # the metric's label, as the report shows it ("test error")
    unit: str  # its report unit ("%")
    value: float  # the published figure
    source: str
    note: str
    n: int  # finished runs of the arm (0 for a figure shown for context)
    mean: float | None
    low: float | None  # 95 % t-interval of the mean; None below 2 runs
    high: float | None
    gap: float | None  # mean − value
    statement: str
    best: dict | None  # the arm with the best mean on ``metric``: {"arm", "mean", "n"}

    def to_json(self) -> dict:
        return asdict(self)


def best_arm(evidence: Evidence, metric: ReportMetric) -> dict | None:
    """The arm with the best mean of ``metric`` (None for a metric without a better side, or without values)."""
    ranked = evidence.ranked(metric)
    if not ranked:
        return None
    mean, _, n = ranked[0].stats[metric.name]
    return {"arm": ranked[0].regime, "mean": mean, "n": n}


def statement(regime: str | None, value: float, measured: Mean, metric: ReportMetric) -> str:
    """The comparison in words: inside the CI, or how far and to which side of the published value."""
    if regime is None:
        return CONTEXT
    if not measured.n:
        return f"not measured: no finished {regime} run in this report"
    gap = measured.value - value
    side = "above" if gap > 0 else "below"
    if metric.better in ("lower", "higher"):
        side = "worse" if (gap > 0) == (metric.better == "lower") else "better"
    unit = f" {metric.unit}" if metric.unit else ""
    far = f"{abs(gap):.3g}{unit_of(metric)} {side} than published" if gap else "equal to the published value"
    if measured.low is None:
        return f"single run, no CI: measured {far}"
    if measured.low <= value <= measured.high:
        return INSIDE
    return f"measured {far} ({CI} {measured.low:.4g} … {measured.high:.4g}{unit})"


def anchors(evidence: Evidence, block: list[dict]) -> list[Anchor]:
    """Each figure of ``block`` (a profile's ``published`` list, as ``validation.validate_published`` checked it)
    against the arm of its regime, named as the registry names it (``maxnorm+dropout`` is ``dropout+maxnorm``)."""
    rows = []
    for figure in block:
        metric = evidence.metric(figure.get("metric") or evidence.headline.name)
        regime = resolve(figure["regime"], get_task(evidence.task))[0] if figure.get("regime") is not None else None
        arm = evidence.arm(regime) if regime is not None else None
        measured = mean_interval(arm.values(metric.name) if arm else [])
        value = float(figure["value"])
        rows.append(Anchor(regime, metric.name, metric.label, metric.unit, value, figure["source"],
                           figure.get("note") or "", measured.n, measured.value, measured.low, measured.high,
                           measured.value - value if measured.n else None, statement(regime, value, measured, metric),
                           best_arm(evidence, metric)))
    return rows


def best_sentences(rows: list[Anchor]) -> list[str]:
    """Per metric the figures use, which arm is best measured on it."""
    said = {}
    for row in rows:
        if row.best and row.metric not in said:
            unit = f" {row.unit}" if row.unit else ""
            said[row.metric] = (f"Best measured {row.label}: {row.best['arm']} ({row.best['mean']:.4g}{unit}, "
                                f"n = {row.best['n']}).")
    return list(said.values())
