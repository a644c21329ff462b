"""The real Hydra config composes for every task × profile × regime, and regimes switch regularizers."""
from __future__ import annotations

from pathlib import Path

import pytest
from conftest import compose_config
from paddle_reg.task_registry import get_task

from paddle_reg.errors import UserError
from paddle_reg.grid import effective_run_config
from paddle_reg.store import config_hash
from paddle_reg.validation import validate

PROFILES = ["smoke", "quick", "full"]
REGIMES = ["none", "dropout", "weight_decay", "both"]


@pytest.mark.parametrize("profile", PROFILES)
def test_every_profile_composes_and_validates(profile):
    cfg = compose_config("task=mnist", f"profile={profile}")
    validate(cfg, get_task("mnist"), list(cfg.regimes))
    assert cfg.profile_name == profile


def test_profiles_carry_their_task_values():
    quick, full, smoke = (compose_config(f"profile={p}") for p in ("quick", "full", "smoke"))
    assert list(quick.model.hidden) == [512, 512] and quick.seeds == [0, 1, 2, 3, 4] and quick.train.epochs == 30
    assert list(full.model.hidden) == [1024, 1024, 1024] and full.model.dropout.input == 0.2
    assert list(full.regimes) == ["none", "dropout", "dropout+maxnorm"] and full.reg.maxnorm == 2.0
    assert full.optim.name == "momentum" and full.optim.schedule.momentum_warmup_steps > 0
    assert smoke.train.epochs == 1 and smoke.seeds == [0]


def test_user_override_wins_over_profile():
    assert compose_config("profile=smoke", "train.epochs=4").train.epochs == 4


@pytest.mark.parametrize("regime", REGIMES)
def test_regime_switches_regularizers(regime):
    run = effective_run_config(compose_config(f"regime={regime}", "optim.weight_decay=5e-4"), seed=3)
    assert run["regime"] == regime and run["seed"] == 3
    assert (run["model"]["dropout"]["hidden"] > 0) == (regime in ("dropout", "both"))
    assert (run["optim"]["weight_decay"] == 5e-4) == (regime in ("weight_decay", "both"))


def test_config_hash_ignores_values_a_regime_switches_off():
    """`none` trains the same model whatever dropout p is set to, so it must reuse the same run."""
    a = effective_run_config(compose_config("regime=none", "model.dropout.hidden=0.3"), 0)
    b = effective_run_config(compose_config("regime=none", "model.dropout.hidden=0.6"), 0)
    c = effective_run_config(compose_config("regime=dropout", "model.dropout.hidden=0.3"), 0)
    d = effective_run_config(compose_config("regime=dropout", "model.dropout.hidden=0.6"), 0)
    assert config_hash(a) == config_hash(b)
    assert config_hash(c) != config_hash(d)


def test_config_files_ship_inside_the_package():
    import paddle_reg.configs

    folder = Path(paddle_reg.configs.__path__[0])
    assert (folder / "config.yaml").is_file() and (folder / "task" / "mnist.yaml").is_file()


EXTENDED_MNIST = ["l1", "maxnorm", "mixup", "cutmix", "cutout", "early_stop"]


@pytest.mark.parametrize("regime", REGIMES + EXTENDED_MNIST)
def test_each_regime_keeps_only_its_own_extended_regularizer(regime):
    cfg = compose_config(f"regime={regime}")
    validate(cfg, get_task("mnist"), [regime])
    run = effective_run_config(cfg, seed=0)
    assert {name for name, value in run["reg"].items() if value is not None} == ({regime} & set(EXTENDED_MNIST))
    if regime in EXTENDED_MNIST:
        assert run["optim"]["weight_decay"] == 0.0 and run["model"]["dropout"]["hidden"] == 0.0


def test_group_decay_overrides_are_zeroed_with_the_decay():
    groups = "optim.groups=[{match:'^net.0',lr_mult:0.5,weight_decay:1e-3}]"
    off = effective_run_config(compose_config("regime=dropout", groups), 0)["optim"]["groups"]
    on = effective_run_config(compose_config("regime=both", groups), 0)["optim"]["groups"]
    assert off == [{"match": "^net.0", "lr_mult": 0.5, "weight_decay": 0.0}]
    assert on == [{"match": "^net.0", "lr_mult": 0.5, "weight_decay": 1e-3}]


@pytest.mark.parametrize("regime", ["droppath", "spatial", "dropblock"])
def test_regimes_an_mlp_cannot_apply_are_refused_listing_those_it_can(regime):
    cfg = compose_config(f"regime={regime}")
    with pytest.raises(UserError, match=f"regime {regime} does not apply to task mnist: choose from none, dropout, "
                                        "weight_decay, both, "):
        validate(cfg, get_task("mnist"), [regime])


NEWS_PROFILES = ["smoke", "article", "full"]


def test_each_task_has_its_own_default_profile():
    assert compose_config().profile_name == "quick"
    assert compose_config("task=mnist").profile_name == "quick"
    news = compose_config("task=news")
    assert news.profile_name == "article" and news.data.train_size == 5000 and news.task.name == "news"


@pytest.mark.parametrize("profile", NEWS_PROFILES)
def test_every_news_profile_composes_and_validates(profile):
    cfg = compose_config("task=news", f"profile={profile}")
    validate(cfg, get_task("news"), list(cfg.regimes))
    assert cfg.profile_name == profile
    assert compose_config(f"profile={profile}", "task=news").profile_name == profile  # order of overrides is free


def test_profile_without_values_for_the_task_is_refused():
    from hydra.errors import MissingConfigException

    with pytest.raises(MissingConfigException, match="task_profile/news/quick"):
        compose_config("task=news", "profile=quick")


@pytest.mark.parametrize("regime", REGIMES)
def test_news_regime_switches_fc_dropout_and_head_decay(regime):
    run = effective_run_config(compose_config("task=news", f"regime={regime}"), seed=0)
    assert run["model"]["dropout"]["fc"] == (0.5 if regime in ("dropout", "both") else 0.0)
    assert run["optim"]["weight_decay"] == (5e-4 if regime in ("weight_decay", "both") else 0.0)
    assert run["optim"]["decay_only"] == [r"^embedding\.", r"^fc\.", r"^classifier\."]


@pytest.mark.parametrize("regime", ["spatial", "gaussian", "dropconnect", "l1", "maxnorm", "early_stop"])
def test_news_extended_regimes_compose_with_their_value_only(regime):
    cfg = compose_config("task=news", f"regime={regime}")
    validate(cfg, get_task("news"), [regime])
    run = effective_run_config(cfg, seed=0)
    assert {name for name, value in run["reg"].items() if value is not None} == {regime}
    assert run["model"]["dropout"]["fc"] == 0.0 and run["optim"]["weight_decay"] == 0.0
