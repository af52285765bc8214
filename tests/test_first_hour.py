"""What a new user sees in the first hour (issue 14): quiet start-up, plain logs when stdout is not a terminal.

Help on every CLI (``-h``) is tested in test_purity.py, the stratified demo split in
test_data_prepare.py / test_data_synthetic.py, predict's default model in
test_msrgan_eval_predict.py and the README snippets in test_readme_snippets.py.
"""

import os
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest

from conftest import tiny_rgb_data_dir
from data import io
from data.cli.quiet import filtered_stderr

NOISE = re.compile(r"E0000|cuInit|absl::InitializeLog|I0000|cpu_feature_guard")


def _env():
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # what a user's shell has: nothing set
    return env


def test_filtered_stderr_drops_start_up_lines_only(capfd):
    with filtered_stderr():
        os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
        os.write(2, b"I0000 00:00:1796285001.186405    9885 port.cc:153] oneDNN custom operations are on.\n")
        os.write(2, b"E0000 00:00:1796285001.186405    9885 cuda_executor.cc:1228] failed call to cuInit: "
                    b"INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n")
        os.write(2, b"our own message\n")
    os.write(2, b"I0000 00:00:1.0    1 x.cc:1] after the block: not filtered\n")
    err = capfd.readouterr().err
    assert err == "our own message\nI0000 00:00:1.0    1 x.cc:1] after the block: not filtered\n"


@pytest.mark.slow
def test_cli_starts_quietly_and_its_error_is_the_only_line(tmp_path):
    """A CLI that loads TensorFlow prints nothing of TensorFlow's start-up on a CPU-only machine."""
    io.write_png(tmp_path / "cells.png", np.zeros((8, 8, 3), np.uint8))
    cmd = [sys.executable, "-m", "msrgan.predict", "cells.png"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env(), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr == ("Error: backup/msrgan/generator.keras: no such model file "
                           "(train one with python -m msrgan.train)\n")
    # TF_CPP_MIN_LOG_LEVEL=3, as the CLI's own subprocesses inherit it (cyclegan_dct.ablate): quiet as well
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**_env(), "TF_CPP_MIN_LOG_LEVEL": "3"},
                          cwd=tmp_path)
    assert proc.returncode == 1 and proc.stderr.startswith("Error: ") and not NOISE.search(proc.stderr)
    # --verbose shows TensorFlow's own lines again
    proc = subprocess.run(cmd + ["--verbose"], capture_output=True, text=True, timeout=300, env=_env(), cwd=tmp_path)
    assert proc.returncode == 1 and NOISE.search(proc.stderr)


@pytest.mark.slow
def test_training_log_is_plain_when_stdout_is_not_a_terminal(tmp_path):
    """A tee'd / CI log: one line per epoch (Keras verbose=2) and a progress line with the step rate and the ETA
    ten times per epoch (here every step but the epoch's last), no backspaces or escape sequences, no start-up
    noise."""
    data = tiny_rgb_data_dir(tmp_path / "data")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "msrgan.train", "--data-dir", str(data), "--beta", "0", "--image-size", "32",
           "--n-blocks", "1", "--filters", "8", "--d-filters", "4", "--dense-units", "8", "--batch-size", "2",
           "--epochs", "2", "--steps-per-epoch", "3", "--backup-dir", str(out / "b"), "--logdir", str(out / "l"),
           "--result-dir", str(out / "r")]
    proc = subprocess.run(cmd, capture_output=True, timeout=300, env=_env())
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log.decode(errors="replace")[-3000:]
    assert b"\x08" not in log and b"\x1b" not in log
    text = log.decode()
    assert not NOISE.search(text), text
    assert "shuffle" not in text  # Keras' "shuffle=True ... will be ignored": we do not pass it
    stdout = proc.stdout.decode().splitlines()
    assert [line for line in stdout if line.startswith("Epoch ")] == ["Epoch 1/2", "Epoch 2/2"]
    assert len([line for line in stdout if re.match(r"3/3 - \S+ - ", line)]) == 2  # one line per epoch
    progress = re.findall(r"epoch (\d)/2, step (\d) of 6 \(batch (\d)/3\): [\d.]+ steps/s, ETA (\d+ s|\d+ min \d+ s), "
                          r"\w*loss [-\d.e]+", text)
    assert [(int(e), int(s), int(b)) for e, s, b, _ in progress] == [(1, 1, 1), (1, 2, 2), (2, 4, 1), (2, 5, 2)], text


@pytest.mark.slow
def test_stardist_fit_uses_our_verbosity(capsys):
    """StarDist calls fit(iter(data), verbose=1); inside its training we feed the batches as a dataset and make
    it one line per epoch off a terminal."""
    import keras

    from data.stardist_training import _stardist_fit

    inp = keras.Input((2,))
    model = keras.Model(inp, keras.layers.Dense(1)(inp))
    model.compile("sgd", "mse")
    x = np.zeros((2, 2), np.float32)

    def batches():  # StarDist passes an iterator, for which Keras warns about its default shuffle=True
        while True:
            yield x, x[:, :1]

    with _stardist_fit(model), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(batches(), steps_per_epoch=4, epochs=2, verbose=1)
    out = capsys.readouterr().out
    assert "\x08" not in out and "\x1b" not in out and out.count("4/4 - ") == 2
    assert not [w for w in caught if "shuffle" in str(w.message)]
    assert "fit" not in vars(model)  # restored
