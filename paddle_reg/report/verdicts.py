"""Claim verdicts computed from measurements by stated rules, never typed in.

A claim is split into parts (testable statements). claims.yaml reads each part as a claimed effect, size or absence
with its smallest effect of interest δ (``Margin``); a part is decided on a ``Comparison`` of two arms by the rules
below, and the claim's verdict combines its parts. Each claim is decided at one place, its primary (claims.yaml);
other places whose runs measure it are replications, shown as agreeing with it or not, never as a second verdict.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from paddle_reg.report.collect import RegimeSummary
from paddle_reg.report.compare import DESIGN_RULE, MIN_RUNS, PAIRED, WELCH, Comparison, compare, design, paired
from paddle_reg.report.evidence import Evidence
from paddle_reg.task_api import ReportMetric

SUPPORTED, REFUTED, INCONCLUSIVE = "supported", "refuted", "inconclusive"
NOT_MEASURED, OUT_OF_SCOPE = "not measured", "out of scope"
EFFECT_RULE = ("A claimed effect (higher or lower by at least δ) is supported when the 95 % CI of Δ lies beyond δ on "
               "the claimed side, and refuted when the 90 % CI lies short of δ on that side: an effect of δ is then "
               "excluded at one-sided α = 0.05 (within ±δ that is equivalence by two one-sided tests, TOST; beyond "
               "−δ, the opposite effect). A claimed absence of an increase (not higher by δ) is the converse: "
               "supported when the 90 % CI lies short of +δ, refuted when the 95 % CI lies beyond it.")
BAND_RULE = ("A claimed size (about X: the band X ± δ; no effect: ±δ) is supported when the 90 % CI lies inside the "
             "band (TOST against its edges) and refuted when the 95 % CI lies outside it.")
EDGE_RULE = (f"A part with fewer than {MIN_RUNS} finished runs (pairs) a side is not measured. Zero spread (every "
             "pair, or every run of each arm, equal) gives an exact statement instead of an interval, judged on Δ "
             "itself. Where a claim is about convergence, a diverged run counts as a failure to converge, at the "
             "metric's worst value (100 % error); elsewhere it is left out; either way it is listed. An "
             "inconclusive part states the effect detectable at 80 % power with its n and the seeds needed to "
             "detect δ.")
COMBINE_RULE = ("A claim is supported when every part is, refuted when any part is, not measured when no part is "
                "measured, inconclusive otherwise.")
RULES = (DESIGN_RULE, EFFECT_RULE, BAND_RULE, EDGE_RULE, COMBINE_RULE)


@functools.lru_cache(maxsize=1)
def claims() -> dict:
    """The claims of ../shared/claims.md shipped with the package: {"experiment_claims", "fact_claims"}."""
    return yaml.safe_load(resources.files("paddle_reg.report").joinpath("claims.yaml").read_text(encoding="utf-8"))


def claim(claim_id: str) -> dict:
    return next(c for c in claims()["experiment_claims"] if c["id"] == claim_id)


def place_command(place: str) -> str:
    """The command whose runs a place reports: ``claims/<name>`` an experiment, ``<task>`` the task's grid."""
    if place.startswith("claims/"):
        return f"python -m paddle_reg.run experiment={place.split('/', 1)[1]}"
    return f"python -m paddle_reg.run task={place}"


def _num(x: float | None, unit: str = "") -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.3g}{unit}"


# --- a part's reading and the rules on one comparison -------------------------------------------------------------

@dataclass(frozen=True)
class Margin:
    """A part as claims.yaml reads it: the claim (higher | lower | better | not_higher | about | none), δ and why."""

    claimed: str
    delta: float
    reason: str
    about: float = 0.0
    convergence: bool = False  # a diverged run counts as a failure (EDGE_RULE)
    identity: str | None = None  # the exact check of paddle_reg.facts that decides the part when it holds

    def towards(self, better: str) -> Margin:
        """``better`` resolved to the metric's better side."""
        return replace(self, claimed=better) if self.claimed == "better" else self

    @property
    def band(self) -> tuple[float, float]:
        return self.about - self.delta, self.about + self.delta

    def test(self, unit: str) -> str:
        """The reading in numbers, e.g. "Δ ≥ +0.2 pp" or "Δ within [+3, +9] pp"."""
        if self.claimed == "higher":
            return f"Δ ≥ {_num(self.delta, unit)}"
        if self.claimed == "lower":
            return f"Δ ≤ {_num(-self.delta, unit)}"
        if self.claimed == "not_higher":
            return f"Δ < {_num(self.delta, unit)}"
        low, high = self.band
        return f"Δ within [{_num(low)}, {_num(high)}]{unit}"

    def judge(self, c: Comparison) -> tuple[str, str]:
        """(verdict, the condition that decided it) by EFFECT_RULE or BAND_RULE, and EDGE_RULE."""
        if not c.enough:
            sides = f"{c.n} vs {c.n_base} runs" if c.analysis == WELCH else f"{c.n} pairs"
            return NOT_MEASURED, f"not measured (n = {sides}; {MIN_RUNS} needed)"
        if self.claimed in ("higher", "lower"):
            return self._effect(c, 1.0 if self.claimed == "higher" else -1.0)
        if self.claimed == "not_higher":  # the converse of "higher": an increase of δ excluded
            verdict, why = self._effect(c, 1.0)
            return {SUPPORTED: REFUTED, REFUTED: SUPPORTED}.get(verdict, verdict), why
        return self._band(c)

    def _effect(self, c: Comparison, sign: float) -> tuple[str, str]:
        delta = self.delta
        if c.identical:
            return (SUPPORTED, "exact Δ beyond δ") if sign * c.diff > delta else (REFUTED, "exact Δ short of δ")
        low95 = min(sign * c.low, sign * c.high)
        low90, high90 = sorted((sign * c.low90, sign * c.high90))
        if low95 > delta:
            return SUPPORTED, "95 % CI beyond δ on the claimed side"
        if high90 < delta:
            kind = ("the opposite effect (90 % CI beyond −δ)" if high90 < -delta else
                    "equivalence within ±δ (TOST)" if low90 > -delta else "an effect of δ excluded (one-sided α = 0.05)")
            return REFUTED, f"90 % CI short of δ: {kind}"
        return INCONCLUSIVE, "the CIs reach both sides of δ"

    def _band(self, c: Comparison) -> tuple[str, str]:
        low, high = self.band
        if c.identical:
            return (SUPPORTED, "exact Δ inside the band") if low <= c.diff <= high else \
                (REFUTED, "exact Δ outside the band")
        if low <= c.low90 and c.high90 <= high:
            return SUPPORTED, "90 % CI inside the band (TOST)"
        if c.high < low or c.low > high:
            return REFUTED, "95 % CI outside the band"
        return INCONCLUSIVE, "the CIs reach past the band's edges"


