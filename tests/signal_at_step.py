"""``python tests/signal_at_step.py STEP@WORKER MODULE [ARGS...]``: run ``python -m MODULE ARGS`` and send
SIGTERM to this process at the end of global step ``STEP`` on worker ``WORKER`` of the ``TF_CONFIG`` cluster.

The multi-worker preemption tests' signal, injected from outside (the production loop has no signal hook): it
wraps :meth:`data.engine.checkpoint.CheckpointCallback.on_train_batch_end`, so the engine's own handler gets a
real SIGTERM just before the callback polls for it.
"""

import json
import os
import runpy
import signal
import sys

import numpy as np


def main():
    spec, module, *args = sys.argv[1:]
    step, _, worker = spec.partition("@")
    index = json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {}).get("index", 0)
    from data.engine.checkpoint import CheckpointCallback

    original = CheckpointCallback.on_train_batch_end

    def signalled(self, batch, logs=None):
        if index == int(worker or 0) and int(np.asarray(self.step())) == int(step):
            os.kill(os.getpid(), signal.SIGTERM)
        original(self, batch, logs)

    CheckpointCallback.on_train_batch_end = signalled
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
