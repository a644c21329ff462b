"""Shared fixtures: tiny MNIST-format files made here, and a runner for the real CLI."""
from __future__ import annotations

import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = struct.pack(f">{1 + array.ndim}i", magic, *array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def learnable_digits(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28×28 images whose class is a bright 6×6 block at one of 10 places, plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(count, 28, 28))
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, 3 + 12 * row : 9 + 12 * row, 1 + 5 * col : 7 + 5 * col] = 255
    return images.astype(np.uint8), labels.astype(np.uint8)


def make_mnist_root(root: Path, train: int = 1200, test: int = 300) -> Path:
    folder = root / "mnist"
    images, labels = learnable_digits(train, seed=1)
    write_idx(folder / "train-images-idx3-ubyte.gz", images, 2051)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels, 2049)
    images, labels = learnable_digits(test, seed=2)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", images, 2051)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels, 2049)
    return root


@pytest.fixture
def mnist_root(tmp_path: Path) -> Path:
    return make_mnist_root(tmp_path / "data")


# Shrinks the real config to seconds on the tiny files: the overrides a test passes come after these.
TINY = ["task=mnist", "profile=smoke", "data.val_size=200", "model.hidden=[32]", "jobs=1", "report=false"]


def run_cli(args: list[str], cwd: Path, data_root: Path | None, timeout: int = 300, **popen) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PADDLE_REG_DATA"}
    if data_root is not None:
        env["PADDLE_REG_DATA"] = str(data_root)
    return subprocess.run([sys.executable, "-m", "paddle_reg.run", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **popen)
