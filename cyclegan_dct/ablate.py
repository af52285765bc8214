"""``python -m cyclegan_dct.ablate`` (console script ``cyclegan-dct-ablate``): ablation over the DCT cutoff.

The work is done by :func:`cyclegan_dct.ablation.run_ablation` (see its module for the protocol).
StarDist options are those of ``cyclegan_dct.evaluate`` with an ``--sd-`` prefix, declared once
(:class:`cyclegan_dct.config.StarDistConfig`).
"""

from __future__ import annotations

from pathlib import Path

import click

from cyclegan_dct.config import PRESETS
from data import cli
from data.engine.config import PRECISIONS
from data.stardist_training import StarDistConfig


@cli.command()
@click.option("--cutoffs", default="1.0,0.75,0.5,0.25", help="Comma-separated; 1.0 = vanilla.")
@click.option("--models", default=None, help="Comma-separated trained model folders to use instead of training.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("result/cyclegan_dct/ablation"))
@cli.seed_option(0, "Same seed for every run (unless --seeds).")
@click.option("--seeds", default=None, help="Comma-separated seeds, one run per (cutoff, seed), e.g. 0,1,2 "
                                            "[default: --seed].")
@click.option("--epochs", type=int, default=None, help="Passed to cyclegan_dct.train [its default].")
@click.option("--epochs-decay", type=int, default=None, help="Passed to cyclegan_dct.train.")
@click.option("--steps-per-epoch", type=int, default=None, help="Passed to cyclegan_dct.train.")
@click.option("--crop", type=int, default=None, help="Passed to cyclegan_dct.train.")
@click.option("--n-blocks", type=int, default=None, help="Passed to cyclegan_dct.train.")
@click.option("--filters", type=int, default=None, help="Passed to cyclegan_dct.train.")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None, help="Passed to cyclegan_dct.train.")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
              help="Passed to cyclegan_dct.train (e.g. stego: the steganography experiment's setting).")
@click.option("--train-args", default="",
              help="Further cyclegan_dct.train options, quoted, e.g. '--lambda-identity 0.5'.")
@click.option("--n-synthetic", type=int, default=200, help="Pairs generated per model.")
@click.option("--size", type=int, default=256, help="Size of generated pairs and stego masks.")
@click.option("--stego-n", type=int, default=50, help="Masks in the stego report.")
@click.option("--masks", type=click.Choice(["cycled", "input", "both"]), default="cycled",
              help="Downstream arms: StarDist on (G(m), F(G(m))) (cycled), on (G(m), m) (input), or both "
                   "[default: cycled].")
@cli.config_options(StarDistConfig, StarDistConfig.CLI_FIELDS, prefix="sd")
@click.option("--sd-patch-size", "sd_patch_size", type=click.IntRange(min=1),
              default=StarDistConfig.default("patch_size"),
              help="StarDist training patch [default: the largest multiple of 16 that fits the smallest "
                   "synthetic image, at most 256].")
@click.option("--also-unfiltered", is_flag=True,
              help="DCT runs: also train StarDist on G(m) before the low-pass (f1_unfiltered, ap_unfiltered).")
@click.option("--only", default=None,
              help="With --seeds: process only these comma-separated runs (e.g. vanilla_s1,dct_0.5_s1) and record "
                   "them, to split an ablation over processes/machines sharing --out; the tables come once all "
                   "runs are recorded.")
@click.option("--reuse", is_flag=True, help="Reuse existing generate/stego/evaluation outputs under --out.")
@click.option("--test-data", default="stardist",
              help="StarDist test sets, comma-separated, the first fills the F1/AP columns: stardist (its real "
                   "nuclei image), simulated (50 held-out simulated domain-B fields, exact labels) "
                   "[default: stardist].")
@click.option("--reference/--no-reference", "use_reference", default=None,
              help="Per seed, a StarDist trained on labelled domain B: segments G(m) in the stego measures and is "
                   "the downstream 'labelled B' arm [default: when domain B is --images simulated].")
@click.option("--downstream/--no-downstream", default=True,
              help="Generate synthetic pairs and train StarDist on them [default: yes]; --no-downstream: only the "
                   "steganography measures.")
@click.option("--jobs", type=click.IntRange(min=1), default=1,
              help="Train this many models at once, each on its share of the CPU cores (output in "
                   "OUT/logs/<run>/train.log), then measure them one by one [default: 1].")
@cli.verbose_option
@cli.one_line_errors
def main(cutoffs, models, out, seed, seeds, train_args, n_synthetic, size, stego_n, masks, reuse, also_unfiltered,
         only, downstream, test_data, use_reference, jobs, **options):
    """Train/take one CycleGAN per DCT cutoff, then generate, stego and evaluate each; one table and plot."""
    from cyclegan_dct.ablation import parse_cutoffs, parse_seeds, run_ablation
    from cyclegan_dct.ablation_report import ablation_markdown
    from cyclegan_dct.evaluation import parse_test_sets

    eval_config = cli.pop_config(StarDistConfig, options, (*StarDistConfig.CLI_FIELDS, "patch_size"), prefix="sd",
                                 seed=seed)
    model_list = [m for m in (models or "").split(",") if m.strip()]
    for m in model_list:
        if not Path(m).is_dir():
            raise ValueError(f"{m}: model folder does not exist")
    result = run_ablation(out, cutoffs=None if model_list else parse_cutoffs(cutoffs), models=model_list or None,
                          seed=seed, train_options=options, train_args=train_args, n_synthetic=n_synthetic,
                          size=size, stego_n=stego_n, masks=masks, eval_config=eval_config, reuse=reuse,
                          seeds=parse_seeds(seeds) if seeds else None, also_unfiltered=also_unfiltered,
                          only=[n.strip() for n in only.split(",") if n.strip()] if only else None,
                          downstream=downstream, test_sets=parse_test_sets(test_data), use_reference=use_reference,
                          jobs=jobs)
    if result is None:
        cli.echo(f"recorded {only} in {out / 'records'}; run again without --only once every run is recorded")
        return
    cli.echo(ablation_markdown(result["rows"], result["budget"]), nl=False)


if __name__ == "__main__":
    main()
