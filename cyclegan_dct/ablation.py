"""Ablation over the DCT cutoff: same seed and budget, one model per cutoff, one table (the library of
``python -m cyclegan_dct.ablate``).

``python -m cyclegan_dct.ablate --cutoffs 1.0,0.75,0.5,0.25 [--out DIR] [train options]
[--models DIR1,DIR2,...]``

For each cutoff (1.0 = the vanilla CycleGAN, trained with ``--no-dct``) it
trains a model with ``python -m cyclegan_dct.train`` (a subprocess, so each run
starts from a clean TensorFlow state and precision policy; an interrupted
ablation resumes each training from its last checkpoint), or takes the already
trained ``--models`` (their cutoffs read from their ``config.json``), then runs
``cyclegan_dct.synthesis``, the steganography report (``cyclegan_dct.steganography``)
and the downstream StarDist evaluation (``cyclegan_dct.evaluation``) in this
process, through their Python functions. Writes
``OUT/ablation.json``, ``OUT/ablation.md`` and ``OUT/ablation.png``; the
per-cutoff outputs go to ``OUT/{models,logs,synthetic,stego,evaluation}/<name>``.
"""

from __future__ import annotations

import json
import logging
import shlex
import subprocess
import sys
import time
from pathlib import Path

from cyclegan_dct.config import EvalConfig
from cyclegan_dct.evaluation import run_evaluation
from cyclegan_dct.steganography import run_stego
from cyclegan_dct.synthesis import generate
from data.io import atomic_path, write_json, write_text

log = logging.getLogger(__name__)

