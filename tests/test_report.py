"""Task reports from fixture runs: statistics per arm, key findings, tables, claims, figures, escaping, CJK font,
atomic outputs; the index and claims.json judged from the summaries alone."""
from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from report_fixtures import HOSTILE, fixture_run, write_fixture_reports

from paddle_reg.report import write_index
from paddle_reg.report.build import summary_text, write_html_pdf
from paddle_reg.report.index import place_order
from paddle_reg.report.collect import NEAR_ZERO, provenance, read_runs, weight_stats

@pytest.fixture(scope="module")
def report(tmp_path_factory):
    reports = write_fixture_reports(tmp_path_factory.mktemp("report"))
    return reports, (reports / "mnist" / "report.html").read_text(encoding="utf-8")


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
    assert delta["low"] < delta["low90"] < delta["diff"] < delta["high90"] < delta["high"]
    assert delta["analysis"] == "Welch"  # dropout ran a seed none did not: not paired
    assert delta["holm_p"] == pytest.approx(delta["p_value"])  # one arm compared: Holm changes nothing
    assert summary["regimes"]["dropout"]["stats"]["near_zero"]["mean"] > 40  # half the sparse weights are exactly 0


def test_html_has_the_tables_figures_and_failed_runs(report):
    _, html = report
    for text in ("Key findings", "Results by arm", "Effect against", "Welch", "Holm", "test error (%)", "2.5 ± 0.5",
                 "1 diverged",
                 "Regularization applied in each arm", "fc.weight", "Per-class results", "test_per_class_ap", "ap50"):
        assert text in html, text
    assert html.count("data:image/png;base64,") >= 4  # curves, gap + time, weights, confusion heatmaps


def test_the_report_names_every_commit_its_runs_were_trained_at(report, tmp_path, monkeypatch):
    assert "runs trained at unknown (" in report[1] and "report written at" in report[1]
    runs = [fixture_run(tmp_path / "runs", "none", seed, 0.02, 0.01) for seed in (0, 1, 2)]
    for run, commit in zip(runs, ("aaa1111", "aaa1111", "bbb2222")):
        info = json.loads((run.path / "run.json").read_text())
        info["environment"]["git_commit"] = commit
        (run.path / "run.json").write_text(json.dumps(info))
    monkeypatch.setattr("paddle_reg.runtime.git_commit", lambda: "ccc3333")
    assert provenance(read_runs(runs)) == "runs trained at aaa1111 (2 runs), bbb2222 (1 run); report written at ccc3333"


def test_key_findings_say_what_changed_and_list_the_failed_run(report):
    reports, html = report
    findings = json.loads((reports / "mnist" / "summary.json").read_text())["key_findings"]
    assert findings[0] == ("none reaches a test error of 2.5 ± 0.5 % (mean ± std over 3 seeds) "
                           "(none: still improving · no overfitting).")
    assert findings[1].startswith("No clear change for dropout -0.9 pp, 95 % CI -2.1 to +0.28 "
                                  "(dropout: converged · overfits): not significant")
    assert findings[-1] == "1 run(s) did not finish: dropout seed 3: diverged."
    assert findings[0] in html and html.index("Key findings") < html.index("Results by arm")


def test_the_regime_diagnosis_reaches_the_warning_the_findings_the_claims_and_the_index(report):
    from paddle_reg.report.evidence import read_places
    from paddle_reg.report.findings import key_findings

    reports, html = report
    summary = json.loads((reports / "mnist" / "summary.json").read_text())
    assert {arm: data["diagnosis"]["tag"] for arm, data in summary["regimes"].items()} == {
        "none": "still improving · no overfitting", "dropout": "converged · overfits"}
    assert key_findings(read_places(reports)["mnist"]) == summary["key_findings"]  # from the summary alone
    assert html.index("The none arm was still improving") < html.index("Key findings")
    e11 = html[html.index("<b>E11</b>"):html.index("</tr>", html.index("<b>E11</b>"))]
    assert "Regime of the arms" in e11 and "<b>dropout</b> converged · overfits" in e11
    (rep,) = next(c for c in json.loads((reports / "claims.json").read_text())["claims"] if c["id"] == "E11")[
        "replications"]
    assert rep["parts"][0]["arms"] == ["dropout", "none"]
    assert rep["diagnosis"] == {"dropout": "converged · overfits", "none": "still improving · no overfitting"}
    index = (reports / "index.html").read_text(encoding="utf-8")
    tasks = index[index.index("<h2>Task reports"):index.index("<h2>Claims of the two articles")]
    assert "still improving · no overfitting" in tasks and "converged · overfits" in tasks
    listing = json.loads((reports / "index.json").read_text())["reports"]
    assert [e["arms"]["dropout"]["diagnosis"]["tag"] for e in listing] == ["converged · overfits"]


