"""The YOLOv3 detector (paddledet components) on tiny generated images: train/eval outputs and regularizer placement."""
from __future__ import annotations

import numpy as np
import paddle
import pytest
from omegaconf import OmegaConf

from paddle_reg.tasks.pcb_model import LOSS_KEYS, FeatureDropout, augmentation_rng, build_detector, mixup

MODEL = {"backbone": "mobilenet_v1", "width": 0.25, "neck": "tiny", "neck_channels": [16, 16, 16],
         "anchors": [[8, 8], [10, 12], [12, 10], [14, 14], [16, 18], [18, 16], [20, 20], [24, 22], [28, 28]],
         "anchor_masks": [[6, 7, 8], [3, 4, 5], [0, 1, 2]], "ignore_thresh": 0.7, "pretrained": None,
         "dropout": {"fpn": 0.3}, "nms": {"conf_thresh": 0.01, "iou_thresh": 0.45, "top_k": 100, "keep_top_k": 20}}


def detector(channels=1, reg=None, **model):
    paddle.seed(0)
    return build_detector(OmegaConf.create({**MODEL, **model}), reg or {}, channels, 6)


def train_batch(channels=1, size=64):
    gt_bbox = np.zeros((2, 4, 4), np.float32)
    gt_bbox[0, :2] = [[0.3, 0.3, 0.25, 0.2], [0.7, 0.6, 0.2, 0.3]]
    gt_bbox[1, :1] = [[0.5, 0.5, 0.3, 0.3]]
    gt_class = np.array([[1, 4, 0, 0], [5, 0, 0, 0]], np.int32)
    return {"image": paddle.rand([2, channels, size, size]), "gt_bbox": paddle.to_tensor(gt_bbox),
            "gt_class": paddle.to_tensor(gt_class)}


@pytest.mark.parametrize("channels", [1, 2])
def test_training_returns_finite_stacked_losses_and_gradients_reach_the_stem(channels):
    model = detector(channels)
    model.train()
    losses = model(train_batch(channels))
    assert losses.shape == [len(LOSS_KEYS)] and np.isfinite(losses.numpy()).all()
    np.testing.assert_allclose(float(losses[0]), float(losses[1:].sum()), rtol=1e-5)  # loss = xy + wh + obj + cls
    losses[0].backward()
    stem = next(p for name, p in model.named_parameters() if p.ndim == 4)
    assert stem.shape[1] == channels and float(stem.grad.abs().sum()) > 0


def eval_batch(count=3, size=64):
    return {"image": paddle.rand([count, 1, size, size]), "im_shape": paddle.full([count, 2], float(size)),
            "scale_factor": paddle.ones([count, 2])}


def test_eval_returns_boxes_in_input_pixels_per_image():
    model = detector()
    model.eval()
    bbox, bbox_num, loss = model(eval_batch())
    assert bbox_num.shape == [3] and bbox.shape[1] == 6 and bbox.shape[0] == int(bbox_num.sum()) and loss is None
    boxes = bbox.numpy()
    assert ((boxes[:, 2:] >= 0) & (boxes[:, 2:] <= 64)).all() and set(boxes[:, 0].astype(int)) <= set(range(6))


def test_eval_with_boxes_gives_ppdets_detections_and_its_head_loss_on_the_same_pass():
    model = detector()
    model.eval()
    batch = {**eval_batch(2), **{k: v for k, v in train_batch().items() if k != "image"}}
    bbox, bbox_num, loss = model(batch)
    reference = model.yolo({k: batch[k] for k in ("image", "im_shape", "scale_factor")})
    np.testing.assert_allclose(bbox.numpy(), reference["bbox"].numpy(), rtol=1e-5)
    np.testing.assert_array_equal(bbox_num.numpy(), reference["bbox_num"].numpy())
    feats = model.yolo.neck(model.yolo.backbone(batch))
    gt = {"gt_bbox": batch["gt_bbox"], "gt_class": batch["gt_class"],
          "gt_score": (batch["gt_bbox"][:, :, 2] > 0).astype("float32")}
    model.yolo.yolo_head.train()  # the head's training branch: its loss on the same eval-mode features
    targets = model.targets(batch["image"].shape[2:], gt["gt_bbox"], gt["gt_class"], gt["gt_score"])
    expected = model.yolo.yolo_head(feats, {"gt_bbox": batch["gt_bbox"], **targets})
    assert np.isfinite(float(loss)) and float(loss) == pytest.approx(float(expected["loss"]), rel=1e-5)


