"""The segmentation study (msrgan.segmentation, msrgan.evaluate --segmentation): scores, tests, refusals, a run."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import disks
from data import io
from data.segmentation import WatershedParams
from data.stardist_training import StarDistConfig
from msrgan import evaluate
from msrgan.segmentation import SegmentationStudy, compare_methods, score_versions, summarise

CENTRES = [(8, 8), (8, 24), (24, 8), (24, 24)]


def _truth():
    return disks((32, 32), CENTRES, 4).astype(np.int32)


def test_scores_against_truth_and_hr_on_hand_made_label_pairs():
    truth = _truth()
    missing = truth.copy()
    missing[missing == 4] = 0  # 3 TP, 0 FP, 1 FN
    extra = truth.copy()
    extra[14:18, 14:18] = 7  # 4 TP, 1 FP, 0 FN (the square touches no disc)
    segmented = {"HR": [truth, truth], "bicubic": [missing, truth], "sr": [extra, truth]}
    scores = score_versions(segmented, [truth, truth])
    assert scores["HR"]["f1"] == [1.0, 1.0] and "f1_vs_hr" not in scores["HR"]
    assert scores["bicubic"]["recall"] == [pytest.approx(3 / 4), 1.0]
    assert scores["bicubic"]["precision"][0] == 1.0 and scores["bicubic"]["f1"][0] == pytest.approx(6 / 7)
    assert scores["sr"]["precision"][0] == pytest.approx(4 / 5) and scores["sr"]["ap50"][0] == pytest.approx(4 / 5)
    assert scores["sr"]["f1_vs_hr"] == [pytest.approx(8 / 9), 1.0]  # the HR segmentation equals the truth here
    # without truth the HR segmentation stands in: HR scores 1, no f1_vs_hr
    alone = score_versions(segmented)
    assert alone["bicubic"]["f1"] == scores["bicubic"]["f1"] and "f1_vs_hr" not in alone["sr"]
    summary = summarise({"classical": scores})
    assert summary["classical"]["sr"]["f1"]["mean"] == pytest.approx((8 / 9 + 1) / 2)


def test_compare_methods_pairs_images_and_corrects_for_the_family():
    scores = {"classical": {
        "bicubic": {"f1": [0.5, 0.6, 0.7, 0.8, 0.9, 0.6], "map": [0.1] * 6},
        "nearest": {"f1": [0.4, 0.5, 0.6, 0.7, 0.8, 0.5], "map": [0.1] * 6},
        "sr": {"f1": [0.6, 0.8, 1.0, 0.85, 0.95, 0.7], "map": [0.1] * 6},
    }}
    rows = compare_methods(scores, ["sr"], tested=("f1", "map"))
    assert [(r["reference"], r["metric"]) for r in rows] == [("bicubic", "f1"), ("bicubic", "map"),
                                                            ("nearest", "f1"), ("nearest", "map")]
    f1 = rows[0]
    # differences 0.1, 0.2, 0.3, 0.05, 0.05, 0.1: all positive -> W = 0, r = +1, mean 0.8 / 6
    assert f1["wilcoxon"]["statistic"] == 0 and f1["rank_biserial"] == 1.0
    assert f1["t"]["mean_difference"] == pytest.approx(0.8 / 6) and f1["t"]["ci_low"] > 0
    assert rows[1]["wilcoxon"]["pvalue"] == 1.0 and rows[1]["t"]["cohens_dz"] is None
    # Holm over the 4 tests: the smallest p is multiplied by 4, the p = 1 rows stay 1
    ps = sorted(r["wilcoxon"]["pvalue"] for r in rows)
    assert min(r["holm_p"] for r in rows) == pytest.approx(4 * ps[0])
    assert rows[1]["holm_p"] == 1.0


def _write_field(root, split, name, labels, rng, blue=True, label_image=None):
    img = np.zeros(labels.shape + (3,), np.uint8)
    img[..., 1] = rng.integers(0, 60, labels.shape)  # some green everywhere
    if blue:
        img[..., 2] = np.clip(20 + 150 * (labels > 0) + rng.normal(0, 6, labels.shape), 0, 255).astype(np.uint8)
    io.write_png(root / split / name, img)
    if label_image is not False:
        io.write_tiff(root / "labels" / "nuclei" / split / name.replace(".png", ".tif"),
                      labels if label_image is None else label_image)


@pytest.fixture()
def labelled_dir(tmp_path):
    """A 3-image test split (32 px, 4 nuclei each) with exact labels."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    for name in ("00_a.png", "01_b.png", "02_c.png"):
        _write_field(root, "test", name, _truth(), rng)
    return root


