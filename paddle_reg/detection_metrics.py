"""Detection metrics: VOC average precision (area under the all-point interpolated PR curve) and false positives.

A detection is a hit when its IoU with a not-yet-matched ground-truth box of its class exceeds the threshold;
detections are matched greedily in order of decreasing score, per image (the VOC protocol, no "difficult" boxes).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class ImageDetections:
    """Detections (``boxes [m, 4]`` x1 y1 x2 y2, ``scores [m]``, ``classes [m]``) and ground truth of one image."""

    boxes: np.ndarray
    scores: np.ndarray
    classes: np.ndarray
    gt_boxes: np.ndarray
    gt_classes: np.ndarray


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU[i, j] = |a_i ∩ b_j| / |a_i ∪ b_j| for x1 y1 x2 y2 boxes (continuous coordinates, no +1)."""
    wh = np.clip(np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2]), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    area = lambda boxes: (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-12)


def match_image(det: ImageDetections, iou_thresh: float) -> np.ndarray:
    """``hit[k]`` for each detection: IoU > ``iou_thresh`` with an unmatched same-class box, higher scores first."""
    hit = np.zeros(len(det.scores), bool)
    taken = np.zeros(len(det.gt_classes), bool)
    iou = iou_matrix(det.boxes, det.gt_boxes) if len(det.scores) and len(det.gt_classes) else None
    for k in np.argsort(-det.scores, kind="stable"):
        if iou is None:
            break
        candidates = np.where((det.gt_classes == det.classes[k]) & ~taken, iou[k], -1.0)
        best = int(np.argmax(candidates))
        if candidates[best] > iou_thresh:
            hit[k], taken[best] = True, True
    return hit


def average_precision(scores: np.ndarray, hits: np.ndarray, positives: int) -> float:
    """VOC2010+ AP: area under the precision-recall curve with precision made monotone (all points, not 11)."""
    if positives == 0:
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    tp = np.cumsum(hits[order])
    fp = np.cumsum(~hits[order])
    recall = np.concatenate([[0.0], tp / positives, [1.0]])
    precision = np.concatenate([[0.0], tp / np.maximum(tp + fp, 1e-12), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.flatnonzero(recall[1:] != recall[:-1])
    return float(np.sum((recall[steps + 1] - recall[steps]) * precision[steps + 1]))


def per_class_ap(images: list[ImageDetections], num_classes: int, iou_thresh: float) -> np.ndarray:
    """AP of each class over all images (NaN for a class without ground truth)."""
    hits = [match_image(det, iou_thresh) for det in images]
    scores = np.concatenate([det.scores for det in images]) if images else np.zeros(0)
    classes = np.concatenate([det.classes for det in images]) if images else np.zeros(0, int)
    all_hits = np.concatenate(hits) if images else np.zeros(0, bool)
    gt = np.concatenate([det.gt_classes for det in images]) if images else np.zeros(0, int)
    return np.array([average_precision(scores[classes == c], all_hits[classes == c], int((gt == c).sum()))
                     for c in range(num_classes)])


def false_positives_per_image(images: list[ImageDetections], score_thresh: float, iou_thresh: float) -> float:
    """Detections with score ≥ ``score_thresh`` that match no ground-truth box of their class, per image."""
    false = 0
    for det in images:
        keep = det.scores >= score_thresh
        kept = ImageDetections(det.boxes[keep], det.scores[keep], det.classes[keep], det.gt_boxes, det.gt_classes)
        false += int((~match_image(kept, iou_thresh)).sum())
    return false / max(len(images), 1)
