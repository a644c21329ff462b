"""YOLO anchors for DeepPCB: IoU k-means of the trainval boxes' sizes, all on the finest output level.

DeepPCB's boxes are alike in size (20–80 px at 640², median ≈ 35): nine k-means anchors split them between the
three output levels by aspect ratio alone, so every level sees a third of the defects and learns the other two
thirds as background. Here the finest level (stride 8) holds ``k`` = 3 k-means anchors and the coarser levels
(strides 16, 32) the same anchors × 2 and × 4, which only the largest boxes match.

    python -m paddle_reg.tasks.pcb_anchors    # prints model.anchors for configs/task/pcb.yaml (PADDLE_REG_DATA)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

LEVEL_SCALES = (1, 2, 4)  # anchor size per output level relative to the finest (strides 8, 16, 32)


def iou_wh(sizes: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """IoU of boxes ``[n, 2]`` (w, h) with anchors ``[k, 2]``, both aligned at one corner: ``[n, k]``."""
    inter = np.minimum(sizes[:, None, 0], anchors[None, :, 0]) * np.minimum(sizes[:, None, 1], anchors[None, :, 1])
    return inter / (sizes[:, None].prod(2) + anchors[None].prod(2) - inter)


def kmeans_anchors(sizes: np.ndarray, k: int, seed: int = 0, iterations: int = 300) -> np.ndarray:
    """k-means of box sizes with distance 1 − IoU and median centres (Redmon & Farhadi 2017), by area ascending."""
    rng = np.random.default_rng(seed)
    centres = sizes[rng.choice(len(sizes), k, replace=False)].astype(float)
    for _ in range(iterations):
        nearest = iou_wh(sizes, centres).argmax(1)
        moved = np.array([np.median(sizes[nearest == j], 0) if (nearest == j).any() else centres[j] for j in range(k)])
        if np.array_equal(moved, centres):
            break
        centres = moved
    return centres[np.argsort(centres.prod(1))]


def level_anchors(finest: np.ndarray) -> list[list[int]]:
    """The config's ``model.anchors``: the finest level's anchors, then × 2 and × 4 (``anchor_masks`` [[6, 7, 8],
    [3, 4, 5], [0, 1, 2]] puts them on strides 32, 16 and 8)."""
    return [[int(round(side * scale)) for side in anchor] for scale in LEVEL_SCALES for anchor in finest]


def trainval_sizes(root: Path) -> np.ndarray:
    """Width and height of every box in DeepPCB's trainval list, in 640² image pixels."""
    from paddle_reg.tasks.pcb_data import FOLDER, LISTS, parse_annotation, read_list

    folder = root / FOLDER
    boxes = [parse_annotation(folder / annotation)[0] for _, annotation in read_list(folder / LISTS["trainval"])]
    every = np.concatenate(boxes)
    return every[:, 2:] - every[:, :2]


def main() -> None:
    from paddle_reg.datasource import data_root

    sizes = trainval_sizes(data_root(None))
    finest = kmeans_anchors(sizes, 3)
    print(f"model.anchors: {level_anchors(finest)}  # mean best IoU {iou_wh(sizes, finest).max(1).mean():.3f}")


if __name__ == "__main__":
    main()
