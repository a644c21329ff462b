"""What the trainer applies around a step: Mixup/CutMix/Cutout, the L1 term, the max-norm constraint."""
from __future__ import annotations

import numpy as np
import paddle
import paddle.nn.functional as F
import pytest

from paddle_reg.errors import UserError
from paddle_reg.regularizers import (MaxNorm, StepRegularizers, cutmix, cutout, l1_penalty, mixed_loss, mixup,
                                     penalized_weights, penalties)
from paddle_reg.regularizers.penalties import cap_in_numpy, cap_in_paddle, max_norm_targets
from paddle_reg.tasks.mnist import MLP


def images(count=6, size=8):
    """Image i is constant i + 1, so each pixel says which source image it came from."""
    return paddle.to_tensor(np.arange(1, count + 1, dtype="float32").reshape(-1, 1, 1, 1) * np.ones((1, 1, size, size),
                                                                                                   dtype="float32"))


def test_mixup_mixes_each_image_with_its_partner_by_lambda():
    x, y = images(), paddle.arange(6)
    mixed, targets = mixup(x, y, alpha=0.4, rng=np.random.default_rng(0))
    partner = targets.b.numpy()
    expected = targets.lam * (np.arange(6) + 1) + (1 - targets.lam) * (partner + 1)
    np.testing.assert_allclose(mixed.numpy()[:, 0, 0, 0], expected, rtol=1e-6)
    assert sorted(partner) == list(range(6)) and 0.0 < targets.lam < 1.0


def test_cutmix_pastes_one_box_and_lambda_is_the_kept_area():
    x, y = images(size=16), paddle.arange(6)
    mixed, targets = cutmix(x, y, alpha=1.0, rng=np.random.default_rng(3))
    own = mixed.numpy()[:, 0] == (np.arange(6) + 1).reshape(-1, 1, 1)
    kept = own.mean(axis=(1, 2))
    moved = [i for i in range(6) if targets.b.numpy()[i] != i]
    np.testing.assert_allclose(kept[moved], targets.lam, rtol=1e-6)
    assert 0.0 < targets.lam < 1.0


def test_cutout_zeroes_one_square_per_image_at_independent_places():
    x = paddle.ones([200, 1, 28, 28])
    out = cutout(x, size=8, rng=np.random.default_rng(0)).numpy()
    zeros = (out == 0).sum(axis=(1, 2, 3))
    assert zeros.max() == 64 and zeros.min() > 0  # whole squares inside, clipped ones at the border
    assert len({tuple(np.argwhere(o[0] == 0)[0]) for o in out}) > 50  # per-sample positions
    assert set(np.unique(out)) == {0.0, 1.0}


def test_mixed_loss_is_the_lambda_weighted_sum_of_both_losses():
    logits = paddle.to_tensor(np.random.default_rng(0).normal(size=(4, 3)).astype("float32"))
    _, targets = mixup(paddle.zeros([4, 1, 2, 2]), paddle.to_tensor([0, 1, 2, 0]), 1.0, np.random.default_rng(1))
    expected = targets.lam * F.cross_entropy(logits, targets.a) + (1 - targets.lam) * F.cross_entropy(logits, targets.b)
    np.testing.assert_allclose(float(mixed_loss(F.cross_entropy, logits, targets)), float(expected), rtol=1e-6)


def test_l1_penalty_covers_weights_only_and_its_gradient_is_lambda_sign():
    model = MLP(4, [3], 2, 0.0, 0.0)
    params = penalized_weights(model)
    assert [p.shape for p in params] == [[4, 3], [3, 2]]  # weights, not biases
    l1_penalty(params, 0.01).backward()
    for p in params:
        np.testing.assert_allclose(p.grad.numpy(), 0.01 * np.sign(p.numpy()), rtol=1e-6)


def test_max_norm_caps_each_units_incoming_weights_and_leaves_small_ones():
    linear, conv = paddle.nn.Linear(5, 4), paddle.nn.Conv2D(2, 3, 3)
    model = paddle.nn.Sequential(linear, paddle.nn.ReLU(), conv)
    linear.weight.set_value(paddle.concat([paddle.full([5, 2], 10.0), paddle.full([5, 2], 0.1)], axis=1))
    conv.weight.set_value(paddle.full([3, 2, 3, 3], 5.0))
    before = linear.weight.numpy().copy()
    MaxNorm(model, 2.0)()
    norms = np.linalg.norm(linear.weight.numpy(), axis=0)  # [in, out]: column j feeds unit j
    np.testing.assert_allclose(norms[:2], 2.0, rtol=1e-5)
    np.testing.assert_array_equal(linear.weight.numpy()[:, 2:], before[:, 2:])
    np.testing.assert_allclose(np.linalg.norm(conv.weight.numpy().reshape(3, -1), axis=1), 2.0, rtol=1e-5)


def test_max_norm_caps_the_same_on_its_numpy_path_and_in_paddles_ops():
    """apply_max_norm takes numpy for CPU float32 weights and Paddle's ops elsewhere (a GPU, float16)."""
    paddle.seed(0)
    model = paddle.nn.Sequential(paddle.nn.Linear(6, 5), paddle.nn.Conv2D(2, 3, 3))
    for layer in model:
        layer.weight.set_value(layer.weight * 4.0)
    for weight, axes in max_norm_targets(model):
        in_numpy, in_paddle = (paddle.create_parameter(weight.shape, "float32") for _ in range(2))
        in_numpy.set_value(weight)
        in_paddle.set_value(weight)
        cap_in_numpy(in_numpy, axes, 1.0)
        with paddle.no_grad():
            cap_in_paddle(in_paddle, axes, 1.0)
        assert float(in_numpy.abs().max()) < float(weight.abs().max())  # some units were capped
        np.testing.assert_allclose(in_numpy.numpy(), in_paddle.numpy(), rtol=1e-6, atol=1e-7)


def test_max_norm_takes_numpy_for_cpu_float32_weights_only(monkeypatch):
    taken = []
    monkeypatch.setattr(penalties, "cap_in_numpy", lambda weight, axes, c: taken.append(("numpy", weight.dtype)))
    monkeypatch.setattr(penalties, "cap_in_paddle", lambda weight, axes, c: taken.append(("paddle", weight.dtype)))
    MaxNorm(paddle.nn.Linear(3, 2), 1.0)()
    MaxNorm(paddle.nn.Linear(3, 2).to(dtype="float64"), 1.0)()
    assert taken == [("numpy", paddle.float32), ("paddle", paddle.float64)]


def test_step_regularizers_view_flat_inputs_as_images_and_leave_other_tasks_inputs_alone():
    model = MLP(784, [8], 10, 0.0, 0.0)
    regs = StepRegularizers(model, {"cutout": {"size": 28}, "l1": None}, image_shape=(1, 28, 28))
    out, mixed = regs.augment(paddle.ones([3, 784]), paddle.arange(3), np.random.default_rng(0))
    assert out.shape == [3, 784] and mixed is None and float(out.sum()) < 3 * 784
    assert regs.penalty() is None
    assert not StepRegularizers(model, {"cutout": {"size": 8}}, image_shape=None).augments  # the task's own job
    with pytest.raises(UserError, match="reg.mixup and reg.cutmix are both on"):
        StepRegularizers(model, {"mixup": {"alpha": 1.0}, "cutmix": {"alpha": 1.0}}, (1, 28, 28))
