"""Comparisons against hand-computed values: Welch, paired, zero spread, power, Holm, and the analysis the runs'
structure calls for."""
from __future__ import annotations

import math

import pytest

from paddle_reg.report import compare as cmp
from paddle_reg.report.collect import RegimeSummary, RunRecord


def test_welch_matches_hand_computed_values():
    # a = [1, 2, 3], b = [2, 4, 6]: Δ = −2; SE² = 1/3 + 4/3 = 5/3; df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 2.9412
    c = cmp.welch([1, 2, 3], [2, 4, 6])
    se = math.sqrt(5 / 3)
    assert (c.analysis, c.diff, c.n, c.n_base) == (cmp.WELCH, pytest.approx(-2.0), 3, 3)
    assert c.df == pytest.approx(2.9412, abs=1e-4) and c.se == pytest.approx(se)
    # t(0.975, 2.9412) = 3.2188 and t(0.95, 2.9412) = 2.3727 (t-table, interpolated in df)
    assert (c.low, c.high) == (pytest.approx(-2 - 3.2188 * se, abs=2e-3), pytest.approx(-2 + 3.2188 * se, abs=2e-3))
    assert (c.low90, c.high90) == (pytest.approx(-2 - 2.3727 * se, abs=2e-3), pytest.approx(-2 + 2.3727 * se, abs=2e-3))
    assert c.p_value == pytest.approx(0.2209, abs=2e-3)  # t = −2/√(5/3) = −1.549
    assert c.variances == (pytest.approx(1.0), pytest.approx(4.0))
    assert cmp.welch([1.0], [2.0, 3.0]).low is None


def test_an_arm_mean_has_its_t_interval_none_below_two_values_and_itself_without_spread():
    # [1, 2, 3]: mean 2, sd 1; t(0.975, 2) = 4.3027: 2 ± 4.3027/√3
    m = cmp.mean_interval([1.0, 2.0, 3.0])
    assert (m.value, m.std, m.n) == (pytest.approx(2.0), pytest.approx(1.0), 3)
    assert (m.low, m.high) == (pytest.approx(2 - 4.3027 / math.sqrt(3), abs=1e-4),
                               pytest.approx(2 + 4.3027 / math.sqrt(3), abs=1e-4))
    assert cmp.mean_interval([1.5]) == cmp.Mean(1.5, 0.0, 1)
    assert cmp.mean_interval([]) == cmp.Mean(None, None, 0)
    assert cmp.mean_interval([0.7, 0.7]) == cmp.Mean(0.7, 0.0, 2, 0.7, 0.7)


def test_paired_matches_hand_computed_values():
    # d = [1, 2, 3]: mean 2, sd 1, SE 1/√3; t(0.975, 2) = 4.3027, t(0.95, 2) = 2.9200; t = 2√3 = 3.4641 → p = 0.0742
    c = cmp.paired([1.0, 2.0, 3.0])
    se = 1 / math.sqrt(3)
    assert (c.analysis, c.diff, c.n, c.df) == (cmp.PAIRED, pytest.approx(2.0), 3, 2)
    assert (c.low, c.high) == (pytest.approx(2 - 4.3027 * se, abs=1e-3), pytest.approx(2 + 4.3027 * se, abs=1e-3))
    assert (c.low90, c.high90) == (pytest.approx(2 - 2.9200 * se, abs=1e-3), pytest.approx(2 + 2.9200 * se, abs=1e-3))
    assert c.p_value == pytest.approx(0.0742, abs=1e-3)
    assert cmp.paired([1.0]).low is None and cmp.paired([1.0, 2.0], by="round").analysis == "paired by round"


def test_zero_spread_is_exact_not_an_interval():
    same = cmp.paired([0.5, 0.5, 0.5])
    assert same.identical and same.low is None and same.diff == pytest.approx(0.5) and same.detectable == 0.0
    constant = cmp.welch([2.0, 2.0, 2.0], [1.0, 1.0, 1.0])
    assert constant.identical and constant.low is None and constant.diff == pytest.approx(1.0)
    assert not cmp.welch([2.0, 2.0, 2.0], [1.0, 1.5, 1.0]).identical  # one arm's spread is enough for Welch


