"""VOC-area AP, the DeepPCB IoU>0.33 hit rule and false positives per image, against hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from paddle_reg.detection_metrics import (ImageDetections, average_precision, false_positives_per_image,
                                          iou_matrix, match_image, per_class_ap)


def test_iou_of_known_boxes():
    a = np.array([[0, 0, 10, 10]], float)
    b = np.array([[5, 0, 15, 10], [0, 0, 10, 10], [20, 20, 30, 30]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[50 / 150, 1.0, 0.0]])


def two_box_image() -> ImageDetections:
    """Ground truth A and B (class 0); detections by score: A exactly, B shifted down 4 px, A's top 60 %."""
    gt = np.array([[0, 0, 10, 10], [100, 100, 110, 110]], float)
    dets = np.array([[0, 0, 10, 10],        # 0.9: IoU 1 with A
                     [100, 104, 110, 114],  # 0.8: |∩| 60, |∪| 140, IoU 3/7 ≈ 0.43 with B
                     [0, 0, 10, 6]],        # 0.7: IoU 0.6 with A, which the first detection already took
                    float)
    return ImageDetections(dets, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 0]), gt, np.array([0, 0]))


def test_matching_at_05_and_033():
    image = two_box_image()
    assert match_image(image, 0.5).tolist() == [True, False, False]  # B's detection has IoU 0.43 < 0.5
    assert match_image(image, 0.33).tolist() == [True, True, False]  # DeepPCB's rule counts it; A is taken once


def test_ap_by_hand():
    image = two_box_image()
    # IoU 0.5: hits by score [1, 0, 0], 2 positives → recall reaches 0.5 at precision 1 → AP 0.5
    assert per_class_ap([image], 1, 0.5)[0] == pytest.approx(0.5)
    # IoU 0.33: hits [1, 1, 0] → recall 0.5 and 1.0 at precision 1 → AP 1.0
    assert per_class_ap([image], 1, 0.33)[0] == pytest.approx(1.0)


def test_ap_uses_all_points_not_eleven():
    # hits [1, 0, 1] of 2 positives: precision 1 up to recall 0.5, then 2/3 up to recall 1 → 0.5 + 0.5·2/3
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2) == pytest.approx(5 / 6)
    assert np.isnan(average_precision(np.zeros(0), np.zeros(0, bool), 0))


def test_wrong_class_is_a_miss_and_absent_class_is_nan():
    image = two_box_image()
    image.classes = np.array([1, 0, 0])  # the perfect box now claims class 1
    ap = per_class_ap([image], 3, 0.5)
    # class 0 keeps [0.8: IoU 0.43 miss, 0.7: IoU 0.6 hit on A] → precision 1/2 at recall 1/2 → AP 0.25
    assert ap[0] == pytest.approx(0.25) and np.isnan(ap[1]) and np.isnan(ap[2])  # no class-1/2 ground truth


def test_false_positives_per_image_at_a_score_threshold():
    image = two_box_image()
    empty = ImageDetections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, int), image.gt_boxes, image.gt_classes)
    assert false_positives_per_image([image, empty], score_thresh=0.75, iou_thresh=0.5) == pytest.approx(0.5)
    assert false_positives_per_image([image, empty], score_thresh=0.0, iou_thresh=0.5) == pytest.approx(1.0)
    assert false_positives_per_image([image], score_thresh=0.0, iou_thresh=0.33) == pytest.approx(1.0)