BAD = [
    ("missing", lambda d: (d / "labels/nuclei/test/01_b.tif").unlink(), "01_b.tif: missing"),
    ("extra", lambda d: io.write_tiff(d / "labels/nuclei/test/09_z.tif", _truth()), "09_z.tif: label image without"),
    ("size", lambda d: io.write_tiff(d / "labels/nuclei/test/01_b.tif", np.zeros((40, 32), np.uint16)),
     "01_b.tif: label image is 40 x 32 px, its image 32 x 32"),
    ("float", lambda d: io.write_tiff(d / "labels/nuclei/test/02_c.tif", _truth().astype(np.float32)),
     "02_c.tif: is not an integer instance label image"),
    ("no dapi", lambda d: _write_field(d, "test", "01_b.png", _truth(), np.random.default_rng(1), blue=False),
     "01_b.png: has no DAPI-like channel: channel 2 (blue) is constant"),
]


def _study(data_dir, segmenters=("classical",), tmp=None):
    return SegmentationStudy(data_dir, list(segmenters), 2, WatershedParams(), StarDistConfig(), tmp, None)


@pytest.mark.parametrize("case,spoil,problem", BAD, ids=[b[0] for b in BAD])
def test_bad_labels_or_channel_refused_naming_the_file(labelled_dir, case, spoil, problem):
    _study(labelled_dir)  # the fixture is fine
    spoil(labelled_dir)
    with pytest.raises(ValueError) as e:
        _study(labelled_dir)
    assert problem in str(e.value)


def test_unknown_segmenter_and_stardist_without_training_labels(labelled_dir):
    with pytest.raises(ValueError, match="--segmenters: unknown otsu"):
        _study(labelled_dir, ["classical", "otsu"])
    _write_field(labelled_dir, "train", "00_t.png", _truth(), np.random.default_rng(2), label_image=False)
    with pytest.raises(ValueError, match="labels/nuclei/train: missing"):
        _study(labelled_dir, ["stardist"])


@pytest.mark.slow  # the CLI imports TensorFlow
def test_cli_refusal_is_one_line_and_writes_nothing(labelled_dir, tmp_path):
    BAD[0][1](labelled_dir)
    out = tmp_path / "out"
    r = CliRunner().invoke(evaluate.main, ["no_model_needed.keras", "--data-dir", str(labelled_dir), "--out",
                                           str(out), "--segmentation", "--segmenters", "classical"])
    assert r.exit_code != 0 and BAD[0][2] in r.output, r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1 and not out.exists()


@pytest.mark.slow  # builds a generator, runs the PSNR evaluation and a tiny StarDist
def test_segmentation_run_writes_scores_tests_and_figure(labelled_dir, tmp_path, monkeypatch):
    import keras

    import msrgan

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(3)
    for k in range(4):
        _write_field(labelled_dir, "train", f"0{k}_t{k}.png", _truth(), rng)
    keras.utils.set_random_seed(0)
    msrgan.build_generator((None, None, 3), n_blocks=1, filters=4).save(tmp_path / "g.keras")
    out = tmp_path / "out"
    args = ["g.keras", "--data-dir", str(labelled_dir), "--out", str(out), "--segmentation", "--sd-epochs", "1",
            "--sd-steps-per-epoch", "2", "--sd-n-rays", "8", "--sd-unet-depth", "2", "--sd-unet-filters", "4",
            "--sd-batch-size", "2", "--sd-val-fraction", "0.25", "--sd-no-optimize-thresholds"]
    r = CliRunner().invoke(evaluate.main, args)
    assert r.exit_code == 0, r.output
    report = json.loads((out / "segmentation.json").read_text())
    assert report["versions"] == ["HR", "nearest", "bicubic", "g"] and report["learned"] == ["g"]
    assert report["truth"] == "ground-truth nuclei labels" and report["n_images"] == 3
    classical = report["summary"]["classical"]
    assert classical["HR"]["f1"]["values"] == [1.0, 1.0, 1.0]  # 4 clean discs: found exactly
    assert report["segmenters"]["stardist"]["n_train"] == 3 and report["segmenters"]["stardist"]["n_val"] == 1
    assert len(report["tests"]) == 2 * 2 * 4  # 2 segmenters x 2 references x 4 metrics
    assert all(0 <= t["holm_p"] <= 1 and t["holm_p"] >= t["wilcoxon"]["pvalue"] for t in report["tests"])
    md = (out / "segmentation.md").read_text()
    assert "## classical" in md and "## stardist" in md and "| classical | g vs bicubic | f1 |" in md
    fig = io.read_image(out / "segmentation.png")
    assert fig.ndim == 3 and fig.shape[0] > fig.shape[1]  # 3 fields x 2 segmenters rows, 4 columns
    assert (out / "report.json").is_file() and (out / "stardist_model" / "config.json").is_file()
