"""Claim verdicts computed from measurements by stated rules, never typed in.

Every experiment claim is split into parts (testable statements); each part is decided by one of
the rules below on a 95% confidence interval (CI), and the claim's verdict combines its parts:
supported when every part is supported, refuted when any part is refuted, inconclusive otherwise.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass, field
from importlib import resources

import numpy as np
import yaml

from paddle_reg.report.collect import Delta, RegimeSummary, baseline, paired_delta, welch_delta
from paddle_reg.task_api import ReportMetric

SUPPORTED, REFUTED, INCONCLUSIVE, OUT_OF_SCOPE = "supported", "refuted", "inconclusive", "out of scope"
COMBINE_RULE = ("The claim is supported when every part is supported, refuted when any part is refuted, "
                "inconclusive otherwise.")


@functools.lru_cache(maxsize=1)
def claims() -> dict:
    """The claims of ../shared/claims.md shipped with the package: {"experiment_claims", "fact_claims"}."""
    return yaml.safe_load(resources.files("paddle_reg.report").joinpath("claims.yaml").read_text(encoding="utf-8"))


def claim(claim_id: str) -> dict:
    return next(c for c in claims()["experiment_claims"] if c["id"] == claim_id)


def experiment_command(name: str) -> str:
    return f"python -m paddle_reg.run experiment={name}"


@dataclass
class Part:
    """One testable statement of a claim, its verdict and the numbers it was decided on."""

    statement: str
    verdict: str
    evidence: str


@dataclass
class ClaimResult:
    id: str
    verdict: str
    rule: str = ""
    parts: list[Part] = field(default_factory=list)
    reason: str = ""  # why: out of scope, or not measured yet
    command: str = ""  # what produced (or would produce) the evidence
    measured_in: str = ""  # the report the evidence comes from
    task: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ClaimResult":
        return cls(**{**data, "parts": [Part(**p) for p in data.get("parts", [])]})


def combine(parts: list[Part]) -> str:
    verdicts = [p.verdict for p in parts]
    if verdicts and all(v == SUPPORTED for v in verdicts):
        return SUPPORTED
    return REFUTED if REFUTED in verdicts else INCONCLUSIVE


# --- rules on one delta (regime − baseline) with its CI ------------------------------------------

def _fmt(x: float | None, unit: str = "") -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:+.3g}{unit}"


def describe(delta: Delta, unit: str = "") -> str:
    ci = f"[{_fmt(delta.low)}, {_fmt(delta.high)}]" if delta.has_ci else "no CI (fewer than 2 runs a side)"
    p = f", p = {delta.p_value:.3g}" if delta.p_value is not None else ""
    return f"Δ = {_fmt(delta.diff)}{unit}, 95% CI {ci}{p}, n = {delta.n} vs {delta.n_base}"


def direction(delta: Delta, want: str) -> str:
    """``want`` "lower" | "higher": supported if the CI excludes 0 on that side, refuted if on the other side."""
    if not delta.has_ci:
        return INCONCLUSIVE
    sign = 1 if want == "higher" else -1
    low, high = sorted((sign * delta.low, sign * delta.high))
    return SUPPORTED if low > 0 else REFUTED if high < 0 else INCONCLUSIVE


def magnitude(delta: Delta, claimed: float, tolerance: float = 0.5) -> str:
    """"About ``claimed``": supported if the CI excludes 0 on the claimed side and overlaps
    [(1 − tol)·claimed, (1 + tol)·claimed]; refuted if the CI lies entirely outside that interval."""
    if not delta.has_ci:
        return INCONCLUSIVE
    sign = 1 if claimed > 0 else -1
    low, high = sorted((sign * delta.low, sign * delta.high))
    lo, hi = (1 - tolerance) * abs(claimed), (1 + tolerance) * abs(claimed)
    if high < lo or low > hi:
        return REFUTED
    return SUPPORTED if low > 0 else INCONCLUSIVE


def at_least(delta: Delta, threshold: float) -> str:
    """Supported if the whole CI is above ``threshold``, refuted if the whole CI is below it."""
    if not delta.has_ci:
        return INCONCLUSIVE
    return SUPPORTED if delta.low > threshold else REFUTED if delta.high < threshold else INCONCLUSIVE


def within(delta: Delta, low: float, high: float) -> str:
    """"Between ``low`` and ``high``": supported if the CI lies inside, refuted if it does not overlap it."""
    if not delta.has_ci:
        return INCONCLUSIVE
    if delta.high < low or delta.low > high:
        return REFUTED
    return SUPPORTED if low <= delta.low and delta.high <= high else INCONCLUSIVE


def better_not_equal(delta: Delta, want: str, margin: float) -> str:
    """"A beats B": supported if the CI excludes 0 on the wanted side; refuted if it excludes 0 on the other
    side or lies inside ±``margin`` (no difference that matters)."""
    verdict = direction(delta, want)
    if verdict == INCONCLUSIVE and delta.has_ci and -margin <= delta.low and delta.high <= margin:
        return REFUTED
    return verdict


# --- the evidence a report holds --------------------------------------------------------------------

@dataclass
class Evidence:
    """What one report measured: its arms (summaries) and the task's metrics."""

    task: str
    summaries: list[RegimeSummary]
    metrics: tuple[ReportMetric, ...]
    command: str
    measured_in: str

    def arm(self, label: str) -> RegimeSummary | None:
        return next((s for s in self.summaries if s.regime == label), None)

    def metric(self, name: str) -> ReportMetric | None:
        return next((m for m in self.metrics if m.name == name), None)

    @property
    def headline(self) -> ReportMetric:
        return self.metrics[0]

    def setting(self, summary: RegimeSummary, path: str):
        """A value of the arm's effective run config, e.g. ``optim.weight_decay``."""
        value = next((r.run_config for r in summary.runs if r.run_config), {})
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        return value

    def delta(self, arm: RegimeSummary, metric: str, base: RegimeSummary | None = None) -> Delta:
        base = base or baseline(self.summaries)
        return welch_delta(arm.values(metric), base.values(metric))


