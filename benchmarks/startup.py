"""Start-up cost of the CLIs: ``--help`` wall time, and time from the command to the first training step.

``python benchmarks/startup.py [--repeats 3] [--skip-training]``

- ``--help``: wall time of ``python -m <cli> --help`` for every CLI of the
  three packages and ``data`` (median and minimum of ``--repeats``). The
  goal of issue 11 is <= 1 s: no TensorFlow import before it is needed.
- first step: each trainer with its default (faithful) networks and data,
  one epoch of one step, ``--log-every 1``, in a fresh temporary folder.
  ``fit_start_s`` = command to the scaffold's ``training: epoch ..`` log line
  (printed just before ``fit``: TensorFlow imported, data read, model built,
  checkpoint state made); ``first_step_done_s`` = command to the wall time of
  the first ``batch_*`` TensorBoard scalar (written after step 1, which
  includes tracing the step function). ``msrgan.train`` gets an untrained
  miniVGG19 (built and saved here, outside the timing) for its content loss.

Prints one line per measurement and one JSON line each
(``{"benchmark": "help", ...}`` / ``{"benchmark": "first_step", ...}``).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIS = (
    "data.prepare",
    "vgg19.train", "vgg19.evaluate", "vgg19.export",
    "msrgan.train", "msrgan.evaluate", "msrgan.predict", "msrgan.export",
    "cyclegan_dct.train", "cyclegan_dct.generate", "cyclegan_dct.stego", "cyclegan_dct.evaluate",
    "cyclegan_dct.ablate", "cyclegan_dct.export",
)
TRAINERS = {
    "vgg19.train": [],
    "msrgan.train": ["--log-every", "1"],
    "cyclegan_dct.train": [],
}


def available_clis():
    return [m for m in CLIS if os.path.isfile(os.path.join(ROOT, *m.split(".")) + ".py")]


def time_help(module, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise RuntimeError(f"{module} --help exited with {res.returncode}: {res.stderr[-500:]}")
    return {"benchmark": "help", "cli": module, "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3), "repeats": repeats, "tensorflow_imported": None}


def tensorflow_imported(module):
    """Whether ``--help`` of ``module`` imports TensorFlow (checked in a child process via ``sys.modules``)."""
    code = ("import runpy, sys\nsys.argv = [%r, '--help']\ntry:\n    runpy.run_module(%r, run_name='__main__')\n"
            "except SystemExit:\n    pass\nprint('TF' if 'tensorflow' in sys.modules else 'NOTF', file=sys.stderr)"
            % (module, module))
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    return res.stderr.strip().splitlines()[-1] == "TF"


def untrained_vgg(path):
    sys.path.insert(0, ROOT)
    from data.cli.quiet import import_tensorflow

    import_tensorflow()
    from vgg19.model import build_model

    build_model().save(path)  # the faithful miniVGG19 (64 base filters, 4096 dense units), untrained


def first_batch_event_time(logdir):
    sys.path.insert(0, ROOT)
    from data.cli.quiet import import_tensorflow

    tf = import_tensorflow()

    times = []
    for f in glob.glob(os.path.join(logdir, "train", "*tfevents*")):
        for event in tf.data.TFRecordDataset(f).as_numpy_iterator():
            event = tf.compat.v1.Event.FromString(event)
            if any(v.tag.startswith("batch_") for v in event.summary.value):
                times.append(event.wall_time)
    return min(times) if times else None


def time_first_step(module, extra, workdir):
    backup, logdir = os.path.join(workdir, "backup"), os.path.join(workdir, "logs")
    args = [sys.executable, "-m", module, "--epochs", "1", "--steps-per-epoch", "1", "--backup-dir", backup,
            "--logdir", logdir, *extra]
    if module == "cyclegan_dct.train":
        args += ["--epochs-decay", "0"]
    fit_start = []
    t0_wall, t0 = time.time(), time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def read():
        for line in proc.stdout:
            if "training: epoch" in line and not fit_start:
                fit_start.append(time.perf_counter() - t0)

    reader = threading.Thread(target=read)
    reader.start()
    code = proc.wait()
    reader.join()
    total = time.perf_counter() - t0
    if code != 0:
        raise RuntimeError(f"{' '.join(args)} exited with {code}")
    first = first_batch_event_time(logdir)
    return {"benchmark": "first_step", "trainer": module, "fit_start_s": round(fit_start[0], 2) if fit_start else None,
            "first_step_done_s": round(first - t0_wall, 2) if first else None, "process_s": round(total, 2),
            "args": args[3:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="--help runs per CLI")
    parser.add_argument("--skip-training", action="store_true", help="only the --help timings")
    parser.add_argument("--out", help="also write the results as JSON here")
    opts = parser.parse_args()
    results = []
    for module in available_clis():
        r = time_help(module, opts.repeats)
        r["tensorflow_imported"] = tensorflow_imported(module)
        print(f"{module:24s} --help  median {r['median_s']:.2f} s  min {r['min_s']:.2f} s  "
              f"TensorFlow imported: {r['tensorflow_imported']}", flush=True)
        results.append(r)
    if not opts.skip_training:
        for module, extra in TRAINERS.items():
            with tempfile.TemporaryDirectory(prefix="startup-") as work:
                if module == "msrgan.train":
                    vgg = os.path.join(work, "minivgg19.keras")
                    untrained_vgg(vgg)
                    extra = [*extra, "--vgg-weights", vgg]
                r = time_first_step(module, extra, work)
            print(f"{module:24s} fit starts {r['fit_start_s']} s, first step done {r['first_step_done_s']} s, "
                  f"process {r['process_s']} s", flush=True)
            results.append(r)
    for r in results:
        print(json.dumps(r))
    if opts.out:
        with open(opts.out, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
