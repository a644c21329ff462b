"""Run leases: one process trains a run at a time, a dead holder's lease is taken over; one GPU per local worker."""
from __future__ import annotations

import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import TINY
from paddle_reg import lease as leases
from paddle_reg.runtime import gpu_for_worker

RUNS = ["none", "dropout"]
ARGS = [a for a in TINY if a != "report=false"] + ["regimes=[none,dropout]", "seeds=[0]", "train.epochs=4",
                                                  "train.batch_size=16", "data.val_size=100", "progress=false"]


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_holder_is_dead_by_its_heartbeat_on_any_host_and_sooner_by_its_pid_on_its_own():
    now = time.time()
    me = {"pid": os.getpid(), "pid_started": leases.process_start(os.getpid()), "host": platform.node(),
          "heartbeat": now - 30}
    assert not leases.holder_is_dead(me, now, 60)
    assert leases.holder_is_dead({**me, "pid": dead_pid()}, now, 60)
    assert leases.holder_is_dead({**me, "pid_started": -1}, now, 60)  # the pid was reused by another process
    assert leases.holder_is_dead(me, now + 31, 60)  # alive, but not refreshed for longer than the timeout
    other = {"pid": 1, "host": "elsewhere", "heartbeat": now - 30}
    assert not leases.holder_is_dead(other, now, 60)
    assert leases.holder_is_dead(other, now + 31, 60)


def test_a_lease_is_held_once_released_on_exit_and_taken_over_from_the_dead(tmp_path):
    first, second = leases.Lease(tmp_path, 60), leases.Lease(tmp_path, 60)
    assert first.acquire() is None
    held = second.acquire()
    assert held is not None and held["pid"] == os.getpid() and held["host"] == platform.node()
    first.release()
    assert not (tmp_path / leases.LEASE_FILE).exists()
    assert second.acquire() is None
    second.release()

    crashed = {"token": "crashed", "pid": dead_pid(), "host": platform.node(), "started": 1.0, "heartbeat": 1.0}
    (tmp_path / leases.LEASE_FILE).write_text(json.dumps(crashed))
    taker = leases.Lease(tmp_path, 60)
    assert taker.acquire() is None
    record = json.loads((tmp_path / leases.LEASE_FILE).read_text())
    assert record["pid"] == os.getpid() and record["took_over_from"]["pid"] == crashed["pid"]
    taker.release()


def test_heartbeat_keeps_a_lease_alive_and_a_holder_sees_it_lost(tmp_path):
    held = leases.Lease(tmp_path, timeout_s=0.4)
    assert held.acquire() is None
    beat = json.loads((tmp_path / leases.LEASE_FILE).read_text())["heartbeat"]
    time.sleep(0.35)
    assert json.loads((tmp_path / leases.LEASE_FILE).read_text())["heartbeat"] > beat
    stale = {"token": "other", "pid": 1, "host": "elsewhere", "started": 0.0, "heartbeat": 0.0}
    (tmp_path / leases.LEASE_FILE).write_text(json.dumps(stale))  # as if another host had taken the run over
    deadline = time.time() + 5
    while not held.lost and time.time() < deadline:
        time.sleep(0.05)
    assert held.lost
    held.release()
    assert json.loads((tmp_path / leases.LEASE_FILE).read_text())["token"] == "other"  # not deleted: not ours
    assert leases.holder(tmp_path, 60) is None  # its heartbeat is stale: another process may take it over


@pytest.mark.parametrize("slots,gpus,expected", [
    (4, ["0", "1"], ["0", "1", "0", "1"]),
    (3, ["2", "5", "7"], ["2", "5", "7"]),
    (2, ["0"], [None, None]),  # one GPU: every worker shares it, nothing to pin
    (2, [], [None, None]),
])
def test_each_local_worker_is_pinned_to_its_own_gpu(slots, gpus, expected):
    assert [gpu_for_worker(slot, gpus) for slot in range(slots)] == expected


def test_pool_workers_see_one_gpu_each(tmp_path):
    from paddle_reg.executors import PoolExecutor

    pool = PoolExecutor(2, True, ["3", "4"])
    try:  # each task waits for the other: two workers must run them
        seen = [f.result(timeout=120) for f in [pool.pool.submit(_worker_gpu, tmp_path) for _ in range(2)]]
    finally:
        pool.close()
    assert len({pid for pid, _ in seen}) == 2
    assert sorted(gpu for _, gpu in seen) == ["3", "4"]


def _worker_gpu(folder: Path) -> tuple[int, str | None]:
    (folder / str(os.getpid())).touch()
    deadline = time.time() + 60
    while len(list(folder.iterdir())) < 2 and time.time() < deadline:
        time.sleep(0.05)
    return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")


def _start(args: list[str], cwd: Path, mnist_root: Path) -> subprocess.Popen:
    env = {**os.environ, "PADDLE_REG_DATA": str(mnist_root)}
    return subprocess.Popen([sys.executable, "-m", "paddle_reg.run", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _epochs_trained(output: str, regime: str) -> int:
    return len(re.findall(rf"mnist/{regime}/seed0 epoch \d+/", output))


def _report_statuses(reports: Path) -> dict:
    summary = json.loads((reports / "mnist" / "smoke" / "summary.json").read_text())
    return {arm: entry["status"] for arm, entry in summary["regimes"].items()}


def test_two_identical_commands_train_each_run_once_and_both_report_it(mnist_root, tmp_path):
    commands = [_start(ARGS + [f"paths.reports_dir={tmp_path / f'reports{i}'}"], tmp_path, mnist_root)
                for i in range(2)]
    outputs = [c.communicate(timeout=600)[0] for c in commands]
    assert [c.returncode for c in commands] == [0, 0], outputs
    both = "".join(outputs)
    assert {regime: _epochs_trained(both, regime) for regime in RUNS} == {regime: 4 for regime in RUNS}, both
    assert "waiting for it" in both
    for i in range(2):
        assert _report_statuses(tmp_path / f"reports{i}") == {regime: {"finished": 1} for regime in RUNS}
    assert not list((tmp_path / "runs").rglob(leases.LEASE_FILE))  # released on exit


def test_a_killed_holder_leaves_its_run_to_the_other_command(mnist_root, tmp_path):
    args = ARGS + ["train.epochs=8"]
    commands = [_start(args + [f"paths.reports_dir={tmp_path / f'reports{i}'}"], tmp_path, mnist_root)
                for i in range(2)]
    by_pid = {c.pid: c for c in commands}
    victim = run = None
    deadline = time.time() + 300
    while victim is None and time.time() < deadline:
        for history in (tmp_path / "runs").glob("mnist/*/*/history.json"):
            held = leases.holder(history.parent, 60)
            if held and held["pid"] in by_pid and json.loads(history.read_text() or "[]"):
                victim, run = by_pid[held["pid"]], history.parent
                break
        time.sleep(0.02)
    assert victim is not None, "no run finished an epoch under a lease"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    survivor = next(c for c in commands if c is not victim)
    output = survivor.communicate(timeout=600)[0]
    assert survivor.returncode == 0, output
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["resumes"] and info["resumes"][0] >= 1, info
    reports = tmp_path / f"reports{commands.index(survivor)}"
    assert _report_statuses(reports) == {regime: {"finished": 1} for regime in RUNS}
