"""YOLOv3 from paddledet components (backbone, FPN neck, YOLOv3 head and loss, box decoding and NMS), built from config."""
from __future__ import annotations

import numpy as np
import paddle
from omegaconf import DictConfig
from paddle import nn

from paddle_reg.errors import UserError
from paddle_reg.regularizers import mixing
from paddle_reg.tasks.pcb_depthwise import use_fast_depthwise
from paddle_reg.tasks.pcb_targets import YoloTargets

BACKBONES = ("mobilenet_v1", "mobilenet_v3", "darknet53")
NECKS = ("yolov3", "tiny")  # ppdet's YOLOv3FPN (512/256/128 channels) or PPYOLOTinyFPN (channels from config)
DOWNSAMPLE = (32, 16, 8)  # strides of the three YOLO outputs, coarsest first
LOSS_KEYS = ("loss", "loss_xy", "loss_wh", "loss_obj", "loss_cls")  # the stacked training output, in this order


def build_backbone(cfg: DictConfig) -> nn.Layer:
    from ppdet.modeling.backbones import DarkNet, MobileNet, MobileNetV3

    if cfg.backbone == "mobilenet_v1":
        return MobileNet(scale=cfg.width, feature_maps=[4, 6, 13])
    if cfg.backbone == "mobilenet_v3":
        return MobileNetV3(scale=cfg.width, model_name="large", feature_maps=[7, 13, 16])
    if cfg.backbone == "darknet53":
        return DarkNet(depth=53, return_idx=[2, 3, 4])
    raise UserError(f"model.backbone={cfg.backbone} is unknown: choose one of {', '.join(BACKBONES)}")


def build_neck(cfg: DictConfig, in_channels: list[int], dropblock) -> nn.Layer:
    """``dropblock``: None, or ``{p, block_size}`` for the DropBlock inside each detection block (tiny neck only)."""
    from ppdet.modeling.necks import PPYOLOTinyFPN, YOLOv3FPN

    if cfg.neck == "yolov3":
        if dropblock:
            raise UserError("reg.dropblock needs model.neck=tiny (ppdet's YOLOv3FPN has no DropBlock option)")
        return YOLOv3FPN(in_channels=in_channels)
    if cfg.neck == "tiny":
        block = {"drop_block": True, "block_size": dropblock["block_size"], "keep_prob": 1.0 - dropblock["p"]} \
            if dropblock else {}
        return PPYOLOTinyFPN(in_channels=in_channels, detection_block_channels=list(cfg.neck_channels), **block)
    raise UserError(f"model.neck={cfg.neck} is unknown: choose one of {', '.join(NECKS)}")


def replace_input_channels(layer: nn.Layer, channels: int) -> None:
    """Swap the first convolution for a fresh one reading ``channels`` input planes (ppdet's stems read RGB)."""
    for name, conv in layer.named_sublayers():
        if isinstance(conv, nn.Conv2D):
            parent = layer
            *path, attr = name.split(".")
            for part in path:
                parent = getattr(parent, part)
            setattr(parent, attr, nn.Conv2D(channels, conv._out_channels, conv._kernel_size, conv._stride,
                                            conv._padding, bias_attr=False if conv.bias is None else None))
            return
    raise ValueError(f"{type(layer).__name__} has no convolution")


def init_head_priors(head: nn.Layer, num_classes: int, object_prior: float = 0.01) -> None:
    """Output biases so that σ(objectness) = ``object_prior`` and σ(class) = 1/num_classes at the start
    (Lin et al. 2017, focal loss §4.1): with zero biases every background cell's objectness loss is log 2, and the
    gradient of that sum wrecks a network trained from scratch in its first steps."""
    logit = lambda p: float(np.log(p / (1 - p)))  # noqa: E731
    for conv in head.yolo_outputs:
        bias = conv.bias.numpy().reshape(-1, 5 + num_classes)
        bias[:, 4], bias[:, 5:] = logit(object_prior), logit(1 / num_classes)
        conv.bias.set_value(bias.reshape(-1))


