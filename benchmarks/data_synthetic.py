"""Benchmark the embedded demo data: generation time and separability on green-channel statistics.

    python benchmarks/data_synthetic.py [--n 1300] [--seed 0]

Prints the wall and CPU time to generate ``n`` images (cache cleared, one
process, one core's worth of numpy/cv2 work) and the held-out accuracy of a
softmax regression on 10 simple green-channel statistics (chance = 1/13).
"""

import time

import click
import cv2
import numpy as np
from separability import held_out_predictions

from data import N_CLASSES, synthetic


@click.command()
@click.option("--n", default=1300, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--repeats", default=3, show_default=True)
def main(n, seed, repeats):
    cv2.setNumThreads(1)
    walls, cpus = [], []
    for _ in range(repeats):
        synthetic.clear_cache()
        w, c = time.perf_counter(), time.process_time()
        synthetic.demo_split("train", n=n, test_fraction=0.0, seed=seed)
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    print(f"generate {n} images: wall min {min(walls):.2f} s, cpu min {min(cpus):.2f} s "
          f"({1000 * min(cpus) / n:.2f} ms/image cpu)")
    xtr, ytr = synthetic.demo_split("train", n=n, test_fraction=0.1, seed=seed)
    xte, yte = synthetic.demo_split("test", n=n, test_fraction=0.1, seed=seed)
    pred = held_out_predictions(xtr, ytr, xte, N_CLASSES)
    print(f"softmax regression on green-channel statistics: held-out accuracy {np.mean(pred == yte):.3f} "
          f"({len(yte)} test images, chance {1 / N_CLASSES:.3f})")
    per_class = [np.mean(pred[yte == k] == k) for k in range(N_CLASSES)]
    print("per class:", " ".join(f"{k:02d}:{a:.2f}" for k, a in enumerate(per_class)))


if __name__ == "__main__":
    main()
