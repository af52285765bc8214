"""``python -m cyclegan_dct.evaluate`` (console script ``cyclegan-dct-evaluate``): downstream value of synthetic data.

``--synthetic DIR``: train StarDist on the pairs of ``cyclegan_dct.generate`` and score it on real
nuclei; ``--compare DIR1 DIR2 ...``: put several evaluations side by side. The work is done by
:mod:`cyclegan_dct.evaluation` (see it for the protocol and the files written).
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli
from data.stardist_training import StarDistConfig

MASK_CHOICES = ("cycled", "input")


@cli.command()
@click.option("--synthetic", type=click.Path(file_okay=False, path_type=Path),
              help="Folder written by cyclegan_dct.generate.")
@click.option("--masks", type=click.Choice(MASK_CHOICES), default="cycled",
              help="Train on the cycled masks F(filter(G(m))) or on the input masks m.")
@click.option("--test-images", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Real test images (default: the stardist nuclei test image).")
@click.option("--test-masks", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Their instance labels, same file names.")
@cli.config_options(StarDistConfig, StarDistConfig.CLI_FIELDS)
@cli.config_option(StarDistConfig, "patch_size", type=click.IntRange(min=1),
                   help="StarDist training patch [default: the largest multiple of 16 that fits the smallest "
                        "synthetic image, at most 256].")
@cli.seed_option(StarDistConfig.default("seed"), StarDistConfig.help("seed"))
@click.option("--label", default=None, help="Name of this run in comparison tables.")
@click.option("--compare", is_flag=True, help="Compare the evaluation folders given as arguments instead.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder [default: result/cyclegan_dct/evaluation, or .../comparison with --compare].")
@click.argument("runs", nargs=-1, type=click.Path(path_type=Path))
@cli.verbose_option
@cli.one_line_errors
def main(synthetic, masks, test_images, test_masks, seed, label, compare, out, runs, **options):
    """Train StarDist on synthetic pairs and score it on real nuclei (or --compare runs)."""
    config = cli.pop_config(StarDistConfig, options, (*StarDistConfig.CLI_FIELDS, "patch_size"), seed=seed)
    if compare:
        if synthetic is not None or not runs:
            raise click.UsageError("--compare takes evaluation folders as arguments and no --synthetic")
        from cyclegan_dct.evaluation import run_compare

        cli.echo(run_compare(runs, out or Path("result/cyclegan_dct/comparison")), nl=False)
        return
    if runs:
        raise click.UsageError(f"unexpected arguments {' '.join(map(str, runs))} (did you mean --compare?)")
    if synthetic is None:
        raise click.UsageError("--synthetic DIR is required (or --compare DIR1 DIR2 ...)")
    from cyclegan_dct.evaluation import run_evaluation

    out = out or Path("result/cyclegan_dct/evaluation")
    r = run_evaluation(synthetic, out, config, masks, test_images, test_masks, label)
    m = r["metrics"]
    cli.echo(f"F1@0.5 {m['f1']:.3f}  AP@0.5 {m['ap']:.3f}  mean F1 {m['mean_f1']:.3f}  "
             f"({r['wall_time_s']['total']:.0f} s) -> {out / 'evaluation.json'}")


if __name__ == "__main__":
    main()
