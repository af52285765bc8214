"""Paired tests (data.stats: Wilcoxon, t-test, rank-biserial r, Holm) against hand-computed values."""

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



def test_paired_t_against_hand_computed_values():
    # d = 1, 2, 3, 4, 6: mean 3.2, sd sqrt(14.8 / 4) = 1.9235, t = 3.2 / (1.9235 / sqrt 5) = 3.7199 (4 df)
    t = stats.paired_t([2, 4, 6, 8, 11], [1, 2, 3, 4, 5])
    sd = math.sqrt(14.8 / 4)
    assert t.mean_difference == pytest.approx(3.2) and t.statistic == pytest.approx(3.2 / (sd / math.sqrt(5)))
    assert t.cohens_dz == pytest.approx(3.2 / sd) and t.n == 5
    half = 2.7764451051977987 * sd / math.sqrt(5)  # t_{0.975, 4}
    assert (t.ci_low, t.ci_high) == (pytest.approx(3.2 - half), pytest.approx(3.2 + half))
    assert t.pvalue == pytest.approx(0.020476, abs=1e-5)  # 2 * (1 - T_4(3.7199))
    same = stats.paired_t([1, 2, 3], [0, 1, 2])  # every difference 1: no spread
    assert (same.mean_difference, same.ci_low, same.ci_high, same.pvalue, same.cohens_dz) == (1, 1, 1, 0.0, None)
    assert stats.paired_t([1, 2], [1, 2]).pvalue == 1.0
    with pytest.raises(ValueError, match="at least 2"):
        stats.paired_t([1], [0])


def test_rank_biserial_and_holm():
    # d = 1, -2, 3, 4, -5, 6: R+ = 14, R- = 7, r = 7 / 21; zeros dropped; all positive: +1
    assert stats.rank_biserial([1, -2, 3, 4, -5, 6], np.zeros(6)) == pytest.approx(1 / 3)
    assert stats.rank_biserial([0, 1, 2], [0, 0, 0]) == 1.0 and stats.rank_biserial([1, 2], [1, 2]) == 0.0
    assert stats.rank_biserial(np.zeros(6), [1, -2, 3, 4, -5, 6]) == pytest.approx(-1 / 3)
    # Holm: sorted 0.01, 0.03, 0.04, 0.5 scaled by 4, 3, 2, 1 -> 0.04, 0.09, 0.08 -> 0.09 (monotone), 0.5
    assert stats.holm([0.04, 0.01, 0.5, 0.03]) == pytest.approx([0.09, 0.04, 0.5, 0.09])
    assert stats.holm([0.6, 0.7]) == [1.0, 1.0] and stats.holm([]) == []
    with pytest.raises(ValueError):
        stats.holm([0.5, 1.5])
