"""Statistics of a multi-seed DCT ablation, pure numpy/scipy (no TensorFlow).

Input: run records, one per (cutoff, seed), each a dict with ``"cutoff"``
(1.0 = the vanilla CycleGAN) or a ``"variant"`` name, ``"seed"`` and its figures, e.g. the rows of
``cyclegan_dct.ablate``. A metric is named by a key or a dotted path into
nested dicts (``"sensitivity.2"`` is ``record["sensitivity"]["2"]``).

- :func:`summarize`: ``{variant: {metric: {"mean", "std", "n"}}}``; variants
  are ``"vanilla"`` and ``"dct<cutoff>"`` (``"dct0.5"``); ``std`` is the sample
  standard deviation (ddof 1; ``None`` for a single run).
- :func:`paired_tests`: for each DCT variant against the vanilla one and each
  metric, the difference DCT - vanilla paired over the seeds both have:
  its mean, a 95 % t confidence interval (``mean +- t_{0.975, n-1} * sd / sqrt(n)``),
  the paired t-test's p-value (``scipy.stats.ttest_rel``, the primary test) and
  the exact two-sided Wilcoxon signed-rank p-value (``scipy.stats.wilcoxon``)
  as a distribution-free check. With n seeds the smallest Wilcoxon p-value is
  ``2 / 2**n`` (0.25 for 3 seeds), so it can only reject from n = 6 at the 5 %
  level; ``wilcoxon_min_p`` records that floor. Beside the t interval, a BCa
  bootstrap interval of the mean difference (``scipy.stats.bootstrap``, 9999
  resamples, seeded: ``boot_low``, ``boot_high``), which does not assume normal differences. Values that cannot be
  computed (n < 2, all differences equal) are ``None``, never NaN.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
from scipy import stats

__all__ = [
    "HEADLINE_METRICS", "REPORTED_METRICS", "variant_name", "metric_value", "summarize", "paired_tests",
    "paired_between",
    "tests_markdown",
]

HEADLINE_METRICS = {
    "f1": "F1@0.5",
    "ap": "AP@0.5",
    "dice_cycled_otsu": "Dice(cycled, Otsu(G(m)))",
    "sensitivity.2": "Dice(m, cycled), noise sigma 2",
}
"""The ablation's headline metrics (record key or dotted path -> label)."""

REPORTED_METRICS = {
    **HEADLINE_METRICS,
    "dice_input_otsu": "Dice(m, Otsu(G(m)))",
    "dice_input_cycled": "Dice(m, cycled)",
    "polarity_corr": "corr(m, G(m))",
    "mean_f1": "mean F1",
    "f1_unfiltered": "F1@0.5, StarDist on G(m)",
}
"""Metrics summarised over seeds in an ablation (the headline ones are also tested)."""

STEGO_METRICS = {
    "noise_vs_clean.2": "Dice(F(G(m)+noise 2), F(G(m)))",
    "noise_vs_clean.8": "Dice(F(G(m)+noise 8), F(G(m)))",
    "jpeg_vs_clean": "Dice(F(JPEG75(G(m))), F(G(m)))",
    "hf_generated": "HF energy of G(m)",
    "dice_input_cycled": "Dice(m, F(G(m)))",
    "dice_cycled_otsu": "Dice(F(G(m)), Otsu(G(m)))",
    "f1_cycled_otsu": "F1(F(G(m)) vs Otsu(G(m)))",
    "f1_input_otsu": "F1(m vs Otsu(G(m)))",
    "dice_cycled_stardist": "Dice(F(G(m)), StarDist(G(m)))",
    "f1_cycled_stardist": "F1(F(G(m)) vs StarDist(G(m)))",
    "f1_input_stardist": "F1(m vs StarDist(G(m)))",
}
"""The steganography experiment's measures (``cyclegan_dct.ablate --no-downstream``): hiding and agreement."""

VANILLA = "vanilla"


def variant_name(cutoff):
    """``"vanilla"`` for cutoff 1.0 (no filter), else ``"dct<cutoff>"``, e.g. ``"dct0.5"``."""
    cutoff = float(cutoff)
    if not 0.0 < cutoff <= 1.0:
        raise ValueError(f"cutoff must be in (0, 1], got {cutoff}")
    return VANILLA if cutoff >= 1.0 else f"dct{cutoff:g}"


def metric_value(record, metric):
    """The value of ``metric`` (key or dotted path) in ``record`` as a float; ``None`` if absent or None."""
    value = record
    for part in metric.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return None if value is None else float(value)


def _finite_or_none(x):
    x = float(x)
    return x if math.isfinite(x) else None


def _by_variant(records, metric):
    """{variant: {seed: value}} for the records that have ``metric``; duplicate (variant, seed) is an error."""
    out = defaultdict(dict)
    for r in records:
        if ("cutoff" not in r and "variant" not in r) or "seed" not in r:
            raise ValueError(f"a run record needs 'cutoff' (or 'variant') and 'seed', got keys {sorted(r)}")
        variant, seed = r.get("variant") or variant_name(r["cutoff"]), int(r["seed"])
        value = metric_value(r, metric)
        if value is None:
            continue
        if seed in out[variant]:
            raise ValueError(f"two records for {variant} seed {seed}")
        out[variant][seed] = value
    return out


