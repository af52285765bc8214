"""``tf.data`` pipelines for the classifier (miniVGG19) and the super-resolution GAN (mSRGAN).

Sources: a folder in the original layout (``DIR/train/NN_<id>.png``, see
:mod:`data.layout`) or, with ``data_dir=None``, the embedded demo data of
:mod:`data.synthetic`. Images come out as float32 in [-1, 1] (8-bit:
``x / 127.5 - 1``; 16-bit: full range, ``x / 32767.5 - 1``), PNG or TIFF.

Training augmentation is the original's (:mod:`data.augment`): each
element's random numbers derive from ``(seed, element counter)``, so a
pipeline is reproducible and still draws new augmentations every epoch. The training order is stateless too (a new
permutation per epoch from ``(seed, epoch)``): every iterator of a dataset
yields the same batches, however many were made before it.
"""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import tensorflow as tf

from data import synthetic
from data.augment import augment_image
from data.io import ImageError, read_image, to_model_range
from data.layout import list_split

AUTOTUNE = tf.data.AUTOTUNE
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # colour type -> channels (3 = palette)


# ------------------------------------------------------------------ public API


def classification_dataset(data_dir=None, split="train", batch_size=128, image_size=96, augment=None, shuffle=None,
                           seed=0, repeat=True, demo_n=1300, start=0):
    """Batches of ``(images float32 (B, S, S, 3) in [-1, 1], labels int32 (B,))``.

    Args:
        data_dir: folder in the original layout, or ``None`` for the embedded demo data
            (``demo_n`` images in both splits, 10 % test, resized to ``image_size`` if not 96).
        split: ``"train"`` or ``"test"``.
        batch_size: images per batch; with ``repeat`` the last partial batch is dropped
            (static batch shape), without it it is kept (evaluation sees every image once).
        image_size: S; folder images must be S x S RGB (error naming the file otherwise).
        augment, shuffle: default ``split == "train"``.
        seed: shuffling and augmentation seed.
        repeat: repeat forever (training) or stop after one pass (evaluation).
        start: the first batch: the stream continues exactly where a stream started at batch 0 would be after
            ``start`` batches (same order, same augmentations), without computing those batches (a resumed run).
    """
    images = _image_source(data_dir, split, image_size, demo_n)
    return _finish(images, split, batch_size, augment, shuffle, seed, repeat, with_labels=True, start=start)


def hr_dataset(data_dir=None, split="train", batch_size=16, image_size=96, augment=None, shuffle=None, seed=0,
               repeat=True, demo_n=1300, start=0):
    """Batches of high-resolution images only, float32 ``(B, S, S, 3)`` in [-1, 1].

    Same arguments as :func:`classification_dataset`; the SR model makes its
    low-resolution input inside its graph with :func:`downscale`, as the original did.
    """
    images = _image_source(data_dir, split, image_size, demo_n)
    return _finish(images, split, batch_size, augment, shuffle, seed, repeat, with_labels=False, start=start)


def sr_pair_dataset(data_dir=None, split="train", batch_size=16, image_size=96, augment=None, shuffle=None, seed=0,
                    repeat=True, demo_n=1300, factor=4, start=0):
    """Batches of ``(lr (B, S/f, S/f, 3), hr (B, S, S, 3))``, both float32 in [-1, 1] (default 24 / 96)."""
    if image_size % factor:
        raise ValueError(f"image_size {image_size} is not divisible by factor {factor}")
    ds = hr_dataset(data_dir, split, batch_size, image_size, augment, shuffle, seed, repeat, demo_n, start)
    return ds.map(lambda hr: (downscale(hr, factor), hr), num_parallel_calls=AUTOTUNE)


