"""Statistics against hand-computed values, and every outcome of each verdict rule."""
from __future__ import annotations

import pytest

from paddle_reg.report import verdicts as v
from paddle_reg.report.collect import Delta, RunRecord, paired_delta, welch_delta
from paddle_reg.task_api import ReportMetric


def test_welch_delta_matches_hand_computed_values():
    # a = [1, 2, 3], b = [2, 4, 6]: diff −2; se² = 1/3 + 4/3 = 5/3; df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 2.9412
    delta = welch_delta([1, 2, 3], [2, 4, 6])
    assert delta.diff == pytest.approx(-2.0)
    half = 3.2188 * (5 / 3) ** 0.5  # t(0.975, df=2.9412) ≈ 3.2188 (t-table)
    assert delta.low == pytest.approx(-2.0 - half, abs=2e-3) and delta.high == pytest.approx(-2.0 + half, abs=2e-3)
    assert delta.p_value == pytest.approx(0.2209, abs=2e-3)  # t = −2/√(5/3) = −1.549
    assert (delta.n, delta.n_base) == (3, 3)
    assert welch_delta([1.0], [2.0, 3.0]).low is None


def test_paired_delta_matches_hand_computed_values():
    # d = [1, 2, 3]: mean 2, sd 1, se 1/√3; t(0.975, 2) = 4.3027 → half 2.4842
    # t = 3.4641 with 2 df: p = 1 − t/√(t² + 2) = 0.0742
    delta = paired_delta([1.0, 2.0, 3.0])
    assert delta.diff == pytest.approx(2.0)
    assert delta.low == pytest.approx(2.0 - 2.4842, abs=1e-3) and delta.high == pytest.approx(2.0 + 2.4842, abs=1e-3)
    assert delta.p_value == pytest.approx(0.0742, abs=1e-3)
    assert paired_delta([1.0]).low is None


def ci(low: float, high: float) -> Delta:
    return Delta((low + high) / 2, low, high, 0.05, 3, 3)


NO_CI = Delta(1.0, None, None, None, 1, 1)


@pytest.mark.parametrize("delta,want,expected", [
    (ci(-2, -1), "lower", v.SUPPORTED), (ci(1, 2), "lower", v.REFUTED), (ci(-1, 1), "lower", v.INCONCLUSIVE),
    (ci(1, 2), "higher", v.SUPPORTED), (ci(-2, -1), "higher", v.REFUTED), (NO_CI, "lower", v.INCONCLUSIVE),
])
def test_direction(delta, want, expected):
    assert v.direction(delta, want) == expected


@pytest.mark.parametrize("delta,claimed,expected", [
    (ci(4, 8), 6, v.SUPPORTED),  # above 0 and overlaps [3, 9]
    (ci(0.5, 2), 6, v.REFUTED),  # entirely below 3: too small an effect
    (ci(10, 12), 6, v.REFUTED),  # entirely above 9
    (ci(-1, 5), 6, v.INCONCLUSIVE),  # reaches the claimed range but includes 0
    (ci(-8, -4), -6, v.SUPPORTED),  # a claimed decrease
    (NO_CI, 6, v.INCONCLUSIVE),
])
def test_magnitude(delta, claimed, expected):
    assert v.magnitude(delta, claimed) == expected


@pytest.mark.parametrize("delta,expected", [(ci(11, 20), v.SUPPORTED), (ci(1, 5), v.REFUTED),
                                            (ci(5, 15), v.INCONCLUSIVE)])
def test_at_least(delta, expected):
    assert v.at_least(delta, 10.0) == expected


@pytest.mark.parametrize("delta,expected", [(ci(12, 18), v.SUPPORTED), (ci(25, 30), v.REFUTED), (ci(-3, 2), v.REFUTED),
                                            (ci(5, 15), v.INCONCLUSIVE)])
def test_within(delta, expected):
    assert v.within(delta, 10.0, 20.0) == expected


@pytest.mark.parametrize("delta,expected", [(ci(-2, -1), v.SUPPORTED), (ci(1, 2), v.REFUTED),
                                            (ci(-0.05, 0.05), v.REFUTED), (Delta(0, 0, 0, None), v.REFUTED),
                                            (ci(-1, 1), v.INCONCLUSIVE)])
def test_better_not_equal(delta, expected):
    assert v.better_not_equal(delta, "lower", 0.1) == expected


def test_combine():
    part = lambda verdict: v.Part("s", verdict, "e")  # noqa: E731
    assert v.combine([part(v.SUPPORTED), part(v.SUPPORTED)]) == v.SUPPORTED
    assert v.combine([part(v.SUPPORTED), part(v.REFUTED), part(v.INCONCLUSIVE)]) == v.REFUTED
    assert v.combine([part(v.SUPPORTED), part(v.INCONCLUSIVE)]) == v.INCONCLUSIVE
    assert v.combine([]) == v.INCONCLUSIVE


METRICS = (ReportMetric("test_error", "test_error", "test error", "%", 100),
           ReportMetric("test_error", "gap", "gap", "pp", 100, minus="train_error"))


