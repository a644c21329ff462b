"""A real smoke comparison on the real MNIST files (CI sets PADDLE_REG_REQUIRE_REAL_DATA=1 so it cannot skip)."""
from __future__ import annotations

import json
import os

import pytest

from conftest import run_cli
from paddle_reg.datasource import data_root
from paddle_reg.tasks.mnist import FILES

ROOT = data_root(None)
HAVE_MNIST = all((ROOT / "mnist" / name).is_file() for name in FILES)


@pytest.mark.skipif(not HAVE_MNIST and os.environ.get("PADDLE_REG_REQUIRE_REAL_DATA") != "1",
                    reason=f"real MNIST not under {ROOT}/mnist (set PADDLE_REG_DATA)")
def test_smoke_comparison_on_real_mnist(tmp_path):
    assert HAVE_MNIST, f"PADDLE_REG_REQUIRE_REAL_DATA=1 but MNIST files are missing under {ROOT}/mnist"
    result = run_cli(["task=mnist", "profile=smoke", "regimes=[none,both]", "jobs=2"], tmp_path, ROOT)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "reports" / "mnist" / "summary.json").read_text())
    for regime in ("none", "both"):
        assert summary["regimes"][regime]["status"] == {"finished": 1}
        assert summary["regimes"][regime]["stats"]["test_error"]["mean"] < 60.0  # percent; chance is 90 %
    assert (tmp_path / "reports" / "mnist" / "report.pdf").stat().st_size > 10_000
    assert "Results by regime" in (tmp_path / "reports" / "mnist" / "report.html").read_text()
