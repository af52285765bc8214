#!/usr/bin/env python
"""Start N copies of a training command as a ``tf.distribute.MultiWorkerMirroredStrategy`` cluster on this machine.

Usage::

    python scripts/launch_workers.py --workers 2 -- python -m vgg19.train --strategy multiworker --batch-size 64

Each worker gets its own ``TF_CONFIG`` (``{"cluster": {"worker": [...]}, "task": {"type": "worker",
"index": i}}``) with a free port on 127.0.0.1 (picked here; nothing listens beyond the loopback
interface). Worker 0 is the chief: its output is streamed here; the others' output goes to
``worker-<i>.log`` in ``--log-dir`` (a temporary folder, removed at the end, unless given), and
its last lines are printed when that worker fails. When one worker fails, every worker is
stopped (SIGTERM to its process group, SIGKILL after a grace period); with ``--restarts K`` the
whole cluster is then started again (new ports), at most K times, and resumes from the chief's
last checkpoint. A worker that exits after a graceful stop (130, 138, 143: SIGINT, SIGUSR1,
SIGTERM to any worker; every worker saves at the same step) is no failure: the launcher waits for
the others to finish their save, does not restart, and exits with that status; the same command
resumes. SIGTERM, SIGINT or SIGUSR1 to the launcher is passed on to every worker, with the same
result. ``--threads T`` sets ``TF_NUM_INTRAOP_THREADS`` / ``TF_NUM_INTEROP_THREADS``
for each worker (several workers on a few cores). The exit status is the first failing
worker's (0 when all succeed; 124 on ``--timeout``).

Standard library only, so it runs anywhere the training command runs.
"""

from __future__ import annotations

import argparse
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

HOST = "127.0.0.1"
GRACE = 10.0
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)
STOP_CODES = {128 + s for s in STOP_SIGNALS}  # a worker stopped with a checkpoint (data.engine.preemption)
_RUNNING = []  # the current cluster's worker processes, for the signal handler


def free_ports(n):
    """``n`` distinct free TCP ports on the loopback interface (bound, then released, by the OS)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_config(addresses, index):
    """The ``TF_CONFIG`` JSON of worker ``index`` in a cluster of ``addresses`` (worker 0 is the chief)."""
    return json.dumps({"cluster": {"worker": list(addresses)}, "task": {"type": "worker", "index": index}})


def worker_env(addresses, index, threads=None, base=None):
    env = dict(os.environ if base is None else base)
    env["TF_CONFIG"] = tf_config(addresses, index)
    if threads:
        env.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        env.setdefault("TF_NUM_INTEROP_THREADS", str(threads))
    return env


def _stop(procs):
    """SIGTERM every still-running worker's process group, SIGKILL after ``GRACE`` s; wait for all."""
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + GRACE
    for p in procs:
        try:
            p.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def _tail(path, n=20):
    try:
        return "".join(Path(path).read_text(errors="replace").splitlines(keepends=True)[-n:])
    except OSError:
        return ""


def _pass_on(signum, frame):
    """SIGTERM / SIGINT / SIGUSR1 to the launcher: the same signal to every worker (they stop together, saved)."""
    print(f"launch_workers: {signal.Signals(signum).name} received; passed on to every worker", file=sys.stderr,
          flush=True)
    for p in _RUNNING:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signum)
            except ProcessLookupError:
                pass


def _wait_all(procs, timeout, start):
    """Wait for every worker (a graceful stop: they save at the same step); False on ``timeout``."""
    for p in procs:
        while p.poll() is None:
            if timeout is not None and time.monotonic() - start > timeout:
                return False
            time.sleep(0.2)
    return True


