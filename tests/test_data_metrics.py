"""PSNR, SSIM, Dice, IoU and instance matching against hand-computed values."""

import numpy as np
import pytest

from conftest import disks
from data import metrics


def test_psnr_known_value():
    ref = np.zeros((8, 8, 3), np.uint8)
    test = ref.copy()
    test[0, 0, 0] = 16  # MSE = 256 / 192
    assert metrics.psnr(ref, test) == pytest.approx(10 * np.log10(255**2 / (256 / 192)))
    assert metrics.psnr(ref, ref) == float("inf")
    assert metrics.psnr(ref.astype(np.float32) / 255, test / 255.0, data_range=1.0) == pytest.approx(
        metrics.psnr(ref, test))


def test_ssim_identity_and_degradation():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
    assert metrics.ssim(ref, ref) == pytest.approx(1.0)
    noisy = np.clip(ref + rng.normal(0, 40, ref.shape), 0, 255).astype(np.uint8)
    assert 0 < metrics.ssim(ref, noisy) < 0.9
    assert metrics.ssim(ref[..., 0], ref[..., 0]) == pytest.approx(1.0)  # greyscale
    assert metrics.ssim(ref[:5, :5], noisy[:5, :5]) < 1  # small images use a smaller window
    with pytest.raises(ValueError, match="shape"):
        metrics.ssim(ref, ref[:16])


def test_dice_iou():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[:4] = True  # 40 px
    b[2:6] = True  # 40 px, 20 shared
    assert metrics.dice(a, b) == pytest.approx(2 * 20 / 80)
    assert metrics.iou(a, b) == pytest.approx(20 / 60)
    assert metrics.dice(a, a) == metrics.iou(a, a) == 1.0
    assert metrics.dice(a, ~a) == metrics.iou(a, ~a) == 0.0
    empty = np.zeros((3, 3), np.uint16)
    assert metrics.dice(empty, empty) == metrics.iou(empty, empty) == 1.0
    labels = np.array([[0, 3], [7, 0]], np.uint16)  # instance labels count as foreground
    assert metrics.iou(labels, labels > 0) == 1.0
    with pytest.raises(ValueError):
        metrics.dice(a, b[:5])


def test_qc_maps_identical_images():
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 256, (24, 20, 3)).astype(np.uint8)
    smap, emap = metrics.ssim_map(ref, ref), metrics.abs_error_map(ref, ref)
    assert smap.shape == emap.shape == (24, 20)
    np.testing.assert_allclose(smap, 1.0)
    assert not emap.any()
    assert metrics.ssim_map(ref[..., 0], ref[..., 0]).shape == (24, 20)  # greyscale


def test_qc_maps_locate_a_perturbed_region():
    rng = np.random.default_rng(4)
    ref = rng.integers(40, 216, (32, 32, 3)).astype(np.uint8)
    test = ref.copy()
    test[8:14, 18:26, 1] += 30  # one channel of a 6 x 8 block, +30 grey levels
    emap = metrics.abs_error_map(ref, test)
    expected = np.zeros((32, 32))
    expected[8:14, 18:26] = 10.0  # 30 in one of three channels
    np.testing.assert_allclose(emap, expected)
    smap = metrics.ssim_map(ref, test)
    # 7 x 7 windows: SSIM drops only within 3 px of the block, and is exactly 1 elsewhere
    near = np.zeros((32, 32), bool)
    near[8 - 3:14 + 3, 18 - 3:26 + 3] = True
    np.testing.assert_allclose(smap[~near], 1.0)
    assert smap[8:14, 18:26].max() < 0.99 and smap.argmin() in np.flatnonzero(near)
    # the metric is the mean of the map without its 3 px border
    assert metrics.ssim(ref, test) == pytest.approx(smap[3:-3, 3:-3].mean())
    with pytest.raises(ValueError, match="shape"):
        metrics.abs_error_map(ref, test[:8])


