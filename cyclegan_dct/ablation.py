"""Ablation over the DCT cutoff: same budget, one model per cutoff and seed, one table and statistics over
seeds (the library of ``python -m cyclegan_dct.ablate``).

``python -m cyclegan_dct.ablate --cutoffs 1.0,0.75,0.5,0.25 [--out DIR] [train options]
[--models DIR1,DIR2,...] [--seeds 0,1,2]``

For each cutoff (1.0 = the vanilla CycleGAN, trained with ``--no-dct``) it
trains a model with ``python -m cyclegan_dct.train`` (a subprocess, so each run
starts from a clean TensorFlow state and precision policy; an interrupted
ablation resumes each training from its last checkpoint), or takes the already
trained ``--models`` (their cutoffs read from their ``config.json``), then runs
``cyclegan_dct.synthesis``, the steganography report (``cyclegan_dct.steganography``)
and the downstream StarDist evaluation (``cyclegan_dct.evaluation``) in this
process, through their Python functions. Writes
``OUT/ablation.json``, ``OUT/ablation.md``, ``OUT/ablation.png`` and ``OUT/variants.png`` (one stego panel row
per variant); the
per-cutoff outputs go to ``OUT/{models,logs,synthetic,stego,evaluation}/<name>``.
With ``--seeds 0,1,2`` every step of a (cutoff, seed) run uses that seed
(StarDist too), runs are named ``<name>_s<seed>``, finished runs are recorded in
``OUT/records/`` and skipped when an interrupted ablation is run again, and
``ablation.json`` adds ``runs``, ``summary`` and ``tests`` (:mod:`cyclegan_dct.stats`:
paired over seeds, ``scipy.stats.ttest_rel`` with the Wilcoxon p beside it).
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cyclegan_dct import stats
from cyclegan_dct.ablation_report import ablation_markdown, ablation_plot, ablation_row, variant_figure, wall_times
from cyclegan_dct.config import CycleGANConfig
from cyclegan_dct.domains import SIMULATED
from cyclegan_dct.downstream import arm_scores, downstream_markdown, downstream_tests, parse_arms
from cyclegan_dct.evaluation import run_evaluation
from cyclegan_dct.reference import reference, segmenter
from cyclegan_dct.steganography import run_stego
from cyclegan_dct.synthesis import generate
from data.io import write_json, write_text
from data.stardist_training import StarDistConfig

log = logging.getLogger(__name__)


def parse_cutoffs(text):
    """"1.0,0.75,0.5" -> [1.0, 0.75, 0.5]; each in (0, 1], no duplicates."""
    try:
        cutoffs = [float(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise ValueError(f"--cutoffs must be comma-separated numbers, got {text!r}") from e
    if not cutoffs:
        raise ValueError("--cutoffs is empty")
    bad = [c for c in cutoffs if not 0.0 < c <= 1.0]
    if bad:
        raise ValueError(f"--cutoffs must be in (0, 1], got {bad}")
    if len(set(cutoffs)) != len(cutoffs):
        raise ValueError(f"--cutoffs has duplicates: {text!r}")
    return cutoffs


def parse_seeds(text):
    """"0,1,2" -> [0, 1, 2]; integers, no duplicates."""
    try:
        seeds = [int(t) for t in str(text).split(",") if t.strip()]
    except ValueError as e:
        raise ValueError(f"--seeds must be comma-separated integers, got {text!r}") from e
    if not seeds:
        raise ValueError("--seeds is empty")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--seeds has duplicates: {text!r}")
    return seeds


def run_name(cutoff):
    """Folder name of a cutoff's run: ``vanilla`` for 1.0, else ``dct_<cutoff>``."""
    return "vanilla" if cutoff >= 1.0 else f"dct_{cutoff:g}"


def model_cutoff(model_dir):
    """The cutoff of a trained model folder (1.0 for a vanilla model), from its ``config.json``."""
    config = CycleGANConfig.load(Path(model_dir) / "config.json")
    return 1.0 if config.vanilla else float(config.dct_cutoff)


