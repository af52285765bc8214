"""Keras callbacks of the miniVGG19 trainer: best-model export."""

from __future__ import annotations

import keras

from data.io import atomic_path, write_json
from data.runs import check_finite


def export_model(model, path):
    """Write ``model`` to ``path`` (``.keras``) atomically, without optimizer state.

    The ``.keras`` format ignores ``include_optimizer``, so an uncompiled copy
    (same layers and dtype policies, same weights) is saved: the file holds the
    weights only (~220 MB at the faithful size instead of ~670 MB with Adam's
    moments) and opens with plain ``keras.models.load_model(path)``.
    """
    copy = keras.Model.from_config(model.get_config())  # clone_model would recompile (and save Adam's slots)
    copy.set_weights(model.get_weights())
    with atomic_path(path) as tmp:
        copy.save(str(tmp))


class BestModelExport(keras.callbacks.Callback):
    """Exports the model when ``monitor`` (validation accuracy) beats ``best`` (a tf.Variable).

    ``best`` belongs to the checkpointed training state, so the record survives
    a resume. Placed before :class:`data.runs.CheckpointCallback` in the callback
    list, the export happens before the state is saved: a kill in between
    replays the epoch instead of losing its export. ``summary_path`` (JSON)
    records the epoch, step and validation scores of the exported model.
    """

    def __init__(self, path, best, summary_path=None, monitor="val_accuracy"):
        super().__init__()
        self.path = path
        self.best = best
        self.summary_path = summary_path
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        check_finite(logs, f"at the end of epoch {epoch + 1}")
        if self.monitor not in logs:
            raise ValueError(f"no {self.monitor!r} in the epoch logs (keys: {', '.join(sorted(logs))})")
        value = float(logs[self.monitor])
        if value <= float(keras.ops.convert_to_numpy(self.best)):
            return
        export_model(self.model, self.path)
        self.best.assign(value)
        if self.summary_path is not None:
            write_json(self.summary_path, {
                "epoch": epoch + 1,
                "step": int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)),
                **{k: float(v) for k, v in logs.items()},
            })
        print(f"\nepoch {epoch + 1}: {self.monitor} {value:.4f} is the best so far; exported {self.path}")
