"""Every claim experiment composes from the real config and plans its arms (nothing is trained)."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO
from hydra import compose, initialize_config_module
from paddle_reg.task_registry import BUILT_IN

from paddle_reg.run import plan_command

EXPERIMENTS = sorted(p.stem for p in (REPO / "configs" / "experiment").glob("e*.yaml"))


def experiment_task(name: str) -> str:
    text = (REPO / "configs" / "experiment" / f"{name}.yaml").read_text()
    return next((line.split(":")[1].strip() for line in text.splitlines() if "override /task:" in line), "mnist")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_experiment_composes_and_plans_its_arms(name, tmp_path):
    if experiment_task(name) not in BUILT_IN:
        pytest.skip(f"task {experiment_task(name)} is not in this checkout")
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        overrides = [f"experiment={name}", f"paths.runs_dir={tmp_path}"]
        cfg = compose(config_name="config", overrides=overrides)
        plan = plan_command(cfg, overrides, Path(tmp_path))
    assert plan.claim_id == name.upper()
    assert plan.report_dir == Path("reports") / "claims" / name
    assert plan.order[0] == "none"
    assert len(plan.specs) == len(plan.order) * len(cfg.seeds) >= 6
    assert len({str(s.run_dir.path) for s in plan.specs}) == len(plan.specs)  # each arm has runs of its own