def model_domain_b(model_dir):
    """The ``--images`` (domain B) a trained model folder was trained on (None: stardist's image)."""
    return CycleGANConfig.load(Path(model_dir) / "config.json").images


def _run(cmd, what, log_file=None, threads=None, tag=None):
    """Run a CLI subprocess; raise ValueError naming the step (and the log) if it fails. Returns seconds.

    Its output is streamed, or with ``log_file`` appended there and logged line by line behind ``[tag]`` (runs in
    parallel stay apart); ``threads``: its TensorFlow intra-op threads."""
    log.info(f"[ablate] {what}: {' '.join(shlex.quote(c) for c in cmd)}" + (f" > {log_file}" if log_file else ""))
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": str(threads)} if threads else None
    t0 = time.perf_counter()
    if log_file is None:
        rc = subprocess.call(cmd, env=env)
    else:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        with open(log_file, "a") as f, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                        text=True, bufsize=1) as proc:
            for line in proc.stdout:
                f.write(line)
                f.flush()
                log.info("[%s] %s", tag or what, line.rstrip())
            rc = proc.wait()
    if rc != 0:
        raise ValueError(f"{what} failed with exit status {rc}" + (f" (its output: {log_file})" if log_file else "")
                         + f": {' '.join(shlex.quote(c) for c in cmd)}")
    return time.perf_counter() - t0


def train_in_parallel(commands, jobs):
    """Run the training ``commands`` ({name: (cmd, log file)}) ``jobs`` at a time, each with its share of the
    CPU cores as TensorFlow intra-op threads, its output in its log file and logged behind ``[name]``;
    {name: seconds}.

    Small trainings do not use 2 threads fully and spend tens of seconds starting up: the demo's two 1200-step
    stego trainings took 306-327 s at once on 2 cores against 183 + 215 s one after the other
    (docs/measurements.md).
    """
    threads = max(1, (os.cpu_count() or 1) // jobs)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(_run, cmd, f"training {name}", log_file, threads, name)
                   for name, (cmd, log_file) in commands.items()}
        return {name: f.result() for name, f in futures.items()}


def train_command(cutoff, model_dir, logdir, seed, train_options, extra_args=""):
    """The ``python -m cyclegan_dct.train`` command for one cutoff (1.0 -> ``--no-dct``)."""
    cmd = [sys.executable, "-m", "cyclegan_dct.train", "--backup-dir", str(model_dir), "--logdir", str(logdir),
           "--seed", str(seed)]
    cmd += ["--no-dct"] if cutoff >= 1.0 else ["--dct-cutoff", f"{cutoff:g}"]
    for k, v in train_options.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd + shlex.split(extra_args)


