"""Graceful stop on SIGTERM, SIGINT and SIGUSR1: how a cluster preempts a job (SLURM, Kubernetes, most batch systems
send SIGTERM, wait a grace period, then SIGKILL; SLURM's ``--signal=USR1@120`` warns earlier).

:class:`StopRequest` replaces the handlers of those signals while a trainer runs: a signal only records the
request (a second one changes nothing, so it cannot interrupt a checkpoint being written). The checkpoint
callback (:class:`data.engine.checkpoint.CheckpointCallback`) sees it at the end of the current step, writes a
full checkpoint there and raises :class:`data.engine.errors.TrainingStopped`; the CLI then exits with
``128 + signum`` (143 for SIGTERM) and one line. The same command resumes at that step.

Under ``--strategy multiworker`` a signal reaches one worker (Kubernetes preempting one pod) or all of them at
slightly different steps (SLURM). The workers must save together, so the callback asks :meth:`StopRequest.poll`,
which combines every worker's request with ``agree`` (:func:`data.engine.multiworker.stop_agreement`, one small
all-reduce per step): every worker then stops at the same step, with the same signal (the highest-numbered one
requested), and exits with the same status.
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
    alone, and :attr:`requested` stays False. ``agree(signum)`` (optional; multi-worker) maps this process's
    request (0: none) to the cluster's, the same on every worker; every worker must call :meth:`poll` at the
    same points.
    """

    def __init__(self, enabled=True, signals=STOP_SIGNALS, agree=None):
        self.enabled = enabled
        self.signals = tuple(signals)
        self.agree = agree
        self.signum = None  # this process's request
        self.agreed = None  # the cluster's, from the last poll (multi-worker)
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

    def poll(self):
        """Whether to stop now: this process's request, or with ``agree`` the cluster's (a collective)."""
        if self.agree is not None:
            self.agreed = int(self.agree(self.signum or 0)) or None
        return self.requested

    @property
    def stop_signum(self):
        """The signal to stop for: this process's, or with ``agree`` the cluster's as of the last :meth:`poll`."""
        return self.agreed if self.agree is not None else self.signum

    @property
    def requested(self):
        return self.stop_signum is not None

    @property
    def name(self):
        """The signal's name; ``"SIGTERM to another worker"`` when the cluster stops for another worker's."""
        if self.stop_signum is None:
            return None
        name = signal.Signals(self.stop_signum).name
        return name if self.signum == self.stop_signum else f"{name} to another worker"
