"""The regime diagnosis: its two rules on hand-made curves, then in a report's tables, summary.json and index.json."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from report_fixtures import epoch_history, fixture_run

from paddle_reg.report import write_index, write_task_report
from paddle_reg.report.diagnosis import (CONVERGED, IMPROVING, NO_OVERFITTING, OVERFITS, UNCLEAR, UNKNOWN,
                                         convergence, overfitting)

EPOCHS = np.arange(1, 31)  # 30 epochs: the rule's window is the last 9


def noisy(curve, seed: int, sd: float) -> list[float]:
    return list(np.asarray(curve, float) + np.random.default_rng(seed).normal(0, sd, len(curve)))


def test_an_exact_line_gives_its_hand_computed_drift_and_no_scatter():
    curves = [list(10 - 0.1 * EPOCHS), list(11 - 0.1 * EPOCHS)]
    found = convergence(curves, "lower", [False, False])
    assert found.status == IMPROVING
    assert found.numbers["drift"] == pytest.approx(-0.8)  # slope −0.1 per epoch across 9 epochs (8 steps)
    assert found.numbers["scatter"] == pytest.approx(0, abs=1e-9)
    assert [p["window"] for p in found.per_seed] == [9, 9]


def test_still_improving():
    curves = [noisy(10 - 0.1 * EPOCHS, seed, 0.05) for seed in range(3)]
    found = convergence(curves, "lower", [False] * 3, unit=" pp")
    assert found.status == IMPROVING, found.reason
    assert found.numbers["drift_low"] < found.numbers["drift"] < found.numbers["drift_high"] < 0
    assert "best epoch 30 of 30" in found.reason


def test_a_rising_higher_is_better_metric_is_still_improving():
    curves = [noisy(20 + 2 * EPOCHS[:10], seed, 1.0) for seed in range(3)]  # mAP-like, 10 epochs: window 3
    found = convergence(curves, "higher", [False] * 3)
    assert found.status == IMPROVING, found.reason
    assert found.numbers["drift"] > 0


def test_plateaued():
    curves = [noisy(2 + 8 * np.exp(-EPOCHS / 3), seed, 0.1) for seed in range(3)]
    found = convergence(curves, "lower", [False] * 3)
    assert found.status == CONVERGED and found.reason.startswith("flat"), found.reason


def test_a_curve_frozen_by_the_schedule_is_converged_though_its_tiny_drift_is_consistent():
    curves = [noisy(1.5 + 2 * np.exp(-EPOCHS / 3) - 0.001 * EPOCHS, seed, 1e-4) for seed in range(3)]
    found = convergence(curves, "lower", [False] * 3)
    assert found.status == CONVERGED and found.reason.startswith("flat"), found.reason
    assert found.numbers["drift_high"] < 0  # significant, but under 5 % of the gain so far
    assert found.numbers["tolerance"] == pytest.approx(0.05 * abs(found.numbers["gain"]))


def test_overfitting():
    loss = [noisy(0.08 + 0.002 * np.maximum(EPOCHS - 8, 0), seed, 0.002) for seed in range(3)]
    error = [noisy(2 + 0.05 * np.maximum(EPOCHS - 8, 0), seed + 10, 0.05) for seed in range(3)]
    found = overfitting(loss)
    assert found.status == OVERFITS, found.reason
    assert found.numbers["rise"] == pytest.approx(0.002 * 17, rel=0.2)  # mean of epochs 22..30 − the flat start
    assert float(found.numbers["min_epoch"]) <= 9  # somewhere in the flat start
    worse = convergence(error, "lower", [False] * 3)
    assert worse.status == CONVERGED and worse.reason.startswith("worsening"), worse.reason


def test_a_falling_loss_does_not_overfit():
    loss = [noisy(0.08 + 0.05 * np.exp(-EPOCHS / 5), seed, 0.002) for seed in range(3)]
    found = overfitting(loss)
    assert found.status == NO_OVERFITTING, found.reason
    assert overfitting([list(0.5 - 0.01 * EPOCHS)]).numbers["rise"] == 0  # still falling: its last window is lowest
    slight = overfitting([noisy(0.08 + 0.0001 * EPOCHS, seed, 1e-5) for seed in range(3)])  # significant, +3 %
    assert slight.status == NO_OVERFITTING and slight.numbers["threshold"] == pytest.approx(0.05 * 0.0805, rel=0.01)


def test_too_few_epochs_is_unknown():
    curves = [[3.0, 2.5, 2.2, 2.1]] * 3
    found = convergence(curves, "lower", [False] * 3)
    assert found.status == UNKNOWN and "too few epochs (4)" in found.reason
    assert overfitting(curves).status == UNKNOWN


def test_early_stopped_is_converged():
    curves = [noisy(2 + 8 * np.exp(-EPOCHS[:14] / 3), seed, 0.1) for seed in range(3)]
    found = convergence(curves, "lower", [True] * 3)
    assert found.status == CONVERGED and "stopped early by validation in all 3 runs" in found.reason
    assert convergence([list(10 - 0.1 * EPOCHS)] * 2, "lower", [True, False]).status == IMPROVING  # not all: the rule


def test_seeds_that_disagree_are_unclear():
    curves = [list(10 - 0.4 * EPOCHS)] + [noisy(np.full(30, 2.0), seed, 0.05) for seed in range(2)]
    found = convergence(curves, "lower", [False] * 3)
    assert found.status == UNCLEAR, found.reason
    assert found.numbers["drift_low"] < 0 < found.numbers["drift_high"]


def test_one_run_uses_its_own_fit_for_the_interval():
    found = convergence([noisy(10 - 0.1 * EPOCHS, 0, 0.05)], "lower", [False])
    assert found.status == IMPROVING, found.reason
    assert np.isfinite(found.numbers["drift_low"]) and found.numbers["drift_low"] < found.numbers["drift_high"]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """none still improving; dropout plateaued and overfitting; both without a validation loss per epoch."""
    tmp = tmp_path_factory.mktemp("diagnosis")
    runs, e = tmp / "runs", EPOCHS
    dirs = []
    for seed in range(3):
        falling = epoch_history(noisy(0.10 - 0.002 * e, seed, 0.0005), noisy(0.5 - 0.005 * e, seed, 0.002),
                                train_error=list(0.09 - 0.002 * e))
        dirs.append(fixture_run(runs, "none", seed, 0.04 + 0.001 * seed, 0.02, history=falling))
        overfit = epoch_history(noisy(0.02 + 0.08 * np.exp(-e / 3), seed, 0.001),
                                noisy(0.08 + 0.002 * np.maximum(e - 8, 0), seed, 0.002))
        dirs.append(fixture_run(runs, "dropout", seed, 0.02 + 0.001 * seed, 0.019, history=overfit))
        dirs.append(fixture_run(runs, "both", seed, 0.03 + 0.001 * seed, 0.025,
                                history=epoch_history(noisy(np.full(30, 0.03), seed, 0.001))))
    out = tmp / "reports"
    html = write_task_report(dirs, out / "mnist", command="python -m paddle_reg.run task=mnist", profile="quick",
                             reports_dir=out)
    old = json.loads((out / "mnist" / "summary.json").read_text())
    for data in old["regimes"].values():
        del data["diagnosis"]
    (out / "old").mkdir()
    (out / "old" / "summary.json").write_text(json.dumps(old))
    (out / "claims" / "e11").mkdir(parents=True)
    shutil.copy(out / "mnist" / "summary.json", out / "claims" / "e11" / "summary.json")
    write_index(out)
    return out, html.read_text(encoding="utf-8")


def test_summary_has_a_diagnosis_per_arm(reports):
    out, _ = reports
    regimes = json.loads((out / "mnist" / "summary.json").read_text())["regimes"]
    none, dropout, both = (regimes[arm]["diagnosis"] for arm in ("none", "dropout", "both"))
    assert none["tag"] == "still improving · no overfitting"
    assert dropout["tag"] == "converged · overfits"
    assert both["overfitting"]["status"] == UNKNOWN and "no validation loss" in both["overfitting"]["reason"]
    assert none["gap_at_end"]["numbers"]["gap"] == pytest.approx(1.0, abs=0.2)  # val − train error, pp
    assert both["gap_at_end"]["status"] == UNKNOWN
    assert [row["seed"] for row in none["convergence"]["per_seed"]] == [0, 1, 2]


def test_the_report_warns_at_the_top_and_tags_every_arm(reports):
    _, html = reports
    warning = html.index("The none arm was still improving when training ended")
    assert warning < html.index("What was run")
    for table in ("Results by arm", "Effect against", "Regime diagnosis"):
        assert "converged · overfits" in html[html.index(table):], table
    assert "Convergence, per arm" in html and "Overfitting, per arm" in html
    claims = html[html.index("<h2>Claims</h2>"):]
    assert "Regime of the arms" in claims and "still improving · no overfitting" in claims  # beside E11's verdict


def test_index_json_lists_every_report_with_arms_and_diagnosis(reports):
    out, _ = reports
    listing = json.loads((out / "index.json").read_text())
    entries = {e["path"]: e for e in listing["reports"]}
    assert sorted(entries) == ["claims/e11/report.html", "mnist/report.html", "old/report.html"]
    mnist = entries["mnist/report.html"]
    assert (mnist["task"], mnist["profile"], mnist["claim"], mnist["headline"]["name"]) == \
        ("mnist", "quick", None, "test_error")
    none = mnist["arms"]["none"]
    assert none["n"] == 3 and none["mean"] == pytest.approx(4.1) and none["std"] == pytest.approx(0.1)
    assert none["diagnosis"]["tag"] == "still improving · no overfitting"
    assert none["diagnosis"]["convergence"]["status"] == IMPROVING and "per_seed" not in none["diagnosis"]["convergence"]
    assert entries["old/report.html"]["arms"]["none"]["diagnosis"]["tag"] == "diagnosis unknown"
    assert not list(out.glob(".index.json.*"))  # written atomically: no temporary file left
    index = (out / "index.html").read_text(encoding="utf-8")
    one_line = index[index.index("<b>E11</b>"):index.index("</tr>", index.index("<b>E11</b>"))]
    assert "dropout: converged · overfits; none: still improving · no overfitting" in one_line  # the deciding part's
    (e11,) = [c for c in json.loads((out / "claims.json").read_text())["claims"] if c["id"] == "E11"]
    assert e11["primary"] == "claims/e11" and e11["diagnosis"]["both"] == "converged · overfitting unknown"
