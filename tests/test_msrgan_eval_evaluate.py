"""Evaluation report (msrgan.comparison) and the evaluate CLI (msrgan.evaluate) on a tiny folder."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import msrgan
from data import io
from msrgan import comparison, evaluate, evaluation


def _smooth_image(rng, size=32):
    """Low-frequency RGB pattern: bicubic upscaling recovers it far better than nearest."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    chans = [
        np.sin(2 * np.pi * (rng.uniform(0.5, 1.5) * xx + rng.uniform(0.5, 1.5) * yy) + rng.uniform(0, 6))
        for _ in range(3)
    ]
    return np.clip(127.5 + 100 * np.stack(chans, -1), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(0)
    for name in ("00_a.png", "03_b.png", "12_c.png"):
        io.write_png(root / "data" / "test" / name, _smooth_image(rng))
    keras.utils.set_random_seed(0)
    for sub in ("run1", "run2"):
        (root / sub).mkdir()
        msrgan.build_generator((None, None, 3), n_blocks=1, filters=4).save(root / sub / "generator.keras")
    return root


def test_evaluate_cli_writes_finite_report_and_figure(setup):
    out = setup / "report"
    models = [setup / "run1" / "generator.keras", setup / "run2" / "generator.keras"]
    r = CliRunner().invoke(
        evaluate.main, ["--data-dir", str(setup / "data"), "--out", str(out), "--n-show", "2", *map(str, models)]
    )
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    assert report["n_images"] == 3 and report["images"] == ["00_a.png", "03_b.png", "12_c.png"]
    methods = report["methods"]
    assert report["method_order"] == ["nearest", "bicubic", "run1/generator", "run2/generator"]
    for m in methods.values():
        for k in ("psnr", "ssim"):
            assert np.isfinite(m[k]["mean"]) and np.isfinite(m[k]["std"]) and len(m[k]["values"]) == 3
            assert m[k]["std"] == pytest.approx(np.std(m[k]["values"]))
    assert methods["bicubic"]["psnr"]["mean"] > methods["nearest"]["psnr"]["mean"] + 1
    assert methods["bicubic"]["ssim"]["mean"] > methods["nearest"]["ssim"]["mean"]
    md = (out / "report.md").read_text()
    assert "| bicubic |" in md and "| run2/generator |" in md
    fig = io.read_image(out / "comparison.png")
    assert fig.dtype == np.uint8 and fig.ndim == 3 and fig.shape[2] == 3 and fig.shape[1] > fig.shape[0]
    assert not list(out.glob(".*tmp*"))


def test_evaluate_cli_bad_image_names_file_and_writes_nothing(setup, tmp_path):
    data = tmp_path / "data" / "test"
    io.write_png(data / "00_ok.png", np.zeros((16, 16, 3), np.uint8))
    (data / "01_bad.png").write_bytes(b"garbage")
    out = tmp_path / "out"
    args = ["--data-dir", str(tmp_path / "data"), "--out", str(out), str(setup / "run1" / "generator.keras")]
    r = CliRunner().invoke(evaluate.main, args)
    assert r.exit_code != 0 and "01_bad.png" in r.output
    assert not out.exists()


def test_baselines_match_resize_of_training_downscale():
    """nearest of an image constant in 4x4 blocks is exact; bicubic beats nearest on smooth images."""
    rng = np.random.default_rng(1)
    blocks = np.repeat(np.repeat(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), 4, 0), 4, 1)
    scores, shown = evaluation.evaluate({}, [blocks, _smooth_image(rng)], n_show=1)
    s = scores.summary()
    assert s["nearest"]["psnr"]["values"][0] > 40  # the 4x4 blocks survive downscale + nearest upscale
    assert s["bicubic"]["psnr"]["values"][1] > s["nearest"]["psnr"]["values"][1]
    assert len(shown) == 1 and shown[0]["LR"].shape == (6, 6, 3) and shown[0]["HR"].shape == (24, 24, 3)


def test_summary_table_and_names():
    scores = comparison.Scores(["a", "b"])
    hr = np.full((16, 16, 3), 100, np.uint8)
    for delta in (2, 4):
        scores.add(hr, {"a": hr + delta, "b": hr - 2 * delta})
    s = scores.summary()
    expected = [20 * np.log10(255 / d) for d in (2, 4)]
    assert s["a"]["psnr"]["mean"] == pytest.approx(np.mean(expected))
    assert s["a"]["psnr"]["std"] == pytest.approx(np.std(expected))
    table = comparison.markdown_table(s, 2, "note")
    assert f"| a | {np.mean(expected):.2f} ± {np.std(expected):.2f} |" in table
    assert comparison.unique_names(["x/g.keras", "y/g.keras", "z/h.keras"]) == ["x/g", "y/g", "z/h"]
    assert comparison.unique_names(["m/bicubic.keras"]) == ["model:bicubic"]
