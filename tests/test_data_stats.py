"""Paired Wilcoxon signed-rank test (data.stats) against hand-computed exact values."""

import math

import numpy as np
import pytest

from data import stats


def test_all_positive_differences_exact():
    # d = 1..5, all positive: W+ = 15, W- = 0; exact two-sided p = 2 * P(W <= 0) = 2 / 2^5.
    t = stats.paired_wilcoxon([11, 12, 13, 14, 15], [10, 10, 10, 10, 10])
    assert t.statistic == 0 and t.pvalue == pytest.approx(0.0625)
    assert (t.median_difference, t.n, t.n_nonzero, t.method) == (3.0, 5, 5, "exact")


def test_mixed_signs_exact():
    # d = 1, -2, 3, 4, -5, 6: W- = 2 + 5 = 7 < W+ = 14. Subsets of {1..6} with sum <= 7:
    # sums 0..7 are reached by 1, 1, 1, 2, 2, 3, 4, 4 subsets = 18, so p = 2 * 18 / 64.
    t = stats.paired_wilcoxon([1, -2, 3, 4, -5, 6], np.zeros(6))
    assert t.statistic == 7 and t.pvalue == pytest.approx(2 * 18 / 64)
    assert t.median_difference == pytest.approx(2.0)
    # swapping the samples flips the differences, not the test
    s = stats.paired_wilcoxon(np.zeros(6), [1, -2, 3, 4, -5, 6])
    assert (s.statistic, s.pvalue, s.median_difference) == (7, t.pvalue, -2.0)


def test_zero_differences_are_dropped_and_all_equal_gives_no_test():
    t = stats.paired_wilcoxon([5, 1, 2, 3, 4, 5], [5, 0, 0, 0, 0, 0])  # first pair ties: n_nonzero = 5
    assert (t.n, t.n_nonzero, t.statistic) == (6, 5, 0) and t.pvalue == pytest.approx(0.0625)
    assert t.median_difference == pytest.approx(2.5)  # median over all 6 pairs, the zero included
    same = stats.paired_wilcoxon([30.0, math.inf], [30.0, math.inf])  # identical images: PSNR inf on both sides
    assert same.statistic is None and same.pvalue == 1.0 and same.n_nonzero == 0 and same.method == "none"


def test_large_sample_uses_normal_approximation():
    # n = 60 distinct positive differences: W = 0, z = -mean/sd with mean n(n+1)/4 and sd sqrt(n(n+1)(2n+1)/24).
    n = 60
    t = stats.paired_wilcoxon(np.arange(1, n + 1) + 0.5, np.zeros(n))
    z = -(n * (n + 1) / 4) / math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    assert t.method == "asymptotic" and t.statistic == 0
    assert t.pvalue == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))  # two-sided normal tail 2 * Phi(-|z|)


def test_infinite_differences_rank_highest():
    # an exact reconstruction (inf dB) against finite values: same test as with a very large finite value
    t = stats.paired_wilcoxon([math.inf, 3, 2, 9], [5, 1, 3, 4])
    u = stats.paired_wilcoxon([1e9, 3, 2, 9], [5, 1, 3, 4])
    assert (t.statistic, t.pvalue) == (u.statistic, u.pvalue)


def test_bad_samples_raise():
    with pytest.raises(ValueError, match="length"):
        stats.paired_wilcoxon([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        stats.paired_wilcoxon([1, float("nan")], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        stats.paired_wilcoxon([], [])

