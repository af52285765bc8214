"""Run folders and training state (data.runs): resume, atomic export, NaN guard."""

import json

import keras
import numpy as np
import pytest

from data import runs


def _tiny_model():
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(1)(inp))


def test_prepare_run_dir_writes_config_and_checks_architecture(tmp_path):
    run = tmp_path / "run"
    runs.prepare_run_dir(run, {"width": 4, "lr": 1e-3}, resume=True, fixed_keys=("width",))
    assert json.loads((run / "config.json").read_text()) == {"width": 4, "lr": 1e-3}
    # A checkpoint makes the folder resumable; a different architecture must then be refused.
    state = runs.TrainingState(run, model=_tiny_model())
    state.save(1)
    with pytest.raises(ValueError, match="width: saved 4 vs now 8"):
        runs.prepare_run_dir(run, {"width": 8}, resume=True, fixed_keys=("width",))
    # Other keys may change on resume (e.g. the learning rate).
    runs.prepare_run_dir(run, {"width": 4, "lr": 1e-4}, resume=True, fixed_keys=("width",))
    # --no-resume removes the checkpoints.
    runs.prepare_run_dir(run, {"width": 8}, resume=False, fixed_keys=("width",))
    assert not (run / "ckpt").exists()


def test_training_state_restores_weights_optimizer_and_epoch(tmp_path):
    model = _tiny_model()
    opt = keras.optimizers.Adam(1e-2)
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 1), np.float32)
    model.compile(opt, "mse")
    model.fit(x, y, epochs=3, verbose=0)
    state = runs.TrainingState(tmp_path, model=model, optimizer=opt)
    assert state.restore() == 0
    state.save(3)

    model2 = _tiny_model()
    opt2 = keras.optimizers.Adam(1e-2)
    model2.compile(opt2, "mse")
    state2 = runs.TrainingState(tmp_path, model=model2, optimizer=opt2)
    assert state2.restore() == 3
    # Optimizer built after the restore gets its deferred state too.
    opt2.build(model2.trainable_variables)
    assert int(opt2.iterations.numpy()) == int(opt.iterations.numpy()) == 3
    for a, b in zip(opt.variables, opt2.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    for a, b in zip(model.weights, model2.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    assert state2.latest.endswith("ckpt-3")


def test_save_model_is_atomic_and_loadable(tmp_path):
    model = _tiny_model()
    path = tmp_path / "m.keras"
    runs.save_model(model, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]
    loaded = keras.models.load_model(path)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)

    class Boom(keras.Model):
        def save(self, *a, **k):
            raise OSError("disk full")

    with pytest.raises(OSError):
        runs.save_model(Boom(), path)
    # The previous export is intact and no temporary file is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]
    keras.models.load_model(path)


def test_checkpoint_callback_stops_on_nan_and_keeps_last_good_checkpoint(tmp_path):
    model = _tiny_model()
    model.compile(keras.optimizers.SGD(1e-3), "mse")
    state = runs.TrainingState(tmp_path, model=model)
    exported = []
    cb = runs.CheckpointCallback(state, export=lambda epoch, logs: exported.append(epoch))
    x, y = np.ones((8, 4), np.float32), np.zeros((8, 1), np.float32)
    model.fit(x, y, epochs=2, batch_size=4, verbose=0, callbacks=[cb])
    assert state.latest.endswith("ckpt-2") and exported == [1, 2]
    good = [np.asarray(w).copy() for w in model.weights]

    y_bad = np.full((8, 1), np.nan, np.float32)
    with pytest.raises(runs.NonFiniteLossError, match="loss = nan"):
        model.fit(x, y_bad, epochs=4, initial_epoch=2, batch_size=4, verbose=0, callbacks=[cb])
    assert state.latest.endswith("ckpt-2") and exported == [1, 2]
    model2 = _tiny_model()
    assert runs.TrainingState(tmp_path, model=model2).restore() == 2
    for a, b in zip(good, model2.weights):
        np.testing.assert_allclose(a, np.asarray(b))


def test_set_precision_rejects_unknown_policy():
    with pytest.raises(ValueError, match="precision must be one of"):
        runs.set_precision("float64")
    runs.set_precision("float32")
