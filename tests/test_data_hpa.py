"""HPA channel merge and `python -m data.prepare hpa`: channel order, sizes, labels, errors, no partial output."""

import numpy as np
import pytest
from click.testing import CliRunner

from data import hpa, io, layout
from data.prepare import cli

VALUES = {"red": 10, "green": 20, "blue": 30, "yellow": 40}


def _write_field(folder, field_id, size=32, suffix=".png", dtype=np.uint8, stains=VALUES, **overrides):
    for stain, value in stains.items():
        img = np.full(overrides.get(stain, (size, size)), value, dtype)
        if dtype == np.uint16:
            img = img * np.uint16(257)
        io.write_image(folder / f"{field_id}_{stain}{suffix}", img)


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_channel_order_and_bit_depth(tmp_path, suffix, dtype):
    _write_field(tmp_path, "f1", suffix=suffix, dtype=dtype)
    fields = hpa.group_stain_files(tmp_path)
    rgb = hpa.merge_field("f1", fields["f1"], size=16)
    assert rgb.dtype == np.uint8 and rgb.shape == (16, 16, 3)
    assert rgb[..., 0].max() == rgb[..., 0].min() == 10  # R = red (microtubules)
    assert rgb[..., 1].max() == 20  # G = green (protein)
    assert rgb[..., 2].max() == 30  # B = blue (DAPI); yellow (40) nowhere
    assert 40 not in rgb


def test_resize_uses_area_interpolation(tmp_path):
    # a 1-px checkerboard shrunk 2x by area averaging becomes flat grey
    board = ((np.indices((8, 8)).sum(0) % 2) * 200).astype(np.uint8)
    for stain in hpa.RGB_STAINS:
        io.write_png(tmp_path / f"c_{stain}.png", board)
    rgb = hpa.merge_field("c", hpa.group_stain_files(tmp_path)["c"], size=4)
    assert (rgb == 100).all()
    same = hpa.merge_field("c", hpa.group_stain_files(tmp_path)["c"], size=None)
    np.testing.assert_array_equal(same[..., 1], board)


def test_cli_without_labels(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(3):
        _write_field(src, f"id{i}")
    result = CliRunner().invoke(cli, ["hpa", str(src), str(out), "--size", "16"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["id0.png", "id1.png", "id2.png"]
    img = io.read_image(out / "id1.png")
    assert img.shape == (16, 16, 3) and img[0, 0].tolist() == [10, 20, 30]


def test_cli_with_labels_writes_original_layout(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    ids = [f"id{i}" for i in range(10)]
    for i in ids:
        _write_field(src, i, size=8)
    csv = tmp_path / "train.csv"
    csv.write_text("Id,Target\n" + "".join(f"id{i},{i % 13} 5\n" for i in range(10)) + "other,1\n")
    result = CliRunner().invoke(cli, ["hpa", str(src), str(out), "--size", "8", "--labels", str(csv),
                                      "--test-fraction", "0.2", "--seed", "1"])
    assert result.exit_code == 0, result.output
    train, ytr = layout.list_split(out, "train")
    test, yte = layout.list_split(out, "test")
    assert len(train) == 8 and len(test) == 2
    names = {p.name for p in train + test}
    assert names == {f"{i % 13:02d}_id{i}.png" for i in range(10)}
    rows = (out / "labels.csv").read_text().splitlines()
    assert rows[0] == "Id,Target,Split,File" and len(rows) == 11
    assert "id3,3 5,train,train/03_id3.png" in rows or "id3,3 5,test,test/03_id3.png" in rows


def _assert_no_output(out):
    assert not out.exists() or not any(out.iterdir())
    assert not any(p.name.startswith(f".{out.name}.") for p in out.parent.iterdir())


def test_missing_stain_fails_without_output(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _write_field(src, "good")
    _write_field(src, "bad", stains={"red": 1, "blue": 3})
    result = CliRunner().invoke(cli, ["hpa", str(src), str(out)])
    assert result.exit_code != 0
    assert "bad_green.png" in result.output and "missing" in result.output
    _assert_no_output(out)


def test_corrupt_file_fails_without_output_and_skip_bad_reports(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    _write_field(src, "a")
    _write_field(src, "b")
    _write_field(src, "c")
    (src / "b_green.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = CliRunner().invoke(cli, ["hpa", str(src), str(out)])
    assert result.exit_code != 0 and "b_green.png" in result.output
    _assert_no_output(out)
    result = CliRunner().invoke(cli, ["hpa", str(src), str(out), "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "b_green.png" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "c.png"]


def test_size_mismatch_channels_labels_and_empty_folder(tmp_path):
    runner = CliRunner()
    src, out = tmp_path / "in", tmp_path / "out"
    _write_field(src, "m", red=(16, 16))
    result = runner.invoke(cli, ["hpa", str(src), str(out)])
    assert result.exit_code != 0 and "sizes differ" in result.output and "m_green.png" in result.output
    _assert_no_output(out)

    src2 = tmp_path / "in2"
    _write_field(src2, "rgb", green=(32, 32, 3))
    result = runner.invoke(cli, ["hpa", str(src2), str(out)])
    assert result.exit_code != 0 and "rgb_green.png" in result.output and "3 channels" in result.output

    src3 = tmp_path / "in3"
    _write_field(src3, "x")
    csv = tmp_path / "l.csv"
    csv.write_text("Id,Target\nx,16 0\n")
    result = runner.invoke(cli, ["hpa", str(src3), str(out), "--labels", str(csv)])
    assert result.exit_code != 0 and "outside 00-12" in result.output and "field x" in result.output
    _assert_no_output(out)

    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(cli, ["hpa", str(empty), str(out)])
    assert result.exit_code != 0 and "no HPA stain files" in result.output
    result = runner.invoke(cli, ["hpa", str(tmp_path / "nope"), str(out)])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_split_ids_seeded():
    ids = [f"i{k}" for k in range(50)]
    tr, te = hpa.split_ids(ids, 0.2, seed=4)
    assert len(te) == 10 and set(tr) | set(te) == set(ids) and not set(tr) & set(te)
    assert hpa.split_ids(ids, 0.2, seed=4) == (tr, te) != hpa.split_ids(ids, 0.2, seed=5)
