"""The filter between the generators, chosen by the run's config, and the A->B->A inference.

``make_filter(config)`` is ``DCTLowPass(config.dct_cutoff)`` for a DCT model
and ``None`` for a vanilla one (``dct=False`` or cutoff 1.0). :func:`back_to_a`
is F(LP(x)), the second half of the A->B->A cycle at inference, used by
``synthesis`` and ``steganography`` (``CycleGAN.translate`` is the in-graph form).
"""

from __future__ import annotations

import keras
import numpy as np

from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.layers import DCTLowPass


def make_filter(config, name="dct_lowpass"):
    """The ``DCTLowPass`` layer of a DCT model, or None for a vanilla model."""
    config = CycleGANConfig.from_dict(config)
    return None if config.vanilla else DCTLowPass(config.dct_cutoff, name=name)


def predict(model, x, batch_size=8):
    """Run a Keras model on a numpy batch (N, H, W, C) in chunks, inference mode; float32 numpy out.

    ``Model.predict_on_batch``: the model's compiled predict function, not an eager call, which runs layer by
    layer (20-40x slower on 64 px batches, most of the stego report's time). A short last chunk is padded to
    ``batch_size`` (the networks normalise each image on its own), so one trace serves every call of a size."""
    x = np.asarray(x, np.float32)
    out = []
    for i in range(0, len(x), batch_size):
        chunk = x[i:i + batch_size]
        pad = batch_size - len(chunk)
        if pad and len(x) > batch_size:
            chunk = np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), np.float32)])
        out.append(np.asarray(model.predict_on_batch(chunk))[:batch_size - pad])
    return np.concatenate(out).astype(np.float32)


def low_pass(config, x, batch_size=8):
    """LP(x) for a numpy batch x (N, H, W, C) in [-1, 1] with the run's filter (x itself for a vanilla model):
    the image F reads in the A->B->A cycle; float32 numpy."""
    layer = make_filter(config)
    if layer is None:
        return np.asarray(x, np.float32)
    out = [keras.ops.convert_to_numpy(layer(x[i:i + batch_size])) for i in range(0, len(x), batch_size)]
    return np.concatenate(out).astype(np.float32)


def back_to_a(config, g_b2a, x, batch_size=8):
    """F(LP(x)) for a numpy batch x in [-1, 1] (e.g. G(m)), as the A->B->A cycle computes it; float32 numpy."""
    return predict(g_b2a, low_pass(config, x, batch_size), batch_size)
