"""``python -m msrgan.evaluate`` (console script ``msrgan-evaluate``): compare generators with nearest and bicubic.

Example::

    python -m msrgan.evaluate backup/msrgan/generator.keras                 # embedded demo test split
    python -m msrgan.evaluate --data-dir DIR --out result/eval a.keras b.keras
    python -m msrgan.evaluate backup/msrgan/generator.keras --compare other/generator.keras,x.keras
    python -m msrgan.evaluate backup/msrgan/generator.keras --segmentation --sd-epochs 20   # + nuclei segmentation

The work is done by :mod:`msrgan.evaluation` (see it for the protocol and the files written) and, with
``--segmentation``, :mod:`msrgan.segmentation` (segmentation.json, segmentation.md, segmentation.png).
"""

from __future__ import annotations

from pathlib import Path

import click

from data import cli
from data.segmentation import DEMO_NUCLEUS_DIAMETER
from data.stardist_training import StarDistConfig

SD_FIELDS = (*StarDistConfig.CLI_FIELDS, "patch_size")


@cli.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--compare", "compare_with", multiple=True, metavar="A.keras,B.keras",
              help="Further generators to compare (comma-separated; the option may be repeated).")
@click.option("--srcnn", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="SRCNN model (python -m msrgan.train --model srcnn). "
                   "Default: backup/srcnn/srcnn.keras, when it exists.")
@click.option("--siblings/--no-siblings", default=True,
              help="Also evaluate backup/srcnn/srcnn.keras and generator_pretrained.keras beside each MODEL "
                   "when they exist.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data in the original layout; its test/ images are used. Default: the embedded demo test split.")
@click.option("--max-images", type=click.IntRange(min=1), default=None,
              help="Evaluate only the first N test images [default: all].")
@click.option("--out", "out_dir", default="result/msrgan_eval", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for report.json, report.md, comparison.png.")
@click.option("--n-show", default=4, type=click.IntRange(min=1), help="Images in comparison.png.")
@click.option("--batch-size", default=16, type=click.IntRange(min=1))
@click.option("--tile", default=128, type=click.IntRange(min=1), help="Tile size for large inputs.")
@click.option("--overlap", default=16, type=click.IntRange(min=0))
@click.option("--segmentation", is_flag=True,
              help="Also segment nuclei in every version and test SR against bicubic and nearest "
                   "(segmentation.json/.md/.png; the mSRGAN thesis's study).")
@click.option("--segmenters", default="classical,stardist", show_default=True,
              help="With --segmentation: comma-separated, from classical (Otsu + watershed) and stardist "
                   "(trained on the HR training fields' nuclei labels).")
@click.option("--dapi-channel", default=2, show_default=True, type=click.IntRange(0, 3),
              help="Channel of the nuclear stain (2 = blue, HPA's DAPI); grey images are used as they are.")
@click.option("--nucleus-diameter", default=DEMO_NUCLEUS_DIAMETER, show_default=True, type=click.FloatRange(2, 1000),
              help="Expected nucleus diameter in HR px; sets the classical segmenter's parameters.")
@click.option("--stardist-model", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A trained StarDist2D folder to use instead of training one (OUT/stardist_model).")
@cli.config_options(StarDistConfig, StarDistConfig.CLI_FIELDS, prefix="sd")
@click.option("--sd-patch-size", "sd_patch_size", type=click.IntRange(min=1), default=None,
              help="StarDist training patch [default: the largest multiple of 16 that fits the training fields, "
                   "at most 256].")
@cli.seed_option(StarDistConfig.default("seed"), "Seed of the StarDist training.")
@cli.verbose_option
@cli.one_line_errors
def main(models, compare_with, srcnn, siblings, data_dir, max_images, out_dir, n_show, batch_size, tile, overlap,
         segmentation, segmenters, dapi_channel, nucleus_diameter, stardist_model, seed, **sd_options):
    """Compare the generators MODELS (.keras) with nearest and bicubic upscaling, SRCNN and the pre-trained
    generator when found (PSNR, SSIM on 8-bit RGB; paired Wilcoxon tests against bicubic); with --segmentation,
    also the nuclei segmentation of each version against the ground truth."""
    from msrgan.evaluation import compare, split_paths, write_report

    study = None
    if segmentation:  # the data are checked before any long work
        from data.segmentation import WatershedParams
        from msrgan.segmentation import SegmentationStudy

        study = SegmentationStudy(data_dir, [s.strip() for s in segmenters.split(",") if s.strip()], dapi_channel,
                                  WatershedParams(nucleus_diameter),
                                  cli.pop_config(StarDistConfig, sd_options, SD_FIELDS, prefix="sd", seed=seed),
                                  out_dir / "stardist_model", stardist_model, max_images)

    bars = []

    def start(n_images, n_models):
        bars.append(click.progressbar(length=n_images, label=f"Evaluating {n_models} model(s) on {n_images} images"))
        bars[0].__enter__()

    try:
        report, figure = compare(models, data_dir, n_show, batch_size, tile, overlap, on_images=start,
                                 on_batch=lambda k: bars[0].update(k), compare_with=split_paths(compare_with),
                                 srcnn=srcnn, siblings=siblings, max_images=max_images,
                                 on_image=None if study is None else study.collector)
    finally:
        for bar in bars:
            bar.__exit__(None, None, None)
    if study is not None:
        from msrgan.segmentation_report import write_segmentation

        cli.echo(f"segmenting nuclei ({', '.join(study.segmenters)}) in {len(report['images'])} images x "
                 f"{len(report['method_order']) + 1} versions")
        seg_report, seg_figure = study.run(report)
    cli.echo(write_report(out_dir, report, figure))
    cli.echo(f"wrote report.json, report.md and comparison.png to {out_dir}")
    if study is not None:
        cli.echo(write_segmentation(out_dir, seg_report, seg_figure))
        cli.echo(f"wrote segmentation.json, segmentation.md and segmentation.png to {out_dir}")


if __name__ == "__main__":
    main()