def margins(entry: dict, task: str) -> dict[str, Margin | str]:
    """The parts of a claims.yaml entry for ``task``: a Margin, or why the part is not measured."""
    found: dict[str, Margin | str] = {}
    for name, spec in (entry.get("parts") or {}).items():
        if "not_measured" in spec:
            found[name] = spec["not_measured"]
            continue
        delta = spec["delta"][task] if isinstance(spec["delta"], dict) else spec["delta"]
        found[name] = Margin(spec["claimed"], float(delta), spec["reason"], float(spec.get("about", 0.0)),
                             bool(spec.get("convergence")), spec.get("identity"))
    return found


def _paired_by(c: Comparison) -> str:
    """What a paired comparison pairs: "seed", or "round" for a benchmark's rounds."""
    return c.analysis.rsplit(" ", 1)[-1] if c.analysis != WELCH else "seed"


def describe(c: Comparison, unit: str = "") -> str:
    """The numbers of a comparison in words: Δ with its intervals, or the exact statement when nothing varies."""
    if not c.n or not c.n_base:
        return "no finished runs to compare"
    if c.identical:
        if c.analysis == WELCH:
            return f"Δ = {_num(c.diff, unit)} exactly: no spread within either arm (n = {c.n} vs {c.n_base})"
        return f"identical in all {c.n} {_paired_by(c)}s" if c.diff == 0 else \
            f"Δ = {_num(c.diff, unit)} in every one of the {c.n} {_paired_by(c)}s (no spread)"
    size = f"n = {c.n} {_paired_by(c)}s" if c.analysis != WELCH else f"n = {c.n} vs {c.n_base}"
    if not c.has_ci:
        return f"Δ = {_num(c.diff, unit)} ({size}: no interval)"
    text = (f"Δ = {_num(c.diff, unit)}, 95 % CI [{_num(c.low)}, {_num(c.high)}], 90 % CI [{_num(c.low90)}, "
            f"{_num(c.high90)}], p = {c.p_value:.2g} ({c.analysis}, {size})")
    if c.welch and c.welch.has_ci:
        text += f"; Welch: 95 % CI [{_num(c.welch.low)}, {_num(c.welch.high)}], p = {c.welch.p_value:.2g}"
    return text


def short(c: Comparison, unit: str = "") -> str:
    """One line for the index: Δ and its 95 % CI."""
    if c.identical and c.diff == 0 and c.analysis != WELCH:
        return f"identical in all {c.n} {_paired_by(c)}s"
    if not c.has_ci:
        return f"Δ = {_num(c.diff, unit)}" + ("" if c.identical else " (no CI)") + f", n = {c.n}"
    return f"Δ = {_num(c.diff, unit)} [{_num(c.low)}, {_num(c.high)}], n = {c.n}"


def power(c: Comparison, margin: Margin, unit: str) -> str:
    """For an inconclusive part: what this n detects, and the seeds that would detect δ."""
    detectable, needed = c.detectable, c.seeds_needed(margin.delta)
    if detectable is None:
        return ""
    what = _paired_by(c)
    seeds = f"{needed} {what}s" if needed else f"more than 10,000 {what}s"
    return (f"detectable at 80 % power with n = {c.n}: ±{detectable:.2g}{unit}; an effect of δ = {margin.delta:g}{unit} "
            f"would take {seeds} per arm")


# --- parts and claims ---------------------------------------------------------------------------------------------

@dataclass
class Part:
    """One testable statement of a claim, its verdict and the numbers it was decided on."""

    statement: str
    verdict: str
    evidence: str  # the numbers in words
    why: str = ""  # the condition that decided it
    test: str = ""  # the reading in numbers, e.g. "Δ ≥ +0.2 pp"
    delta: float | None = None
    delta_reason: str = ""
    short: str = ""  # one line for the index
    power: str = ""  # an inconclusive part's detectable effect and seeds needed
    comparison: dict | None = None
    arms: list[str] = field(default_factory=list)  # the arms it compares
    runs: list[str] = field(default_factory=list)  # the run folders it used
    unfinished: list[str] = field(default_factory=list)  # the diverged or failed runs of its arms


def unit_of(metric: ReportMetric) -> str:
    """The unit of a difference: percentage points for a metric in %."""
    return " pp" if metric.unit == "%" else f" {metric.unit}" if metric.unit else ""


def unfinished(*arms: RegimeSummary) -> list[str]:
    rows = []
    for arm in arms:
        for r in arm.runs:
            if r.status != "finished":
                epoch = f" at epoch {r.final['diverged_epoch']}" if r.final.get("diverged_epoch") else ""
                rows.append(f"{arm.regime} seed {r.seed}: {r.status}{epoch}")
    return rows


def judged(statement: str, margin: Margin, c: Comparison, unit: str, arms: tuple[RegimeSummary, ...] = (),
           note: str = "") -> Part:
    """A part decided by ``margin`` on ``c``; ``arms`` are listed with their runs and unfinished runs."""
    verdict, why = margin.judge(c)
    return Part(statement, verdict, describe(c, unit) + (f"; {note}" if note else ""), why, margin.test(unit),
                margin.delta, margin.reason, short(c, unit), power(c, margin, unit) if verdict == INCONCLUSIVE else "",
                c.to_json(), [a.regime for a in arms], sorted(r.run_id for a in arms for r in a.runs),
                unfinished(*arms))


