"""Human Protein Atlas channel merge (pure numpy + cv2, reading through :mod:`data.io`).

An HPA field of view is stored as one greyscale file per stain,
``<id>_red``, ``<id>_green``, ``<id>_blue``, ``<id>_yellow`` (``.png``, ``.tif``
or ``.tiff``, 8- or 16-bit). The merge makes one 8-bit RGB image as mSRGAN
used it: R = microtubules (red), G = protein of interest (green), B = DAPI
nucleus (blue); yellow (ER) is discarded. 16-bit stains are scaled by their
full range to 8 bits (``round(x / 257)``). Shrinking uses area interpolation
(``cv2.INTER_AREA``), enlarging bicubic.

Kaggle HPA label files (``train.csv``: ``Id,Target`` with space-separated class
indices) are read by :func:`read_labels_csv`.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import cv2
import numpy as np

from data import N_CLASSES, TEST_FRACTION
from data.io import IMAGE_SUFFIXES, ImageError, read_image

STAINS = ("red", "green", "blue", "yellow")
"""Stain file suffixes of an HPA field."""

RGB_STAINS = ("red", "green", "blue")
"""Stains merged into R, G, B (in this order); yellow is not used."""

_STAIN_FILE = re.compile(r"^(?P<id>.+)_(?P<stain>red|green|blue|yellow)$", re.IGNORECASE)


class FieldError(ValueError):
    """A field of view that cannot be merged; the message names the field and the file."""

    def __init__(self, field_id, problem):
        self.field_id = field_id
        self.problem = problem
        super().__init__(f"field {field_id}: {problem}")


def group_stain_files(in_dir):
    """Group the stain files of ``in_dir`` by field id.

    Returns:
        ``{id: {stain: Path}}`` sorted by id, for every file named ``<id>_<stain>.<png|tif|tiff>``.

    Raises:
        ValueError naming the folder when it is missing or holds no stain file, or naming
        both files when one stain of a field exists twice (e.g. ``.png`` and ``.tif``).
    """
    in_dir = Path(in_dir)
    if not in_dir.is_dir():
        raise ValueError(f"{in_dir}: input folder does not exist")
    fields = {}
    for path in sorted(in_dir.iterdir()):
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        m = _STAIN_FILE.match(path.stem)
        if not m:
            continue
        stains = fields.setdefault(m.group("id"), {})
        stain = m.group("stain").lower()
        if stain in stains:
            raise ValueError(f"{path}: stain {stain!r} of field {m.group('id')} also found as {stains[stain].name}")
        stains[stain] = path
    if not fields:
        raise ValueError(f"{in_dir}: no HPA stain files found (expected <id>_red/_green/_blue/_yellow "
                         f"with {', '.join(IMAGE_SUFFIXES)})")
    return dict(sorted(fields.items()))


def missing_stains(field_id, stains):
    """A :class:`FieldError` for a field lacking red, green or blue, else ``None``."""
    missing = [s for s in RGB_STAINS if s not in stains]
    if not missing:
        return None
    some = next(iter(stains.values()))
    expected = ", ".join(str(some.with_name(f"{field_id}_{s}{some.suffix}")) for s in missing)
    return FieldError(field_id, f"missing stain file(s): {expected}")


def to_uint8(img, path):
    """A greyscale stain as uint8: 8-bit unchanged, 16-bit scaled by full range (``round(x / 257)``)."""
    if img.ndim != 2:
        raise ImageError(path, f"has {img.shape[-1]} channels, expected a single-channel (greyscale) stain image")
    if img.dtype == np.uint8:
        return img
    return np.rint(img.astype(np.float32) / 257.0).astype(np.uint8)


def merge_field(field_id, stains, size=96):
    """Merge one field's stain files into uint8 (size, size, 3) RGB (R=red, G=green, B=blue).

    Args:
        field_id: the field's id (for messages).
        stains: ``{stain: Path}`` with at least red, green and blue.
        size: output side in pixels, or ``None`` to keep the stains' size.

    Raises:
        FieldError for a missing stain or stains of different sizes; ImageError for
        an unreadable, corrupt or multi-channel stain file (both name the file).
    """
    err = missing_stains(field_id, stains)
    if err:
        raise err
    channels = []
    for stain in RGB_STAINS:
        path = stains[stain]
        channel = to_uint8(read_image(path), path)
        if channels and channel.shape != channels[0].shape:
            first = stains[RGB_STAINS[0]]
            raise FieldError(field_id, f"stain sizes differ: {path} is {channel.shape[1]}x{channel.shape[0]}, "
                                       f"{first} is {channels[0].shape[1]}x{channels[0].shape[0]}")
        channels.append(channel)
    rgb = np.stack(channels, -1)
    if size is not None and rgb.shape[:2] != (size, size):
        shrink = size <= min(rgb.shape[:2])
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
    return rgb


def read_labels_csv(path):
    """Kaggle HPA labels: ``{Id: [class, ...]}`` from a CSV with columns ``Id`` and ``Target``.

    Raises ValueError naming the file (and line) for missing columns or a non-integer target.
    Whether the classes are in 00-12 is checked per field by :func:`first_label`.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: labels file does not exist")
    labels = {}
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None or not {"Id", "Target"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: expected a CSV with columns 'Id' and 'Target', got {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            try:
                targets = [int(t) for t in row["Target"].split()]
            except (ValueError, AttributeError) as e:
                raise ValueError(
                    f"{path}, line {line}: Target {row['Target']!r} is not space-separated integers") from e
            if not targets:
                raise ValueError(f"{path}, line {line}: empty Target for Id {row['Id']!r}")
            labels[row["Id"]] = targets
    if not labels:
        raise ValueError(f"{path}: no labels")
    return labels


def first_label(field_id, labels, csv_path):
    """The field's first label (its class, 0..12); :class:`FieldError` if absent or out of range."""
    if field_id not in labels:
        raise FieldError(field_id, f"no label in {csv_path}")
    first = labels[field_id][0]
    if not 0 <= first < N_CLASSES:
        raise FieldError(field_id, f"first label {first} in {csv_path} is outside 00-{N_CLASSES - 1:02d} "
                                   f"(the 13 CYTO 2017 classes)")
    return first


def split_ids(ids, test_fraction=TEST_FRACTION, seed=0):
    """Seeded random split of ``ids`` into ``(train_ids, test_ids)``, each sorted."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    ids = sorted(ids)
    order = np.random.default_rng(seed).permutation(len(ids))
    n_test = int(round(len(ids) * test_fraction))
    test = {ids[i] for i in order[:n_test]}
    return [i for i in ids if i not in test], [i for i in ids if i in test]