def test_claims_json_has_one_verdict_per_claim(report):
    reports, html = report
    claims = {c["id"]: c for c in json.loads((reports / "claims.json").read_text())["claims"]}
    assert list(claims) == [f"E{i}" for i in range(1, 17)] + [f"F{i}" for i in range(1, 10)]
    e11 = claims["E11"]  # its experiment never ran: not measured; this grid's runs shown as a replication
    assert (e11["verdict"], e11["primary"]) == ("not measured", "claims/e11") and "never run" in e11["reason"]
    (rep,) = e11["replications"]
    assert (rep["place"], rep["verdict"], rep["agreement"]) == ("mnist", "supported", "primary not measured")
    gap = rep["parts"][0]  # dropout's gap 0.15 pp vs none's 1.4 pp; Welch 95 % CI [−2.22, −0.28] is below −δ = −0.2
    assert gap["comparison"]["analysis"] == "Welch" and gap["delta"] == 0.2 and gap["unfinished"] == [
        "dropout seed 3: diverged"]
    assert claims["E16"]["verdict"] == "out of scope" and "no data" in claims["E16"]["reason"]
    assert claims["E4"]["verdict"] == "not measured" and "experiment=e4" in claims["E4"]["command"]
    assert claims["E6"]["verdict"] == "not measured" and "never run: no report at claims/e6" in claims["E6"]["reason"]
    assert {c["verdict"] for c in claims.values()} <= {"supported", "refuted", "not measured", "out of scope"}
    assert "E11" in html and "primary not measured" in html  # the task report shows the claims it holds runs for


def test_index_judges_again_from_the_summaries_alone(report, tmp_path):
    import shutil

    reports, _ = report
    copy = tmp_path / "reports"
    shutil.copytree(reports, copy)  # no run folders beside it
    write_index(copy)
    assert json.loads((copy / "claims.json").read_text())["claims"] == \
        json.loads((reports / "claims.json").read_text())["claims"]


def test_hostile_strings_are_escaped(report):
    reports, html = report
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html
    assert HOSTILE not in (reports / "index.html").read_text(encoding="utf-8")


def test_chinese_labels_get_an_embedded_font_subset(report):
    _, html = report
    assert "@font-face" in html and "data:font/otf;base64," in html


def test_summary_json_is_the_summary_with_one_line_per_run(report):
    text = (report[0] / "mnist" / "summary.json").read_text(encoding="utf-8")
    summary = json.loads(text)
    assert summary["runs"] and text == summary_text(summary)
    run_lines = [line for line in text.splitlines() if line.startswith('    {"regime": ')]
    assert len(run_lines) == len(summary["runs"])
    assert [json.loads(line.rstrip(",")) for line in run_lines] == summary["runs"]