def not_measured_part(statement: str, reason: str) -> Part:
    return Part(statement, NOT_MEASURED, reason, why=reason, short=reason)


def combine(parts: list[Part]) -> str:
    verdicts = [p.verdict for p in parts]
    if REFUTED in verdicts:
        return REFUTED
    measured = [v for v in verdicts if v != NOT_MEASURED]
    if not measured:
        return NOT_MEASURED
    return SUPPORTED if len(measured) == len(verdicts) and all(v == SUPPORTED for v in verdicts) else INCONCLUSIVE


@dataclass
class ClaimResult:
    """A claim judged at one place (or why it could not be)."""

    id: str
    verdict: str
    place: str = ""
    parts: list[Part] = field(default_factory=list)
    how: str = ""  # what was measured, beyond the general rules
    reason: str = ""  # why not measured, or out of scope
    command: str = ""
    measured_in: str = ""
    task: str = ""
    diagnosis: dict[str, str] = field(default_factory=dict)  # arm of a part → its regime diagnosis tag

    @property
    def runs(self) -> set[str]:
        return {run for p in self.parts for run in p.runs}

    @property
    def href(self) -> str:
        """The place's report (or benchmark record) relative to the reports directory; "" when there is none."""
        if not self.measured_in:
            return ""
        return f"{self.place}.json" if self.place.startswith("benchmarks/") else f"{self.place}/report.html"

    @property
    def decisive_part(self) -> Part | None:
        """The part whose verdict the claim has (the first part when none has it)."""
        return next((p for p in self.parts if p.verdict == self.verdict), self.parts[0]) if self.parts else None

    @property
    def decisive_regimes(self) -> str:
        """The regime diagnosis of the deciding part's arms, e.g. "dropout: converged · overfits; none: ..."."""
        part = self.decisive_part
        return "; ".join(f"{arm}: {self.diagnosis[arm]}" for arm in part.arms if arm in self.diagnosis) if part else ""

    @property
    def headline(self) -> str:
        """The numbers that decided the verdict, in one line."""
        if not self.parts:
            return self.reason
        part = self.decisive_part
        more = f" (+{len(self.parts) - 1} more part{'s' if len(self.parts) > 2 else ''})" if len(self.parts) > 1 else ""
        return f"{part.statement}: {part.short}" + (f", claimed {part.test}" if part.test else "") + more


@dataclass
class Replication:
    result: ClaimResult  # the claim judged at another place
    agreement: str  # agreement(): agrees | disagrees | why neither
    shared: str  # shared_runs(): which of its runs the primary used too


@dataclass
class ClaimVerdict:
    """A claim's one verdict, from its primary place, with the places that replicate it."""

    id: str
    verdict: str
    result: ClaimResult
    replications: list[Replication] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"id": self.id, "verdict": self.verdict, "primary": self.result.place, "reason": self.result.reason,
                "command": self.result.command, "measured_in": self.result.measured_in, "how": self.result.how,
                "parts": [asdict(p) for p in self.result.parts], "diagnosis": self.result.diagnosis,
                "replications": [{"place": r.result.place, "verdict": r.result.verdict, "agreement": r.agreement,
                                  "shared": r.shared, "measured_in": r.result.measured_in,
                                  "parts": [asdict(p) for p in r.result.parts], "diagnosis": r.result.diagnosis}
                                 for r in self.replications]}


def agreement(primary: str, other: str) -> str:
    """A replication against the primary verdict: agrees, disagrees (supported against refuted), or says why neither."""
    if other == primary:
        return "agrees"
    if {primary, other} == {SUPPORTED, REFUTED}:
        return "disagrees"
    return "primary not measured" if primary == NOT_MEASURED else f"{other} here, {primary} at the primary"


def shared_runs(primary: set[str], other: set[str]) -> str:
    common = primary & other
    if not common:
        return "independent runs"
    if other <= primary:
        return "the same runs as the primary: the same evidence, not a replication"
    return f"shares {len(common)} of its {len(other)} runs with the primary"


# --- one evaluator per measurable claim: its parts from one place's evidence; None when the arms are missing -------

def _result(claim_id: str, ev: Evidence, how: str, parts: list[Part]) -> ClaimResult:
    tags = {arm: ev.diagnoses[arm].tag for p in parts for arm in p.arms if arm in ev.diagnoses}
    return ClaimResult(claim_id, combine(parts), ev.place, parts, how, command=ev.command, measured_in=ev.measured_in,
                       task=ev.task, diagnosis=tags)


def _worst(metric: ReportMetric) -> float | None:
    """The value of a model that is no use, for a metric in %: 100 % of an error, 0 % of a score."""
    if metric.unit != "%" or metric.better not in ("lower", "higher"):
        return None
    return 100.0 if metric.better == "lower" else 0.0


def counted(arm: RegimeSummary, metric: ReportMetric, margin: Margin) -> tuple[dict[int, float], str]:
    """The arm's values; for a part about convergence, each diverged run counted as a failure at the metric's worst
    value (and a note saying so)."""
    values = arm.by_seed(metric.name)
    diverged = [r.seed for r in arm.runs if r.status == "diverged"]
    worst = _worst(metric)
    if not (margin.convergence and diverged and worst is not None):
        return values, ""
    values.update({seed: worst for seed in diverged})
    return values, f"{len(diverged)} diverged run(s) of {arm.regime} counted as failures at {worst:g} %"


