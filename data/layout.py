"""The original mSRGAN data layout (pure Python/numpy).

::

    DIR/train/NN_<id>.png     NN = class index 00-12 (data.CLASS_NAMES), the image's first label
    DIR/test/NN_<id>.png

    DIR/labels/nuclei/train/NN_<id>.tif   optional instance labels (uint16, 0 = background) of each image,
    DIR/labels/cells/train/NN_<id>.tif    same stem; ``data.prepare demo --labels`` writes them

The label of an image is its two-digit file-name prefix.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from data import CLASS_NAMES, N_CLASSES
from data.io import IMAGE_SUFFIXES

SPLITS = ("train", "test")
LABEL_KINDS = ("nuclei", "cells")
"""Instance label images that may sit beside a data set, under ``DIR/labels/<kind>/<split>/``."""

_NAME = re.compile(r"^(\d{2})_(.+)$")


def label_from_name(path):
    """Class index from a file name ``NN_<id>.<ext>``; ``ValueError`` naming the file otherwise."""
    path = Path(path)
    m = _NAME.match(path.stem)
    if not m:
        raise ValueError(f"{path}: file name must start with a two-digit class prefix 00-{N_CLASSES - 1:02d} "
                         f"followed by '_' (e.g. 03_<id>.png)")
    label = int(m.group(1))
    if label >= N_CLASSES:
        raise ValueError(f"{path}: class prefix {m.group(1)} is outside 00-{N_CLASSES - 1:02d}")
    return label


def file_name(label, image_id, suffix=".png"):
    """``NN_<id><suffix>`` for class index ``label``."""
    if not 0 <= int(label) < N_CLASSES:
        raise ValueError(f"label {label} is outside 0-{N_CLASSES - 1}")
    return f"{int(label):02d}_{image_id}{suffix}"


def list_split(data_dir, split):
    """Image paths and labels of ``data_dir/split`` in the original layout.

    Hidden files (``.name``, e.g. an unfinished atomic write) are ignored.

    Returns:
        ``(paths, labels)``: sorted ``list[Path]`` and int64 array of class indices 0..12.

    Raises:
        ValueError naming the folder (missing, no images) or the file (bad prefix).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    folder = Path(data_dir) / split
    if not folder.is_dir():
        raise ValueError(f"{folder}: folder does not exist (expected {Path(data_dir)}/{{train,test}}/NN_<id>.png)")
    paths = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not paths:
        raise ValueError(f"{folder}: no images (.png/.tif/.tiff) found")
    labels = np.array([label_from_name(p) for p in paths], np.int64)
    return paths, labels


def label_path(data_dir, split, image_path, kind="nuclei"):
    """Where the ``kind`` instance labels of ``image_path`` (in ``data_dir/split``) live: same stem, ``.tif``."""
    if kind not in LABEL_KINDS:
        raise ValueError(f"kind must be one of {LABEL_KINDS}, got {kind!r}")
    return Path(data_dir) / "labels" / kind / split / (Path(image_path).stem + ".tif")


def class_name(label):
    """Human-readable class name of index ``label``."""
    return CLASS_NAMES[int(label)]
