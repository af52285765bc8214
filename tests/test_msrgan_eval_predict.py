"""Tiled prediction with a tiny real generator and the predict CLI (msrgan.inference, msrgan.predict)."""

import numpy as np
import pytest
import tifffile
from click.testing import CliRunner

import msrgan
from data import io
from msrgan import inference, predict, prediction


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    import keras

    keras.utils.set_random_seed(3)
    g = msrgan.build_generator(input_shape=(None, None, 3), n_blocks=1, filters=8)
    # non-trivial BN statistics and PReLU slopes, so inference-mode layers matter
    for layer in g.layers:
        for w in layer.weights:
            if "moving" in w.path or "alpha" in w.path:
                w.assign(np.random.default_rng(0).uniform(0.2, 1.5, w.shape).astype("float32"))
    path = tmp_path_factory.mktemp("model") / "generator.keras"
    g.save(path)
    return path


@pytest.fixture(scope="module")
def resolver(generator_path):
    return inference.SuperResolver(msrgan.load_generator(generator_path), tile=24, overlap=16, batch_size=4)


def test_tiled_prediction_equals_untiled(resolver):
    img = np.random.default_rng(0).uniform(-1, 1, (53, 41, 3)).astype(np.float32)
    assert resolver.n_tiles(img.shape) > 4
    full = resolver.predict_batch(img[None])[0]
    tiled = resolver(img)
    assert tiled.shape == (212, 164, 3)
    assert np.abs(full).max() > 0.05  # the check below is not trivially satisfied by a zero output
    np.testing.assert_allclose(tiled, full, atol=1e-4)


def _run(args):
    return CliRunner().invoke(predict.main, [str(a) for a in args], catch_exceptions=False)


