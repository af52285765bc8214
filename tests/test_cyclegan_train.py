"""Training (DCT and vanilla), checkpoints, resume after SIGKILL, export round trip, and generate."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tifffile
from click.testing import CliRunner

import cyclegan_dct
from conftest import read_events, run_cli, run_until_killed
from cyclegan_dct import domains, generate, synthesis, train
from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.layers import DCTLowPass
from cyclegan_dct.model import LOSS_KEYS, build_cyclegan
from data.engine.checkpoint import TrainingState

pytestmark = pytest.mark.slow  # trains models or runs the CLIs in subprocesses

TINY = ["--crop", "32", "--n-blocks", "1", "--filters", "8", "--image-every", "2"]
ROOT = Path(__file__).resolve().parents[1]


STEPS = 3


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A tiny DCT run (mixed_bfloat16) trained by the CLI in a subprocess, ended like ``kill -9`` right
    after its first checkpoint (the deterministic kill hook), then resumed (with ``--strategy mirrored``)
    to the end of the next epoch.

    Returns (base folder, epochs saved before the kill, stdout + stderr of the resumed run)."""
    base = tmp_path_factory.mktemp("cyclegan")
    run, logs = base / "run", base / "logs"
    args = ["--steps-per-epoch", STEPS, "--epochs-decay", "0", *TINY, "--precision", "mixed_bfloat16",
            "--backup-dir", run, "--logdir", logs, "--epochs", 2]
    run_until_killed("cyclegan_dct.train", args, checkpoint=1)
    saved = int(Path(tf.train.latest_checkpoint(str(run / "ckpt"))).name.split("-")[1]) // int(STEPS)  # ckpt-<step>
    # the restart also exercises --strategy mirrored (one replica on a CPU-only machine)
    done = run_cli("cyclegan_dct.train", args + ["--strategy", "mirrored"])
    assert done.returncode == 0, done.stderr[-3000:]
    return base, saved, done.stdout + done.stderr


def test_train_cli_writes_run_folder(trained_run):
    base, saved, _ = trained_run
    run = base / "run"
    for name in ("config.json", "generator_a2b.keras", "generator_b2a.keras",
                 "discriminator_a.keras", "discriminator_b.keras", "ckpt/checkpoint"):
        assert (run / name).is_file(), name
    config = json.loads((run / "config.json").read_text())
    assert config["dct"] and config["dct_cutoff"] == 0.5 and config["crop"] == 32
    assert config["precision"] == "mixed_bfloat16" and config["epochs"] == saved + 1
    assert config["mask_stats"]["area_mean"] > 100  # fitted to stardist's nuclei
    assert list((base / "logs" / "train").glob("events.*")) and list((base / "logs" / "images").glob("events.*"))
    events = read_events(base / "logs" / "train")
    keys = ("cycle_a", "cycle_b", "g_a2b_gan", "g_b2a_gan", "d_a_loss", "d_b_loss", "lr")
    assert {f"batch_{k}" for k in keys} <= set(events)
    steps = [step for step, _ in events["batch_lr"]]
    assert max(steps) == (saved + 1) * STEPS  # the step axis continues after the resume
    assert len(read_events(base / "logs" / "images")) == 8


def test_resume_after_sigkill_continues_step_and_optimizer(trained_run):
    """The run was killed (kill -9) after its first checkpoint; the restart continued at the saved step."""
    base, saved, stdout = trained_run
    run = base / "run"
    assert saved >= 1
    assert f"epoch {saved} done, step {saved * STEPS}" in stdout
    assert f"done: epoch {saved + 1}, step {(saved + 1) * STEPS}" in stdout
    model = build_cyclegan(CycleGANConfig.load(run / "config.json"))
    assert TrainingState(run, **model.training_state()).restore() == saved + 1
    assert int(model.step.numpy()) == (saved + 1) * STEPS
    assert int(model.g_optimizer.iterations.numpy()) == int(model.d_optimizer.iterations.numpy()) == (saved + 1) * STEPS


def test_export_round_trip_matches_checkpoint(trained_run):
    run = trained_run[0] / "run"
    config, g, f = cyclegan_dct.load_models(run)
    assert config.crop == 32 and not config.vanilla and config.precision == "mixed_bfloat16"
    assert {layer.dtype_policy.name for layer in g.layers + f.layers} == {"float32"}  # exports are float32
    model = build_cyclegan(config)  # float32 here, as the exports; the variables were float32 in training too
    assert TrainingState(run, **model.training_state()).restore() == trained_run[1] + 1
    a = domains.MaskSampler(32, config.stats, seed=1).sample()[None]
    np.testing.assert_allclose(g(a).numpy(), model.g_a2b(a).numpy(), atol=1e-6)
    np.testing.assert_allclose(f(a).numpy(), model.g_b2a(a).numpy(), atol=1e-6)