def run_ablation(out, cutoffs=None, models=None, seed=0, train_options=None, train_args="", n_synthetic=200,
                 size=256, stego_n=50, masks="cycled", eval_config=None, reuse=False, seeds=None,
                 also_unfiltered=False, only=None, downstream=True, test_sets=("stardist",), use_reference=None,
                 jobs=1):
    """Train (or take) one model per cutoff (and per seed of ``seeds``), then generate + stego + evaluate each
    with that seed (StarDist too); write the table, the plot, and over seeds the summary and paired tests.

    With several seeds, runs are named ``<name>_s<seed>`` and each finished run's row is kept in
    ``OUT/records/<name>.json``: an interrupted ablation, run again, skips the finished (cutoff, seed) runs.
    ``also_unfiltered``: for DCT models also train StarDist on G(m) (before the low-pass) with the same masks.
    ``only`` (run names, several seeds): process just those runs and record them, so that one ablation can be
    split over several processes or machines sharing ``out``; the tables are written once every run has a
    record (a last call without ``only`` collects them). Returns None while records are missing.
    ``downstream=False``: no synthetic pairs and no StarDist, only the steganography measures (the stego
    experiment's main question, at a fraction of the time). ``masks``: "cycled", "input" or "both" (the
    downstream arms, :mod:`cyclegan_dct.downstream`). ``test_sets``: names of
    :data:`cyclegan_dct.evaluation.TEST_SETS`, the first fills the F1/AP columns.
    ``use_reference`` (None: when the model's domain B is ``simulated``): per seed, a StarDist trained on
    labelled domain B (:mod:`cyclegan_dct.reference`) segments G(m) in the stego measures and is the
    downstream study's "labelled B" arm. ``jobs`` > 1: the runs to process are trained first, that many at once
    (:func:`train_in_parallel`; their output in ``OUT/logs/<name>/train.log``), then measured one by one.
    """
    out = Path(out)
    seeds = list(seeds) if seeds else [seed]
    eval_config = eval_config or StarDistConfig(seed=seeds[0])
    train_options = dict(train_options or {})
    arms = parse_arms(masks)
    test_sets = list(test_sets)
    runs = []
    for s_ in seeds:
        suffix = f"_s{s_}" if len(seeds) > 1 else ""
        if models:
            for m in models:
                runs.append((Path(m).name + suffix, model_cutoff(m), Path(m), s_))
        else:
            for c in cutoffs:
                runs.append((run_name(c) + suffix, c, out / "models" / (run_name(c) + suffix), s_))
    names = [r[0] for r in runs]
    if len(set(names)) != len(names):
        raise ValueError(f"run names must differ, got {names}")
    if only is not None:
        unknown = sorted(set(only) - set(names))
        if len(seeds) < 2 or unknown:
            raise ValueError(f"--only needs several --seeds and names among {names}, got {sorted(only)}")
    rows, references, trained = [], {}, {}
    if jobs > 1 and not models:
        trained = train_in_parallel({
            name: (train_command(cutoff, model_dir, out / "logs" / name, run_seed, train_options, train_args),
                   out / "logs" / name / "train.log")
            for name, cutoff, model_dir, run_seed in runs
            if not (len(seeds) > 1 and (out / "records" / f"{name}.json").is_file())
            and (only is None or name in only)}, jobs)
    for name, cutoff, model_dir, run_seed in runs:
        record = out / "records" / f"{name}.json"
        if len(seeds) > 1 and record.is_file():
            log.info(f"[ablate] {name}: finished earlier, reusing {record}")
            rows.append(json.loads(record.read_text()))
            continue
        if only is not None and name not in only:
            continue
        run_eval_config = eval_config.replace(seed=run_seed)
        times = {}
        if name in trained:
            times["train"] = trained[name]
        elif not models:
            cmd = train_command(cutoff, model_dir, out / "logs" / name, run_seed, train_options, train_args)
            times["train"] = _run(cmd, f"training {name}")
        ref = None
        if use_reference or (use_reference is None and model_domain_b(model_dir) == SIMULATED):
            if run_seed not in references:
                folder = out / "reference" / (f"s{run_seed}" if len(seeds) > 1 else "")
                references[run_seed] = reference(folder, run_eval_config, test_sets, model_domain_b(model_dir))
            ref = references[run_seed]
        syn = out / "synthetic" / name
        times["generate"] = 0.0
        if downstream and not (reuse and (syn / "summary.json").is_file()):
            log.info(f"[ablate] generating {n_synthetic} pairs with {name}")
            t0 = time.perf_counter()
            generate(model_dir, n=n_synthetic, out=syn, size=size, seed=run_seed, also_unfiltered=also_unfiltered)
            times["generate"] = time.perf_counter() - t0
        stego_json = out / "stego" / name / "stego.json"
        if reuse and stego_json.is_file():
            stego = json.loads(stego_json.read_text())
        else:
            log.info(f"[ablate] stego report {name}")
            stego = run_stego(model_dir, out / "stego" / name, n=stego_n, size=size, seed=run_seed,
                              segment=segmenter(ref[1]) if ref else None)
        evaluations = {}
        for arm in arms if downstream else ():
            folder = out / "evaluation" / (name if arm == arms[0] else f"{name}_{arm}")
            if reuse and (folder / "evaluation.json").is_file():
                evaluations[arm] = json.loads((folder / "evaluation.json").read_text())
                continue
            log.info(f"[ablate] StarDist evaluation {name}, {arm} masks")
            evaluations[arm] = run_evaluation(syn, folder, run_eval_config, masks=arm,
                                              label=name if arm == arms[0] else f"{name} {arm}", test_sets=test_sets)
        unfiltered = None
        if downstream and also_unfiltered and cutoff < 1.0:
            log.info(f"[ablate] StarDist evaluation {name} on G(m) before the low-pass")
            unfiltered = run_evaluation(syn, out / "evaluation" / f"{name}_unfiltered", run_eval_config,
                                        masks=arms[0], label=f"{name} G(m)", images_folder="images_unfiltered",
                                        test_sets=test_sets)
        rows.append({**ablation_row(name, cutoff, model_dir, times, stego, evaluations.get(arms[0]), unfiltered),
                     "seed": run_seed, "downstream": {a: arm_scores(e) for a, e in evaluations.items()} or None,
                     "reference": arm_scores(ref[0]) if ref else None})
        if len(seeds) > 1:
            write_json(record, rows[-1])
    if len(rows) < len(runs):
        log.info(f"[ablate] {len(rows)} of {len(runs)} runs recorded; the tables follow once all are")
        return None
    return write_report(out, rows, seeds, masks, eval_config, downstream, test_sets,
                        {"train_options": train_options, "train_args": train_args, "n_synthetic": n_synthetic,
                         "size": size, "stego_n": stego_n})