def test_fpn_dropout_sits_between_neck_and_head_and_is_off_in_eval():
    model = detector()
    assert isinstance(model.yolo.neck, FeatureDropout) and model.yolo.neck.dropout.p == 0.3
    assert not isinstance(detector(dropout={"fpn": 0.0}).yolo.neck, FeatureDropout)
    feats = model.yolo.backbone({"image": paddle.rand([1, 1, 64, 64])})
    model.eval()
    a, b = model.yolo.neck(feats), model.yolo.neck(feats)
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a, b))
    model.train()
    dropped = model.yolo.neck(feats)[0].numpy()
    assert 0.15 < (dropped == 0).mean() - (a[0].numpy() == 0).mean() < 0.45


def test_head_starts_at_the_object_and_class_priors():
    model = detector()
    model.eval()
    for conv in model.yolo.yolo_head.yolo_outputs:
        probs = 1 / (1 + np.exp(-conv.bias.numpy().reshape(3, 11)))
        np.testing.assert_allclose(probs[:, 4], 0.01, rtol=1e-5)
        np.testing.assert_allclose(probs[:, 5:], 1 / 6, rtol=1e-5)


@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
def test_no_parameter_keeps_a_ppdet_regularizer_once_the_optimizer_is_built(name):
    """A parameter's own regularizer overrides the optimizer's: ppdet's L2Decay(0) would silently cancel decay.
    build_optimizer, for every optimizer, is the one place that clears them."""
    from paddle_reg.optim import build_optimizer

    model = detector()
    assert any(p.regularizer is not None for p in model.parameters())  # ppdet's ParamAttr L2Decay
    _, _, table = build_optimizer(model, OmegaConf.create({"name": name, "weight_decay": 1e-4}), 1, 1)
    for group in table.groups:  # none, or its group's coupled L2 (Paddle's SGD and Adam put that one there)
        allowed = {None, group.weight_decay if name != "adamw" and group.weight_decay > 0 else None}
        assert {None if p.regularizer is None else p.regularizer._coeff for p in group.params} <= allowed, group.name


def test_dropblock_goes_into_the_tiny_neck():
    model = detector(reg={"dropblock": {"p": 0.1, "block_size": 3}})
    blocks = [layer for layer in model.sublayers() if type(layer).__name__ == "DropBlock"]
    assert blocks and all(abs(b.keep_prob - 0.9) < 1e-9 and b.block_size == 3 for b in blocks)
    assert not [layer for layer in detector().sublayers() if type(layer).__name__ == "DropBlock"]


def test_mixup_blends_images_and_keeps_both_images_boxes_with_weights():
    batch = train_batch()
    gt = {"gt_bbox": batch["gt_bbox"], "gt_class": batch["gt_class"],
          "gt_score": (batch["gt_bbox"][:, :, 2] > 0).astype("float32")}
    mixed, out = mixup(batch["image"], gt, alpha=1.5, rng=np.random.default_rng(2))
    assert mixed.shape == batch["image"].shape and out["gt_bbox"].shape == [2, 8, 4]
    scores = out["gt_score"].numpy()
    lam = scores[0, 0]
    assert 0 < lam < 1 and np.allclose(scores[:, :4][scores[:, :4] > 0], lam)
    assert np.allclose(scores[:, 4:][scores[:, 4:] > 0], 1 - lam)


def test_cutout_and_mixup_train_end_to_end():
    model = detector(reg={"cutout": {"size": 16}, "mixup": {"alpha": 1.5}})
    model.train()
    assert np.isfinite(model(train_batch()).numpy()).all()
    assert "cutout=16, mixup=1.5" in repr(model)


def test_augmentation_draws_follow_the_paddle_seed():
    draws = []
    for _ in range(2):
        paddle.seed(7)
        draws.append(augmentation_rng().random(3))
    np.testing.assert_array_equal(*draws)
