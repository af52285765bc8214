"""``python -m msrgan.train``: a short run, resume after SIGKILL, NaN guard, mirrored strategy, missing VGG."""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from click.testing import CliRunner

from conftest import read_events, run_cli, run_until_killed
from msrgan.train import main

pytestmark = pytest.mark.slow  # trains models or runs the CLIs in subprocesses

TINY = ["--n-blocks", "2", "--filters", "8", "--d-filters", "4", "--dense-units", "8", "--image-size", "32",
        "--batch-size", "4", "--demo-n", "40", "--steps-per-epoch", "2", "--val-steps", "1"]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_vgg(tmp_path_factory):
    """A tiny untrained miniVGG19 (base_filters 4) at 32x32, saved like vgg19.train exports it."""
    import vgg19

    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("vgg") / "minivgg19.keras"
    vgg19.build_model((32, 32, 3), base_filters=4, dense_units=8).save(path)
    return path


def _dirs(tmp_path):
    return ["--backup-dir", str(tmp_path / "backup"), "--logdir", str(tmp_path / "logs"),
            "--result-dir", str(tmp_path / "result")]


def _run(args):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result


def test_cli_one_epoch_writes_checkpoint_exports_logs_and_figure(tmp_path, tiny_vgg):
    res = _run(TINY + _dirs(tmp_path) + ["--epochs", "1", "--vgg-weights", str(tiny_vgg), "--pretrain-steps", "1",
                                         "--precision", "mixed_bfloat16", "--log-every", "1"])
    assert res.exit_code == 0, res.output
    assert "done: epoch 1, step 2" in res.output
    backup = tmp_path / "backup"
    config = json.loads((backup / "config.json").read_text())
    assert config["n_blocks"] == 2 and config["beta"] == 0.8 and config["pretrain_steps"] == 1
    assert (backup / "ckpt" / "checkpoint").is_file()
    import msrgan  # registers PixelShuffle

    g = msrgan.load_generator(backup / "generator.keras")
    assert g.input_shape == (None, None, None, 3)
    d = keras.models.load_model(backup / "discriminator.keras")
    # trained in mixed_bfloat16, loaded while that policy is still global: every computing layer is float32
    # (an InputLayer reports the global policy on load, whatever its saved dtype)
    layers = [la for la in g.layers + d.layers if not isinstance(la, keras.layers.InputLayer)]
    assert {la.dtype_policy.name for la in layers} == {"float32"}
    assert g(np.zeros((1, 10, 6, 3), np.float32)).shape == (1, 40, 24, 3)
    d = keras.models.load_model(backup / "discriminator.keras")
    assert d.output_shape == (None, 1)
    grid = tmp_path / "result" / "epoch_0001.png"
    from data.io import read_image

    img = read_image(grid)
    # titled figure (msrgan.figures.epoch_figure): 4 columns of 1.6 in, 4 rows of 1.9 in + a 0.4 in title, 100 dpi
    assert img.dtype == np.uint8 and img.shape == (800, 640, 3)
    events = list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert {p.parent.name for p in events} >= {"train", "validation", "images"}
    tags = read_events(tmp_path / "logs" / "train")
    for key in ("g_loss", "content_loss", "mse_loss", "adv_loss", "d_loss", "d_real", "d_fake", "g_lr", "d_lr"):
        assert f"epoch_{key}" in tags and [step for step, _ in tags[f"batch_{key}"]] == [1, 2]
    assert {"epoch_psnr", "epoch_ssim"} <= set(read_events(tmp_path / "logs" / "validation"))
    record = json.loads((backup / "export.json").read_text())
    assert record["epoch"] == 1 and set(record["files"]) == {"generator.keras", "discriminator.keras"}


