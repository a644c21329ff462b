"""The run store: one folder per (task, regime, seed, config hash), every file written atomically.

Layout of a run folder::

    config.json        resolved config of the whole command and the effective run config
    run.json           status (running | finished | diverged | failed), environment, times
    history.json       one record per finished epoch (losses, metrics, wall time)
    final.json         metrics of the best-validation checkpoint on train/val/test (finished runs)
    probes.json        results of probes over the best checkpoint (claim E9), by probe name
    checkpoint/last.pdckpt   model, optimizer and trainer state after the last finished epoch
    checkpoint/best.pdparams weights of the best validation epoch
    vdl/               VisualDL scalars
    lease.json         who trains the run now, while one does (written by paddle_reg.lease, beside its .lease.lock)
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import paddle

DONE_STATUSES = ("finished", "diverged")
_UMASK = os.umask(0)
os.umask(_UMASK)


def config_hash(run_config: dict) -> str:
    canonical = json.dumps(run_config, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def write_atomic(path: Path, writer) -> None:
    """Call ``writer(tmp_path)`` and move the result over ``path`` only once it is complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        writer(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=str)))


def read_json(path: Path, default: Any = None) -> Any:
    return json.loads(path.read_text()) if path.is_file() else default


def portable_optimizer_state(model, state: dict) -> dict:
    """Optimizer state with accumulators keyed by structured parameter names (``net.0.weight``).

    Paddle keys them by ``param.name`` (``linear_3.w_0_velocity_0``), a process-wide counter: a model rebuilt in a new
    process (a resumed run) gets other names whenever its old process had built a model before.
    """
    names = sorted(((p.name, n) for n, p in model.named_parameters()), key=lambda item: -len(item[0]))
    by_param: dict[str, dict] = {}
    other = {}
    for key, value in state.items():
        owner = next(((name, structured) for name, structured in names if key.startswith(name + "_")), None)
        if owner is None:
            other[key] = value
        else:
            by_param.setdefault(owner[1], {})[key[len(owner[0]) + 1:]] = value
    return {"by_param": by_param, "other": other}


def local_optimizer_state(model, portable: dict) -> dict:
    """The inverse of ``portable_optimizer_state`` for ``model`` as built in this process."""
    params = dict(model.named_parameters())
    state = dict(portable["other"])
    for structured, accumulators in portable["by_param"].items():
        state.update({f"{params[structured].name}_{suffix}": value for suffix, value in accumulators.items()})
    return state


class RunDir:
    """One run's folder; its methods are the only writers of the files listed in the module doc."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @classmethod
    def for_run(cls, runs_dir: Path, task: str, regime: str, seed: int, run_config: dict) -> "RunDir":
        return cls(Path(runs_dir) / task / regime / f"seed{seed}-{config_hash(run_config)}")

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint" / "last.pdckpt"

    @property
    def best_path(self) -> Path:
        return self.path / "checkpoint" / "best.pdparams"

    @property
    def vdl_dir(self) -> Path:
        return self.path / "vdl"

    def info(self) -> dict:
        return read_json(self.path / "run.json", {})

    @property
    def status(self) -> str | None:
        return self.info().get("status")

    @property
    def is_done(self) -> bool:
        return self.status in DONE_STATUSES

    def config(self) -> dict:
        return read_json(self.path / "config.json", {})

    def history(self) -> list[dict]:
        return read_json(self.path / "history.json", [])

    def final(self) -> dict:
        return read_json(self.path / "final.json", {})

    def probes(self) -> dict:
        return read_json(self.path / "probes.json", {})

    def save_probes(self, results: dict) -> None:
        write_json(self.path / "probes.json", results)

    def start(self, resolved_config: dict, run_config: dict, env: dict, decay_groups: dict) -> None:
        write_json(self.path / "config.json", {"resolved": resolved_config, "run": run_config})
        info = self.info()
        info.update(
            status="running",
            task=run_config["task"],
            regime=run_config["regime"],
            seed=run_config["seed"],
            config_hash=self.path.name.split("-", 1)[1],
            environment=env,
            decay_groups=decay_groups,
            started=info.get("started", time.time()),
            resumes=info.get("resumes", []),
        )
        write_json(self.path / "run.json", info)

    def mark_resumed(self, epoch: int) -> None:
        """Record that training went on from the checkpoint of ``epoch``."""
        info = self.info()
        info["resumes"] = info.get("resumes", []) + [epoch]
        write_json(self.path / "run.json", info)

    def save_epoch(self, model, optimizer, trainer_state: dict, history: list[dict]) -> None:
        """Checkpoint first, then history: a crash between the two only repeats one epoch's record."""
        bundle = {"model": model.state_dict(), "optimizer": portable_optimizer_state(model, optimizer.state_dict()),
                  "trainer": trainer_state}
        write_atomic(self.checkpoint_path, lambda tmp: paddle.save(bundle, str(tmp)))
        write_json(self.path / "history.json", history)

    def load_checkpoint(self, model) -> dict | None:
        """The last epoch's bundle, its optimizer state keyed by ``model``'s parameter names in this process."""
        if not self.checkpoint_path.is_file():
            return None
        bundle = paddle.load(str(self.checkpoint_path))
        bundle["optimizer"] = local_optimizer_state(model, bundle["optimizer"])
        return bundle

    def save_best(self, model) -> None:
        write_atomic(self.best_path, lambda tmp: paddle.save(model.state_dict(), str(tmp)))

    def load_best(self, model) -> None:
        model.set_state_dict(paddle.load(str(self.best_path)))

    def finish(self, status: str, final: dict, **extra: Any) -> None:
        """``final.json`` lands before the status flips, so a run marked done always has its metrics."""
        write_json(self.path / "final.json", final)
        info = self.info()
        info.update(status=status, finished=time.time(), **extra)
        write_json(self.path / "run.json", info)
