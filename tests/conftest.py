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
from hydra import compose, initialize_config_module

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def user_cache_dir(tmp_path_factory):
    """A per-user cache dir of the session's own (facts F1–F9, news tokens), for the tests and the CLI runs they start;
    its ``ops`` (compiled kernels, one folder per source) stays the machine's, so a session does not rebuild them."""
    from paddle_reg.datasource import user_cache_dir as suite_cache_dir

    machine_ops = suite_cache_dir() / "ops"
    machine_ops.mkdir(parents=True, exist_ok=True)
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    session_ops = suite_cache_dir() / "ops"
    session_ops.parent.mkdir(parents=True)
    session_ops.symlink_to(machine_ops, target_is_directory=True)
    yield Path(os.environ["XDG_CACHE_HOME"])
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


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


def run_cli(args: list[str], cwd: Path, data_root: Path | None, timeout: int = 300, env: dict | None = None,
            **popen) -> subprocess.CompletedProcess:
    """``python -m paddle_reg.run ARGS`` in ``cwd``, this process's environment with ``env`` on top."""
    env = {**{k: v for k, v in os.environ.items() if k != "PADDLE_REG_DATA"}, **(env or {})}
    if data_root is not None:
        env["PADDLE_REG_DATA"] = str(data_root)
    return subprocess.run([sys.executable, "-m", "paddle_reg.run", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, **popen)


NEWS_CLASSES = ["finance", "realty", "sports"]
NEWS_KEYWORDS = ["股市基金", "楼盘房价", "球赛比分"]  # one per class: a title holds its class's keyword


def news_titles(count: int, seed: int) -> list[tuple[str, int]]:
    """Titles of filler characters around the keyword of their class, balanced over the classes."""
    rng = np.random.default_rng(seed)
    filler = list("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理世")
    lines = []
    for i in range(count):
        label = i % len(NEWS_CLASSES)
        left, right = rng.choice(filler, size=rng.integers(1, 8)), rng.choice(filler, size=rng.integers(1, 8))
        lines.append(("".join(left) + NEWS_KEYWORDS[label] + "".join(right), label))
    return lines


def write_news_file(path: Path, lines: list[tuple[str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(f"{title}\t{label}\n" for title, label in lines).encode("utf-8")))


def make_news_root(root: Path, train: int = 600, dev: int = 150, test: int = 150) -> Path:
    folder = root / "thucnews"
    write_news_file(folder / "train.txt.gz", news_titles(train, seed=1))
    write_news_file(folder / "dev.txt.gz", news_titles(dev, seed=2))
    write_news_file(folder / "test.txt.gz", news_titles(test, seed=3))
    (folder / "class.txt").write_text("\n".join(NEWS_CLASSES), encoding="utf-8")
    return root


@pytest.fixture
def news_root(tmp_path: Path) -> Path:
    return make_news_root(tmp_path / "data")


# The news task shrunk to seconds on the tiny files, its token cache inside the test's folder.
TINY_NEWS = ["task=news", "profile=smoke", "data.train_size=null", "data.val_size=150", "data.test_size=null",
             "jobs=1", "report=false"]


def compose_config(*overrides: str):
    """The real composed config (configs/ as installed), with ``overrides``."""
    with initialize_config_module(config_module="paddle_reg.configs", version_base="1.3"):
        return compose(config_name="config", overrides=list(overrides))
