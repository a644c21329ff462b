"""What every benchmark does first: set the CPU's float mode and threads, then print the machine, its load and a calibration.

A timing means little without the state of the machine it was taken on: the load average says whether other jobs
shared the cores, and the calibration (a bare Paddle training step of the quick MNIST MLP, one thread) says how fast
this machine is compared with another (≈ 220 steps/s on an idle 2-core Sapphire Rapids machine).
"""
from __future__ import annotations

import os
import platform
import time

BUSY_LOAD = 0.5  # 1-minute load average above which the machine is not idle
CALIBRATION = "bare Adam step of the MLP 784-512-512-10 at batch 128, 1 thread"


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def wait_for_idle(seconds: float) -> tuple[float, float, float]:
    """The load average once the 1-minute figure is below BUSY_LOAD, or after ``seconds`` (a finished job's load decays)."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] > BUSY_LOAD and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()


def calibration_steps_per_second(steps: int = 150) -> float:
    import paddle
    import paddle.nn.functional as F

    from paddle_reg import runtime

    runtime.set_threads(1)
    paddle.seed(0)
    model = paddle.nn.Sequential(paddle.nn.Linear(784, 512), paddle.nn.ReLU(), paddle.nn.Linear(512, 512),
                                 paddle.nn.ReLU(), paddle.nn.Linear(512, 10))
    optimizer = paddle.optimizer.Adam(1e-3, parameters=model.parameters())
    inputs, labels = paddle.rand([128, 784]), paddle.randint(0, 10, [128])
    for step in range(steps + 20):
        if step == 20:  # the first steps pay for kernel setup
            started = time.perf_counter()
        F.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
        optimizer.clear_grad()
    float(model[0].weight.sum())
    return steps / (time.perf_counter() - started)


def prepare(threads: int, flush_denormal: bool = True, idle_wait_s: float = 90.0) -> dict:
    """Set the float mode and threads, print the machine's state, and return it for a benchmark's JSON record."""
    from paddle_reg import runtime
    from paddle_reg.denormals import set_flush_denormal

    mode = set_flush_denormal(flush_denormal)  # before Paddle runs anything: its threads inherit the mode
    load = wait_for_idle(idle_wait_s)
    calibration = calibration_steps_per_second()
    runtime.set_threads(threads)
    state = {"cpu": cpu_name(), "cpu_count": os.cpu_count(), "load_average": [round(x, 2) for x in load],
             "calibration_steps_per_s": round(calibration, 1), "threads": threads, "flush_denormal": mode,
             "git_commit": runtime.git_commit()}
    print(f"machine: {state['cpu']}, {state['cpu_count']} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"float mode {mode}; threads {threads}")
    print(f"calibration: {calibration:.0f} steps/s ({CALIBRATION}; idle 2-core Sapphire Rapids: ≈ 220)")
    if load[0] > BUSY_LOAD:
        print(f"WARNING: load average {load[0]:.2f} > {BUSY_LOAD}: other jobs share the cores; these are not idle figures")
    return state