def test_detectable_effect_and_seeds_needed():
    c = cmp.paired([1.0, 2.0, 3.0])
    # (t(0.975, 2) + t(0.80, 2))·SE = (4.3027 + 1.0607)/√3 = 3.0965
    assert c.detectable == pytest.approx(3.0965, abs=1e-3)
    # sd 1: n = 9 gives (2.3060 + 0.8889)/3 = 1.065 > 1, n = 10 gives (2.2622 + 0.8834)/√10 = 0.9947 ≤ 1
    assert c.seeds_needed(1.0) == 10
    assert cmp.minimum_detectable((1.0,), 10) == pytest.approx(0.9947, abs=1e-3)
    assert c.seeds_needed(1e-4) is None  # more than 10,000 seeds


def test_holm_adjustment_by_hand():
    # sorted 0.01, 0.03, 0.04: × 3, × 2, × 1 → 0.03, 0.06, 0.04 → kept monotone 0.03, 0.06, 0.06
    assert cmp.holm([0.01, 0.04, 0.03]) == [pytest.approx(0.03), pytest.approx(0.06), pytest.approx(0.06)]
    assert cmp.holm([None, 0.02, 0.5]) == [None, pytest.approx(0.04), pytest.approx(0.5)]
    assert cmp.holm([0.6, 0.7]) == [pytest.approx(1.0), pytest.approx(1.0)]  # capped at 1


def test_holm_marks_colour_only_what_survives_the_correction():
    def c(diff, p):
        return cmp.Comparison(cmp.PAIRED, diff, 3, 3, diff - 1, diff + 1, p_value=p)

    marks = cmp.holm_marks({"a": c(-1.0, 0.01), "b": c(1.0, 0.02), "c": c(-1.0, 0.04)}, "lower")
    # adjusted 0.03, 0.04, 0.04: a better (lower), b worse, c survives too (0.04 < 0.05)
    assert marks == {"a": ("good", pytest.approx(0.03)), "b": ("bad", pytest.approx(0.04)),
                     "c": ("good", pytest.approx(0.04))}
    # 0.03 alone would be marked; among three arms it is adjusted to 0.09
    assert cmp.holm_marks({"a": c(-1.0, 0.03), "b": c(-1.0, 0.03), "x": c(0.0, 0.9)}, "lower")["a"] == \
        ("", pytest.approx(0.09))
    assert cmp.holm_marks({"a": c(-1.0, 0.001)}, "neither")["a"][0] == ""


def arm(label: str, seeds, hidden=(8,), dropout=0.5, train_size=100) -> RegimeSummary:
    runs = [RunRecord(label, s, "finished", f"runs/mnist/{label}/seed{s}-x", {}, [], {},
                      {"task": "mnist", "model": {"hidden": list(hidden), "dropout": {"hidden": dropout},
                                                  "dropout_position": "after_relu"},
                       "data": {"train_size": train_size}, "optim": {"weight_decay": 0.0}}) for s in seeds]
    return RegimeSummary(label, runs)


def test_design_pairs_by_seed_only_when_seeds_architecture_and_data_match():
    none = arm("none", [0, 1, 2], dropout=0.0)
    assert cmp.design(arm("dropout", [0, 1, 2]), none) == cmp.PAIRED  # Dropout settings are no architecture
    assert cmp.design(arm("dropout", [0, 1, 2, 3]), none) == cmp.WELCH  # other seeds
    assert cmp.design(arm("wide", [0, 1, 2], hidden=(16,)), none) == cmp.WELCH  # other weights
    assert cmp.design(arm("small", [0, 1, 2], train_size=50), none) == cmp.WELCH  # other data


def test_compare_pairs_over_common_seeds_with_welch_beside():
    c = cmp.compare({0: 2.0, 1: 3.0, 2: 5.0}, {0: 1.0, 1: 1.0, 2: 2.0, 3: 9.0}, cmp.PAIRED)
    assert c.analysis == cmp.PAIRED and c.n == 3 and c.diff == pytest.approx(2.0)  # d = 1, 2, 3
    assert c.welch.analysis == cmp.WELCH and (c.welch.n, c.welch.n_base) == (3, 4)
    assert cmp.compare({0: 2.0, 1: 3.0}, {5: 1.0, 6: 2.0}, cmp.WELCH).diff == pytest.approx(1.0)