def e1(ev: Evidence, m: dict) -> ClaimResult | None:
    none, both, metric = ev.arm("none"), ev.arm("both"), ev.metric("val_accuracy")
    if not (none and both and metric):
        return None
    rough = {s.regime: {r.seed: roughness([metric.scale * h["val_accuracy"] for h in r.history if "val_accuracy" in h])
                        for r in s.runs if r.status == "finished"} for s in (none, both)}
    parts = [judged("both − none, validation accuracy: about +6 points", m["accuracy"],
                    ev.compare(both, metric.name, none), unit_of(metric), (none, both)),
             judged("both − none, roughness of the validation-accuracy curve: lower (smoother)", m["smoothness"],
                    compare(rough["both"], rough["none"], design(both, none)), " pp", (none, both))]
    return _result("E1", ev, "Validation accuracy of the best checkpoint. Roughness = Σ|change between epochs| − "
                   "|net change| of a run's validation-accuracy curve (0 for a monotone curve).", parts)


def roughness(curve: list[float]) -> float:
    """Σ|c[i+1] − c[i]| − |c[-1] − c[0]|: how much a curve zig-zags beyond its net change."""
    steps = np.diff(np.asarray(curve, float))
    return float(np.abs(steps).sum() - abs(steps.sum())) if len(steps) else 0.0


def e2(ev: Evidence, m: dict) -> ClaimResult | None:
    none, both = ev.arm("none"), ev.arm("both")
    map50, fp = ev.metric("test_map50"), ev.metric("test_fp_per_image")
    if not (none and both and map50 and fp):
        return None
    parts = [judged("both − none, test mAP@0.5: about +3.2 points", m["map"], ev.compare(both, map50.name, none),
                    unit_of(map50), (none, both)),
             judged("both − none, false detections per test image: fewer", m["false_detections"],
                    ev.compare(both, fp.name, none), unit_of(fp), (none, both))]
    return _result("E2", ev, "Test mAP@0.5 (VOC area) and false detections per test image of the best checkpoint.",
                   parts)


def identity(name: str):
    """An exact check of paddle_reg.facts (``IDENTITIES``), as cached for the installed Paddle."""
    from paddle_reg import facts

    return next(r for r in facts.cached_results() if r.id == name)


def e3(ev: Evidence, m: dict) -> ClaimResult | None:
    after, before, inputs = ev.arm("after_relu"), ev.arm("before_relu"), ev.arm("input_and_hidden")
    metric = ev.headline
    if not after:
        return None
    unit = unit_of(metric)
    placement, statement = m["placement"], f"after_relu − before_relu, {metric.label}: Dropout after the ReLU is better"
    check = identity(placement.identity)
    runs = ev.compare(after, metric.name, before) if before else None
    if check.verdict == SUPPORTED:  # the same function: no placement can be better, whatever the runs show
        seen = f"; its runs: {describe(runs, unit)}" if runs else ""
        parts = [Part(statement, REFUTED, f"{check.statement} ({check.id}: {check.rule}){seen}",
                      "an exact framework check: the two placements are one function", placement.test(unit),
                      placement.delta, placement.reason, f"one function ({check.id}), runs: "
                      f"{short(runs, unit) if runs else 'not run'}", comparison=runs.to_json() if runs else None,
                      arms=[a.regime for a in (after, before) if a],
                      runs=sorted(r.run_id for a in (after, before) if a for r in a.runs))]
    elif runs:
        parts = [judged(statement, placement, runs, unit, (after, before))]
    else:
        parts = [not_measured_part(statement, "no before_relu arm")]
    if inputs:
        parts.append(judged(f"input_and_hidden − after_relu, {metric.label}: input Dropout hurts", m["input"],
                            ev.compare(inputs, metric.name, after), unit, (inputs, after)))
    output = ev.arm("hidden_and_output")
    if output:
        parts.append(judged(f"hidden_and_output − after_relu, {metric.label}: output-layer Dropout hurts", m["output"],
                            ev.compare(output, metric.name, after), unit, (output, after)))
    else:
        parts.append(not_measured_part("Dropout on the output layer hurts", "no hidden_and_output arm"))
    return _result("E3", ev, "Dropout after vs before the ReLU is decided by an exact check of the MNIST MLP (its runs "
                   "are shown beside it); Dropout p = 0.2 on the input, or on the output layer's outputs (the logits), "
                   "on top of hidden Dropout, by the runs.", parts)


def e4(ev: Evidence, m: dict) -> ClaimResult | None:
    metric, base = ev.metric("test_error"), ev.base
    high = [s for s in ev.summaries if s is not base and (ev.setting(s, "model.dropout.hidden") or 0) > 0.7]
    if base is None or not high or metric is None:
        return None
    parts = []
    for s in high:
        values, note = counted(s, metric, m["fails"])
        parts.append(judged(f"{s.regime}: fails to converge (test error far above none's)", m["fails"],
                            compare(values, base.by_seed(metric.name), design(s, base)), unit_of(metric), (s, base),
                            note))
    return _result("E4", ev, "Every swept hidden-Dropout p > 0.7 against none, on test error; a diverged run is a "
                   "failure to converge.", parts)


def validation_key(metric: ReportMetric) -> str:
    """The final.json key of a test metric's validation counterpart (test_error → val_error)."""
    return "val_" + metric.key.removeprefix("test_")


def _validation(arm: RegimeSummary, metric: ReportMetric) -> float:
    """The arm's mean validation value of a test metric (best checkpoints): what a selection may look at."""
    key = validation_key(metric)
    values = [metric.scale * r.final[key] for r in arm.runs if r.status == "finished" and key in r.final]
    return float(np.mean(values)) if values else math.nan


