"""The one config idiom: a dataclass that validates on construction and round-trips through ``config.json``.

Every configuration (``VGG19Config``, ``MSRGANConfig``, ``CycleGANConfig``,
``data.stardist_training.StarDistConfig``, ``data.masks.MaskStats``) is a
``@dataclass`` deriving from :class:`Config`:

- ``problems()`` returns one ``"field=value (why)"`` string per bad field;
  construction (``__post_init__``), :meth:`Config.replace` and
  :meth:`Config.from_dict` raise one ``ValueError`` naming all of them;
- :meth:`Config.from_dict` / :meth:`Config.load` refuse keys they do not know
  (a typo in a hand-edited ``config.json`` must not be silently ignored);
- a field's ``metadata={"help": ...}`` (see :func:`param`) is the help text
  the CLI layer (``data.cli``) shows next to the field's default.

Pure Python: no TensorFlow import, so configs can be read anywhere.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import os
from pathlib import Path

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
"""Keras dtype policies accepted by every trainer's ``--precision``."""

STRATEGIES = ("default", "mirrored", "multiworker")
"""``tf.distribute`` choices of every trainer's ``--strategy`` (see ``data.engine.distribute.make_strategy``)."""


def param(default=dataclasses.MISSING, help="", **kwargs):  # noqa: A002 - mirrors click's keyword
    """A dataclass field with its CLI help text in ``metadata["help"]``."""
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata={"help": help}, **kwargs)
    return dataclasses.field(default=default, metadata={"help": help}, **kwargs)


