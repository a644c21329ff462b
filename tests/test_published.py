"""Published figures (a profile's `published` block): the full profiles declare theirs, bad blocks stop with one line,
and a report sets each beside its arm (mean, 95 % CI, gap, the statement) in its HTML, summary.json and index.json."""
from __future__ import annotations

import json

import pytest
from conftest import TINY, compose_config, run_cli
from report_fixtures import fixture_run
from scipy import stats

from paddle_reg.errors import UserError
from paddle_reg.report import write_index, write_task_report
from paddle_reg.report.collect import read_runs, report_metrics, summarize
from paddle_reg.report.evidence import Evidence
from paddle_reg.report.published import CONTEXT, INSIDE, anchors
from paddle_reg.task_registry import get_task
from paddle_reg.validation import validate, validate_published

SRIVASTAVA = "Srivastava et al. 2014, JMLR 15, table 2"


def test_the_mnist_full_profile_declares_srivastava_table_2():
    cfg = compose_config("task=mnist", "profile=full")
    validate(cfg, get_task("mnist"), list(cfg.regimes))
    figures = [(f.regime, f.get("metric"), f.value, f.source) for f in cfg.published]
    assert figures[:2] == [("dropout", None, 1.25, SRIVASTAVA), ("dropout+maxnorm", None, 1.06, SRIVASTAVA)]
    assert figures[2][0] is None and figures[2][2] == 1.60 and "Simard et al. 2003" in figures[2][3]
    assert compose_config("task=mnist").published == []  # the quick profile has none


def test_the_news_full_profile_declares_the_upstream_test_accuracies():
    cfg = compose_config("task=news", "profile=full")
    validate(cfg, get_task("news"), list(cfg.regimes))
    assert [(f.regime, f.metric, f.value) for f in cfg.published] == [
        ("dropout", "test_accuracy", 91.12), (None, "test_accuracy", 91.22), (None, "test_accuracy", 92.23)]
    assert [f.source.rsplit(", ", 1)[1] for f in cfg.published] == ["TextRNN", "TextCNN", "FastText"]
    assert "LSTM" in cfg.published[0].note and "weight decay" in cfg.published[0].note
    assert compose_config("task=news").published == []


BAD = [
    ("published=1.25", "published=1.25 must be a list of figures: set e.g. published=[{regime:dropout,value:1.25,"),
    ("published=null", "published=None must be a list of figures"),
    ("published=[1.25]", "published[0]=1.25 must be a block with value and source"),
    ("published=[{regime:bogus,value:1.25,source:x}]",
     "published[0].regime=bogus is not a regime of task mnist: choose from none, dropout, weight_decay, both, "),
    ("published=[{regime:max_norm,value:1.25,source:x}]", "(names joined by + combine), or null for a figure of "
                                                         "another model, shown for context"),
    ("published=[{regime:dropout,value:1.25,source:x},{regime:dropout+spatial,value:1,source:x}]",
     "published[1].regime=dropout+spatial is not a regime of task mnist"),
    ("published=[{regime:dropout,metric:acc,value:1.25,source:x}]",
     "published[0].metric=acc is not a report metric of task mnist: choose one of test_error, test_accuracy"),
    ("published=[{regime:dropout,value:abc,source:x}]", "published[0].value=abc must be a number"),
    ("published=[{regime:dropout,source:x}]", "published[0].value=None must be a number"),
    ("published=[{regime:dropout,value:1.25}]",
     "published[0].source is missing: cite where the figure is published, e.g. published[0].source="),
    ("published=[{regime:dropout,value:1.25,source:''}]", "published[0].source is missing"),
    ("published=[{regime:dropout,value:1.25,source:x,cite:y}]",
     "published[0].cite is unknown: a published figure has regime, metric, value, source, note"),
]


@pytest.mark.parametrize("override,expected", BAD, ids=[o for o, _ in BAD])
def test_a_bad_published_block_is_one_line_naming_the_key(override, expected):
    with pytest.raises(UserError) as caught:
        validate_published(compose_config("task=mnist", override), get_task("mnist"))
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_regime_the_grid_leaves_out_is_allowed_and_shown_as_not_measured(tmp_path):
    cfg = compose_config("task=mnist", "regimes=[none]", "published=[{regime:maxnorm+dropout,value:1,source:x}]")
    validate_published(cfg, get_task("mnist"))  # narrowing `regimes` does not make the profile's figures wrong
    (row,) = anchors(_evidence([fixture_run(tmp_path, "none", 0, 0.02, 0.01)]), list(cfg.published))
    assert (row.regime, row.n, row.mean) == ("dropout+maxnorm", 0, None)  # named as the registry names it
    assert row.statement == "not measured: no finished dropout+maxnorm run in this report"


def _evidence(run_dirs) -> Evidence:
    return Evidence("mnist", "mnist", summarize(read_runs(run_dirs)), report_metrics("mnist"), "cmd", "report.html")


def _runs(root):
    """none 2.0/3.0/2.5 %, dropout 1.5/1.6/1.7 % test error, one dropout+maxnorm run at 1.1 %."""
    return ([fixture_run(root, "none", seed, error, 0.01) for seed, error in enumerate((0.020, 0.030, 0.025))]
            + [fixture_run(root, "dropout", seed, error, 0.01) for seed, error in enumerate((0.015, 0.016, 0.017))]
            + [fixture_run(root, "dropout+maxnorm", 0, 0.011, 0.01)])


