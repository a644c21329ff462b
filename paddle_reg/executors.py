"""Where runs execute: this process, or a pool of worker processes on this machine (``executor=local``); the
driving loop every executor shares. A Ray cluster (``executor=ray``) is ``paddle_reg.cluster``'s."""
from __future__ import annotations

import logging
import multiprocessing
import os
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from tqdm import tqdm

from paddle_reg.grid import LEASED, LOG_FORMAT, EpochCallback, RunSpec, execute

log = logging.getLogger(__name__)
LEASE_POLL_S = 2.0  # how often a run another process holds is looked at again


class InlineExecutor:
    """Each run in this process, one at a time (``jobs=1``)."""

    def __init__(self, progress: bool | None):
        self.progress = progress

    def submit(self, spec: RunSpec, on_epoch: EpochCallback | None = None) -> Future:
        future: Future = Future()
        try:
            future.set_result(execute(spec, self.progress, on_epoch))
        except BaseException as exc:
            future.set_exception(exc)
        return future

    def close(self) -> None:
        pass


def _init_worker(level: int, flush_denormal: bool, slots, gpus: list[str]) -> None:
    from paddle_reg.denormals import set_flush_denormal
    from paddle_reg.runtime import gpu_for_worker

    with slots.get_lock():
        slot = slots.value
        slots.value += 1
    gpu = gpu_for_worker(slot, gpus)
    if gpu is not None:  # before Paddle initializes CUDA: this worker sees its own card only
        os.environ["CUDA_VISIBLE_DEVICES"] = gpu
    set_flush_denormal(flush_denormal)  # before Paddle starts threads: they inherit this thread's float mode
    import paddle  # noqa: F401  (its import installs a root log handler; replace it with ours)

    logging.basicConfig(level=level, format=LOG_FORMAT, datefmt="%H:%M:%S", force=True)


class PoolExecutor:
    """Each run in one of ``jobs`` spawned worker processes; with several GPUs each worker is pinned to one."""

    def __init__(self, jobs: int, flush_denormal: bool, gpus: list[str]):
        context = multiprocessing.get_context("spawn")  # Paddle's runtime is not fork-safe
        if len(gpus) > 1:
            log.info("%d workers over GPUs %s, one GPU each", jobs, ", ".join(gpus))
        self.pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker,
                                        initargs=(logging.getLogger().level or logging.INFO, flush_denormal,
                                                  context.Value("i", 0), gpus))

    def submit(self, spec: RunSpec, on_epoch: EpochCallback | None = None) -> Future:
        return self.pool.submit(execute, spec, False, on_epoch)

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


def local_executor(jobs: int, runs: int, progress: bool | None, flush_denormal: bool, device: str):
    """This process for a single run or ``jobs=1``, else a pool of ``min(jobs, runs)`` workers."""
    if jobs == 1 or runs <= 1:
        return InlineExecutor(progress)
    from paddle_reg.runtime import visible_gpus

    return PoolExecutor(min(jobs, runs), flush_denormal, visible_gpus() if device in ("auto", "gpu") else [])


def execute_all(specs: list[RunSpec], make_executor, progress: bool | None) -> list[dict]:
    """Every spec executed once to its end by ``make_executor(pending count)``'s executor; a run another live
    process holds (its lease) is submitted again once free, and then usually skipped as that one finished it."""
    from paddle_reg.lease import describe, holder

    pending = [spec for spec in specs if not spec.run_dir.is_done]
    summaries = [{"label": s.label, "path": str(s.run_dir.path), "status": s.run_dir.status, "skipped": True}
                 for s in specs if s.run_dir.is_done]
    for summary in summaries:
        log.info("%s already %s: skipped (%s)", summary["label"], summary["status"], summary["path"])
    if not pending:
        return summaries
    executor = make_executor(len(pending))
    # None: a bar on a terminal only; none for runs one at a time in this process, whose epochs have their own
    disable = True if isinstance(executor, InlineExecutor) or progress is False else None if progress is None else False
    bar = tqdm(total=len(pending), desc="runs", disable=disable)
    running: dict[Future, RunSpec] = {}
    waiting: list[RunSpec] = []
    told: set[str] = set()

    def start(spec: RunSpec) -> None:
        held = holder(spec.run_dir.path, spec.lease_timeout_s)
        if held is None:
            running[executor.submit(spec)] = spec
            return
        if spec.label not in told:
            told.add(spec.label)
            log.info("%s is being trained by %s: waiting for it", spec.label, describe(held))
        waiting.append(spec)

    try:
        for spec in pending:
            start(spec)
        while running or waiting:
            done = wait(running, timeout=LEASE_POLL_S, return_when=FIRST_COMPLETED).done if running else set()
            if not running:
                time.sleep(LEASE_POLL_S)
            for future in done:
                spec = running.pop(future)
                summary = future.result()
                if summary["status"] == LEASED:
                    waiting.append(spec)
                    continue
                summaries.append(summary)
                bar.update()
            retry, waiting[:] = list(waiting), []
            for spec in retry:
                start(spec)
    except BaseException:
        for future in running:
            future.cancel()
        raise
    finally:
        executor.close()
        bar.close()
    return summaries


def executor_for(cfg, runs_dir):
    """The executor ``cfg.executor`` names, as a factory of the number of runs to execute (made only when some are)."""
    if cfg.executor == "ray":
        from paddle_reg.cluster import RayExecutor

        return lambda runs: RayExecutor(cfg.ray.address, runs_dir, cfg.ray.max_retries)
    return lambda runs: local_executor(cfg.jobs, runs, cfg.progress, cfg.flush_denormal, cfg.device)
