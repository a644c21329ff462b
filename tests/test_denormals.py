"""Flush-to-zero / denormals-are-zero: set in grid workers and in the single-process path, off when asked."""
from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from conftest import TINY, run_cli

FLUSHING_MACHINE = platform.system() == "Linux" and platform.machine() in ("x86_64", "aarch64")


def environments(runs) -> list[dict]:
    return [json.loads(p.read_text())["environment"] for p in sorted(runs.glob("mnist/*/*/run.json"))]


@pytest.mark.skipif(not FLUSHING_MACHINE, reason="the switch is known for Linux on x86-64 and aarch64")
@pytest.mark.parametrize("jobs", [1, 2], ids=["single-process", "grid-workers"])
def test_runs_compute_subnormal_products_as_zero(mnist_root, tmp_path, jobs):
    args = TINY + ["regimes=[none,weight_decay]", "seeds=[0]", "train.epochs=1", f"jobs={jobs}"]
    result = run_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    envs = environments(tmp_path / "runs")
    assert len(envs) == 2
    expected = "ftz+daz" if platform.machine() == "x86_64" else "fz"
    assert all(env["flush_denormal"] == expected and env["subnormals_flushed"] is True for env in envs)


def test_flush_denormal_false_keeps_ieee_subnormals(mnist_root, tmp_path):
    args = TINY + ["regimes=[none,weight_decay]", "seeds=[0]", "train.epochs=1", "jobs=2", "flush_denormal=false"]
    result = run_cli(args, tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    envs = environments(tmp_path / "runs")
    assert len(envs) == 2 and all(env["flush_denormal"] == "off" and env["subnormals_flushed"] is False for env in envs)


def test_bad_flush_denormal_value_is_one_line(mnist_root, tmp_path):
    result = run_cli(TINY + ["flush_denormal=maybe"], tmp_path, mnist_root)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: flush_denormal=maybe must be true or false"]


@pytest.mark.skipif(not FLUSHING_MACHINE, reason="the switch is known for Linux on x86-64 and aarch64")
def test_threads_started_after_the_switch_inherit_it():
    code = ("from paddle_reg.denormals import set_flush_denormal; set_flush_denormal(True)\n"
            "import threading, numpy as np\n"
            "out = []\n"
            "t = threading.Thread(target=lambda: out.append(float(np.float32(1e-38) * np.float32(1e-3))))\n"
            "t.start(); t.join(); print(out[0])")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "0.0"
