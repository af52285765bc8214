"""The engine (data.engine) and the one export (data.packaging.keras_export): resume, NaN guard, summaries,
best-epoch export, float32 exports, stale temporaries, atomic writes."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest

from conftest import read_events
from data.engine import loop as training
from data.engine.checkpoint import TrainingState
from data.engine.config import RunConfig, param
from data.engine.distribute import make_strategy, set_precision
from data.engine.errors import NonFiniteLossError
from data.engine.recipe import Recipe
from data.engine.run_folder import start_run_dir
from data.packaging import keras_export as export


@dataclasses.dataclass
class TinyConfig(RunConfig):
    """A fourth model's config: the run fields come from RunConfig."""

    width: int = param(4, "Units.")
    lr: float = param(1e-2, "Adam learning rate.")
    epochs: int = param(2, "Epochs.")
    steps_per_epoch: int = param(2, "Steps per epoch.")
    log_every: int = param(1, "Scalars every N steps.")


def _tiny_model(width=4):
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(1)(keras.layers.Dense(width)(inp)))


class TinyRecipe(Recipe):
    """A fourth model plugged into the engine by subclassing (docs/engine.md shows the same)."""

    config_class = TinyConfig
    architecture_keys = ("width",)
    image_every = 2

    def __init__(self, config, y=0.0, monitor=None, mode="max", before_export=None):
        self.monitor, self.mode, self.y, self.hook = monitor, mode, y, before_export
        super().__init__(config)

    def build_model(self):
        model = _tiny_model(self.config.width)
        model.compile(keras.optimizers.Adam(self.config.lr), "mse", metrics=["mae"])
        return model

    def make_datasets(self, start):
        import tensorflow as tf

        x = np.linspace(-1, 1, 32, dtype=np.float32).reshape(8, 4)
        ys = np.full((8, 1), self.y, np.float32)
        train = tf.data.Dataset.from_tensor_slices((x, ys)).batch(4).repeat()
        return train, tf.data.Dataset.from_tensor_slices((x, ys)).batch(4)

    def exports(self, model):
        return {"tiny.keras": model}

    def before_export(self, model):
        if self.hook is not None:
            self.hook(model)

    def images(self, model):
        return {"x": np.zeros((1, 4, 4, 1))}


def _spec(config, y=0.0, monitor=None, mode="max", before_export=None):
    return TinyRecipe(config, y, monitor, mode, before_export)


@pytest.mark.slow
def test_train_resume_summaries_and_architecture_guard(tmp_path):
    run, logs = tmp_path / "run", tmp_path / "logs"
    result = training.train(_spec(TinyConfig()), run, logs, verbose=0)
    assert result["epoch"] == 2 and result["step"] == 4
    assert TinyConfig.load(run / "config.json") == TinyConfig()
    assert (run / "tiny.keras").is_file() and json.loads((run / "export.json").read_text())["epoch"] == 2
    # resume: same command with more epochs continues the step axis
    result = training.train(_spec(TinyConfig(epochs=3)), run, logs, verbose=0)
    assert result["epoch"] == 3 and result["step"] == 6
    events = read_events(logs)
    assert [s for s, _ in events["batch_loss"]] == [1, 2, 3, 4, 5, 6]
    assert [s for s, _ in events["epoch_loss"] if s is not None][-1] == 6  # epoch scalars on the step axis
    assert {"batch_learning_rate", "epoch_mae", "x"} <= set(events)
    val = read_events(logs / "validation")
    assert [s for s, _ in val["epoch_loss"]] == [2, 4, 6]
    # nothing to do
    assert training.train(_spec(TinyConfig(epochs=3)), run, logs, verbose=0)["step"] == 6
    # a different architecture is refused before anything is written
    with pytest.raises(ValueError, match="width: saved 4 vs now 8"):
        training.train(_spec(TinyConfig(width=8, epochs=4)), run, logs, verbose=0)
    # other keys may change on resume; --no-resume starts anew
    assert training.train(_spec(TinyConfig(lr=1e-3, epochs=4)), run, logs, verbose=0)["step"] == 8
    assert training.train(_spec(TinyConfig(width=8, epochs=1)), run, logs, resume=False, verbose=0)["step"] == 2


