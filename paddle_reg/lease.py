"""One holder at a time: a lease file in a folder, e.g. a run's (one trainer per run, whoever starts it: two
commands, a retried Ray task).

``lease.json`` names its holder (pid, host, start time, heartbeat). It is read and written only under a POSIX lock
(``fcntl.lockf``, which NFS clients pass to the server) on ``.lease.lock`` beside it, held for the few milliseconds
of a check: the kernel drops that lock with its process, so a crash never leaves it behind. A holder is dead when
its heartbeat is older than ``timeout_s``, whatever its host, and sooner on its own host, when its pid is gone; a
dead holder's lease is taken over. The holder refreshes the heartbeat every ``timeout_s / 4`` and deletes the file
when it is done. A folder may hold several leases under other names (``name``), which share its lock file.
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from paddle_reg.store import write_json

LEASE_FILE = "lease.json"
LOCK_FILE = ".lease.lock"


def process_start(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), so a reused pid is not taken for its holder."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def pid_alive(pid: int, started: int | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return started is None or process_start(pid) in (None, started)


def holder_is_dead(holder: dict, now: float, timeout_s: float, host: str | None = None) -> bool:
    """Its heartbeat is older than ``timeout_s``, whatever the host; on its own host also as soon as its pid is gone."""
    if now - holder.get("heartbeat", 0.0) > timeout_s:
        return True
    return holder.get("host") == (host or platform.node()) and not pid_alive(holder["pid"], holder.get("pid_started"))


def describe(holder: dict) -> str:
    return f"pid {holder.get('pid')} on {holder.get('host')}"


class Lease:
    """``acquire()`` returns None when this process holds the run, else the live holder's record."""

    def __init__(self, folder: Path, timeout_s: float, name: str = LEASE_FILE):
        self.path = Path(folder) / name
        self.lock_path = Path(folder) / LOCK_FILE
        self.timeout_s = timeout_s
        self.token = uuid.uuid4().hex
        self.lost = False  # another process took the lease over (this one's heartbeat went stale)
        self._thread_lock = threading.Lock()  # POSIX locks do not exclude threads of one process
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    @contextmanager
    def _locked(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._thread_lock, open(self.lock_path, "a+") as handle:
            fcntl.lockf(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.lockf(handle, fcntl.LOCK_UN)

    def _read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None

    def acquire(self) -> dict | None:
        with self._locked():
            holder = self._read()
            now = time.time()
            if holder is not None and holder.get("token") != self.token \
                    and not holder_is_dead(holder, now, self.timeout_s):
                return holder
            pid = os.getpid()
            record = {"token": self.token, "pid": pid, "pid_started": process_start(pid), "host": platform.node(),
                      "started": now, "heartbeat": now}
            if holder is not None and holder.get("token") != self.token:
                record["took_over_from"] = {k: holder.get(k) for k in ("pid", "host", "started", "heartbeat")}
            write_json(self.path, record)
        self._stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name=f"lease {self.path.parent.name}", daemon=True)
        self._heartbeat.start()
        return None

    def _beat(self) -> None:
        while not self._stop.wait(self.timeout_s / 4):
            with self._locked():
                holder = self._read()
                if holder is None or holder.get("token") != self.token:
                    self.lost = True
                    return
                holder["heartbeat"] = time.time()
                write_json(self.path, holder)

    def release(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join()
        with self._locked():
            holder = self._read()
            if holder is not None and holder.get("token") == self.token:
                self.path.unlink()


def holder(folder: Path, timeout_s: float, name: str = LEASE_FILE) -> dict | None:
    """The live holder of a folder's lease (a run's by default), or None (no lease, or its holder is dead)."""
    record = Lease(folder, timeout_s, name)._read()
    return record if record is not None and not holder_is_dead(record, time.time(), timeout_s) else None
