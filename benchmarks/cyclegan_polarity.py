"""Probe a short CycleGAN run for contrast inversion: one JSON line every ``--every`` steps.

    nice -n 10 python benchmarks/cyclegan_polarity.py --crop 64 --n-blocks 2 --filters 8 --steps 2000 --seed 0 \
        [--lambda-identity 0.5] [--no-dct] [--out probe.jsonl]

Each line holds, on fixed probe batches never trained on (8 masks a, 8 real crops b):
- ``corr``: mean Pearson correlation between a's foreground and G(a) (< 0 = inverted), ``otsu_dice``;
- ``fg``/``bg``: mean G(a) inside / outside the mask;
- D_B's mean patch score on real b, on the inverted real ``min + max - b`` (same range), on ``-b``,
  on G(a) and on inverted G(a); D_A's on real a, on ``-a`` and on F(b);
- the step's loss terms.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cyclegan_dct import polarity  # noqa: E402
from cyclegan_dct.model import ConstantThenLinearDecay, build_cyclegan  # noqa: E402
from cyclegan_dct.pipeline import make_dataset, make_samplers  # noqa: E402
from cyclegan_dct.recipe import build_config  # noqa: E402
from data.engine.distribute import set_precision  # noqa: E402


def score(d, x):
    return float(np.mean(d(x, training=False).numpy()))


def probe(model, a, b):
    g = model.g_a2b(a, training=False).numpy()
    f = model.g_b2a(b, training=False).numpy()
    inv_b = np.stack([polarity.invert(x) for x in b])
    inv_g = np.stack([polarity.invert(x) for x in g])
    rep = polarity.polarity_report([m[..., 0] for m in a], [x[..., 0] for x in g])
    fg = a[..., 0] > 0
    return {
        "corr": rep["correlation"]["mean"],
        "inverted_fraction": rep["inverted_fraction"],
        "otsu_dice": rep["otsu_dice"]["mean"],
        "fg": float(g[..., 0][fg].mean()),
        "bg": float(g[..., 0][~fg].mean()),
        "db_real": score(model.d_b, b),
        "db_real_inv": score(model.d_b, inv_b),
        "db_real_neg": score(model.d_b, -b),
        "db_fake": score(model.d_b, g),
        "db_fake_inv": score(model.d_b, inv_g),
        "da_real": score(model.d_a, a),
        "da_real_neg": score(model.d_a, -a),
        "da_fake": score(model.d_a, f),
    }


class Probe(keras.callbacks.Callback):
    def __init__(self, a, b, every, out, t0):
        super().__init__()
        self.a, self.b, self.every, self.out, self.t0 = a, b, every, out, t0
        self.step = 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            rec = {"step": self.step, "t": round(time.time() - self.t0, 1), **probe(self.model, self.a, self.b),
                   **{k: float(np.asarray(v)) for k, v in (logs or {}).items()}}
            line = json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in rec.items()})
            print(line, flush=True)
            if self.out:
                with open(self.out, "a") as fh:
                    fh.write(line + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--crop", type=int, default=64)
    p.add_argument("--n-blocks", type=int, default=2)
    p.add_argument("--filters", type=int, default=8)
    p.add_argument("--d-filters", type=int, default=None)
    p.add_argument("--disc-layers", type=int, default=3)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--decay-steps", type=int, default=0)
    p.add_argument("--every", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--lambda-identity", type=float, default=0.0)
    p.add_argument("--pool-size", type=int, default=50)
    p.add_argument("--no-dct", action="store_true")
    p.add_argument("--precision", default="float32")
    p.add_argument("--extra", default="{}", help="JSON dict of further CycleGANConfig fields")
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    set_precision(args.precision)
    config = build_config(
        crop=args.crop, n_blocks=args.n_blocks, filters=args.filters, d_filters=args.d_filters or args.filters,
        disc_layers=args.disc_layers, epochs=1, epochs_decay=1 if args.decay_steps else 0,
        steps_per_epoch=args.steps if not args.decay_steps else args.steps - args.decay_steps,
        lambda_identity=args.lambda_identity, pool_size=args.pool_size, dct=not args.no_dct, seed=args.seed,
        precision=args.precision, like="stardist", **json.loads(args.extra))
    keras.utils.set_random_seed(config.seed)
    if args.decay_steps:  # constant for steps - decay_steps, then linear decay over decay_steps

        def opt(name):
            sched = ConstantThenLinearDecay(config.lr, args.steps - args.decay_steps, args.decay_steps)
            return keras.optimizers.Adam(sched, beta_1=config.beta_1, name=name)

        model = build_cyclegan(config, g_optimizer=opt("g"), d_optimizer=opt("d"))
    else:
        model = build_cyclegan(config)
    shown = make_samplers(config, epoch=10**6)
    a = np.stack([shown[0].sample() for _ in range(8)])
    b = np.stack([shown[1].sample() for _ in range(8)])
    t0 = time.time()
    print(json.dumps({"config": config.to_dict() | {"mask_stats": None}, "argv": sys.argv[1:]}), flush=True)
    print(json.dumps({"step": 0, **probe(model, a, b)}), flush=True)
    cb = Probe(a, b, args.every, args.out, t0)
    model.fit(make_dataset(config), epochs=1, steps_per_epoch=args.steps, callbacks=[cb], verbose=0)


if __name__ == "__main__":
    main()
