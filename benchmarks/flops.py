"""Floating-point operation counts of Keras networks, from their layers (for speed figures).

Only the layers that dominate a convolutional network are counted: convolutions
(``Conv1D/2D/3D``, transposed, depthwise, separable) and ``Dense``. One
multiply-accumulate (MAC) is 2 FLOP. Element-wise layers (normalisation,
activations, padding, pixel shuffle, the DCT low-pass), losses and optimizer
updates are not counted: for the networks of this project they are well under
1 % of the total.

MACs of one call, per example (batch 1), with ``positions`` the number of
spatial output positions (input positions for a transposed convolution):

- convolution: ``output positions x kernel size`` (kernel ``(k..., C_in / groups, C_out)``);
- transposed convolution: ``input positions x kernel size`` (every input pixel
  is multiplied by the whole kernel; the cropping of the output is ignored);
- depthwise: ``output positions x depthwise kernel size``; separable: depthwise + pointwise;
- dense: ``rows x kernel size`` (rows = all leading dimensions but the batch).

Training cost of one *application* of a network in a training step
(:func:`application_flops`), counted per weighted layer call with F = its forward FLOP:

- forward: F;
- gradient with respect to the layer's input: F, when a gradient must flow
  through it: the network's input needs a gradient (``input_grad=True``, e.g.
  the discriminator or a frozen feature extractor applied to a generator's
  output), or a layer with trained weights was called before it (the first
  weighted layer of a network applied to data has no input gradient);
- gradient with respect to the layer's weights: F, when the application trains them.

So a trained network applied to data costs about 3x its forward pass, a
frozen one applied to data 1x, a frozen one between a generator and its loss
2x. Each ``GradientTape`` and each application is counted separately, as the
code asks for it; what a compiler might share between them is not subtracted.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np


@dataclasses.dataclass(frozen=True)
class LayerCost:
    """One weighted layer call: ``macs`` per example; ``trainable``: its weights can be trained."""

    name: str
    kind: str
    macs: int
    trainable: bool


def _positions(shape):
    """Spatial positions of a channels-last (batch, ..., channels) shape."""
    return math.prod(int(s) for s in shape[1:-1])


def _macs(layer, in_shape, out_shape):
    """(kind, MACs per example) of one call, or None for a layer that is not counted."""
    import keras

    L = keras.layers
    kernel = getattr(layer, "kernel", None)
    if isinstance(layer, (L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose)):
        return "conv_transpose", _positions(in_shape) * math.prod(kernel.shape)
    if isinstance(layer, (L.SeparableConv1D, L.SeparableConv2D)):
        return "separable_conv", _positions(out_shape) * (
            math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape))
    if isinstance(layer, (L.DepthwiseConv1D, L.DepthwiseConv2D)):
        return "depthwise_conv", _positions(out_shape) * math.prod(kernel.shape)
    if isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D)):
        return "conv", _positions(out_shape) * math.prod(kernel.shape)
    if isinstance(layer, L.Dense):
        rows = math.prod(int(s) for s in in_shape[1:-1])
        return "dense", rows * math.prod(kernel.shape)
    return None


def _leaf_layers(model):
    """Every layer of ``model`` that has no sub-layers (nested models are descended into)."""
    out, stack = [], [model]
    while stack:
        layer = stack.pop()
        children = layer._flatten_layers(include_self=False, recursive=False)
        if children:
            stack.extend(children)
        else:
            out.append(layer)
    return out


def layer_costs(model, input_shape):
    """Weighted layer calls of one forward pass of ``model`` on one example, in call order.

    ``input_shape``: the example's shape without the batch (e.g. ``(96, 96, 3)``), or a
    list of shapes for a model with several inputs. The model is run once eagerly on
    zeros of batch 1 (inference mode) while each layer's call records its input and
    output shapes, so nested models, shared layers and inputs with undefined
    spatial size are all handled.
    """
    import keras

    calls = []
    patched = []

    def wrap(layer, call):
        def recorded(*args, **kwargs):
            out = call(*args, **kwargs)
            x = args[0] if args else next(iter(kwargs.values()))
            found = _macs(layer, tuple(x.shape), tuple(out.shape))
            if found is not None:
                kind, macs = found
                trainable = bool(layer.trainable and layer.trainable_weights)
                calls.append(LayerCost(layer.name, kind, int(macs), trainable))
            return out
        return recorded

    for layer in _leaf_layers(model):
        if _macs_candidate(layer):
            object.__setattr__(layer, "call", wrap(layer, layer.call))
            patched.append(layer)
    try:
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        dtype = keras.backend.floatx()
        xs = [np.zeros((1, *s), dtype) for s in shapes]
        model(xs if isinstance(input_shape, list) else xs[0], training=False)
    finally:
        for layer in patched:
            object.__delattr__(layer, "call")
    return calls


def _macs_candidate(layer):
    import keras

    L = keras.layers
    return isinstance(layer, (L.Conv1D, L.Conv2D, L.Conv3D, L.Conv1DTranspose, L.Conv2DTranspose, L.Conv3DTranspose,
                              L.SeparableConv1D, L.SeparableConv2D, L.DepthwiseConv1D, L.DepthwiseConv2D, L.Dense))


def forward_flops(model, input_shape, batch_size=1):
    """FLOP of one forward pass on ``batch_size`` examples (2 x the MACs of :func:`layer_costs`)."""
    return 2 * batch_size * sum(c.macs for c in layer_costs(model, input_shape))


def application_flops(model, input_shape, batch_size=1, train=True, input_grad=False, costs=None):
    """FLOP of one application of ``model`` in a training step (rule in the module docstring).

    ``train``: this application produces gradients for the model's trainable weights;
    ``input_grad``: a gradient flows back to the model's input. ``costs``: a
    :func:`layer_costs` result to reuse (the model is not run again).
    """
    costs = layer_costs(model, input_shape) if costs is None else costs
    total = 0
    trained_before = False
    for c in costs:
        forward = 2 * batch_size * c.macs
        trains = train and c.trainable
        passes = 1 + (input_grad or trained_before) + trains
        total += passes * forward
        trained_before = trained_before or trains
    return total
