"""The downstream study of a DCT ablation over seeds (pure numpy/scipy, no TensorFlow): which training pairs
make the better nuclei segmenter?

Arms, each a StarDist with the same budget and seed (``cyclegan_dct.ablation``):

- ``cycled``: (G(m), F(LP(G(m)))), the pairs of Utz et al. (for a vanilla model F(G(m)));
- ``input``: (G(m), m), the input masks, which steganography leaves out of register with G(m);
- :data:`REFERENCE` (:mod:`cyclegan_dct.reference`): labelled domain B itself (one per seed, no CycleGAN).

Each is scored on every test set of the run (``simulated``: held-out simulated domain B with exact labels;
``stardist``: the real image stardist ships). :func:`downstream_records` flattens the ablation's rows into one
record per (arm, seed), named ``"<variant> <arm>"`` (``"dct0.5 F(G(m))"``), for :mod:`cyclegan_dct.stats`;
:func:`downstream_tests` pairs them over seeds: DCT against vanilla for the same arm, cycled against input
masks within a variant, every arm against labelled B.
"""

from __future__ import annotations

from cyclegan_dct import stats

ARMS = {"cycled": "F(G(m))", "input": "m"}
"""Downstream arm -> the masks' short name in tables (the images are G(m), low-passed for a DCT model)."""
REFERENCE = "labelled B"
"""The reference arm's name in tables: StarDist trained on labelled domain B (the ceiling of the others)."""
METRICS = ("f1", "ap", "mean_f1")
TESTED = ("f1", "ap")


def parse_arms(masks):
    """``--masks``: "cycled", "input" or "both" -> the arms to train (the first one fills the F1/AP columns)."""
    if masks == "both":
        return list(ARMS)
    if masks not in ARMS:
        raise ValueError(f"--masks must be one of {[*ARMS, 'both']}, got {masks!r}")
    return [masks]


def arm_scores(evaluation):
    """``{test_set: {"f1", "ap", "mean_f1"}}`` of an ``evaluation.json`` (its ``test_sets``, else its metrics)."""
    sets = evaluation.get("test_sets") or {"test": {"metrics": evaluation["metrics"]}}
    return {k: {m: v["metrics"][m] for m in METRICS} for k, v in sets.items()}


def arm_name(variant, arm):
    return f"{variant} {ARMS[arm]}"


def downstream_records(rows):
    """One record per (variant, arm, seed) and one per seed for the labelled-B reference: ``{"variant", "seed",
    <test_set>: {"f1", "ap", "mean_f1"}}``, from the ablation's rows (their ``downstream`` and ``reference``)."""
    records, seen = [], set()
    for r in rows:
        variant = stats.variant_name(r["cutoff"])
        for arm, scores in (r.get("downstream") or {}).items():
            records.append({"variant": arm_name(variant, arm), "seed": int(r["seed"]), **scores})
        if r.get("reference") and int(r["seed"]) not in seen:
            seen.add(int(r["seed"]))
            records.append({"variant": REFERENCE, "seed": int(r["seed"]), **r["reference"]})
    return records


def comparisons(variants, arms):
    """(variant, baseline) pairs of arm names: DCT - vanilla per arm, cycled - input per variant, every arm -
    labelled B."""
    dct = [v for v in variants if v != stats.VANILLA]
    pairs = []
    if stats.VANILLA in variants:
        pairs += [(arm_name(v, a), arm_name(stats.VANILLA, a)) for v in dct for a in arms]
    if len(arms) > 1:
        pairs += [(arm_name(v, arms[0]), arm_name(v, a)) for v in variants for a in arms[1:]]
    pairs += [(arm_name(v, a), REFERENCE) for v in variants for a in arms]
    return pairs


def downstream_tests(rows, test_sets, metrics=TESTED):
    """The downstream study over seeds: ``{"summary": {arm: {"<test_set>.<metric>": mean/std/n}}, "tests":
    [{"variant", "baseline", "test_set", "metric", ...paired statistics}]}``; None without downstream runs."""
    records = downstream_records(rows)
    if not records:
        return None
    paths = [f"{t}.{m}" for t in test_sets for m in METRICS]
    variants = sorted({stats.variant_name(r["cutoff"]) for r in rows}, key=lambda v: (v != stats.VANILLA, v))
    arms = [a for a in ARMS if any(a in (r.get("downstream") or {}) for r in rows)]
    tests = []
    for a, b in comparisons(variants, arms):
        for t in test_sets:
            for m in metrics:
                res = stats.paired_between(records, f"{t}.{m}", a, b)
                if res is not None:
                    tests.append({"variant": a, "test_set": t, "metric": m, **res})
    return {"summary": stats.summarize(records, paths), "tests": tests, "test_sets": list(test_sets),
            "arms": {arm_name(v, a): f"StarDist on (G(m), {ARMS[a]}) of {v}" for v in variants for a in arms}}


def _f(x, spec="+.3f"):
    return "-" if x is None else format(x, spec)


def downstream_markdown(result):
    """The downstream summary (mean +- sd per arm and test set) and its paired tests as Markdown."""
    s, sets = result["summary"], result["test_sets"]
    head = [f"{t} {m}" for t in sets for m in METRICS]
    lines = ["| StarDist trained on | " + " | ".join(head) + " |", "|" + " --- |" * (len(head) + 1)]
    for arm in s:
        cells = [s[arm].get(f"{t}.{m}") for t in sets for m in METRICS]
        lines.append(f"| {arm} | " + " | ".join("-" if c is None else f"{c['mean']:.3f} +- {_f(c['std'], '.3f')} "
                                                 f"(n={c['n']})" for c in cells) + " |")
    lines += ["", "| comparison | test set | metric | mean diff | 95 % CI (t) | 95 % CI (bootstrap) | p (paired t) | "
                  "p (Wilcoxon) | n |", "|" + " --- |" * 9]
    for t in result["tests"]:
        ci = "-" if t["ci_low"] is None else f"[{t['ci_low']:+.3f}, {t['ci_high']:+.3f}]"
        boot = "-" if t["boot_low"] is None else f"[{t['boot_low']:+.3f}, {t['boot_high']:+.3f}]"
        lines.append(f"| {t['variant']} - {t['baseline']} | {t['test_set']} | {t['metric']} | "
                     f"{_f(t['mean_diff'])} | {ci} | {boot} | {_f(t['p_ttest_rel'], '.2g')} | "
                     f"{_f(t['p_wilcoxon'], '.2g')} | {t['n']} |")
    return "\n".join(lines) + "\n"
