"""DeepPCB defect detection: YOLOv3 (paddledet components) on the tested image alone or stacked with its template."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import paddle
from omegaconf import DictConfig, OmegaConf

from paddle_reg.checks import positive, positive_ints
from paddle_reg.classification import stratified_subset
from paddle_reg.detection_metrics import ImageDetections, false_positives_per_image, per_class_ap
from paddle_reg.errors import UserError
from paddle_reg.runtime import train_subset_seed
from paddle_reg.task_api import Evaluation, ReportMetric, Task
from paddle_reg.tasks.pcb_data import (CLASSES, IMAGE_SIZE, INPUT_MODES, PcbSplit, board_groups, crop_around_defect,
                                       load_split, normalized_xywh, random_flip, to_float)
from paddle_reg.tasks.pcb_model import BACKBONES, LOSS_KEYS, NECKS, build_detector

EVAL_BATCH_SIZE = 8


@dataclass
class TrainSplit:
    """Training images and how a batch is drawn from them: one sample per image and epoch."""

    split: PcbSplit
    crop: int | None  # side of the random window around a defect; None: the whole image
    flip: bool
    max_boxes: int  # boxes per sample after zero-padding

    def __len__(self) -> int:
        return len(self.split)


@dataclass
class PcbData:
    train: TrainSplit
    train_eval: PcbSplit  # fixed training images the final train metrics are measured on
    val: PcbSplit
    test: PcbSplit
    fp_score: float  # score threshold of fp_per_image
    fp_iou: float  # IoU a detection needs to not count as a false positive


def padded(rows: list[np.ndarray], width: int, dtype) -> np.ndarray:
    """Stack per-sample arrays of varying length into ``[B, width, ...]``, zero-padded (longer ones cut)."""
    out = np.zeros((len(rows), width, *rows[0].shape[1:]), dtype)
    for i, row in enumerate(rows):
        out[i, : min(len(row), width)] = row[:width]
    return out


def sample(train: TrainSplit, index: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    split = train.split
    image, boxes, classes = split.images[index], split.boxes[index], split.classes[index]
    if train.crop is not None:
        image, boxes, classes = crop_around_defect(image, boxes, classes, train.crop, rng)
    if train.flip:
        image, boxes = random_flip(image, boxes, rng)
    return image, boxes, classes


def predictions(model, split: PcbSplit) -> tuple[list[ImageDetections], float]:
    """Detections of ``model`` (eval mode) on every image of ``split``, in input pixels, and its mean loss per image."""
    out, loss_sum = [], 0.0
    for start in range(0, len(split), EVAL_BATCH_SIZE):
        images = split.images[start : start + EVAL_BATCH_SIZE]
        boxes, classes = split.boxes[start : start + EVAL_BATCH_SIZE], split.classes[start : start + EVAL_BATCH_SIZE]
        count, size = len(images), images.shape[-1]
        width = max(1, max(len(b) for b in boxes))
        bbox, bbox_num, loss = model({"image": paddle.to_tensor(to_float(images)),
                                      "im_shape": paddle.full([count, 2], size, "float32"),
                                      "scale_factor": paddle.ones([count, 2], "float32"),
                                      "gt_bbox": paddle.to_tensor(padded([normalized_xywh(b, size) for b in boxes],
                                                                         width, np.float32)),
                                      "gt_class": paddle.to_tensor(padded(list(classes), width, np.int32))})
        loss_sum += float(loss) * count
        bbox, bbox_num = bbox.numpy(), bbox_num.numpy()
        offsets = np.concatenate([[0], np.cumsum(bbox_num)])
        for i in range(count):
            rows = bbox[offsets[i] : offsets[i + 1]]
            out.append(ImageDetections(rows[:, 2:6], rows[:, 1], rows[:, 0].astype(int), boxes[i], classes[i]))
    return out, loss_sum / len(split)


class PcbTask(Task):
    name = "pcb"
    # the model applies all but weight decay: dropblock in the neck, cutout and mixup (boxes move with the image)
    regularizers = ("dropout", "weight_decay", "dropblock", "cutout", "mixup")
    metrics = ("map50", "map33", "fp_per_image", "loss")
    monitor = "map50"
    monitor_mode = "max"
    report_metrics = (
        ReportMetric("test_map50", "test_map50", "test mAP@0.5 (VOC area)", "%", 100, better="higher"),
        ReportMetric("test_map33", "test_map33", "test mAP@IoU>0.33 (DeepPCB)", "%", 100, better="higher"),
        ReportMetric("test_fp_per_image", "test_fp_per_image", "false positives / image", "", 1.0, better="lower"),
        ReportMetric("train_map50", "gap", "gap (train − test mAP@0.5)", "pp", 100, minus="test_map50"),
        ReportMetric("best_epoch", "best_epoch", "best epoch", better="lower"),
    )

    def check(self, cfg: DictConfig) -> None:
        d, m = cfg.data, cfg.model
        if d.input not in INPUT_MODES:
            raise UserError(f"data.input={d.input} is unknown: choose one of {', '.join(INPUT_MODES)}")
        if d.train_crop is not None and not 32 <= d.train_crop <= d.image_size:
            raise UserError(f"data.train_crop={d.train_crop} must be null or between 32 and data.image_size="
                            f"{d.image_size}: set e.g. data.train_crop=160")
        if d.image_size % 32:
            raise UserError(f"data.image_size={d.image_size} must be a multiple of 32 (the coarsest YOLO stride)")
        for field, value, choices in (("model.backbone", m.backbone, BACKBONES), ("model.neck", m.neck, NECKS)):
            if value not in choices:
                raise UserError(f"{field}={value} is unknown: choose one of {', '.join(choices)}")
        positive("model.width", m.width, 0.25)
        positive_ints("model.neck_channels", m.neck_channels, "[64,48,32]")
        if (cfg.get("reg") or {}).get("dropblock") and m.neck != "tiny":
            raise UserError("reg.dropblock needs model.neck=tiny (ppdet's YOLOv3FPN has no DropBlock option)")

    def load_data(self, cfg: DictConfig, root: Path) -> PcbData:
        d = cfg.data
        trainval = load_split(root, "trainval", d.input, d.image_size)
        if d.val_size >= len(trainval):
            raise UserError(f"data.val_size={d.val_size} leaves no training images ({len(trainval)}): lower it")
        order = np.random.default_rng(d.split_seed).permutation(len(trainval))
        val, rest = np.sort(order[: d.val_size]), np.sort(order[d.val_size :])
        if d.train_size is not None and d.get("resample_with_seed"):
            rest = rest[stratified_subset(board_groups([trainval.names[i] for i in rest]), d.train_size,
                                          train_subset_seed(cfg))]
        elif d.train_size is not None:
            rest = rest[: d.train_size]  # the first in list order: whole boards, the same for every run
        train = trainval.subset(rest)
        test = load_split(root, "test", d.input, d.image_size, d.test_size)
        return PcbData(TrainSplit(train, d.train_crop, d.flip, d.max_boxes),
                       train.subset(range(min(d.train_eval_size, len(train)))), trainval.subset(val), test,
                       d.fp_score, d.fp_iou)

    def build_model(self, cfg: DictConfig, data: PcbData):
        reg = OmegaConf.to_container(cfg.reg, resolve=True) if cfg.get("reg") else {}
        images = data.train.split.images  # [N, channels, side, side]
        return build_detector(cfg.model, reg, images.shape[1], len(CLASSES), images.shape[-1] / IMAGE_SIZE)

    def train_batches(self, train: TrainSplit, batch_size: int, rng: np.random.Generator):
        order = rng.permutation(len(train))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            images, boxes, classes = zip(*(sample(train, int(i), rng) for i in order[start : start + batch_size]))
            size = images[0].shape[-1]
            gt_class = paddle.to_tensor(padded(list(classes), train.max_boxes, np.int32))
            yield ({"image": paddle.to_tensor(to_float(np.stack(images))), "gt_class": gt_class,
                    "gt_bbox": paddle.to_tensor(padded([normalized_xywh(b, size) for b in boxes], train.max_boxes,
                                                       np.float32))}, gt_class)

    def loss(self, losses, labels):
        return losses[0]

    def batch_stats(self, losses, labels):
        return {key: value * len(labels) for key, value in zip(LOSS_KEYS[1:], losses[1:])}

    def epoch_metrics(self, sums, count):
        return {key: value / count for key, value in sums.items()}

    @paddle.no_grad()
    def evaluate(self, model, data: PcbData, split: str) -> Evaluation:
        was_training = model.training
        model.eval()
        found, loss = predictions(model, data.train_eval if split == "train" else getattr(data, split))
        if was_training:
            model.train()
        ap50, ap33 = per_class_ap(found, len(CLASSES), 0.5), per_class_ap(found, len(CLASSES), 0.33)
        as_list = lambda ap: [None if np.isnan(v) else round(float(v), 4) for v in ap]  # noqa: E731  (None: no boxes)
        return Evaluation({"map50": float(np.nanmean(ap50)), "map33": float(np.nanmean(ap33)),
                           "fp_per_image": false_positives_per_image(found, data.fp_score, data.fp_iou), "loss": loss},
                          {"per_class_ap": {"labels": list(CLASSES), "ap50": as_list(ap50), "ap33": as_list(ap33)}})


TASK = PcbTask()
