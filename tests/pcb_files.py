"""Tiny DeepPCB-format trees: 640×640 JPEG pairs (1- and 3-channel), annotation files and split lists."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

SIZE = 640


def defect_image(boxes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A binarized 'board': white traces, with each defect box drawn as a black blob."""
    image = np.zeros((SIZE, SIZE), np.uint8)
    for row in range(20, SIZE, 80):
        image[row : row + 30] = 255
    for x1, y1, x2, y2 in boxes.astype(int):
        image[y1:y2, x1:x2] = 255 - image[y1:y2, x1:x2]
    return image


def write_pair(folder: Path, group: str, name: str, boxes: np.ndarray, classes: np.ndarray, rgb: bool,
               rng: np.random.Generator) -> str:
    images, notes = folder / group / group, folder / group / f"{group}_not"
    images.mkdir(parents=True, exist_ok=True)
    notes.mkdir(parents=True, exist_ok=True)
    tested = defect_image(boxes, rng)
    template = defect_image(np.zeros((0, 4)), rng)
    for suffix, image in (("_test", tested), ("_temp", template)):
        cv2.imwrite(str(images / f"{name}{suffix}.jpg"), cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if rgb else image)
    lines = [f"{x1} {y1} {x2} {y2} {c + 1}" for (x1, y1, x2, y2), c in zip(boxes.astype(int).tolist(), classes)]
    (notes / f"{name}.txt").write_text("\n".join(lines) + "\n")
    return f"{group}/{group}/{name}.jpg {group}/{group}_not/{name}.txt"


def make_pcb_root(root: Path, trainval: int = 12, test: int = 4, seed: int = 0, groups: int = 1) -> Path:
    """``root/deeppcb/PCBData`` with ``trainval`` + ``test`` pairs, pair i in board group ``i % groups``; every third
    tested image is a 3-channel JPEG."""
    folder = root / "deeppcb" / "PCBData"
    rng = np.random.default_rng(seed)
    lines = {"trainval": [], "test": []}
    for i in range(trainval + test):
        count = int(rng.integers(1, 4))
        corner = rng.integers(0, SIZE - 60, size=(count, 2))
        boxes = np.concatenate([corner, corner + rng.integers(24, 60, size=(count, 2))], 1)
        classes = rng.integers(0, 6, size=count)
        split = "trainval" if i < trainval else "test"
        lines[split].append(write_pair(folder, f"group{1 + i % groups:05d}", f"0000{i:04d}", boxes, classes,
                                       rgb=i % 3 == 0, rng=rng))
    for split, rows in lines.items():
        (folder / f"{split}.txt").write_text("\n".join(rows))  # upstream lists end without a newline
    return root
