"""``python -m cyclegan_dct.train`` (console script ``cyclegan-dct-train``): train the CycleGAN with the DCT low-pass.

The work is done by :func:`cyclegan_dct.recipe.train` on the shared scaffold
``data.engine.loop``. Example (default data: random ellipse masks fitted to
stardist's real labels <-> crops of stardist's real nuclei image)::

    python -m cyclegan_dct.train --epochs 100 --epochs-decay 100          # DCT, cutoff 0.5
    python -m cyclegan_dct.train --no-dct --backup-dir backup/cyclegan_vanilla
    python -m cyclegan_dct.train --preset cpu --seed 1                    # PRESET_HELP: ~13 min on 2 cores

``--preset NAME`` (``cyclegan_dct.config.PRESETS``) sets several options at
once; options given explicitly on the command line win.
"""

from __future__ import annotations

import click

from cyclegan_dct.config import PRESET_HELP, PRESETS, CycleGANConfig, apply_preset
from data import cli

C = CycleGANConfig


@cli.command()
@cli.config_option(C, "epochs", type=click.IntRange(min=0))
@cli.config_option(C, "epochs_decay", type=click.IntRange(min=0))
@cli.config_option(C, "steps_per_epoch", type=click.IntRange(min=1))
@cli.config_option(C, "crop", type=int)
@cli.config_option(C, "batch_size", type=click.IntRange(min=1))
@cli.config_option(C, "n_blocks", type=click.IntRange(min=0))
@cli.config_option(C, "filters", type=click.IntRange(min=1), help="Filters of the first generator and "
                                                                   "discriminator layers.")
@cli.config_option(C, "lambda_identity", type=float)
@cli.config_option(C, "lambda_polarity", type=float)
@cli.config_option(C, "dct_cutoff", type=float)
@click.option("--no-dct", is_flag=True, help="Vanilla CycleGAN: no filter between the generators.")
@cli.config_option(C, "dct_both", "--dct-both", is_flag=True)
@cli.config_option(C, "masks", type=click.Path(file_okay=False))
@cli.config_option(C, "images", type=click.Path(file_okay=False))
@cli.config_option(C, "like", type=str)
@cli.config_option(C, "mask_density", type=float)
@cli.seed_option(C.default("seed"), C.help("seed"))
@cli.run_options("backup/cyclegan_dct", "logs/cyclegan_dct", precision=C.default("precision"))
@cli.strategy_option
@cli.config_option(C, "jit_compile", "--jit-compile/--no-jit-compile")
@cli.config_option(C, "image_every", type=click.IntRange(min=1))
@click.option("--preset", type=click.Choice(["none", *PRESETS]), default="none",
              help="Named configuration; options given explicitly win. "
                   + "; ".join(f"{k}: {v}" for k, v in PRESET_HELP.items()) + ".")
@cli.one_line_errors
def main(backup_dir, logdir, resume, keep_checkpoints, no_dct, filters, preset, **options):
    """Train the CycleGAN with a DCT low-pass between G (masks -> images) and F (images -> masks)."""
    ctx = click.get_current_context()
    explicit = {k for k in ctx.params if ctx.get_parameter_source(k) != click.core.ParameterSource.DEFAULT}
    options = apply_preset(preset, dict(options, dct=not no_dct, filters=filters, d_filters=filters), explicit)

    from cyclegan_dct.recipe import build_config, train

    config = build_config(**options)
    result = train(config, backup_dir=backup_dir, logdir=logdir, resume=resume, keep_checkpoints=keep_checkpoints)
    cli.echo(cli.done_line(result))


if __name__ == "__main__":
    main()
