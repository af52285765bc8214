"""Statistics of the multi-seed ablation on hand-made run records with known mean/std/p-values."""

import math

import pytest

from cyclegan_dct import stats


def _records():
    """vanilla f1 0.4/0.5/0.6, dct0.5 f1 0.5/0.8/0.8 (differences 0.1/0.3/0.2), seeds 0-2; plus a nested metric."""
    van = [0.4, 0.5, 0.6]
    dct = [0.5, 0.8, 0.8]
    recs = []
    for seed in range(3):
        recs.append({"cutoff": 1.0, "seed": seed, "f1": van[seed], "sensitivity": {"2": 0.9}})
        recs.append({"cutoff": 0.5, "seed": seed, "f1": dct[seed], "sensitivity": {"2": 0.9 - 0.1 * seed}})
    return recs


def test_variant_names():
    assert stats.variant_name(1.0) == "vanilla"
    assert stats.variant_name(0.5) == "dct0.5"
    assert stats.variant_name(0.25) == "dct0.25"
    with pytest.raises(ValueError):
        stats.variant_name(0.0)


def test_summary_mean_std_n():
    s = stats.summarize(_records(), metrics=("f1", "sensitivity.2"))
    assert set(s) == {"vanilla", "dct0.5"}
    assert s["vanilla"]["f1"]["mean"] == pytest.approx(0.5)
    assert s["vanilla"]["f1"]["std"] == pytest.approx(0.1)  # sample std, ddof 1
    assert s["dct0.5"]["f1"]["mean"] == pytest.approx(0.7)
    assert s["dct0.5"]["f1"]["std"] == pytest.approx(math.sqrt(0.03))
    assert s["dct0.5"]["f1"]["n"] == 3
    assert s["dct0.5"]["sensitivity.2"]["mean"] == pytest.approx(0.8)


def test_paired_test_known_values():
    t = stats.paired_tests(_records(), metrics=("f1",))["dct0.5"]["f1"]
    # differences 0.1, 0.3, 0.2: mean 0.2, sd 0.1, t = sqrt(12) with 2 degrees of freedom;
    # for 2 df the two-sided p is 1 - t / sqrt(2 + t^2), and t_{0.975, 2} = 4.302653
    assert t["n"] == 3 and t["seeds"] == [0, 1, 2] and t["test"] == "ttest_rel"
    assert t["mean_diff"] == pytest.approx(0.2)
    assert t["sd_diff"] == pytest.approx(0.1)
    assert t["p_ttest_rel"] == pytest.approx(1 - math.sqrt(12 / 14), rel=1e-6)
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert t["ci_low"] == pytest.approx(0.2 - half, rel=1e-5)
    assert t["ci_high"] == pytest.approx(0.2 + half, rel=1e-5)
    # all three differences positive: the exact two-sided Wilcoxon p is 2 / 2^3, its floor for 3 seeds
    assert t["p_wilcoxon"] == pytest.approx(0.25)
    assert t["wilcoxon_min_p"] == pytest.approx(0.25)


def test_bootstrap_interval_agrees_with_t_for_many_normal_differences():
    """40 paired seeds with normal differences (mean 0.05, sd 0.1): the BCa bootstrap and t intervals of the mean
    nearly coincide, both contain the sample mean and are about 2 * 1.96 * 0.1 / sqrt(40) wide."""
    import numpy as np

    rng = np.random.default_rng(3)
    base = rng.uniform(0.3, 0.7, 40)
    diff = rng.normal(0.05, 0.1, 40)
    t = stats.paired_difference(base + diff, base)
    assert t["boot_low"] < t["mean_diff"] < t["boot_high"]
    assert t["boot_low"] == pytest.approx(t["ci_low"], abs=0.01)
    assert t["boot_high"] == pytest.approx(t["ci_high"], abs=0.01)
    assert t["boot_high"] - t["boot_low"] == pytest.approx(2 * 1.96 * diff.std(ddof=1) / math.sqrt(40), rel=0.15)
    same = stats.paired_difference([0.5, 0.6], [0.4, 0.5])  # equal differences: no spread, no interval
    assert same["boot_low"] is None and same["ci_low"] is not None


def test_pairs_only_common_seeds_and_degenerate_cases():
    recs = _records() + [{"cutoff": 0.5, "seed": 7, "f1": 0.0}]
    t = stats.paired_tests(recs, metrics=("f1",))["dct0.5"]["f1"]
    assert t["seeds"] == [0, 1, 2] and t["mean_diff"] == pytest.approx(0.2)
    # one seed: a mean difference, no spread, no CI, no p-value; std None in the summary
    one = [{"cutoff": 1.0, "seed": 0, "f1": 0.5}, {"cutoff": 0.5, "seed": 0, "f1": 0.6}]
    t1 = stats.paired_tests(one, metrics=("f1",))["dct0.5"]["f1"]
    assert t1["n"] == 1 and t1["mean_diff"] == pytest.approx(0.1)
    assert t1["ci_low"] is None and t1["p_ttest_rel"] is None and t1["p_wilcoxon"] is None
    assert stats.summarize(one, metrics=("f1",))["vanilla"]["f1"]["std"] is None
    # identical differences: zero spread, the t-test is undefined (None, not NaN)
    same = [{"cutoff": c, "seed": s, "f1": 0.5 + (0.1 if c < 1 else 0.0)} for s in range(3) for c in (1.0, 0.5)]
    t2 = stats.paired_tests(same, metrics=("f1",))["dct0.5"]["f1"]
    assert t2["p_ttest_rel"] is None and t2["ci_low"] == pytest.approx(0.1)


def test_duplicates_and_missing_keys_raise():
    with pytest.raises(ValueError, match="two records for vanilla seed 0"):
        stats.summarize([{"cutoff": 1.0, "seed": 0, "f1": 1.0}] * 2, metrics=("f1",))
    with pytest.raises(ValueError, match=r"'cutoff' \(or 'variant'\) and 'seed'"):
        stats.summarize([{"f1": 1.0}], metrics=("f1",))


def test_markdown_has_both_tables():
    recs = _records()
    md = stats.tests_markdown(stats.summarize(recs, ("f1",)), stats.paired_tests(recs, ("f1",)))
    assert "| vanilla | 0.500 +- 0.100 (n=3) |" in md
    # the bootstrap interval of 3 differences lies within their range (0.1 .. 0.3), the t interval beyond it
    assert "| dct0.5 - vanilla | F1@0.5 | +0.200 | [-0.048, +0.448] | [+0.100, +0.300] | 0.074 | 0.250 | 3 |" in md