class Config:
    """Base of every config dataclass (subclasses are decorated with ``@dataclass``).

    Subclasses override :meth:`problems`; everything else is shared. ``RENAMED`` maps a field's earlier name
    to its name now, so that a ``config.json`` written before a rename still loads.
    """

    RENAMED = {}

    def __post_init__(self):
        self.validate()

    def problems(self):
        """One string per invalid field, e.g. ``"epochs=0 (must be >= 1)"``; empty when valid."""
        return []

    def type_problems(self):
        """One string per field whose value has not the type of its default (e.g. ``dct_cutoff='high'``).

        Checked before :meth:`problems`, which may compute with the values. Fields without a default or
        with a ``None`` default are not checked; an int is a valid float.
        """
        bad = []
        for f in dataclasses.fields(self):
            default = f.default if f.default is not dataclasses.MISSING else None
            if f.default_factory is not dataclasses.MISSING:
                default = f.default_factory()
            v = getattr(self, f.name)
            if default is None or v is None and "None" in str(f.type):
                continue
            kind = _KINDS.get(_NAMES.get(str(f.type).replace(" ", ""), type(default)))
            if kind is not None and not kind[1](v):
                bad.append(f"{f.name}={v!r} (must be {kind[0]})")
        return bad

    def validate(self):
        """Raise ``ValueError`` naming every invalid field."""
        bad = self.type_problems() or self.problems()
        if bad:
            raise ValueError(f"invalid {type(self).__name__}: " + "; ".join(bad))

    @classmethod
    def field_names(cls):
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def _check_keys(cls, keys):
        unknown = sorted(set(keys) - set(cls.field_names()))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {', '.join(unknown)}")

    def to_dict(self):
        """Plain JSON-able dict of every field (``from_dict`` rebuilds the config)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Build from a dict (e.g. ``config.json``); unknown keys raise ``ValueError`` naming them."""
        if isinstance(d, cls):
            return d
        d = {cls.RENAMED.get(k, k): v for k, v in d.items()}
        cls._check_keys(d)
        return cls(**d)

    def replace(self, **changes):
        """A validated copy with some fields changed; unknown names raise ``ValueError``."""
        self._check_keys(changes)
        return dataclasses.replace(self, **changes)

    def save(self, path):
        """Write ``path`` (``config.json``) atomically."""
        from data.io import write_json

        write_json(path, self.to_dict())
        return Path(path)

    @classmethod
    def load(cls, path):
        """The config saved at ``path``; errors name the file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        try:
            d = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ValueError(f"{path}: not a JSON config ({e})") from e
        if not isinstance(d, dict):
            raise ValueError(f"{path}: not a JSON object")
        try:
            return cls.from_dict(d)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: {e}") from e

    @classmethod
    def default(cls, name):
        """The default value of field ``name`` (for CLI option defaults)."""
        f = {f.name: f for f in dataclasses.fields(cls)}[name]
        if f.default is not dataclasses.MISSING:
            return f.default
        if f.default_factory is not dataclasses.MISSING:
            return f.default_factory()
        raise KeyError(f"{cls.__name__}.{name} has no default")

    @classmethod
    def help(cls, name):
        """The help text of field ``name`` (``metadata["help"]``), or ``""``."""
        return {f.name: f for f in dataclasses.fields(cls)}[name].metadata.get("help", "")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


_KINDS = {
    bool: ("true or false", lambda v: isinstance(v, bool) or (_is_int(v) and v in (0, 1))),
    int: ("an integer", _is_int),
    float: ("a number", lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool)),
    str: ("a string", lambda v: isinstance(v, (str, os.PathLike))),
    dict: ("a JSON object", lambda v: isinstance(v, dict)),
    list: ("a list", lambda v: isinstance(v, (list, tuple))),
}
"""Type of a field (its annotation, else its default's) -> (what its values must be, check)."""

_NAMES = {name: t for t in _KINDS for name in (t.__name__, f"{t.__name__}|None")}


def positive(config, *names, allow_none=False, minimum=1):
    """Problems for the integer fields ``names`` that are not integers >= ``minimum``."""
    bad = []
    for name in names:
        v = getattr(config, name)
        if v is None and allow_none:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
            extra = " or None" if allow_none else ""
            bad.append(f"{name}={v!r} (must be an integer >= {minimum}{extra})")
    return bad


def one_of(config, name, choices):
    """Problem for field ``name`` when its value is not in ``choices``."""
    v = getattr(config, name)
    return [] if v in choices else [f"{name}={v!r} (must be one of {', '.join(map(str, choices))})"]


@dataclasses.dataclass
class RunConfig(Config):
    """The run fields every trainer shares, declared once (a model's config derives from it).

    A subclass redeclares a field to change its default or help (the field keeps its place), and extends
    :meth:`problems` with ``super().problems()``.
    """

    epochs: int = param(100, "Total number of epochs (a resumed run stops at the same total).")
    steps_per_epoch: int | None = param(None, "Training steps per epoch [default: one pass over the training images].")
    batch_size: int = param(16, "Global batch size (split across replicas).")
    seed: int = param(0, "Random seed (initial weights, dropout, data order).")
    precision: str = param("float32", "Keras dtype policy of training; mixed_bfloat16 is faster on CPUs with bf16 "
                                      "units (AMX), slower where bf16 is emulated. Exports are float32 whatever "
                                      "the policy.")
    jit_compile: bool = param(False, "Compile the train step with XLA (docs/measurements.md, 'Speed options').")
    strategy: str = param("default", "default: one device; mirrored: MirroredStrategy over the local GPUs, or the "
                                     "logical CPUs without a GPU; multiworker: MultiWorkerMirroredStrategy over the "
                                     "processes of TF_CONFIG or SLURM (--batch-size is the global batch).")
    log_every: int = param(10, "TensorBoard step scalars every N steps.")
    checkpoint_every: int = param(0, "Also write the full checkpoint every N training steps (0: at epoch ends "
                                     "only); a run killed or stopped mid-epoch resumes at the last one, exactly.")

    def problems(self):
        bad = positive(self, "epochs", "batch_size", "log_every")
        if not isinstance(self.checkpoint_every, bool) and self.checkpoint_every < 0:
            bad.append(f"checkpoint_every={self.checkpoint_every} (must be >= 0)")
        bad += positive(self, "steps_per_epoch", allow_none=True)
        return bad + one_of(self, "precision", PRECISIONS) + one_of(self, "strategy", STRATEGIES)


@dataclasses.dataclass
class ImageRunConfig(RunConfig):
    """:class:`RunConfig` plus the fields of a trainer on image folders (``DIR/train``, ``DIR/test``) or the demo
    data: vgg19 and msrgan (mSRGAN and SRCNN)."""

    image_size: int = param(96, "HR side S (S x S x 3). Folder images must be S x S; demo images are resized to it. "
                                "The original: 96.")
    val_steps: int | None = param(None, "Validation batches per epoch [default: the test split].")
    data_dir: str | None = param(None, "Folder in the original layout DIR/train/NN_<id>.png and DIR/test/NN_<id>.png "
                                       "(NN = class 00-12, 96x96 RGB). Default: the embedded demo data.")
    demo_n: int = param(1300, "Number of demo images (train + test) when --data-dir is not given.")
    augment: bool = param(False, "The original's training augmentation (flip, gamma, crop-and-zoom, box blur 1-4 px).")

    def problems(self):
        return super().problems() + positive(self, "image_size", "demo_n") + positive(self, "val_steps",
                                                                                      allow_none=True)