def record(arm: str, seed: int, test_error: float, train_error: float = 0.0, **config) -> RunRecord:
    return RunRecord(regime=arm, seed=seed, status="finished", path="p", info={}, history=[],
                     final={"test_error": test_error, "train_error": train_error, "last_test_error": test_error + 0.01},
                     run_config={"task": "mnist", "regime": arm, "seed": seed, **config})


def evidence(records: list[RunRecord]) -> v.Evidence:
    from paddle_reg.report.collect import summarize

    return v.Evidence("mnist", summarize(records), METRICS, "cmd", "here")


def test_e4_failing_high_p_is_supported_and_learning_high_p_refuted():
    base = [record("none", s, 0.05 + 0.001 * s, model={"dropout": {"hidden": 0.0}}) for s in range(3)]
    failing = [record("p=0.9", s, 0.60 + 0.01 * s, model={"dropout": {"hidden": 0.9}}) for s in range(3)]
    learning = [record("p=0.9", s, 0.06 + 0.001 * s, model={"dropout": {"hidden": 0.9}}) for s in range(3)]
    assert v.e4(evidence(base + failing)).verdict == v.SUPPORTED
    assert v.e4(evidence(base + learning)).verdict == v.REFUTED
    assert v.e4(evidence(base)) is None  # no p > 0.7 arm: not measurable from these runs


def test_e11_gap_rule_and_e12_best_vs_last():
    base = [record("none", s, 0.05 + 0.002 * s, 0.0) for s in range(3)]
    dropout = [record("dropout", s, 0.03 + 0.002 * s, 0.02) for s in range(3)]
    result = v.e11(evidence(base + dropout))
    assert result.verdict == v.SUPPORTED and "Welch" in result.rule
    # every best checkpoint is 1 pp better than its run's last epoch
    assert v.e12(evidence(base + dropout)).verdict == v.SUPPORTED


def test_unit_failure_drops_and_e9():
    def probed(arm, seed, clean, failed):
        r = record(arm, seed, 0.05)
        r.probes = {"unit_failure": {"fractions": [0.0, 0.5], "accuracy": [clean, failed]}}
        return r

    runs = [probed("none", s, 0.95, 0.50 + 0.01 * s) for s in range(3)] + \
           [probed("dropout", s, 0.95, 0.90 + 0.01 * s) for s in range(3)]
    ev = evidence(runs)
    assert v.unit_failure_drops(ev.arm("none"))[0.5] == pytest.approx([45.0, 44.0, 43.0])
    assert v.e9(ev).verdict == v.SUPPORTED


def test_claims_not_measured_say_why():
    e16 = v.not_measured(v.claim("E16"), "mnist")
    assert e16.verdict == v.OUT_OF_SCOPE and "no data" in e16.reason
    e4 = v.not_measured(v.claim("E4"), "mnist")
    assert e4.verdict == v.INCONCLUSIVE and e4.command == "python -m paddle_reg.run experiment=e4"


def test_e3_identical_arms_paired_by_seed_are_refuted_as_no_difference():
    """ReLU and inverted Dropout commute: equal per-seed results must read as "no difference", not as noise."""
    runs = [record(arm, s, 0.05 + 0.003 * s, model={"dropout": {"hidden": 0.5}})
            for arm in ("after_relu", "before_relu") for s in range(3)]
    result = v.e3(evidence(runs))
    assert result.parts[0].verdict == v.REFUTED and "paired by seed" in result.parts[0].evidence


def cost_record(plain: dict[str, list[float]], suite_ratio: float = 1.05) -> dict:
    arms = lambda ratios: {name: {"ratios": r, "seconds": []} for name, r in ratios.items()}  # noqa: E731
    return {"rounds": 4, "command": "python benchmarks/regularization_cost.py",
            "machine": {"cpu": "test CPU", "cpu_count": 2, "load_average": [0.1, 0.1, 0.1],
                        "calibration_steps_per_s": 200.0, "git_commit": "abc"},
            "paddle": {"arms": arms(plain)},
            "suite": {"arms": arms({name: [suite_ratio] * 4 for name in ("dropout", "weight_decay", "both")})}}


def test_e8_is_judged_from_the_benchmark_record_and_missing_record_says_how_to_make_it(tmp_path):
    entry = next(c for c in v.claims()["experiment_claims"] if c["id"] == "E8")
    missing = v.benchmark_claim(entry, tmp_path)
    assert missing.verdict == v.INCONCLUSIVE and missing.command == "python benchmarks/regularization_cost.py"
    claimed = {"both": [1.14, 1.15, 1.16, 1.15], "dropout": [1.01, 0.99, 1.0, 1.02],
               "weight_decay": [1.0, 1.005, 0.998, 1.001], "weight_decay_adamw": [1.0] * 4}
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "regularization_cost.json").write_text(__import__("json").dumps(cost_record(claimed)))
    result = v.benchmark_claim(entry, tmp_path)
    assert result.verdict == v.SUPPORTED and result.measured_in == "benchmarks/regularization_cost.json"
    assert "the suite's Trainer: Δ = +5 %" in result.parts[0].evidence
    costly = {**claimed, "weight_decay": [1.36, 1.38, 1.37, 1.39]}
    parts = {p.statement.split()[0]: p.verdict for p in v.e8(cost_record(costly), "x").parts}
    assert parts == {"both": v.SUPPORTED, "dropout": v.SUPPORTED, "weight_decay": v.REFUTED}
