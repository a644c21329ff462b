"""The regularizer registry: composed regimes, their names and refusals, what it derives (config defaults, README
table), and the run hashes of existing single regimes, pinned as the code before the registry computed them."""
from __future__ import annotations

import json

import pytest
from conftest import REPO, TINY, compose_config, run_cli

from paddle_reg import registry
from paddle_reg.errors import UserError
from paddle_reg.grid import NOT_HASHED, effective_run_config
from paddle_reg.store import config_hash
from paddle_reg.task_registry import BUILT_IN, get_task
from paddle_reg.validation import validate

# config_hash of the run config, computed on main before the registry (commit be7f53b): finished runs under existing
# runs folders are found only while these stay. Profiles changed since then are given their values of that commit
# (MNIST quick: 5 epochs; MNIST full: 200 epochs of batch 128 without momentum warmup; news article: 10 epochs
# without patience; PCB quick: 10 epochs and the former 9 anchors), so the pins check the hash, not the profiles.
MNIST_QUICK_THEN, NEWS_ARTICLE_THEN = ["train.epochs=5"], ["train.epochs=10", "train.patience=null"]
MNIST_FULL_THEN = ["train.epochs=200", "train.batch_size=128", "optim.schedule.momentum_warmup_steps=0"]
PCB_QUICK_THEN = ["train.epochs=10", "model.anchors=[[30,26],[28,34],[35,30],[42,27],[34,36],[44,39],[58,30],[37,54],[79,46]]"]
PINNED = [
    (["task=mnist", "regime=none", *MNIST_QUICK_THEN], "c18d1ef0aa"),
    (["task=mnist", "regime=dropout", *MNIST_QUICK_THEN], "ec5abbea60"),
    (["task=mnist", "regime=weight_decay", *MNIST_QUICK_THEN], "62990ec586"),
    (["task=mnist", "regime=both", *MNIST_QUICK_THEN], "7c7d59d05a"),
    (["task=mnist", "regime=maxnorm", *MNIST_QUICK_THEN], "5322eec853"),
    (["task=mnist", "regime=early_stop", *MNIST_QUICK_THEN], "2df12d250e"),
    (["task=mnist", "regime=cutout", "profile=smoke"], "25d8b18e79"),
    (["task=mnist", "regime=both", "profile=full", *MNIST_FULL_THEN], "9024627b4b"),
    (["task=news", "regime=none", *NEWS_ARTICLE_THEN], "90675ea668"),
    (["task=news", "regime=both", *NEWS_ARTICLE_THEN], "8456439ba7"),
    (["task=news", "regime=spatial", "profile=smoke"], "e0660967e3"),
    (["task=pcb", "regime=none", *PCB_QUICK_THEN], "55b7ff5c4f"),
    (["task=pcb", "regime=dropblock", *PCB_QUICK_THEN], "39e078a633"),
    (["experiment=e4", "regime=dropout", "model.dropout.hidden=0.9"], "6096c88a8a"),
    (["task=mnist", "regime=weight_decay", "optim.decay_mode=decoupled", *MNIST_QUICK_THEN], "2968e877b8"),
    # adamw decayed decoupled then as now; it needed decay_mode=decoupled spelled out, now it implies it
    (["task=mnist", "regime=both", "optim.name=adamw", *MNIST_QUICK_THEN], "a1c51efc56"),
    (["task=mnist", "regime=both", "optim=adamw", *MNIST_QUICK_THEN], "a1c51efc56"),
    # coupled decay was spelled l2: both spellings are the run they were
    (["task=mnist", "regime=none", "optim.decay_mode=l2", *MNIST_QUICK_THEN], "c18d1ef0aa"),
    (["task=mnist", "regime=none", "optim.decay_mode=coupled", *MNIST_QUICK_THEN], "c18d1ef0aa"),
]


def run_hash(*overrides: str) -> str:
    run = effective_run_config(compose_config(*overrides), 0)
    return config_hash({k: v for k, v in run.items() if k not in NOT_HASHED})


@pytest.mark.parametrize("overrides,expected", PINNED, ids=[" ".join(o) for o, _ in PINNED])
def test_existing_single_regimes_keep_their_run_hash(overrides, expected):
    assert run_hash(*overrides) == expected


def test_composed_regimes_are_named_in_registry_order_and_both_is_the_pair():
    mnist = get_task("mnist")
    assert registry.resolve("maxnorm+dropout", mnist) == ("dropout+maxnorm", ("dropout", "maxnorm"))
    assert registry.resolve("weight_decay+dropout", mnist)[0] == "both"
    assert registry.resolve("maxnorm+both", mnist)[0] == "both+maxnorm"
    assert registry.resolve("dropout+weight_decay+maxnorm", mnist)[0] == "both+maxnorm"
    assert registry.resolve("none", mnist) == ("none", ())
    assert run_hash("regime=maxnorm+dropout") == run_hash("regime=dropout+maxnorm")
    assert run_hash("regime=dropout+weight_decay") == run_hash("regime=both")
    assert run_hash("regime=both", *MNIST_QUICK_THEN) == "7c7d59d05a"


def test_a_composed_regime_switches_on_exactly_its_regularizers():
    run = effective_run_config(compose_config("regime=dropout+maxnorm"), 0)
    assert run["regime"] == "dropout+maxnorm" and run["model"]["dropout"]["hidden"] == 0.5
    assert run["optim"]["weight_decay"] == 0.0
    assert {name for name, value in run["reg"].items() if value is not None} == {"maxnorm"}


