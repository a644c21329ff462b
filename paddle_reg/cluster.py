"""``executor=ray``: each run a Ray task, on whichever node has room; the runs folder shared by every node.

A task asks for ``threads`` CPUs (and one GPU with ``device=gpu``); one lost with its worker or node is run again
(``ray.max_retries``) and resumes from the run's last checkpoint, taking over the dead holder's lease. Before a
task trains it checks that its node sees the driver's runs folder (a marker file the driver writes there).
"""
from __future__ import annotations

import logging
import platform
import socket
import uuid
from concurrent.futures import Future
from pathlib import Path

from paddle_reg.errors import UserError
from paddle_reg.grid import LOG_FORMAT, EpochCallback, RunSpec

log = logging.getLogger(__name__)
MARKER_PREFIX = ".driver-"


def check_runs_folder(runs_dir: Path, marker: str, node: str | None = None) -> None:
    """The driver's marker file is in ``runs_dir`` as this node sees it, or one line naming the folder and node."""
    if not (Path(runs_dir) / marker).is_file():
        raise UserError(f"runs folder {runs_dir} is not the driver's on node {node or platform.node()}: mount the "
                        f"shared folder there at the same path (README, \"Scaling out\") or set paths.runs_dir to it")


def run_on_node(spec: RunSpec, on_epoch: EpochCallback | None, marker: str) -> dict:
    """A Ray task: one run, on the node Ray picked."""
    from paddle_reg.denormals import set_flush_denormal

    set_flush_denormal(spec.flush_denormal)  # before this worker's first Paddle import starts its threads
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, datefmt="%H:%M:%S", force=True)
    check_runs_folder(Path(spec.runs_dir), marker)
    from paddle_reg.grid import execute

    return execute(spec, False, on_epoch)


def _ray_address(address: str | None) -> str:
    return "local" if address is None else str(address)  # "local": a new Ray here even when one is running


def check_reachable(address: str | None, timeout_s: float = 10.0) -> None:
    """A host:port (or ray://host:port) address answers a TCP connection: ray.init would retry for minutes."""
    if address is None or address in ("auto", "local"):
        return
    host, _, port = str(address).removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"ray.address={address} must be null, auto, host:port or ray://host:port")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise UserError(f"ray.address={address}: nothing answers there ({exc.strerror or exc}): start the cluster "
                        f"with ray start --head, or set ray.address=null for a local Ray") from None


class RayExecutor:
    """Submits runs to the Ray cluster at ``address`` (null: a local Ray started for this command)."""

    def __init__(self, address: str | None, runs_dir: Path, max_retries: int):
        try:
            import ray
        except ModuleNotFoundError:
            raise UserError("executor=ray needs Ray on every node: pip install -e \".[cluster]\" (README, "
                            "\"Scaling out\")") from None
        self.ray = ray
        check_reachable(address)
        try:
            ray.init(address=_ray_address(address), include_dashboard=False, log_to_driver=True,
                     logging_level=logging.WARNING, configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise UserError(f"ray.address={address}: no Ray cluster to join ({first}): start one with ray start "
                            f"--head, or set ray.address=null for a local Ray") from None
        resources = ray.cluster_resources()
        log.info("Ray cluster: %d node(s), %g CPUs, %g GPUs", len([n for n in ray.nodes() if n.get("Alive")]),
                 resources.get("CPU", 0), resources.get("GPU", 0))
        self.runs_dir = Path(runs_dir)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.marker = f"{MARKER_PREFIX}{uuid.uuid4().hex}"
        (self.runs_dir / self.marker).write_text(platform.node())
        self.task = ray.remote(max_retries=max_retries)(run_on_node)

    def submit(self, spec: RunSpec, on_epoch: EpochCallback | None = None) -> Future:
        if spec.device == "gpu" and not self.ray.cluster_resources().get("GPU"):
            raise UserError("device=gpu but the Ray cluster has no GPU: start its nodes with --num-gpus or use "
                            "device=cpu")
        ref = self.task.options(num_cpus=spec.threads, num_gpus=1 if spec.device == "gpu" else 0) \
            .remote(spec, on_epoch, self.marker)
        return _unwrapped(ref.future(), self.ray.exceptions.RayTaskError)

    def close(self) -> None:
        (self.runs_dir / self.marker).unlink(missing_ok=True)
        self.ray.shutdown()


def _unwrapped(future: Future, task_error: type) -> Future:
    """``future`` with a task's UserError raised as itself (one line), not inside Ray's traceback."""
    out: Future = Future()

    def copy(done: Future) -> None:
        try:
            out.set_result(done.result())
        except task_error as exc:
            cause = getattr(exc, "cause", None)
            out.set_exception(UserError(str(cause)) if isinstance(cause, UserError) else exc)
        except BaseException as exc:  # noqa: BLE001  (handed to whoever waits on the future)
            out.set_exception(exc)

    future.add_done_callback(copy)
    return out
