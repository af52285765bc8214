"""``python -m msrgan.train`` (console script ``msrgan-train``): train (or resume) mSRGAN, or the SRCNN baseline.

The work is done by :func:`msrgan.recipe.train` (``--model msrgan``, the
default) or :func:`msrgan.srcnn.train` (``--model srcnn``) on the shared
engine (``data.engine``). Example (demo data, pre-trained miniVGG19 from ``python -m vgg19.train``)::

    python -m msrgan.train --epochs 5 --pretrain-steps 200 --precision mixed_bfloat16
    python -m msrgan.train --model srcnn                  # 10 epochs of 100 steps

mSRGAN writes ``backup/msrgan/`` (config.json, ckpt/, generator.keras, discriminator.keras, export.json),
``logs/msrgan/`` (TensorBoard) and ``result/msrgan/epoch_NNNN.png``; SRCNN writes
``backup/srcnn/`` (config.json, ckpt/, srcnn.keras of the best validation PSNR,
export.json) and ``logs/srcnn/``. The options shared by both models (data,
run, batch and image size) apply to either; the ``--srcnn-*`` options only to
SRCNN and the others only to mSRGAN (given to the other model, they are refused).
Re-running the same command resumes from the last completed epoch (``--no-resume`` starts anew).
"""

from __future__ import annotations

import click

from data import cli
from msrgan.config import MSRGANConfig, SRCNNConfig

C = MSRGANConfig
SRCNN_ONLY = ("lr", "padding", "n1", "n2")
"""SRCNNConfig fields given as ``--srcnn-<field>``; its other fields share mSRGAN's options."""
SRCNN_RUN = {"backup_dir": "backup/srcnn", "logdir": "logs/srcnn"}


@cli.command()
@click.option("--model", type=click.Choice(["msrgan", "srcnn"]), default="msrgan",
              help="msrgan: the GAN; srcnn: the SRCNN baseline (9-1-5, on the bicubic upsampling; MSE).")
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
@cli.config_option(C, "adv_g_lr", type=float)
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
@cli.config_option(C, "jit_compile", "--jit-compile/--no-jit-compile")
@cli.config_option(C, "augment", "--augment/--no-augment")
@cli.config_option(C, "image_every", type=int)
@cli.config_option(C, "log_every", type=int)
@cli.config_option(C, "n_blocks", type=int)
@cli.config_option(C, "filters", type=int)
@cli.config_option(C, "d_filters", type=int)
@cli.config_option(C, "dense_units", type=int)
@cli.config_option(C, "image_size", type=int)
@cli.config_option(C, "demo_n", type=int)
@cli.config_options(SRCNNConfig, SRCNN_ONLY, prefix="srcnn")
@cli.one_line_errors
def main(model, backup_dir, logdir, result_dir, resume, keep_checkpoints, **options):
    """Train mSRGAN (G: 24x24 -> 96x96 4x super-resolution, D, miniVGG19 content loss) or the SRCNN baseline."""
    given = {name for name in [*options, "backup_dir", "logdir", "result_dir"] if _given(name)}
    srcnn_only = {f"srcnn_{name}" for name in SRCNN_ONLY}
    if model == "msrgan":
        _refuse(given & srcnn_only, model)
        from msrgan.recipe import train

        config = MSRGANConfig(**{k: v for k, v in options.items() if k not in srcnn_only})
        result = train(config, backup_dir=backup_dir, logdir=logdir, result_dir=result_dir, resume=resume,
                       keep_checkpoints=keep_checkpoints)
    else:
        shared = set(SRCNNConfig.field_names()) - set(SRCNN_ONLY)
        _refuse(given - shared - srcnn_only - {"backup_dir", "logdir", "precision", "verbose"}, model)
        values = {k: options[k] for k in given & shared}  # SRCNN's own defaults otherwise
        values.update({name: options[f"srcnn_{name}"] for name in SRCNN_ONLY})
        from msrgan.srcnn import train

        run = {k: (v if k in given else SRCNN_RUN[k]) for k, v in (("backup_dir", backup_dir), ("logdir", logdir))}
        result = train(SRCNNConfig(**values), resume=resume, keep_checkpoints=keep_checkpoints, **run)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(result["logs"].items()))
    cli.echo(cli.done_line(result) + (f"; {shown}" if shown else ""))


def _given(name):
    """Whether option ``name`` was given on the command line (not its default)."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source != click.core.ParameterSource.DEFAULT


def _refuse(names, model):
    if names:
        flags = ", ".join(sorted("--" + n.replace("_", "-") for n in names))
        raise click.UsageError(f"{flags}: not an option of --model {model}")


if __name__ == "__main__":
    main()
