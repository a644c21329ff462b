"""The real Hydra config for task=pcb: every profile composes and validates, regimes switch the PCB regularizers."""
from __future__ import annotations

import pytest
from hydra import compose, initialize_config_module

from paddle_reg.grid import effective_run_config
from paddle_reg.task_registry import get_task
from paddle_reg.validation import validate


def compose_pcb(*overrides: str):
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        return compose(config_name="config", overrides=["task=pcb", *overrides])


@pytest.mark.parametrize("profile", ["smoke", "quick", "full"])
def test_every_pcb_profile_composes_and_validates(profile):
    cfg = compose_pcb(f"profile={profile}")
    validate(cfg, get_task("pcb"), list(cfg.regimes))
    assert cfg.profile_name == profile and cfg.task.name == "pcb"


def test_article_setting_is_the_task_default():
    cfg = compose_pcb("profile=full")
    assert cfg.data.input == "test"
    assert cfg.model.dropout.fpn == 0.3 and cfg.optim.name == "momentum" and cfg.optim.weight_decay == 1e-4


def test_quick_profile_is_the_default_and_stacks_the_template():
    cfg = compose_pcb()
    assert cfg.profile_name == "quick" and cfg.data.input == "pair" and cfg.data.train_crop == 160
    assert cfg.optim.clip_norm == 5.0


def test_full_profile_is_the_gpu_setting():
    cfg = compose_pcb("profile=full")
    assert cfg.data.image_size >= 608 and cfg.data.train_crop is None
    assert cfg.model.backbone in ("darknet53", "mobilenet_v1") and cfg.model.neck == "yolov3"


@pytest.mark.parametrize("regime", ["none", "dropout", "weight_decay", "both"])
def test_regimes_switch_fpn_dropout_and_decay(regime):
    run = effective_run_config(compose_pcb(f"regime={regime}"), seed=0)
    assert (run["model"]["dropout"]["fpn"] == 0.3) == (regime in ("dropout", "both"))
    assert (run["optim"]["weight_decay"] == 1e-4) == (regime in ("weight_decay", "both"))


@pytest.mark.parametrize("regime", ["dropblock", "cutout", "mixup"])
def test_claim_e15_regimes_switch_only_their_own_regularizer(regime):
    run = effective_run_config(compose_pcb(f"regime={regime}"), seed=0)
    assert [name for name, value in run["reg"].items() if value is not None] == [regime]
    assert run["model"]["dropout"]["fpn"] == 0.0 and run["optim"]["weight_decay"] == 0.0