def _unit(metric: ReportMetric) -> str:
    """The unit of a difference: percentage points for a metric in %."""
    return " pp" if metric.unit == "%" else f" {metric.unit}" if metric.unit else ""


def _metric_part(ev: Evidence, arm: RegimeSummary, metric: ReportMetric, rule: str, *args,
                 base: RegimeSummary | None = None, statement: str = "", paired: bool = False) -> Part:
    """One part decided by ``rule`` on arm − base: Welch's interval, or with ``paired`` a paired-t one over seeds."""
    base = base or baseline(ev.summaries)
    if paired:
        ours, theirs = arm.by_seed(metric.name), base.by_seed(metric.name)
        delta = paired_delta([ours[s] - theirs[s] for s in sorted(set(ours) & set(theirs))])
    else:
        delta = ev.delta(arm, metric.name, base)
    verdict = {"direction": direction, "magnitude": magnitude, "at_least": at_least, "within": within,
               "better_not_equal": better_not_equal}[rule](delta, *args)
    return Part(statement or f"{arm.regime} − {base.regime}, {metric.label}", verdict,
                describe(delta, _unit(metric)) + (" (paired by seed)" if paired else ""))


def _result(claim_id: str, ev: Evidence, rule: str, parts: list[Part]) -> ClaimResult:
    return ClaimResult(claim_id, combine(parts), rule + " " + COMBINE_RULE, parts, command=ev.command,
                       measured_in=ev.measured_in, task=ev.task)


# --- one evaluator per measurable claim; None when the report lacks the arms or metrics it needs -----

def e1(ev: Evidence) -> ClaimResult | None:
    none, both, metric = ev.arm("none"), ev.arm("both"), ev.metric("val_accuracy")
    if not (none and both and metric):
        return None
    rough = {s.regime: [roughness([metric.scale * h["val_accuracy"] for h in r.history if "val_accuracy" in h])
                        for r in s.runs if r.status == "finished"] for s in (none, both)}
    delta = welch_delta(rough["both"], rough["none"])
    parts = [_metric_part(ev, both, metric, "magnitude", 6.0,
                          statement="both − none, validation accuracy: about +6 points"),
             Part("both − none, roughness of the validation-accuracy curve: lower (smoother)",
                  direction(delta, "lower"), describe(delta, " pp"))]
    return _result("E1", ev, "Part 1 (about +6): supported if the Welch 95% CI of Δ lies above 0 and overlaps "
                   "[+3, +9] points, refuted if it lies outside [+3, +9]. Part 2: roughness = "
                   "Σ|Δ between epochs| − "
                   "|net change| of the validation-accuracy curve (0 for a monotone curve); supported if the CI of "
                   "both − none is below 0, refuted if above.", parts)


def roughness(curve: list[float]) -> float:
    """Σ|c[i+1] − c[i]| − |c[-1] − c[0]|: how much a curve zig-zags beyond its net change."""
    steps = np.diff(np.asarray(curve, float))
    return float(np.abs(steps).sum() - abs(steps.sum())) if len(steps) else 0.0


