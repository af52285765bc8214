"""Domain samplers and conversions (pure numpy), config validation and the image pool."""

import numpy as np
import pytest
import tensorflow as tf
import tifffile

from conftest import disks
from cyclegan_dct import domains
from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.pool import ImagePool
from data.io import ImageError


def test_labels_to_input_and_back():
    lab = disks((40, 40), [(10, 10), (28, 28)], 6)
    x = domains.labels_to_input(lab)
    assert x.shape == (40, 40, 1) and x.dtype == np.float32 and set(np.unique(x)) == {-1.0, 1.0}
    back = domains.output_to_labels(x)
    assert back.dtype == np.uint16 and back.max() == 2 and np.array_equal(back > 0, lab > 0)


def test_output_to_labels_splits_touching_nuclei_with_seeds():
    lab = disks((40, 60), [(20, 20), (20, 33)], 8)  # two overlapping disks, one blob
    x = domains.labels_to_input(lab)
    assert domains.output_to_labels(x).max() == 1
    split = domains.output_to_labels(x, seeds=lab)
    assert split.max() == 2 and np.array_equal(split > 0, lab > 0)
    # foreground without a seed becomes a new instance
    extra = lab.copy()
    extra[2:6, 50:55] = 9
    out = domains.output_to_labels(domains.labels_to_input(extra), seeds=lab)
    assert out.max() == 3