def test_a_grid_of_composed_regimes_plans_one_arm_per_set(tmp_path):
    from hydra import compose, initialize_config_module

    from paddle_reg.run import plan_command

    overrides = ["regimes=[none,dropout,maxnorm+dropout,dropout+maxnorm,both,weight_decay+dropout]", "seeds=[0]",
                 f"paths.runs_dir={tmp_path}"]
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        plan = plan_command(compose(config_name="config", overrides=overrides), overrides, tmp_path)
    assert plan.order == ["none", "dropout", "dropout+maxnorm", "both"]
    assert [spec.arm for spec in plan.specs] == plan.order  # each spec carries its arm label
    assert [spec.run_dir.path.parent.name for spec in plan.specs] == plan.order


@pytest.mark.parametrize("regime,message", [
    ("mixup+cutmix", "regime mixup+cutmix combines mixup and cutmix, which exclude each other: keep one"),
    ("cutmix+mixup", "regime cutmix+mixup combines mixup and cutmix, which exclude each other: keep one"),
    ("dropout+spatial", "regime dropout+spatial does not apply to task mnist (spatial): choose from none, dropout, "
                        "weight_decay, both, dropconnect, gaussian, l1, maxnorm, mixup, cutmix, cutout, early_stop"),
    ("droppath", "regime droppath does not apply to task mnist: choose from none, dropout,"),
])
def test_refusals_are_one_line(regime, message):
    with pytest.raises(UserError) as error:
        validate(compose_config(f"regime={regime}"), get_task("mnist"), [regime])
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_regime_a_task_cannot_apply_lists_what_it_can():
    with pytest.raises(UserError, match="regime l1 does not apply to task pcb: choose from none, dropout, weight_decay, "
                                        "both, dropblock, mixup, cutout; "):
        registry.resolve("l1", get_task("pcb"))


def test_every_task_declares_registry_regularizers_and_metrics_holding_its_monitor():
    for name in BUILT_IN:
        task = get_task(name)
        assert set(task.regularizers) <= set(registry.BY_NAME), name
        assert task.monitor in task.metrics, name
        images = [r for r in task.regularizers if r in registry.IMAGE_AUGMENTATIONS]
        assert not images or getattr(task, "image_shape", None) or name == "pcb", name  # pcb applies them itself


def test_the_composed_config_starts_reg_from_the_registrys_defaults():
    reg = compose_config("task=mnist").reg
    assert list(reg) == list(registry.REG_NAMES)
    assert reg.l1 == registry.BY_NAME["l1"].default and reg.spatial == registry.BY_NAME["spatial"].default
    assert compose_config("task=pcb").reg.cutout.size == 32  # a task's own value wins
    assert compose_config("task=mnist", "reg.l1=2e-5").reg.l1 == 2e-5


def test_run_configs_keep_the_first_releases_reg_keys():
    assert set(registry.RECORDED_WHEN_OFF) <= set(registry.REG_NAMES)
    mnist = effective_run_config(compose_config("task=mnist", "regime=none"), 0)["reg"]
    assert set(mnist) == {"dropconnect", "gaussian", "l1", "maxnorm", "mixup", "cutmix", "cutout", "early_stop"}
    news = effective_run_config(compose_config("task=news", "regime=none"), 0)["reg"]
    assert set(news) == {"spatial", "gaussian", "dropconnect", "l1", "maxnorm", "early_stop"}
    assert set(effective_run_config(compose_config("task=pcb", "regime=none"), 0)["reg"]) == {"dropblock", "cutout",
                                                                                             "mixup"}


def test_the_effective_config_holds_paths_for_load_data_and_leaves_them_out_of_the_hash(tmp_path):
    cfg = compose_config("task=news", "regime=none", f"paths.cache_dir={tmp_path}")
    run = effective_run_config(cfg, 0)
    assert run["paths"]["cache_dir"] == str(tmp_path)
    assert run_hash("task=news", "regime=none", f"paths.cache_dir={tmp_path}") == run_hash("task=news", "regime=none")


def test_readme_regimes_table_is_the_registrys():
    assert registry.markdown_table() in (REPO / "README.md").read_text(encoding="utf-8")


def test_regime_yaml_files_are_gone():
    assert not (REPO / "configs" / "regime").exists()  # regimes are composed from the registry


def test_decay_mode_l2_is_coupled_with_one_deprecation_line(mnist_root, tmp_path):
    result = run_cli(TINY + ["regimes=[none,weight_decay]", "seeds=[0]", "optim.decay_mode=l2"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    assert (result.stdout + result.stderr).count("optim.decay_mode=l2 is deprecated") == 1
    runs = sorted((tmp_path / "runs" / "mnist").glob("*/seed0-*/config.json"))
    assert [json.loads(p.read_text())["run"]["optim"]["decay_mode"] for p in runs] == ["l2", "l2"]  # as recorded before


def test_composed_regimes_train_end_to_end_and_report_their_arms(mnist_root, tmp_path):
    regimes = "[none,maxnorm+dropout,l1+both]"
    result = run_cli([a for a in TINY if a != "report=false"] + [f"regimes={regimes}", "seeds=[0]"], tmp_path,
                     mnist_root)
    assert result.returncode == 0, result.stderr
    finished = {p.parent.parent.name: json.loads((p.parent / "run.json").read_text())["status"]
                for p in (tmp_path / "runs" / "mnist").glob("*/seed0-*/final.json")}
    assert finished == {"none": "finished", "dropout+maxnorm": "finished", "both+l1": "finished"}
    summary = json.loads((tmp_path / "reports" / "mnist" / "smoke" / "summary.json").read_text())
    assert list(summary["regimes"]) == ["none", "dropout+maxnorm", "both+l1"]
