"""``python -m msrgan.train``: train (or resume) mSRGAN on the original layout or the demo data.

Example (demo data, pre-trained miniVGG19 from ``python -m vgg19.train``)::

    python -m msrgan.train --epochs 5 --pretrain-steps 200 --precision mixed_bfloat16

Writes ``backup/msrgan/`` (config.json, ckpt/, generator.keras, discriminator.keras),
``logs/msrgan/`` (TensorBoard) and ``result/msrgan/epoch_NNNN.png``. Re-running
the same command resumes from the last completed epoch (``--no-resume`` starts anew).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import click  # noqa: E402

from data.runs import PRECISIONS  # noqa: E402
from msrgan.config import STRATEGIES, MSRGANConfig  # noqa: E402

_D = MSRGANConfig()


@click.command(context_settings={"show_default": True, "help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="Folder with train/ and test/ (NN_<id>.png, 96x96 RGB); default: embedded demo data.")
@click.option("--vgg-weights", type=click.Path(dir_okay=False), default=_D.vgg_weights,
              help="miniVGG19 .keras for the content loss (python -m vgg19.train writes it); unused if --beta 0.")
@click.option("--alpha", type=float, default=_D.alpha, help="Weight of the pixel MSE term alpha * l2_loss(HR - SR).")
@click.option("--beta", type=float, default=_D.beta, help="Weight of the miniVGG19 content term (0: no VGG needed).")
@click.option("--adv-weight", type=float, default=_D.adv_weight, help="Weight w_adv of the adversarial terms.")
@click.option("--dropout", type=float, default=_D.dropout,
              help="Generator dropout rate, training only (0 removes the layers).")
@click.option("--bn-momentum", type=float, default=_D.bn_momentum,
              help="Decay of the generator's BN moving statistics (the original: 0.99; D has no BN).")
@click.option("--bn-recalibration-batches", type=int, default=_D.bn_recalibration_batches,
              help="Re-estimate the generator's BN statistics over N training batches with the current weights "
                   "before each validation and export (0: keep the running averages, as the original).")
@click.option("--residual-bicubic/--no-residual-bicubic", default=_D.residual_bicubic,
              help="Not the original: G predicts a correction added to the bicubic upsampling of its input.")
@click.option("--d-steps", type=int, default=_D.d_steps,
              help="Discriminator updates per step (0: D never learns, as the original's final loop).")
@click.option("--pretrain-steps", type=int, default=_D.pretrain_steps,
              help="First N steps train G on the MSE term only (SRResNet pre-training); D is not updated.")
@click.option("--g-lr", type=float, default=_D.g_lr, help="Adam learning rate of the generator.")
@click.option("--g-lr-decay", type=float, default=_D.g_lr_decay,
              help="Multiply the generator lr by this per 100 steps from --g-lr-decay-start (1: constant, the original).")
@click.option("--g-lr-decay-start", type=int, default=_D.g_lr_decay_start, help="Step where the g-lr decay begins.")
@click.option("--d-lr", type=float, default=_D.d_lr, help="Adam learning rate of the discriminator.")
@click.option("--epochs", type=int, default=_D.epochs, help="Total number of epochs (a resumed run continues).")
@click.option("--steps-per-epoch", type=int, default=None, help="Steps per epoch [default: train images / batch].")
@click.option("--val-steps", type=int, default=None, help="Validation batches per epoch [default: the test split].")
@click.option("--batch-size", type=int, default=_D.batch_size, help="Global batch size (split across replicas).")
@click.option("--seed", type=int, default=_D.seed, help="Random seed (weights, dropout, data order).")
@click.option("--backup-dir", type=click.Path(file_okay=False), default="backup/msrgan",
              help="Run folder: config.json, ckpt/, generator.keras, discriminator.keras.")
@click.option("--logdir", type=click.Path(file_okay=False), default="logs/msrgan", help="TensorBoard folder.")
@click.option("--result-dir", type=click.Path(file_okay=False), default="result/msrgan",
              help="Folder of the per-epoch figures epoch_NNNN.png (LR input | bicubic | SR | HR, with PSNRs).")
@click.option("--resume/--no-resume", default=True, help="Continue from the last checkpoint in --backup-dir.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=_D.precision, help="Keras dtype policy.")
@click.option("--strategy", type=click.Choice(STRATEGIES), default=_D.strategy,
              help="default: one device; mirrored: tf.distribute.MirroredStrategy over all local devices.")
@click.option("--augment/--no-augment", default=_D.augment,
              help="Apply data.pipeline's training augmentation to the HR images (the original's SR loop did not).")
@click.option("--image-every", type=int, default=_D.image_every, help="TensorBoard images every N steps.")
@click.option("--log-every", type=int, default=_D.log_every, help="TensorBoard step scalars every N steps.")
@click.option("--n-blocks", type=int, default=_D.n_blocks, help="Residual blocks of the generator.")
@click.option("--filters", type=int, default=_D.filters, help="Generator width (multiple of 4).")
@click.option("--d-filters", type=int, default=_D.d_filters, help="Discriminator width of its first convolutions.")
@click.option("--dense-units", type=int, default=_D.dense_units, help="Discriminator hidden dense units.")
@click.option("--image-size", type=int, default=_D.image_size,
              help="HR side (multiple of 16; the LR input is a quarter of it). Demo images are resized to it.")
@click.option("--demo-n", type=int, default=_D.demo_n, help="Number of demo images (train + test) without --data-dir.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def main(backup_dir, logdir, result_dir, resume, quiet, **options):
    """Train mSRGAN (G: 24x24 -> 96x96 4x super-resolution, D, miniVGG19 content loss)."""
    import logging

    from data import runs

    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("msrgan", "data"):
        logging.getLogger(name).setLevel(logging.INFO)

    def run():
        config = MSRGANConfig(**options).validate()
        from msrgan.training import check_vgg_weights, train

        check_vgg_weights(config)
        return train(config, backup_dir=backup_dir, logdir=logdir, result_dir=result_dir, resume=resume,
                     verbose=0 if quiet else 1)

    result = runs.run_training(run)
    shown = ", ".join(f"{k} {v:.4g}" for k, v in sorted(result["logs"].items()))
    click.echo(f"done: epoch {result['epoch']}, step {result['step']}; {shown}")
    click.echo(f"generator (best validation PSNR): {result['generator']}")


if __name__ == "__main__":
    main()
