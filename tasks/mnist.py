"""MNIST: an MLP (fc → ReLU → Dropout per hidden layer, or Dropout before the ReLU) on the original IDX files."""
from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig
from paddle import nn

from paddle_reg.checks import positive_ints
from paddle_reg.classification import ArraySplit, ClassificationTask, stratified_subset
from paddle_reg.datasource import RemoteFile, fetch
from paddle_reg.errors import UserError
from paddle_reg.regularizers import DROPOUT_POSITIONS, DropConnectLinear, Dropout, GaussianDropout
from paddle_reg.runtime import train_subset_seed

MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FILES = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
REMOTE = {name: RemoteFile(f"mnist/{name}", sha, tuple(m + name for m in MIRRORS)) for name, sha in FILES.items()}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse a gzipped IDX file (big-endian header, uint8 payload); UserError names the file if it is corrupt."""
    fix = f"delete {path} to download it again, or replace it with the original from {MIRRORS[0]}"
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"corrupt data file {path}: not a complete gzip file ({exc}); {fix}") from None
    dims = 3 if magic == IMAGE_MAGIC else 1
    header = 4 * (1 + dims)
    if len(raw) < header or struct.unpack(">i", raw[:4])[0] != magic:
        raise UserError(f"corrupt data file {path}: IDX magic number is not {magic}; {fix}")
    shape = struct.unpack(f">{dims}i", raw[4:header])
    if len(raw) - header != int(np.prod(shape)):
        raise UserError(f"corrupt data file {path}: header says {shape} but the payload has {len(raw) - header} bytes; {fix}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@dataclass
class MnistData:
    train: ArraySplit
    val: ArraySplit
    test: ArraySplit


def load_split(root: Path, images: str, labels: str) -> ArraySplit:
    pixels = read_idx(fetch(REMOTE[images], root), IMAGE_MAGIC)
    targets = read_idx(fetch(REMOTE[labels], root), LABEL_MAGIC)
    if len(pixels) != len(targets) or targets.max(initial=0) > 9:
        raise UserError(f"corrupt MNIST data in {root / 'mnist'}: {images} and {labels} do not match "
                        f"({len(pixels)} images, {len(targets)} labels, labels up to {targets.max(initial=0)})")
    return ArraySplit(pixels.reshape(len(pixels), -1).astype(np.float32) / 255.0, targets.astype(np.int64))


class MLP(nn.Layer):
    """Input dropout (optional), then per hidden layer Linear → ReLU → Dropout (or → Dropout → ReLU), then a Linear,
    and Dropout on its outputs (the logits) when ``output_p`` > 0 (claim E3's "not on the output layer").

    Extended regimes swap parts of a hidden layer: ``dropconnect_p`` makes its Linear a DropConnectLinear,
    ``gaussian_p`` adds Gaussian dropout at its dropout site. The classifier layer is never touched.
    """

    def __init__(self, in_features: int, hidden: list[int], classes: int, input_p: float, hidden_p: float,
                 position: str = "after_relu", gaussian_p: float | None = None, dropconnect_p: float | None = None,
                 output_p: float = 0.0):
        super().__init__()
        layers: list[nn.Layer] = [Dropout(input_p)] if input_p > 0 else []
        width = in_features
        for size in hidden:
            noise = ([Dropout(hidden_p)] if hidden_p > 0 else []) + ([GaussianDropout(gaussian_p)] if gaussian_p else [])
            linear = DropConnectLinear(width, size, dropconnect_p) if dropconnect_p else nn.Linear(width, size)
            layers += [linear, nn.ReLU(), *noise] if position == "after_relu" else [linear, *noise, nn.ReLU()]
            width = size
        layers += [nn.Linear(width, classes)] + ([Dropout(output_p)] if output_p > 0 else [])
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class MnistTask(ClassificationTask):
    name = "mnist"
    regularizers = ClassificationTask.regularizers + ("dropout", "dropconnect", "gaussian", "mixup", "cutmix", "cutout")
    image_shape = (1, 28, 28)  # the flat 784 inputs as images, for Mixup, CutMix and Cutout

    def check(self, cfg: DictConfig) -> None:
        positive_ints("model.hidden", cfg.model.hidden, "[512,512]")
        position = cfg.model.get("dropout_position", "after_relu")
        if position not in DROPOUT_POSITIONS:
            raise UserError(f"model.dropout_position={position} is unknown: choose one of "
                            f"{', '.join(DROPOUT_POSITIONS)}")

    def load_data(self, cfg: DictConfig, root: Path) -> MnistData:
        full = load_split(root, "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
        test = load_split(root, "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
        if cfg.data.val_size >= len(full):
            raise UserError(f"data.val_size={cfg.data.val_size} leaves no training data ({len(full)} samples): lower it")
        val_index = stratified_subset(full.labels, cfg.data.val_size, cfg.data.split_seed)
        rest = np.setdiff1d(np.arange(len(full)), val_index)
        if cfg.data.train_size is not None:
            rest = rest[stratified_subset(full.labels[rest], cfg.data.train_size, train_subset_seed(cfg))]
        pick = lambda index: ArraySplit(full.inputs[index], full.labels[index])  # noqa: E731
        return MnistData(train=pick(rest), val=pick(val_index), test=test)

    def build_model(self, cfg: DictConfig, data: MnistData) -> MLP:
        reg = cfg.get("reg") or {}
        return MLP(784, list(cfg.model.hidden), 10, cfg.model.dropout.input, cfg.model.dropout.hidden,
                   cfg.model.get("dropout_position", "after_relu"), reg.get("gaussian"), reg.get("dropconnect"),
                   cfg.model.dropout.get("output", 0.0))


TASK = MnistTask()