def write_report(out, rows, seeds, masks, eval_config, downstream, test_sets, settings):
    """``ablation.json``, ``ablation.md``, ``ablation.png`` and ``variants.png`` of the finished runs."""
    n_synthetic, size = settings["n_synthetic"], settings["size"]
    budget = (f"seeds {','.join(map(str, seeds))}; {n_synthetic} synthetic {size}x{size} pairs ({masks} masks); "
              f"StarDist {eval_config.epochs} epochs x {eval_config.steps_per_epoch} steps, "
              f"batch {eval_config.batch_size}, patch {eval_config.patch_size or 'fitted'}; test data "
              f"{', '.join(test_sets)}; CycleGAN budgets per row")
    if not downstream:
        budget = (f"seeds {','.join(map(str, seeds))}; stego measures on {settings['stego_n']} {size}x{size} masks, "
                  "no downstream")
    metrics = (*stats.REPORTED_METRICS, *stats.STEGO_METRICS)
    tested = (*stats.HEADLINE_METRICS, *stats.STEGO_METRICS) if downstream else tuple(stats.STEGO_METRICS)
    result = {"budget": budget, "seed": seeds[0], "seeds": seeds, **settings, "masks": masks,
              "test_sets": test_sets, "rows": rows, "runs": rows, "summary": stats.summarize(rows, metrics),
              "tests": stats.paired_tests(rows, tested), "wall_time_s": wall_times(rows),
              "downstream": downstream_tests(rows, test_sets) if len(seeds) > 1 else None,
              "tests_note": "paired over seeds: mean difference DCT - vanilla, 95 % t CI and BCa bootstrap CI, p of "
                            "scipy.stats.ttest_rel (primary) and exact Wilcoxon signed-rank p (cannot go below "
                            "2 / 2**n)"}
    ablation_plot(rows, out / "ablation.png")
    first = {}
    for r in rows:  # each variant's first seed: one row of its stego panel in variants.png
        if (out / "stego" / r["name"] / "stego.png").is_file():
            first.setdefault(stats.variant_name(r["cutoff"]), out / "stego" / r["name"])
    if first:
        variant_figure(first, out / "variants.png")
    md = ablation_markdown(rows, budget)
    if len(seeds) > 1:
        labels = {**stats.REPORTED_METRICS, **stats.STEGO_METRICS}
        md += ("\n## Over seeds\n\n" + result["tests_note"] + ".\n\n"
               + stats.tests_markdown(result["summary"], result["tests"], labels))
    if result["downstream"]:
        md += "\n## Downstream over seeds: StarDist trained on each arm\n\n" + downstream_markdown(result["downstream"])
    write_text(out / "ablation.md", md)
    write_json(out / "ablation.json", result)
    return result
