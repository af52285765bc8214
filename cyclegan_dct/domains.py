"""The two CycleGAN domains as pure numpy: A = nuclei masks, B = fluorescence nuclei images.

Model range conventions (float32, shape (H, W, 1)):
- domain A: a binary foreground image, nuclei +1, background -1
  (:func:`labels_to_input`); masks are random ellipses from
  ``data.masks.random_ellipse_labels`` (statistics fitted to real labels) or
  label TIFFs read from a folder;
- domain B: an image percentile-normalised (2 / 99.8, as CSBDeep) to [-1, 1]
  (:func:`image_to_input`); by default the real fluorescence image with 125
  labelled nuclei that ``stardist`` ships (``test_image_nuclei_2d``, 512x512);
  ``"simulated"``: the DAPI channel of :data:`N_SIMULATED` simulated fields with
  exact nuclei labels (``data.synthetic.demo_nuclei``; the ``stego`` preset).
Samplers draw random crops, flips and 90-degree rotations with a seeded
``numpy.random.Generator``. No TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage import measure, segmentation

from data import masks as data_masks
from data.io import ImageError, list_images, read_image, to_model_range

PERCENTILES = (2.0, 99.8)
SIMULATED = "simulated"
N_SIMULATED = 200
"""Simulated domain-B fields (96 x 96, ~20 nuclei each) of ``--images simulated``."""


@functools.lru_cache(maxsize=1)
def _stardist_nuclei():
    from stardist.data import test_image_nuclei_2d

    img, labels = test_image_nuclei_2d(return_mask=True)
    return np.asarray(img, np.uint16), np.asarray(labels, np.uint16)


def default_real_image():
    """(image uint16 (512, 512), labels uint16 (512, 512)): stardist's real nuclei image and its 125 labels."""
    img, labels = _stardist_nuclei()
    return img.copy(), labels.copy()


def labels_to_input(labels):
    """Instance (or binary) labels (H, W) -> float32 (H, W, 1): foreground +1, background -1."""
    labels = np.asarray(labels)
    if labels.ndim == 3 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    if labels.ndim != 2:
        raise ValueError(f"labels must be (H, W), got shape {labels.shape}")
    return np.where(labels > 0, 1.0, -1.0).astype(np.float32)[..., None]


def image_to_input(img, channels=1):
    """A stored image (H, W) or (H, W, C), any integer/float type -> float32 (H, W, channels) in [-1, 1].

    Percentile normalisation 2 / 99.8 over the whole image, clipped. With
    ``channels=1`` a colour image is averaged over its RGB channels.
    """
    img = np.asarray(img)
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {img.shape}")
    if img.shape[-1] != channels:
        if channels == 1 and img.shape[-1] in (3, 4):
            img = img[..., :3].astype(np.float32).mean(axis=-1, keepdims=True)
        else:
            raise ValueError(f"image has {img.shape[-1]} channels, the model expects {channels}")
    return to_model_range(img.astype(np.float32), *PERCENTILES)


def output_to_labels(x, seeds=None):
    """A model output (H, W[, 1]) in [-1, 1] -> uint16 instance labels (0 = background).

    Foreground is ``x > 0``. Touching nuclei are split by a watershed on the
    negative distance transform of the foreground, seeded by the instances of
    ``seeds`` (e.g. the mask the output was made from) where they overlap the
    foreground; foreground that no seed reaches becomes new instances (its
    8-connected components). Without ``seeds`` the instances are the
    8-connected components. Labels are renumbered 1..n.
    """
    x = np.asarray(x, np.float32)
    if x.ndim == 3 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 2:
        raise ValueError(f"output must be (H, W) or (H, W, 1), got shape {x.shape}")
    fg = x > 0
    if seeds is None:
        return measure.label(fg, connectivity=2).astype(np.uint16)
    seeds = np.asarray(seeds)
    if seeds.shape != fg.shape:
        raise ValueError(f"seeds shape {seeds.shape} differs from the output's {fg.shape}")
    markers = np.where(fg, seeds, 0).astype(np.int64)
    dist = ndimage.distance_transform_edt(fg)
    labels = segmentation.watershed(-dist, markers, mask=fg) if markers.any() else np.zeros(fg.shape, np.int64)
    rest = measure.label(fg & (labels == 0), connectivity=2)
    labels = np.where(rest > 0, rest + labels.max(), labels)
    return segmentation.relabel_sequential(labels)[0].astype(np.uint16)


def augment(img, rng):
    """Random horizontal/vertical flips and a random multiple of 90-degree rotation of (H, W, ...)."""
    if rng.random() < 0.5:
        img = img[:, ::-1]
    if rng.random() < 0.5:
        img = img[::-1]
    return np.ascontiguousarray(np.rot90(img, k=int(rng.integers(4)), axes=(0, 1)))


def random_crop(img, crop, rng):
    """A random (crop, crop, ...) window of ``img`` (H, W, ...), H and W >= crop."""
    h, w = img.shape[:2]
    if h < crop or w < crop:
        raise ValueError(f"image of size {h}x{w} is smaller than the crop {crop}")
    y = int(rng.integers(h - crop + 1))
    x = int(rng.integers(w - crop + 1))
    return img[y : y + crop, x : x + crop]


