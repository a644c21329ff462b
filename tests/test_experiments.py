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
    assert plan.order[0] == "none" or "none" not in plan.order  # the baseline first, where the claim has one
    assert len(plan.specs) == len(plan.order) * len(cfg.seeds) >= 6
    assert len({str(s.run_dir.path) for s in plan.specs}) == len(plan.specs)  # each arm has runs of its own


def test_e6_grid_spans_lr_by_lambda_per_decay_mode_and_shares_the_baseline_run(tmp_path):
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        overrides = ["experiment=e6", f"paths.runs_dir={tmp_path}"]
        plan = plan_command(compose(config_name="config", overrides=overrides), overrides, Path(tmp_path))
        small = ["experiment=e11", f"paths.runs_dir={tmp_path}"]
        shared = plan_command(compose(config_name="config", overrides=small), small, Path(tmp_path))
    cells = {(s.config["optim"]["decay_mode"], s.config["optim"]["lr"], s.config["optim"]["weight_decay"])
             for s in plan.specs}
    for mode in ("l2", "decoupled"):  # run records spell coupled decay l2
        decays = sorted({wd for m, _, wd in cells if m == mode and wd > 0})
        assert len({lr for m, lr, wd in cells if m == mode and wd > 0}) >= 4 and len(decays) >= 5
        assert all(0.4 < abs(b / a) ** 0.5 - 1 < 1.0 for a, b in zip(decays, decays[1:]))  # half-decade steps
    assert {s.arm for s in plan.specs if s.config["optim"]["weight_decay"] == 0} >= {"lr=0.001 λ=0"}
    baseline = {str(s.run_dir.path) for s in shared.specs if s.arm == "none"}
    assert baseline <= {str(s.run_dir.path) for s in plan.specs if s.arm == "lr=0.001 λ=0"}


def test_grids_span_every_combination_labelled_by_their_template_and_labels_must_be_unique():
    from omegaconf import OmegaConf

    from paddle_reg.errors import UserError
    from paddle_reg.run import arm_overrides
    from paddle_reg.task_registry import get_task

    grid = {"regime": "weight_decay", "label": "lr={lr} λ={weight_decay}",
            "set": {"optim.lr": [1e-3, 0.01], "optim.weight_decay": [3e-05, 0.1]}}
    cfg = OmegaConf.create({"claim": {"arms": [{"label": "none", "regime": "none"}], "grids": [grid]}})
    arms = arm_overrides(cfg, get_task("mnist"))
    assert list(arms) == ["none", "lr=0.001 λ=3e-05", "lr=0.001 λ=0.1", "lr=0.01 λ=3e-05", "lr=0.01 λ=0.1"]
    assert arms["lr=0.01 λ=3e-05"] == ["regime=weight_decay", "optim.lr=0.01", "optim.weight_decay=3e-05"]
    unlabelled = OmegaConf.create({"claim": {"grids": [{**grid, "label": None}]}})
    assert list(arm_overrides(unlabelled, get_task("mnist")))[0] == "lr=0.001 weight_decay=3e-05"
    twice = OmegaConf.create({"claim": {"grids": [{**grid, "label": "λ={weight_decay}"}]}})
    with pytest.raises(UserError, match="claim arms share the label λ=0.1, λ=3e-05: give each arm"):
        arm_overrides(twice, get_task("mnist"))


@pytest.mark.parametrize("overrides, folder", [
    (["task=mnist"], "mnist"), (["task=mnist", "profile=quick"], "mnist"), (["task=mnist", "profile=full"], "mnist/full"),
    (["task=news"], "news"), (["task=news", "profile=full"], "news/full"), (["task=pcb", "profile=smoke"], "pcb/smoke")])
def test_a_task_report_of_another_profile_than_its_default_has_a_folder_of_its_own(overrides, folder, tmp_path):
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        overrides = [*overrides, f"paths.runs_dir={tmp_path}"]
        plan = plan_command(compose(config_name="config", overrides=overrides), overrides, Path(tmp_path))
    assert plan.report_dir == Path("reports") / folder
