"""``python tests/kill_after_checkpoint.py SPEC MODULE [ARGS...]``: run ``python -m MODULE ARGS`` and end the
process like ``kill -9`` (``os._exit(137)``) right after the engine saves a given checkpoint.

The deterministic kill of the resume tests, injected from outside: the
production loop has no kill hook. ``SPEC`` is a comma-separated list of ``N``
(after checkpoint N) or ``N@I`` (after checkpoint N, only on worker I of the
``TF_CONFIG`` cluster). It wraps
:meth:`data.engine.checkpoint.CheckpointCallback.on_epoch_end`, so the
process ends after the save and after the multi-worker barrier that follows it.
"""

import json
import logging
import os
import runpy
import sys


def kills_after(spec, checkpoint):
    """Whether ``spec`` ends this process after ``checkpoint``."""
    for entry in filter(None, spec.split(",")):
        number, _, worker = entry.partition("@")
        if int(number) != checkpoint:
            continue
        if not worker or int(worker) == json.loads(os.environ.get("TF_CONFIG") or "{}").get("task", {}).get("index"):
            return True
    return False


def main():
    spec, module, *args = sys.argv[1:]
    from data.engine.checkpoint import CheckpointCallback

    on_epoch_end = CheckpointCallback.on_epoch_end

    def then_kill(self, epoch, logs=None):
        on_epoch_end(self, epoch, logs)
        if kills_after(spec, self.saved):
            logging.shutdown()
            os._exit(137)

    CheckpointCallback.on_epoch_end = then_kill
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
