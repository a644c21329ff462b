"""The fast PCB training step (targets assigned in the graph, one static graph) against ppdet's own path: the quick
model from the real config, ppdet's Gt2YoloTarget in numpy and ppdet's YOLOv3 loss run op by op."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from hydra import compose, initialize_config_module
from omegaconf import OmegaConf

from paddle_reg.grid import effective_run_config
from paddle_reg.tasks.pcb_data import CLASSES, IMAGE_SIZE, normalized_xywh
from paddle_reg.tasks.pcb_model import DOWNSAMPLE, LOSS_KEYS, build_detector
from paddle_reg.tasks.pcb_targets import YoloTargets

CROP = 160


def quick_detector(regime: str = "none"):
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=["task=pcb", "profile=quick", f"regime={regime}"])
    run = OmegaConf.create(effective_run_config(cfg, seed=0))
    paddle.seed(0)
    model = build_detector(run.model, OmegaConf.to_container(run.reg), 2, len(CLASSES),
                           run.data.image_size / IMAGE_SIZE)
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
    """Padded boxes of DeepPCB-like sizes (3–60 px) on 160² crops; each sample repeats its first box with
    another class, so two boxes share an anchor and cell."""
    gt_bbox, gt_class = np.zeros((batch, width, 4), np.float32), np.zeros((batch, width), np.int32)
    for i in range(batch):
        count = int(rng.integers(2, width))
        x1y1 = rng.uniform(0, CROP - 60, (count, 2))
        boxes = np.concatenate([x1y1, x1y1 + rng.uniform(3, 60, (count, 2))], 1)
        boxes[-1] = boxes[0]
        gt_bbox[i, :count] = normalized_xywh(boxes, CROP)
        gt_class[i, :count] = rng.integers(0, len(CLASSES), count)
        gt_class[i, count - 1] = (gt_class[i, 0] + 1) % len(CLASSES)
    return gt_bbox, gt_class


def test_target_assignment_matches_ppdets_gt2yolotarget():
    targets = quick_detector().targets
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


def test_training_loss_and_gradients_match_ppdets_op_by_op_path():
    model = quick_detector()
    gt_bbox, gt_class = random_boxes(np.random.default_rng(1), batch=4)
    images = paddle.to_tensor(np.random.default_rng(2).uniform(0, 1, (4, 2, CROP, CROP)).astype(np.float32))
    expected_targets = reference_targets(model.targets, gt_bbox, gt_class, (gt_bbox[:, :, 2] > 0).astype(np.float32))
    out = model.yolo({"image": images, "gt_bbox": paddle.to_tensor(gt_bbox),
                      **{key: paddle.to_tensor(value) for key, value in expected_targets.items()}})
    expected = paddle.stack([out[key] for key in LOSS_KEYS])
    expected[0].backward()
    expected_grads = gradients(model)
    losses = model({"image": images, "gt_bbox": paddle.to_tensor(gt_bbox), "gt_class": paddle.to_tensor(gt_class)})
    losses[0].backward()
    np.testing.assert_allclose(losses.numpy(), expected.numpy(), rtol=1e-5)
    grads = gradients(model)
    assert np.linalg.norm(grads - expected_grads) <= 1e-4 * np.linalg.norm(expected_grads)


@pytest.mark.parametrize("regime", ["dropout", "dropblock"])
def test_static_step_draws_its_dropout_masks_from_the_paddle_seed(regime):
    """The trainer reseeds Paddle each epoch so that a resumed run draws the masks of one that never stopped."""
    model = quick_detector(regime)
    gt_bbox, gt_class = random_boxes(np.random.default_rng(3), batch=2)
    batch = {"image": paddle.rand([2, 2, CROP, CROP]), "gt_bbox": paddle.to_tensor(gt_bbox),
             "gt_class": paddle.to_tensor(gt_class)}
    runs = []
    for seed in (5, 5, 6):
        paddle.seed(seed)
        runs.append(model(batch).numpy())
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])