def parse_cutoffs(text):
    """"1.0,0.75,0.5" -> [1.0, 0.75, 0.5]; each in (0, 1], no duplicates."""
    try:
        cutoffs = [float(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise ValueError(f"--cutoffs must be comma-separated numbers, got {text!r}") from e
    if not cutoffs:
        raise ValueError("--cutoffs is empty")
    bad = [c for c in cutoffs if not 0.0 < c <= 1.0]
    if bad:
        raise ValueError(f"--cutoffs must be in (0, 1], got {bad}")
    if len(set(cutoffs)) != len(cutoffs):
        raise ValueError(f"--cutoffs has duplicates: {text!r}")
    return cutoffs


def run_name(cutoff):
    """Folder name of a cutoff's run: ``vanilla`` for 1.0, else ``dct_<cutoff>``."""
    return "vanilla" if cutoff >= 1.0 else f"dct_{cutoff:g}"


def model_cutoff(model_dir):
    """The cutoff of a trained model folder (1.0 for a vanilla model), from its ``config.json``."""
    from cyclegan_dct.config import CycleGANConfig

    config = CycleGANConfig.load(Path(model_dir) / "config.json")
    return 1.0 if config.vanilla else float(config.dct_cutoff)


def _run(cmd, what):
    """Run a CLI subprocess (output streamed); raise ValueError naming the step if it fails. Returns seconds."""
    log.info(f"[ablate] {what}: {' '.join(shlex.quote(c) for c in cmd)}")
    t0 = time.perf_counter()
    rc = subprocess.call(cmd)
    if rc != 0:
        raise ValueError(f"{what} failed with exit status {rc}: {' '.join(shlex.quote(c) for c in cmd)}")
    return time.perf_counter() - t0


def train_command(cutoff, model_dir, logdir, seed, train_options, extra_args=""):
    """The ``python -m cyclegan_dct.train`` command for one cutoff (1.0 -> ``--no-dct``)."""
    cmd = [sys.executable, "-m", "cyclegan_dct.train", "--backup-dir", str(model_dir), "--logdir", str(logdir),
           "--seed", str(seed)]
    cmd += ["--no-dct"] if cutoff >= 1.0 else ["--dct-cutoff", f"{cutoff:g}"]
    for k, v in train_options.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd + shlex.split(extra_args)


def cyclegan_budget(model_dir):
    """The training budget of a model folder, from its ``config.json``, as one short line."""
    from cyclegan_dct.config import CycleGANConfig

    c = CycleGANConfig.load(Path(model_dir) / "config.json").to_dict()
    return (f"{c['epochs']}+{c['epochs_decay']} epochs x {c['steps_per_epoch']} steps, batch {c['batch_size']}, "
            f"crop {c['crop']}, {c['n_blocks']} blocks, {c['filters']} filters, {c['precision']}, seed {c['seed']}")


def ablation_row(name, cutoff, model_dir, times, stego, evaluation):
    """One flat row of the comparison table."""
    ag = stego["agreement"]
    m = evaluation["metrics"]
    return {
        "name": name,
        "cutoff": cutoff,
        "model_dir": str(model_dir),
        "cyclegan_budget": cyclegan_budget(model_dir),
        "train_s": times.get("train"),
        "generate_s": times["generate"],
        "sensitivity": {str(s["sigma"]): s["dice_mean"] for s in stego["sensitivity"]},
        "hf_cutoff": stego["high_frequency_energy"]["cutoff"],
        "hf_generated": stego["high_frequency_energy"]["generated"]["fraction"]["mean"],
        "hf_real": stego["high_frequency_energy"]["real"]["fraction"]["mean"],
        "dice_input_cycled": ag["input_vs_cycled"]["dice"]["mean"],
        "dice_input_otsu": ag["input_vs_otsu"]["dice"]["mean"],
        "dice_cycled_otsu": ag["cycled_vs_otsu"]["dice"]["mean"],
        "polarity_corr": stego.get("polarity", {}).get("correlation", {}).get("mean"),
        "inverted_fraction": stego.get("polarity", {}).get("inverted_fraction"),
        "precision": m["precision"],
        "recall": m["recall"],
        "f1": m["f1"],
        "ap": m["ap"],
        "mean_f1": m["mean_f1"],
        "stardist_train_s": evaluation["wall_time_s"]["train"],
    }


def ablation_markdown(rows, budget):
    sigmas = list(rows[0]["sensitivity"])
    head = (["run", "cutoff", "train s"] + [f"Dice sigma={s}" for s in sigmas]
            + ["HF energy G(m) / real", "Dice m/cycled", "Dice m/Otsu", "F1@0.5", "AP@0.5", "mean F1"])
    lines = [
        "# DCT cutoff ablation",
        "",
        f"Budget: {budget}",
        "",
        "Dice sigma=s: Dice between m and F(filter(G(m) + noise of s grey levels)) > 0. HF energy: fraction of "
        "non-DC DCT energy above the cutoff (the model's; 0.5 for vanilla). F1/AP: StarDist trained on the "
        "synthetic pairs, tested on real nuclei.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    lines[3:3] = [f"- {r['name']}: CycleGAN {r['cyclegan_budget']}" for r in rows]
    for r in rows:
        train = "-" if r["train_s"] is None else f"{r['train_s']:.0f}"
        vals = ([r["name"], f"{r['cutoff']:g}", train] + [f"{r['sensitivity'][s]:.3f}" for s in sigmas]
                + [f"{r['hf_generated']:.4f} / {r['hf_real']:.4f}", f"{r['dice_input_cycled']:.3f}",
                   f"{r['dice_input_otsu']:.3f}", f"{r['f1']:.3f}", f"{r['ap']:.3f}", f"{r['mean_f1']:.3f}"])
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def ablation_plot(rows, path):
    """Three panels: noise sensitivity per run, F1/AP vs cutoff, mask agreement vs cutoff (PNG, atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for r in rows:
        sig = [float(s) for s in r["sensitivity"]]
        axes[0].plot(sig, list(r["sensitivity"].values()), marker="o", label=r["name"])
    axes[0].set(xlabel="noise sigma (grey levels of 255)", ylabel="Dice(cycled, m)", title="Sensitivity",
                ylim=(0, 1.02))
    axes[0].legend()
    order = sorted(rows, key=lambda r: r["cutoff"])
    cut = [r["cutoff"] for r in order]
    for key, label in (("f1", "F1@0.5"), ("ap", "AP@0.5"), ("mean_f1", "mean F1")):
        axes[1].plot(cut, [r[key] for r in order], marker="o", label=label)
    axes[1].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="score on real nuclei", title="StarDist downstream")
    axes[1].legend()
    for key, label in (("dice_input_cycled", "m vs cycled"), ("dice_input_otsu", "m vs Otsu(G(m))"),
                       ("dice_cycled_otsu", "cycled vs Otsu")):
        axes[2].plot(cut, [r[key] for r in order], marker="o", label=label)
    axes[2].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="Dice", title="Agreement", ylim=(0, 1.02))
    axes[2].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def run_ablation(out, cutoffs=None, models=None, seed=0, train_options=None, train_args="", n_synthetic=200,
                 size=256, stego_n=50, masks="cycled", eval_config=None, reuse=False):
    """Train (or take) one model per cutoff, then generate + stego + evaluate each; write the table and plot."""
    out = Path(out)
    eval_config = eval_config or EvalConfig(seed=seed)
    train_options = dict(train_options or {})
    runs = []
    if models:
        for m in models:
            runs.append((Path(m).name, model_cutoff(m), Path(m)))
    else:
        for c in cutoffs:
            runs.append((run_name(c), c, out / "models" / run_name(c)))
    names = [r[0] for r in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"run names must differ, got {names}")
    rows = []
    for name, cutoff, model_dir in runs:
        times = {}
        if not models:
            cmd = train_command(cutoff, model_dir, out / "logs" / name, seed, train_options, train_args)
            times["train"] = _run(cmd, f"training {name}")
        syn = out / "synthetic" / name
        times["generate"] = 0.0
        if not (reuse and (syn / "summary.json").is_file()):
            log.info(f"[ablate] generating {n_synthetic} pairs with {name}")
            t0 = time.perf_counter()
            generate(model_dir, n=n_synthetic, out=syn, size=size, seed=seed)
            times["generate"] = time.perf_counter() - t0
        stego_json = out / "stego" / name / "stego.json"
        if reuse and stego_json.is_file():
            stego = json.loads(stego_json.read_text())
        else:
            log.info(f"[ablate] stego report {name}")
            stego = run_stego(model_dir, out / "stego" / name, n=stego_n, size=size, seed=seed)
        eval_json = out / "evaluation" / name / "evaluation.json"
        if reuse and eval_json.is_file():
            evaluation = json.loads(eval_json.read_text())
        else:
            log.info(f"[ablate] StarDist evaluation {name}")
            evaluation = run_evaluation(syn, out / "evaluation" / name, eval_config, masks=masks, label=name)
        rows.append(ablation_row(name, cutoff, model_dir, times, stego, evaluation))
    budget = (f"same seed {seed}; {n_synthetic} synthetic {size}x{size} pairs ({masks} masks); StarDist "
              f"{eval_config.epochs} epochs x {eval_config.steps_per_epoch} steps, batch {eval_config.batch_size}, "
              f"patch {eval_config.patch_size or 'fitted'}; CycleGAN budgets per row")
    result = {"budget": budget, "seed": seed, "train_options": train_options, "train_args": train_args,
              "n_synthetic": n_synthetic, "size": size, "masks": masks, "rows": rows}
    ablation_plot(rows, out / "ablation.png")
    write_text(out / "ablation.md", ablation_markdown(rows, budget))
    write_json(out / "ablation.json", result)
    return result
