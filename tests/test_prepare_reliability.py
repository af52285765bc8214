"""Issue 13 (reliability) for ``data.prepare`` and the configs: stale staging folders, unwritable outputs,
all-or-nothing output, non-empty OUT, --size bound, photographs as --like, config values of the wrong type."""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import immutable
from data import io
from data.masks import DEFAULT_STATS, fit_mask_stats, random_ellipse_labels
from data.prepare import cli

VALUES = {"red": 10, "green": 20, "blue": 30}


def _hpa_input(folder, n=3, size=16):
    folder.mkdir()
    for i in range(n):
        for stain, value in VALUES.items():
            io.write_png(folder / f"f{i}_{stain}.png", np.full((size, size), value + i, np.uint8))
    return folder


def _invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def _one_error_line(result):
    lines = [ln for ln in result.output.splitlines() if ln.strip() and not ln.startswith("Merging")]
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


def test_stale_staging_folders_of_this_output_are_removed(tmp_path):
    """A kill during ``data.prepare`` leaves its hidden staging folder beside OUT; the next run removes it."""
    out = tmp_path / "masks"
    stale = tmp_path / ".masks.k1ll3d.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "0000.tif").write_bytes(b"half")
    other = tmp_path / ".other.k1ll3d.tmp"  # another output's: not ours to remove
    other.mkdir()
    result = _invoke("masks", out, "--n", "1", "--size", "32")
    assert result.exit_code == 0, result.output
    assert not stale.exists() and other.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.k1ll3d.tmp", "masks"]