class FeatureDropout(nn.Layer):
    """The neck, then Dropout(p) on each fused FPN output before the YOLO head (the article's placement)."""

    def __init__(self, neck: nn.Layer, p: float):
        super().__init__()
        self.neck, self.dropout = neck, nn.Dropout(p)

    def forward(self, feats, for_mot=False):
        return [self.dropout(feat) for feat in self.neck(feats)]

    @property
    def out_shape(self):
        return self.neck.out_shape

    def extra_repr(self) -> str:
        return f"p={self.dropout.p}"


def augmentation_rng() -> np.random.Generator:
    """A numpy Generator seeded from Paddle's RNG, so the draws follow the trainer's per-epoch ``paddle.seed``."""
    return np.random.default_rng(int(paddle.randint(0, 2**31 - 1, [1])))


def mixup(images: paddle.Tensor, gt: dict, alpha: float, rng: np.random.Generator) -> tuple[paddle.Tensor, dict]:
    """The suite's Mixup on the images (λ·x_i + (1 − λ)·x_π(i)); the boxes of both images kept, scored λ and 1 − λ."""
    mixed, share = mixing.mixup(images, paddle.arange(images.shape[0]), alpha, rng)
    perm, lam = share.b, share.lam
    gt = {"gt_bbox": paddle.concat([gt["gt_bbox"], gt["gt_bbox"][perm]], 1),
          "gt_class": paddle.concat([gt["gt_class"], gt["gt_class"][perm]], 1),
          "gt_score": paddle.concat([gt["gt_score"] * lam, gt["gt_score"][perm] * (1 - lam)], 1)}
    return mixed, gt


def ground_truth(inputs: dict) -> dict[str, paddle.Tensor]:
    """A batch's padded boxes and classes, each real box (width > 0) scored 1."""
    return {"gt_bbox": inputs["gt_bbox"], "gt_class": inputs["gt_class"],
            "gt_score": (inputs["gt_bbox"][:, :, 2] > 0).astype("float32")}


class PcbDetector(nn.Layer):
    """ppdet's YOLOv3 with its training-time input regularizers (Cutout, Mixup) and target encoding in front.

    Training takes ``{"image", "gt_bbox" [B, n, 4] normalized cx cy w h, "gt_class" [B, n]}`` (zero-padded) and
    returns the stacked losses ``LOSS_KEYS`` (one tensor); eval takes ``{"image", "im_shape", "scale_factor"}``, and
    optionally the same ``gt_bbox`` and ``gt_class``, and returns ``(bbox [M, 6]: class, score, x1, y1, x2, y2 in input
    pixels, bbox_num [B], loss)``: the mean loss per image on those boxes, from the same forward pass (None without).
    """

    def __init__(self, yolo: nn.Layer, targets: YoloTargets, cutout: int | None = None, mixup: float | None = None):
        super().__init__()
        self.yolo, self.targets, self.cutout, self.mixup = yolo, targets, cutout, mixup
        self.training_losses = paddle.jit.to_static(self._training_losses, full_graph=True)

    def forward(self, inputs: dict):
        if not self.training:
            return self.detect(inputs)
        images, gt = inputs["image"], ground_truth(inputs)
        if self.cutout or self.mixup:
            rng = augmentation_rng()
            if self.cutout:
                images = mixing.cutout(images, self.cutout, rng)
            if self.mixup:
                images, gt = mixup(images, gt, self.mixup, rng)
        return self.training_losses(images, gt["gt_bbox"], gt["gt_class"], gt["gt_score"])

    def _training_losses(self, images, gt_bbox, gt_class, gt_score):
        """Target assignment, network and loss as one static graph (no per-op Python dispatch)."""
        targets = self.targets(images.shape[2:], gt_bbox, gt_class, gt_score)
        out = self.yolo({"image": images, "gt_bbox": gt_bbox, **targets})
        return paddle.stack([out[key] for key in LOSS_KEYS])

    def detect(self, inputs: dict):
        """ppdet's YOLOv3 eval pass (backbone, neck, head, box decoding and NMS), with the head's loss on given boxes."""
        yolo = self.yolo
        outputs = yolo.yolo_head(yolo.neck(yolo.backbone(inputs)))
        bbox, bbox_num, _ = yolo.post_process(outputs, yolo.yolo_head.mask_anchors, inputs["im_shape"],
                                              inputs["scale_factor"])
        if "gt_bbox" not in inputs:
            return bbox, bbox_num, None
        gt = ground_truth(inputs)
        targets = {"gt_bbox": gt["gt_bbox"],
                   **self.targets(inputs["image"].shape[2:], gt["gt_bbox"], gt["gt_class"], gt["gt_score"])}
        losses = yolo.yolo_head.loss(outputs, targets, yolo.yolo_head.anchors)
        return bbox, bbox_num, losses["loss"]

    def extra_repr(self) -> str:
        return f"cutout={self.cutout}, mixup={self.mixup}"


