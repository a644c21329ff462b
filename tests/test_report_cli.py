"""`python -m paddle_reg.report`: from a runs folder, from a command's overrides, and its one-line errors."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY, run_cli
from report_fixtures import fixture_run

from paddle_reg.report.__main__ import main


def report_cli(args: list[str], cwd: Path, data_root: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PADDLE_REG_DATA"}
    if data_root is not None:
        env["PADDLE_REG_DATA"] = str(data_root)
    return subprocess.run([sys.executable, "-m", "paddle_reg.report", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("args,expected", [
    (["runs/missing"], "runs folder runs/missing does not exist"),
    (["empty"], "no runs under empty"),
    (["bogus"], "Could not find 'task/bogus'"),
    (["mnist"], "none of the 20 runs of `python -m paddle_reg.run task=mnist` exists"),
])
def test_errors_are_one_line_with_exit_code_2(args, expected, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(args)
    finally:
        os.chdir(cwd)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and expected in err[0], err


def test_report_from_a_runs_folder_writes_task_report_and_index(tmp_path):
    fixture_run(tmp_path / "runs", "none", 0, 0.02, 0.01)
    fixture_run(tmp_path / "runs", "none", 1, 0.03, 0.01)
    result = report_cli(["runs"], tmp_path)
    assert result.returncode == 0, result.stderr
    for name in ("mnist/report.html", "mnist/report.pdf", "mnist/summary.json", "index.html", "index.pdf"):
        assert (tmp_path / "reports" / name).is_file(), name


def test_claim_experiment_end_to_end(mnist_root, tmp_path):
    """E9 shrunk to seconds: train its arms, probe the checkpoints, then a verdict computed from them."""
    # the older spelling +experiment=<id> (now experiment=<id>) still works in both CLIs
    args = TINY + ["+experiment=e9", "seeds=[0,1]", "train.epochs=2", "data.train_size=null", "report=true"]
    result = run_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    claims = {c["id"]: c for c in json.loads((tmp_path / "reports" / "claims.json").read_text())["claims"]}
    claim = claims["E9"]  # two seeds: every part is not measured (n = 2), and so is the claim
    assert (claim["primary"], claim["verdict"]) == ("claims/e9", "not measured")
    assert [p["statement"].split(" ")[0] for p in claim["parts"]] == ["10", "30", "50"]
    assert all(p["why"] == "not measured (n = 2 pairs; 3 needed)" for p in claim["parts"])
    probes = sorted((tmp_path / "runs").rglob("probes.json"))
    assert len(probes) == 4  # 2 arms × 2 seeds
    assert "E9" in (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    html = (tmp_path / "reports" / "claims" / "e9" / "report.html").read_text(encoding="utf-8")
    claims = html[html.index("<h2>Claims</h2>"):]  # 2 epochs: too few for the diagnosis, said beside the verdict
    assert "Regime of the arms" in claims and "<b>dropout</b> convergence unknown · overfitting unknown" in claims
    again = report_cli(args[:-1], tmp_path, mnist_root)  # the report CLI takes the same overrides
    assert again.returncode == 0, again.stderr
    # the same runs as the task's plain grid: its report shows E9 as decided by the experiment
    plain = [a for a in args[:-1] if a != "+experiment=e9"] + ["regimes=[none,dropout]"]
    task_report = report_cli(plain, tmp_path, mnist_root)
    assert task_report.returncode == 0, task_report.stderr
    html = (tmp_path / "reports" / "mnist" / "smoke" / "report.html").read_text(encoding="utf-8")
    assert 'Decided by <a href="../../claims/e9/report.html">claims/e9</a>' in html