def e5(ev: Evidence, m: dict) -> ClaimResult | None:
    metric, base = ev.metric("test_error"), ev.base
    arms = [(s, ev.setting(s, "optim.weight_decay")) for s in ev.summaries if s is not base]
    arms = [(s, lam) for s, lam in arms if lam]
    if base is None or not arms or metric is None:
        return None
    unit, parts = unit_of(metric), []
    parts += [judged(f"{s.regime}: almost no effect", m["tiny"], ev.compare(s, metric.name), unit, (s, base))
              for s, lam in arms if lam <= 1e-6]
    for s, lam in arms:
        if lam > 1e-2:
            values, note = counted(s, metric, m["collapse"])
            parts.append(judged(f"{s.regime}: weights collapse, the model cannot learn", m["collapse"],
                                compare(values, base.by_seed(metric.name), design(s, base)), unit, (s, base), note))
    useful = [s for s, lam in arms if 1e-5 <= lam <= 1e-3 and math.isfinite(_validation(s, metric))]
    if useful:
        best = min(useful, key=lambda s: _validation(s, metric))
        parts.append(judged(f"best λ in 1e-5..1e-3 on validation ({best.regime}, validation error "
                            f"{_validation(best, metric):.3g} %) beats none on test error", m["useful"],
                            ev.compare(best, metric.name), unit, (best, base)))
    return _result("E5", ev, "Test error of each λ against none. The useful range's λ is the one with the lowest mean "
                   "validation error, so the test split only judges it.", parts)


def overhead(ratios: list[float]) -> Comparison:
    """100·(ratio − 1) over the benchmark's interleaved rounds, paired by round."""
    return paired([100.0 * (r - 1.0) for r in ratios], by="round")


def e8(record: dict, measured_in: str) -> ClaimResult:
    """From benchmarks/regularization_cost.py's record: Paddle's plain paths judged, the suite's shown beside them."""
    m = margins(claim("E8"), "mnist")
    text = {"both": "about 10–20 % more time", "dropout": "negligible", "weight_decay": "nil"}
    plain, suite = record["paddle"]["arms"], record["suite"]["arms"]
    parts = []
    for arm, claimed in text.items():
        note = f"the suite's Trainer: {describe(overhead(suite[arm]['ratios']), ' %')}"
        if arm == "weight_decay":
            note += f"; AdamW: {describe(overhead(plain['weight_decay_adamw']['ratios']), ' %')}"
        parts.append(judged(f"{arm} vs none, training time per step: {claimed}", m[arm],
                            overhead(plain[arm]["ratios"]), " %", note=f"Paddle's plain path; {note}"))
    machine = record["machine"]
    how = (f"Overhead = 100·(time ratio − 1) of each of {record['rounds']} interleaved rounds (regime and none in one "
           "process, one thread), paired by round. The parts judge Paddle's plain paths as the articles' readers meet "
           "them (nn.Dropout; Adam(weight_decay=λ), coupled L2). Per step: an epoch adds batching and evaluation that "
           f"regularization does not touch. Measured on {machine['cpu']} ({machine['cpu_count']} cores), load "
           f"average {machine['load_average'][0]:.2f} at the start, calibration "
           f"{machine['calibration_steps_per_s']:.0f} steps/s, commit {machine['git_commit']}.")
    return ClaimResult("E8", combine(parts), measured_in.removesuffix(".json"), parts, how, command=record["command"],
                       measured_in=measured_in, task="mnist")


BENCHMARK_EVALUATORS = {"E8": e8}


def benchmark_claim(entry: dict, reports_dir: Path | None) -> ClaimResult:
    """A claim judged from a benchmark's JSON record under ``<reports_dir>/benchmarks/``."""
    name = entry["benchmark"]
    relative = f"benchmarks/{name}.json"
    path = Path(reports_dir) / relative if reports_dir is not None else None
    if path is None or not path.is_file():
        return ClaimResult(entry["id"], NOT_MEASURED, f"benchmarks/{name}", reason=f"never run: {relative} is missing "
                           "(run the command below alone on an idle machine)", command=f"python benchmarks/{name}.py")
    return BENCHMARK_EVALUATORS[entry["id"]](json.loads(path.read_text(encoding="utf-8")), relative)


def e9(ev: Evidence, m: dict) -> ClaimResult | None:
    none, dropout = ev.arm("none"), ev.arm("dropout")
    if not (none and dropout):
        return None
    drops = {s.regime: unit_failure_drops(s) for s in (none, dropout)}
    fractions = sorted(set(drops["none"]) & set(drops["dropout"]))
    if not fractions:
        return None
    parts = [judged(f"{int(round(100 * k))} % of hidden units zeroed: dropout loses less accuracy than none", m["kept"],
                    compare(drops["dropout"][k], drops["none"][k], design(dropout, none)), " pp", (dropout, none))
             for k in fractions]
    return _result("E9", ev, "Accuracy drop = test accuracy with no unit zeroed − with k % of the hidden units zeroed "
                   "at test time (mean over random masks), per run; Δ = drop(dropout) − drop(none).", parts)


def unit_failure_drops(summary: RegimeSummary) -> dict[float, dict[int, float]]:
    """fraction → seed → accuracy drop (pp) of each finished run, from the runs' unit-failure probe."""
    drops: dict[float, dict[int, float]] = {}
    for run in summary.runs:
        probe = run.probes.get("unit_failure") if run.status == "finished" else None
        if not probe:
            continue
        clean = probe["accuracy"][probe["fractions"].index(0.0)]
        for k, accuracy in zip(probe["fractions"], probe["accuracy"]):
            if k > 0:
                drops.setdefault(k, {})[run.seed] = 100.0 * (clean - accuracy)
    return drops


def e10(ev: Evidence, m: dict) -> ClaimResult | None:
    l1, metric = ev.arm("l1"), ev.metric("near_zero")
    others = [s for s in (ev.arm("none"), ev.arm("weight_decay")) if s]
    if not (l1 and others and metric):
        return None
    parts = [judged(f"l1 − {other.regime}: more weights with |w| < 1e-3", m["sparser"],
                    ev.compare(l1, metric.name, other), unit_of(metric), (l1, other)) for other in others]
    return _result("E10", ev, "Share of the weights (tensors with ndim ≥ 2, best checkpoint) with |w| < 1e-3.", parts)


def e11(ev: Evidence, m: dict) -> ClaimResult | None:
    base, gap = ev.base, ev.metric("gap")
    arms = [s for s in ev.summaries if s is not base and s.values("gap")] if gap else []
    if base is None or not arms:
        return None
    parts = [judged(f"{s.regime} − none, {gap.label}: narrower", m["narrower"].towards(gap.better),
                    ev.compare(s, gap.name), unit_of(gap), (s, base)) for s in arms]
    return _result("E11", ev, f"Gap = {gap.label} of the best checkpoint, both sides in eval mode; every regularized "
                   "arm against none.", parts)