def test_predict_cli_8bit_png_and_16bit_gray_tiff(generator_path, resolver, tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (30, 21, 3), dtype=np.uint8)
    gray16 = rng.integers(0, 65536, (19, 26), dtype=np.uint16)
    io.write_png(tmp_path / "in" / "cells.png", rgb)
    io.write_tiff(tmp_path / "in" / "stack.tif", gray16)
    out = tmp_path / "out"
    r = _run(["--model", generator_path, tmp_path / "in", "--out", out, "--tile", 20, "--overlap", 12,
              "--batch-size", 2, "--normalize", "full"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in out.iterdir()) == ["cells.png", "stack.tif"]
    assert "[2/2]" in r.output and "full range" in r.output  # one line per image

    sr8 = io.read_image(out / "cells.png")
    assert sr8.dtype == np.uint8 and sr8.shape == (120, 84, 3)
    expected8 = io.from_model_range(resolver.predict_batch(io.to_model_range(rgb)[None])[0], np.uint8)
    assert np.abs(sr8.astype(int) - expected8).max() <= 1  # tiled: within one grey level

    sr16 = tifffile.imread(out / "stack.tif")
    assert sr16.dtype == np.uint16 and sr16.shape == (76, 104)
    x = np.repeat(io.to_model_range(gray16)[..., None], 3, axis=-1)
    expected16 = io.from_model_range(resolver.predict_batch(x[None])[0].mean(-1), np.uint16)
    assert np.abs(sr16.astype(int) - expected16).max() <= 70  # 1e-3 of the 16-bit range
    assert sr16.std() > 100


def test_narrow_16bit_image_is_scaled_by_percentiles_and_back(tmp_path):
    """StarDist's real nuclei image uses 0..235 of 65535: full-range scaling gives a black output."""
    import keras

    g = msrgan.build_generator(input_shape=(None, None, 3), n_blocks=1, filters=8, dropout=0, residual_bicubic=True)
    g.save(tmp_path / "bicubic.keras")  # starts as exactly bicubic upsampling (zero last convolution)
    yy, xx = np.mgrid[0:24, 0:28]
    img = (100 + 80 * np.sin(yy / 3.0) * np.cos(xx / 4.0)).astype(np.uint16)  # 20..180 of 65535
    io.write_tiff(tmp_path / "in" / "nuclei.tif", img)
    r = _run(["--model", tmp_path / "bicubic.keras", tmp_path / "in", "--out", tmp_path / "out"])
    assert r.exit_code == 0, r.output
    assert "percentiles 3/99.8" in r.output
    sr = tifffile.imread(tmp_path / "out" / "nuclei.tif")
    assert sr.dtype == np.uint16 and sr.shape == (96, 112)
    bicubic = keras.ops.convert_to_numpy(keras.ops.image.resize(img[None, ..., None].astype("float32"), (96, 112),
                                                                interpolation="bicubic"))[0, ..., 0]
    # in the image's own units: bicubic of the input, within a grey level or two (percentile range ~160)
    assert np.abs(sr.astype(float) - bicubic).mean() < 2 and sr.max() > 150
    full = tmp_path / "full"
    r = _run(["--model", tmp_path / "bicubic.keras", tmp_path / "in", "--out", full, "--normalize", "full"])
    assert r.exit_code == 0 and tifffile.imread(full / "nuclei.tif").max() < 400  # the old, all-dark result
    assert prediction.Normalisation("percentile", 3, 99.8).range_of(img)[1] < 200
    with pytest.raises(ValueError, match="pmin"):
        prediction.Normalisation("auto", 50, 10)


def test_split_merge_channels_round_trip_with_alpha():
    rgba = np.random.default_rng(2).integers(0, 256, (5, 7, 4), dtype=np.uint8)
    x, gray, alpha = prediction.split_channels(rgba)
    assert x.shape == (5, 7, 3) and not gray and alpha.shape == (5, 7)
    up = np.repeat(np.repeat(x, 4, 0), 4, 1)
    out = prediction.merge_channels(up, np.uint8, gray, alpha)
    assert out.shape == (20, 28, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[::4, ::4, :3], rgba[..., :3])


def test_predict_cli_bad_input_names_file_and_writes_nothing(generator_path, tmp_path):
    io.write_png(tmp_path / "good.png", np.zeros((8, 8, 3), np.uint8))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    out = tmp_path / "out"
    r = _run(["--model", generator_path, tmp_path / "good.png", bad, "--out", out])
    assert r.exit_code != 0
    assert "broken.png" in r.output
    assert not out.exists() or not any(out.iterdir())

    r = _run(["--model", tmp_path / "missing.keras", tmp_path / "good.png", "--out", out])
    assert r.exit_code != 0 and "missing.keras" in r.output
    assert not out.exists() or not any(out.iterdir())

    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip")
    r = _run(["--model", junk, tmp_path / "good.png", "--out", out])
    assert r.exit_code != 0 and "junk.keras" in r.output
    assert not out.exists() or not any(out.iterdir())

    r = _run(["--model", generator_path, tmp_path / "good.png", "--out", tmp_path])  # would overwrite its input
    assert r.exit_code != 0 and "overwrite" in r.output


def test_predict_defaults_to_the_run_folders_generator(generator_path, tmp_path, monkeypatch):
    """Given only an image, predict uses backup/msrgan/generator.keras (as msrgan.train exports it)."""
    import shutil

    monkeypatch.chdir(tmp_path)
    io.write_png(tmp_path / "cells.png", np.zeros((10, 12, 3), np.uint8))
    r = _run(["cells.png"])
    assert r.exit_code != 0 and "backup/msrgan/generator.keras" in r.output and "msrgan.train" in r.output
    assert not (tmp_path / "result").exists()
    (tmp_path / "backup" / "msrgan").mkdir(parents=True)
    shutil.copy(generator_path, tmp_path / "backup" / "msrgan" / "generator.keras")
    r = _run(["cells.png"])
    assert r.exit_code == 0, r.output
    assert io.read_image(tmp_path / "result" / "msrgan_predict" / "cells.png").shape == (40, 48, 3)
    r = _run([generator_path, "cells.png"])  # the former MODEL argument: a one-line hint, nothing written
    assert r.exit_code != 0 and f"pass it as --model {generator_path}" in r.output
