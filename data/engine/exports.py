"""The exports of a run: float32 ``.keras`` files of the best (or every) epoch, and ``export.json`` saying which."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from data.engine.summaries import scalar
from data.io import write_json
from data.packaging.keras_export import export_model

log = logging.getLogger(__name__)

EXPORT_RECORD = "export.json"


class Exporter:
    """Writes the exports of ``recipe`` (all epochs, or the best by ``recipe.monitor``) and ``export.json``.

    ``best`` is the checkpointed best monitored value. With ``chief=False`` (a
    multi-worker cluster's other workers) the same decisions and
    ``before_export`` run, but no file is written.
    """

    def __init__(self, recipe, model, run_dir, best, chief=True):
        self.recipe = recipe
        self.model = model
        self.run_dir = Path(run_dir)
        self.best = best
        self.chief = chief

    def _improves(self, value):
        best = float(self.best.numpy())
        return value > best if self.recipe.mode == "max" else value < best

    def __call__(self, epoch, logs):
        recipe = self.recipe
        value = None
        if recipe.monitor is not None:
            if recipe.monitor not in logs:
                raise ValueError(f"no {recipe.monitor!r} in the epoch logs (keys: {', '.join(sorted(logs))})")
            value = float(logs[recipe.monitor])
            if not recipe.eligible(self.model):
                log.info("epoch %d: %s %.4f; not eligible for export (see export_rule)", epoch, recipe.monitor, value)
                return
            if not self._improves(value):
                return
        self.export(epoch, logs, value)

    def export(self, epoch, logs, value=None):
        recipe = self.recipe
        recipe.before_export(self.model)
        if not self.chief:
            if value is not None:
                self.best.assign(value)
            return
        files = []
        for name, net in recipe.exports(self.model).items():
            net, shape = net if isinstance(net, tuple) else (net, None)
            files.append(export_model(net, self.run_dir / name, input_shape=shape, forms=recipe.inference_forms).name)
        step = int(np.asarray(recipe.step(self.model)))
        write_json(self.run_dir / EXPORT_RECORD, {
            "epoch": epoch, "step": step, "monitor": recipe.monitor, "mode": recipe.mode if recipe.monitor else None,
            "value": value, "logs": {k: scalar(v) for k, v in logs.items()}, "files": files,
            **({"rule": recipe.export_rule} if recipe.export_rule else {}),
        })
        if value is not None:
            self.best.assign(value)
            log.info("epoch %d: %s %.4f is the best so far; exported %s", epoch, recipe.monitor, value,
                     ", ".join(files))


def read_record(run_dir):
    """The ``export.json`` of ``run_dir``, or None."""
    path = Path(run_dir) / EXPORT_RECORD
    return json.loads(path.read_text()) if path.is_file() else None