@pytest.mark.slow
def test_best_epoch_export_keeps_last_checkpoint_and_hooks(tmp_path):
    calls = []
    spec = _spec(TinyConfig(epochs=3), monitor="val_loss", mode="min", before_export=lambda model: calls.append(1))
    result = training.train(spec, tmp_path / "run", tmp_path / "logs", verbose=0, keep_checkpoints=2)
    record = json.loads((tmp_path / "run" / "export.json").read_text())
    assert record["monitor"] == "val_loss" and record["mode"] == "min" and record == result["export"]
    assert record["value"] == pytest.approx(min(v for _, v in read_events(tmp_path / "logs" / "validation")
                                                ["epoch_loss"]))
    assert len(calls) >= 1  # before_export ran before each export
    ckpts = sorted(p.name for p in (tmp_path / "run" / "ckpt").glob("ckpt-*.index"))
    assert ckpts == ["ckpt-4.index", "ckpt-6.index"]  # ckpt-<step>, 2 steps per epoch: keep_checkpoints=2 kept
    with pytest.raises(ValueError, match="mode="):
        _spec(TinyConfig(), monitor="val_loss", mode="best")


@pytest.mark.slow
def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path):
    run = tmp_path / "run"
    training.train(_spec(TinyConfig(epochs=1)), run, tmp_path / "logs", verbose=0)
    before = (run / "tiny.keras").read_bytes()
    with pytest.raises(NonFiniteLossError, match="loss = nan"):
        training.train(_spec(TinyConfig(epochs=3), y=np.nan), run, tmp_path / "logs", verbose=0)
    assert TrainingState(run, model=_tiny_model()).latest.endswith("ckpt-2")  # epoch 1 = step 2
    assert (run / "tiny.keras").read_bytes() == before


def test_stale_temporaries_of_our_pattern_only_are_removed(tmp_path):
    run = tmp_path / "run"
    (run / "ckpt" / "ckpt-3_temp").mkdir(parents=True)
    (run / ".generator.abc123.tmp.keras").write_text("half")
    (run / "notes.txt").write_text("mine")
    (run / ".hidden").write_text("mine too")
    start_run_dir(run, TinyConfig())
    assert sorted(p.name for p in run.iterdir()) == [".hidden", "ckpt", "config.json", "notes.txt"]
    assert not list((run / "ckpt").iterdir())


@pytest.mark.slow
def test_training_state_restores_weights_optimizer_and_epoch(tmp_path):
    model = _tiny_model()
    opt = keras.optimizers.Adam(1e-2)
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 1), np.float32)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=3, verbose=0)
    state = TrainingState(tmp_path, model=model, optimizer=opt)
    assert state.restore() == 0
    state.save(3, 3)
    model2 = _tiny_model()
    opt2 = keras.optimizers.Adam(1e-2)
    model2.compile(opt2, "mse")
    assert TrainingState(tmp_path, model=model2, optimizer=opt2).restore() == 3
    opt2.build(model2.trainable_variables)  # an optimizer built after the restore gets its deferred state too
    assert int(opt2.iterations.numpy()) == int(opt.iterations.numpy()) == 3
    for a, b in zip(model.weights + opt.variables, model2.weights + opt2.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))


