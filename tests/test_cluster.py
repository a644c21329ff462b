"""executor=ray on a real two-node Ray cluster on loopback, started here with `ray start` and stopped at the end.

Ray takes 127.0.0.1 for "this machine" and swaps in the machine's network address; other loopback addresses it
keeps, so the head listens on 127.0.0.2 and the second node on 127.0.0.3, each with 1 CPU.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import TINY, run_cli
from paddle_reg.errors import UserError
from test_runs import comparable, run_dirs

HEAD, SECOND = "127.0.0.2", "127.0.0.3"
ARGS = TINY + ["progress=false"]


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def _ray_start(args: list[str], log: Path) -> subprocess.Popen:
    """`ray start --block` in a session of its own: every Ray process it starts is in its process group."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "ray.scripts.scripts", "start", "--block",
                                 "--num-cpus=1", "--num-gpus=0", "--object-store-memory=100000000",
                                 "--disable-usage-stats", *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _started(args: list[str], log: Path, tries: int = 3) -> subprocess.Popen:
    """A node up, tried again when it failed to start: a raylet gets 30 s to register, which a loaded machine
    may not give it."""
    for _ in range(tries):
        process = _ray_start(args, log)
        deadline = time.time() + 300
        while "Ray runtime started" not in log.read_text() and process.poll() is None and time.time() < deadline:
            time.sleep(0.5)
        if "Ray runtime started" in log.read_text():
            return process
        _stop(process)
    raise AssertionError(log.read_text()[-3000:])


def _stop(process: subprocess.Popen) -> None:
    """SIGKILL to the node's whole process group (its raylet, workers, GCS), then wait until none is left."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


@pytest.fixture(scope="module")
def cluster():
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must stay short
    port = _free_port(HEAD)
    started = time.perf_counter()
    nodes = []
    try:
        nodes.append(_started(["--head", f"--node-ip-address={HEAD}", f"--port={port}", "--include-dashboard=false",
                               f"--ray-client-server-port={_free_port(HEAD)}", f"--temp-dir={temp}"],
                              temp / "head.log"))
        nodes.append(_started([f"--address={HEAD}:{port}", f"--node-ip-address={SECOND}"], temp / "second.log"))
        print(f"two-node Ray cluster up in {time.perf_counter() - started:.1f} s")
        yield f"{HEAD}:{port}"
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)
    for node in nodes:  # the cluster is gone: no process is left in its groups
        with pytest.raises(ProcessLookupError):
            os.killpg(node.pid, 0)


def test_smoke_grid_on_two_nodes_equals_executor_local(cluster, mnist_root, tmp_path):
    args = ARGS + ["regimes=[none,dropout]", "seeds=[0]", "train.epochs=2"]
    (tmp_path / "ray").mkdir()
    (tmp_path / "local").mkdir()
    started = time.perf_counter()
    result = run_cli(args + ["executor=ray", f"ray.address={cluster}"], tmp_path / "ray", mnist_root)
    print(f"executor=ray: {time.perf_counter() - started:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    started = time.perf_counter()
    assert run_cli(args, tmp_path / "local", mnist_root).returncode == 0
    print(f"executor=local: {time.perf_counter() - started:.1f} s")
    on_ray, local = run_dirs(tmp_path / "ray" / "runs"), run_dirs(tmp_path / "local" / "runs")
    assert [p.relative_to(tmp_path / "ray") for p in on_ray] == [p.relative_to(tmp_path / "local") for p in local]
    assert [comparable(p) for p in on_ray] == [comparable(p) for p in local]
    nodes = {json.loads((p / "run.json").read_text())["environment"]["ray_node"] for p in on_ray}
    assert nodes == {HEAD, SECOND}
    assert not list((tmp_path / "ray" / "runs").glob(".driver-*"))  # the driver's marker is removed


def test_a_killed_worker_is_retried_and_resumes_to_the_uninterrupted_result(cluster, mnist_root, tmp_path):
    args = ARGS + ["regime=dropout", "seeds=[0]", "train.epochs=8", "train.batch_size=16", "data.val_size=100"]
    env = {**os.environ, "PADDLE_REG_DATA": str(mnist_root)}
    (tmp_path / "ray").mkdir()
    driver = subprocess.Popen([sys.executable, "-m", "paddle_reg.run", *args, "executor=ray",
                               f"ray.address={cluster}"], cwd=tmp_path / "ray", env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    worker = None
    deadline = time.time() + 300
    while worker is None and time.time() < deadline and driver.poll() is None:
        for history in (tmp_path / "ray" / "runs").glob("mnist/dropout/*/history.json"):
            lease = history.parent / "lease.json"
            if json.loads(history.read_text() or "[]") and lease.is_file():
                worker = json.loads(lease.read_text())["pid"]
        time.sleep(0.02)
    assert worker is not None and worker != driver.pid, "no Ray worker finished an epoch"
    os.kill(worker, signal.SIGKILL)
    output = driver.communicate(timeout=600)[0]
    assert driver.returncode == 0, output
    (run,) = run_dirs(tmp_path / "ray" / "runs")
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "finished" and info["resumes"] and info["resumes"][0] >= 1, info
    (tmp_path / "straight").mkdir()
    assert run_cli(args, tmp_path / "straight", mnist_root).returncode == 0
    assert comparable(run) == comparable(run_dirs(tmp_path / "straight" / "runs")[0])


def test_a_node_that_does_not_see_the_runs_folder_fails_with_one_line(tmp_path):
    from paddle_reg.cluster import check_runs_folder

    (tmp_path / ".driver-abc").touch()
    check_runs_folder(tmp_path, ".driver-abc")
    with pytest.raises(UserError, match=r"^runs folder .*elsewhere is not the driver's on node n2: mount the shared "
                                        r"folder there at the same path") as error:
        check_runs_folder(tmp_path / "elsewhere", ".driver-abc", node="n2")
    assert "\n" not in str(error.value)


def test_a_ten_trial_study_runs_its_trials_on_both_nodes(cluster, mnist_root, tmp_path):
    from test_tune import TUNE, load, tune_cli

    args = TUNE + ["trials=10", "jobs=2", "executor=ray", f"ray.address={cluster}", "seeds=[0]", "report=false"]
    started = time.perf_counter()
    result = tune_cli(args, tmp_path, mnist_root)
    print(f"10-trial study on the cluster: {time.perf_counter() - started:.1f} s")
    assert result.returncode == 0, result.stderr[-3000:]
    study = load(tmp_path / "runs", "mnist-dropout-smoke")
    done = [t for t in study.trials if t.state.name in ("COMPLETE", "PRUNED")]
    assert len(done) == 10 and len(study.trials) == 10
    for trial in done:  # each epoch reached the study from the Ray worker that trained it
        info = json.loads((Path(trial.user_attrs["run"]) / "run.json").read_text())
        assert len(trial.intermediate_values) == len(json.loads((Path(trial.user_attrs["run"]) / "history.json")
                                                                 .read_text()))
        assert info["status"] == ("pruned" if trial.state.name == "PRUNED" else "finished")
    nodes = {json.loads((Path(t.user_attrs["run"]) / "run.json").read_text())["environment"]["ray_node"]
             for t in done}
    assert nodes == {HEAD, SECOND}
