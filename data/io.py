"""Image I/O and value conventions (pure numpy; the only module that writes image files).

Model convention (the original mSRGAN's): 8-bit images map to [-1, 1] by
``x / 127.5 - 1``. 16-bit images map by their full range (``x / 32767.5 - 1``)
or, when asked, by percentiles (``pmin=2, pmax=99.8``, as CSBDeep does).
Every write is atomic: the file is written under a temporary name in the
target folder and renamed, so a crash never leaves a partial file; a folder
written by :func:`staged_folder` appears whole or not at all.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import tifffile

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")


class ImageError(ValueError):
    """A file that cannot be used as an image; the message names the file."""

    def __init__(self, path, problem):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.
    The temporary name keeps the suffix so writers that dispatch on it work.
    An ``OSError`` with an error number (no space left, permission denied) is
    raised again naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as e:
        raise OSError(e.errno, f"{path}: cannot write ({e.strerror or e})") from e
    os.close(fd)
    try:
        yield Path(tmp)
        umask = os.umask(0)  # mkstemp creates 0600; give the file the usual mode of a new file
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None:  # no space left, read-only...: name the target file
            raise OSError(e.errno, f"{path}: cannot write ({e.strerror or e})") from e
        raise


def _staging_names(out_dir):
    """Glob patterns of the hidden folders :func:`staged_folder` makes beside ``out_dir``."""
    name = glob.escape(Path(out_dir).name)
    return (f".{name}.*.tmp", f".{name}.*.old")


def remove_stale_staging(out_dir):
    """Remove the folders a killed :func:`staged_folder` of ``out_dir`` left beside it (its own names only)."""
    out_dir = Path(out_dir)
    stale = [p for pattern in _staging_names(out_dir) for p in out_dir.parent.glob(pattern) if p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return stale


def check_can_create(*folders):
    """Raise ``OSError`` naming the first of ``folders`` (``None`` skipped) that is not writable, nor can be
    created in a writable existing ancestor: checked before a run writes anything."""
    for folder in folders:
        if folder is None:
            continue
        folder = Path(folder).absolute()
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir():
            raise OSError(20, f"{folder}: cannot create a folder here, {existing} is not a folder")
        check_writable(existing)


def check_writable(folder):
    """Raise ``OSError`` naming ``folder`` unless a file can be created in it (a probe, removed at once).

    Catches what ``os.access`` misses for root: an immutable (``chattr +i``) or read-only mounted folder.
    """
    folder = Path(folder)
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", dir=folder)
    except OSError as e:
        raise OSError(e.errno, f"{folder}: cannot write here ({e.strerror})") from e
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def staged_folder(out_dir, overwrite=False):
    """Yield an empty hidden folder beside ``out_dir`` to write into; on success it becomes ``out_dir`` whole.

    A non-empty ``out_dir`` is refused (``ValueError``) unless ``overwrite``, which replaces it whole (the
    old folder is renamed aside, the new one renamed in, then the old one deleted). A failure, or a kill,
    leaves ``out_dir`` as it was; what a killed run left beside it is removed by the next one.
    """
    out_dir = Path(os.path.abspath(out_dir))  # "." and "out/" have a name and a parent too
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir}: exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir}: folder exists and is not empty; choose another folder or pass --overwrite "
                         "(replaces it whole)")
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(e.errno, f"{out_dir}: cannot create the output folder ({e.strerror})") from e
    check_writable(out_dir.parent)
    if out_dir.is_dir():
        check_writable(out_dir)
    remove_stale_staging(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
    try:
        yield tmp
        umask = os.umask(0)  # mkdtemp creates 0700; give the folder the usual mode of a new folder
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)
        _swap_in(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new, out_dir):
    """Rename folder ``new`` to ``out_dir``, replacing (and then deleting) an existing ``out_dir``."""
    old = None
    if out_dir.is_dir() and any(out_dir.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
        os.rename(out_dir, old / out_dir.name)
    try:
        os.rename(new, out_dir)  # replaces an empty folder
    except OSError as e:
        if old is not None:  # put the old folder back
            os.rename(old / out_dir.name, out_dir)
            old.rmdir()
        raise OSError(e.errno, f"{out_dir}: cannot move the finished output into place ({e.strerror})") from e
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_json(path, obj):
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


def write_text(path, text):
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_image(path):
    """Read a PNG or TIFF as stored: uint8 or uint16, shape (H, W) or (H, W, C), C in 1..4.

    Colour PNGs come back in RGB(A) order. Raises :class:`ImageError` naming
    the file for a missing, unreadable, corrupt or unsupported image.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageError(path, f"unsupported file type {suffix!r} (expected one of {', '.join(IMAGE_SUFFIXES)})")
    if not path.is_file():
        raise ImageError(path, "file does not exist")
    try:
        if suffix == ".png":
            img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if img is None:
                raise ValueError("not a readable PNG")
            if img.ndim == 3 and img.shape[2] == 3:
                img = img[..., ::-1]
            elif img.ndim == 3 and img.shape[2] == 4:
                img = img[..., [2, 1, 0, 3]]
            img = np.ascontiguousarray(img)
        else:
            img = tifffile.imread(str(path))
    except ImageError:
        raise
    except Exception as e:  # cv2/tifffile raise many types for corrupt files
        raise ImageError(path, f"cannot read image ({e})") from e
    if img.dtype == bool:
        img = img.astype(np.uint8)
    if img.dtype not in (np.uint8, np.uint16):
        if img.dtype.kind in "iu" and img.size and img.min() >= 0 and img.max() <= 65535:
            img = img.astype(np.uint16)
        else:
            raise ImageError(path, f"unsupported pixel type {img.dtype} (expected 8- or 16-bit unsigned)")
    if img.ndim == 3 and img.shape[-1] == 1:
        img = img[..., 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] > 4) or min(img.shape[:2]) == 0:
        raise ImageError(path, f"unsupported image shape {img.shape} (expected (H, W) or (H, W, 1-4))")
    return img