def e12(ev: Evidence, m: dict) -> ClaimResult | None:
    metric = ev.headline
    last_key = f"last_{metric.key}"
    none, stopped = ev.arm("none"), ev.arm("early_stop")
    if none is None:
        return None
    last = {r.seed: metric.scale * r.final[last_key] for r in none.runs
            if r.status == "finished" and last_key in r.final}
    margin = m["better"].towards(metric.better)
    if stopped:
        c = compare(stopped.by_seed(metric.name), last, design(stopped, none))
        part = judged(f"{metric.label}: early_stop's selected checkpoint − none's last epoch: better", margin, c,
                      unit_of(metric), (stopped, none))
        how = "early_stop (patience reg.early_stop.patience) selects its best-validation checkpoint; none trains every " \
              "epoch; Δ = early_stop's test metric − none's at its last epoch."
    else:
        c = compare(none.by_seed(metric.name), last, PAIRED)
        at_end = sum(1 for r in none.runs if r.status == "finished" and r.final.get("best_epoch") ==
                     r.final.get("epochs_run"))
        part = judged(f"{metric.label}: none's best-validation checkpoint − its last epoch: better", margin, c,
                      unit_of(metric), (none,), f"{at_end} of {c.n} runs were best at their last epoch (Δ = 0 there)")
        how = "The best-validation checkpoint of each none run against the same run's last epoch: the model early " \
              "stopping would keep against the one training ends with."
    return _result("E12", ev, how, [part])


def e15(ev: Evidence, m: dict) -> ClaimResult | None:
    map50, base = ev.metric("test_map50"), ev.base
    augmentations = {"cutout", "mixup", "cutmix", "dropblock"}
    arms = [s for s in ev.summaries if s is not base and augmentations & set(s.regime.split("+"))]
    if not (map50 and arms and base):
        return None
    parts = []
    for s in arms:
        c = ev.compare(s, map50.name)
        combined = "dropblock" in s.regime and len(s.regime.split("+")) > 1
        note = f"against the stated +8, read as points of mAP@0.5: {_against(c, 8.0)}" if combined else ""
        parts.append(judged(f"{s.regime} − none, test mAP@0.5: higher", m["better"], c, unit_of(map50), (s, base),
                            note))
    parts.append(not_measured_part("+8 % mIoU", m["miou"]))
    return _result("E15", ev, "Test mAP@0.5 of every augmentation or DropBlock arm against none; the combinations "
                   "the claim names (Cutout or Mixup with DropBlock) are also set against its +8, shown, not judged.",
                   parts)


def _against(c: Comparison, value: float) -> str:
    """Where a comparison's 95 % CI lies against ``value``."""
    if not c.has_ci:
        return "no interval"
    where = "below it" if c.high < value else "above it" if c.low > value else "it lies inside"
    return f"95 % CI [{_num(c.low)}, {_num(c.high)}]: {where}"


def best_setting(points: list[tuple[float, float]]) -> tuple[float, bool]:
    """The setting x minimizing y over a log-spaced sweep [(x, y)]: the vertex, in log10 x, of the parabola through the
    sweep's minimum and its two neighbours (kept between them), or the log-midpoint of the first and last of several
    equal minima; and whether the minimum is at an end of the sweep."""
    points = sorted(points)
    ys = np.array([y for _, y in points])
    ties = np.flatnonzero(ys == ys.min())
    if len(ties) > 1:
        low, high = points[ties[0]][0], points[ties[-1]][0]
        return float(np.sqrt(low * high)), bool(ties[0] == 0 or ties[-1] == len(points) - 1)
    at = int(ties[0])
    if at in (0, len(points) - 1):
        return points[at][0], True
    logs = np.log10([x for x, _ in points[at - 1 : at + 2]])
    curvature, slope, _ = np.polyfit(logs, [y for _, y in points[at - 1 : at + 2]], 2)
    vertex = -slope / (2 * curvature) if curvature > 0 else logs[1]
    return float(10 ** np.clip(vertex, logs[0], logs[2])), False


@dataclass
class DecayCoupling:
    """E6 for one decay mode: the λ best on validation at each lr, per seed, and the slope of log10 λ* on log10 lr."""

    mode: str
    lrs: list[float]
    decays: list[float]
    mean_val: dict[tuple[float, float], float]  # (lr, λ) → mean validation metric over seeds (λ = 0 included)
    best: dict[int, dict[float, float]]  # seed → lr → λ*
    at_edge: int  # optima at an end of the λ sweep (the true one may lie beyond it)
    slopes: dict[int, float]  # seed → slope
    arms: tuple[RegimeSummary, ...]

    @property
    def slope(self) -> Comparison:
        return paired(list(self.slopes.values()))


def decay_coupling(ev: Evidence, mode: str) -> DecayCoupling | None:
    """From the arms with λ = 0 and those decaying in ``mode`` (``coupled``, which run records spell ``l2``, or
    ``decoupled``); a diverged run counts as the worst value of its metric (error 1)."""
    key, worst = validation_key(ev.headline), 1.0
    cells: dict[tuple[float, float], dict[int, float]] = {}
    arms = []
    for s in ev.summaries:
        lr, decay = ev.setting(s, "optim.lr"), ev.setting(s, "optim.weight_decay")
        if lr is None or decay is None or (decay > 0 and (ev.setting(s, "optim.decay_mode") == "decoupled")
                                           != (mode == "decoupled")):
            continue
        arms.append(s)
        cells[(lr, decay)] = {r.seed: r.final[key] if r.status == "finished" else worst for r in s.runs
                              if r.status == "diverged" or (r.status == "finished" and key in r.final)}
    lrs = sorted({lr for (lr, decay) in cells if decay > 0})
    decays = sorted({decay for (_, decay) in cells if decay > 0})
    if len(lrs) < 2 or len(decays) < 3:
        return None
    seeds = sorted({seed for (lr, decay), runs in cells.items() if decay > 0 for seed in runs})
    best, at_edge, slopes = {}, 0, {}
    for seed in seeds:
        per_lr = {}
        for lr in lrs:
            points = [(decay, cells[(lr, decay)][seed]) for decay in decays if seed in cells.get((lr, decay), {})]
            if len(points) >= 3:
                per_lr[lr], edge = best_setting(points)
                at_edge += edge
        if len(per_lr) >= 2:
            best[seed] = per_lr
            slopes[seed] = float(np.polyfit(np.log10(list(per_lr)), np.log10(list(per_lr.values())), 1)[0])
    mean_val = {cell: ev.headline.scale * float(np.mean(list(runs.values()))) for cell, runs in cells.items() if runs}
    return DecayCoupling(mode, lrs, decays, mean_val, best, at_edge, slopes, tuple(arms))


