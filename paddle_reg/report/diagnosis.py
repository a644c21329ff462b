"""The regime diagnosis of each arm, from its runs' per-epoch histories: had training converged, does it overfit.

The rules are ``convergence`` and ``overfitting`` (plain curves in, a ``Finding`` out); ``diagnose`` applies them to
an arm's finished runs and adds the train − validation gap at the last epoch. ``CONVERGENCE_RULE`` and
``OVERFITTING_RULE`` state them in words for the reports and the README.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from scipy import stats

from paddle_reg.report.collect import RegimeSummary
from paddle_reg.task_api import ReportMetric

TAIL = 0.3  # share of a run's epochs the trend is fitted on
MIN_WINDOW = 3  # epochs in the shortest tail window
MIN_EPOCHS = 6  # a run needs this many epochs for its tail to be at most half of them
GAIN_SHARE = 0.05  # a trend smaller than this share of the gain so far counts as flat (a curve frozen by the schedule)
RISE_ERRORS = 4.0  # a flat curve's rise exceeds this many standard errors in ~5 % of runs (simulated)
RISE_SHARE = 0.05  # a loss rise smaller than this share of its lowest level counts as flat
LEVEL = 0.95

CONVERGED, IMPROVING, UNCLEAR, UNKNOWN = "converged", "still improving", "unclear", "unknown"
OVERFITS, NO_OVERFITTING = "overfits", "no overfitting"

CONVERGENCE_RULE = (
    f"Convergence, per arm, from the validation curve of the headline metric (finished runs, one value per epoch). "
    f"An arm whose every run was stopped early by validation is converged. Otherwise each run needs ≥ {MIN_EPOCHS} "
    f"epochs; a least-squares line over its last W = max({MIN_WINDOW}, ⌈{TAIL:.0%} of its epochs⌉) epochs gives the "
    f"drift (the line's change across the window, counted positive when the metric improves) and the scatter about "
    f"the line (residual std, pooled over runs). The tolerance is the larger of the scatter and {GAIN_SHARE:.0%} of the "
    f"gain so far (the window's mean − the first epoch's value, + = better, mean over runs). Converged: the mean drift "
    f"over runs is at most the tolerance (the last W epochs moved the metric by no more than its epoch-to-epoch noise "
    f"or a small share of what training had achieved, or made it worse). Still improving: the mean drift exceeds the "
    f"tolerance and its {LEVEL:.0%} t-interval over runs lies above 0 (one run: the interval of its own fit). Unclear "
    f"otherwise. Converged says the curve stopped improving, not how good it got (a run that never learns is flat).")
OVERFITTING_RULE = (
    f"Overfitting, per arm, from the validation loss per epoch (eval mode), same runs and window W: rise = the mean "
    f"loss of the last W epochs − the lowest mean of any W consecutive epochs (0 while the loss still falls). "
    f"Overfits: the mean rise over runs exceeds both {RISE_ERRORS:g} standard errors of a W-epoch mean (the scatter "
    f"about the least-squares lines of the last W epochs, pooled over runs, / √W; a loss without trend exceeds that in "
    f"about 5 % of single runs of 20 or more epochs) and {RISE_SHARE:.0%} of that lowest mean. No overfitting "
    f"otherwise. Beside it, not part of the rule: the headline metric's gap at the last epoch, validation − running "
    f"training value (train mode, so Dropout is on).")


@dataclass
class Finding:
    """One rule's outcome for an arm: its status, a sentence with the numbers it rests on, and per-run detail."""

    status: str
    reason: str
    numbers: dict = field(default_factory=dict)
    per_seed: list[dict] = field(default_factory=list)


@dataclass
class Trend:
    """Least-squares lines over the tail windows of several runs' curves."""

    windows: list[int]
    drifts: list[float]  # each line's change across its window
    scatter: float  # residual std about the lines, pooled over runs
    low: float  # t-interval of the mean drift: over runs, or the one fit's own
    high: float

    @property
    def drift(self) -> float:
        return float(np.mean(self.drifts))


def window(epochs: int, tail: float = TAIL) -> int:
    return max(MIN_WINDOW, math.ceil(tail * epochs))


def tail_trend(curves: list[list[float]], tail: float = TAIL, level: float = LEVEL) -> Trend:
    """Fit a line to the last ``window`` points of each curve (each has at least ``MIN_WINDOW``)."""
    windows, drifts, squares, dof, fits = [], [], 0.0, 0, []
    for curve in curves:
        w = window(len(curve), tail)
        x, y = np.arange(w, dtype=float), np.asarray(curve[-w:], float)
        fit = stats.linregress(x, y)
        windows.append(w)
        drifts.append(float(fit.slope * (w - 1)))
        squares += float(np.sum((y - (fit.intercept + fit.slope * x)) ** 2))
        dof += w - 2
        fits.append(fit)
    scatter = math.sqrt(squares / dof) if dof else 0.0
    mean = float(np.mean(drifts))
    if len(curves) > 1:
        half = float(stats.t.ppf(0.5 + level / 2, len(curves) - 1) * np.std(drifts, ddof=1) / math.sqrt(len(curves)))
    else:
        half = float(stats.t.ppf(0.5 + level / 2, windows[0] - 2) * fits[0].stderr * (windows[0] - 1))
    return Trend(windows, drifts, scatter, mean - half, mean + half)


