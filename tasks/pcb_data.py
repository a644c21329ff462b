"""DeepPCB reader and training samples: split lists → images (1 channel per image) and boxes, crops, YOLO targets."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from paddle_reg.errors import UserError

CLASSES = ("open", "short", "mousebite", "spur", "copper", "pin-hole")  # file type ids 1..6
IMAGE_SIZE = 640  # every DeepPCB image is 640×640
INPUT_MODES = ("test", "pair", "diff")  # channels: tested | tested, template | tested, |tested − template|
LISTS = {"trainval": "trainval.txt", "test": "test.txt"}
FOLDER = "deeppcb/PCBData"


@dataclass
class PcbSplit:
    """Images ``uint8 [N, C, S, S]`` and per-image boxes (``float32 [n, 4]`` x1 y1 x2 y2 in pixels) with class ids 0..5."""

    images: np.ndarray
    boxes: list[np.ndarray]
    classes: list[np.ndarray]
    names: list[str]

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> "PcbSplit":
        return PcbSplit(self.images[index], [self.boxes[i] for i in index], [self.classes[i] for i in index],
                        [self.names[i] for i in index])


def board_groups(names: list[str]) -> np.ndarray:
    """The DeepPCB group of each pair (``group20085/20085/20085000`` → ``group20085``): pairs of one group show one
    board design, so a training subset stratified on it keeps every design in proportion."""
    return np.array([name.split("/", 1)[0] for name in names])


def parse_annotation(path: Path, size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """``x1 y1 x2 y2 type`` per line → boxes ``[n, 4]`` and class ids ``type − 1``; a bad line is a UserError."""
    boxes, classes = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        fields = line.split()
        if len(fields) != 5:
            raise UserError(f"bad annotation {where}: {len(fields)} fields in {line!r}, expected 'x1 y1 x2 y2 type'")
        try:
            x1, y1, x2, y2, kind = (float(v) for v in fields)
        except ValueError:
            raise UserError(f"bad annotation {where}: non-numeric field in {line!r}") from None
        if kind not in range(1, len(CLASSES) + 1):
            raise UserError(f"bad annotation {where}: unknown defect type {fields[4]} (types are 1..{len(CLASSES)}: "
                            f"{', '.join(CLASSES)})")
        if not (0 <= x1 < x2 <= size and 0 <= y1 < y2 <= size):
            raise UserError(f"bad annotation {where}: box {x1:g} {y1:g} {x2:g} {y2:g} is empty or outside the "
                            f"{size}×{size} image")
        boxes.append((x1, y1, x2, y2))
        classes.append(int(kind) - 1)
    if not boxes:
        raise UserError(f"bad annotation {path}: no defect boxes (every DeepPCB image has at least one)")
    return np.array(boxes, np.float32), np.array(classes, np.int32)


def read_list(path: Path) -> list[tuple[str, str]]:
    """``<group>/<id>/<name>.jpg <group>/<id>_not/<name>.txt`` lines → ``(image stem, annotation path)`` pairs."""
    if not path.is_file():
        raise UserError(f"missing DeepPCB list {path}: set PADDLE_REG_DATA to the folder that holds {FOLDER}/")
    entries = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2 or not fields[0].endswith(".jpg") or not fields[1].endswith(".txt"):
            raise UserError(f"bad list line {path}:{number}: {line!r}, expected '<group>/<id>/<name>.jpg "
                            f"<group>/<id>_not/<name>.txt'")
        entries.append((fields[0][: -len(".jpg")], fields[1]))
    return entries


def read_gray(path: Path) -> np.ndarray:
    """One 8-bit channel whether the JPEG is stored as grayscale or RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise UserError(f"missing or unreadable image {path}: restore it from the DeepPCB repository")
    return image


