"""One process per run folder: ``run_dir/.lock`` holds the host, PID (and SLURM job) of the process training there.

A second trainer started on the same ``--backup-dir`` refuses with one line
naming the holder, before it writes anything. A lock left by a process that
is gone (``kill -9``, a crash, a preempted job) is taken over, saying so:
on the same host when its PID no longer runs, on any host when it carries
this process's ``SLURM_JOB_ID`` (a requeued job resumes by itself). A lock of
another host that cannot be checked is refused; the message says to remove
the file once that process is known to be gone. Pure Python.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it runs
        return True
    return True


def _me():
    return {"host": socket.gethostname(), "pid": os.getpid(), "slurm_job": os.environ.get("SLURM_JOB_ID"),
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}


class RunLock:
    """``run_dir/.lock``, taken with :meth:`acquire` (atomic ``O_EXCL`` create) and removed by :meth:`release`."""

    def __init__(self, run_dir):
        self.path = Path(run_dir) / LOCK_FILE
        self.held = False

    def _holder(self):
        try:
            holder = json.loads(self.path.read_text())
            return holder if isinstance(holder, dict) else {}
        except (OSError, ValueError):
            return {}  # unreadable or half-written: judged by its age below

    def _stale(self, holder, me):
        if holder.get("slurm_job") and holder.get("slurm_job") == me["slurm_job"]:
            return True  # this very job, requeued
        if holder.get("host") == me["host"] and isinstance(holder.get("pid"), int):
            return not _alive(holder["pid"])
        if not holder:  # a lock file cut short by a kill while it was written (or removed meanwhile)
            try:
                return time.time() - self.path.stat().st_mtime > 60
            except FileNotFoundError:
                return True
        return False

    def acquire(self):
        """Take the lock (``ValueError`` naming the holder if another live process has it); idempotent."""
        if self.held:
            return self
        me = _me()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self._holder()
                if not self._stale(holder, me):
                    who = (f"PID {holder.get('pid')} on {holder.get('host')} since {holder.get('since')}"
                           if holder else "another process")
                    raise ValueError(f"{self.path.parent}: in use by {who}; wait for it to end or use another "
                                     f"--backup-dir (remove {self.path} only if that process is gone)") from None
                log.info("%s: taking over the lock of %s (that process is gone)", self.path,
                         f"PID {holder.get('pid')} on {holder.get('host')}" if holder else "a killed process")
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self.held = True
            return self
        raise ValueError(f"{self.path}: could not take the lock (another process keeps taking it)")

    def release(self):
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False
