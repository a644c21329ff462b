"""The fast PCB training step (targets assigned in the graph, one static graph, depthwise convolutions on the C++
kernel) against ppdet's own path: the quick model from the real config, ppdet's Gt2YoloTarget in numpy and ppdet's
YOLOv3 loss run op by op; the kernel against Paddle's convolution, and the step without the kernel."""
from __future__ import annotations

import logging
import shutil
import sysconfig

import numpy as np
import paddle
import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from paddle_reg import runtime
from paddle_reg.grid import effective_run_config
from paddle_reg.tasks import pcb_depthwise
from paddle_reg.tasks.pcb_data import CLASSES, IMAGE_SIZE, normalized_xywh
from paddle_reg.tasks.pcb_depthwise import FastDepthwiseConv2D, depthwise_op
from paddle_reg.tasks.pcb_model import DOWNSAMPLE, LOSS_KEYS, build_detector, build_yolo
from paddle_reg.tasks.pcb_targets import YoloTargets

CROP = 160


def quick_model(build=build_detector, regime: str = "none"):
    """``build`` (the fast detector, or ppdet's stock YOLOv3) from the real quick config, at seed 0, in a process set
    up as a run's (``runtime.set_threads``)."""
    runtime.set_threads(1)
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=pcb", "profile=quick", f"regime={regime}"])
    run = OmegaConf.create(effective_run_config(cfg, seed=0))
    paddle.seed(0)
    model = build(run.model, OmegaConf.to_container(run.reg), 2, len(CLASSES), run.data.image_size / IMAGE_SIZE)
    model.train()
    return model


def reference_targets(targets: YoloTargets, gt_bbox, gt_class, gt_score) -> dict[str, np.ndarray]:
    """ppdet's Gt2YoloTarget, one sample at a time (what the step ran before the targets moved into the graph)."""
    from ppdet.data.transform.batch_operators import Gt2YoloTarget

    encode = Gt2YoloTarget(targets.anchors.tolist(), targets.masks, list(DOWNSAMPLE), num_classes=len(CLASSES))
    samples = encode([{"image": np.zeros((1, CROP, CROP), np.float32), "gt_bbox": b, "gt_class": c, "gt_score": s}
                      for b, c, s in zip(gt_bbox, gt_class, gt_score)])
    return {key: np.stack([s[key] for s in samples]) for key in ("target0", "target1", "target2")}


def random_boxes(rng, batch=6, width=16):
    """Padded boxes of 3–100 px on 160² crops (DeepPCB's 10–40 px at 320², and larger ones, so the coarse level's
    anchors get boxes too); each sample repeats its first box with another class, so two boxes share an anchor
    and cell."""
    gt_bbox, gt_class = np.zeros((batch, width, 4), np.float32), np.zeros((batch, width), np.int32)
    for i in range(batch):
        count = int(rng.integers(2, width))
        x1y1 = rng.uniform(0, CROP - 100, (count, 2))
        boxes = np.concatenate([x1y1, x1y1 + rng.uniform(3, 100, (count, 2))], 1)
        boxes[-1] = boxes[0]
        gt_bbox[i, :count] = normalized_xywh(boxes, CROP)
        gt_class[i, :count] = rng.integers(0, len(CLASSES), count)
        gt_class[i, count - 1] = (gt_class[i, 0] + 1) % len(CLASSES)
    return gt_bbox, gt_class


def test_target_assignment_matches_ppdets_gt2yolotarget():
    targets = quick_model().targets
    rng = np.random.default_rng(0)
    for _ in range(5):
        gt_bbox, gt_class = random_boxes(rng)
        gt_score = (gt_bbox[:, :, 2] > 0) * rng.choice([1.0, 0.7, 0.3], gt_class.shape).astype(np.float32)  # Mixup's
        fast = targets((CROP, CROP), *(paddle.to_tensor(a) for a in (gt_bbox, gt_class, gt_score)))
        for key, expected in reference_targets(targets, gt_bbox, gt_class, gt_score).items():
            assert (expected[:, :, 5] > 0).any(), key  # every level gets boxes
            np.testing.assert_allclose(fast[key].numpy(), expected, rtol=1e-6, atol=1e-6, err_msg=key)


def gradients(model) -> np.ndarray:
    grads = np.concatenate([p.grad.numpy().ravel() for p in model.parameters() if p.grad is not None])
    model.clear_gradients()
    return grads


def test_training_loss_and_gradients_match_ppdets_own_path():
    """ppdet's stock YOLOv3 (its convolutions, its YOLOv3Loss op by op) fed Gt2YoloTarget's targets, against the fast
    step of the same weights."""
    model, stock = quick_model(), quick_model(build_yolo)
    gt_bbox, gt_class = random_boxes(np.random.default_rng(1), batch=4)
    images = paddle.to_tensor(np.random.default_rng(2).uniform(0, 1, (4, 2, CROP, CROP)).astype(np.float32))
    expected_targets = reference_targets(model.targets, gt_bbox, gt_class, (gt_bbox[:, :, 2] > 0).astype(np.float32))
    out = stock({"image": images, "gt_bbox": paddle.to_tensor(gt_bbox),
                 **{key: paddle.to_tensor(value) for key, value in expected_targets.items()}})
    expected = paddle.stack([out[key] for key in LOSS_KEYS])
    expected[0].backward()
    losses = model({"image": images, "gt_bbox": paddle.to_tensor(gt_bbox), "gt_class": paddle.to_tensor(gt_class)})
    losses[0].backward()
    np.testing.assert_allclose(losses.numpy(), expected.numpy(), rtol=1e-5)
    grads, expected_grads = gradients(model), gradients(stock)
    assert np.linalg.norm(grads - expected_grads) <= 1e-4 * np.linalg.norm(expected_grads)


