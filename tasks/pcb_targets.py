"""YOLOv3 training targets for a padded batch in Paddle ops: ppdet's Gt2YoloTarget (iou_thresh 1) without its
per-sample, per-box Python loops, so the assignment runs inside the training graph."""
from __future__ import annotations

import numpy as np
import paddle


class YoloTargets:
    """Normalized cx cy w h boxes ``[B, n, 4]``, classes ``[B, n]`` and scores ``[B, n]`` → one target per output
    level, ``target0``, ``target1``, … ``[B, len(mask), 6 + num_classes, grid_h, grid_w]``: tx ty tw th,
    scale 2 − w·h, score, class one-hots.

    As in ppdet, a box with w, h or score ≤ 0 is skipped; each box goes to its best anchor by IoU of the boxes
    aligned at the origin (computed in float64, as ppdet does, so near ties fall the same way); when several boxes
    land on one anchor and cell, the last one's tx … score win and every one of their classes stays marked.
    """

    def __init__(self, anchors, anchor_masks, downsample, num_classes: int):
        self.anchors, self.masks, self.downsample = np.array(anchors), anchor_masks, downsample
        self.num_classes = num_classes
        self.level = np.full(len(anchors), -1)  # output level of each anchor (-1: in no mask)
        self.slot = np.zeros(len(anchors), np.int64)  # its index within that level's mask
        for level, mask in enumerate(anchor_masks):
            self.level[mask], self.slot[mask] = level, np.arange(len(mask))

    def __call__(self, image_hw, gt_bbox, gt_class, gt_score) -> dict[str, paddle.Tensor]:
        h, w = image_hw
        _, _, gw, gh = paddle.unbind(gt_bbox, 2)
        valid = (gw > 0) & (gh > 0) & (gt_score > 0)
        best = self._best_anchor(gw, gh, w, h)
        level, slot = paddle.to_tensor(self.level)[best], paddle.to_tensor(self.slot)[best]
        anchor_px = paddle.to_tensor(self.anchors.astype(np.float32))[best]  # [B, n, 2]
        tw, th = paddle.log(gw * w / anchor_px[:, :, 0]), paddle.log(gh * h / anchor_px[:, :, 1])
        classes = paddle.nn.functional.one_hot(gt_class.astype("int64"), self.num_classes)
        return {f"target{i}": self._level_target(i, (h, w), gt_bbox, gt_score, valid & (level == i), slot, tw, th,
                                                 classes) for i in range(len(self.masks))}

    def _level_target(self, i: int, image_hw, gt_bbox, gt_score, here, slot, tw, th, classes) -> paddle.Tensor:
        """Level ``i``'s target from the boxes ``here`` matched to one of its anchors (``slot`` within its mask)."""
        (h, w), cells = image_hw, len(self.masks[i])
        grid_h, grid_w = int(h / self.downsample[i]), int(w / self.downsample[i])
        gx, gy, gw, gh = paddle.unbind(gt_bbox, 2)
        gi, gj = (gx * grid_w).floor(), (gy * grid_h).floor()
        cell = slot * (grid_h * grid_w) + (gj.astype("int64").clip(0, grid_h - 1) * grid_w
                                            + gi.astype("int64").clip(0, grid_w - 1))
        same = (cell.unsqueeze(2) == cell.unsqueeze(1)) & here.unsqueeze(2) & here.unsqueeze(1)  # [B, n, n]
        later = paddle.triu(paddle.ones([gt_bbox.shape[1]] * 2), diagonal=1).astype("bool")  # [i, j]: j after i
        winner = here & ~(same & later).any(2)
        marked = (paddle.matmul(same.astype("float32"), classes) > 0).astype("float32")
        rows = paddle.concat([paddle.stack([gx * grid_w - gi, gy * grid_h - gj, tw, th, 2.0 - gw * gh, gt_score], 2),
                              marked], 2)
        rows = paddle.where(winner.unsqueeze(2), rows, paddle.zeros_like(rows))  # skipped boxes' log(0) dropped
        place = paddle.nn.functional.one_hot(cell, cells * grid_h * grid_w) * winner.unsqueeze(2).astype("float32")
        target = paddle.matmul(place, rows, transpose_x=True)  # [B, cells, 6 + classes], one box per cell at most
        return target.reshape([-1, cells, grid_h, grid_w, 6 + self.num_classes]).transpose([0, 1, 4, 2, 3])

    def _best_anchor(self, gw, gh, w: int, h: int) -> paddle.Tensor:
        anchor_wh = paddle.to_tensor(self.anchors / np.array([w, h]))  # float64, as ppdet's
        aw, ah = anchor_wh[:, 0], anchor_wh[:, 1]
        bw, bh = gw.astype("float64").unsqueeze(2), gh.astype("float64").unsqueeze(2)
        inter = paddle.minimum(bw, aw) * paddle.minimum(bh, ah)
        return (inter / (bw * bh + aw * ah - inter)).argmax(2)
