"""tf.data pipelines: shapes, ranges, labels, determinism, augmentation, folder decoding and errors."""

import cv2
import numpy as np
import pytest
import tensorflow as tf

from data import augment, io, pipeline, synthetic


def test_sr_pairs_from_demo_data():
    lr, hr = next(iter(pipeline.sr_pair_dataset(batch_size=4, demo_n=26)))
    assert lr.shape == (4, 24, 24, 3) and hr.shape == (4, 96, 96, 3)
    assert lr.dtype == tf.float32 and hr.dtype == tf.float32
    for x in (lr, hr):
        assert -1.0 <= float(tf.reduce_min(x)) and float(tf.reduce_max(x)) <= 1.0
    np.testing.assert_allclose(lr, pipeline.downscale(hr), atol=1e-6)


def test_downscale_is_bicubic_resize_and_works_in_tf_function():
    hr = tf.random.stateless_uniform((2, 96, 96, 3), (1, 2), -1, 1)
    expect = tf.clip_by_value(tf.image.resize(hr, (24, 24), method="bicubic"), -1, 1)
    np.testing.assert_allclose(pipeline.downscale(hr), expect, atol=1e-6)
    f = tf.function(lambda x: pipeline.downscale(x), input_signature=[tf.TensorSpec((None, None, None, 3))])
    assert f(hr[:, :64, :80]).shape == (2, 16, 20, 3)
    assert pipeline.downscale(hr[0], factor=2).shape == (48, 48, 3)


def test_classification_test_split_is_exact_and_ordered():
    x, y = synthetic.demo_split("test", n=130)
    ds = pipeline.classification_dataset(split="test", batch_size=8, demo_n=130, repeat=False)
    xs, ys = zip(*[(a.numpy(), b.numpy()) for a, b in ds])
    xs, ys = np.concatenate(xs), np.concatenate(ys)
    assert ys.dtype == np.int32 and len(ys) == 13  # last partial batch kept without repeat
    np.testing.assert_array_equal(ys, y)
    np.testing.assert_allclose(xs, x / 127.5 - 1, atol=1e-6)


def test_train_pipeline_is_seeded_and_augments():
    def first(seed):
        return next(iter(pipeline.classification_dataset(batch_size=6, demo_n=26, seed=seed)))

    (a, la), (b, lb), (c, _) = first(0), first(0), first(1)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)
    x, y = synthetic.demo_split("train", n=26)
    assert a.shape == (6, 96, 96, 3) and set(la.numpy().tolist()) <= set(y.tolist())
    # augmented images are not the stored ones
    stored = (x / 127.5 - 1).astype(np.float32)
    assert not any(np.allclose(a[0], s, atol=1e-3) for s in stored)