def e2(ev: Evidence) -> ClaimResult | None:
    none, both = ev.arm("none"), ev.arm("both")
    map50, fp = ev.metric("test_map50"), ev.metric("test_fp_per_image")
    if not (none and both and map50 and fp):
        return None
    parts = [_metric_part(ev, both, map50, "magnitude", 3.2,
                          statement="both − none, test mAP@0.5: about +3.2 points"),
             _metric_part(ev, both, fp, "direction", "lower",
                          statement="both − none, false detections per test image: fewer")]
    return _result("E2", ev, "Part 1 (about +3.2): supported if the Welch 95% CI of Δ lies above 0 and overlaps "
                   "[+1.6, +4.8] points, refuted if it lies outside. Part 2: supported if the CI of Δ false "
                   "detections per image is below 0, refuted if above.", parts)


def e3(ev: Evidence) -> ClaimResult | None:
    after, before, inputs = ev.arm("after_relu"), ev.arm("before_relu"), ev.arm("input_and_hidden")
    metric = ev.headline
    if not (after and before):
        return None
    parts = [_metric_part(ev, after, metric, "better_not_equal", metric.better, 0.1, base=before, paired=True,
                          statement=f"after_relu − before_relu, {metric.label}: Dropout after the ReLU is better")]
    if inputs:
        worse = "higher" if metric.better == "lower" else "lower"
        parts.append(_metric_part(ev, inputs, metric, "direction", worse, base=after, paired=True,
                                  statement=f"input_and_hidden − after_relu, {metric.label}: input Dropout hurts"))
    return _result("E3", ev, "The arms share each seed's initialization and batches, so differences are paired by "
                   "seed (one-sample t 95% CI). Part 1: supported if the CI of after_relu − before_relu excludes 0 "
                   "in after_relu's favour; refuted if it excludes 0 the other way or lies within ±0.1 pp (no "
                   "difference that matters). Part 2: supported if adding input Dropout (p = 0.2) makes the metric "
                   "significantly worse (CI excludes 0), refuted if significantly better. Output-layer Dropout is "
                   "not tested.", parts)


def e4(ev: Evidence) -> ClaimResult | None:
    metric, base = ev.metric("test_error"), baseline(ev.summaries)
    high = [s for s in ev.summaries if s is not base and (ev.setting(s, "model.dropout.hidden") or 0) > 0.7]
    if base is None or not high or metric is None:
        return None
    parts = [_metric_part(ev, s, metric, "at_least", 10.0,
                          statement=f"{s.regime}: fails to converge (test error ≥ none's + 10 pp)") for s in high]
    return _result("E4", ev, "For every swept hidden-Dropout p > 0.7: \"fails to converge\" is taken as a test error "
                   "at least 10 pp above `none`; supported if the Welch 95% CI of Δ lies entirely above +10 pp, "
                   "refuted "
                   "if entirely below.", parts)


def e5(ev: Evidence) -> ClaimResult | None:
    metric, base = ev.metric("test_error"), baseline(ev.summaries)
    arms = [(s, ev.setting(s, "optim.weight_decay")) for s in ev.summaries if s is not base]
    arms = [(s, lam) for s, lam in arms if lam]
    if base is None or not arms or metric is None:
        return None
    parts = []
    tiny = [s for s, lam in arms if lam <= 1e-6]
    parts += [_metric_part(ev, s, metric, "within", -0.25, 0.25, paired=True,
                           statement=f"{s.regime}: almost no effect (|Δ| ≤ 0.25 pp)") for s in tiny]
    large = [s for s, lam in arms if lam > 1e-2]
    parts += [_metric_part(ev, s, metric, "at_least", 10.0, paired=True,
                           statement=f"{s.regime}: weights collapse, the model cannot learn (Δ ≥ +10 pp)")
              for s in large]
    useful = [s for s, lam in arms if 1e-5 <= lam <= 1e-3 and s.values(metric.name)]
    if useful:
        best = min(useful, key=lambda s: np.mean(s.values(metric.name)))
        parts.append(_metric_part(ev, best, metric, "direction", "lower", paired=True,
                                  statement=f"best λ in 1e-5..1e-3 ({best.regime}) beats none"))
    return _result("E5", ev, "The arms differ only in λ (same initialization and batches per seed), so Δ test "
                   "error is paired by seed (one-sample t 95% CI). λ ≤ 1e-6: supported if the CI lies within "
                   "±0.25 pp, refuted if outside it. λ > 1e-2: supported if the CI lies above +10 pp, refuted if "
                   "below. Useful range: the λ in [1e-5, 1e-3] with the lowest mean error; supported if its CI is "
                   "below 0, refuted if above.",
                   parts)