def _signed(curve: list[float], better: str) -> list[float]:
    return list(curve) if better == "higher" else [-v for v in curve]


def _best_epoch(curve: list[float], better: str) -> int:
    return int(np.argmax(curve) if better == "higher" else np.argmin(curve)) + 1


def convergence(curves: list[list[float]], better: str, stopped_early: list[bool], tail: float = TAIL,
                min_epochs: int = MIN_EPOCHS, level: float = LEVEL, unit: str = "") -> Finding:
    """The convergence rule (``CONVERGENCE_RULE``) on the validation curves of one arm's runs.

    ``curves``: per run the validation metric by epoch; ``better``: "lower" | "higher"; ``stopped_early``: per run,
    whether validation stopped it; ``unit``: appended to the numbers in the reason.
    """
    per_seed = [{"epochs": len(c), "best_epoch": _best_epoch(c, better) if c else None, "stopped_early": s}
                for c, s in zip(curves, stopped_early)]
    if not curves:
        return Finding(UNKNOWN, "no finished run with a validation curve")
    if better not in ("lower", "higher"):
        return Finding(UNKNOWN, "the headline metric has no better direction", per_seed=per_seed)
    if all(stopped_early):
        return Finding(CONVERGED, f"stopped early by validation in all {len(curves)} runs (best epoch "
                       f"{_per_run(per_seed, 'best_epoch')} of {_per_run(per_seed, 'epochs')})", per_seed=per_seed)
    short = [p["epochs"] for p in per_seed if p["epochs"] < min_epochs]
    if short:
        return Finding(UNKNOWN, f"too few epochs ({min(short)}) for the rule, which needs ≥ {min_epochs}",
                       per_seed=per_seed)
    signed = [_signed(c, better) for c in curves]
    trend = tail_trend(signed, tail, level)
    gain = float(np.mean([np.mean(c[-w:]) - c[0] for c, w in zip(signed, trend.windows)]))
    tolerance = max(trend.scatter, GAIN_SHARE * gain)
    sign = 1 if better == "higher" else -1  # drifts shown in the metric's own direction
    for p, w, d in zip(per_seed, trend.windows, trend.drifts):
        p.update(window=w, drift=sign * d)
    low, high = sorted((sign * trend.low, sign * trend.high))
    numbers = {"drift": sign * trend.drift, "drift_low": low, "drift_high": high, "scatter": trend.scatter,
               "gain": sign * gain, "tolerance": tolerance, "window": _per_run(per_seed, "window"),
               "best_epoch": _per_run(per_seed, "best_epoch"), "epochs": _per_run(per_seed, "epochs")}
    said = (f"fitted change over the last {numbers['window']} epochs {_num(sign * trend.drift, unit, True)} "
            f"({level:.0%} CI [{_num(low, unit, True)}, {_num(high, unit, True)}]), tolerance {_num(tolerance, unit)} "
            f"(scatter {_num(trend.scatter, unit)}, gain so far {_num(sign * gain, unit, True)}); best epoch "
            f"{numbers['best_epoch']} of {numbers['epochs']}")
    if trend.drift <= tolerance:
        return Finding(CONVERGED, ("worsening: " if trend.drift < -tolerance else "flat: ") + said, numbers, per_seed)
    if trend.low > 0:
        return Finding(IMPROVING, said, numbers, per_seed)
    return Finding(UNCLEAR, "improving by more than the tolerance, but the interval reaches 0: " + said,
                   numbers, per_seed)


def overfitting(val_losses: list[list[float]], tail: float = TAIL, min_epochs: int = MIN_EPOCHS) -> Finding:
    """The overfitting rule (``OVERFITTING_RULE``) on the validation loss curves of one arm's runs."""
    if not val_losses:
        return Finding(UNKNOWN, "no finished run with a validation loss per epoch")
    short = [len(c) for c in val_losses if len(c) < min_epochs]
    if short:
        return Finding(UNKNOWN, f"too few epochs ({min(short)}) for the rule, which needs ≥ {min_epochs}")
    per_seed = []
    for curve in val_losses:
        w = window(len(curve), tail)
        means = np.convolve(curve, np.ones(w) / w, mode="valid")  # the mean of every w consecutive epochs
        rise = float(means[-1] - means.min())
        per_seed.append({"epochs": len(curve), "window": w, "min_epoch": int(np.argmin(curve)) + 1,
                         "lowest": float(means.min()), "rise": rise,
                         "rise_pct": 100 * rise / means.min() if means.min() > 0 else None})
    trend = tail_trend(val_losses, tail)
    error = trend.scatter / math.sqrt(float(np.mean(trend.windows)))  # standard error of a w-epoch mean
    rise = float(np.mean([p["rise"] for p in per_seed]))
    threshold = max(RISE_ERRORS * error, RISE_SHARE * float(np.mean([p["lowest"] for p in per_seed])))
    pct = [p["rise_pct"] for p in per_seed if p["rise_pct"] is not None]
    numbers = {"rise": rise, "rise_pct": float(np.mean(pct)) if pct else None, "standard_error": error,
               "threshold": threshold, "min_epoch": _per_run(per_seed, "min_epoch"), "epochs": _per_run(per_seed, "epochs")}
    said = (f"validation loss of the last {_per_run(per_seed, 'window')} epochs {_num(rise, signed=True)}"
            + (f" ({numbers['rise_pct']:+.0f} %)" if numbers["rise_pct"] is not None else "")
            + f" above its lowest, minimum at epoch {numbers['min_epoch']} of {numbers['epochs']}; threshold "
              f"{_num(threshold)} (standard error {_num(error)})")
    return Finding(OVERFITS if rise > threshold else NO_OVERFITTING, said, numbers, per_seed)


