"""Scheduling overhead per run: executor=ray against executor=local, both one run at a time.

Each side is one command of the real CLI (`python -m paddle_reg.run task=mnist profile=smoke regime=none
seeds=[0..N-1] report=false`, one thread) in a temporary runs folder: `executor=local jobs=1`, then `executor=ray` on
a one-node Ray started here with `ray start --head --num-cpus=1` on 127.0.0.2 (so Ray too runs one at a time) and
stopped at the end. A run's overhead is what its command spends outside the runs' training (run.json wall_time_s):
(command wall time − Σ training time) / N; Ray's includes its task scheduling, the worker's imports and data load,
and the driver's ray.init / shutdown.

    PADDLE_REG_DATA=../shared/data python benchmarks/ray_overhead.py [--runs 8]
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import prepare

HEAD = "127.0.0.2"  # Ray keeps this loopback address (127.0.0.1 it swaps for the machine's network address)


def command_time(runs: int, runs_dir: Path, extra: list[str]) -> tuple[float, float]:
    """The command's wall time and the sum of its runs' training times."""
    command = [sys.executable, "-m", "paddle_reg.run", "task=mnist", "profile=smoke", "regime=none",
               f"seeds=[{','.join(map(str, range(runs)))}]", "jobs=1", "threads=1", "report=false", "progress=false",
               f"paths.runs_dir={runs_dir}", *extra]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ)
    wall = time.perf_counter() - started
    infos = [json.loads(p.read_text()) for p in runs_dir.glob("mnist/none/*/run.json")]
    assert len(infos) == runs and all(i["status"] == "finished" for i in infos), infos
    return wall, sum(i["wall_time_s"] for i in infos)


def start_ray(temp: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind((HEAD, 0))
        port = probe.getsockname()[1]
    temp.mkdir(parents=True, exist_ok=True)
    log = temp / "head.log"
    with open(log, "w") as out:
        head = subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
                                 f"--node-ip-address={HEAD}", f"--port={port}", "--num-cpus=1", "--num-gpus=0",
                                 "--include-dashboard=false", "--object-store-memory=100000000",
                                 "--disable-usage-stats", f"--temp-dir={temp}"],
                                env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    while "Ray runtime started" not in log.read_text():
        if head.poll() is not None:
            raise SystemExit(f"ray start failed:\n{log.read_text()[-2000:]}")
        time.sleep(0.5)
    return head, f"{HEAD}:{port}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    args = parser.parse_args()
    prepare(threads=1)
    print(f"{args.runs} MNIST smoke runs (784-128-128-10, 1 epoch on 2,000 images), one at a time")
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        temp = Path(folder)
        local_wall, local_train = command_time(args.runs, temp / "local", ["executor=local"])
        head, address = start_ray(temp / "ray-session")
        try:
            ray_wall, ray_train = command_time(args.runs, temp / "ray", ["executor=ray", f"ray.address={address}"])
        finally:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
    local_overhead = (local_wall - local_train) / args.runs
    ray_overhead = (ray_wall - ray_train) / args.runs
    print(f"executor=local: {local_wall:6.1f} s for the command, {local_train:6.1f} s training; "
          f"overhead {local_overhead:5.2f} s per run")
    print(f"executor=ray:   {ray_wall:6.1f} s for the command, {ray_train:6.1f} s training; "
          f"overhead {ray_overhead:5.2f} s per run")
    print(f"overhead ray − local: {ray_overhead - local_overhead:+.2f} s per run; overhead per run ray / local "
          f"{ray_overhead / local_overhead:.2f}; command time ray / local {ray_wall / local_wall:.2f}; "
          f"training time ray / local {ray_train / local_train:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