def downscale(hr, factor=4, clip=True):
    """The original's low-resolution input: bicubic ``tf.image.resize`` by 1/``factor`` (no antialiasing).

    ``hr``: float (B, H, W, C) or (H, W, C) in [-1, 1]. Bicubic overshoot is clipped back
    to [-1, 1] unless ``clip=False`` (the original's TF1 ``resize_bicubic`` did not clip).
    Works inside a ``tf.function`` with static or dynamic H, W. When H and W are static
    multiples of an even ``factor`` >= 4 (the trainers' 96 -> 24) the same resize is computed
    by :func:`downscale_taps` (no ``ResizeBicubic`` op, so an XLA-compiled step can hold it).
    """
    hr = tf.convert_to_tensor(hr)
    h, w = hr.shape[-3], hr.shape[-2]
    if (factor >= 4 and factor % 2 == 0 and None not in (h, w, hr.shape[-1]) and h % factor == 0
            and w % factor == 0):
        x = tf.cast(hr if hr.shape.rank == 4 else hr[None], tf.float32)
        lr = tf.cast(downscale_taps(x, factor), hr.dtype)
        lr = lr if hr.shape.rank == 4 else lr[0]
        return tf.clip_by_value(lr, -1.0, 1.0) if clip else lr
    shape = tf.shape(hr)
    size = tf.stack([shape[-3] // factor, shape[-2] // factor])
    lr = tf.image.resize(hr, size, method="bicubic", antialias=False)
    lr = tf.cast(lr, hr.dtype)
    if h is not None and w is not None:
        lr = tf.ensure_shape(lr, hr.shape[:-3] + (h // factor, w // factor, hr.shape[-1]))
    return tf.clip_by_value(lr, -1.0, 1.0) if clip else lr


def downscale_taps(hr, factor):
    """``tf.image.resize(hr, (H / f, W / f), "bicubic", antialias=False)`` for an even ``f`` >= 4, as two contractions.

    With half-pixel centres, output pixel i samples input coordinate f i + (f - 1) / 2, half-way
    between two pixels, so the Keys cubic (a = -0.5, TensorFlow's kernel there) weighs the four pixels
    f i + f/2 - 2 .. f i + f/2 + 1 by -1/16, 9/16, 9/16, -1/16 (all inside the block: no edge
    handling). Static H, W multiples of ``f``; float32 (B, H, W, C); equal to the resize up to round-off.
    """
    shape = hr.shape
    b, h, w, c = (-1 if shape[0] is None else shape[0]), shape[1], shape[2], shape[3]
    taps = np.zeros(factor, np.float32)
    taps[factor // 2 - 2:factor // 2 + 2] = (-0.0625, 0.5625, 0.5625, -0.0625)
    x = tf.reshape(hr, (b, h // factor, factor, w // factor, factor, c))
    x = tf.einsum("bhpwqc,q->bhpwc", x, taps)
    return tf.einsum("bhpwc,p->bhwc", x, taps)


# ------------------------------------------------------------------ internals


class _Source:
    """Images (uint8 array) or file paths with int32 labels, and how to decode one; before shuffling and batching."""

    def __init__(self, items, labels, decode):
        self.items, self.labels, self.decode = items, labels, decode
        self.n = len(labels)

    def dataset(self):
        return tf.data.Dataset.from_tensor_slices((self.items, self.labels))

    def shuffled(self, seed, repeat, start=0):
        """The elements in a new order per epoch e, ``argsort(stateless_uniform([n], (seed, e)))``: e = 0, 1, ... (one
        epoch without ``repeat``), from element ``start`` on (the skipped elements are indices only).

        Stateless on purpose: every iterator of the dataset yields the same sequence. ``Dataset.shuffle`` with
        ``reshuffle_each_iteration`` draws each iterator's order from a generator shared by all iterators of the
        dataset, so the order of a training iterator depended on how many iterators had been made before it
        (Keras draws a batch to build the model under a ``tf.distribute`` strategy) and, with background
        prefetching, on timing: two workers of one cluster could start from different permutations.
        """
        n = self.n
        items, labels = tf.constant(self.items), tf.constant(self.labels)
        epochs = tf.data.Dataset.counter() if repeat else tf.data.Dataset.range(1)
        order = epochs.map(lambda e: tf.argsort(tf.random.stateless_uniform(
            [n], tf.stack([tf.cast(seed, tf.int64), tf.cast(e, tf.int64)]))))
        return order.unbatch().skip(start).map(lambda i: (tf.gather(items, i), tf.gather(labels, i)))


_CHECKED = set()
"""``(path, mtime_ns, size, image_size)`` of the folder images already checked by this process."""


def _image_source(data_dir, split, image_size, demo_n):
    if data_dir is None:
        images, labels = synthetic.demo_split(split, n=demo_n)
        if image_size != synthetic.SIZE:
            interp = cv2.INTER_AREA if image_size < synthetic.SIZE else cv2.INTER_CUBIC
            images = np.stack([cv2.resize(im, (image_size, image_size), interpolation=interp) for im in images])
        return _Source(images, labels.astype(np.int32), lambda im, lab: (tf.cast(im, tf.float32) / 127.5 - 1.0, lab))
    paths, labels = list_split(data_dir, split)
    for p in paths:  # every file decoded once before training: a file corrupt past its header fails here
        stat = Path(p).stat()
        key = (str(p), stat.st_mtime_ns, stat.st_size, int(image_size))
        if key not in _CHECKED:  # once per process and file version (recalibration builds datasets each epoch)
            check_image_file(p, image_size)
            read_image(p)
            _CHECKED.add(key)
    return _Source(np.array([str(p) for p in paths]), labels.astype(np.int32),
                   lambda path, lab: (_decode(path, image_size), lab))


def _decode(path, image_size):
    """Read one PNG/TIFF (8- or 16-bit) to float32 (S, S, 3) in [-1, 1].

    Decoding runs in Python (``data.io.read_image``, cv2/tifffile) so that a file that
    is corrupt beyond its header fails with a message naming it.
    """
    def read(p):
        p = p.decode()
        img = read_image(p)
        if img.shape != (image_size, image_size, 3):
            raise ImageError(p, f"has shape {img.shape}, expected ({image_size}, {image_size}, 3)")
        return to_model_range(img)

    image = tf.numpy_function(read, [path], tf.float32, stateful=False)
    return tf.ensure_shape(image, (image_size, image_size, 3))


def check_image_file(path, image_size):
    """Raise :class:`ImageError` naming ``path`` unless it is a ``image_size`` square RGB image.

    PNGs are checked from their 26-byte header only (fast for large folders); TIFFs from their first page.
    """
    path = Path(path)
    if path.suffix.lower() == ".png":
        with open(path, "rb") as fh:
            head = fh.read(26)
        if len(head) < 26 or head[:8] != _PNG_MAGIC or head[12:16] != b"IHDR":
            raise ImageError(path, "not a valid PNG file (bad header)")
        width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
        if depth not in (8, 16):
            raise ImageError(path, f"PNG bit depth {depth} is not supported (expected 8 or 16)")
        channels = _PNG_CHANNELS.get(colour)
    else:
        import tifffile

        try:
            with tifffile.TiffFile(path) as tif:
                page = tif.pages[0]
                shape = page.shape
                height, width = page.imagelength, page.imagewidth
                channels = 1 if len(shape) == 2 else shape[-1]
        except Exception as e:
            raise ImageError(path, f"cannot read TIFF header ({e})") from e
    if channels != 3:
        raise ImageError(path, f"has {channels} channel(s), expected 3 (RGB)")
    if (height, width) != (image_size, image_size):
        raise ImageError(path, f"image is {width}x{height}, expected {image_size}x{image_size}")


def _finish(source, split, batch_size, augment, shuffle, seed, repeat, with_labels, start=0):
    augment = split == "train" if augment is None else augment
    shuffle = split == "train" if shuffle is None else shuffle
    first = int(start) * int(batch_size)  # elements before the first batch (whole batches: drop_remainder)
    if first and not repeat:
        raise ValueError("start > 0 needs repeat=True (a resumed training stream)")
    if shuffle:
        ds = source.shuffled(seed, repeat, first)
    else:
        ds = (source.dataset().repeat() if repeat else source.dataset()).skip(first)
    ds = ds.map(source.decode, num_parallel_calls=AUTOTUNE)
    if augment:
        counter = tf.data.Dataset.counter(start=first)
        ds = tf.data.Dataset.zip((ds, counter)).map(
            lambda pair, i: (augment_image(pair[0], tf.stack([tf.cast(seed, tf.int64), i])), pair[1]),
            num_parallel_calls=AUTOTUNE)
    if not with_labels:
        ds = ds.map(lambda im, lab: im, num_parallel_calls=AUTOTUNE)
    return without_autotune_thread(ds.batch(batch_size, drop_remainder=repeat).prefetch(AUTOTUNE))


def without_autotune_thread(ds):
    """``ds`` with tf.data's autotuning model thread switched off (``options.autotune.enabled = False``).

    With autotuning on, every iterator starts a ``tf_data_model`` thread whose
    optimisation loop sleeps 10 ms, 20 ms, 40 ms, ... (doubling) between passes.
    Deleting the iterator (``fit``, ``evaluate`` and ``predict`` drop theirs on
    return) joins that thread, and in TensorFlow 2.21 the join often lasts until
    the thread's sleep ends: ``fit`` returned at the next 1.27 / 2.55 / 5.11 /
    10.23 / 20.47 s ... boundary after its first batch, while ``on_train_end``
    had fired on time. Native stack of the waiting main thread (gdb):
    ``EagerTensor_dealloc`` -> ``~IteratorResource`` -> ``~RootDataset::Iterator``
    -> ``~LogicalThreadWrapper`` -> ``Notification::WaitForNotification``; the
    model thread: ``Model::OptimizeLoop`` -> ``CondVar::WaitCommon``. Measured by
    ``benchmarks/probe_fit_return.py``. Without the model thread ``AUTOTUNE``
    map parallelism falls back to a fixed default and ``prefetch(AUTOTUNE)``
    keeps its own buffer tuning; the augmented ``hr_dataset`` still delivers
    tens of batches per second, far more than a training step consumes.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.with_options(options)