def e6(ev: Evidence, m: dict) -> ClaimResult | None:
    couplings = [c for c in (decay_coupling(ev, mode) for mode in ("coupled", "decoupled")) if c]
    if not couplings:
        return None
    parts = []
    for c in couplings:
        name = "coupled L2" if c.mode == "coupled" else "decoupled decay"
        medians = ", ".join(f"lr {lr:g}: {np.median([b[lr] for b in c.best.values() if lr in b]):.2g}" for lr in c.lrs
                            if any(lr in b for b in c.best.values()))
        parts.append(judged(f"{name}: the λ best on validation grows with lr (slope of log10 λ* on log10 lr)",
                            m[c.mode], c.slope, "", c.arms, f"best λ (median over seeds) {medians}; {c.at_edge} of "
                            f"{sum(len(b) for b in c.best.values())} optima at an end of the λ sweep"))
    return _result("E6", ev, "For each seed and lr, λ* is the weight decay with the lowest validation error of the "
                   "best checkpoint (a diverged run counts as 100 % error), refined by a parabola in log10 λ through "
                   "the sweep's minimum and its neighbours; the slope of log10 λ* on log10 lr is fitted per seed "
                   "(least squares), and Δ is its mean over seeds (one-sample t). Each decay mode is one part: coupled "
                   "L2 as in Paddle's Adam(weight_decay=λ), decoupled p ← p − lr·λ·p. An optimum at an end of the "
                   "sweep is a bound, counted in the evidence.", parts)


def curve_roughness(run, key: str, scale: float) -> float:
    return roughness([scale * h[key] for h in run.history if key in h])


E7_ORDERS = {"bn_dropout": "BN → Dropout", "dropout_bn": "Dropout → BN"}


def e7(ev: Evidence, m: dict) -> ClaimResult | None:
    key, scale = validation_key(ev.headline), ev.headline.scale
    singles = [s for s in (ev.arm("bn"), ev.arm("dropout")) if s]
    combined = [s for s in map(ev.arm, E7_ORDERS) if s]
    if len(singles) < 2 or not combined:
        return None
    arms = singles + combined
    rough = {s.regime: {r.seed: curve_roughness(r, key, scale) for r in s.runs if r.status == "finished"} for s in arms}
    diverged = {s.regime: s.status_counts.get("diverged", 0) for s in arms}
    best = {s.regime: [scale * r.final[key] for r in s.runs if r.status == "finished" and key in r.final] for s in arms}
    spread = {arm: f"{np.std(v, ddof=1):.2g}" if len(v) > 1 else "n/a" for arm, v in best.items()}
    parts, orders = [], []
    for combo in combined:
        mine = [judged(f"{E7_ORDERS[combo.regime]} ({combo.regime}) − {single.regime}, roughness of the "
                       "validation-error curve: higher (less stable)", m["rougher"],
                       compare(rough[combo.regime], rough[single.regime], design(combo, single)), " pp",
                       (combo, single), f"diverged runs {diverged[combo.regime]} vs {diverged[single.regime]}; seed "
                       f"std of the best validation error {spread[combo.regime]} vs {spread[single.regime]} pp")
                for single in singles]
        if diverged[combo.regime] > max(diverged[s.regime] for s in singles):
            mine.append(Part(f"{E7_ORDERS[combo.regime]} ({combo.regime}): diverged in more seeds than BN alone and "
                             "Dropout alone", SUPPORTED, ", ".join(f"{a}: {diverged[a]}" for a in diverged),
                             "counted divergences", arms=[s.regime for s in (combo, *singles)]))
        orders.append(SUPPORTED if SUPPORTED in [p.verdict for p in mine[len(singles):]] else combine(mine))
        parts += mine
    result = _result("E7", ev, "Instability of a run: divergence (a non-finite training loss) and the roughness of its "
                     "validation-error curve, Σ|change between epochs| − |net change| in pp (0 for a monotone curve, "
                     "large for spikes and zig-zags); the seed-to-seed std of the best validation error is shown "
                     "beside them. An order of BN and Dropout is unstable when it diverged in more seeds than both BN "
                     "alone and Dropout alone, or when its roughness exceeds each single arm's (its parts supported); "
                     "not, when a part is refuted. The claim (\"can make training unstable\") is supported when "
                     "either order is unstable, refuted when both are not, not measured when neither is measured.",
                     parts)
    result.verdict = SUPPORTED if SUPPORTED in orders else REFUTED if all(o == REFUTED for o in orders) else \
        NOT_MEASURED if all(o == NOT_MEASURED for o in orders) else INCONCLUSIVE
    return result


def norm_batch_arms(ev: Evidence) -> dict[str, dict[int, RegimeSummary]]:
    """norm → batch size → arm, from the arms' run configs."""
    arms: dict[str, dict[int, RegimeSummary]] = {}
    for s in ev.summaries:
        norm, batch = ev.setting(s, "model.norm"), ev.setting(s, "train.batch_size")
        if norm and batch:
            arms.setdefault(norm, {})[batch] = s
    return arms


