"""A file corrupt past its header fails inside tf.data: the trainers must still exit
promptly with one line naming the file (and no checkpoint)."""

import os
import subprocess
import sys

import pytest

from conftest import tiny_rgb_data_dir
from data.engine.errors import pipeline_error_message


def test_pipeline_error_message_finds_the_image_error_line():
    msg = (
        "Graph execution error:\n\nDetected at node PyFuncStateless\nError in user-defined function: "
        "ImageError: /d/train/01_x.png: cannot read image (not a readable PNG)\nTraceback ...\n"
        "data.io.ImageError: /d/train/01_x.png: cannot read image (not a readable PNG)\n\t [[{{node PyFuncStateless}}]]"
    )
    assert pipeline_error_message(msg) == "/d/train/01_x.png: cannot read image (not a readable PNG)"
    assert pipeline_error_message("Graph execution error:\n\nsomething else") == "something else"


@pytest.mark.slow
def test_msrgan_train_exits_with_the_corrupt_file_named(tmp_path):
    data = tiny_rgb_data_dir(tmp_path / "data")
    bad = data / "train" / "01_x1.png"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])  # valid header, truncated data
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "msrgan.train", "--data-dir", str(data), "--beta", "0", "--image-size", "32",
           "--n-blocks", "1", "--filters", "8", "--d-filters", "4", "--dense-units", "8", "--batch-size", "2",
           "--epochs", "1", "--steps-per-epoch", "3", "--backup-dir", str(out / "b"), "--logdir", str(out / "l"),
           "--result-dir", str(out / "r")]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert f"Error: {bad}: cannot read image" in proc.stderr
    assert not (out / "b" / "ckpt").exists()