@pytest.mark.parametrize("regime", ["dropout", "dropblock"])
def test_static_step_draws_its_dropout_masks_from_the_paddle_seed(regime):
    """The trainer reseeds Paddle each epoch so that a resumed run draws the masks of one that never stopped (the
    static graph's executor must run its ops one at a time for that: ``runtime.set_threads``)."""
    model = quick_model(regime=regime)
    gt_bbox, gt_class = random_boxes(np.random.default_rng(3), batch=2)
    batch = {"image": paddle.rand([2, 2, CROP, CROP]), "gt_bbox": paddle.to_tensor(gt_bbox),
             "gt_class": paddle.to_tensor(gt_class)}
    runs = []
    for seed in (5, 5, 6):
        paddle.seed(seed)
        runs.append(model(batch).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


def require_kernel() -> None:
    """The kernel must build wherever Python's C compiler is installed; on a machine without one its tests skip."""
    if depthwise_op() is None:
        compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
        if shutil.which(compiler) is None:
            pytest.skip(f"no C/C++ compiler ({compiler}) to build the PCB depthwise kernel")
        pytest.fail(f"the PCB depthwise kernel did not build with {compiler} (see the warning above)")


@pytest.mark.parametrize("side, stride, kernel, pad", [(80, 1, 3, 1), (80, 2, 3, 1), (5, 1, 3, 1), (10, 2, 3, 1),
                                                    (9, 2, 3, 1), (9, 2, 3, 0), (12, 1, 3, 0), (20, 1, 5, 2), (5, 1, 5, 2)])
def test_fast_depthwise_kernel_matches_paddles_convolution(side, stride, kernel, pad):
    require_kernel()
    paddle.seed(0)
    conv = paddle.nn.Conv2D(12, 12, kernel, stride, pad, groups=12)
    x = paddle.rand([3, 12, side, side])
    x.stop_gradient = False
    expected = conv(x)
    (expected * expected).sum().backward()
    expected_grads = [t.grad.numpy() for t in (x, conv.weight, conv.bias)]
    x.clear_gradient()
    conv.clear_gradients()
    conv.__class__ = FastDepthwiseConv2D
    out = conv(x)
    (out * out).sum().backward()
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    for grad, want in zip((x.grad, conv.weight.grad, conv.bias.grad), expected_grads):
        np.testing.assert_allclose(grad.numpy(), want, rtol=1e-4, atol=1e-5)


def test_only_the_depthwise_convolutions_the_kernel_covers_move_to_it():
    require_kernel()
    covered = [paddle.nn.Conv2D(4, 4, 3, 1, 1, groups=4), paddle.nn.Conv2D(4, 4, 5, 2, 2, groups=4)]
    others = [paddle.nn.Conv2D(4, 4, 3, 3, 1, groups=4), paddle.nn.Conv2D(4, 8, 3, 1, 1),
              paddle.nn.Conv2D(4, 4, 3, 1, 2, dilation=2, groups=4), paddle.nn.Conv2D(4, 4, (3, 1), 1, 1, groups=4)]
    pcb_depthwise.use_fast_depthwise(paddle.nn.Sequential(*covered, *others))
    assert [type(layer) for layer in covered + others] == [FastDepthwiseConv2D] * 2 + [paddle.nn.Conv2D] * 4


def test_detector_runs_its_depthwise_layers_on_the_kernel_and_keeps_their_names():
    require_kernel()
    model, stock = quick_model(), quick_model(build_yolo)
    fast = [name for name, layer in model.named_sublayers() if isinstance(layer, FastDepthwiseConv2D)]
    assert len(fast) == 19 and not any(isinstance(layer, FastDepthwiseConv2D) for layer in stock.sublayers())
    assert list(model.yolo.state_dict()) == list(stock.state_dict())


def training_batch(rng_seed: int = 4):
    gt_bbox, gt_class = random_boxes(np.random.default_rng(rng_seed), batch=2)
    return {"image": paddle.rand([2, 2, CROP, CROP]), "gt_bbox": paddle.to_tensor(gt_bbox),
            "gt_class": paddle.to_tensor(gt_class)}


@pytest.fixture
def kernel_looked_up_afresh():
    """``depthwise_op`` caches its answer per process: cleared before the test and again after it."""
    pcb_depthwise.depthwise_op.cache_clear()
    yield
    pcb_depthwise.depthwise_op.cache_clear()


def fail_to_compile(**kwargs):
    raise RuntimeError("Failed to run command: c++: not found")


@pytest.mark.parametrize("cause", ["no compiler", "no writable cache"])
def test_without_the_kernel_the_step_runs_on_paddles_convolution_and_warns(cause, kernel_looked_up_afresh, monkeypatch,
                                                                           tmp_path, caplog):
    if cause == "no compiler":
        monkeypatch.setattr("paddle.utils.cpp_extension.load", fail_to_compile)
    else:
        (tmp_path / "a-file").write_text("")
        monkeypatch.setattr(pcb_depthwise, "build_folder", lambda source: tmp_path / "a-file" / "ops")
    with caplog.at_level(logging.WARNING, logger=pcb_depthwise.__name__):
        model = quick_model()
    assert pcb_depthwise.depthwise_op() is None
    assert not any(isinstance(layer, FastDepthwiseConv2D) for layer in model.sublayers())
    [warning] = [record.getMessage() for record in caplog.records if record.name == pcb_depthwise.__name__]
    assert "could not be built" in warning and "Paddle's own kernel" in warning
    assert ("c++: not found" in warning) if cause == "no compiler" else ("a-file" in warning)
    losses = model(training_batch())
    assert np.isfinite(losses.numpy()).all()

