"""The MNIST CNN with a norm choice (claims E7, E13) and the deep residual MLP with DropPath (claim E14)."""
from __future__ import annotations

import json

import numpy as np
import paddle
import pytest
from conftest import compose_config, run_cli
from omegaconf import OmegaConf

from paddle_reg.errors import UserError
from paddle_reg.grid import effective_run_config
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.mnist_cnn import ConvNet
from paddle_reg.tasks.mnist_resnet import ResidualMLP
from paddle_reg.validation import validate


def kinds(layers) -> list[str]:
    return [type(layer).__name__ for layer in layers]


def test_cnn_places_dropout_after_or_before_the_norm():
    after = ConvNet([4, 8], 10, "bn", 0.3, "after_norm")
    assert kinds(after.features) == ["Conv2D", "BatchNorm2D", "ReLU", "Dropout", "MaxPool2D",
                                     "Conv2D", "BatchNorm2D", "ReLU", "Dropout"]
    before = ConvNet([4, 8], 10, "gn", 0.3, "before_norm")
    assert kinds(before.features) == ["Conv2D", "Dropout", "GroupNorm", "ReLU", "MaxPool2D",
                                      "Conv2D", "Dropout", "GroupNorm", "ReLU"]
    assert kinds(ConvNet([4], 10, "none", 0.0).features) == ["Conv2D", "Identity", "ReLU"]


def test_cnn_takes_flat_images_pools_them_and_is_deterministic_in_eval():
    paddle.seed(0)
    model = ConvNet([4, 8], 10, "bn", 0.3, input_pool=2)
    x = paddle.rand([6, 784])
    assert model(x).shape == [6, 10]
    assert model.features(model.input_pool(x.reshape([-1, 1, 28, 28]))).shape == [6, 8, 7, 7]
    model.eval()
    assert np.array_equal(model(x).numpy(), model(x).numpy())


def test_cnn_batchnorm_uses_batch_statistics_in_training_and_running_ones_in_eval():
    """What E13 measures: in training a sample's output depends on the rest of its batch under bn, never under gn/ln."""
    paddle.seed(0)
    x = paddle.rand([4, 784])
    for norm, depends in (("bn", True), ("gn", False), ("ln", False)):
        model = ConvNet([4], 10, norm, 0.0)
        model.train()
        alone, together = model(x[:2]).numpy(), model(x).numpy()[:2]
        assert (not np.allclose(alone, together, atol=1e-6)) == depends, norm


def test_residual_mlp_blocks_take_the_drop_path_schedule():
    model = ResidualMLP(8, 20, 10, "ln", 0.0, [0.01 * l for l in range(1, 21)])
    assert len(model.blocks) == 20
    assert [block.drop_path.p for block in model.blocks] == pytest.approx([0.01 * l for l in range(1, 21)])
    assert "p=0.2" in repr(model.blocks[19].drop_path)


def test_a_dropped_branch_leaves_the_sample_unchanged_and_eval_keeps_every_branch():
    paddle.seed(0)
    model = ResidualMLP(8, 1, 10, "ln", 0.0, [0.5])
    block = model.blocks[0]
    x = paddle.rand([400, 8])
    block.train()
    out = block(x).numpy()
    dropped = np.all(np.isclose(out, x.numpy()), axis=1)  # the whole branch of a sample is dropped, or none of it
    assert 0.4 < dropped.mean() < 0.6
    branch = (out - x.numpy())[~dropped]
    block.eval()
    expected = (block(x) - x).numpy()[~dropped] / 0.5  # a kept branch is scaled by 1/(1 − p)
    np.testing.assert_allclose(branch, expected, rtol=1e-4, atol=1e-5)


def resnet(*overrides: str) -> ResidualMLP:
    """The residual MLP the mnist_resnet task builds for a run of the smoke profile with ``overrides``."""
    run = effective_run_config(compose_config("task=mnist_resnet", "profile=smoke", *overrides), 0)
    return get_task("mnist_resnet").build_model(OmegaConf.create(run), None)


@pytest.mark.parametrize("schedule,rates", [("linear", [0.05, 0.1, 0.15, 0.2]), ("constant", [0.2] * 4)])
def test_resnet_task_builds_droppath_from_the_registry_value(schedule, rates):
    model = resnet("regime=droppath", f"reg.droppath.schedule={schedule}")
    assert [block.drop_path.p for block in model.blocks] == pytest.approx(rates)
    assert all(block.drop_path.p == 0.0 for block in resnet("regime=none").blocks)


def test_the_resnet_task_is_deep_and_the_mlp_refuses_droppath():
    assert compose_config("task=mnist_resnet").model.depth >= 20
    with pytest.raises(UserError, match="regime droppath does not apply to task mnist: choose from"):
        validate(compose_config("task=mnist", "regime=droppath"), get_task("mnist"), ["droppath"])


@pytest.mark.parametrize("task,override,message", [
    ("mnist_resnet", "reg.droppath.schedule=cubic", "reg.droppath.schedule=cubic is unknown: choose one of constant, linear"),
    ("mnist_resnet", "reg.droppath.p=1.5", "reg.droppath.p=1.5 must be in [0, 1)"),
    ("mnist_resnet", "model.norm=in", "model.norm=in is unknown for the residual MLP: choose one of bn, ln, gn, none"),
    ("mnist_cnn", "model.norm=batch", "model.norm=batch is unknown: choose one of bn, ln, gn, in, none"),
    ("mnist_cnn", "model.dropout_position=after_relu",
     "model.dropout_position=after_relu is unknown for the CNN: choose one of after_norm, before_norm"),
    ("mnist_cnn", "model.channels=[8,0]", "model.channels=[8, 0] must be a list of positive integers"),
])
def test_bad_model_settings_are_one_line_errors(task, override, message):
    regime = "droppath" if "droppath" in override else "none"
    with pytest.raises(UserError) as error:
        validate(compose_config(f"task={task}", override, f"regime={regime}"), get_task(task), [regime])
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("task,regimes", [("mnist_cnn", "[none,both]"), ("mnist_resnet", "[none,droppath]")])
def test_each_task_trains_end_to_end_on_tiny_files(task, regimes, mnist_root, tmp_path):
    result = run_cli([f"task={task}", "profile=smoke", "data.val_size=200", f"regimes={regimes}", "seeds=[0]",
                      "jobs=1", "report=false"], tmp_path, mnist_root)
    assert result.returncode == 0, result.stderr
    finals = sorted((tmp_path / "runs" / task).glob("*/seed0-*/final.json"))
    assert sorted(p.parent.parent.name for p in finals) == sorted(regimes.strip("[]").split(","))
    assert all(json.loads(p.read_text())["test_accuracy"] > 0.3 for p in finals)  # chance is 0.1
