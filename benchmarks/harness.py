"""Shared benchmark harness: per-step times, the machine's conv/matmul peak, FLOP per step, peak memory.

Used by ``vgg19_train.py``, ``msrgan_train.py`` and ``cyclegan_train.py``. Each
configuration runs in its own worker process (a clean dtype policy, graph cache
and peak-RSS counter) which, in this order:

1. measures the peak (:func:`measure_peak`): best of 5 of ``tf.nn.conv2d``
   16x96x96x64 3x3 64->64 and 16x24x24x256 3x3 256->256 and ``tf.matmul``
   2048^3, in float32 and bfloat16 (eager CPU ops are synchronous, so the
   time of the call is the time of the kernel);
2. times training steps (:func:`time_steps`): the model's compiled
   ``train_function`` is called directly on an iterator the harness owns
   (``tf.data`` over fixed in-memory batches, repeated), ``warmup`` times
   untimed (tracing, oneDNN kernel selection), then ``steps`` times, each
   timed alone with ``time.perf_counter`` and finished by reading a loss back
   (``.numpy()``), so a step's time is its whole computation. No ``fit``, no
   callbacks, no per-call iterator;
3. reports (:func:`result`) the median and minimum step time, the FLOP per
   step (counted from the layers by ``benchmarks/flops.py``; the rule is there), the
   step's GFLOP/s as a fraction of the conv peak of the same precision
   (``float32`` -> fp32 peak, ``mixed_bfloat16`` -> bf16 peak; the conv peak is
   the faster of the two convolutions), the peak RSS, and the load average
   (the machine is shared: compare figures of one run only). Also by CPU time
   (``time.process_time``, all threads of the process): the step's GFLOP per
   CPU second against the peak kernels' (``fraction_of_peak_cpu``), a figure
   that other processes on the same cores disturb much less than wall time.

The parent prints one JSON line per configuration at the end (:func:`print_json_lines`).
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time

PEAK_REPEATS = 5


def peak_rss_mib():
    """Peak resident set size of this process in MiB (Linux ``ru_maxrss`` is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_average():
    """1-minute load average (a shared machine makes every figure noisy)."""
    return round(os.getloadavg()[0], 2)


def _best_gflops(fn, flop, repeats):
    """(GFLOP/s by wall time, GFLOP per CPU second), each the best of ``repeats`` calls."""
    fn()  # warm-up: kernel selection, allocation
    runs = [_timed(fn) for _ in range(repeats)]
    return flop / min(w for w, _ in runs) / 1e9, flop / min(c for _, c in runs) / 1e9


def _timed(fn):
    """(wall seconds, CPU seconds of this process) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w0, time.process_time() - c0


def measure_peak(repeats=PEAK_REPEATS):
    """GFLOP/s of the reference kernels, best of ``repeats``, per dtype; plus ``conv`` = the best conv.

    Returns ``{"float32": {"conv_96x64": .., "conv_24x256": .., "matmul_2048": .., "conv": ..,
    "conv_per_cpu_s": ..}, "bfloat16": {...}}``; ``conv_per_cpu_s`` is the best conv's GFLOP per
    CPU second of this process (all threads), which other processes on a shared machine disturb much
    less than wall time: compare it with a step's GFLOP per CPU second (``fraction_of_peak_cpu``).
    """
    import tensorflow as tf

    rng = tf.random.Generator.from_seed(0)
    out = {}
    for dtype in (tf.float32, tf.bfloat16):
        figures = {}
        for name, (n, s, c) in {"conv_96x64": (16, 96, 64), "conv_24x256": (16, 24, 256)}.items():
            x = tf.cast(rng.normal((n, s, s, c)), dtype)
            w = tf.cast(rng.normal((3, 3, c, c)) * 0.05, dtype)
            flop = 2.0 * n * s * s * 9 * c * c
            figures[name], figures[name + "_per_cpu_s"] = _best_gflops(
                lambda x=x, w=w: tf.nn.conv2d(x, w, 1, "SAME"), flop, repeats)
        a = tf.cast(rng.normal((2048, 2048)), dtype)
        b = tf.cast(rng.normal((2048, 2048)), dtype)
        figures["matmul_2048"], figures["matmul_2048_per_cpu_s"] = _best_gflops(
            lambda a=a, b=b: tf.matmul(a, b), 2.0 * 2048**3, repeats)
        figures["conv"] = max(figures["conv_96x64"], figures["conv_24x256"])
        figures["conv_per_cpu_s"] = max(figures["conv_96x64_per_cpu_s"], figures["conv_24x256_per_cpu_s"])
        out[dtype.name] = {k: round(v, 1) for k, v in figures.items()}
    return out


def peak_for(precision, peak):
    """The conv peak (GFLOP/s) that a step in ``precision`` is compared with."""
    return peak["bfloat16" if "bfloat16" in precision else "float32"]["conv"]


def fixed_batches(*arrays):
    """An owned, long-lived iterator repeating one in-memory batch (a tuple when several arrays)."""
    import tensorflow as tf

    data = arrays[0] if len(arrays) == 1 else tuple(arrays)
    return iter(tf.data.Dataset.from_tensors(data).repeat())


def time_steps(model, iterator, steps, warmup, jit_compile=None):
    """Per-step wall times (seconds) of ``steps`` calls of ``model.train_function`` after ``warmup`` calls.

    ``model`` must be compiled. ``jit_compile``: set ``model.jit_compile`` first (None keeps it).
    Returns ``(times, last_logs)`` with the logs as Python floats; ``times`` is a list of
    wall seconds with the CPU seconds of this process per step in ``times.cpu``.
    """
    if jit_compile is not None:
        model.jit_compile = bool(jit_compile)
    model.make_train_function(force=True)
    fn = model.train_function

    def one():
        logs = fn(iterator)
        return {k: float(v) for k, v in logs.items()}  # reading back waits for the whole step

    logs = None
    for _ in range(warmup):
        logs = one()
    times = StepTimes()
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        logs = one()
        times.append(time.perf_counter() - w0)
        times.cpu.append(time.process_time() - c0)
    return times, logs


def time_interleaved(entries, steps, warmup):
    """Per-step wall times of several compiled models timed in turn (A B A B ...) in this process.

    ``entries``: ``[(name, model, iterator)]``. Each model's ``train_function`` is made
    (honouring its ``jit_compile``) and warmed ``warmup`` times, then the models take one
    step each, in order, ``steps`` times: load from other processes falls on all of them alike,
    so their ratios are fair on a shared machine. Returns ``{name: (StepTimes, last_logs)}``.
    """
    fns = {}
    for name, model, iterator in entries:
        model.make_train_function(force=True)
        fns[name] = (model.train_function, iterator)

    def one(name):
        fn, iterator = fns[name]
        return {k: float(v) for k, v in fn(iterator).items()}

    out = {name: (StepTimes(), None) for name, _, _ in entries}
    for name in fns:
        for _ in range(warmup):
            one(name)
    for _ in range(steps):
        for name in fns:
            w0, c0 = time.perf_counter(), time.process_time()
            logs = one(name)
            times = out[name][0]
            times.append(time.perf_counter() - w0)
            times.cpu.append(time.process_time() - c0)
            out[name] = (times, logs)
    return out


def pipeline_rate(dataset, batches=20, warmup=2):
    """Batches per second that ``dataset`` (the trainer's real ``tf.data`` input) delivers, alone in this process.

    Compare with the step's consumption (1 / median step time): the pipeline must not be the
    bottleneck, i.e. ``pipeline_rate * median_step_s >= 10`` (``input_headroom`` in the results).
    """
    it = iter(dataset)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    return batches / (time.perf_counter() - t0)


class StepTimes(list):
    """Wall seconds per step; ``.cpu``: CPU seconds of the process per step."""

    def __init__(self):
        super().__init__()
        self.cpu = []


def result(benchmark, precision, times, gflop_per_step, peak, **extra):
    """The figures of one configuration (the keys of the final JSON line first)."""
    median = statistics.median(times)
    peak_gflops = peak_for(precision, peak)
    return {
        "benchmark": benchmark,
        "precision": precision,
        "median_step_s": round(median, 4),
        "min_step_s": round(min(times), 4),
        "steps": len(times),
        "gflop_per_step": round(gflop_per_step / 1e9, 1),
        "peak_gflops": peak_gflops,
        "fraction_of_peak": round(gflop_per_step / 1e9 / median / peak_gflops, 3),
        "peak_rss_mib": round(peak_rss_mib(), 0),
        "step_times_s": [round(t, 4) for t in times],
        **_cpu_figures(times, gflop_per_step, precision, peak),
        "peak": peak,
        "load_avg_1min": load_average(),
        **extra,
    }


def _cpu_figures(times, gflop_per_step, precision, peak):
    """Median CPU seconds per step and GFLOP per CPU second against the peak's (less disturbed by other load)."""
    cpu = getattr(times, "cpu", None)
    if not cpu:
        return {}
    median_cpu = statistics.median(cpu)
    per_cpu = peak["bfloat16" if "bfloat16" in precision else "float32"].get("conv_per_cpu_s")
    out = {"median_step_cpu_s": round(median_cpu, 3), "step_cpu_times_s": [round(t, 3) for t in cpu]}
    if per_cpu and median_cpu > 0:
        out["peak_gflops_per_cpu_s"] = per_cpu
        out["fraction_of_peak_cpu"] = round(gflop_per_step / 1e9 / median_cpu / per_cpu, 3)
    return out


def spawn(script, args):
    """Run ``script ARGS`` in a fresh interpreter; returns the dict its worker printed with :func:`emit`."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))
    cmd = [sys.executable, os.path.abspath(script), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = [s for s in proc.stdout.splitlines() if s.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def emit(result_dict):
    """Worker side: hand a result to the parent."""
    print("RESULT " + json.dumps(result_dict), flush=True)


JSON_KEYS = ("benchmark", "precision", "median_step_s", "min_step_s", "steps", "gflop_per_step", "peak_gflops",
             "fraction_of_peak", "peak_rss_mib")


def summary_line(r):
    """One human-readable line of a result."""
    return (f"{r['benchmark']:<28} {r['precision']:<15} median {r['median_step_s']:.3f} s  "
            f"min {r['min_step_s']:.3f} s  ({r['steps']} steps)  {r['gflop_per_step']:.1f} GFLOP/step = "
            f"{r['gflop_per_step'] / r['median_step_s']:.0f} GFLOP/s = {100 * r['fraction_of_peak']:.1f} % of "
            f"{r['peak_gflops']:.0f} GFLOP/s conv peak; "
            f"by CPU time {100 * r.get('fraction_of_peak_cpu', float('nan')):.1f} %; "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB; load {r['load_avg_1min']}")


EXTRA_KEYS = ("jit_compile", "norm", "variant", "ratio_to_first", "input_batches_per_s", "input_headroom",
              "median_step_cpu_s", "fraction_of_peak_cpu", "load_avg_1min")


def print_json_lines(results, extra_keys=EXTRA_KEYS):
    """The final lines: one JSON object per configuration with the agreed keys (plus ``extra_keys``)."""
    for r in results:
        print(json.dumps({k: r[k] for k in (*JSON_KEYS, *extra_keys) if k in r}), flush=True)
