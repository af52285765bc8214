"""Time tiled 4x super-resolution of one large field under a chosen Keras backend and device.

    python benchmarks/infer_any_backend.py --backend jax --model backup/msrgan/generator.keras
    python benchmarks/infer_any_backend.py --backend torch --device gpu --size 2048 --repeats 5

Loads an exported generator (``.keras``) with plain ``keras.models.load_model``
under ``KERAS_BACKEND=<backend>``; a file with our ``BicubicUpsampling``
(``--residual-bicubic`` generators, the SRCNN) needs ``msrgan.layers``, which
is imported only then (keras.ops, no TensorFlow under JAX or PyTorch). The
input is a random LR field of ``size / 4`` px (RGB in [-1, 1]), cut into
``--tile`` px tiles overlapping by ``--overlap`` px and blended back by
``msrgan.tiling.predict_tiled`` (numpy), ``--batch`` tiles per call. Prints
one JSON line: the backend and device, the first run (compilation included)
and the median and minimum of ``--repeats`` further runs, in seconds and in
output megapixels per second, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("tensorflow", "jax", "torch"), default="tensorflow")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--model", type=Path, default=Path("backup/msrgan/generator.keras"))
    p.add_argument("--size", type=int, default=2048, help="HR output side, px (input: size / 4).")
    p.add_argument("--tile", type=int, default=128)
    p.add_argument("--overlap", type=int, default=16)
    p.add_argument("--batch", type=int, default=4, help="Tiles per model call.")
    p.add_argument("--repeats", type=int, default=3)
    return p.parse_args()


def set_device(backend, device):
    """Environment for ``device`` before the backend is imported (JAX and TensorFlow choose at import)."""
    if backend == "jax":
        os.environ["JAX_PLATFORMS"] = "cuda" if device == "gpu" else "cpu"
    elif backend == "tensorflow" and device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""


def load(path):
    """``(model, registered)``: plain Keras first; ``msrgan.layers`` only when the file needs it."""
    import keras

    try:
        return keras.models.load_model(path, compile=False), False
    except Exception:  # noqa: BLE001 - an unknown class: register ours and retry
        import msrgan.layers  # noqa: F401

        return keras.models.load_model(path, compile=False), True


def main():
    args = parse()
    os.environ["KERAS_BACKEND"] = args.backend
    set_device(args.backend, args.device)
    if not args.model.is_file():
        sys.exit(f"{args.model}: no such model file (python -m msrgan.train, or make demo)")
    import keras
    import numpy as np

    from msrgan.tiling import predict_tiled, tile_grid

    model, registered = load(str(args.model))
    if args.backend == "torch":
        import torch

        torch.set_grad_enabled(False)
        if args.device == "gpu" and not torch.cuda.is_available():
            sys.exit("--device gpu: PyTorch sees no CUDA device")
    lr = np.random.default_rng(0).uniform(-1, 1, (args.size // 4, args.size // 4, 3)).astype(np.float32)

    def predict_batch(x):
        return keras.ops.convert_to_numpy(model.predict_on_batch(x))

    def run():
        t0 = time.perf_counter()
        out = predict_tiled(predict_batch, lr, args.tile, args.overlap, 4, args.batch)
        return time.perf_counter() - t0, out

    first, out = run()
    times = [run()[0] for _ in range(args.repeats)]
    mpx = out.shape[0] * out.shape[1] / 1e6
    print(json.dumps({
        "backend": args.backend, "device": args.device, "keras": keras.__version__, "model": str(args.model),
        "needs_msrgan_layers": registered, "lr": list(lr.shape), "sr": list(out.shape),
        "tiles": len(tile_grid(lr.shape, args.tile, args.overlap)), "tile": args.tile, "overlap": args.overlap,
        "batch": args.batch, "first_s": round(first, 3), "median_s": round(float(np.median(times)), 3),
        "min_s": round(float(np.min(times)), 3), "mpx_per_s_median": round(mpx / float(np.median(times)), 3),
        "finite": bool(np.isfinite(out).all()), "loadavg": [round(x, 2) for x in os.getloadavg()],
    }))


if __name__ == "__main__":
    main()