def test_training_order_is_a_new_permutation_per_epoch_and_the_same_for_every_iterator():
    """Each epoch is a permutation of the split, the epochs differ, and an iterator made (and partly read) before
    another does not move the other's order (Keras draws a batch from a first iterator under a strategy)."""
    images, labels = synthetic.demo_split("train", n=40)
    ids = {im.tobytes(): i for i, im in enumerate(images)}
    assert len(ids) == len(labels)
    ds = pipeline.hr_dataset(batch_size=4, demo_n=40, augment=False)

    def order(iterator, batches):
        hr = np.concatenate([next(iterator).numpy() for _ in range(batches)])
        return [ids[np.round((x + 1) * 127.5).astype(np.uint8).tobytes()] for x in hr]

    n = len(labels)  # 36: 9 batches per epoch
    peek = iter(ds)
    order(peek, 11)  # into its second epoch
    first = order(iter(ds), 2 * n // 4)
    assert first == order(iter(ds), 2 * n // 4)
    assert sorted(first[:n]) == sorted(first[n:]) == list(range(n))
    assert first[:n] != first[n:] and first[:n] != list(range(n))
    other_seed = pipeline.hr_dataset(batch_size=4, demo_n=40, augment=False, seed=1)
    assert order(iter(other_seed), n // 4) != first[:n]


def test_demo_resized_to_image_size():
    x, y = next(iter(pipeline.classification_dataset(batch_size=4, image_size=32, demo_n=26, augment=False)))
    assert x.shape == (4, 32, 32, 3) and y.shape == (4,)


def test_augmentation_steps_match_the_original():
    img = tf.random.stateless_uniform((20, 20, 3), (3, 4), -1, 1)
    # box blur f x f == cv2.blur (reflect-101 border, centred anchor), for odd and even f
    for f in (2, 3, 4):
        x01 = ((img.numpy() + 1) / 2).astype(np.float32)
        expect = cv2.blur(x01, (f, f)) * 2 - 1
        np.testing.assert_allclose(augment._box_blur(img, f), expect, atol=1e-5)
    outs = [augment.augment_image(img, tf.constant([0, i], tf.int64)) for i in range(8)]
    assert all(o.shape == img.shape for o in outs)
    assert all(-1 <= float(tf.reduce_min(o)) and float(tf.reduce_max(o)) <= 1 for o in outs)
    assert len({o.numpy().tobytes() for o in outs}) == 8
    np.testing.assert_array_equal(outs[3], augment.augment_image(img, tf.constant([0, 3], tf.int64)))


def _write_folder(root, n=4):
    x, y = synthetic.demo_split("test", n=130)
    for i in range(n):
        path = root / "train" / f"{y[i]:02d}_{i}.png"
        if i == 1:
            io.write_png(path, x[i].astype(np.uint16) * 257)  # 16-bit PNG
        elif i == 2:
            io.write_tiff(path.with_suffix(".tif"), x[i])
        else:
            io.write_png(path, x[i])
    return x[:n], y[:n]


def test_folder_pngs_8_16_bit_and_tiff(tmp_path):
    x, y = _write_folder(tmp_path)
    ds = pipeline.classification_dataset(tmp_path, batch_size=4, augment=False, shuffle=False, repeat=False)
    imgs, labels = next(iter(ds))
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_allclose(imgs, x / 127.5 - 1, atol=1e-5)
    lr, hr = next(iter(pipeline.sr_pair_dataset(tmp_path, batch_size=2)))
    assert lr.shape == (2, 24, 24, 3) and hr.shape == (2, 96, 96, 3)


@pytest.mark.parametrize("bad, match", [
    (np.zeros((64, 96, 3), np.uint8), "96x64, expected 96x96"),
    (np.zeros((96, 96), np.uint8), "1 channel"),
    (np.zeros((96, 96, 4), np.uint8), "4 channel"),
])
def test_wrong_images_name_the_file(tmp_path, bad, match):
    _write_folder(tmp_path, n=2)
    io.write_png(tmp_path / "train" / "05_bad.png", bad)
    with pytest.raises(io.ImageError, match=f"05_bad.png.*{match}"):
        pipeline.hr_dataset(tmp_path)


def test_corrupt_png_header_and_bad_prefix(tmp_path):
    _write_folder(tmp_path, n=2)
    (tmp_path / "train" / "01_junk.png").write_bytes(b"not a png at all, really not")
    with pytest.raises(io.ImageError, match="01_junk.png.*not a valid PNG"):
        pipeline.classification_dataset(tmp_path)
    (tmp_path / "train" / "01_junk.png").unlink()
    io.write_png(tmp_path / "train" / "14_x.png", np.zeros((96, 96, 3), np.uint8))
    with pytest.raises(ValueError, match="14_x.png"):
        pipeline.classification_dataset(tmp_path)


def test_png_corrupt_after_its_header_names_the_file(tmp_path):
    _write_folder(tmp_path, n=2)
    good = next((tmp_path / "train").glob("*.png"))
    data = good.read_bytes()
    (tmp_path / "train" / "02_cut.png").write_bytes(data[: len(data) // 2])  # header intact, data truncated
    # every file is decoded when the dataset is made, so training fails before it writes anything (issue 13)
    with pytest.raises(io.ImageError, match="02_cut.png: cannot read image"):
        pipeline.hr_dataset(tmp_path, batch_size=3, shuffle=False, augment=False, repeat=False)
