"""Base of the per-model config dataclasses (pure Python, no TensorFlow).

Each package's config (``VGG19Config``, ``MSRGANConfig``, ``CycleGANConfig``)
is a dataclass with a ``validate()`` that names every bad field. This mixin
gives them the ``config.json`` round trip, refusing keys it does not know
(a typo in a hand-edited config must not be silently ignored).
"""

from __future__ import annotations

import dataclasses

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
"""Keras dtype policies accepted by every trainer's ``--precision``."""


class ConfigMixin:
    """``to_dict`` / ``from_dict`` for a config dataclass with a ``validate()`` method."""

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Build from a dict (e.g. ``config.json``); unknown keys raise ``ValueError`` naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields: {', '.join(unknown)}")
        config = cls(**d)
        config.validate()
        return config