def end_gap(train: list[float], val: list[float], better: str, unit: str = "") -> Finding:
    """Validation − training value at the last epoch of each run, signed so + = worse on validation; the status is
    their mean."""
    sign = 1 if better == "lower" else -1
    gaps = [sign * (v - t) for t, v in zip(train, val)]
    std = float(np.std(gaps, ddof=1)) if len(gaps) > 1 else 0.0
    return Finding(_num(float(np.mean(gaps)), unit, True), f"± {_num(std, unit)} over {len(gaps)} runs: validation − "
                   f"running training value at the last epoch", {"gap": float(np.mean(gaps)), "std": std,
                                                                  "n": len(gaps)}, [{"gap": g} for g in gaps])


@dataclass
class ArmDiagnosis:
    convergence: Finding
    overfitting: Finding
    gap: Finding
    seeds: list[int]

    @property
    def tag(self) -> str:
        """e.g. "converged · overfits": the two statuses, each named when it is not a plain yes or no."""
        first = {UNCLEAR: "convergence unclear", UNKNOWN: "convergence unknown"}.get(self.convergence.status,
                                                                                    self.convergence.status)
        second = "overfitting unknown" if self.overfitting.status == UNKNOWN else self.overfitting.status
        return f"{first} · {second}"

    def to_json(self) -> dict:
        return {"tag": self.tag, "seeds": self.seeds, "convergence": asdict(self.convergence),
                "overfitting": asdict(self.overfitting), "gap_at_end": asdict(self.gap)}


def diagnose(summary: RegimeSummary, head: ReportMetric) -> ArmDiagnosis:
    """The arm's finished runs, their validation (and training) curves of ``head`` and their validation loss."""
    name = head.key.split("_", 1)[1]  # test_error → error
    val_key, train_key = f"val_{name}", f"train_{name}"
    unit = " pp" if head.unit == "%" else f" {head.unit}" if head.unit else ""
    runs = [r for r in summary.runs if r.status == "finished" and r.history]
    curves = [[head.scale * h[val_key] for h in r.history if val_key in h] for r in runs]
    runs = [r for r, c in zip(runs, curves) if c]
    curves = [c for c in curves if c]
    found = convergence(curves, head.better, [bool(r.final.get("stopped_early")) for r in runs], unit=unit)
    if runs and not all("val_loss" in h for r in runs for h in r.history):
        overfit = Finding(UNKNOWN, f"the {runs[0].run_config.get('task', '?')} histories record no validation loss "
                                   f"per epoch")
    else:
        overfit = overfitting([[h["val_loss"] for h in r.history] for r in runs])
    if not runs:
        gap = Finding(UNKNOWN, "no finished run with a validation curve")
    elif all(train_key in r.history[-1] for r in runs):
        gap = end_gap([head.scale * r.history[-1][train_key] for r in runs],
                      [head.scale * r.history[-1][val_key] for r in runs], head.better, unit)
    else:
        gap = Finding(UNKNOWN, f"the histories record no training {name} per epoch")
    for detail in (found, overfit, gap):
        for seed, row in zip((r.seed for r in runs), detail.per_seed):
            row["seed"] = seed
    return ArmDiagnosis(found, overfit, gap, [r.seed for r in runs])


def diagnose_arms(summaries: list[RegimeSummary], head: ReportMetric) -> dict[str, ArmDiagnosis]:
    return {s.regime: diagnose(s, head) for s in summaries}


def baseline_warning(diagnoses: dict[str, ArmDiagnosis]) -> str | None:
    """The sentence at the top of a report whose `none` arm was still improving when training ended."""
    none = diagnoses.get("none")
    if none is None or none.convergence.status != IMPROVING:
        return None
    return (f"The none arm was still improving when training ended ({none.convergence.reason}): the deltas against "
            f"it measure this training budget, not converged training.")


def _per_run(rows: list[dict], key: str) -> str:
    """The per-run values of ``key``: one number when they agree, else their mean."""
    values = [r[key] for r in rows if r.get(key) is not None]
    if not values:
        return "?"
    return str(values[0]) if len(set(values)) == 1 else f"{np.mean(values):.1f}"


def _num(x: float | None, unit: str = "", signed: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return (f"{x:+.3g}" if signed else f"{x:.3g}") + unit