def e13(ev: Evidence, m: dict) -> ClaimResult | None:
    arms, metric = norm_batch_arms(ev), ev.headline
    if "bn" not in arms or not ({"gn", "ln"} & set(arms)):
        return None
    parts, unit = [], unit_of(metric)
    for norm in ("bn", "gn", "ln"):
        by_batch = arms.get(norm, {})
        reference = max(by_batch, default=0)
        for batch in sorted(b for b in by_batch if b < 8):
            small, large = by_batch[batch], by_batch[reference]
            what = "degrades" if norm == "bn" else "does not degrade"
            parts.append(judged(f"{norm} at batch {batch} − at batch {reference}, {metric.label}: {what}",
                                m["bn_degrades" if norm == "bn" else "others_hold"],
                                ev.compare(small, metric.name, large), unit, (small, large)))
    if not parts:
        return None
    return _result("E13", ev, "Every arm sees the same number of training samples, with lr = 1e-3·√(batch/64). For "
                   "each norm, each batch size below 8 against the largest batch: BatchNorm's test error rises, "
                   "GroupNorm's and LayerNorm's do not. Batches 8 and 16 are in the figure.", parts)


def drop_path_arms(ev: Evidence) -> dict[float, dict[str, RegimeSummary]]:
    """p_L → schedule → arm, from the arms' run configs (reg.droppath)."""
    arms: dict[float, dict[str, RegimeSummary]] = {}
    for s in ev.summaries:
        setting = ev.setting(s, "reg.droppath")
        if setting:
            arms.setdefault(setting["p"], {})[setting["schedule"]] = s
    return arms


def e14(ev: Evidence, m: dict) -> ClaimResult | None:
    base, metric = ev.base, ev.headline
    pairs = {p: arms for p, arms in drop_path_arms(ev).items() if {"linear", "constant"} <= set(arms)}
    if base is None or not pairs:
        return None
    parts, unit = [], unit_of(metric)
    for p, arms in sorted(pairs.items()):
        linear, constant = arms["linear"], arms["constant"]
        parts += [judged(f"linear p_L={p:g} − none, {metric.label}: DropPath helps", m["helps"].towards(metric.better),
                         ev.compare(linear, metric.name), unit, (linear, base)),
                  judged(f"linear − constant at p_L={p:g}, {metric.label}: the linear schedule is better",
                         m["linear"].towards(metric.better), ev.compare(linear, metric.name, constant), unit,
                         (linear, constant))]
    return _result("E14", ev, "Test error of the residual MLP with DropPath's linear schedule against none and against "
                   "the constant schedule at the same p_L (the last block's rate). At the same p_L the constant "
                   "schedule drops about twice as many branches (mean rate p_L against (L+1)/(2L)·p_L).", parts)


EVALUATORS = {"E1": e1, "E2": e2, "E3": e3, "E4": e4, "E5": e5, "E9": e9, "E10": e10, "E11": e11,
              "E12": e12, "E15": e15, "E6": e6, "E7": e7, "E13": e13, "E14": e14}


# --- every claim's verdict from the places' evidence --------------------------------------------------------------

def measure(entry: dict, place: str, places: dict[str, Evidence]) -> ClaimResult:
    """The claim judged on the runs of one place, or why it could not be."""
    ev = places.get(place)
    if ev is None:
        return ClaimResult(entry["id"], NOT_MEASURED, place, reason=f"never run: no report at {place} yet",
                           command=place_command(place))
    result = EVALUATORS[entry["id"]](ev, margins(entry, ev.task))
    if result is None:
        return ClaimResult(entry["id"], NOT_MEASURED, place, reason="its runs lack the arms or metrics the claim needs",
                           command=ev.command, measured_in=ev.measured_in, task=ev.task)
    return result


def judge(entry: dict, places: dict[str, Evidence], reports_dir: Path | None) -> ClaimVerdict:
    """One claim of claims.yaml: its primary place's verdict, and each replication where it was measured."""
    if entry.get("out_of_scope"):
        return ClaimVerdict(entry["id"], OUT_OF_SCOPE, ClaimResult(entry["id"], OUT_OF_SCOPE,
                                                                   reason=entry["out_of_scope"]))
    if entry.get("not_measured"):
        return ClaimVerdict(entry["id"], NOT_MEASURED, ClaimResult(entry["id"], NOT_MEASURED,
                                                                   reason=entry["not_measured"]))
    if entry.get("benchmark"):
        result = benchmark_claim(entry, reports_dir)
        return ClaimVerdict(entry["id"], result.verdict, result)
    primary = measure(entry, entry["primary"], places)
    replications = []
    for place in entry.get("replications", []):
        other = measure(entry, place, places) if place in places else None
        if other is not None and other.verdict != NOT_MEASURED:
            replications.append(Replication(other, agreement(primary.verdict, other.verdict),
                                            shared_runs(primary.runs, other.runs)))
    return ClaimVerdict(entry["id"], primary.verdict, primary, replications)


def judge_all(places: dict[str, Evidence], reports_dir: Path | None) -> list[ClaimVerdict]:
    """E1–E16 in claims.yaml's order, then F1–F9."""
    return [judge(entry, places, reports_dir) for entry in claims()["experiment_claims"]] + fact_verdicts()


def fact_verdicts() -> list[ClaimVerdict]:
    """F1–F9 as ``python -m paddle_reg.facts`` cached them for the installed Paddle (measured once when it has not)."""
    from paddle_reg import facts

    verdicts = []
    for fact in facts.cached_results():
        if not fact.id.startswith("F"):
            continue
        measured = ", ".join(f"{k} = {_number(v)}" for k, v in fact.measured.items())
        result = ClaimResult(fact.id, fact.verdict, "facts", [Part(fact.statement, fact.verdict, measured, fact.rule)],
                             fact.rule, command="python -m paddle_reg.facts")
        verdicts.append(ClaimVerdict(fact.id, fact.verdict, result))
    return verdicts


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
