"""Issue 13 (reliability) for the trainers: bad data, unwritable or full disks, a changed --precision or learning
rate on resume, --like of the wrong kind; each fails with one line naming the file or key, before any output."""

import errno
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from conftest import immutable, read_events, stop_after
from data import io
from data.engine import loop as training
from data.engine.run_folder import check_resume

pytestmark = pytest.mark.slow  # trains tiny models

VGG = dict(image_size=32, base_filters=4, dense_units=16, batch_size=8, demo_n=130, steps_per_epoch=2,
           bn_recalibration_batches=0)
VGG_CLI = ["--image-size", "32", "--base-filters", "4", "--dense-units", "16", "--batch-size", "8", "--demo-n", "130",
           "--steps-per-epoch", "2", "--bn-recalibration-batches", "0"]
MSRGAN = dict(n_blocks=1, filters=8, d_filters=4, dense_units=8, image_size=32, batch_size=4, demo_n=40,
              steps_per_epoch=2, val_steps=1, beta=0.0, bn_recalibration_batches=0, image_every=100, log_every=1)


def _one_error_line(result):
    lines = [ln for ln in result.output.splitlines() if ln.startswith("Error") or "Traceback" in ln]
    assert result.exit_code == 1 and lines and lines[0].startswith("Error: "), result.output[-3000:]
    assert "Traceback" not in result.output, result.output[-3000:]
    return lines[0]


def _vgg19(tmp_path, args):
    from vgg19 import train

    return CliRunner().invoke(train.main, VGG_CLI + ["--backup-dir", str(tmp_path / "run"),
                                                     "--logdir", str(tmp_path / "logs"), *map(str, args)])


def _data_dir_with_a_file_corrupt_past_its_header(tmp_path):
    """A 32 px data folder (original layout) whose first training PNG keeps its header, then garbage."""
    from data.synthetic import demo_split

    images, labels = demo_split("train", n=40)
    for split in ("train", "test"):
        for k in range(8):
            io.write_png(tmp_path / "data" / split / f"{labels[k]:02d}_{split}{k}.png", images[k][:32, :32])
    bad = sorted((tmp_path / "data" / "train").iterdir())[0]
    head = bad.read_bytes()[:40]
    bad.write_bytes(head + b"\0garbage" * 20)
    return tmp_path / "data", bad


@pytest.mark.parametrize("model", ["vgg19", "msrgan"])
def test_file_corrupt_past_its_header_fails_before_anything_is_written(tmp_path, model):
    data_dir, bad = _data_dir_with_a_file_corrupt_past_its_header(tmp_path)
    out = {k: tmp_path / k for k in ("run", "logs", "result")}
    if model == "vgg19":
        from vgg19.config import VGG19Config
        from vgg19.recipe import train

        config = VGG19Config(**{**VGG, "data_dir": str(data_dir), "epochs": 1})
        run = lambda: train(config, backup_dir=out["run"], logdir=out["logs"])  # noqa: E731
    else:
        from msrgan.config import MSRGANConfig
        from msrgan.recipe import train

        config = MSRGANConfig(**{**MSRGAN, "data_dir": str(data_dir), "epochs": 1})
        run = lambda: train(config, backup_dir=out["run"], logdir=out["logs"], result_dir=out["result"])  # noqa: E731
    with pytest.raises(io.ImageError, match=str(bad)):
        run()
    assert [k for k, v in out.items() if v.exists()] == []


def test_no_space_for_config_json_is_one_line_and_leaves_no_run_folder(tmp_path, monkeypatch):
    real = os.replace

    def full_disk(src, dst, *args, **kwargs):
        if Path(dst).name == "config.json":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", full_disk)
    line = _one_error_line(_vgg19(tmp_path, ["--epochs", "1"]))
    assert str(tmp_path / "run" / "config.json") in line and "No space left" in line
    assert not (tmp_path / "run").exists()