def scaled_anchors(cfg: DictConfig, anchor_scale: float) -> list[list[int]]:
    return [[max(1, round(side * anchor_scale)) for side in anchor] for anchor in cfg.anchors]


def build_yolo(cfg: DictConfig, reg: dict, in_channels: int, num_classes: int, anchor_scale: float = 1.0) -> nn.Layer:
    """ppdet's YOLOv3 as ppdet's own modules run it, from the ``model`` section (backbone, width, neck,
    anchors × ``anchor_scale`` in input pixels, dropout.fpn, nms, pretrained) and the run's ``reg.dropblock``."""
    from ppdet.modeling.architectures import YOLOv3
    from ppdet.modeling.heads import YOLOv3Head
    from ppdet.modeling.layers import MultiClassNMS, YOLOBox
    from ppdet.modeling.losses import YOLOv3Loss
    from ppdet.modeling.post_process import BBoxPostProcess

    backbone = build_backbone(cfg)
    replace_input_channels(backbone, in_channels)
    neck = build_neck(cfg, [shape.channels for shape in backbone.out_shape], reg.get("dropblock"))
    if cfg.dropout.fpn > 0:
        neck = FeatureDropout(neck, cfg.dropout.fpn)
    head = YOLOv3Head(in_channels=[shape.channels for shape in neck.out_shape],
                      anchors=scaled_anchors(cfg, anchor_scale), anchor_masks=[list(m) for m in cfg.anchor_masks],
                      num_classes=num_classes,
                      loss=YOLOv3Loss(num_classes=num_classes, ignore_thresh=cfg.ignore_thresh, downsample=list(DOWNSAMPLE)))
    init_head_priors(head, num_classes)
    post = BBoxPostProcess(num_classes=num_classes,
                           decode=YOLOBox(num_classes=num_classes, conf_thresh=cfg.nms.conf_thresh,
                                          downsample_ratio=DOWNSAMPLE[0]),
                           nms=MultiClassNMS(score_threshold=cfg.nms.conf_thresh, nms_top_k=cfg.nms.top_k,
                                             keep_top_k=cfg.nms.keep_top_k, nms_threshold=cfg.nms.iou_thresh))
    yolo = YOLOv3(backbone=backbone, neck=neck, yolo_head=head, post_process=post)
    if cfg.pretrained:
        load_pretrained(yolo, cfg.pretrained)
    return yolo  # ppdet's ParamAttr regularizers (L2Decay(0) on many parameters) are cleared by build_optimizer


def build_detector(cfg: DictConfig, reg: dict, in_channels: int, num_classes: int,
                   anchor_scale: float = 1.0) -> PcbDetector:
    """``build_yolo``'s model with the fast depthwise kernel and the training-time regularizers; ``reg``: the run's
    extended regularizers, each None when off (dropblock, cutout, mixup)."""
    yolo = build_yolo(cfg, reg, in_channels, num_classes, anchor_scale)
    use_fast_depthwise(yolo)
    cutout_cfg, mixup_cfg = reg.get("cutout"), reg.get("mixup")
    targets = YoloTargets(scaled_anchors(cfg, anchor_scale), [list(m) for m in cfg.anchor_masks], DOWNSAMPLE,
                          num_classes)
    return PcbDetector(yolo, targets, cutout_cfg and cutout_cfg["size"], mixup_cfg and mixup_cfg["alpha"])


def load_pretrained(yolo: nn.Layer, weights: str) -> None:
    """ppdet's loader: a local ``.pdparams`` path or a URL; layers whose shapes differ (the input stem, the head) stay fresh."""
    from ppdet.utils.checkpoint import load_pretrain_weight

    try:
        load_pretrain_weight(yolo, weights)
    except (ValueError, OSError) as exc:
        raise UserError(f"model.pretrained={weights} cannot be loaded ({exc}): give a .pdparams path or URL, "
                        f"or null to train from scratch") from None
