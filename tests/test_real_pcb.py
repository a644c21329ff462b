"""A real smoke comparison on a few DeepPCB images (CI sets PADDLE_REG_REQUIRE_REAL_DATA=1 so it cannot skip)."""
from __future__ import annotations

import json
import os

import pytest

from conftest import run_cli
from paddle_reg.datasource import data_root

ROOT = data_root(None)
HAVE_DEEPPCB = (ROOT / "deeppcb" / "PCBData" / "trainval.txt").is_file()


@pytest.mark.skipif(not HAVE_DEEPPCB and os.environ.get("PADDLE_REG_REQUIRE_REAL_DATA") != "1",
                    reason=f"real DeepPCB not under {ROOT}/deeppcb (set PADDLE_REG_DATA)")
def test_smoke_comparison_on_real_deeppcb(tmp_path):
    assert HAVE_DEEPPCB, f"PADDLE_REG_REQUIRE_REAL_DATA=1 but DeepPCB is missing under {ROOT}/deeppcb"
    result = run_cli(["task=pcb", "profile=smoke", "regimes=[none,both]", "jobs=1", "report=false"], tmp_path, ROOT)
    assert result.returncode == 0, result.stderr
    for regime in ("none", "both"):
        run = next((tmp_path / "runs" / "pcb" / regime).glob("seed0-*"))
        assert json.loads((run / "run.json").read_text())["status"] == "finished"
        final = json.loads((run / "final.json").read_text())
        assert 0.0 <= final["test_map50"] <= 1.0 and 0.0 <= final["test_map33"] <= 1.0
        assert final["test_fp_per_image"] >= 0.0 and final["train_map50"] >= 0.0
        assert final["details"]["test_per_class_ap"]["labels"][0] == "open"
