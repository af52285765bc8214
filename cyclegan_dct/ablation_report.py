"""The report of a DCT cutoff ablation (``cyclegan_dct.ablation``): one flat row per run, the Markdown table, the
three-panel figure and the variants' stego panels."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.downstream import ARMS, REFERENCE
from data.io import atomic_path, read_image, write_png


def cyclegan_budget(model_dir):
    """The training budget of a model folder, from its ``config.json``, as one short line."""
    c = CycleGANConfig.load(Path(model_dir) / "config.json").to_dict()
    return (f"{c['epochs']}+{c['epochs_decay']} epochs x {c['steps_per_epoch']} steps, batch {c['batch_size']}, "
            f"crop {c['crop']}, {c['n_blocks']} blocks, {c['filters']} filters, {c['precision']}, seed {c['seed']}")


def ablation_row(name, cutoff, model_dir, times, stego, evaluation=None, unfiltered=None):
    """One flat row of the comparison table; ``unfiltered``: the evaluation of StarDist trained on G(m) instead of
    LP(G(m)) (DCT models, ``also_unfiltered``), whose F1/AP go to ``f1_unfiltered``/``ap_unfiltered``.
    ``evaluation`` None (no downstream StarDist): the StarDist scores are None."""
    ag = stego["agreement"]
    inst = stego.get("instance_agreement", {})
    pert = stego.get("perturbations", {})
    m = evaluation["metrics"] if evaluation is not None else {}
    extra = {}
    if unfiltered is not None:
        extra = {"f1_unfiltered": unfiltered["metrics"]["f1"], "ap_unfiltered": unfiltered["metrics"]["ap"]}
    return {
        "name": name,
        "cutoff": cutoff,
        "model_dir": str(model_dir),
        "cyclegan_budget": cyclegan_budget(model_dir),
        "train_s": times.get("train"),
        "generate_s": times["generate"],
        "sensitivity": {str(s["sigma"]): s["dice_mean"] for s in stego["sensitivity"]},
        "noise_vs_clean": {str(s["sigma"]): s.get("dice_vs_clean_mean") for s in stego["sensitivity"]},
        "jpeg_vs_clean": pert.get("jpeg75", {}).get("vs_clean", {}).get("mean"),
        "blur_vs_clean": pert.get("blur1", {}).get("vs_clean", {}).get("mean"),
        "f1_cycled_otsu": inst.get("cycled_vs_otsu", {}).get("f1"),
        "f1_input_otsu": inst.get("input_vs_otsu", {}).get("f1"),
        "f1_input_cycled": inst.get("input_vs_cycled", {}).get("f1"),
        "hf_cutoff": stego["high_frequency_energy"]["cutoff"],
        "hf_generated": stego["high_frequency_energy"]["generated"]["fraction"]["mean"],
        "hf_real": stego["high_frequency_energy"]["real"]["fraction"]["mean"],
        "dice_input_cycled": ag["input_vs_cycled"]["dice"]["mean"],
        "dice_input_otsu": ag["input_vs_otsu"]["dice"]["mean"],
        "dice_cycled_otsu": ag["cycled_vs_otsu"]["dice"]["mean"],
        "dice_cycled_stardist": ag.get("cycled_vs_stardist", {}).get("dice", {}).get("mean"),
        "dice_input_stardist": ag.get("input_vs_stardist", {}).get("dice", {}).get("mean"),
        "f1_cycled_stardist": inst.get("cycled_vs_stardist", {}).get("f1"),
        "f1_input_stardist": inst.get("input_vs_stardist", {}).get("f1"),
        "polarity_corr": stego.get("polarity", {}).get("correlation", {}).get("mean"),
        "inverted_fraction": stego.get("polarity", {}).get("inverted_fraction"),
        "precision": m.get("precision"),
        "recall": m.get("recall"),
        "f1": m.get("f1"),
        "ap": m.get("ap"),
        "mean_f1": m.get("mean_f1"),
        "stardist_train_s": evaluation["wall_time_s"]["train"] if evaluation is not None else None,
        **extra,
    }


def wall_times(rows):
    """Training seconds per run (median, min, max) and in all, over the rows that trained here."""
    t = np.asarray([r["train_s"] for r in rows if r.get("train_s") is not None], np.float64)
    if not t.size:
        return None
    return {"train_median": float(np.median(t)), "train_min": float(t.min()), "train_max": float(t.max()),
            "train_total": float(t.sum()), "runs": int(t.size)}


def _num(x):
    return "-" if x is None else f"{x:+.3f}"


def _val(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def ablation_markdown(rows, budget):
    sigmas = list(rows[0]["sensitivity"])
    head = (["run", "cutoff", "train s"] + [f"Dice sigma={s}" for s in sigmas]
            + ["F(G(m)+noise 8) vs F(G(m))", "F(JPEG75) vs F(G(m))", "HF energy G(m) / real", "corr(m, G(m))",
               "Dice m/cycled", "Dice m/Otsu", "F1 cycled/Otsu", "F1 cycled/StarDist", "F1@0.5", "AP@0.5", "mean F1"])
    lines = [
        "# DCT cutoff ablation",
        "",
        f"Budget: {budget}",
        "",
        "Dice sigma=s: Dice between m and F(filter(G(m) + noise of s grey levels)) > 0; 'vs F(G(m))': Dice between "
        "the mask read from the perturbed and from the clean image (Chu et al.'s sensitivity). HF energy: fraction "
        "of non-DC DCT energy above the cutoff (the model's; 0.5 for vanilla). F1 cycled/Otsu: instance matching "
        "(IoU 0.5) of F(G(m)) against an Otsu segmentation of G(m) (StarDist: the reference segmenter trained on "
        "labelled domain B, when there is one). F1/AP: StarDist trained on the synthetic "
        "pairs, scored on the test data (evaluation.json says which; '-': no downstream run).",
        "",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    lines[3:3] = [f"- {r['name']}: CycleGAN {r['cyclegan_budget']}" for r in rows]
    for r in rows:
        train = "-" if r["train_s"] is None else f"{r['train_s']:.0f}"
        vals = ([r["name"], f"{r['cutoff']:g}", train] + [f"{r['sensitivity'][s]:.3f}" for s in sigmas]
                + [_val(r.get("noise_vs_clean", {}).get("8")), _val(r.get("jpeg_vs_clean")),
                   f"{r['hf_generated']:.4f} / {r['hf_real']:.4f}", _num(r.get("polarity_corr")),
                   f"{r['dice_input_cycled']:.3f}", f"{r['dice_input_otsu']:.3f}", _val(r.get("f1_cycled_otsu")),
                   _val(r.get("f1_cycled_stardist")), _val(r.get("f1")), _val(r.get("ap")), _val(r.get("mean_f1"))])
        lines.append("| " + " | ".join(vals) + " |")
    if any(r.get("downstream") for r in rows):
        lines += ["", per_run_downstream(rows)]
    return "\n".join(lines) + "\n"


def per_run_downstream(rows):
    """One line per (run, downstream arm) and per seed's reference: F1 / AP at IoU 0.5 per test set (Markdown)."""
    lines_ = []
    for r in rows:
        for arm, scores in (r.get("downstream") or {}).items():
            lines_.append((r["name"], f"(G(m), {ARMS[arm]})", scores))
        if r.get("reference") and not any(x[0] == f"seed {r['seed']}" for x in lines_):
            lines_.append((f"seed {r['seed']}", REFERENCE, r["reference"]))
    sets = list(lines_[0][2])
    lines = ["StarDist trained on each arm's pairs (F1 / AP at IoU 0.5 per test set):", "",
             "| run | trained on | " + " | ".join(sets) + " |", "|" + " --- |" * (len(sets) + 2)]
    for run, what, scores in lines_:
        cells = [f"{scores[t]['f1']:.3f} / {scores[t]['ap']:.3f}" if t in scores else "-" for t in sets]
        lines.append(f"| {run} | {what} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ablation_plot(rows, path):
    """Three panels: noise sensitivity per run, F1/AP vs cutoff, mask agreement vs cutoff (PNG, atomic)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    colours = {}
    for r in rows:  # one colour and one legend entry per cutoff, however many seeds
        sig = [float(s) for s in r["sensitivity"]]
        first = r["cutoff"] not in colours
        colours.setdefault(r["cutoff"], f"C{len(colours)}")
        label = re.sub(r"_s\d+$", "", r["name"]) if first else None  # the run name without its seed
        axes[0].plot(sig, list(r["sensitivity"].values()), marker="o", color=colours[r["cutoff"]], label=label,
                     alpha=1.0 if len(rows) <= len(colours) else 0.5)
    axes[0].set(xlabel="noise sigma (grey levels of 255)", ylabel="Dice(cycled, m)", title="Sensitivity",
                ylim=(0, 1.02))
    axes[0].legend()
    cut = sorted({r["cutoff"] for r in rows})

    def per_cutoff(ax, key, label):
        """Per-seed points and the mean over seeds at each cutoff."""
        line = ax.plot(cut, [np.mean([r[key] for r in rows if r["cutoff"] == c]) for c in cut], marker="o",
                       label=label)[0]
        ax.scatter([r["cutoff"] for r in rows], [r[key] for r in rows], s=12, alpha=0.5, color=line.get_color())

    if all(r.get("f1") is not None for r in rows):
        for key, label in (("f1", "F1@0.5"), ("ap", "AP@0.5"), ("mean_f1", "mean F1")):
            per_cutoff(axes[1], key, label)
        axes[1].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="score on real nuclei", title="StarDist downstream")
    else:  # no downstream run: how much the mask read back moves under small perturbations
        for key, label in (("noise8", "noise 8 grey levels"), ("jpeg_vs_clean", "JPEG 75"),
                           ("blur_vs_clean", "blur 1 px")):
            rows_ = [dict(r, noise8=(r.get("noise_vs_clean") or {}).get("8")) for r in rows]
            if all(r.get(key) is not None for r in rows_):
                line = axes[1].plot(cut, [np.mean([r[key] for r in rows_ if r["cutoff"] == c]) for c in cut],
                                    marker="o", label=label)[0]
                axes[1].scatter([r["cutoff"] for r in rows_], [r[key] for r in rows_], s=12, alpha=0.5,
                                color=line.get_color())
        axes[1].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="Dice(F(perturbed), F(G(m)))",
                    title="Sensitivity of the cycled mask", ylim=(0, 1.02))
    axes[1].legend()
    for key, label in (("dice_input_cycled", "m vs cycled"), ("dice_input_otsu", "m vs Otsu(G(m))"),
                       ("dice_cycled_otsu", "cycled vs Otsu")):
        per_cutoff(axes[2], key, label)
    axes[2].set(xlabel="DCT cutoff (1 = vanilla)", ylabel="Dice", title="Agreement", ylim=(0, 1.02))
    axes[2].legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def variant_figure(panels, path):
    """One row per variant: the first sample row of its ``stego.png`` (m | G(m) | CLAHE G(m) | CLAHE high-pass |
    F(G(m)) | F(G(m)+noise) | CLAHE real), under the panel's column titles, the variant named on the left.
    ``panels``: ``{variant name: stego folder}`` (``stego.json`` + ``stego.png``) in display order. Writes a PNG."""
    import cv2

    label_w, gap = 110, 4
    rows, title = [], None
    for name, folder in panels.items():
        report = json.loads((Path(folder) / "stego.json").read_text())
        header, h = report["panel_header"], report["panel_tile"]
        panel = read_image(Path(folder) / "stego.png")
        panel = panel if panel.ndim == 2 else panel[..., 0]
        title = panel[:header] if title is None else title
        row = np.full((h + gap, label_w + panel.shape[1]), 128, np.uint8)
        row[:h, label_w:] = panel[header:header + h]
        cv2.putText(row, name, (4, h // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45, 255, 1, cv2.LINE_AA)
        rows.append(row)
    if not rows:
        raise ValueError("variant_figure: no panels")
    top = np.zeros((title.shape[0], rows[0].shape[1]), np.uint8)
    top[:, label_w:] = title
    write_png(path, np.vstack([top, *rows]))
