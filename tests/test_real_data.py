"""Real smoke comparisons on the real MNIST and THUCNews files (CI sets PADDLE_REG_REQUIRE_REAL_DATA=1 so it cannot skip)."""
from __future__ import annotations

import json
import os

import pytest

from conftest import run_cli
from paddle_reg.datasource import data_root
from paddle_reg.tasks.mnist import FILES
from paddle_reg.tasks.news_text import CLASS_FILE, SPLIT_FILES

ROOT = data_root(None)
HAVE_MNIST = all((ROOT / "mnist" / name).is_file() for name in FILES)


@pytest.mark.skipif(not HAVE_MNIST and os.environ.get("PADDLE_REG_REQUIRE_REAL_DATA") != "1",
                    reason=f"real MNIST not under {ROOT}/mnist (set PADDLE_REG_DATA)")
def test_smoke_comparison_on_real_mnist(tmp_path):
    assert HAVE_MNIST, f"PADDLE_REG_REQUIRE_REAL_DATA=1 but MNIST files are missing under {ROOT}/mnist"
    result = run_cli(["task=mnist", "profile=smoke", "regimes=[none,both]", "jobs=2"], tmp_path, ROOT)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "reports" / "mnist" / "smoke" / "summary.json").read_text())
    for regime in ("none", "both"):
        assert summary["regimes"][regime]["status"] == {"finished": 1}
        assert summary["regimes"][regime]["stats"]["test_error"]["mean"] < 60.0  # percent; chance is 90 %
    assert (tmp_path / "reports" / "mnist" / "smoke" / "report.pdf").stat().st_size > 10_000
    assert "Results by arm" in (tmp_path / "reports" / "mnist" / "smoke" / "report.html").read_text()


HAVE_NEWS = all((ROOT / "thucnews" / name).is_file() for name in [CLASS_FILE, *SPLIT_FILES.values()])


@pytest.mark.skipif(not HAVE_NEWS and os.environ.get("PADDLE_REG_REQUIRE_REAL_DATA") != "1",
                    reason=f"real THUCNews not under {ROOT}/thucnews (set PADDLE_REG_DATA)")
def test_smoke_comparison_on_real_news(tmp_path):
    assert HAVE_NEWS, f"PADDLE_REG_REQUIRE_REAL_DATA=1 but THUCNews files are missing under {ROOT}/thucnews"
    result = run_cli(["task=news", "profile=smoke", "regimes=[none,both]", "jobs=2",
                      f"paths.cache_dir={tmp_path / 'cache'}"], tmp_path, ROOT)
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "reports" / "news" / "smoke" / "summary.json").read_text())
    assert summary["profile"] == "smoke"
    for regime in ("none", "both"):
        assert summary["regimes"][regime]["status"] == {"finished": 1}
        assert summary["regimes"][regime]["stats"]["test_accuracy"]["mean"] > 20.0  # percent; chance is 10 %
    assert (tmp_path / "reports" / "news" / "smoke" / "report.pdf").stat().st_size > 10_000
    assert list((tmp_path / "cache" / "news").glob("char-*/tokens.json"))
