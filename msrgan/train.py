"""``python -m msrgan.train`` (console script ``msrgan-train``): train (or resume) mSRGAN.

The work is done by :func:`msrgan.recipe.train` on the shared scaffold
``data.training``. Example (demo data, pre-trained miniVGG19 from ``python -m vgg19.train``)::

    python -m msrgan.train --epochs 5 --pretrain-steps 200 --precision mixed_bfloat16

Writes ``backup/msrgan/`` (config.json, ckpt/, generator.keras, discriminator.keras, export.json),
``logs/msrgan/`` (TensorBoard) and ``result/msrgan/epoch_NNNN.png``. Re-running
the same command resumes from the last completed epoch (``--no-resume`` starts anew).
"""

from __future__ import annotations

import click

from data import cli
from msrgan.config import MSRGANConfig

C = MSRGANConfig


@cli.command()
@cli.config_option(C, "data_dir", type=click.Path(file_okay=False))
@cli.config_option(C, "vgg_weights", type=click.Path(dir_okay=False))
@cli.config_option(C, "alpha", type=float)
@cli.config_option(C, "beta", type=float)
@cli.config_option(C, "adv_weight", type=float)
@cli.config_option(C, "dropout", type=float)
@cli.config_option(C, "bn_momentum", type=float)
@cli.config_option(C, "bn_recalibration_batches", type=int)
@cli.config_option(C, "residual_bicubic", "--residual-bicubic/--no-residual-bicubic")
@cli.config_option(C, "d_steps", type=int)
@cli.config_option(C, "pretrain_steps", type=int)
@cli.config_option(C, "g_lr", type=float)
@cli.config_option(C, "g_lr_decay", type=float)
@cli.config_option(C, "g_lr_decay_start", type=int)
@cli.config_option(C, "d_lr", type=float)
@cli.config_option(C, "epochs", type=int)
@cli.config_option(C, "steps_per_epoch", type=int)
@cli.config_option(C, "val_steps", type=int)
@cli.config_option(C, "batch_size", type=int)
@cli.seed_option(C.default("seed"), C.help("seed"))
@cli.run_options("backup/msrgan", "logs/msrgan", precision=C.default("precision"))
@click.option("--result-dir", type=click.Path(file_okay=False), default="result/msrgan",
              help="Folder of the per-epoch figures epoch_NNNN.png (LR input | bicubic | SR | HR, with PSNRs).")
@cli.strategy_option
@cli.config_option(C, "augment", "--augment/--no-augment")
@cli.config_option(C, "image_every", type=int)
@cli.config_option(C, "log_every", type=int)
@cli.config_option(C, "n_blocks", type=int)
@cli.config_option(C, "filters", type=int)
@cli.config_option(C, "d_filters", type=int)
@cli.config_option(C, "dense_units", type=int)
@cli.config_option(C, "image_size", type=int)
@cli.config_option(C, "demo_n", type=int)
@cli.one_line_errors
def main(backup_dir, logdir, result_dir, resume, **options):
    """Train mSRGAN (G: 24x24 -> 96x96 4x super-resolution, D, miniVGG19 content loss)."""
    from msrgan.recipe import train

    result = train(MSRGANConfig(**options), backup_dir=backup_dir, logdir=logdir, result_dir=result_dir,
                   resume=resume)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(result["logs"].items()))
    cli.echo(cli.done_line(result) + (f"; {shown}" if shown else ""))


if __name__ == "__main__":
    main()
