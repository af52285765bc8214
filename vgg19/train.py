"""``python -m vgg19.train``: train the miniVGG19 classifier (resumable, TensorBoard, best-model export).

Example (embedded demo data, bfloat16 on CPU)::

    python -m vgg19.train --precision mixed_bfloat16 --epochs 10
    python -m vgg19.train --data-dir cyto --backup-dir backup/vgg19 --logdir logs/vgg19
"""

from __future__ import annotations

import click

from vgg19.config import BN_SCALE_INITS, DENSE_INITS, PRECISIONS, VGG19Config

_DEFAULT = VGG19Config()


@click.command(context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder in the original layout DIR/train/NN_<id>.png and DIR/test/NN_<id>.png "
                   "(NN = class 00-12). Default: the embedded demo data.")
@click.option("--epochs", type=click.IntRange(min=1), default=_DEFAULT.epochs,
              help="Total number of epochs (a resumed run stops at the same total; the original looped forever).")
@click.option("--steps-per-epoch", type=click.IntRange(min=1), default=None,
              help="Training batches per epoch. Default: one pass over the training split.")
@click.option("--batch-size", type=click.IntRange(min=1), default=_DEFAULT.batch_size, help="Images per batch.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=_DEFAULT.lr, help="Adam learning rate.")
@click.option("--seed", type=int, default=_DEFAULT.seed, help="Seed of the initial weights and of the data order.")
@click.option("--backup-dir", type=click.Path(file_okay=False), default="backup/vgg19",
              help="Run folder: config.json, ckpt/ (the 'latest' pointer and training state), minivgg19.keras.")
@click.option("--logdir", type=click.Path(file_okay=False), default="logs/vgg19", help="TensorBoard folder.")
@click.option("--resume/--no-resume", default=True,
              help="Continue from the last checkpoint in --backup-dir, or delete it and start anew.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=_DEFAULT.precision,
              help="Keras dtype policy; mixed_bfloat16 is about 3x faster on CPUs with AMX.")
@click.option("--image-size", type=click.IntRange(min=1), default=_DEFAULT.image_size,
              help="Input size S (S x S x 3). Folder images must be S x S; the demo data is resized to it. "
                   "The original: 96.")
@click.option("--base-filters", type=click.IntRange(min=1), default=_DEFAULT.base_filters,
              help="Filters of block 1 (blocks: x1, x2, x4, x8, x8). The original: 64.")
@click.option("--dense-units", type=click.IntRange(min=1), default=_DEFAULT.dense_units,
              help="Units of the two hidden dense layers. The original: 4096.")
@click.option("--bn-scale-init", type=click.Choice(BN_SCALE_INITS), default=_DEFAULT.bn_scale_init,
              help="BatchNormalization scale initialiser; the original: truncated normal, stddev 0.1.")
@click.option("--bn-momentum", type=click.FloatRange(min=0, max=1, max_open=True), default=_DEFAULT.bn_momentum,
              help="Decay of the BatchNormalization moving statistics used at validation/inference. The original: 0.99 "
                   "(the statistics then need several hundred steps to settle; 0.9 suits short runs).")
@click.option("--bn-recalibration-batches", type=click.IntRange(min=0), default=_DEFAULT.bn_recalibration_batches,
              help="Re-estimate the BN statistics over N training batches with the current weights before each "
                   "validation and export (0: the running averages, as the original).")
@click.option("--dense-init", type=click.Choice(DENSE_INITS), default=_DEFAULT.dense_init,
              help="Initialiser of the dense kernels; the original: truncated normal, stddev 0.1 (with fan-ins of "
                   "4608 and 4096 the initial logits are large and the softmax saturates).")
@click.option("--augment/--no-augment", default=_DEFAULT.augment,
              help="The original's training augmentation (flip, gamma, crop-and-zoom, box blur 1-4 px).")
@click.option("--demo-n", type=click.IntRange(min=26), default=_DEFAULT.demo_n,
              help="Number of demo images (train + test) when --data-dir is not given.")
def main(data_dir, epochs, steps_per_epoch, batch_size, lr, seed, backup_dir, logdir, resume, precision,
         image_size, base_filters, dense_units, bn_scale_init, bn_momentum, bn_recalibration_batches, dense_init, augment, demo_n):
    """Train the miniVGG19 13-class classifier of mSRGAN (softmax cross-entropy, Adam).

    Killed at any moment, the same command continues from the last completed
    epoch (weights, optimizer state, step). The model with the best validation
    accuracy is exported to BACKUP_DIR/minivgg19.keras.
    """
    from data import runs
    from vgg19.training import train

    def run():
        config = VGG19Config(image_size=image_size, base_filters=base_filters, dense_units=dense_units,
                             bn_scale_init=bn_scale_init, bn_momentum=bn_momentum,
                             bn_recalibration_batches=bn_recalibration_batches, dense_init=dense_init, augment=augment, epochs=epochs,
                             steps_per_epoch=steps_per_epoch,
                             batch_size=batch_size, lr=lr, seed=seed, precision=precision,
                             data_dir=data_dir, demo_n=demo_n).validate()
        return train(config, backup_dir=backup_dir, logdir=logdir, resume=resume)

    result = runs.run_training(run)
    click.echo(f"done: epoch {result['epoch']}, step {result['step']}, "
               f"best val_accuracy {result['best_val_accuracy']:.4f} -> {result['export']}")


if __name__ == "__main__":
    main()