# ------------------------------------------------------------------ the TF metrics of every test_step
def test_tf_metrics_equal_data_metrics():
    """data.tf_metrics (validation PSNR/SSIM of every test_step) against data.metrics, per image."""
    import tensorflow as tf

    from data.tf_metrics import psnr_8bit, ssim_8bit

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (3, 20, 17, 3)).astype(np.float32)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape).round(), 0, 255).astype(np.float32)
    got_p = psnr_8bit(tf.constant(hr), tf.constant(sr)).numpy()
    got_s = ssim_8bit(tf.constant(hr), tf.constant(sr)).numpy()
    for i in range(3):
        assert got_p[i] == pytest.approx(metrics.psnr(hr[i].astype(np.uint8), sr[i].astype(np.uint8)), abs=1e-4)
        assert got_s[i] == pytest.approx(metrics.ssim(hr[i].astype(np.uint8), sr[i].astype(np.uint8)), abs=1e-5)


def test_srcnn_and_msrgan_validation_scores_are_data_metrics():
    """Both test_steps score with data.tf_metrics: SRCNN's batch SSIM is the mean of data.metrics.ssim."""
    import tensorflow as tf

    from data.io import from_model_range
    from msrgan.srcnn import SRCNN, build_srcnn

    rng = np.random.default_rng(1)
    hr = rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32)
    sr = np.clip(hr + rng.normal(0, 0.1, hr.shape), -1, 1).astype(np.float32)
    scores = SRCNN(build_srcnn((None, None, 3), 4, (4, 2)))._scores(tf.constant(hr), tf.constant(sr))
    hr8, sr8 = from_model_range(hr), from_model_range(sr)
    assert float(scores["ssim"]) == pytest.approx(np.mean([metrics.ssim(a, b) for a, b in zip(hr8, sr8)]), abs=1e-5)
    assert float(scores["psnr"]) == pytest.approx(np.mean([metrics.psnr(a, b) for a, b in zip(hr8, sr8)]), abs=1e-3)


def test_matching_label_image_against_itself_and_with_a_nucleus_removed():
    centres = [(12, 12), (12, 40), (40, 12), (40, 40), (26, 26)]
    labels = disks((56, 56), centres, 5)
    same = metrics.segmentation_scores([labels], [labels.copy()])
    assert same["f1"] == 1.0 and same["precision"] == 1.0 and same["recall"] == 1.0 and same["ap"] == 1.0
    assert same["mean_f1"] == 1.0 and same["n_true"] == 5
    assert list(same["per_threshold"]) == [f"{t:.2f}" for t in metrics.IOU_THRESHOLDS]
    missing = labels.copy()
    missing[missing == 3] = 0
    s = metrics.segmentation_scores([labels], [missing])
    assert (s["tp"], s["fp"], s["fn"]) == (4, 0, 1)
    assert s["recall"] == pytest.approx(4 / 5) and s["precision"] == 1.0
    assert s["f1"] == pytest.approx(2 * 4 / (2 * 4 + 1)) and s["ap"] == pytest.approx(4 / 5)
    # PQ = SQ x RQ: matched IoU 1, RQ = F1
    assert s["panoptic_quality"] == pytest.approx(8 / 9) and s["mean_ap"] == pytest.approx(4 / 5)
    # one false positive far from the others, one nucleus shrunk below IoU 0.75 (counts at 0.5..0.7 only)
    extra = labels.copy()
    extra[50:54, 50:54] = 9
    extra[(extra == 5) & ~disks((56, 56), [(26, 26)], 4).astype(bool)] = 0  # r 5 -> 4: IoU 49/81 = 0.6
    e = metrics.segmentation_scores([labels], [extra], metrics.COCO_THRESHOLDS)
    assert (e["tp"], e["fp"], e["fn"], e["n_pred"]) == (5, 1, 0, 6)
    aps = [5 / 6] * 3 + [4 / 7] * 7  # thresholds 0.5, 0.55, 0.6 | 0.65 .. 0.95
    assert e["mean_ap"] == pytest.approx(np.mean(aps))
    assert list(e["per_threshold"]) == [f"{t:.2f}" for t in metrics.COCO_THRESHOLDS]
    # pooled over images: the second image is perfect
    pooled = metrics.segmentation_scores([labels, labels], [missing, labels])
    assert pooled["recall"] == pytest.approx(9 / 10) and pooled["n_true"] == 10
    with pytest.raises(ValueError):
        metrics.segmentation_scores([labels], [])
