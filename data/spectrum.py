"""Radially averaged power spectrum of an image channel and its log-log slope (pure numpy).

The slope says how an image's energy is spread over scales: white noise and
isolated points give 0, thin lines about -1, a scale-invariant mix of
sharp-edged objects (the "dead leaves" model of natural images) about -2,
isolated sharp-edged blobs about -3. A 4x super-resolution model has to
restore what lies above the low-resolution Nyquist frequency (1/8 cycle per
pixel for 4x); a shallower slope means more of the image lives there.
"""

from __future__ import annotations

import numpy as np

BAND = (1 / 24, 0.4)
"""Frequencies (cycles per pixel) the slope is fitted over: from 4 cycles per 96 px to just below Nyquist."""


def radial_power_spectrum(channel):
    """``(freqs, power)``: the Hann-windowed, mean-removed 2-D power spectrum averaged over rings of radius f."""
    x = np.asarray(channel, np.float64)
    if x.ndim != 2 or min(x.shape) < 8:
        raise ValueError(f"expected a 2-D channel of at least 8 x 8 pixels, got shape {x.shape}")
    h, w = x.shape
    x = (x - x.mean()) * np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fftshift(np.fft.fft2(x))) ** 2
    fy = (np.arange(h) - h // 2) / h
    fx = (np.arange(w) - w // 2) / w
    radius = np.hypot(fy[:, None], fx[None, :])
    step = 1 / max(h, w)
    ring = np.round(radius / step).astype(int)
    counts = np.bincount(ring.ravel())
    sums = np.bincount(ring.ravel(), power.ravel())
    keep = counts > 0
    return np.flatnonzero(keep) * step, sums[keep] / counts[keep]


def spectrum_slope(channel, band=BAND):
    """Least-squares slope of log power against log frequency over ``band`` (cycles per pixel)."""
    f, p = radial_power_spectrum(channel)
    sel = (f >= band[0]) & (f <= band[1]) & (p > 0)
    if sel.sum() < 3:
        raise ValueError(f"band {band} holds fewer than 3 frequencies for a channel of this size")
    return float(np.polyfit(np.log(f[sel]), np.log(p[sel]), 1)[0])
