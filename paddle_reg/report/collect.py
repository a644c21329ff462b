"""Read run folders into per-run records and per-arm summaries (mean ± std over seeds); records to JSON and back."""
from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from paddle_reg.store import RunDir
from paddle_reg.task_api import ReportMetric

REGIME_ORDER = ("none", "dropout", "weight_decay", "both")
NEAR_ZERO = 1e-3  # |w| below this counts as (near) zero (claim E10)
LOG10_BINS = np.linspace(-8.0, 1.0, 46)  # histogram of log10 |w|, shared by every run so seeds can be pooled
EXTRA_METRICS = (  # measured for every task, after the task's own report metrics
    ReportMetric("epoch_time_s", "epoch_time_s", "train time / epoch", "s"),
    ReportMetric("weight_l2", "weight_l2", "‖W‖₂ of the weights", better="neither"),
    ReportMetric("near_zero", "near_zero", "weights with |w| < 1e-3", "%", 100, better="neither"),
)


def task_metrics(task_name: str) -> tuple[ReportMetric, ...]:
    from paddle_reg.task_registry import get_task

    return tuple(get_task(task_name).report_metrics)


def report_metrics(task_name: str) -> tuple[ReportMetric, ...]:
    """The report's columns: the task's metrics, then time per epoch and the weight statistics."""
    return task_metrics(task_name) + EXTRA_METRICS


@dataclass
class WeightStats:
    """Statistics of the weight tensors (ndim ≥ 2: matrices, kernels, embeddings) of the best checkpoint."""

    l2: float  # sqrt(Σ w²)
    near_zero: float  # fraction of entries with |w| < NEAR_ZERO
    log10_hist: list[int]  # counts of log10 |w| over LOG10_BINS (exact zeros in the first bin)
    count: int


def weight_stats(state: dict) -> WeightStats | None:
    weights = [np.asarray(v, dtype=np.float64).ravel() for v in state.values() if np.ndim(v) >= 2]
    if not weights:
        return None
    flat = np.abs(np.concatenate(weights))
    logs = np.log10(np.clip(flat, 10.0 ** LOG10_BINS[0], None))
    hist, _ = np.histogram(np.clip(logs, LOG10_BINS[0], LOG10_BINS[-1]), bins=LOG10_BINS)
    return WeightStats(float(np.sqrt(np.sum(flat**2))), float(np.mean(flat < NEAR_ZERO)), hist.tolist(), int(flat.size))


def read_weight_stats(run_dir: RunDir) -> WeightStats | None:
    if not run_dir.best_path.is_file():
        return None
    import paddle  # imported late: reading a report's JSON files does not need it

    return weight_stats(paddle.load(str(run_dir.best_path), return_numpy=True))


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
    group: str = ""  # the arm of the comparison: the regime, or an experiment's arm label
    weights: WeightStats | None = None
    probes: dict = field(default_factory=dict)  # name → result of a probe over the best checkpoint (probes.json)

    def __post_init__(self):
        self.group = self.group or self.regime

    @property
    def run_id(self) -> str:
        """``<task>/<regime>/seed<k>-<hash>``: the run's folder, wherever the runs live."""
        return "/".join(Path(self.path).parts[-3:])

    def to_json(self) -> dict:
        """What a verdict reads of the run (summary.json's ``runs``): not its environment, nor final's details."""
        data = asdict(self)
        data["info"] = {}
        data["final"] = {k: v for k, v in self.final.items() if k != "details"}
        return data

    @classmethod
    def from_json(cls, data: dict) -> "RunRecord":
        weights = WeightStats(**data["weights"]) if data.get("weights") else None
        return cls(**{**data, "weights": weights})

    @property
    def metrics(self) -> dict[str, float]:
        """The task's report metrics of the best-validation checkpoint, time per epoch and weight statistics."""
        if self.status != "finished":
            return {}
        values = {m.name: m.value(self.final) for m in task_metrics(self.run_config["task"])
                  if m.key in self.final and (m.minus is None or m.minus in self.final)}
        if self.history:
            values["epoch_time_s"] = float(np.mean([h["epoch_time_s"] for h in self.history]))
        if self.weights is not None:
            values.update(weight_l2=self.weights.l2, near_zero=100.0 * self.weights.near_zero)
        return values


@dataclass
class RegimeSummary:
    regime: str  # the arm label (a regime name unless an experiment names its arms)
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
        return [run.metrics[metric] for run in self.runs if run.status == "finished" and metric in run.metrics]

    def by_seed(self, metric: str) -> dict[int, float]:
        return {run.seed: run.metrics[metric] for run in self.runs
                if run.status == "finished" and metric in run.metrics}


def shown_path(path: Path) -> str:
    """Relative to the working directory when inside it, so committed reports carry no machine paths."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_runs(run_dirs: list[RunDir], labels: dict[str, str] | None = None) -> list[RunRecord]:
    """One record per folder; ``labels`` maps a folder path to its arm (default: the run's regime)."""
    records = []
    for run_dir in run_dirs:
        info = run_dir.info()
        run = run_dir.config().get("run", {})
        status = info.get("status") or "not started"
        # a run not started yet has no files: its folder, <regime>/seed<k>-<hash>, still names regime and seed
        seed = run.get("seed", int(run_dir.path.name.split("-")[0].removeprefix("seed") or -1))
        records.append(RunRecord(regime=run.get("regime", info.get("regime", run_dir.path.parent.name)), seed=seed,
                                 status=status, path=shown_path(run_dir.path), final=run_dir.final(),
                                 history=run_dir.history(), info=info, run_config=run,
                                 group=(labels or {}).get(str(run_dir.path), ""),
                                 weights=read_weight_stats(run_dir) if status == "finished" else None,
                                 probes=run_dir.probes()))
    return records


def summarize(records: list[RunRecord], order: list[str] | None = None) -> list[RegimeSummary]:
    """One summary per arm (``order``, else the regime order); std is the sample std (ddof=1), 0 for one run."""
    order = list(order or REGIME_ORDER)
    groups = sorted({r.group for r in records}, key=lambda g: (order.index(g) if g in order else len(order), g))
    summaries = []
    for group in groups:
        runs = sorted((r for r in records if r.group == group), key=lambda r: r.seed)
        summary = RegimeSummary(group, runs)
        names = {name for r in runs for name in r.metrics}
        for metric in names:
            values = np.array(summary.values(metric), dtype=float)
            std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
            summary.stats[metric] = (float(values.mean()), std, len(values))
        summaries.append(summary)
    return summaries


def baseline(summaries: list[RegimeSummary]) -> RegimeSummary | None:
    """The arm every delta is taken against: `none`."""
    return next((s for s in summaries if s.regime == "none"), None)


def provenance(records: list[RunRecord]) -> str:
    """The commits the runs were trained at (with how many runs each, oldest first as met) and the one writing the
    report: runs shared with earlier grids keep the commit they were trained at."""
    from paddle_reg.runtime import git_commit  # late: it imports Paddle

    trained = Counter((r.info.get("environment") or {}).get("git_commit") or "unknown" for r in records)
    runs = ", ".join(f"{commit} ({count} run{'s' if count > 1 else ''})" for commit, count in trained.items())
    return f"runs trained at {runs or 'none'}; report written at {git_commit() or 'unknown'}"