def test_outputs_are_complete_and_no_partial_files_left(report):
    reports, _ = report
    assert sorted(p.name for p in (reports / "mnist").iterdir()) == ["report.html", "report.pdf", "runs.csv",
                                                                      "summary.json"]
    assert (reports / "mnist" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (reports / "mnist" / "runs.csv").read_text().splitlines()[0].startswith("arm,regime,seed,status,test_error")


def test_the_pdf_renderer_takes_every_style_rule(report, tmp_path, caplog):
    _, html = report
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        write_html_pdf(tmp_path, html)
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []


def test_index_opens_with_the_forest_plot_and_one_line_per_claim(report):
    reports, _ = report
    index = (reports / "index.html").read_text(encoding="utf-8")
    assert 'href="mnist/report.html"' in index and 'href="claims.json"' in index
    assert index.index("Every effect at once") < index.index("forest plot") < index.index("Claims in one line")
    one_line = index[index.index("Claims in one line"):index.index("Task reports")]
    for claim_id in [f"E{i}" for i in range(1, 17)] + [f"F{i}" for i in range(1, 10)]:
        assert one_line.count(f"<b>{claim_id}</b>") == 1, claim_id
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


def claim_report_context(tmp_path, claim_id: str, arms: list[tuple[str, str, dict, list[float]]]) -> dict:
    """The context of claim ``claim_id``'s report over fixture runs: per arm (label, regime, run config, test errors)."""
    from paddle_reg.report.build import build_context

    runs, dirs, labels = tmp_path / "runs", [], {}
    for label, regime, config, errors in arms:
        for seed, error in enumerate(errors):
            run = fixture_run(runs, regime, seed, error, 0.0, extra_config={**config, "arm": label}, val_error=error)
            dirs.append(run)
            labels[str(run.path)] = label
    return build_context(dirs, "cmd", "quick", labels, [a[0] for a in arms], claim_id, tmp_path / "reports",
                         f"claims/{claim_id.lower()}")


def test_e6_report_has_the_heatmap_the_slope_figure_and_a_verdict_and_skips_per_arm_figures(tmp_path, monkeypatch):
    monkeypatch.setattr("paddle_reg.report.build.MAX_ARMS_DRAWN", 12)  # the real grid has 60 arms
    arms = []
    for lr in (1e-3, 1e-2):
        arms.append((f"lr={lr:g} λ=0", "none", {"optim": {"lr": lr, "weight_decay": 0.0, "decay_mode": "l2"}},
                     [0.05, 0.051, 0.052]))
        for e in range(-6, 0):
            best = -4 if lr == 1e-3 else -3
            arms.append((f"lr={lr:g} λ=1e{e}", "weight_decay",
                         {"optim": {"lr": lr, "weight_decay": 10.0 ** e, "decay_mode": "l2"}},
                         [0.04 + 0.002 * (e - best) ** 2 + 0.0003 * s * (e % 2) for s in range(3)]))
    context = claim_report_context(tmp_path, "E6", arms)
    titles = [f["title"] for f in context["claim_figures"]]
    assert titles[0].startswith("validation metric over the lr × λ grid") and titles[1].startswith("best λ against lr")
    assert context["claims"][0].id == "E6" and context["claims"][0].verdict == "supported"
    assert context["arms_not_drawn"] == 14 and context["curves_png"] is None
    assert context["arm_settings"][0]["other"] == {"arm": "lr=0.001 λ=0", "optim.lr": 1e-3}


@pytest.mark.parametrize("claim_id,arms,title", [
    ("E7", [(name, "none", {"model": {"norm": "bn"}}, [0.02, 0.021, 0.022]) for name in
            ("bn", "dropout", "bn_dropout", "dropout_bn")], "instability per arm"),
    ("E13", [(f"{norm} b={b}", "none", {"model": {"norm": norm}, "train": {"batch_size": b}}, [0.02, 0.021, 0.022])
             for norm in ("bn", "gn") for b in (2, 4, 64)], "test error against the batch size, per normalization"),
    ("E14", [("none", "none", {"model": {"depth": 4}}, [0.03, 0.031, 0.032])] +
            [(f"{k} p=0.2", "droppath", {"model": {"depth": 4}, "reg": {"droppath": {"p": 0.2, "schedule": k}}},
              [0.02, 0.021, 0.022]) for k in ("constant", "linear")], "DropPath rate p_l of each residual block"),
])
def test_claim_reports_have_their_figure_and_a_computed_row(tmp_path, claim_id, arms, title):
    context = claim_report_context(tmp_path, claim_id, arms)
    assert any(f["title"].startswith(title) and f["png"] for f in context["claim_figures"]), context["claim_figures"]
    assert context["claims"][0].id == claim_id and context["claims"][0].result.parts


def test_the_index_orders_task_grids_then_claims_by_number():
    places = ["claims/e10", "claims/e3", "news", "claims/e1", "mnist"]
    assert sorted(places, key=place_order) == ["mnist", "news", "claims/e1", "claims/e3", "claims/e10"]