def overhead(ratios: list[float]) -> Delta:
    """100·(ratio − 1) over the benchmark's interleaved rounds, with a one-sample t 95% CI."""
    return paired_delta([100.0 * (r - 1.0) for r in ratios])


def e8(record: dict, measured_in: str) -> ClaimResult:
    """From benchmarks/regularization_cost.py's record: Paddle's plain paths judged, the suite's shown beside them."""
    expected = {"both": (10.0, 20.0, "about 10–20 % more time"), "dropout": (-5.0, 5.0, "negligible (within ±5 %)"),
                "weight_decay": (-2.0, 2.0, "nil (within ±2 %)")}
    plain, suite = record["paddle"]["arms"], record["suite"]["arms"]
    parts = []
    for arm, (low, high, text) in expected.items():
        cost = overhead(plain[arm]["ratios"])
        evidence = f"Paddle's plain path: {describe(cost, ' %')}; the suite's Trainer: " \
                   f"{describe(overhead(suite[arm]['ratios']), ' %')}"
        if arm == "weight_decay":
            evidence += f"; AdamW: {describe(overhead(plain['weight_decay_adamw']['ratios']), ' %')}"
        parts.append(Part(f"{arm} vs none, training time per step: {text}", within(cost, low, high), evidence))
    machine = record["machine"]
    rule = (f"Overhead = 100·(time ratio − 1) of each of {record['rounds']} interleaved rounds (regime and none in "
            "one process, one thread), one-sample t 95% CI over rounds. The parts judge Paddle's plain paths as the "
            "articles' readers meet them (nn.Dropout; Adam(weight_decay=λ), coupled L2): supported if the CI lies "
            "inside the claimed range, refuted if it does not overlap it. Per step: an epoch adds batching and "
            "evaluation that regularization does not touch. Measured on "
            f"{machine['cpu']} ({machine['cpu_count']} cores), load average {machine['load_average'][0]:.2f} at the "
            f"start, calibration {machine['calibration_steps_per_s']:.0f} steps/s, commit {machine['git_commit']}.")
    return ClaimResult("E8", combine(parts), rule, parts, command=record["command"], measured_in=measured_in,
                       task="mnist")


BENCHMARK_EVALUATORS = {"E8": e8}


def benchmark_claim(entry: dict, reports_dir) -> ClaimResult:
    """A claim judged from a benchmark's JSON record under ``<reports_dir>/benchmarks/``."""
    name = entry["benchmark"]
    relative = f"benchmarks/{name}.json"
    path = reports_dir / relative if reports_dir is not None else None
    if path is None or not path.is_file():
        return ClaimResult(entry["id"], INCONCLUSIVE, reason=f"not measured yet: {relative} is missing (run the "
                           "command below alone on an idle machine)", command=f"python benchmarks/{name}.py")
    return BENCHMARK_EVALUATORS[entry["id"]](json.loads(path.read_text(encoding="utf-8")), relative)


def e9(ev: Evidence) -> ClaimResult | None:
    none, dropout = ev.arm("none"), ev.arm("dropout")
    if not (none and dropout):
        return None
    drops = {s.regime: unit_failure_drops(s) for s in (none, dropout)}
    fractions = sorted(set(drops["none"]) & set(drops["dropout"]))
    if not fractions:
        return None
    parts = []
    for k in fractions:
        delta = welch_delta(drops["dropout"][k], drops["none"][k])
        parts.append(Part(f"{int(round(100 * k))} % of hidden units zeroed: dropout loses less accuracy than none",
                          direction(delta, "lower"), describe(delta, " pp")))
    return _result("E9", ev, "Accuracy drop = accuracy with no unit zeroed − accuracy with k % of the hidden units "
                   "zeroed at test time (mean over random masks), per run. For each k: supported if the Welch 95% CI "
                   "of drop(dropout) − drop(none) is below 0, refuted if above.", parts)


def unit_failure_drops(summary: RegimeSummary) -> dict[float, list[float]]:
    """fraction → accuracy drop (pp) per finished run, from the runs' unit-failure probe."""
    drops: dict[float, list[float]] = {}
    for run in summary.runs:
        probe = run.probes.get("unit_failure") if run.status == "finished" else None
        if not probe:
            continue
        clean = probe["accuracy"][probe["fractions"].index(0.0)]
        for k, accuracy in zip(probe["fractions"], probe["accuracy"]):
            if k > 0:
                drops.setdefault(k, []).append(100.0 * (clean - accuracy))
    return drops


