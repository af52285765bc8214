"""The original layout DIR/{train,test}/NN_<id>.png: labels from prefixes, clear errors."""

import numpy as np
import pytest

from data import layout


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_list_split_labels_and_order(tmp_path):
    for name in ["12_b.png", "00_a.png", "03_x_y.tif", "notes.txt", ".00_a.x1y2.tmp.png"]:
        _touch(tmp_path / "train" / name)
    paths, labels = layout.list_split(tmp_path, "train")
    assert [p.name for p in paths] == ["00_a.png", "03_x_y.tif", "12_b.png"]
    assert labels.dtype == np.int64 and labels.tolist() == [0, 3, 12]


def test_label_from_name_and_file_name():
    assert layout.label_from_name("cyto/train/07_18857.png") == 7
    assert layout.file_name(4, "abc") == "04_abc.png"
    assert layout.label_from_name(layout.file_name(11, "q")) == 11
    with pytest.raises(ValueError, match="13_x.png.*outside 00-12"):
        layout.label_from_name("13_x.png")
    with pytest.raises(ValueError, match="7_x.png.*two-digit"):
        layout.label_from_name("7_x.png")
    with pytest.raises(ValueError):
        layout.file_name(13, "x")


def test_errors_name_folder_or_file(tmp_path):
    with pytest.raises(ValueError, match="test.*does not exist"):
        layout.list_split(tmp_path, "test")
    (tmp_path / "test").mkdir()
    with pytest.raises(ValueError, match="test.*no images"):
        layout.list_split(tmp_path, "test")
    _touch(tmp_path / "test" / "00_ok.png")
    _touch(tmp_path / "test" / "99_bad.png")
    with pytest.raises(ValueError, match="99_bad.png"):
        layout.list_split(tmp_path, "test")
    with pytest.raises(ValueError, match="split"):
        layout.list_split(tmp_path, "val")