def write_png(path, img):
    """Write an 8-bit (or 16-bit) PNG atomically. ``img`` is (H, W) or (H, W, 1/3/4), RGB(A) order."""
    img = np.asarray(img)
    if img.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"{path}: write_png expects uint8 or uint16, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[..., ::-1]
    elif img.ndim == 3 and img.shape[2] == 4:
        img = img[..., [2, 1, 0, 3]]
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), np.ascontiguousarray(img)):
            raise OSError(f"{path}: cannot write PNG")


def write_tiff(path, img):
    """Write a TIFF atomically, keeping the dtype (uint8, uint16, float32...)."""
    with atomic_path(path) as tmp:
        tifffile.imwrite(str(tmp), np.asarray(img))


def write_image(path, img):
    """Write by suffix: ``.png`` via :func:`write_png`, ``.tif/.tiff`` via :func:`write_tiff`."""
    suffix = Path(path).suffix.lower()
    if suffix == ".png":
        return write_png(path, img)
    if suffix in (".tif", ".tiff"):
        return write_tiff(path, img)
    raise ValueError(f"{path}: unsupported output type {suffix!r}")


def percentile_range(img, pmin=2.0, pmax=99.8):
    """Per-image low/high values at the given percentiles (CSBDeep's defaults)."""
    lo, hi = np.percentile(np.asarray(img, np.float32), [pmin, pmax])
    return float(lo), float(hi)


def to_model_range(img, pmin=None, pmax=None):
    """Map a stored image (uint8/uint16) to float32 in [-1, 1].

    uint8: ``x / 127.5 - 1`` (the original's convention). uint16: full range,
    or percentile scaling to [pmin, pmax] when both are given (clipped).
    Float input is assumed to be in [0, 1] already.
    """
    img = np.asarray(img)
    if pmin is not None and pmax is not None:
        lo, hi = percentile_range(img, pmin, pmax)
        x = (img.astype(np.float32) - lo) / max(hi - lo, 1e-6)
        return np.clip(x * 2.0 - 1.0, -1.0, 1.0).astype(np.float32)
    if img.dtype == np.uint8:
        return img.astype(np.float32) / 127.5 - 1.0
    if img.dtype == np.uint16:
        return img.astype(np.float32) / 32767.5 - 1.0
    return np.clip(img.astype(np.float32) * 2.0 - 1.0, -1.0, 1.0)


def to_unit(x):
    """Model range [-1, 1] -> display range [0, 1] (float32 numpy, clipped), e.g. for TensorBoard images."""
    return np.clip((np.asarray(x, np.float32) + 1.0) / 2.0, 0.0, 1.0)


def from_model_range(x, dtype=np.uint8):
    """Inverse of :func:`to_model_range` (full-range form): [-1, 1] float -> uint8/uint16, clipped and rounded."""
    dtype = np.dtype(dtype)
    top = 255.0 if dtype == np.uint8 else 65535.0
    y = (np.asarray(x, np.float32) + 1.0) * (top / 2.0)
    return np.clip(np.rint(y), 0, top).astype(dtype)


def list_images(folder):
    """Sorted image files (PNG/TIFF) directly inside ``folder``."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: not a folder")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