def _check_size(path, arr, crop):
    if min(arr.shape[:2]) < crop:
        raise ImageError(path, f"size {arr.shape[0]}x{arr.shape[1]} is smaller than the crop {crop}")


def _read_folder(folder, what, crop, convert):
    """``convert(image)`` of every PNG/TIFF of ``folder`` (checked against ``crop``); ImageError names a bad
    file (``convert`` raises ``ValueError`` for a bad image)."""
    paths = list_images(folder)
    if not paths:
        raise ImageError(folder, f"no PNG/TIFF {what} in this folder")
    out = []
    for p in paths:
        img = read_image(p)
        try:
            out.append(convert(img))
        except ValueError as e:
            raise ImageError(p, str(e)) from e
        _check_size(p, img, crop)
    return out


def _label_image(lab):
    if lab.ndim != 2:
        raise ValueError(f"a label image must be 2D (H, W), got shape {lab.shape}")
    if not lab.any():
        raise ValueError("label image has no foreground")
    return lab


def load_label_folder(folder, crop=0):
    """Label images (H, W) from the TIFF/PNG files of ``folder``; ImageError names a bad file."""
    return _read_folder(folder, "label images", crop, _label_image)


def load_image_folder(folder, channels=1, crop=0):
    """Domain-B images from ``folder`` as float32 (H, W, channels) in [-1, 1]; ImageError names a bad file."""
    return _read_folder(folder, "images", crop, lambda img: image_to_input(img, channels))


def fit_stats(like):
    """``data.masks.MaskStats`` for ``like``: "stardist" (fitted to stardist's 125 real nuclei), "simulated"
    (fitted to the simulated domain B's labels), "default" (``data.masks.DEFAULT_STATS``), or a label image file /
    folder to fit to."""
    if like == "stardist":
        return data_masks.fit_mask_stats(default_real_image()[1])
    if like == SIMULATED:
        from data.synthetic import SIZE, demo_nuclei

        labels = demo_nuclei("train", N_SIMULATED)[1]
        return average_stats([data_masks.fit_mask_stats(lab, tile=SIZE) for lab in labels])
    if like == "default":
        return data_masks.DEFAULT_STATS
    path = Path(like)
    if path.is_dir():
        paths = list_images(path)
        if not paths:
            raise ImageError(path, "no PNG/TIFF label images in this folder")
        return average_stats([data_masks.fit_label_file(p) for p in paths])
    if path.is_file():
        return data_masks.fit_label_file(path)
    raise ImageError(path, "--like must be 'stardist', 'default' or an existing label image file or folder")


def average_stats(stats):
    """The field-by-field mean of several ``MaskStats`` (one per label image of a ``--like`` folder)."""
    if len(stats) == 1:
        return stats[0]
    fields = [f.name for f in dataclasses.fields(data_masks.MaskStats)]
    return data_masks.MaskStats(**{f: float(np.mean([getattr(s, f) for s in stats])) for f in fields})


class MaskSampler:
    """Domain A: float32 (crop, crop, 1) foreground images of random masks.

    From ``label_images`` (random crop, flips, rotations) when given, else
    fresh ellipses ``data.masks.random_ellipse_labels((crop, crop), stats)``.
    ``sample_labels()`` returns the instance labels themselves.
    """

    def __init__(self, crop, stats=None, label_images=None, seed=0):
        self.crop = int(crop)
        self.stats = stats
        self.label_images = list(label_images) if label_images else None
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def sample_labels(self):
        if self.label_images:
            lab = self.label_images[int(self.rng.integers(len(self.label_images)))]
            return augment(random_crop(lab, self.crop, self.rng), self.rng)
        return data_masks.random_ellipse_labels((self.crop, self.crop), self.stats, self.rng)

    def sample(self):
        return labels_to_input(self.sample_labels())


class ImageSampler:
    """Domain B: float32 (crop, crop, C) crops of normalised images (random crop, flips, rotations)."""

    def __init__(self, crop, images, seed=0):
        self.crop = int(crop)
        self.images = list(images)
        if not self.images:
            raise ValueError("ImageSampler needs at least one image")
        for img in self.images:
            if min(img.shape[:2]) < self.crop:
                raise ValueError(f"image of size {img.shape[0]}x{img.shape[1]} is smaller than the crop {self.crop}")
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def sample(self):
        img = self.images[int(self.rng.integers(len(self.images)))]
        return augment(random_crop(img, self.crop, self.rng), self.rng)


def default_images(channels=1):
    """Domain B default: stardist's real nuclei image, normalised, as a one-element list."""
    return [image_to_input(default_real_image()[0], channels)]


def domain_b_images(images, channels=1, crop=0):
    """Domain B's normalised images for ``--images``: None (stardist's real image), ``"simulated"``, or a folder."""
    if images == SIMULATED:
        from data.synthetic import SIZE, demo_nuclei

        if crop > SIZE:
            raise ValueError(f"--crop {crop} is larger than the simulated fields of --images simulated ({SIZE} px)")
        return [image_to_input(img, channels) for img in demo_nuclei("train", N_SIMULATED)[0]]
    if images:
        return load_image_folder(images, channels, crop)
    return default_images(channels)
