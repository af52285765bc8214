"""Test-wide settings and the helpers shared by the test modules.

Settings: quiet TensorFlow, float32 policy restored after each test, the
``slow`` marker (``make test-fast`` runs ``pytest -m "not slow"``).
Helpers (import them with ``from conftest import ...``): :func:`read_events`
(the one way to read TensorBoard event files), :func:`disks`, :func:`n_params`,
:func:`run_cli`, :func:`run_until_killed` (the deterministic kill of ``kill_after_checkpoint.py``) and
:func:`stop_after` (an in-process run that stops after an epoch, as if killed there); :data:`TINY_STARDIST`.
"""

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY_STARDIST = ["--sd-epochs", "1", "--sd-steps-per-epoch", "1", "--sd-batch-size", "2", "--sd-patch-size", "32",
                 "--sd-n-rays", "8", "--sd-unet-depth", "2", "--sd-unet-filters", "8", "--sd-no-optimize-thresholds"]
""":mod:`cyclegan_dct.ablate`'s StarDist options for a 1-step StarDist."""
KILL_SCRIPT = ROOT / "tests" / "kill_after_checkpoint.py"


@pytest.fixture(autouse=True)
def _reset_dtype_policy():
    yield
    if "keras" in sys.modules:
        import keras

        keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(autouse=True)
def _fast_tests_train_nothing(request, monkeypatch):
    """The ``slow`` marker tells the truth: a test without it that trains a model (``keras.Model.fit``) or starts a
    subprocess fails, naming what it did (``make test-fast`` promises neither)."""
    if request.node.get_closest_marker("slow") is None:
        def refuse(what):
            def call(*args, **kwargs):
                raise AssertionError(f"{what} in a test not marked slow: mark it @pytest.mark.slow")
            return call

        monkeypatch.setattr(subprocess.Popen, "__init__", refuse("a subprocess"))
        if "keras" in sys.modules:
            import keras

            monkeypatch.setattr(keras.Model, "fit", refuse("model training (keras.Model.fit)"))
    yield


def read_events(folder):
    """``{tag: [(step, value), ...]}`` of every event file under ``folder`` (scalars as floats, images as None)."""
    import tensorflow as tf

    events = {}
    for path in sorted(Path(folder).rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for v in event.summary.value:
                value = None
                if v.HasField("tensor"):
                    array = tf.make_ndarray(v.tensor)
                    value = float(array) if array.ndim == 0 and array.dtype.kind == "f" else None
                elif v.HasField("simple_value"):
                    value = float(v.simple_value)
                events.setdefault(v.tag, []).append((int(event.step), value))
    return events


def tiny_rgb_data_dir(folder, n=3, size=32):
    """A data folder in the original layout (train/ and test/, ``n`` random RGB PNGs ``0<i>_x<i>.png`` each of
    ``size`` px) for the trainers' CLI tests; returns ``folder``."""
    from data import io

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for i in range(n):
            io.write_png(folder / split / f"0{i}_x{i}.png", rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    return folder


def disks(shape, centres, radius):
    """uint16 instance labels: disk i (1-based) of ``radius`` around ``centres[i - 1]``."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    labels = np.zeros(shape, np.uint16)
    for i, (cy, cx) in enumerate(centres, 1):
        labels[(yy - cy) ** 2 + (xx - cx) ** 2 <= radius * radius] = i
    return labels


def n_params(weights):
    """Number of scalars in a list of weights."""
    return sum(int(np.prod(w.shape)) for w in weights)


def run_cli(module, args, cwd=ROOT, timeout=600, kill_after=None, **env):
    """``python -m module args`` in a subprocess (text output) on this checkout's packages; ``env`` adds variables.

    ``kill_after``: run it under ``kill_after_checkpoint.py`` with that spec (e.g. ``1`` or ``"1@1,2@0"``)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), **{k: str(v) for k, v in env.items()})
    launch = ["-m"] if kill_after is None else [str(KILL_SCRIPT), str(kill_after)]
    return subprocess.run([sys.executable, *launch, module, *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def run_until_killed(module, args, checkpoint=1, **kwargs):
    """Run a trainer that ends itself like ``kill -9`` right after saving checkpoint ``checkpoint``."""
    res = run_cli(module, args, kill_after=checkpoint, **kwargs)
    assert res.returncode == 137, res.stdout[-2000:] + res.stderr[-3000:]
    return res


def stop_after(n):
    """A callback for ``data.engine.loop.train(..., callbacks=[stop_after(n)])``: training stops after epoch ``n``
    (its checkpoint written), as if the process had been killed there."""
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch + 1 >= n:
                self.model.stop_training = True

    return Stop()


@contextlib.contextmanager
def immutable(path):
    """``chattr +i path`` for the block, so that even root cannot write into it (root only; skips the test with
    the reason otherwise)."""
    if os.geteuid() != 0 or shutil.which("chattr") is None:
        pytest.skip("needs root and chattr to make a folder unwritable for root")
    res = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"chattr +i not permitted here: {res.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
