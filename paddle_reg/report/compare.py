"""One arm against its baseline over seeds: the analysis the runs' structure calls for, its 95 % and 90 % intervals,
the effect it can detect, and Holm's correction when several arms are compared at once; one arm's mean with its 95 %
interval (``mean_interval``).

The analysis is chosen once, by ``design``: **paired by seed** when both arms ran the same seeds on the same
architecture and data (a seed then fixes both arms' initial weights, batch order and data split, so the per-seed
differences cancel what the arms share; one-sample t on the differences, df = n − 1), **Welch** otherwise (unequal
variances, Welch–Satterthwaite df). A paired comparison carries Welch's beside it.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from paddle_reg.report.collect import RegimeSummary

PAIRED, WELCH = "paired by seed", "Welch"
MIN_RUNS = 3  # finished runs (or pairs) a side a verdict needs (../shared/claims.md: at least 3 seeds)
LEVEL = 0.95  # the interval a claimed effect must clear
TOST_LEVEL = 0.90  # two one-sided tests at α = 0.05: equivalence when this interval lies within the margin
POWER = 0.80  # the chance of detection behind "detectable effect" and "seeds needed"
NOT_ARCHITECTURE = ("dropout", "dropout_position")  # model keys that only set Dropout, which has no weights
DESIGN_RULE = (f"Two arms that ran the same seeds on the same architecture and data (the run configs' model block "
               f"without its Dropout settings, and their data block) are compared paired by seed: a one-sample t "
               f"interval on the per-seed differences (df = n − 1), with Welch's interval shown beside it. Other "
               f"arms are compared with Welch's t (unequal variances, Welch–Satterthwaite df).")


@dataclass
class Comparison:
    """mean(arm) − mean(baseline) with its intervals (None below 2 values a side) and what it can detect."""

    analysis: str  # PAIRED | WELCH
    diff: float
    n: int  # pairs (paired) or the arm's values (Welch)
    n_base: int
    low: float | None = None  # LEVEL interval
    high: float | None = None
    low90: float | None = None  # TOST_LEVEL interval
    high90: float | None = None
    p_value: float | None = None  # two-sided, against 0
    se: float | None = None
    df: float | None = None
    variances: tuple[float, ...] = ()  # per-seed variance of the differences (paired) or of each arm (Welch)
    identical: bool = False  # no spread at all: every pair (every run of each arm) gave the same value
    welch: Comparison | None = None  # Welch's view of the same values, beside a paired comparison

    @property
    def has_ci(self) -> bool:
        return self.low is not None

    @property
    def enough(self) -> bool:
        return min(self.n, self.n_base) >= MIN_RUNS

    @property
    def detectable(self) -> float | None:
        """The true |Δ| this comparison detects (95 % CI excluding 0) with 80 % power: (t₀.₉₇₅ + t₀.₈₀)·SE."""
        if self.se is None or not self.df:
            return None
        return _power_multiplier(self.df) * self.se

    def seeds_needed(self, delta: float) -> int | None:
        """Seeds (per arm) at which an effect of ``delta`` is detectable, from the spread seen here; None past 10,000."""
        if not self.variances or delta <= 0:
            return None
        for n in range(MIN_RUNS, 10_001):
            if minimum_detectable(self.variances, n) <= delta:
                return n
        return None

    def to_json(self) -> dict:
        data = asdict(self)
        data["welch"] = self.welch.to_json() if self.welch else None
        data["detectable"] = self.detectable
        return data


@dataclass(frozen=True)
class Mean:
    """An arm's mean over its finished runs with the LEVEL t-interval of the mean (None below 2 values)."""

    value: float | None  # None without values
    std: float | None  # sample std (ddof = 1); 0 for one value
    n: int
    low: float | None = None
    high: float | None = None


def mean_interval(values: list[float]) -> Mean:
    """The mean of ``values`` with its one-sample t interval (df = n − 1); values without spread: the mean itself."""
    v = np.asarray(values, float)
    if not len(v):
        return Mean(None, None, 0)
    mean = float(v.mean())
    if len(v) < 2:
        return Mean(mean, 0.0, 1)
    if _no_spread(v):
        return Mean(mean, float(v.std(ddof=1)), len(v), mean, mean)
    ci = stats.ttest_1samp(v, 0.0).confidence_interval(LEVEL)
    return Mean(mean, float(v.std(ddof=1)), len(v), float(ci.low), float(ci.high))


def _power_multiplier(df: float) -> float:
    return float(stats.t.ppf(0.5 + LEVEL / 2, df) + stats.t.ppf(POWER, df))


def minimum_detectable(variances: tuple[float, ...], n: int) -> float:
    """(t₀.₉₇₅ + t₀.₈₀)·SE with n seeds per arm: SE² = Σ variances / n, df = (n − 1)·(Σv)² / Σv² (n − 1 when paired)."""
    total = float(sum(variances))
    if total == 0.0:
        return 0.0
    df = (n - 1) * total**2 / sum(v * v for v in variances)
    return _power_multiplier(df) * math.sqrt(total / n)