def test_no_space_during_a_keras_export_is_one_line_and_resumes(tmp_path):
    """A real full disk: the run folder on a small tmpfs that holds config.json but not the export."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "small"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode:
        pytest.skip(f"mount -t tmpfs not permitted here: {res.stderr.strip()}")
    try:
        from vgg19 import train

        args = VGG_CLI + ["--backup-dir", str(mnt / "run"), "--logdir", str(tmp_path / "logs"), "--epochs", "1"]
        line = _one_error_line(CliRunner().invoke(train.main, args))
        assert str(mnt / "run" / "minivgg19.keras") in line and "No space left" in line
        assert sorted(p.name for p in (mnt / "run").iterdir()) == ["config.json"]  # no temporary left, no ckpt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_unwritable_run_folder_or_parent_is_one_line_before_any_output(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    with immutable(parent):
        for args in (["--backup-dir", parent / "run"], ["--logdir", parent / "logs"]):
            line = _one_error_line(_vgg19(tmp_path, ["--epochs", "1", *args]))
            assert str(parent) in line and "not permitted" in line
            assert not (tmp_path / "run").exists() and not (tmp_path / "logs").exists()
    assert not any(parent.iterdir())


def test_resume_with_another_precision_names_the_key_and_keeps_config_json(tmp_path):
    assert _vgg19(tmp_path, ["--epochs", "1"]).exit_code == 0
    saved = (tmp_path / "run" / "config.json").read_bytes()
    line = _one_error_line(_vgg19(tmp_path, ["--epochs", "2", "--precision", "mixed_bfloat16"]))
    assert "precision" in line and "'float32'" in line and "mixed_bfloat16" in line
    assert str(tmp_path / "run" / "config.json") in line
    assert (tmp_path / "run" / "config.json").read_bytes() == saved


@pytest.mark.parametrize("model", ["vgg19", "msrgan", "cyclegan_dct"])
def test_config_json_that_is_not_json_names_the_file(tmp_path, model):
    from cyclegan_dct.config import CycleGANConfig
    from msrgan.config import MSRGANConfig
    from vgg19.config import VGG19Config

    config = {"vgg19": VGG19Config, "msrgan": MSRGANConfig, "cyclegan_dct": CycleGANConfig}[model]()
    run = tmp_path / "run"
    (run / "ckpt").mkdir(parents=True)
    (run / "ckpt" / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    (run / "config.json").write_text("")
    with pytest.raises(ValueError, match=f"{run / 'config.json'}: not a JSON config"):
        check_resume(run, config, True, ())


def _lr_events(logs, tag):
    return dict(read_events(logs / "train")[tag])


def test_vgg19_learning_rate_given_on_resume_applies(tmp_path, caplog):
    from vgg19.config import VGG19Config
    from vgg19.recipe import VGG19Recipe, train

    run, logs = tmp_path / "run", tmp_path / "logs"
    config = VGG19Config(**VGG, lr=1e-3, epochs=2)
    training.train(VGG19Recipe(config), run, logs, callbacks=[stop_after(1)])  # as if killed after epoch 1
    with caplog.at_level("INFO"):
        result = train(config.replace(lr=1e-4), backup_dir=run, logdir=logs)
    assert result["epoch"] == 2 and "learning rate 0.0001 (this run's config) replaces 0.001" in caplog.text
    rates = _lr_events(logs, "batch_learning_rate")
    assert rates[2] == pytest.approx(1e-3) and rates[3] == rates[4] == pytest.approx(1e-4)  # steps 3, 4 resumed
    ckpt = tf.train.load_checkpoint(str(run / "ckpt"))
    saved = [ckpt.get_tensor(k) for k in ckpt.get_variable_to_shape_map() if "learning_rate" in k]
    assert saved and all(v == pytest.approx(1e-4) for v in saved)
    assert json.loads((run / "config.json").read_text())["lr"] == 1e-4  # config.json says what ran


def test_msrgan_d_lr_given_on_resume_applies_and_the_g_lr_decay_continues(tmp_path, caplog):
    from msrgan.config import MSRGANConfig
    from msrgan.recipe import MSRGANRecipe, train

    run, logs, result_dir = tmp_path / "run", tmp_path / "logs", tmp_path / "result"
    config = MSRGANConfig(**MSRGAN, epochs=2, g_lr=1e-3, g_lr_decay=0.5, g_lr_decay_start=1, d_lr=1e-3)
    training.train(MSRGANRecipe(config, result_dir, logs, run), run, logs, callbacks=[stop_after(1)])
    # what a kill during writes leaves: a half-written export, figure and checkpoint; the resumed run removes them
    stale = [run / ".generator.k1ll3d.tmp.keras", result_dir / ".epoch_0002.k1ll3d.tmp.png",
             run / "ckpt" / "ckpt-2_temp"]
    for path in stale[:2]:
        path.write_bytes(b"half")
    stale[2].mkdir()
    with caplog.at_level("INFO"):
        train(config.replace(d_lr=2e-4), backup_dir=run, logdir=logs, result_dir=result_dir)
    assert [p for p in stale if p.exists()] == []
    assert "d_optimizer: learning rate 0.0002 (this run's config) replaces 0.001" in caplog.text
    d_lr, g_lr = _lr_events(logs, "batch_d_lr"), _lr_events(logs, "batch_g_lr")
    assert d_lr[2] == pytest.approx(1e-3) and d_lr[3] == d_lr[4] == pytest.approx(2e-4)
    for step in (1, 2, 3, 4):  # logged after step s's update: the rate of the next step, lr * 0.5 ** ((s - 1) / 100)
        assert g_lr[step] == pytest.approx(1e-3 * 0.5 ** (max(step - 1, 0) / 100), rel=1e-5), (step, g_lr)


def test_cyclegan_linear_decay_continues_after_resume(tmp_path):
    from cyclegan_dct.config import CycleGANConfig
    from cyclegan_dct.recipe import CycleGANRecipe, train

    run, logs = tmp_path / "run", tmp_path / "logs"
    config = CycleGANConfig(crop=32, n_blocks=1, filters=4, d_filters=4, epochs=1, epochs_decay=2,
                            steps_per_epoch=2, image_every=100, like="default", lr=3e-4)
    training.train(CycleGANRecipe(config), run, logs, callbacks=[stop_after(1)])
    train(config, backup_dir=run, logdir=logs)
    lr = _lr_events(logs, "batch_lr")
    # constant for 2 steps, then linear decay over 2 x 2 steps: lr * (1 - max(0, s - 2 + 1) / 5) at 0-based step s
    expected = {s + 1: 3e-4 * (1 - max(0, s - 1) / 5) for s in range(6)}
    assert sorted(lr) == [2, 4, 6]  # logged every 2 steps; steps 3-6 after the resume
    assert lr == pytest.approx({k: expected[k] for k in lr}, rel=1e-5)


def test_cyclegan_like_of_the_wrong_kind_names_the_file(tmp_path):
    from cyclegan_dct.recipe import build_config

    io.write_png(tmp_path / "rgb.png", np.zeros((16, 16, 3), np.uint8))
    with pytest.raises(io.ImageError, match=f"{tmp_path / 'rgb.png'}: expected a 2-D instance label image"):
        build_config(like=str(tmp_path / "rgb.png"))
    rng = np.random.default_rng(0)
    io.write_png(tmp_path / "grey.png", rng.integers(0, 255, (64, 64)).astype(np.uint8))
    with pytest.raises(io.ImageError, match=f"{tmp_path / 'grey.png'}: does not look like instance labels"):
        build_config(like=str(tmp_path / "grey.png"))
    masks = tmp_path / "masks"
    masks.mkdir()
    io.write_png(masks / "a.png", rng.integers(0, 255, (64, 64)).astype(np.uint8))
    with pytest.raises(io.ImageError, match=f"{masks / 'a.png'}: does not look like instance labels"):
        build_config(masks=str(masks), crop=32)


def test_keep_checkpoints_option(tmp_path):
    assert _vgg19(tmp_path, ["--epochs", "3", "--keep-checkpoints", "2"]).exit_code == 0
    # ckpt-<global step>, 2 steps per epoch
    assert sorted(p.name for p in (tmp_path / "run" / "ckpt").glob("*.index")) == ["ckpt-4.index", "ckpt-6.index"]
    assert _vgg19(tmp_path, ["--epochs", "4"]).exit_code == 0  # the default keeps one
    assert sorted(p.name for p in (tmp_path / "run" / "ckpt").glob("*.index")) == ["ckpt-8.index"]
