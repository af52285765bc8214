"""`python -m data.prepare demo` and `masks`: written layout, contents, stats, errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from data import io, layout, synthetic
from data.masks import DEFAULT_STATS, random_ellipse_labels
from data.prepare import cli


def test_demo_writes_original_layout(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(out), "--n", "39", "--test-fraction", "0.2", "--seed", "2"])
    assert result.exit_code == 0, result.output
    paths, labels = layout.list_split(out, "train")
    tpaths, tlabels = layout.list_split(out, "test")
    assert len(paths) == 31 and len(tpaths) == 8
    x, y = synthetic.demo_split("test", n=39, test_fraction=0.2, seed=2)
    ids = synthetic.split_indices("test", 39, 0.2, seed=2)
    by_name = {p.name: io.read_image(p) for p in tpaths}
    for k in range(len(y)):
        np.testing.assert_array_equal(by_name[f"{y[k]:02d}_demo{ids[k]:05d}.png"], x[k])
    assert len((out / "labels.csv").read_text().splitlines()) == 40


def test_demo_labels_are_written_beside_each_field(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(out), "--n", "26", "--labels"])
    assert result.exit_code == 0, result.output
    _, y, nuclei, cells = synthetic.demo_split("train", n=26, with_labels=True)
    ids = synthetic.split_indices("train", 26, 0.1)
    paths, _ = layout.list_split(out, "train")  # the label TIFFs are not taken for images
    assert len(paths) == len(nuclei) == 23
    for k in range(len(y)):
        path = out / "train" / f"{y[k]:02d}_demo{ids[k]:05d}.png"
        for kind, expected in (("nuclei", nuclei[k]), ("cells", cells[k])):
            label_image = io.read_image(layout.label_path(out, "train", path, kind))
            assert label_image.dtype == np.uint16
            np.testing.assert_array_equal(label_image, expected)
    assert len(list((out / "labels" / "nuclei" / "test").iterdir())) == 3
    plain = tmp_path / "plain"
    assert CliRunner().invoke(cli, ["demo", str(plain), "--n", "13"]).exit_code == 0
    assert not (plain / "labels").exists()


def test_demo_test_split_is_stratified_by_class(tmp_path):
    # issue 14: `--n 26` used to put only classes 00-02 in the test split
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(out), "--n", "26"])
    assert result.exit_code == 0, result.output
    _, labels = layout.list_split(out, "train")
    _, tlabels = layout.list_split(out, "test")
    assert len(tlabels) == 3 and len(set(tlabels)) == 3 and sorted(tlabels) != [0, 1, 2]
    gaps = np.diff(sorted(tlabels))
    assert gaps.min() >= 3  # spread over the 13 classes
    assert sorted(set(labels)) == list(range(13))  # every class keeps a training image


def test_masks_cli_defaults_like_and_overlap(tmp_path):
    out = tmp_path / "masks"
    result = CliRunner().invoke(cli, ["masks", str(out), "--n", "3", "--size", "64", "--seed", "1"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.glob("*.tif"))
    assert files == ["0000.tif", "0001.tif", "0002.tif"]
    lab = io.read_image(out / "0001.tif")
    assert lab.dtype == np.uint16 and lab.shape == (64, 64) and lab.max() > 0
    meta = json.loads((out / "mask_stats.json").read_text())
    assert meta["stats"] == DEFAULT_STATS.to_dict()

    # --like: fit from a real-looking label image with big nuclei; the masks follow it
    real = random_ellipse_labels((256, 256), DEFAULT_STATS.replace(area_mean=1200, area_std=100, density=8e-5,
                                                                    density_std=0), rng=0)
    io.write_tiff(tmp_path / "real.tif", real)
    out2 = tmp_path / "masks2"
    result = CliRunner().invoke(cli, ["masks", str(out2), "--n", "2", "--size", "128", "--like",
                                      str(tmp_path / "real.tif"), "--max-overlap", "0.0"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out2 / "mask_stats.json").read_text())
    assert 1000 < meta["stats"]["area_mean"] < 1300 and meta["stats"]["max_overlap"] == 0.0


def test_masks_like_errors_leave_no_output(tmp_path):
    out = tmp_path / "m"
    io.write_png(tmp_path / "rgb.png", np.zeros((8, 8, 3), np.uint8))
    for like, msg in [("rgb.png", "2-D"), ("missing.tif", "does not exist")]:
        result = CliRunner().invoke(cli, ["masks", str(out), "--like", str(tmp_path / like)])
        assert result.exit_code != 0 and like in result.output and msg in result.output
        assert not out.exists()


@pytest.mark.slow
def test_module_entry_point(tmp_path):
    run = subprocess.run([sys.executable, "-m", "data.prepare", "masks", str(tmp_path / "o"), "--n", "1",
                          "--size", "32"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "data.prepare", "hpa", str(tmp_path / "none"), str(tmp_path / "x")],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "none" in run.stderr