FIGURES = [{"regime": "dropout", "value": 1.25, "source": "paper A", "note": "their net"},
           {"regime": "dropout", "value": 1.7, "source": "paper B"},
           {"regime": "dropout", "metric": "test_accuracy", "value": 99.0, "source": "paper C"},
           {"regime": "dropout+maxnorm", "value": 1.06, "source": "paper D"},
           {"regime": None, "value": 1.6, "source": "paper E"}]


def test_each_figure_against_its_arm_mean_ci_gap_and_statement(tmp_path):
    rows = anchors(_evidence(_runs(tmp_path)), FIGURES)
    low, high = stats.t.interval(0.95, 2, loc=1.6, scale=0.1 / 3 ** 0.5)  # dropout: mean 1.6 %, sample std 0.1
    first = rows[0]
    assert (first.regime, first.metric, first.n, first.value, first.note) == ("dropout", "test_error", 3, 1.25,
                                                                               "their net")
    assert first.mean == pytest.approx(1.6) and first.gap == pytest.approx(0.35)
    assert (first.low, first.high) == (pytest.approx(low), pytest.approx(high))
    assert first.statement == f"measured 0.35 pp worse than published (95 % CI {low:.4g} … {high:.4g} %)"
    assert rows[1].statement == INSIDE and rows[1].gap == pytest.approx(-0.1)
    accuracy = rows[2]  # higher is better: 98.4 % measured below 99 % published is worse
    assert accuracy.mean == pytest.approx(98.4) and accuracy.label == "test accuracy"
    assert accuracy.statement.startswith("measured 0.6 pp worse than published (95 % CI ")
    assert accuracy.best == {"arm": "dropout+maxnorm", "mean": pytest.approx(98.9), "n": 1}
    single = rows[3]
    assert (single.n, single.low, single.high, single.gap) == (1, None, None, pytest.approx(0.04))
    assert single.statement == "single run, no CI: measured 0.04 pp worse than published"
    context = rows[4]
    assert (context.regime, context.n, context.mean, context.gap, context.statement) == (None, 0, None, None, CONTEXT)
    assert context.best == {"arm": "dropout+maxnorm", "mean": pytest.approx(1.1), "n": 1}  # lowest mean error


def test_a_measured_mean_better_than_published_says_so(tmp_path):
    (row,) = anchors(_evidence(_runs(tmp_path)), [{"regime": "dropout", "value": 2.0, "source": "x"}])
    assert row.statement.startswith("measured 0.4 pp better than published (95 % CI ")


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("published")
    runs = _runs(root / "runs")
    reports = root / "reports"
    write_task_report(runs, reports / "mnist", command="cmd", profile="full", reports_dir=reports, published=FIGURES)
    write_task_report(runs, reports / "plain", command="cmd", profile="quick", reports_dir=reports)
    write_index(reports)
    return reports


def test_the_report_shows_the_figures_after_the_results_table(reports):
    html = (reports / "mnist" / "report.html").read_text(encoding="utf-8")
    section = html[html.index("Published anchors"):html.index("Effect against")]
    assert html.index("Results by arm") < html.index("Published anchors")
    for text in ("test error 1.25 %", "paper A", "their net", "1.6 % <span class=\"muted\">(3)</span>", "+0.35 pp",
                 "measured 0.35 pp worse than published", INSIDE, "single run, no CI", CONTEXT, "another model",
                 "Best measured test error: dropout+maxnorm (1.1 %, n = 1).",
                 "Best measured test accuracy: dropout+maxnorm (98.9 %, n = 1)."):
        assert text in section, text
    assert "Published anchors" not in (reports / "plain" / "report.html").read_text(encoding="utf-8")


def test_summary_and_index_json_hold_the_figures(reports):
    summary = json.loads((reports / "mnist" / "summary.json").read_text(encoding="utf-8"))
    first = summary["published"][0]
    assert (first["regime"], first["value"], first["source"], first["n"]) == ("dropout", 1.25, "paper A", 3)
    assert first["mean"] == pytest.approx(1.6) and first["gap"] == pytest.approx(0.35) and first["low"] < 1.6
    assert [row["statement"] for row in summary["published"]][1:] == [
        INSIDE, summary["published"][2]["statement"], "single run, no CI: measured 0.04 pp worse than published",
        CONTEXT]
    assert json.loads((reports / "plain" / "summary.json").read_text(encoding="utf-8"))["published"] == []
    entries = {e["path"]: e for e in json.loads((reports / "index.json").read_text(encoding="utf-8"))["reports"]}
    listed = entries["mnist/report.html"]["published"]
    assert [row["statement"] for row in listed] == [row["statement"] for row in summary["published"]]
    assert "note" not in listed[0] and listed[0]["mean"] == pytest.approx(1.6)
    assert entries["plain/report.html"]["published"] == []


def test_the_run_command_reports_the_figures_of_its_config(mnist_root, tmp_path):
    figure = "published=[{regime:none,value:5.0,source:'a paper, table 1'}]"
    result = run_cli(TINY + ["regimes=[none]", "seeds=[0]", "report=true", figure], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    (row,) = json.loads((tmp_path / "reports" / "mnist" / "smoke" / "summary.json").read_text(encoding="utf-8"))["published"]
    assert (row["regime"], row["value"], row["source"], row["n"]) == ("none", 5.0, "a paper, table 1", 1)
    assert row["statement"].startswith("single run, no CI: measured ")
    assert "Published anchors" in (tmp_path / "reports" / "mnist" / "smoke" / "report.html").read_text(encoding="utf-8")
