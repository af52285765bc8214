"""Train the CycleGAN (masks <-> nuclei images) with the DCT low-pass: ``python -m cyclegan_dct.train``.

Example (default data: random ellipse masks fitted to stardist's real
labels <-> crops of stardist's real nuclei image)::

    python -m cyclegan_dct.train --epochs 100 --epochs-decay 100          # DCT, cutoff 0.5
    python -m cyclegan_dct.train --no-dct --backup-dir backup/cyclegan_vanilla

Run folder ``--backup-dir``: ``config.json``, ``ckpt/`` (full state at each
epoch end: G, F, D_A, D_B, both optimizers, step), ``generator_a2b.keras``,
``generator_b2a.keras``, ``discriminator_a.keras``, ``discriminator_b.keras``.
A run killed at any moment resumes from its last checkpoint (``--resume``,
the default). TensorBoard (``--logdir``): every loss term and ``lr`` and,
every ``--image-every`` steps, the images of both cycles.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import keras
import numpy as np
import tensorflow as tf
from skimage import exposure

from cyclegan_dct import domains
from cyclegan_dct.config import ARCHITECTURE_KEYS, CycleGANConfig
from cyclegan_dct.model import CycleGAN
from cyclegan_dct.pipeline import make_dataset, make_samplers
from data import runs
from data.runs import (
    PRECISIONS,
    CheckpointCallback,
    ImageSummary,
    TrainingState,
    prepare_run_dir,
    save_model,
    set_precision,
)

EXPORTS = {
    "g_a2b": "generator_a2b.keras",
    "g_b2a": "generator_b2a.keras",
    "d_a": "discriminator_a.keras",
    "d_b": "discriminator_b.keras",
}


def _unit(x):
    """[-1, 1] -> [0, 1], float32 numpy."""
    return np.clip((np.asarray(x, np.float32) + 1.0) / 2.0, 0.0, 1.0)


def clahe(images):
    """CLAHE (``skimage.exposure.equalize_adapthist``) of (N, H, W, C) images in [0, 1], per image and channel.

    Makes a faint hidden (steganographic) pattern in G(a) visible."""
    images = np.asarray(images, np.float32)
    out = np.empty_like(images)
    for i in range(images.shape[0]):
        for ch in range(images.shape[-1]):
            out[i, ..., ch] = exposure.equalize_adapthist(images[i, ..., ch])
    return out


def cycle_panels(model, a, b):
    """TensorBoard images {name: (N, H, W, C) in [0, 1]} of both cycles for fixed batches a, b."""
    t = {k: v.numpy() for k, v in model.translate(a, b).items()}
    return {
        "1_mask_a": _unit(a),
        "2_G_a": _unit(t["fake_b"]),
        "3_lowpass_G_a": _unit(t["filtered_fake_b"]),
        "4_F_lowpass_G_a": _unit(t["rec_a"]),
        "5_real_b": _unit(b),
        "6_F_b": _unit(t["fake_a"]),
        "7_G_F_b": _unit(t["rec_b"]),
        "8_clahe_G_a": clahe(_unit(t["fake_b"])),
    }


class ScalarSummary(keras.callbacks.Callback):
    """Every ``every`` steps, writes each value of the step's logs (loss terms, ``lr``) to TensorBoard.

    The step axis is the global training step, continued across resumes
    (Keras' own TensorBoard callback restarts its batch counter at 0)."""

    def __init__(self, logdir, every=50, initial_step=0):
        super().__init__()
        self.writer = tf.summary.create_file_writer(str(Path(logdir) / "train"))
        self.every = max(int(every), 1)
        self.step = int(initial_step)

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            with self.writer.as_default(step=self.step):
                for name, value in (logs or {}).items():
                    tf.summary.scalar(name, float(np.asarray(value)))

    def on_train_end(self, logs=None):
        self.writer.flush()


def export_models(model, run_dir):
    """Write the four networks as ``.keras`` files (atomic), loadable after ``import cyclegan_dct``."""
    for attr, fname in EXPORTS.items():
        save_model(getattr(model, attr), run_dir / fname)


def build_config(**options):
    """The run's :class:`CycleGANConfig`, with the domain-A mask statistics fitted."""
    like = options.pop("like")
    config = CycleGANConfig(like=like, **options)
    if config.masks:
        stats = domains.fit_stats_to_labels(domains.load_label_folder(config.masks, config.crop))
    else:
        stats = domains.fit_stats(like)
    return config.replace(mask_stats=stats.to_dict())


def train(config, backup_dir, logdir, resume=True, image_every=500, verbose=2):
    """Train (or resume) a run; returns the trained :class:`CycleGAN`."""
    set_precision(config.precision)
    run_dir = prepare_run_dir(backup_dir, config.to_dict(), resume=resume, fixed_keys=ARCHITECTURE_KEYS)
    keras.utils.set_random_seed(config.seed)  # initial weights (the samplers and pools are seeded from config.seed)
    strategy = tf.distribute.MirroredStrategy() if config.strategy == "mirrored" else tf.distribute.get_strategy()
    with strategy.scope():
        model = CycleGAN(config)
        model.compile()
    state = TrainingState(run_dir, **model.training_state())
    initial_epoch = state.restore()
    total = config.epochs + config.epochs_decay
    click.echo(f"{'resuming at' if initial_epoch else 'starting'} epoch {initial_epoch + 1}/{total}, "
               f"step {int(model.step.numpy())}, {'vanilla' if config.vanilla else f'DCT cutoff {config.dct_cutoff}'}, "
               f"precision {config.precision}")
    if initial_epoch >= total:
        export_models(model, run_dir)
        return model
    samplers = make_samplers(config, epoch=initial_epoch)
    shown = make_samplers(config, epoch=10**6)  # fixed TensorBoard examples, never trained on
    n_show = min(4, max(config.batch_size, 2))
    a_show = np.stack([shown[0].sample() for _ in range(n_show)])
    b_show = np.stack([shown[1].sample() for _ in range(n_show)])
    callbacks = [
        CheckpointCallback(state, export=lambda epoch, logs: export_models(model, run_dir), initial_epoch=initial_epoch),
        ScalarSummary(logdir, every=max(1, min(50, config.steps_per_epoch)), initial_step=int(model.step.numpy())),
        ImageSummary(logdir, lambda m: cycle_panels(m, a_show, b_show), every=image_every,
                     initial_step=int(model.step.numpy())),
    ]
    model.fit(make_dataset(config, samplers=samplers), epochs=total, initial_epoch=initial_epoch,
              steps_per_epoch=config.steps_per_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)
    return model


@click.command(context_settings={"show_default": True})
@click.option("--epochs", default=100, help="Epochs at the initial learning rate (reference --n_epochs).")
@click.option("--epochs-decay", default=100, help="Epochs of linear decay to 0 (reference --n_epochs_decay).")
@click.option("--steps-per-epoch", default=1000, help="Training steps per epoch (domains are sampled on the fly).")
@click.option("--crop", default=256, help="Training crop size (multiple of 4).")
@click.option("--batch-size", default=1)
@click.option("--n-blocks", default=9, help="Residual blocks of each generator.")
@click.option("--filters", default=64, help="Filters of the first generator and discriminator layers.")
@click.option("--lambda-identity", default=0.0, help="Identity loss weight, relative to lambda=10 (reference: 0.5).")
@click.option("--dct-cutoff", default=0.5, help="Fraction of DCT frequencies kept along each axis between G and F.")
@click.option("--no-dct", is_flag=True, help="Vanilla CycleGAN: no filter between the generators.")
@click.option("--dct-both", is_flag=True, help="Also low-pass F(b) in the B->A->B cycle.")
@click.option("--masks", type=click.Path(file_okay=False), default=None,
              help="Folder of label TIFF/PNG masks for domain A (default: random ellipses).")
@click.option("--images", type=click.Path(file_okay=False), default=None,
              help="Folder of 8/16-bit PNG/TIFF nuclei images for domain B (default: stardist's real image).")
@click.option("--like", default="stardist",
              help="Ellipse statistics: 'stardist' (fitted to its real labels), 'default', or a label file/folder.")
@click.option("--seed", default=0)
@click.option("--backup-dir", type=click.Path(file_okay=False), default="backup/cyclegan_dct")
@click.option("--logdir", type=click.Path(file_okay=False), default="logs/cyclegan_dct")
@click.option("--resume/--no-resume", default=True, help="Continue from the last checkpoint in --backup-dir.")
@click.option("--precision", type=click.Choice(PRECISIONS), default="float32")
@click.option("--strategy", type=click.Choice(["default", "mirrored"]), default="default")
@click.option("--image-every", default=500, help="Steps between TensorBoard image summaries.")
@click.option("--verbose", default=2, type=click.IntRange(0, 2), help="Keras fit verbosity.")
def main(epochs, epochs_decay, steps_per_epoch, crop, batch_size, n_blocks, filters, lambda_identity, dct_cutoff,
         no_dct, dct_both, masks, images, like, seed, backup_dir, logdir, resume, precision, strategy,
         image_every, verbose):
    """Train the CycleGAN with a DCT low-pass between G (masks -> images) and F (images -> masks)."""
    start = time.time()

    def run():
        config = build_config(
            epochs=epochs, epochs_decay=epochs_decay, steps_per_epoch=steps_per_epoch, crop=crop,
            batch_size=batch_size, n_blocks=n_blocks, filters=filters, disc_filters=filters,
            lambda_identity=lambda_identity, dct=not no_dct, dct_cutoff=dct_cutoff, dct_both=dct_both,
            masks=masks, images=images, like=like, seed=seed, precision=precision, strategy=strategy)
        if images:
            domains.load_image_folder(images, config.channels, config.crop)  # fail before creating the run folder
        return train(config, backup_dir, logdir, resume=resume, image_every=image_every, verbose=verbose)

    model = runs.run_training(run)
    click.echo(f"done: step {int(model.step.numpy())}, {time.time() - start:.0f} s; models in {backup_dir}")


if __name__ == "__main__":
    main()