@pytest.mark.parametrize("dct", [True, False])
def test_train_step_losses_use_the_filter(dct):
    """The first step's cycle_a is lambda * |F(LP(G(a))) - a| (DCT) or lambda * |F(G(a)) - a| (vanilla)."""
    config = CycleGANConfig(crop=32, n_blocks=1, filters=8, d_filters=8, dct=dct, lambda_identity=0.5,
                            epochs=1, epochs_decay=1, steps_per_epoch=1, pool_size=2)
    model = build_cyclegan(config)
    model.compile(run_eagerly=True)  # eager: the same train_step without minutes of graph tracing in the suite
    assert (model.lowpass is None) == (not dct)
    rng = np.random.default_rng(0)
    a = np.where(rng.random((1, 32, 32, 1)) > 0.7, 1.0, -1.0).astype(np.float32)
    b = rng.uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    fake = model.g_a2b(a)
    expected_filtered = 10 * np.mean(np.abs(model.g_b2a(DCTLowPass(0.5)(fake)).numpy() - a))
    expected_plain = 10 * np.mean(np.abs(model.g_b2a(fake).numpy() - a))
    expected_idt = 5 * np.mean(np.abs(model.g_a2b(b).numpy() - b))
    weights = model.g_a2b.get_weights()[0].copy()
    ds = tf.data.Dataset.from_tensors((a, b)).repeat()
    hist = model.fit(ds, epochs=2, steps_per_epoch=1, verbose=0, shuffle=False).history
    assert set(LOSS_KEYS) | {"lr"} <= set(hist)
    assert all(np.isfinite(v).all() for v in hist.values())
    want = expected_filtered if dct else expected_plain
    np.testing.assert_allclose(hist["cycle_a"][0], want, rtol=1e-4)
    assert abs(expected_filtered - expected_plain) > 1e-3
    np.testing.assert_allclose(hist["idt_a"][0], expected_idt, rtol=1e-4)
    assert hist["lr"] == pytest.approx([2e-4, 1e-4], abs=1e-9)  # 1 constant step, then 1 step of linear decay
    assert int(model.step.numpy()) == 2 and int(model.g_optimizer.iterations.numpy()) == 2
    assert not np.allclose(model.g_a2b.get_weights()[0], weights)


def test_generate_cli(trained_run, tmp_path):
    run = trained_run[0] / "run"
    out = tmp_path / "synthetic"
    result = CliRunner().invoke(generate.main, ["--model-dir", str(run), "--n", "3", "--size", "32", "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    for sub in ("images", "masks", "cycled_masks"):
        files = sorted((out / sub).glob("*.tif"))
        assert [p.name for p in files] == ["0000.tif", "0001.tif", "0002.tif"]
        arr = tifffile.imread(files[0])
        assert arr.dtype == np.uint16 and arr.shape == (32, 32)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["count"] == 3 and len(summary["dice"]) == 3 and not summary["vanilla"]
    dices = [d["dice"] for d in summary["dice"]]
    assert all(0 <= d <= 1 for d in dices) and summary["mean_dice"] == pytest.approx(np.mean(dices))
    # the cycled mask is F(LP(G(m))) thresholded and split as documented
    config, g, f = cyclegan_dct.load_models(run)
    m = tifffile.imread(out / "masks" / "0000.tif")
    cyc = f(DCTLowPass(0.5)(g(domains.labels_to_input(m)[None]))).numpy()[0]
    np.testing.assert_array_equal(tifffile.imread(out / "cycled_masks" / "0000.tif"), domains.output_to_labels(cyc, m))


def test_generate_vanilla_model(trained_run, tmp_path):
    run = trained_run[0] / "run"
    vanilla = tmp_path / "vanilla"
    vanilla.mkdir()
    for name in ("generator_a2b.keras", "generator_b2a.keras"):
        (vanilla / name).write_bytes((run / name).read_bytes())
    config = json.loads((run / "config.json").read_text())
    config["dct"] = False
    (vanilla / "config.json").write_text(json.dumps(config))
    summary = synthesis.generate(vanilla, n=1, out=tmp_path / "out", size=32)
    assert summary["vanilla"] and summary["dct_cutoff"] is None
    _, g, f = cyclegan_dct.load_models(vanilla)
    m = tifffile.imread(tmp_path / "out" / "masks" / "0000.tif")
    cyc = f(g(domains.labels_to_input(m)[None])).numpy()[0]
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out" / "cycled_masks" / "0000.tif"),
                                  domains.output_to_labels(cyc, m))


def test_bad_inputs_fail_cleanly(tmp_path):
    result = CliRunner().invoke(generate.main, ["--model-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "config.json" in result.output and not (tmp_path / "o").exists()
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(train.main, ["--images", str(tmp_path / "empty"), "--backup-dir", str(tmp_path / "b"),
                                             *TINY])
    assert result.exit_code != 0 and "empty" in result.output and "no PNG/TIFF" in result.output
    assert not (tmp_path / "b").exists()
    result = CliRunner().invoke(train.main, ["--crop", "30", "--backup-dir", str(tmp_path / "b")])
    assert result.exit_code != 0 and "crop=30" in result.output