def test_export_is_float32_atomic_and_loadable(tmp_path):
    set_precision("mixed_bfloat16")
    model = _tiny_model()
    assert model.layers[1].compute_dtype == "bfloat16"
    path = tmp_path / "m.keras"
    export.export_model(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]
    set_precision("float32")
    loaded = export.load_model(path, input_shape=(4,), output_shape=(1,))
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    # the same weights computed in float32 (the bf16 model's own output differs by its rounding, which depends on
    # whether the CPU has bf16 units: up to 3e-2 here without them)
    w1, b1, w2, b2 = (np.asarray(w, np.float32) for w in model.get_weights())
    np.testing.assert_allclose(loaded.predict(x, verbose=0), (x @ w1 + b1) @ w2 + b2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=5e-2, atol=5e-2)
    with pytest.raises(ValueError, match="m.keras: input shape"):
        export.load_model(path, input_shape=(5,))
    with pytest.raises(FileNotFoundError, match="missing.keras: no such model file"):
        export.load_model(tmp_path / "missing.keras")
    (tmp_path / "junk.keras").write_text("junk")
    with pytest.raises(ValueError, match="junk.keras: cannot load"):
        export.load_model(tmp_path / "junk.keras")

    class Boom(keras.Model):
        def save(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        with export.atomic_path(path) as tmp:
            Boom().save(tmp)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.keras", "m.keras"]  # nothing half-written


def test_set_precision_and_strategy_reject_unknown_names():
    with pytest.raises(ValueError, match="precision must be one of"):
        set_precision("float64")
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("tpu")


@pytest.mark.slow
def test_batch_scalars_are_per_step_values_and_described(tmp_path):
    """``batch_<key>`` is each step's value (no running-mean sawtooth): an epoch's steps average to ``epoch_<key>``."""
    import tensorflow as tf

    logs = tmp_path / "logs"
    training.train(_spec(TinyConfig(epochs=2, lr=5e-2), y=1.0), tmp_path / "run", logs, verbose=0)
    events = read_events(logs / "train")
    batch, epoch = dict(events["batch_loss"]), dict(events["epoch_loss"])
    assert sorted(batch) == [1, 2, 3, 4] and sorted(epoch) == [2, 4]
    assert batch[1] != pytest.approx(batch[2], rel=1e-3)  # the loss moves, so a running mean would differ
    for end in (2, 4):
        assert np.mean([batch[end - 1], batch[end]]) == pytest.approx(epoch[end], rel=1e-5)
    assert dict(events["batch_learning_rate"])[3] == pytest.approx(5e-2)  # not a mean: as logged
    descriptions = {}
    for path in (logs / "train").glob("events.out.tfevents.*"):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                if v.metadata.summary_description:
                    descriptions[v.tag] = v.metadata.summary_description
    assert descriptions["batch_loss"] == "loss of this training step"
    assert "mean over the epoch" in descriptions["epoch_loss"]


@pytest.mark.slow
def test_tensorboard_after_a_kill_and_resume_has_each_step_once(tmp_path):
    """Issue 13 item 7: killed after checkpoint 1 (GANMICRO_KILL_AFTER_CHECKPOINT), with events past that
    checkpoint left behind as a kill in the middle of epoch 2 leaves them (and a truncated last record), the
    same command resumes: the checkpointed epoch's scalars are there, and every scalar tag has each step once."""
    import tensorflow as tf

    from conftest import run_cli, run_until_killed

    logs = tmp_path / "logs"
    args = ["--image-size", "32", "--base-filters", "4", "--dense-units", "16", "--batch-size", "8", "--demo-n", "130",
            "--epochs", "3", "--steps-per-epoch", "2", "--backup-dir", tmp_path / "backup", "--logdir", logs]
    run_until_killed("vgg19.train", args, checkpoint=1, cwd=tmp_path)
    assert dict(read_events(logs / "validation"))["epoch_loss"][0][0] == 2  # flushed before the checkpoint
    # what a kill during epoch 2 leaves: batch scalars of steps 3-4 beyond checkpoint 1, a half-written record
    stale = tf.summary.create_file_writer(str(logs / "train"))
    with stale.as_default():
        for step in (3, 4):
            tf.summary.scalar("batch_loss", 1e6, step=step)
    stale.close()
    with open(sorted((logs / "train").glob("events.out.tfevents.*"))[-1], "ab") as f:
        f.write(b"\x40\x00\x00\x00\x00\x00\x00\x00\x01\x02")
    res = run_cli("vgg19.train", args, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    for run in ("train", "validation", "images"):
        for tag, values in read_events(logs / run).items():
            steps = [s for s, _ in values]
            assert len(steps) == len(set(steps)), (run, tag, steps)
    train_events = read_events(logs / "train")
    assert [s for s, _ in train_events["batch_loss"]] == [1, 2, 3, 4, 5, 6]
    assert max(v for _, v in train_events["batch_loss"]) < 1e6  # the stale values are gone
    assert [s for s, _ in train_events["epoch_loss"]] == [2, 4, 6]
    assert [s for s, _ in read_events(logs / "validation")["epoch_accuracy"]] == [2, 4, 6]


# ------------------------------------------------------------------ corrupt checkpoints, one process per run folder
def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.slow
def test_corrupt_latest_checkpoint_falls_back_to_the_previous_one_or_names_the_file(tmp_path, caplog):
    run, logs = tmp_path / "run", tmp_path / "logs"
    training.train(_spec(TinyConfig()), run, logs, verbose=0, keep_checkpoints=2)
    _truncate(next((run / "ckpt").glob("ckpt-4.data-*")))  # epoch 2, step 4
    config_before = (run / "config.json").read_text()
    with pytest.raises(ValueError, match=r"ckpt-4: the checkpoint is corrupt or incomplete .*--no-resume") as e:
        training.train(_spec(TinyConfig(epochs=3)), run, logs, verbose=0, keep_checkpoints=1)
    assert "\n" not in str(e.value) and (run / "config.json").read_text() == config_before
    with caplog.at_level("WARNING"):
        result = training.train(_spec(TinyConfig(epochs=3)), run, logs, verbose=0, keep_checkpoints=2)
    assert "resuming from the previous one" in caplog.text and result["step"] == 6  # epochs 2 and 3 again
    # a garbage pointer is rebuilt from the files; a missing index file is named
    (run / "ckpt" / "checkpoint").write_text("not a checkpoint state {{{")
    with caplog.at_level("WARNING"):
        assert training.train(_spec(TinyConfig(epochs=4)), run, logs, verbose=0, keep_checkpoints=2)["step"] == 8
    assert "unreadable checkpoint pointer" in caplog.text
    (run / "ckpt" / "ckpt-8.index").unlink()
    with pytest.raises(ValueError, match="ckpt-8: the checkpoint is corrupt or incomplete .its index file is missing"):
        training.train(_spec(TinyConfig(epochs=5)), run, logs, verbose=0, keep_checkpoints=1)


@pytest.mark.slow
def test_a_second_trainer_on_the_same_run_folder_is_refused_and_a_dead_holder_is_replaced(tmp_path, caplog):
    import socket

    from data.engine.lock import LOCK_FILE

    run, logs = tmp_path / "run", tmp_path / "logs"
    training.train(_spec(TinyConfig(epochs=1)), run, logs, verbose=0)
    assert not (run / LOCK_FILE).exists()  # released at the end
    host = socket.gethostname()
    (run / LOCK_FILE).write_text(json.dumps({"host": host, "pid": os.getppid(), "since": "then"}))  # alive
    before = sorted(p.name for p in run.rglob("*"))
    with pytest.raises(ValueError, match=f"in use by PID {os.getppid()} on {host} since then"):
        training.train(_spec(TinyConfig(epochs=2)), run, logs, verbose=0)
    assert sorted(p.name for p in run.rglob("*")) == before
    (run / LOCK_FILE).write_text(json.dumps({"host": host, "pid": 2**22 + 12345, "since": "then"}))  # gone
    with caplog.at_level("INFO"):
        assert training.train(_spec(TinyConfig(epochs=2)), run, logs, verbose=0)["step"] == 4
    assert "taking over the lock" in caplog.text and not (run / LOCK_FILE).exists()


def test_progress_line_every_n_steps_with_rate_and_eta(caplog, monkeypatch):
    import logging

    from data.engine import progress

    clock = iter(float(t) for t in range(0, 100, 2))  # 2 s per call of perf_counter
    monkeypatch.setattr(progress.time, "perf_counter", lambda: next(clock))
    step = {"n": 10}
    cb = progress.ProgressLine(every=5, epochs=3, steps_per_epoch=10, step=lambda: step["n"])
    with caplog.at_level(logging.INFO, logger="data.engine.progress"):
        cb.on_epoch_begin(1)  # t = 0, step 10: the second of 3 epochs of 10 steps
        for batch in range(10):
            step["n"] += 1
            cb.on_train_batch_end(batch, {"d_loss": 0.5, "g_loss": 0.25})
    lines = [r.getMessage() for r in caplog.records]
    # one line at batch 5 (t = 2 s after 5 steps: 2.5 steps/s; 15 steps left: 6 s), none at the epoch's last batch
    assert lines == ["epoch 2/3, step 15 of 30 (batch 5/10): 2.5 steps/s, ETA 6 s, g_loss 0.25"]
    assert progress.duration(3725) == "1 h 2 min" and progress.duration(189) == "3 min 9 s"
    assert progress.duration(42.4) == "42 s" and progress.default_every(7) == 1 and progress.default_every(100) == 10
