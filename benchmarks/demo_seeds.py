"""The demo over several training seeds: wall time, miniVGG19 accuracy, SR vs bicubic, discriminator stability.

    python benchmarks/demo_seeds.py --seeds 0,1,2 --out /tmp/demo_seeds [--precision float32]

Runs ``scripts/demo.sh`` once per seed (``SEED=<s>``: the trainers' ``--seed``,
i.e. initial weights and batch order; the demo data stay the same) in
``OUT/seed<s>``, one after the other, and prints one row per seed: the wall
time, the miniVGG19's best validation accuracy, PSNR/SSIM of the exported and
the MSE-only pre-trained generator and of bicubic on the demo test split, and
the largest discriminator loss and ``d_real`` logged in the adversarial phase
(a blow-up shows as values far above ~1.4, the loss of a D that cannot tell
real from fake). Needs the installed package on PATH (``. .venv/bin/activate``).
"""

import json
import os
import subprocess
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]


def batch_scalars(logdir, keys):
    """``{key: values}`` of the ``batch_<key>`` scalars in a TensorBoard folder (tensor summaries, v2)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.util import tensor_util

    acc = EventAccumulator(str(logdir), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    out = {}
    for key in keys:
        tag = f"batch_{key}"
        if tag in acc.Tags().get("tensors", []):
            out[key] = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]
        elif tag in acc.Tags().get("scalars", []):
            out[key] = [e.value for e in acc.Scalars(tag)]
    return out


def summarise(folder):
    """One seed's row from its demo folder."""
    report = json.loads((folder / "result/msrgan_eval/report.json").read_text())
    summary = report["methods"]
    vgg = json.loads((folder / "backup/vgg19/export.json").read_text())
    d = batch_scalars(folder / "logs/msrgan/train", ["d_loss", "d_real"])
    return {
        "vgg_val_accuracy": vgg["value"],
        **{f"{m}_{k}": summary[m][k]["mean"] for m in ("bicubic", "generator", "generator_pretrained")
           for k in ("psnr", "ssim")},
        "d_loss_max": max(d.get("d_loss", [float("nan")])),
        "d_real_max": max(d.get("d_real", [float("nan")])),
    }


@click.command()
@click.option("--seeds", default="0,1,2", show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option("--precision", default="", help="PRECISION for scripts/demo.sh (default: its own choice).")
@click.option("--timeout", default=1800, show_default=True, help="Seconds per seed.")
def main(seeds, out, precision, timeout):
    rows = []
    for seed in [int(s) for s in seeds.split(",")]:
        folder = out / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "SEED": str(seed)}
        if precision:
            env["PRECISION"] = precision
        t = time.perf_counter()
        with open(folder / "demo.log", "w") as log:
            subprocess.run(["bash", str(REPO / "scripts/demo.sh")], cwd=folder, env=env, stdout=log,
                           stderr=subprocess.STDOUT, check=True, timeout=timeout)
        row = {"seed": seed, "wall_s": round(time.perf_counter() - t), **summarise(folder)}
        rows.append(row)
        print(json.dumps(row), flush=True)
    keys = [k for k in rows[0] if k != "seed"]
    print("| seed | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for r in rows:
        print(f"| {r['seed']} | " + " | ".join(f"{r[k]:.4g}" for k in keys) + " |")
    gain = [r["generator_psnr"] - r["bicubic_psnr"] for r in rows]
    print(f"generator - bicubic: {min(gain):+.2f} to {max(gain):+.2f} dB; miniVGG19 accuracy "
          f"{min(r['vgg_val_accuracy'] for r in rows):.3f} to {max(r['vgg_val_accuracy'] for r in rows):.3f}")


if __name__ == "__main__":
    main()