def test_missing_vgg_weights_is_a_clear_error(tmp_path):
    res = _run(TINY + _dirs(tmp_path) + ["--epochs", "1", "--vgg-weights", str(tmp_path / "nope.keras")])
    assert res.exit_code != 0
    assert "nope.keras" in res.output and "python -m vgg19.train" in res.output
    assert not (tmp_path / "backup").exists()
    # beta 0 needs no VGG at all
    res = _run(TINY + _dirs(tmp_path) + ["--epochs", "1", "--beta", "0", "--vgg-weights", str(tmp_path / "nope.keras"),
                                         "--steps-per-epoch", "1"])
    assert res.exit_code == 0, res.output


def test_nan_loss_stops_and_keeps_last_good_checkpoint(tmp_path):
    args = TINY + _dirs(tmp_path) + ["--beta", "0"]
    assert _run(args + ["--epochs", "1"]).exit_code == 0
    backup = tmp_path / "backup"
    good = (backup / "generator.keras").read_bytes()
    # A resumed run whose loss overflows to inf at its first step (alpha is not an architecture key).
    res = _run(args + ["--epochs", "3", "--alpha", "1e38"])
    assert res.exit_code != 0
    assert "g_loss = inf" in res.output and "last good checkpoint is kept" in res.output
    assert (backup / "ckpt" / "checkpoint").read_text().count("ckpt-2") >= 1  # epoch 1 = step 2
    assert not list((backup / "ckpt").glob("ckpt-4*"))
    assert (backup / "generator.keras").read_bytes() == good
    assert not (tmp_path / "result" / "epoch_0002.png").exists()


def test_resume_after_kill_continues_step_and_optimizer(tmp_path):
    """Killed (os._exit(137), like kill -9) right after checkpoint 1; the same command continues from it."""
    backup = tmp_path / "backup"
    args = TINY + _dirs(tmp_path) + ["--beta", "0", "--steps-per-epoch", "3", "--epochs", "2"]
    run_until_killed("msrgan.train", args, checkpoint=1)
    assert (backup / "ckpt" / "checkpoint").read_text().count("ckpt-3") >= 1  # ckpt-<global step>
    res = run_cli("msrgan.train", args)
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"resuming from {backup / 'ckpt' / 'ckpt-3'}: epoch 1 done, step 3" in res.stderr
    assert "done: epoch 2, step 6" in res.stdout
    # The restored state holds the continued step counter and both optimizers' iterations.
    from data.engine.checkpoint import TrainingState
    from msrgan.config import MSRGANConfig
    from msrgan.recipe import build_msrgan

    gan = build_msrgan(MSRGANConfig.load(backup / "config.json"))
    state = TrainingState(backup, generator=gan.generator, discriminator=gan.discriminator,
                          g_optimizer=gan.g_optimizer, d_optimizer=gan.d_optimizer, steps_done=gan.step)
    assert state.restore() == 2
    assert int(gan.step.numpy()) == 6
    assert int(gan.g_optimizer.iterations.numpy()) == int(gan.d_optimizer.iterations.numpy()) == 6


def _run_mirrored(tmp_path, mode, vgg):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "msrgan_mirrored_run.py"), mode, str(vgg),
                           str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def test_mirrored_strategy_on_two_cpus_equals_single_device(tmp_path, tiny_vgg):
    res = _run_mirrored(tmp_path, "compare", tiny_vgg)
    single, mirrored = res["default"], res["mirrored"]
    assert (single["replicas"], mirrored["replicas"]) == (1, 2)
    for key in ("g_loss", "content_loss", "mse_loss", "adv_loss", "d_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(mirrored["logs"][key], single["logs"][key], rtol=2e-4, err_msg=key)
    # Two steps (one pre-training, one adversarial) give the same weights (the D was updated once).
    for a, b in zip(mirrored["g"] + mirrored["d"], single["g"] + single["d"]):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-3, atol=2e-5)


def test_mirrored_strategy_cli_path(tmp_path, tiny_vgg):
    assert _run_mirrored(tmp_path, "cli", tiny_vgg)["step"] == 2
    assert (tmp_path / "backup" / "generator.keras").is_file()
    assert (tmp_path / "res" / "epoch_0001.png").is_file()