def e10(ev: Evidence) -> ClaimResult | None:
    l1, metric = ev.arm("l1"), ev.metric("near_zero")
    others = [s for s in (ev.arm("none"), ev.arm("weight_decay")) if s]
    if not (l1 and others and metric):
        return None
    parts = [_metric_part(ev, l1, metric, "direction", "higher", base=other,
                          statement=f"l1 − {other.regime}: more weights with |w| < 1e-3") for other in others]
    return _result("E10", ev, "Share of weights (ndim ≥ 2, best checkpoint) with |w| < 1e-3; supported if the Welch "
                   "95% CI of l1 − other is above 0 for `none` and `weight_decay`, refuted if below.", parts)


def e11(ev: Evidence) -> ClaimResult | None:
    base, gap = baseline(ev.summaries), ev.metric("gap")
    arms = [s for s in ev.summaries if s is not base and s.values("gap")] if gap else []
    if base is None or not arms:
        return None
    parts = [_metric_part(ev, s, gap, "direction", "lower", statement=f"{s.regime} − none, {gap.label}: narrower")
             for s in arms]
    return _result("E11", ev, f"Gap = {gap.label}, best checkpoint, both sides in eval mode; for each regularized arm: "
                   "supported if the Welch 95% CI of Δ gap is below 0, refuted if above.", parts)


def e12(ev: Evidence) -> ClaimResult | None:
    metric = ev.headline
    last_key = f"last_{metric.key}"
    none, stopped = ev.arm("none"), ev.arm("early_stop")
    if none and stopped:
        last = {r.seed: metric.scale * r.final[last_key] for r in none.runs
                if r.status == "finished" and last_key in r.final}
        chosen = stopped.by_seed(metric.name)
        seeds = sorted(set(last) & set(chosen))
        differences = [chosen[s] - last[s] for s in seeds]
        how = "early_stop's selected checkpoint − none's last epoch, same seed"
    else:
        runs = [r for s in ev.summaries for r in s.runs if r.status == "finished" and last_key in r.final]
        differences = [metric.value(r.final) - metric.scale * r.final[last_key] for r in runs]
        how = "best-validation checkpoint − last epoch of the same run, over all finished runs"
    if len(differences) < 2:
        return None
    delta = paired_delta(differences)
    parts = [Part(f"{metric.label}: {how}: better", direction(delta, metric.better), describe(delta, _unit(metric)))]
    return _result("E12", ev, "Paired differences (same seed) with a one-sample t 95% CI; supported if the CI lies on "
                   "the better side of 0, refuted if on the worse side. Patience in the early_stop arm: "
                   "reg.early_stop.patience.", parts)


def e15(ev: Evidence) -> ClaimResult | None:
    map50 = ev.metric("test_map50")
    arms = [ev.arm(name) for name in ("cutout", "mixup", "cutmix", "dropblock") if ev.arm(name)]
    if not (map50 and arms and baseline(ev.summaries)):
        return None
    parts = [_metric_part(ev, s, map50, "direction", "higher", statement=f"{s.regime} − none, test mAP@0.5: higher")
             for s in arms]
    return _result("E15", ev, "mIoU is not measured here; test mAP@0.5 stands in for it. For each augmentation / "
                   "DropBlock arm: supported if the Welch 95% CI of Δ is above 0, refuted if below.", parts)


EVALUATORS = {"E1": e1, "E2": e2, "E3": e3, "E4": e4, "E5": e5, "E9": e9, "E10": e10, "E11": e11,
              "E12": e12, "E15": e15}


def evaluate(claim_id: str, ev: Evidence) -> ClaimResult | None:
    evaluator = EVALUATORS.get(claim_id)
    return evaluator(ev) if evaluator else None


def not_measured(entry: dict, task: str) -> ClaimResult:
    if entry.get("out_of_scope"):
        return ClaimResult(entry["id"], OUT_OF_SCOPE, reason=entry["out_of_scope"])
    command = experiment_command(entry["experiment"])
    return ClaimResult(entry["id"], INCONCLUSIVE,
                       reason=f"not measured for {task} yet: its experiment has not been run (command below)",
                       command=command)


def fact_results() -> list[ClaimResult]:
    """F1–F9 as ``python -m paddle_reg.facts`` cached them for the installed Paddle (measured once when it has not)."""
    from paddle_reg import facts

    results = []
    for fact in facts.cached_results():
        measured = ", ".join(f"{k} = {_number(v)}" for k, v in fact.measured.items())
        results.append(ClaimResult(fact.id, fact.verdict, fact.rule, [Part(fact.statement, fact.verdict, measured)],
                                   command="python -m paddle_reg.facts"))
    return results


def _number(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)
