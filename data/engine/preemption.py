"""Graceful stop on SIGTERM, SIGINT and SIGUSR1: how a cluster preempts a job (SLURM, Kubernetes, most batch systems
send SIGTERM, wait a grace period, then SIGKILL; SLURM's ``--signal=USR1@120`` warns earlier).

:class:`StopRequest` replaces the handlers of those signals while a trainer runs: a signal only records the
request (a second one changes nothing, so it cannot interrupt a checkpoint being written). The checkpoint
callback (:class:`data.engine.checkpoint.CheckpointCallback`) sees it at the end of the current step, writes a
full checkpoint there and raises :class:`data.engine.errors.TrainingStopped`; the CLI then exits with
``128 + signum`` (143 for SIGTERM) and one line. The same command resumes at that step.
"""

from __future__ import annotations

import logging
import signal
import threading

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1)


class StopRequest:
    """A context manager: while inside, ``STOP_SIGNALS`` set :attr:`signum` instead of their default action.

    ``enabled=False`` (or outside the main thread, where Python cannot install handlers) leaves the handlers
    alone, and :attr:`requested` stays False.
    """

    def __init__(self, enabled=True, signals=STOP_SIGNALS):
        self.enabled = enabled
        self.signals = tuple(signals)
        self.signum = None
        self._previous = {}

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}
        return False

    def _handle(self, signum, frame):
        if self.signum is None:
            self.signum = signum
            log.warning("%s received: stopping at the end of the current step, with a checkpoint",
                        signal.Signals(signum).name)

    @property
    def requested(self):
        return self.signum is not None

    @property
    def name(self):
        return signal.Signals(self.signum).name if self.signum is not None else None
