"""Paired comparison of two methods scored on the same images (pure numpy + scipy.stats).

Used by ``msrgan.evaluate`` to test each super-resolution method against
bicubic upscaling: the Wilcoxon signed-rank test of the per-image
differences (``scipy.stats.wilcoxon``, two-sided), with the median
difference as the effect size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats as _stats

EXACT_MAX_N = 50
"""Largest sample (nonzero differences) tested with the exact null distribution, as scipy's ``method="auto"``."""


class PairedTest(NamedTuple):
    """Result of :func:`paired_wilcoxon` for ``a`` against ``b``.

    Attributes:
        statistic: scipy's two-sided W, the smaller of the rank sums of the
            positive and of the negative differences (``None`` when undefined:
            no nonzero difference).
        pvalue: two-sided p-value (``1.0`` when every difference is zero).
        median_difference: median of ``a - b`` over all pairs, zeros included (positive: ``a`` scores higher).
        n: number of pairs; ``n_nonzero``: pairs with a nonzero difference (the test's sample).
        method: ``"exact"`` or ``"asymptotic"`` (normal approximation), or ``"none"`` (no test possible).
    """

    statistic: float | None
    pvalue: float
    median_difference: float
    n: int
    n_nonzero: int
    method: str

    def to_dict(self):
        return self._asdict()


def differences(a, b):
    """Per-pair ``a - b`` as float64; equal values (also two ``inf`` PSNRs of exact copies) give 0.

    Raises ``ValueError`` on different lengths, NaN, or an empty sample.
    """
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} vs {b.size}")
    if a.size == 0:
        raise ValueError("paired samples are empty")
    if np.isnan(a).any() or np.isnan(b).any():
        raise ValueError("paired samples contain NaN")
    with np.errstate(invalid="ignore"):
        d = a - b
    d[a == b] = 0.0
    return d


def paired_wilcoxon(a, b):
    """Wilcoxon signed-rank test of the paired samples ``a`` and ``b`` (e.g. per-image PSNR of two methods).

    Zero differences are dropped (Wilcoxon's original treatment, scipy's
    ``zero_method="wilcox"``). The exact null distribution is used for up to
    :data:`EXACT_MAX_N` differences without ties in ``|a - b|``, else the normal
    approximation (no continuity correction, scipy's default). Infinite
    differences (an exact reconstruction against an inexact one) are ranked
    as the largest ones.
    """
    d = differences(a, b)
    nonzero = d[d != 0]
    median = float(np.median(d))
    if nonzero.size == 0:
        return PairedTest(None, 1.0, median, int(d.size), 0, "none")
    # Ranks only depend on the order of |d|: map +-inf to a finite value above every finite one.
    finite = np.abs(nonzero[np.isfinite(nonzero)])
    big = 2.0 * (finite.max() if finite.size else 1.0) + 1.0
    ranked = np.where(np.isfinite(nonzero), nonzero, np.sign(nonzero) * big)
    exact = ranked.size <= EXACT_MAX_N and np.unique(np.abs(ranked)).size == ranked.size
    method = "exact" if exact else "asymptotic"
    res = _stats.wilcoxon(ranked, zero_method="wilcox", alternative="two-sided", method=method)
    return PairedTest(float(res.statistic), float(res.pvalue), median, int(d.size), int(nonzero.size), method)
