"""The filter between the generators, chosen by the run's config.

``apply_filter(config, x)`` is ``DCTLowPass(config.dct_cutoff)(x)`` for a DCT
model and ``x`` unchanged for a vanilla one (``dct=False`` or cutoff 1.0),
so evaluation code treats both kinds of model alike.
"""

from __future__ import annotations

from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.layers import DCTLowPass


def make_filter(config, name="dct_lowpass"):
    """The ``DCTLowPass`` layer of a DCT model, or None for a vanilla model."""
    config = CycleGANConfig.from_dict(config)
    return None if config.vanilla else DCTLowPass(config.dct_cutoff, name=name)


def apply_filter(config, x):
    """Filter a batch (B, H, W, C) in [-1, 1] as the model's A->B->A cycle does: low-pass, or identity."""
    layer = make_filter(config)
    return x if layer is None else layer(x)
