"""``python -m vgg19.train`` (console script ``vgg19-train``): train the miniVGG19 classifier.

Resumable, TensorBoard, best-model export; the work is done by
:func:`vgg19.recipe.train` on the engine (``data.engine``). Example
(embedded demo data, bfloat16 on CPU)::

    python -m vgg19.train --precision mixed_bfloat16 --epochs 10
    python -m vgg19.train --data-dir cyto --backup-dir backup/vgg19 --logdir logs/vgg19
"""

from __future__ import annotations

import click

from data import cli
from vgg19.config import BN_SCALE_INITS, DENSE_INITS, VGG19Config

C = VGG19Config


@cli.command()
@cli.config_option(C, "data_dir", type=click.Path(file_okay=False))
@cli.config_option(C, "epochs", type=click.IntRange(min=1))
@cli.config_option(C, "steps_per_epoch", type=click.IntRange(min=1))
@cli.config_option(C, "batch_size", type=click.IntRange(min=1))
@cli.config_option(C, "lr", type=click.FloatRange(min=0, min_open=True))
@cli.seed_option(C.default("seed"), C.help("seed"))
@cli.run_options("backup/vgg19", "logs/vgg19", precision=C.default("precision"))
@cli.config_option(C, "jit_compile", "--jit-compile/--no-jit-compile")
@cli.strategy_option
@cli.config_option(C, "image_size", type=click.IntRange(min=1))
@cli.config_option(C, "base_filters", type=click.IntRange(min=1))
@cli.config_option(C, "dense_units", type=click.IntRange(min=1))
@cli.config_option(C, "bn_scale_init", type=click.Choice(BN_SCALE_INITS))
@cli.config_option(C, "bn_momentum", type=click.FloatRange(min=0, max=1, max_open=True))
@cli.config_option(C, "bn_recalibration_batches", type=click.IntRange(min=0))
@cli.config_option(C, "dense_init", type=click.Choice(DENSE_INITS))
@cli.config_option(C, "augment", "--augment/--no-augment")
@cli.config_option(C, "demo_n", type=click.IntRange(min=26))
@cli.one_line_errors
def main(backup_dir, logdir, resume, keep_checkpoints, **options):
    """Train the miniVGG19 13-class classifier of mSRGAN (softmax cross-entropy, Adam).

    Killed at any moment, the same command continues from the last completed
    epoch (weights, optimizer state, step). The model with the best validation
    accuracy is exported to BACKUP_DIR/minivgg19.keras (float32), described by BACKUP_DIR/export.json.
    """
    from vgg19.recipe import train

    result = train(VGG19Config(**options), backup_dir=backup_dir, logdir=logdir, resume=resume,
                   keep_checkpoints=keep_checkpoints)
    cli.echo(cli.done_line(result))


if __name__ == "__main__":
    main()
