"""Paired comparison of two methods scored on the same images (pure numpy + scipy.stats).

Used by ``msrgan.evaluate`` to test each super-resolution method against
bicubic upscaling: the Wilcoxon signed-rank test of the per-image
differences (``scipy.stats.wilcoxon``, two-sided), with the median
difference as the effect size; and by ``msrgan.evaluate --segmentation``:
the paired t-test with the confidence interval of the mean difference and
Cohen's d_z (:func:`paired_t`), the rank-biserial correlation as the
Wilcoxon test's effect size (:func:`rank_biserial`), and Holm's correction
of a family of tests (:func:`holm`).
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


class PairedT(NamedTuple):
    """Result of :func:`paired_t` for ``a`` against ``b``.

    Attributes:
        mean_difference: mean of ``a - b``; ``ci_low``, ``ci_high``: its two-sided confidence interval
            (Student's t with n - 1 degrees of freedom).
        statistic: t; ``pvalue``: two-sided p-value (``scipy.stats.ttest_rel``).
        cohens_dz: standardised mean difference ``mean(d) / sd(d)`` (sd with n - 1), ``None`` when sd is 0.
        n: number of pairs; ``confidence``: the interval's level.
    """

    mean_difference: float
    ci_low: float
    ci_high: float
    statistic: float | None
    pvalue: float
    cohens_dz: float | None
    n: int
    confidence: float

    def to_dict(self):
        return self._asdict()


def paired_t(a, b, confidence=0.95):
    """Paired t-test of ``a`` against ``b`` with the confidence interval of the mean difference.

    Needs at least 2 pairs and finite values. When every difference is the same
    (sd 0) the interval is that value, the p-value 1 if it is 0 and 0 otherwise.
    """
    d = differences(a, b)
    if d.size < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {d.size}")
    if not np.isfinite(d).all():
        raise ValueError("paired samples contain infinite differences")
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    if sd == 0.0:
        return PairedT(mean, mean, mean, None, 1.0 if mean == 0.0 else 0.0, None, int(d.size), float(confidence))
    res = _stats.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(confidence_level=confidence)
    return PairedT(mean, float(ci.low), float(ci.high), float(res.statistic), float(res.pvalue), mean / sd,
                   int(d.size), float(confidence))


def rank_biserial(a, b):
    """Matched-pairs rank-biserial correlation of ``a`` against ``b`` (Kerby 2014), in [-1, 1].

    ``(R+ - R-) / (R+ + R-)``, the rank sums of the positive and negative
    differences (ranks of ``|a - b|``, ties averaged, zero differences
    dropped as in :func:`paired_wilcoxon`): +1 when ``a`` is higher in every
    pair, 0 when there is no nonzero difference. The Wilcoxon test's effect size.
    """
    d = differences(a, b)
    d = d[d != 0]
    if d.size == 0:
        return 0.0
    finite = np.abs(d[np.isfinite(d)])
    big = 2.0 * (finite.max() if finite.size else 1.0) + 1.0
    ranks = _stats.rankdata(np.where(np.isfinite(d), np.abs(d), big))
    plus, minus = float(ranks[d > 0].sum()), float(ranks[d < 0].sum())
    return (plus - minus) / (plus + minus)


def holm(pvalues):
    """Holm-Bonferroni adjusted p-values (same order as given): controls the family-wise error rate
    of a family of tests without assuming independence. ``adjusted[i] <= 0.05`` rejects test ``i`` at 5 %."""
    p = np.asarray(list(pvalues), np.float64)
    if p.size == 0:
        return []
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = np.argsort(p, kind="stable")
    scaled = np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(scaled, 1.0)
    return adjusted.tolist()