def summarize(records, metrics=tuple(HEADLINE_METRICS)):
    """``{variant: {metric: {"mean", "std", "n"}}}`` over seeds (std: ddof 1, None when n == 1)."""
    summary = defaultdict(dict)
    for metric in metrics:
        for variant, by_seed in _by_variant(records, metric).items():
            v = np.asarray(list(by_seed.values()), np.float64)
            summary[variant][metric] = {
                "mean": float(v.mean()),
                "std": float(v.std(ddof=1)) if v.size > 1 else None,
                "n": int(v.size),
            }
    return dict(summary)


def paired_difference(x, y, confidence=0.95):
    """Statistics of ``x - y`` for paired samples: mean, t CI, ttest_rel and Wilcoxon p-values, n."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired samples must be 1D of equal length, got {x.shape} and {y.shape}")
    d = x - y
    n = int(d.size)
    out = {"n": n, "mean_diff": float(d.mean()) if n else None, "sd_diff": None, "ci_low": None, "ci_high": None,
           "confidence": confidence, "p_ttest_rel": None, "p_wilcoxon": None, "boot_low": None, "boot_high": None,
           "wilcoxon_min_p": float(min(1.0, 2.0 / 2**n)) if n else None}
    if n < 2:
        return out
    sd = float(d.std(ddof=1))
    out["sd_diff"] = sd
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    out["ci_low"], out["ci_high"] = float(d.mean() - half), float(d.mean() + half)
    if sd > 1e-12 * max(1.0, abs(float(d.mean()))):  # equal differences up to rounding: no t-test
        out["p_ttest_rel"] = _finite_or_none(stats.ttest_rel(x, y).pvalue)
        boot = stats.bootstrap((d,), np.mean, confidence_level=confidence, n_resamples=9999, method="BCa",
                               random_state=np.random.default_rng(0)).confidence_interval
        out["boot_low"], out["boot_high"] = _finite_or_none(boot.low), _finite_or_none(boot.high)
    if np.any(d != 0):
        out["p_wilcoxon"] = _finite_or_none(stats.wilcoxon(x, y, zero_method="wilcox", method="auto").pvalue)
    return out


def paired_between(records, metric, variant, baseline, confidence=0.95):
    """Paired statistics of ``variant - baseline`` for ``metric`` over the seeds both have (None if either
    variant is missing), with ``"baseline"``, ``"seeds"`` and ``"test"`` as in :func:`paired_tests`."""
    by = _by_variant(records, metric)
    if variant not in by or baseline not in by:
        return None
    seeds = sorted(set(by[variant]) & set(by[baseline]))
    res = paired_difference([by[variant][s] for s in seeds], [by[baseline][s] for s in seeds], confidence)
    return {"baseline": baseline, "seeds": seeds, "test": "ttest_rel", **res}


def paired_tests(records, metrics=tuple(HEADLINE_METRICS), baseline=VANILLA, confidence=0.95):
    """``{variant: {metric: paired statistics of variant - baseline}}`` for every non-baseline variant.

    Pairs are the seeds both variants have (listed under ``"seeds"``); the
    primary test is ``scipy.stats.ttest_rel`` (``"test"``), the Wilcoxon
    signed-rank p-value is given beside it.
    """
    tests = defaultdict(dict)
    for metric in metrics:
        by = _by_variant(records, metric)
        if baseline not in by:
            continue
        for variant in sorted(by):
            if variant != baseline:
                tests[variant][metric] = paired_between(records, metric, variant, baseline, confidence)
    return dict(tests)


def _fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def tests_markdown(summary, tests, labels=REPORTED_METRICS):
    """The summary (mean +- std (n)) and the paired tests as two Markdown tables."""
    variants = sorted(summary, key=lambda v: (v != VANILLA, v))
    metrics = [m for m in labels if any(m in summary[v] for v in variants)]
    tested = [m for m in metrics if any(m in tests[v] for v in tests)]
    lines = ["| variant | " + " | ".join(labels[m] for m in metrics) + " |", "|" + " --- |" * (len(metrics) + 1)]
    for v in variants:
        cells = []
        for m in metrics:
            s = summary[v].get(m)
            cells.append("-" if s is None else f"{s['mean']:.3f} +- {_fmt(s['std'])} (n={s['n']})")
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines += ["", "| comparison | metric | mean diff | 95 % CI (t) | 95 % CI (bootstrap) | p (paired t) | "
                  "p (Wilcoxon) | n |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for v in sorted(tests):
        for m in tested:
            t = tests[v].get(m)
            if t is None:
                continue
            ci = "-" if t["ci_low"] is None else f"[{t['ci_low']:+.3f}, {t['ci_high']:+.3f}]"
            boot = "-" if t.get("boot_low") is None else f"[{t['boot_low']:+.3f}, {t['boot_high']:+.3f}]"
            lines.append(f"| {v} - {t['baseline']} | {labels[m]} | {_fmt(t['mean_diff'], '+.3f')} | {ci} | {boot} | "
                         f"{_fmt(t['p_ttest_rel'])} | {_fmt(t['p_wilcoxon'])} | {t['n']} |")
    return "\n".join(lines) + "\n"