def paired(differences: list[float], by: str = "seed") -> Comparison:
    """The mean of per-seed (per-``by``) differences with a one-sample t interval, and the two-sided p against 0."""
    analysis = PAIRED if by == "seed" else f"paired by {by}"
    d = np.asarray(differences, float)
    n = len(d)
    if n == 0:
        return Comparison(analysis, math.nan, 0, 0)
    diff = float(d.mean())
    if n < 2:
        return Comparison(analysis, diff, n, n)
    if _no_spread(d):
        return Comparison(analysis, diff, n, n, se=0.0, df=n - 1, variances=(0.0,), identical=True)
    sd = float(d.std(ddof=1))
    test = stats.ttest_1samp(d, 0.0)
    ci, ci90 = test.confidence_interval(LEVEL), test.confidence_interval(TOST_LEVEL)
    return Comparison(analysis, diff, n, n, float(ci.low), float(ci.high), float(ci90.low), float(ci90.high),
                      float(test.pvalue), sd / math.sqrt(n), float(test.df), (sd**2,))


def welch(values: list[float], baseline: list[float]) -> Comparison:
    """mean(values) − mean(baseline) with Welch's t interval and two-sided p."""
    a, b = np.asarray(values, float), np.asarray(baseline, float)
    diff = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    if len(a) < 2 or len(b) < 2:
        return Comparison(WELCH, diff, len(a), len(b))
    if _no_spread(a) and _no_spread(b):
        return Comparison(WELCH, diff, len(a), len(b), se=0.0, df=len(a) + len(b) - 2, variances=(0.0, 0.0),
                          identical=True)
    va, vb = float(a.var(ddof=1)), float(b.var(ddof=1))
    with warnings.catch_warnings():  # one arm without spread: scipy warns of precision loss it does not suffer here
        warnings.simplefilter("ignore", RuntimeWarning)
        test = stats.ttest_ind(a, b, equal_var=False)
    ci, ci90 = test.confidence_interval(LEVEL), test.confidence_interval(TOST_LEVEL)
    return Comparison(WELCH, diff, len(a), len(b), float(ci.low), float(ci.high), float(ci90.low), float(ci90.high),
                      float(test.pvalue), math.sqrt(va / len(a) + vb / len(b)), float(test.df), (va, vb))


def _no_spread(values: np.ndarray) -> bool:
    """Every value equal, up to float rounding."""
    return bool(np.allclose(values, values[0], rtol=1e-9, atol=1e-12))


def _setting(summary: RegimeSummary) -> tuple:
    config = next((r.run_config for r in summary.runs if r.run_config), {})
    model = {k: v for k, v in (config.get("model") or {}).items() if k not in NOT_ARCHITECTURE}
    return config.get("task"), repr(sorted(model.items())), repr(sorted((config.get("data") or {}).items()))


def design(arm: RegimeSummary, base: RegimeSummary) -> str:
    """PAIRED when the arms ran the same seeds on the same architecture and data, else WELCH (``DESIGN_RULE``)."""
    same_seeds = {r.seed for r in arm.runs} == {r.seed for r in base.runs}
    return PAIRED if same_seeds and _setting(arm) == _setting(base) else WELCH


def compare(values: dict[int, float], base: dict[int, float], analysis: str) -> Comparison:
    """Seed → value of each side, compared as ``analysis`` says: paired over the seeds both have, or Welch."""
    if analysis == WELCH:
        return welch(list(values.values()), list(base.values()))
    seeds = sorted(set(values) & set(base))
    result = paired([values[s] - base[s] for s in seeds])
    result.welch = welch(list(values.values()), list(base.values()))
    return result


def compare_arms(arm: RegimeSummary, base: RegimeSummary, metric: str) -> Comparison:
    """``metric`` of two arms' finished runs, by the analysis their structure calls for."""
    return compare(arm.by_seed(metric), base.by_seed(metric), design(arm, base))


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of the p-values present: the k-th smallest of m times (m − k + 1), kept monotone."""
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(present):
        running = max(running, min(1.0, (len(present) - rank) * p))
        adjusted[i] = running
    return adjusted


def holm_marks(comparisons: dict[str, Comparison], better: str, alpha: float = 0.05) -> dict[str, tuple[str, float | None]]:
    """Per arm, the colour mark of a table comparing several arms, and its Holm-adjusted p: "good" or "bad" when the
    adjusted p is below ``alpha`` with Δ on the metric's better or worse side, "" otherwise."""
    arms = list(comparisons)
    adjusted = holm([comparisons[a].p_value for a in arms])
    marks = {}
    for arm, p in zip(arms, adjusted):
        c = comparisons[arm]
        side = "" if better not in ("lower", "higher") or p is None or p >= alpha else \
            "good" if (c.diff < 0) == (better == "lower") else "bad"
        marks[arm] = (side, p)
    return marks
