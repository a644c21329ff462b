"""Statistical properties of the regularizer layers (fixed seeds, stated tolerances) and the MNIST MLP's use of them."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from paddle_reg.regularizers import (DropBlock2D, DropConnectLinear, DropPath, Dropout, GaussianDropout,
                                     SpatialDropout1D, SpatialDropout2D, drop_path_rates, norm_layer)
from paddle_reg.task_registry import get_task
from paddle_reg.tasks.mnist import MLP

P = 0.3
LAYERS = {
    "dropout": lambda: Dropout(P),
    "spatial1d": lambda: SpatialDropout1D(P),
    "spatial2d": lambda: SpatialDropout2D(P),
    "gaussian": lambda: GaussianDropout(P),
    "droppath": lambda: DropPath(P),
    "dropblock": lambda: DropBlock2D(P, block_size=3),
}


def ones_for(name: str):
    # enough independent units for a mean within 0.01 (standard error ≤ 0.005): 2e4 samples or channels, 1.5e4 blocks
    return paddle.ones([2_000, 8, 16, 16]) if name == "dropblock" else \
        paddle.ones([20_000, 20]) if name in ("droppath", "spatial1d") else paddle.ones([20_000, 20, 1, 1])


@pytest.mark.parametrize("name", LAYERS)
def test_expectation_is_preserved(name):
    paddle.seed(0)
    out = LAYERS[name]()(ones_for(name) if name != "spatial1d" else paddle.ones([2_000, 10, 7]))
    mean = out.numpy().mean(dtype=np.float64)
    assert abs(mean - 1.0) < 0.01, mean


@pytest.mark.parametrize("name", LAYERS)
def test_eval_mode_is_the_exact_identity(name):
    layer = LAYERS[name]()
    layer.eval()
    x = paddle.rand([4, 6, 8, 8])
    assert np.array_equal(layer(x).numpy(), x.numpy())


def test_gaussian_dropout_variance_is_p_over_1_minus_p():
    paddle.seed(0)
    out = GaussianDropout(P)(paddle.ones([1_000_000])).numpy()
    assert out.var() == pytest.approx(P / (1 - P), rel=0.01)
    assert (out != 0).all()  # continuous noise: nothing is dropped to exactly zero


def test_droppath_masks_whole_samples():
    paddle.seed(0)
    out = DropPath(0.5)(paddle.ones([2_000, 3, 4, 4])).numpy().reshape(2_000, -1)
    assert set(np.unique(out.min(axis=1))) == {0.0, 2.0} and (out.min(axis=1) == out.max(axis=1)).all()
    assert (out[:, 0] == 0).mean() == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("layer,shape,channel_axis", [(SpatialDropout2D(0.5), [64, 32, 5, 5], 1),
                                                      (SpatialDropout2D(0.5, "NHWC"), [64, 5, 5, 32], 3),
                                                      (SpatialDropout1D(0.5), [64, 32, 9], 1),
                                                      (SpatialDropout1D(0.5, "NLC"), [64, 9, 32], 2)])
def test_spatial_dropout_masks_whole_channels(layer, shape, channel_axis):
    paddle.seed(0)
    out = np.moveaxis(layer(paddle.ones(shape)).numpy(), channel_axis, 1).reshape(64, 32, -1)
    assert (out.min(axis=2) == out.max(axis=2)).all()  # one value per (sample, channel)
    assert set(np.unique(out)) == {0.0, 2.0}
    assert (out[:, :, 0] == 0).mean() == pytest.approx(0.5, abs=0.03)


def test_dropblock_drops_about_p_in_contiguous_blocks():
    paddle.seed(0)
    out = DropBlock2D(0.2, block_size=5)(paddle.ones([200, 4, 24, 24])).numpy()
    dropped = out == 0
    assert dropped.mean() == pytest.approx(0.2, abs=0.03)
    # every dropped pixel has a dropped neighbour: blocks, not scattered single units
    neighbours = np.zeros_like(dropped)
    neighbours[..., 1:, :] |= dropped[..., :-1, :]
    neighbours[..., :-1, :] |= dropped[..., 1:, :]
    assert (neighbours[dropped]).all()


def test_dropconnect_masks_weights_per_step_and_keeps_the_mean():
    paddle.seed(0)
    layer = DropConnectLinear(50, 4, p=0.5)
    x = paddle.rand([1, 50])
    outs = np.stack([layer(x).numpy() for _ in range(4_000)])
    layer.eval()
    plain = layer(x).numpy()
    assert len({o.tobytes() for o in outs[:10]}) == 10  # a fresh mask every call
    np.testing.assert_allclose(outs.mean(axis=0), plain, atol=0.05 * np.abs(plain).max() + 0.02)
    assert "p=0.5" in repr(layer)


def test_linear_and_constant_depth_schedules():
    assert drop_path_rates(4, 0.2) == pytest.approx([0.05, 0.1, 0.15, 0.2])
    assert drop_path_rates(4, 0.2, "linear") == drop_path_rates(4, 0.2)
    assert drop_path_rates(3, 0.2, "constant") == pytest.approx([0.2, 0.2, 0.2])
    with pytest.raises(ValueError, match="unknown DropPath schedule 'cosine'"):
        drop_path_rates(3, 0.2, "cosine")


@pytest.mark.parametrize("kind,dims,expected", [("bn", 2, "BatchNorm2D"), ("bn", 0, "BatchNorm1D"), ("ln", 0, "LayerNorm"),
                                                ("ln", 2, "GroupNorm"), ("gn", 2, "GroupNorm"), ("in", 2, "InstanceNorm2D"),
                                                ("none", 2, "Identity")])
def test_norm_factory(kind, dims, expected):
    layer = norm_layer(kind, 48, spatial_dims=dims, momentum=0.99)
    assert type(layer).__name__ == expected
    if kind == "bn":
        assert layer._momentum == 0.99
    with pytest.raises(ValueError, match="unknown norm 'batch'"):
        norm_layer("batch", 8)


def test_gn_takes_the_largest_group_count_that_divides_the_channels():
    assert norm_layer("gn", 48, groups=32)._num_groups == 24


BATCHNORM_NOTICE = "When training, we now always track"


def test_batchnorm_training_says_nothing():
    """Paddle's notice that BatchNorm tracks running statistics is silenced by the package (pytest.ini silences it
    for the suite too, which is why this runs in a fresh interpreter where that notice is an error)."""
    code = ("import paddle_reg, paddle; from paddle_reg.regularizers import norm_layer; "
            "layer = norm_layer('bn', 4); layer.train(); layer(paddle.randn([2, 4, 3, 3]))")
    result = subprocess.run([sys.executable, "-W", f"error:{BATCHNORM_NOTICE}:UserWarning", "-c", code],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-500:]


def test_mlp_dropout_position_before_relu():
    kinds = [type(layer).__name__ for layer in MLP(784, [64], 10, 0.0, 0.5, position="before_relu").net]
    assert kinds == ["Linear", "Dropout", "ReLU", "Linear"]


def build(regime: str, **reg):
    cfg = OmegaConf.create({"model": {"hidden": [16, 16], "dropout": {"input": 0.0, "hidden": 0.0}},
                            "reg": {"gaussian": None, "dropconnect": None, **reg}})
    return [type(layer).__name__ for layer in get_task("mnist").build_model(cfg, None).net]


def test_mnist_applies_dropconnect_to_hidden_layers_and_gaussian_at_hidden_sites():
    assert build("dropconnect", dropconnect=0.5) == ["DropConnectLinear", "ReLU", "DropConnectLinear", "ReLU", "Linear"]
    assert build("gaussian", gaussian=0.5) == ["Linear", "ReLU", "GaussianDropout", "Linear", "ReLU", "GaussianDropout",
                                               "Linear"]
    assert build("none") == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]


def test_dropblock_rescale_is_exact_past_float32_counting():
    """Over 2**24 elements a float32 sum of the mask stops counting; the rescale must not."""
    paddle.seed(0)
    out = DropBlock2D(0.1, block_size=7)(paddle.ones([70, 1, 512, 512])).numpy()
    assert out.mean(dtype=np.float64) == pytest.approx(1.0, abs=1e-4)


def test_inverted_dropout_commutes_with_relu_so_both_positions_give_the_same_outputs():
    """ReLU(x·m/(1−p)) = ReLU(x)·m/(1−p) for m ≥ 0: claim E3's two placements differ only if the masks do."""
    outputs = []
    for position in ("after_relu", "before_relu"):
        paddle.seed(0)
        model = MLP(784, [64, 64], 10, 0.0, 0.5, position=position)
        outputs.append(model(paddle.rand([32, 784])).numpy())
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_dropout_drops_a_fraction_p_scales_the_rest_and_draws_follow_paddle_seed():
    x = paddle.rand([400, 500]) + 0.5
    x.stop_gradient = False
    paddle.seed(7)
    out = Dropout(P)(x)
    kept = out.numpy() != 0
    assert (~kept).mean() == pytest.approx(P, abs=0.005)
    np.testing.assert_allclose(out.numpy()[kept], x.numpy()[kept] / (1 - P), rtol=1e-6)
    out.sum().backward()  # the gradient is the same mask: 1/(1−p) where kept, 0 where dropped
    np.testing.assert_allclose(x.grad.numpy(), kept / (1 - P), rtol=1e-6)
    paddle.seed(7)
    assert np.array_equal(Dropout(P)(x).numpy(), out.numpy())
    assert not np.array_equal(Dropout(P)(x).numpy(), out.numpy())  # the next call draws a new mask


def test_dropout_matches_paddles_own_in_distribution():
    """The suite's mask (NumPy's generator on the CPU) and F.dropout's: same drop rate and scale, within 3 sd."""
    paddle.seed(0)
    ones = paddle.ones([1_000_000])
    ours, paddles = Dropout(P)(ones).numpy(), paddle.nn.functional.dropout(ones, P).numpy()
    sd = np.sqrt(P * (1 - P) / ones.shape[0])
    assert abs((ours == 0).mean() - (paddles == 0).mean()) < 3 * np.sqrt(2) * sd
    assert set(np.unique(ours)) == set(np.unique(paddles)) == {0.0, np.float32(1 / (1 - P))}