def test_image_to_input_percentiles():
    img = np.arange(100 * 100, dtype=np.uint16).reshape(100, 100)
    x = domains.image_to_input(img)
    assert x.shape == (100, 100, 1) and x.dtype == np.float32
    assert x.min() == -1.0 and x.max() == 1.0 and abs(float(np.median(x))) < 0.02
    rgb = np.stack([img // 256] * 3, -1).astype(np.uint8)
    assert domains.image_to_input(rgb).shape == (100, 100, 1)
    with pytest.raises(ValueError, match="channels"):
        domains.image_to_input(np.zeros((8, 8, 2), np.uint8))


def test_default_real_image():
    img, lab = domains.default_real_image()
    assert img.shape == lab.shape == (512, 512) and img.dtype == np.uint16
    assert len(np.unique(lab)) - 1 == 125


def test_samplers_are_seeded_and_augment():
    stats = domains.fit_stats("stardist")
    a1 = domains.MaskSampler(64, stats, seed=3).sample()
    a2 = domains.MaskSampler(64, stats, seed=3).sample()
    assert a1.shape == (64, 64, 1) and np.array_equal(a1, a2) and (a1 > 0).any()
    imgs = domains.default_images()
    s = domains.ImageSampler(48, imgs, seed=0)
    crops = [s.sample() for _ in range(4)]
    assert all(c.shape == (48, 48, 1) and -1 <= c.min() and c.max() <= 1 for c in crops)
    assert not np.array_equal(crops[0], crops[1])
    with pytest.raises(ValueError, match="smaller than the crop"):
        domains.ImageSampler(1024, imgs)


def test_label_and_image_folders(tmp_path):
    (tmp_path / "m").mkdir()
    tifffile.imwrite(tmp_path / "m" / "a.tif", disks((64, 64), [(20, 20), (40, 44)], 7))
    labels = domains.load_label_folder(tmp_path / "m", crop=32)
    sampler = domains.MaskSampler(32, label_images=labels, seed=0)
    assert sampler.sample_labels().shape == (32, 32)
    stats = domains.fit_stats(str(tmp_path / "m"))
    assert 100 < stats.area_mean < 200
    (tmp_path / "i").mkdir()
    tifffile.imwrite(tmp_path / "i" / "small.tif", np.zeros((16, 16), np.uint16))
    with pytest.raises(ImageError, match="small.tif"):
        domains.load_image_folder(tmp_path / "i", crop=32)
    (tmp_path / "e").mkdir()
    with pytest.raises(ImageError, match="no PNG/TIFF"):
        domains.load_label_folder(tmp_path / "e")


def test_config_validation_names_fields():
    with pytest.raises(ValueError, match="crop=30.*dct_cutoff=0"):
        CycleGANConfig(crop=30, dct_cutoff=0.0)
    assert CycleGANConfig(dct=False).vanilla and CycleGANConfig(dct_cutoff=1.0).vanilla
    assert not CycleGANConfig().vanilla
    c = CycleGANConfig(crop=64, n_blocks=2)
    assert CycleGANConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match="bogus"):
        CycleGANConfig.from_dict({"bogus": 1})


def test_image_pool_rules():
    pool = ImagePool(3, (2, 2, 1), seed=0)
    seen = []
    compiled = tf.function(pool.query)
    for i in range(40):
        x = np.full((1, 2, 2, 1), i, np.float32)
        out = compiled(x).numpy() if i % 2 else pool.query(x).numpy()
        seen.append(out[0, 0, 0, 0])
        stored = pool.images.numpy()[:, 0, 0, 0]
        assert out[0, 0, 0, 0] == i or out[0, 0, 0, 0] in set(range(i))
        assert i in stored or out[0, 0, 0, 0] == i
    assert seen[:3] == [0, 1, 2]  # filling up: the new image is returned
    older = sum(s != i for i, s in enumerate(seen))
    assert 8 <= older <= 32  # about half of the queries after the pool is full return an older image
    assert ImagePool(0, (2, 2, 1)).query(np.ones((2, 2, 2, 1), np.float32)).shape == (2, 2, 2, 1)


def test_train_config_and_pipeline_with_folders(tmp_path):
    """--masks and --images folders feed the tf.data pipeline; the ellipse statistics are fitted to the masks."""
    from cyclegan_dct.pipeline import make_dataset
    from cyclegan_dct.recipe import build_config

    (tmp_path / "m").mkdir()
    (tmp_path / "i").mkdir()
    tifffile.imwrite(tmp_path / "m" / "a.tif", disks((64, 64), [(20, 20), (40, 44)], 7))
    img = np.zeros((64, 80), np.uint16)
    img[10:30, 10:30] = 4000
    tifffile.imwrite(tmp_path / "i" / "b.tif", img + 100)
    config = build_config(crop=32, batch_size=2, masks=str(tmp_path / "m"), images=str(tmp_path / "i"), like="stardist")
    assert 100 < config.mask_stats["area_mean"] < 200  # 7-px disks, not stardist's ~440 px^2 nuclei
    a, b = next(iter(make_dataset(config)))
    assert a.shape == b.shape == (2, 32, 32, 1) and a.dtype == b.dtype == tf.float32
    assert set(np.unique(a.numpy())) <= {-1.0, 1.0} and b.numpy().min() >= -1 and b.numpy().max() <= 1


def test_pipeline_stream_is_stateless_in_start_and_chunk():
    """Batch j of the training stream is the same whatever batch the dataset starts at and however many batches
    one Python call draws (resume replays it), and equals drawing it directly with the seeds (sampler seed, j)."""
    from cyclegan_dct.pipeline import make_dataset, make_samplers, sample_batches
    from cyclegan_dct.recipe import build_config

    config = build_config(crop=16, batch_size=2, like="default", seed=3)
    samplers = make_samplers(config)
    whole = [tuple(t.numpy() for t in ab) for ab, _ in zip(make_dataset(config, 0, samplers, chunk=4), range(7))]
    later = [tuple(t.numpy() for t in ab) for ab, _ in zip(make_dataset(config, 3, samplers, chunk=3), range(4))]
    for (a1, b1), (a2, b2) in zip(whole[3:], later):
        np.testing.assert_array_equal(a1, a2)
        np.testing.assert_array_equal(b1, b2)
    a5, b5 = sample_batches(*samplers, config, 5, 1)
    np.testing.assert_array_equal(whole[5][0], a5)
    np.testing.assert_array_equal(whole[5][1], b5)
    assert not np.array_equal(whole[4][1], whole[5][1])  # batches differ from one another