def test_non_empty_output_is_refused_unless_overwrite_which_replaces_it_whole(tmp_path):
    src = _hpa_input(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.png").write_bytes(b"old")
    line = _one_error_line(_invoke("hpa", src, out, "--size", "8"))
    assert str(out) in line and "--overwrite" in line
    assert [p.name for p in out.iterdir()] == ["old.png"]  # untouched
    result = _invoke("hpa", src, out, "--size", "8", "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["f0.png", "f1.png", "f2.png"]  # old.png gone: replaced whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]  # no staging or old folder left
    result = _invoke("hpa", src, tmp_path / "empty_ok", "--size", "8")  # a new folder needs no --overwrite
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("fail_on", [1, 2])
def test_output_appears_whole_or_not_at_all(tmp_path, monkeypatch, fail_on):
    """A failure while the output is moved into OUT (here the ``fail_on``-th move into it) leaves no partial OUT:
    the whole output arrives in one rename of the staged folder."""
    src = _hpa_input(tmp_path / "in")
    out = tmp_path / "out"
    calls = []

    def failing(real):
        def move(a, b, *args, **kwargs):
            if os.fspath(b) == os.fspath(out) or os.fspath(b).startswith(os.fspath(out) + os.sep):
                calls.append(b)
                if len(calls) == fail_on:
                    raise OSError(28, "No space left on device")
            return real(a, b, *args, **kwargs)
        return move

    monkeypatch.setattr(os, "replace", failing(os.replace))
    monkeypatch.setattr(os, "rename", failing(os.rename))
    result = _invoke("hpa", src, out, "--size", "8", "--labels", _labels(tmp_path))
    monkeypatch.undo()
    if fail_on == 1:
        line = _one_error_line(result)
        assert str(out) in line and "No space left" in line
        assert not out.exists()
    else:  # one move only: nothing failed
        assert result.exit_code == 0, result.output
        assert (out / "labels.csv").is_file() and len(list(out.rglob("*.png"))) == 3
    assert len(calls) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "labels.csv"] + (["out"] if fail_on == 2 else [])


def _labels(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("Id,Target\nf0,0\nf1,1\nf2,2 5\n")
    return path


@pytest.mark.slow
def test_unwritable_output_folder_is_one_line(tmp_path):
    src = _hpa_input(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    with immutable(out):
        line = _one_error_line(_invoke("hpa", src, out, "--size", "8"))
    assert str(out) in line and "not permitted" in line
    assert not any(out.iterdir()) and sorted(p.name for p in tmp_path.iterdir()) == ["in", "out"]


@pytest.mark.slow
def test_unwritable_parent_of_a_new_output_is_one_line(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    with immutable(parent):
        line = _one_error_line(_invoke("masks", parent / "new" / "masks", "--n", "1", "--size", "32"))
        assert str(parent / "new") in line and "not permitted" in line
        line = _one_error_line(_invoke("demo", parent / "demo", "--n", "26"))
        assert str(parent) in line
    assert not any(parent.iterdir())


def test_size_beyond_the_limit_is_refused_before_any_work(tmp_path):
    MAX_SIZE = 4096  # data.prepare.MAX_SIZE, documented in docs/running.md
    for args in (["hpa", tmp_path / "missing", tmp_path / "o"], ["masks", tmp_path / "o"]):
        result = _invoke(*args, "--size", "100000")
        assert result.exit_code == 2 and "--size" in result.output and str(MAX_SIZE) in result.output, result.output
    assert not (tmp_path / "o").exists()


def test_a_grey_photograph_is_not_taken_for_instance_labels(tmp_path):
    from data.masks import label_image_problem

    rng = np.random.default_rng(0)
    photo = (rng.normal(120, 30, (64, 64))).clip(0, 255).astype(np.uint8)  # 185-ish grey values, scattered
    io.write_png(tmp_path / "photo.png", photo)
    line = _one_error_line(_invoke("masks", tmp_path / "m", "--like", tmp_path / "photo.png"))
    assert str(tmp_path / "photo.png") in line and "instance labels" in line
    assert not (tmp_path / "m").exists()
    # smooth photograph: few values, but each scattered over the image in many pieces
    smooth = (np.add.outer(np.arange(64), np.arange(64)) // 8 % 3 * 60 + rng.integers(0, 2, (64, 64))).astype(np.uint8)
    assert "pieces" in label_image_problem(smooth)
    # real-looking labels (ellipses, with touching neighbours) are accepted, binary masks too (one label)
    labels = random_ellipse_labels((128, 128), DEFAULT_STATS.replace(density=2e-3, area_mean=80, area_std=10), rng=1)
    assert label_image_problem(labels) is None and label_image_problem((labels > 0).astype(np.uint8)) is None
    fit_mask_stats(labels)


def test_config_value_of_the_wrong_type_names_the_key(tmp_path):
    from cyclegan_dct.config import CycleGANConfig
    from msrgan.config import MSRGANConfig

    with pytest.raises(ValueError, match=r"dct_cutoff='high' \(must be a number\)"):
        CycleGANConfig(dct_cutoff="high")
    with pytest.raises(ValueError, match=r"epochs='3' \(must be an integer\)"):
        MSRGANConfig(epochs="3")
    assert CycleGANConfig(dct_cutoff=1).dct_cutoff == 1  # an int is a number
    assert MSRGANConfig(steps_per_epoch=None, vgg_weights=None).vgg_weights is None  # None where the field allows it
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**CycleGANConfig().to_dict(), "dct_cutoff": "high"}))
    with pytest.raises(ValueError, match=f"{path}: .*dct_cutoff='high'"):
        CycleGANConfig.load(path)


def test_generate_with_a_broken_config_names_file_and_key(tmp_path):
    from cyclegan_dct import generate
    from cyclegan_dct.config import CycleGANConfig

    run = tmp_path / "run"
    run.mkdir()
    for text, expected in (("{not json", "not a JSON config"),
                           (json.dumps({**CycleGANConfig().to_dict(), "dct_cutoff": "high"}), "dct_cutoff='high'")):
        (run / "config.json").write_text(text)
        result = CliRunner().invoke(generate.main, ["--model-dir", str(run), "--out", str(tmp_path / "o")])
        line = _one_error_line(result)
        assert str(run / "config.json") in line and expected in line
    assert not (tmp_path / "o").exists()