def read_native(folder: Path, stem: str, suffix: str) -> np.ndarray:
    """One DeepPCB image at its native 640×640; another size is a UserError."""
    image = read_gray(folder / f"{stem}{suffix}.jpg")
    if image.shape != (IMAGE_SIZE, IMAGE_SIZE):
        raise UserError(f"image {folder / f'{stem}{suffix}.jpg'} is {image.shape[1]}×{image.shape[0]}, "
                        f"DeepPCB images are {IMAGE_SIZE}×{IMAGE_SIZE}")
    return image


def input_channels(folder: Path, stem: str, mode: str) -> list[np.ndarray]:
    """The channels of one pair for an input ``mode`` (INPUT_MODES), at native size."""
    tested = read_native(folder, stem, "_test")
    if mode == "test":
        return [tested]
    template = read_native(folder, stem, "_temp")
    return [tested, template if mode == "pair" else cv2.absdiff(tested, template)]


def load_split(root: Path, split: str, mode: str, image_size: int, limit: int | None = None) -> PcbSplit:
    """The first ``limit`` entries of a split list, images resized to ``image_size`` and boxes scaled with them."""
    folder = root / FOLDER
    entries = read_list(folder / LISTS[split])[:limit]
    scale = image_size / IMAGE_SIZE
    images = np.empty((len(entries), 1 if mode == "test" else 2, image_size, image_size), np.uint8)
    boxes, classes = [], []
    for i, (stem, annotation) in enumerate(entries):
        for c, image in enumerate(input_channels(folder, stem, mode)):
            images[i, c] = image if scale == 1 else cv2.resize(image, (image_size, image_size),
                                                                interpolation=cv2.INTER_AREA)
        ann_path = folder / annotation
        if not ann_path.is_file():
            raise UserError(f"missing annotation file {ann_path} (listed in {folder / LISTS[split]})")
        box, kind = parse_annotation(ann_path)
        boxes.append(box * scale)
        classes.append(kind)
    return PcbSplit(images, boxes, classes, [stem for stem, _ in entries])


def window_start(low: float, high: float, extent: int, size: int, rng: np.random.Generator) -> int:
    """Start of a ``size`` window inside ``[0, extent)`` that covers ``[low, high)``, or lies inside it when wider."""
    first, last = sorted((max(0, int(np.ceil(high)) - size), min(extent - size, int(low))))
    return int(rng.integers(max(0, first), max(0, min(extent - size, last)) + 1))


def crop_around_defect(image: np.ndarray, boxes: np.ndarray, classes: np.ndarray, size: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A ``size``² window holding a random defect at a random place; keeps that defect and every box at least half
    inside, clipped to the window."""
    pick = int(rng.integers(len(boxes)))
    x1, y1, x2, y2 = boxes[pick]
    left, top = window_start(x1, x2, image.shape[2], size, rng), window_start(y1, y2, image.shape[1], size, rng)
    clipped = np.clip(boxes - np.array([left, top, left, top], np.float32), 0, size)
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    keep = (area(clipped) >= 0.5 * area(boxes)) | (np.arange(len(boxes)) == pick)
    return image[:, top : top + size, left : left + size], clipped[keep], classes[keep]


def random_flip(image: np.ndarray, boxes: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical flips, each with probability 1/2."""
    size = image.shape[-1]
    if rng.random() < 0.5:
        image, boxes = image[:, :, ::-1], np.stack([size - boxes[:, 2], boxes[:, 1], size - boxes[:, 0], boxes[:, 3]], 1)
    if rng.random() < 0.5:
        image, boxes = image[:, ::-1, :], np.stack([boxes[:, 0], size - boxes[:, 3], boxes[:, 2], size - boxes[:, 1]], 1)
    return image, boxes


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 → float32 in [0, 1]."""
    return images.astype(np.float32) / 255.0


def normalized_xywh(boxes: np.ndarray, size: int) -> np.ndarray:
    """Pixel x1 y1 x2 y2 → centre x, centre y, width, height as fractions of the image side."""
    return np.concatenate([(boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2:] - boxes[:, :2]], 1) / size