def run_cluster(command, workers, log_dir, threads=None, timeout=None, attempt=0):
    """Run one cluster of ``workers`` copies of ``command``; return the exit status (see the module docstring)."""
    addresses = [f"{HOST}:{port}" for port in free_ports(workers)]
    procs, logs = [], []
    try:
        for i in range(workers):
            env = worker_env(addresses, i, threads)
            if i == 0:
                out, log = None, None  # the chief's output: streamed (inherited stdout / stderr)
            else:
                log = Path(log_dir) / f"worker-{i}.log"
                out = open(log, "a")  # noqa: SIM115 - closed below
                out.write(f"--- attempt {attempt}, TF_CONFIG {env['TF_CONFIG']}\n")
                out.flush()
            logs.append(log)
            procs.append(subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                                          start_new_session=True))  # own process group: stopped as a whole
            _RUNNING[:] = procs
            if out is not None:
                out.close()
        print(f"launch_workers: {workers} workers on {', '.join(addresses)} (attempt {attempt})", file=sys.stderr,
              flush=True)
        start = time.monotonic()
        while True:
            codes = [p.poll() for p in procs]
            failed = [i for i, c in enumerate(codes) if c not in (None, 0)]
            if failed and codes[failed[0]] in STOP_CODES:
                i = failed[0]
                print(f"launch_workers: worker {i} stopped with a checkpoint (status {codes[i]}); waiting for the "
                      "others to save", file=sys.stderr, flush=True)
                if not _wait_all(procs, timeout, start):
                    print(f"launch_workers: timeout after {timeout:g} s; stopping all workers", file=sys.stderr,
                          flush=True)
                    return 124
                return codes[i]
            if failed:
                i = failed[0]
                print(f"launch_workers: worker {i} exited with status {codes[i]}; stopping all workers",
                      file=sys.stderr, flush=True)
                if logs[i] is not None:
                    sys.stderr.write(_tail(logs[i]))
                return codes[i]
            if all(c == 0 for c in codes):
                return 0
            if timeout is not None and time.monotonic() - start > timeout:
                print(f"launch_workers: timeout after {timeout:g} s; stopping all workers", file=sys.stderr,
                      flush=True)
                return 124
            time.sleep(0.2)
    finally:
        _RUNNING[:] = []
        _stop(procs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     usage="%(prog)s [options] -- COMMAND [ARGS...]")
    parser.add_argument("--workers", type=int, default=2, help="Number of worker processes (default 2).")
    parser.add_argument("--threads", type=int, default=None,
                        help="TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS of each worker (default: TensorFlow's).")
    parser.add_argument("--restarts", type=int, default=0,
                        help="Restart the whole cluster up to this many times after a failure (default 0).")
    parser.add_argument("--timeout", type=float, default=None, help="Stop all workers after this many seconds.")
    parser.add_argument("--log-dir", default=None,
                        help="Folder of the non-chief workers' logs (default: a temporary folder, removed at the end).")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="The training command (after --).")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no training command given (put it after --)")
    if args.workers < 1:
        parser.error(f"--workers {args.workers}: must be >= 1")
    if args.restarts < 0:
        parser.error(f"--restarts {args.restarts}: must be >= 0")
    log_dir = args.log_dir or tempfile.mkdtemp(prefix="launch_workers_")
    Path(log_dir).mkdir(parents=True, exist_ok=True)
    for sig in STOP_SIGNALS:  # passed on: the workers stop at the same step with a checkpoint
        signal.signal(sig, _pass_on)
    try:
        for attempt in range(args.restarts + 1):
            code = run_cluster(command, args.workers, log_dir, args.threads, args.timeout, attempt)
            if code in (0, 124):
                return code
            if code in STOP_CODES:
                print(f"launch_workers: the cluster stopped with a checkpoint (status {code}); the same command "
                      "resumes there", file=sys.stderr, flush=True)
                return code
            if attempt < args.restarts:
                print(f"launch_workers: restarting all {args.workers} workers (they resume from the last checkpoint)",
                      file=sys.stderr, flush=True)
        return code
    finally:
        if args.log_dir is None:
            shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
