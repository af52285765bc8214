"""``python tests/signal_at_step.py SIGNAL STEP MODULE [ARGS...]``: run ``python -m MODULE ARGS`` and send this
process ``SIGNAL`` (``TERM``, ``INT``, ``USR1``) at the end of global training step ``STEP``, before the engine's
checkpoint callback looks at it: a real signal through the real handler, at a reproducible step (a test picks
the step from a seed). ``STEP`` may be ``N+M``: a second signal M steps later (while stopping).
"""

import os
import runpy
import signal
import sys

import numpy as np


def main():
    name, at, module, *args = sys.argv[1:]
    first, _, again = at.partition("+")
    steps = {int(first)} | ({int(first) + int(again)} if again else set())
    sig = getattr(signal, f"SIG{name}")
    from data.engine.checkpoint import CheckpointCallback

    on_batch_end = CheckpointCallback.on_train_batch_end

    def signalled(self, batch, logs=None):
        if self.step is not None and int(np.asarray(self.step())) in steps:
            os.kill(os.getpid(), sig)
        on_batch_end(self, batch, logs)

    CheckpointCallback.on_train_batch_end = signalled
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
