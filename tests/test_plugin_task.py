"""A task plugged in from its own package (examples/paddle_reg_digits): pip-installed, found, run through the CLI."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, compose_config, run_cli
from paddle_reg.errors import UserError
from paddle_reg.task_registry import get_task, plugin_config_dirs

EXAMPLE = REPO / "examples" / "paddle_reg_digits"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """The example package installed by pip into a folder of its own, put on PYTHONPATH where it is used.

    pip builds from a copy: setuptools writes build/ and *.egg-info into the tree it builds."""
    folder = tmp_path_factory.mktemp("plugin")
    shutil.copytree(EXAMPLE, folder / "src", ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(folder / "site"),
                    str(folder / "src")], check=True, capture_output=True, timeout=300)
    return folder / "site"


def write_distribution(site: Path, entry_points: str, modules: dict[str, str] | None = None) -> None:
    """A minimal installed distribution: its metadata, its ``paddle_reg.tasks`` entry points and its modules."""
    info = site / "fake_tasks-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-tasks\nVersion: 0\n")
    (info / "entry_points.txt").write_text(f"[paddle_reg.tasks]\n{entry_points}\n")
    for name, source in (modules or {}).items():
        (site / f"{name}.py").write_text(source)


def test_the_example_runs_through_the_cli_and_its_report_names_it(plugin_site, tmp_path):
    result = run_cli(["task=digits", "profile=smoke"], tmp_path, None, env={"PYTHONPATH": str(plugin_site)})
    assert result.returncode == 0, result.stderr
    finished = sorted(p.parent.parent.name for p in (tmp_path / "runs" / "digits").glob("*/*/final.json"))
    assert finished == ["both", "dropout", "none", "weight_decay"]
    html = (tmp_path / "reports" / "digits" / "smoke" / "report.html").read_text(encoding="utf-8")
    assert "digits: regime comparison" in html
    assert all(f"<b>F{i}</b>" in html for i in range(1, 10))  # a fresh user's report holds the facts too


def test_an_unknown_task_lists_the_plugged_in_ones(plugin_site, tmp_path, monkeypatch):
    result = run_cli(["task=bogus"], tmp_path, None, env={"PYTHONPATH": str(plugin_site)})
    assert result.returncode == 2 and "Could not find 'task/bogus'" in result.stderr and "digits" in result.stderr
    monkeypatch.syspath_prepend(str(plugin_site))
    with pytest.raises(UserError, match=r"choose one of mnist, mnist_cnn, mnist_resnet, news, pcb, digits .*plugged in .*paddle_reg.tasks: digits"):
        get_task("bogus")
    assert get_task("digits").name == "digits"


def test_the_plugged_in_configs_compose_like_a_built_in_tasks(plugin_site, monkeypatch):
    monkeypatch.syspath_prepend(str(plugin_site))
    assert plugin_config_dirs() == [f"file://{plugin_site / 'paddle_reg_digits' / 'configs'}"]
    quick, smoke = compose_config("task=digits"), compose_config("task=digits", "profile=smoke")
    assert (quick.task.name, quick.profile_name, quick.train.epochs, list(quick.seeds)) == ("digits", "quick", 30, [0, 1, 2])
    assert (smoke.profile_name, smoke.train.epochs, list(smoke.model.hidden)) == ("smoke", 2, [64])


@pytest.mark.parametrize("entry,expected", [
    ("function = json:dumps", "task function: its entry point json:dumps names a function, not an instance of "
                              "paddle_reg.task_api.Task"),
    ("missing = paddle_reg_no_such_module:TASK", "task missing: its entry point paddle_reg_no_such_module:TASK does "
                                                 "not load: ModuleNotFoundError"),
    ("half = half_task:TASK", "task half: Half does not set name"),
])
def test_a_bad_entry_point_is_one_clear_error(tmp_path, monkeypatch, entry, expected):
    write_distribution(tmp_path, entry, {"half_task": (
        "from paddle_reg.classification import ClassificationTask\n"
        "class Half(ClassificationTask):\n"
        "    def load_data(self, cfg, data_root): ...\n"
        "    def build_model(self, cfg, data): ...\n"
        "TASK = Half()\n")})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match=re.escape(expected)):
        get_task(entry.split(" = ")[0])
