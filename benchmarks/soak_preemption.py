"""Soak test of preemption: many random SIGTERM / SIGKILL over one run of a trainer, then its final checkpoint
compared bit for bit with an uninterrupted run of the same command.

    python benchmarks/soak_preemption.py --trainer vgg19 --interruptions 20 --seed 0 --out /tmp/soak

Runs the trainer once uninterrupted (``OUT/<trainer>/whole``), then again in ``OUT/<trainer>/soaked``: each
attempt is started and, a random delay (uniform between 0 and ``--max-delay`` seconds, seeded) after it
logs that training starts, gets
SIGTERM (a graceful stop: it must exit 143) or SIGKILL (no grace: it resumes from its last checkpoint, at most
``--checkpoint-every`` steps back; a kill during a checkpoint write falls back to the previous one, kept by
``--keep-checkpoints 2``), until ``--interruptions`` signals have landed (or the run is complete); the last
attempt runs to the end.
Prints one line per attempt and the verdict: every tensor of the two final checkpoints (weights, optimizer
state, step, epoch, random states) equal, or the ones that differ. Not in CI (minutes per trainer).
"""

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]
TRAINERS = {  # small but real runs: several epochs, mid-epoch checkpoints, dropout / augmentation / pools
    "vgg19": ["-m", "vgg19.train", "--image-size", "32", "--base-filters", "4", "--dense-units", "16",
              "--batch-size", "8", "--demo-n", "130", "--epochs", "6", "--steps-per-epoch", "10", "--augment"],
    "msrgan": ["-m", "msrgan.train", "--n-blocks", "2", "--filters", "8", "--d-filters", "4", "--dense-units", "8",
               "--image-size", "32", "--batch-size", "4", "--demo-n", "80", "--steps-per-epoch", "10",
               "--val-steps", "1", "--epochs", "6", "--pretrain-steps", "20", "--beta", "0", "--dropout", "0.3"],
    "srcnn": ["-m", "msrgan.train", "--model", "srcnn", "--epochs", "6", "--steps-per-epoch", "10",
              "--batch-size", "4", "--image-size", "32", "--demo-n", "80", "--val-steps", "1"],
    "cyclegan_dct": ["-m", "cyclegan_dct.train", "--crop", "32", "--n-blocks", "2", "--filters", "8",
                     "--steps-per-epoch", "10", "--epochs", "4", "--epochs-decay", "2", "--image-every", "100"],
}


def command(trainer, folder, checkpoint_every):
    return [sys.executable, *TRAINERS[trainer], "--backup-dir", str(folder / "run"), "--logdir",
            str(folder / "logs"), "--checkpoint-every", str(checkpoint_every), "--keep-checkpoints", "2"]


def final_state(folder):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder / "run" / "ckpt")))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if not k.startswith(("save_counter", "_CHECKPOINTABLE"))}


@click.command()
@click.option("--trainer", type=click.Choice(list(TRAINERS)), default="vgg19")
@click.option("--interruptions", type=int, default=20, show_default=True)
@click.option("--max-delay", type=float, default=4.0, show_default=True,
              help="Seconds after an attempt starts training.")
@click.option("--checkpoint-every", type=int, default=3, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("/tmp/soak_preemption"))
def main(trainer, interruptions, max_delay, checkpoint_every, seed, out):
    import numpy as np

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    whole, soaked = out / trainer / "whole", out / trainer / "soaked"
    for folder in (whole, soaked):
        if folder.exists():
            raise click.UsageError(f"{folder} exists: choose another --out")
    t0 = time.perf_counter()
    subprocess.run(command(trainer, whole, checkpoint_every), env=env, check=True, capture_output=True, timeout=3600)
    click.echo(f"uninterrupted run: {time.perf_counter() - t0:.0f} s")
    rng, landed, attempt = random.Random(seed), 0, 0
    t0 = time.perf_counter()
    while True:
        attempt += 1
        proc = subprocess.Popen(command(trainer, soaked, checkpoint_every), env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        head = []
        if landed < interruptions:
            sig = rng.choice([signal.SIGTERM, signal.SIGKILL])
            delay = rng.uniform(0, max_delay)
            for line in proc.stderr:  # the signal lands while it trains, not while TensorFlow starts up
                head.append(line)
                if "training: epoch" in line:
                    break
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                proc.send_signal(sig)
                landed += 1
        _, err = proc.communicate(timeout=3600)
        err = "".join(head) + err
        last = (err.strip().splitlines() or [""])[-1][:150]
        click.echo(f"attempt {attempt}: exit {proc.returncode}; {last}")
        if proc.returncode == 0:  # the run is complete
            break
        # 143: stopped with a checkpoint; -9: killed; -15: SIGTERM before the trainer installed its handler
        if proc.returncode not in (143, -signal.SIGKILL, -signal.SIGTERM):
            raise click.ClickException(f"attempt {attempt} failed with exit status {proc.returncode}: {err[-2000:]}")
    a, b = final_state(whole), final_state(soaked)
    differ = sorted(k for k in a.keys() | b.keys() if k not in a or k not in b or not np.array_equal(a[k], b[k]))
    click.echo(f"{landed} signals over {attempt} attempts, {time.perf_counter() - t0:.0f} s; "
               + ("final checkpoint equal to the uninterrupted run's, bit for bit "
                  f"({len(a)} tensors)" if not differ else f"DIFFERENT tensors: {differ[:10]}"))
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
