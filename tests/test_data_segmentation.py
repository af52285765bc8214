"""The classical nuclei segmenter (data.segmentation) on hand-made discs, and instance label files."""

import numpy as np
import pytest

from conftest import disks
from data import io
from data.metrics import iou
from data.segmentation import WatershedParams, read_instance_labels, watershed_nuclei

CENTRES = [(16, 16), (16, 48), (48, 16), (48, 48), (32, 80), (80, 80)]


def _image(labels, rng, noise=8.0):
    """Bright discs (160 grey levels over 20) with Gaussian noise: a fluorescence nuclei image."""
    img = 20.0 + 140.0 * (labels > 0) + rng.normal(0, noise, labels.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _best_iou(truth, pred, k):
    return max(iou(truth == k, pred == j) for j in np.unique(pred[truth == k]) if j)


def test_separate_discs_give_exact_count_and_outlines():
    truth = disks((96, 96), CENTRES, 6)
    pred = watershed_nuclei(_image(truth, np.random.default_rng(0)))
    assert pred.dtype == np.int32 and pred.max() == len(CENTRES) == len(np.unique(pred)) - 1
    for k in range(1, len(CENTRES) + 1):
        assert _best_iou(truth, pred, k) > 0.85


def test_touching_discs_are_split_by_the_watershed():
    # two discs of radius 7 whose centres are 12 px apart overlap in a narrow neck
    truth = disks((64, 64), [(32, 26)], 7)
    truth[disks((64, 64), [(32, 38)], 7) > 0] = 2
    pred = watershed_nuclei(_image(truth, np.random.default_rng(1), noise=4.0), WatershedParams(14))
    assert pred.max() == 2
    assert _best_iou(truth, pred, 1) > 0.8 and _best_iou(truth, pred, 2) > 0.8
    assert len(np.unique(pred[truth == 1])) <= 3  # background and at most both objects touch disc 1


def test_flat_image_has_no_nuclei():
    assert not watershed_nuclei(np.full((32, 32), 7, np.uint8)).any()
    with pytest.raises(ValueError, match="one grey channel"):
        watershed_nuclei(np.zeros((8, 8, 3)))


def test_params_follow_the_nucleus_diameter():
    p = WatershedParams()
    assert (p.nucleus_diameter, p.sigma, p.min_size, p.min_distance) == (12.0, 1.0, 11, 4)
    q = WatershedParams(24)
    assert (q.sigma, q.min_size, q.min_distance) == (2.0, 45, 8)
    with pytest.raises(ValueError, match="nucleus_diameter"):
        WatershedParams(1)


def test_read_instance_labels_and_refusals(tmp_path):
    good = disks((20, 30), [(10, 10)], 4)
    io.write_tiff(tmp_path / "ok.tif", good)
    y = read_instance_labels(tmp_path / "ok.tif", shape=(20, 30))
    assert y.dtype == np.int32 and np.array_equal(y, good)
    io.write_tiff(tmp_path / "float.tif", good.astype(np.float32))
    io.write_tiff(tmp_path / "neg.tif", good.astype(np.int16) - 1)
    io.write_png(tmp_path / "rgb.png", np.zeros((20, 30, 3), np.uint8))
    cases = [("float.tif", None, "not an integer instance label image"), ("neg.tif", None, "negative value"),
             ("rgb.png", None, "one channel"), ("ok.tif", (20, 31), "label image is 20 x 30 px, its image 20 x 31"),
             ("missing.tif", None, "does not exist")]
    for name, shape, problem in cases:
        with pytest.raises(io.ImageError, match=problem) as e:
            read_instance_labels(tmp_path / name, shape)
        assert name in str(e.value)
