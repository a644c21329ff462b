"""Process-level setup for a run: device, CPU threads, seeds, and the environment it records."""
from __future__ import annotations

import hashlib
import os
import platform
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import paddle

from paddle_reg.errors import UserError


def select_device(requested: str) -> str:
    """``auto`` takes the GPU when this Paddle build has CUDA and sees a card, else the CPU."""
    has_gpu = paddle.is_compiled_with_cuda() and paddle.device.cuda.device_count() > 0
    if requested == "auto":
        device = "gpu" if has_gpu else "cpu"
    elif requested == "gpu" and not has_gpu:
        raise UserError("device=gpu but this Paddle build sees no GPU: install the GPU wheel (README) or use device=auto")
    else:
        device = requested
    paddle.set_device(device)
    return device


def visible_gpus() -> list[str]:
    """The GPUs this process may use, as CUDA_VISIBLE_DEVICES names them (its value when set, else every card)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip() and not gpu.strip().startswith("-")]
    count = paddle.device.cuda.device_count() if paddle.is_compiled_with_cuda() else 0
    return [str(i) for i in range(count)]


def gpu_for_worker(slot: int, gpus: list[str]) -> str | None:
    """The one GPU worker ``slot`` (0, 1, ... in start order) is pinned to: round robin; None with fewer than 2."""
    return gpus[slot % len(gpus)] if len(gpus) > 1 else None


def set_threads(threads: int) -> None:
    """``threads`` for Paddle's CPU kernels (one unless told otherwise), and one op at a time, in program order, in
    its static-graph executor (a task's ``paddle.jit.to_static`` step). That executor otherwise runs independent ops at
    once on worker threads of its own, beyond ``threads``, and its Dropout and DropBlock masks then do not follow
    ``paddle.seed`` (the same seed gave different masks), so a resumed run would not redraw those of one that never
    stopped."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    paddle.base.core.set_num_threads(threads)
    paddle.set_flags({"FLAGS_new_executor_sequential_run": True})


def derived_seed(*parts: object) -> int:
    """A stable 31-bit seed from any parts (Python's hash() is salted per process)."""
    text = "/".join(str(part) for part in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def train_subset_seed(cfg) -> int:
    """The seed that draws a run's training subset (``cfg``: an effective run config): ``data.split_seed``, the same
    subset for every run, or with ``data.resample_with_seed`` one derived from it and the run's seed, so each seed
    trains on a subset of its own (data-split variance); validation and test stay as ``data.split_seed`` draws them."""
    if not cfg.data.get("resample_with_seed"):
        return cfg.data.split_seed
    return derived_seed(cfg.data.split_seed, "train subset", cfg.seed)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    paddle.seed(seed)


def _git(*args: str, cwd: Path) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_commit(where: Path = Path(__file__).resolve().parent) -> str | None:
    """The commit of the checkout holding ``where`` (the suite's), with ``+dirty`` when tracked files other than the
    generated reports (``reports/`` at the checkout's top) have uncommitted changes."""
    commit = _git("rev-parse", "--short", "HEAD", cwd=where)
    if commit and _git("status", "--porcelain", "--untracked-files=no", "--", ":(top,exclude)reports", cwd=where):
        commit += "+dirty"
    return commit or None


def flushes_subnormals() -> bool:
    """Whether Paddle's CPU arithmetic here gives 0 for a product whose exact value is subnormal (1e-38 × 1e-3)."""
    return float(paddle.to_tensor(1e-38, dtype="float32") * 1e-3) == 0.0


def ray_node_ip() -> str | None:
    """The address of the Ray node this process is a worker of (executor=ray), else None; Ray is never imported here."""
    ray = sys.modules.get("ray")
    return ray.util.get_node_ip_address() if ray is not None and ray.is_initialized() else None


def environment(device: str, threads: int, flush_mode: str) -> dict:
    return {
        "paddle": paddle.__version__,
        "python": platform.python_version(),
        "device": device,
        "gpu_name": paddle.device.cuda.get_device_name() if device == "gpu" else None,
        "threads": threads,
        "flush_denormal": flush_mode,  # the CPU's subnormal mode set for the run (paddle_reg.denormals)
        "subnormals_flushed": flushes_subnormals(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "host": platform.node(),
        "ray_node": ray_node_ip(),
        "git_commit": git_commit(),
    }
