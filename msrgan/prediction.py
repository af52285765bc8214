"""Super-resolve image files with a saved generator (the library of ``python -m msrgan.predict``).

Example::

    python -m msrgan.predict backup/msrgan/generator.keras cells.png stack.tif --out result/sr

Each input of any size comes out 4x larger, with the input's file type and
bit depth: 8-bit in -> 8-bit out, 16-bit TIFF in -> 16-bit TIFF out. Values
are mapped to the model range [-1, 1] and back (:class:`Normalisation`): by
the full range of the type for 8 bits (``x / 127.5 - 1``, the training data's
convention), and for 16 bits by the image's percentiles ``pmin``/``pmax``
(CSBDeep's 3 / 99.8 by default, not clipped), because a 16-bit microscope
image rarely uses its full range (StarDist's real nuclei image: max 235 of 65535).
The generator was trained on RGB: a grayscale input is replicated to three
channels and the output is averaged back to one channel. An alpha channel is
not super-resolved but upscaled bicubically. Large inputs are tiled with
overlap and blended (:mod:`msrgan.tiling`), so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from data import io
from msrgan import tiling

NORMALISATIONS = ("auto", "full", "percentile")
"""``auto``: full range for 8 bits, percentiles for 16 bits; ``full``: the type's full range; ``percentile``."""


class Normalisation:
    """Maps one image to the model range [-1, 1] and the model's output back (:data:`NORMALISATIONS`).

    With percentiles, ``lo``/``hi`` are the image's ``pmin``/``pmax`` percentiles over all colour channels
    (so channel ratios are kept); values beyond them map beyond [-1, 1] (not clipped, as CSBDeep's
    ``normalize``); the output is mapped back with the same ``lo``/``hi`` and clipped to the type's range.
    """

    def __init__(self, mode="auto", pmin=3.0, pmax=99.8):
        if mode not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {mode!r}")
        if not 0 <= pmin < pmax <= 100:
            raise ValueError(f"need 0 <= pmin < pmax <= 100, got pmin={pmin}, pmax={pmax}")
        self.mode, self.pmin, self.pmax = mode, float(pmin), float(pmax)

    def range_of(self, img):
        """``(lo, hi)`` of ``img`` under this normalisation, or None for the type's full range."""
        if self.mode == "full" or (self.mode == "auto" and img.dtype == np.uint8):
            return None
        lo, hi = io.percentile_range(img, self.pmin, self.pmax)
        return lo, max(hi, lo + 1.0)

    @staticmethod
    def forward(img, span):
        if span is None:
            return io.to_model_range(img)
        lo, hi = span
        return ((np.asarray(img, np.float32) - lo) / (hi - lo) * 2.0 - 1.0).astype(np.float32)

    @staticmethod
    def inverse(y, dtype, span):
        if span is None:
            return io.from_model_range(y, dtype)
        lo, hi = span
        x = (np.asarray(y, np.float32) + 1.0) / 2.0 * (hi - lo) + lo
        return np.clip(np.round(x), 0, np.iinfo(dtype).max).astype(dtype)


def split_channels(img, model_channels=3, span=None):
    """Split a stored image into the model input and what is carried aside.

    Args:
        img: uint8/uint16 (H, W) or (H, W, C), C in 1..4 (as :func:`data.io.read_image`).
        model_channels: the generator's input channels (3 for mSRGAN).
        span: ``(lo, hi)`` mapped to -1 and 1 (see :class:`Normalisation`); None: the type's full range.

    Returns:
        ``(x, gray, alpha)``: x float32 (H, W, model_channels) in [-1, 1]; ``gray``
        whether the image was single-channel (the output is averaged back to one);
        ``alpha`` the (H, W) alpha channel or None.
    """
    img = np.asarray(img)
    alpha = None
    if img.ndim == 3 and img.shape[2] in (2, 4):
        img, alpha = img[..., :-1], img[..., -1]
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    gray = img.ndim == 2
    x = Normalisation.forward(img, span)
    if gray:
        x = np.repeat(x[..., None], model_channels, axis=-1)
    elif x.shape[2] != model_channels:
        raise ValueError(f"image has {x.shape[2]} colour channels but the model expects {model_channels}")
    return x, gray, alpha


def merge_channels(y, dtype, gray, alpha=None, span=None):
    """Inverse of :func:`split_channels` on the 4x output ``y`` (float32 (4H, 4W, C) in [-1, 1])."""
    if gray:
        y = y.mean(axis=-1)
    out = Normalisation.inverse(y, dtype, span)
    if alpha is not None:
        big = cv2.resize(alpha, (out.shape[1], out.shape[0]), interpolation=cv2.INTER_CUBIC).astype(dtype)
        out = np.concatenate([out.reshape(out.shape[:2] + (-1,)), big[..., None]], axis=-1)
    return out


def output_path(path, out_dir):
    """Where the result for input ``path`` goes: same name and suffix, inside ``out_dir``."""
    return Path(out_dir) / Path(path).name


def expand_inputs(inputs):
    """Input paths with folders replaced by the PNG/TIFF files directly inside them."""
    paths = []
    for p in map(Path, inputs):
        paths.extend(io.list_images(p) if p.is_dir() else [p])
    return paths


def plan(inputs, out_dir, model_channels=3):
    """Check every input before anything is written; returns [(input, output, shape)].

    Raises :class:`data.io.ImageError` naming the first unusable file, and
    ``ValueError`` for outputs that would collide or overwrite an input.
    """
    jobs, seen = [], {}
    for path in expand_inputs(inputs):
        img = io.read_image(path)
        try:
            split_channels(img[:1, :1], model_channels)
        except ValueError as e:
            raise io.ImageError(path, str(e)) from e
        out = output_path(path, out_dir)
        if out.resolve() == path.resolve():
            raise ValueError(f"{path}: the output would overwrite the input; choose another --out")
        if out in seen:
            raise ValueError(
                f"{path}: same output name {out.name} as {seen[out]}; process them into different --out folders"
            )
        seen[out] = path
        jobs.append((path, out, img.shape))
    if not jobs:
        raise ValueError(f"no PNG or TIFF images found in {', '.join(map(str, inputs))}")
    return jobs


def predict_file(resolver, path, out, on_batch=None, normalisation=None):
    """Super-resolve one file with ``resolver`` (a :class:`msrgan.inference.SuperResolver`) and write it atomically.

    ``normalisation``: a :class:`Normalisation` (default ``auto``). Returns the ``(lo, hi)`` span used, or None.
    """
    normalisation = normalisation or Normalisation()
    try:
        img = io.read_image(path)
        colour = img[..., :-1] if img.ndim == 3 and img.shape[2] in (2, 4) else img
        span = normalisation.range_of(colour)
        x, gray, alpha = split_channels(img, resolver.channels, span)
        y = resolver(x, on_batch=on_batch)
        io.write_image(out, merge_channels(y, img.dtype, gray, alpha, span))
    except ValueError as e:  # name the file the problem belongs to
        if str(path) in str(e):
            raise
        raise ValueError(f"{path}: {e}") from e
    return span


def resolver(model_path, tile=128, overlap=16, batch_size=4):
    """A :class:`msrgan.inference.SuperResolver` of the generator file ``model_path`` (tiling checked first)."""
    import msrgan
    from msrgan import inference

    tiling.check_tiling(tile, overlap)
    return inference.SuperResolver(msrgan.load_generator(model_path), tile, overlap, batch_size)
