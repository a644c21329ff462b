"""Task reports from fixture runs: statistics per arm, tables, claims, figures, escaping, CJK font, atomic outputs."""
from __future__ import annotations

import json

import numpy as np
import pytest
from report_fixtures import HOSTILE, fixture_run

from paddle_reg.report import write_index, write_task_report
from paddle_reg.report.collect import NEAR_ZERO, weight_stats

CONFUSION = {"test_confusion": {"labels": ["体育 sports", HOSTILE], "matrix": [[8, 2], [1, 9]]},
             "test_per_class_ap": {"labels": ["短路 short", "open"], "ap50": [0.5, 0.25]}}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("report")
    runs = tmp_path / "runs"
    rng = np.random.default_rng(0)
    dense, sparse = rng.normal(0, 0.1, (20, 2)), np.where(rng.random((20, 2)) < 0.5, 0.0, 0.1)
    dirs = [fixture_run(runs, "none", 0, 0.020, 0.010, weights=dense, details=CONFUSION),
            fixture_run(runs, "none", 1, 0.030, 0.012, weights=dense, details=CONFUSION),
            fixture_run(runs, "none", 2, 0.025, 0.011, weights=dense, details=CONFUSION),
            fixture_run(runs, "dropout", 0, 0.015, 0.014, weights=sparse, details=CONFUSION),
            fixture_run(runs, "dropout", 1, 0.016, 0.0145, weights=sparse, details=CONFUSION),
            fixture_run(runs, "dropout", 2, 0.017, 0.015, weights=sparse, details=CONFUSION),
            fixture_run(runs, "dropout", 3, 0.0, 0.0, "diverged")]
    html = write_task_report(dirs, tmp_path / "reports" / "mnist", command=f"python -m paddle_reg.run note={HOSTILE}",
                             profile="quick", reports_dir=tmp_path / "reports")
    write_index(tmp_path / "reports")
    return tmp_path / "reports", html.read_text(encoding="utf-8")


def test_summary_has_hand_computed_mean_std_and_delta(report):
    reports, _ = report
    summary = json.loads((reports / "mnist" / "summary.json").read_text())
    none = summary["regimes"]["none"]["stats"]
    assert none["test_error"]["mean"] == pytest.approx(2.5)
    assert none["test_error"]["std"] == pytest.approx(0.5)  # sample std of 2.0, 3.0, 2.5
    assert none["gap"]["mean"] == pytest.approx(((2.0 - 1.0) + (3.0 - 1.2) + (2.5 - 1.1)) / 3)
    assert summary["regimes"]["dropout"]["status"] == {"finished": 3, "diverged": 1}
    delta = summary["regimes"]["dropout"]["delta_vs_none"]["test_error"]
    assert delta["diff"] == pytest.approx(1.6 - 2.5)
    assert delta["low"] < delta["diff"] < delta["high"]
    assert summary["regimes"]["dropout"]["stats"]["near_zero"]["mean"] > 40  # half the sparse weights are exactly 0


def test_html_has_the_tables_figures_and_failed_runs(report):
    _, html = report
    for text in ("Results by arm", "Effect against", "Welch", "test error (%)", "2.5 ± 0.5", "1 diverged",
                 "Regularization applied in each arm", "fc.weight", "Per-class results", "test_per_class_ap", "ap50"):
        assert text in html, text
    assert html.count("data:image/png;base64,") >= 4  # curves, gap + time, weights, confusion heatmaps


def test_claims_section_has_computed_and_out_of_scope_rows(report):
    reports, html = report
    summary = json.loads((reports / "mnist" / "summary.json").read_text())
    claims = {c["id"]: c for c in summary["claims"]}
    assert claims["E11"]["verdict"] == "supported"  # dropout's gap 0.13 pp vs none's 1.4 pp, tight seeds
    assert claims["E11"]["parts"] and "Welch" in claims["E11"]["rule"]
    assert claims["E16"]["verdict"] == "out of scope" and "no data" in claims["E16"]["reason"]
    assert claims["E4"]["verdict"] == "inconclusive" and "experiment=e4" in claims["E4"]["command"]
    assert "out of scope" in html and "E16" in html


def test_hostile_strings_are_escaped(report):
    reports, html = report
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert HOSTILE not in (reports / "index.html").read_text(encoding="utf-8")


def test_chinese_labels_get_an_embedded_font_subset(report):
    _, html = report
    assert "@font-face" in html and "data:font/otf;base64," in html


def test_outputs_are_complete_and_no_partial_files_left(report):
    reports, _ = report
    assert sorted(p.name for p in (reports / "mnist").iterdir()) == ["report.html", "report.pdf", "runs.csv",
                                                                      "summary.json"]
    assert (reports / "mnist" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (reports / "mnist" / "runs.csv").read_text().splitlines()[0].startswith("arm,regime,seed,status,test_error")


def test_index_lists_every_claim_and_links_the_task(report):
    reports, _ = report
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert 'href="mnist/report.html"' in index
    for claim_id in [f"E{i}" for i in range(1, 17)]:
        assert f"<b>{claim_id}</b>" in index, claim_id
    assert (reports / "index.pdf").read_bytes().startswith(b"%PDF")


def test_weight_stats_match_hand_counts():
    stats = weight_stats({"w": np.array([[0.0, 3.0], [4.0, 1e-4]]), "b": np.array([5.0])})  # 1-D b is left out
    assert stats.count == 4
    assert stats.near_zero == pytest.approx(0.5)  # 0 and 1e-4 are below NEAR_ZERO
    assert NEAR_ZERO == 1e-3
    assert stats.l2 == pytest.approx(np.sqrt(9 + 16 + 1e-8))
    assert sum(stats.log10_hist) == 4


def test_a_run_not_started_keeps_its_regime_and_seed(tmp_path):
    from paddle_reg.report.collect import read_runs
    from paddle_reg.store import RunDir

    (record,) = read_runs([RunDir(tmp_path / "mnist" / "both" / "seed2-0123456789")])
    assert (record.regime, record.seed, record.status, record.metrics) == ("both", 2, "not started", {})
