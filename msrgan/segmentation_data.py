"""The test and training fields of the segmentation study, with their nuclei labels, checked (no TF).

See :mod:`msrgan.segmentation`. Every refusal names the file: a missing,
extra or mismatched label image, one that is not an integer instance image,
an image without a usable nuclear (DAPI-like) channel.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from data import io, layout
from data.segmentation import read_instance_labels
from msrgan.evaluation import load_images

CHANNEL_NAMES = ("red", "green", "blue", "alpha")


class Fields(NamedTuple):
    """Images of one split with their nuclei labels (``None``: the split has no labels)."""

    names: list
    images: list
    labels: list | None


def nuclear_channel(image, channel, where):
    """The nuclear stain (H, W) of one uint8 image: ``image[..., channel]``, or the image itself when grey.

    Raises :class:`data.io.ImageError` naming ``where`` when the channel does not exist or is constant
    (a folder without a DAPI-like channel).
    """
    image = np.asarray(image)
    if image.ndim == 2:
        grey = image
    elif channel >= image.shape[2]:
        raise io.ImageError(where, f"has {image.shape[2]} channels, no channel {channel} for the nuclei "
                                   "(--dapi-channel)")
    else:
        grey = image[..., channel]
    if grey.min() == grey.max():
        name = CHANNEL_NAMES[channel] if image.ndim == 3 else "grey"
        raise io.ImageError(where, f"has no DAPI-like channel: channel {channel} ({name}) is constant "
                                   f"({grey.min()}); pick the nuclear stain with --dapi-channel")
    return grey


def load_fields(data_dir, split, channel, max_images=None):
    """The ``split`` images (uint8 RGB, sides multiples of 4) and their nuclei labels, checked.

    ``data_dir=None``: the embedded demo split with its exact labels. Otherwise the labels are
    ``DIR/labels/nuclei/<split>/<stem>.tif``: ``labels=None`` when that folder does not exist;
    a missing, extra or mismatched label file raises :class:`data.io.ImageError` naming it.
    Every image must have a non-constant nuclear channel (:func:`nuclear_channel`).
    """
    names, images = load_images(data_dir, split)
    if max_images is not None:
        names, images = names[:max_images], images[:max_images]
    if data_dir is None:
        from data import synthetic

        nuclei = synthetic.demo_split(split, with_labels=True)[2]
        labels = [y.astype(np.int32) for y in nuclei[: len(images)]]
        paths = names
    else:
        paths = layout.list_split(data_dir, split)[0][: len(images)]
        labels = _read_label_folder(data_dir, split, paths, images, check_extra=max_images is None)
    for where, img in zip(paths, images):
        nuclear_channel(img, channel, where)
    return Fields(names, images, labels)


def _read_label_folder(data_dir, split, paths, images, check_extra):
    folder = Path(data_dir) / "labels" / "nuclei" / split
    if not folder.is_dir():
        return None
    wanted = [layout.label_path(data_dir, split, p, "nuclei") for p in paths]
    if check_extra:
        extra = sorted(set(folder.glob("*.tif")) - set(wanted))
        if extra:
            raise io.ImageError(extra[0], f"label image without an image in {Path(data_dir) / split} "
                                          f"({len(extra)} such file(s)); labels and images must match one to one")
    labels = []
    for path, img in zip(wanted, images):
        if not path.is_file():
            raise io.ImageError(path, f"missing: every image in {Path(data_dir) / split} needs its nuclei labels "
                                      f"here (or remove {folder} to score against the HR segmentation)")
        y = read_instance_labels(path)
        h, w = img.shape[:2]  # the image cropped to multiples of 4 by load_images
        if not (h <= y.shape[0] < h + 4 and w <= y.shape[1] < w + 4):
            raise io.ImageError(path, f"label image is {y.shape[0]} x {y.shape[1]} px, its image {h} x {w} "
                                      "(after cropping to multiples of 4)")
        labels.append(y[:h, :w])
    return labels
