"""The first report: statistics per regime from fixture runs, rendering, escaping, atomic outputs."""
from __future__ import annotations

import json

import pytest

from paddle_reg.report import write_task_report
from paddle_reg.store import RunDir

HOSTILE = "<script>alert('x')</script>"


def fixture_run(runs, regime: str, seed: int, test_error: float, train_error: float, status: str = "finished"):
    run_config = {"task": "mnist", "regime": regime, "seed": seed, "model": {"dropout": {"hidden": 0.5}},
                  "optim": {"weight_decay": 0.0}, "note": HOSTILE}
    run = RunDir.for_run(runs, "mnist", regime, seed, run_config)
    run.start({"resolved": True}, run_config, {"paddle": "3.3.1", "device": "cpu", "threads": 1}, {})
    history = [{"epoch": e, "train_loss": 1.0 / e, "val_error": test_error + 0.01 / e, "epoch_time_s": 2.0}
               for e in (1, 2, 3)]
    (run.path / "history.json").write_text(json.dumps(history))
    final = {} if status != "finished" else {"test_error": test_error, "test_accuracy": 1 - test_error,
                                             "train_error": train_error, "best_epoch": 3}
    run.finish(status, final)
    return run


@pytest.fixture
def report(tmp_path):
    runs = tmp_path / "runs"
    dirs = [fixture_run(runs, "none", 0, 0.020, 0.010), fixture_run(runs, "none", 1, 0.030, 0.012),
            fixture_run(runs, "dropout", 0, 0.015, 0.014), fixture_run(runs, "dropout", 1, 0.0, 0.0, "diverged")]
    html = write_task_report(dirs, tmp_path / "out", command=f"python -m paddle_reg.run note={HOSTILE}", profile="quick")
    return tmp_path / "out", html.read_text()


def test_summary_has_hand_computed_mean_and_std(report):
    out, _ = report
    summary = json.loads((out / "summary.json").read_text())
    none = summary["regimes"]["none"]["stats"]
    assert none["test_error"]["mean"] == pytest.approx(2.5)
    assert none["test_error"]["std"] == pytest.approx(0.7071068, rel=1e-6)  # sample std of 2.0 and 3.0
    assert none["gap"]["mean"] == pytest.approx(((2.0 - 1.0) + (3.0 - 1.2)) / 2)
    assert summary["regimes"]["dropout"]["status"] == {"finished": 1, "diverged": 1}
    assert summary["regimes"]["dropout"]["stats"]["test_error"]["n"] == 1


def test_html_shows_tables_curves_and_failed_runs(report):
    out, html = report
    assert "Results by regime" in html and "2.500 ± 0.707" in html
    assert "1 diverged" in html  # a diverged run is shown, never dropped
    assert "data:image/png;base64," in html
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert (out / "runs.csv").read_text().splitlines()[0].startswith("regime,seed,status,test_error")


def test_hostile_strings_are_escaped(report):
    _, html = report
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_no_partial_files_left(report):
    out, _ = report
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf", "runs.csv", "summary.json"]


def test_welch_delta_matches_hand_computed_values():
    from paddle_reg.report.collect import welch_delta

    # a = [1, 2, 3], b = [2, 4, 6]: diff −2; se² = 1/3 + 4/3 = 5/3; df = (5/3)² / ((1/3)²/2 + (4/3)²/2) = 2.9412
    delta = welch_delta([1, 2, 3], [2, 4, 6])
    assert delta.diff == pytest.approx(-2.0)
    half = 3.2188 * (5 / 3) ** 0.5  # t(0.975, df=2.9412) ≈ 3.2188 (t-table)
    assert delta.low == pytest.approx(-2.0 - half, abs=2e-3) and delta.high == pytest.approx(-2.0 + half, abs=2e-3)
    assert delta.p_value == pytest.approx(0.2209, abs=2e-3)  # t = −2/√(5/3) = −1.549
    assert welch_delta([1.0], [2.0, 3.0]).low is None
