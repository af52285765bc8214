"""Evaluation report (msrgan.comparison, msrgan.evaluation) and the evaluate CLI (msrgan.evaluate) on tiny folders."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

import msrgan
from data import io
from msrgan import comparison, evaluate, evaluation, predict


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


def test_evaluate_cli_writes_finite_report_and_figure(setup, monkeypatch):
    monkeypatch.chdir(setup)  # no backup/srcnn/srcnn.keras here
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


@pytest.fixture(scope="module")
def run_with_baselines(tmp_path_factory):
    """A run folder with generator.keras, generator_pretrained.keras, srcnn.keras, and one other generator."""
    import keras

    root = tmp_path_factory.mktemp("baselines")
    keras.utils.set_random_seed(0)
    run = root / "run"
    run.mkdir()
    msrgan.build_generator((None, None, 3), n_blocks=1, filters=4).save(run / "generator.keras")
    msrgan.build_generator((None, None, 3), n_blocks=1, filters=4).save(run / "generator_pretrained.keras")
    (root / "backup" / "srcnn").mkdir(parents=True)
    msrgan.build_srcnn((None, None, 3)).save(root / "backup" / "srcnn" / "srcnn.keras")
    (root / "other").mkdir()
    msrgan.build_generator((None, None, 3), n_blocks=1, filters=8).save(root / "other" / "g.keras")
    # not a 4x generator: same-size output
    inp = keras.Input((None, None, 3))
    keras.Model(inp, keras.layers.Conv2D(3, 3, padding="same")(inp)).save(root / "same_size.keras")
    grey = keras.Input((None, None, 1))
    keras.Model(grey, keras.layers.UpSampling2D(4)(grey)).save(root / "grey.keras")
    fixed = keras.Input((8, 8, 3))
    keras.Model(fixed, keras.layers.UpSampling2D(4)(fixed)).save(root / "fixed.keras")
    return root


def test_evaluate_demo_images_with_baselines_compare_and_paired_tests(run_with_baselines, monkeypatch):
    root = run_with_baselines
    monkeypatch.chdir(root)  # the default SRCNN, backup/srcnn/srcnn.keras, is found relative to the working folder
    out = root / "report"
    args = [str(root / "run" / "generator.keras"), "--compare", str(root / "other" / "g.keras"),
            "--max-images", "5", "--n-show", "2", "--out", str(out)]
    r = CliRunner().invoke(evaluate.main, args)
    assert r.exit_code == 0, r.output
    report = json.loads((out / "report.json").read_text())
    order = ["nearest", "bicubic", "srcnn", "generator_pretrained", "generator", "g"]
    assert report["method_order"] == order and report["n_images"] == 5
    assert report["roles"] == {"srcnn": "srcnn", "generator_pretrained": "pretrained", "generator": "model",
                               "g": "compare"}
    tests = report["paired_tests"]["methods"]
    assert report["paired_tests"]["reference"] == "bicubic" and set(tests) == set(order) - {"bicubic"}
    methods = report["methods"]
    for m, t in tests.items():
        for k in ("psnr", "ssim"):
            d = np.subtract(methods[m][k]["values"], methods["bicubic"][k]["values"])
            assert t[k]["n"] == 5 and t[k]["median_difference"] == pytest.approx(np.median(d))
            assert 0 < t[k]["pvalue"] <= 1
    # an untrained generator loses to bicubic on every image: all 5 differences negative, exact p = 2 / 2^5
    assert tests["generator"]["psnr"]["statistic"] == 0
    assert tests["generator"]["psnr"]["pvalue"] == pytest.approx(0.0625)
    assert report["qc_maps"]["method"] == "generator" and len(report["qc_maps"]["images"]) == 2
    md = (out / "report.md").read_text()
    assert "Paired Wilcoxon signed-rank test" in md and "| srcnn |" in md and "| g | -" in md
    fig = io.read_image(out / "comparison.png")
    assert fig.shape[1] > 2.5 * fig.shape[0]  # 2 rows, 9 columns: LR, bicubic, 4 models, HR, 2 maps


def test_no_siblings_and_explicit_srcnn(run_with_baselines, tmp_path, monkeypatch):
    root = run_with_baselines
    monkeypatch.chdir(root)
    args = [str(root / "run" / "generator.keras"), "--no-siblings", "--max-images", "2", "--out", str(tmp_path)]
    r = CliRunner().invoke(evaluate.main, args)
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "report.json").read_text())["method_order"] == ["nearest", "bicubic", "generator"]
    srcnn = root / "backup" / "srcnn" / "srcnn.keras"
    entries = evaluation.collect_models([root / "other" / "g.keras"], srcnn=srcnn, compare=[srcnn])
    assert [role for _, role in entries] == ["srcnn", "model"]  # the same file is evaluated once
    # a model that is itself the default srcnn.keras or a generator_pretrained.keras keeps its listed role
    entries = evaluation.collect_models([srcnn, root / "run" / "generator_pretrained.keras"],
                                        compare=[root / "run" / "generator.keras"], default_srcnn=srcnn)
    assert [(p.name, role) for p, role in entries] == [("srcnn.keras", "model"),
                                                      ("generator_pretrained.keras", "model"),
                                                      ("generator.keras", "compare")]
    # --srcnn PATH wins over the default; the default is not looked for without siblings
    assert evaluation.collect_models([], srcnn=root / "x.keras", default_srcnn=srcnn) == [(root / "x.keras", "srcnn")]
    assert evaluation.collect_models([], siblings=False, default_srcnn=srcnn) == []


@pytest.mark.parametrize("bad, problem", [("missing.keras", "no such model file"),
                                          ("same_size.keras", "not a 4x generator: an 8 x 8 input gives 8 x 8"),
                                          ("grey.keras", "input shape (None, None, 1), expected (None, None, 3)"),
                                          ("fixed.keras", "input shape (8, 8, 3)")])
def test_bad_compare_model_names_the_file_and_writes_nothing(run_with_baselines, tmp_path, bad, problem):
    """The evaluation refuses a model msrgan.load_generator refuses (msrgan.predict runs the same check)."""
    root = run_with_baselines
    out = tmp_path / "out"
    args = [str(root / "run" / "generator.keras"), "--compare", f"{root / 'other' / 'g.keras'},{root / bad}",
            "--max-images", "2", "--out", str(out)]
    r = CliRunner().invoke(evaluate.main, args)
    assert r.exit_code != 0
    assert f"{root / bad}: " in r.output and problem in r.output
    assert not out.exists()
    if bad != "missing.keras":  # msrgan.predict loads through the same check
        image = tmp_path / "in.png"
        io.write_png(image, np.zeros((8, 8, 3), np.uint8))
        r = CliRunner().invoke(predict.main, ["--model", str(root / bad), str(image), "--out", str(tmp_path / "sr")])
        assert r.exit_code != 0 and f"{root / bad}: " in r.output and problem in r.output
        assert not (tmp_path / "sr").exists()


def test_report_figure_has_qc_columns_and_colour_bars():
    rng = np.random.default_rng(5)
    hr = _smooth_image(rng, 24)
    sr = hr.copy()
    sr[4:10, 4:10] = 0
    shown = [{"LR": hr[::4, ::4], "bicubic": hr, "g": sr, "HR": hr}]
    scores = comparison.Scores(["bicubic", "g"])
    scores.add(hr, {"bicubic": hr, "g": sr})
    plain = comparison.report_figure(shown, scores.summary(), ["bicubic", "g"])
    qc = comparison.report_figure(shown, scores.summary(), ["bicubic", "g"], qc_method="g")
    assert qc.shape[0] == plain.shape[0] and qc.shape[1] > plain.shape[1] * 1.4
    ssim_cell, err_cell = comparison.qc_maps(hr, sr)
    assert err_cell.values[4:10, 4:10].min() > 0 and err_cell.values[10:, 10:].max() == 0
    assert ssim_cell.values[13:, 13:].min() == pytest.approx(1.0) and ssim_cell.values[4:10, 4:10].max() < 1
