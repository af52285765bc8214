"""``--strategy multiworker``: two worker processes on 127.0.0.1 (``scripts/launch_workers.py``) against one process.

Each trainer runs a tiny network for 2 epochs of 2 steps as a 2-worker
cluster and as a single process with the same global batch and seed. The
epoch losses must agree within ``RTOL`` (float32: each worker sums its half
of the batch and the halves are then all-reduced, a different summation order
than one process's; measured differences are ~1e-6 relative). A wrong
update (half the batch, gradients summed twice, unsynchronised BatchNorm)
moves the second epoch's losses by far more: the learning rates are raised so
that each step changes the loss visibly. Only the chief's folders may be
written; the workers' temporary checkpoint copies must be gone. Every worker
runs in its own process group and is stopped in ``finally``.

The one-process reference is a plain run (``--strategy default``, the
trainers' default). Under a ``tf.distribute`` strategy Keras draws a batch from
a first iterator to build the model; the training sets give every iterator the
same sequence (a stateless shuffle per epoch, ``data.pipeline``), so that draw
does not move the training order. With ``Dataset.shuffle``'s reshuffle per
iterator it did, and by timing: each worker started from one of two
permutations, in about half of the mSRGAN launches.

The CycleGAN runs on 64 px crops and has a looser tolerance after its first
epoch (``RTOL_CYCLEGAN_LATER``). Its generators' convolutions feed instance
normalisation, which cancels their biases: their exact gradient is 0, the
computed one is round-off, and Adam's normalised step turns it into +-lr with a
round-off sign (after two steps these biases differ by up to 5e-4 between one
replica of 4 images and two of 2). That is invisible while the input has
structure, so at 64 px the losses agree to 2.5e-6 after the first update and
9e-5 after the fourth (measured, worst tag). On a constant input (an empty
mask) instance normalisation scales that round-off up layer after layer: at
32 px, where 55 % of the random masks are empty, even one process trained
with 1 and then 2 threads differs by 16 % in g_a2b_gan at step 3. No mask
was empty in 400 draws at 64 px.
"""

import json
import os
import signal
import subprocess
import sys

import pytest

from conftest import KILL_SCRIPT, ROOT, run_cli

LAUNCHER = ROOT / "scripts" / "launch_workers.py"
SIGNAL_SCRIPT = ROOT / "tests" / "signal_at_step.py"
RTOL = 1e-4
RTOL_CYCLEGAN_LATER = 1e-3  # epochs after the first (module docstring)
THREADS = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
TIMEOUT = 900
# starts TensorFlow clusters in subprocesses; the launcher's own time limit comes before the test's
pytestmark = [pytest.mark.slow, pytest.mark.timeout(TIMEOUT + 120)]

VGG = ("vgg19.train", ["--image-size", "32", "--base-filters", "4", "--dense-units", "8", "--demo-n", "100",
                       "--batch-size", "8", "--lr", "1e-2", "--epochs", "2", "--steps-per-epoch", "2", "--seed", "3"])
MSRGAN = ("msrgan.train", ["--n-blocks", "1", "--filters", "8", "--d-filters", "4", "--dense-units", "8",
                           "--image-size", "32", "--batch-size", "4", "--demo-n", "40", "--steps-per-epoch", "2",
                           "--val-steps", "1", "--epochs", "2", "--beta", "0", "--pretrain-steps", "0",
                           "--dropout", "0", "--g-lr", "1e-2", "--d-lr", "1e-2", "--seed", "1"])
CYCLEGAN = ("cyclegan_dct.train", ["--crop", "64", "--n-blocks", "1", "--filters", "4", "--batch-size", "4",
                                   "--steps-per-epoch", "2", "--epochs", "2", "--epochs-decay", "0", "--seed", "2"])


def launch(module, args, tmp_path, restarts=0, kill_after=None, signal_at=None, **env):
    """``launch_workers.py --workers 2 -- python -m module args --strategy multiworker``; returns (code, out, err).

    ``kill_after``: under ``tests/kill_after_checkpoint.py`` with that spec; ``signal_at``: under
    ``tests/signal_at_step.py`` (``"STEP@WORKER"``: SIGTERM to that worker at the end of that step)."""
    wrapper = ["-m"]
    if kill_after is not None:
        wrapper = [str(KILL_SCRIPT), kill_after]
    elif signal_at is not None:
        wrapper = [str(SIGNAL_SCRIPT), signal_at]
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), TMPDIR=str(tmp), **THREADS, **env)
    cmd = [sys.executable, str(LAUNCHER), "--workers", "2", "--threads", "1", "--timeout", str(TIMEOUT - 60),
           "--restarts", str(restarts), "--log-dir", str(tmp_path / "worker_logs"), "--",
           sys.executable, *wrapper, module, *args,
           "--strategy", "multiworker"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:  # the launcher stops its workers on SIGTERM
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return proc.returncode, out, err


def dirs(base, module):
    args = ["--backup-dir", str(base / "backup"), "--logdir", str(base / "logs")]
    return args + (["--result-dir", str(base / "result")] if module == "msrgan.train" else [])


def files(base):
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and "tfevents" not in p.name)


def events(base):
    return sorted(str(p.parent.relative_to(base)) for p in base.rglob("*tfevents*"))


def losses(base):
    """Every epoch's loss scalars in TensorBoard: ``{(folder, tag, step): value}``."""
    from conftest import read_events

    out = {}
    for folder in ("train", "validation"):
        for tag, values in read_events(base / "logs" / folder).items():
            if tag.startswith("epoch_") and ("loss" in tag or tag.startswith(("epoch_d_", "epoch_g_"))):
                out.update({(folder, tag, step): v for step, v in values})
    return out


def assert_equal_to_one_process(module, args, mw, one, tmp_path, epochs=2):
    """The 2-worker run in ``mw`` (done) against one plain process run here into ``one``: the same files, only
    the chief's, no worker copies left, every epoch's losses within the tolerances (module docstring)."""
    steps = 2 * epochs
    # the reference: one plain process with the whole global batch (see the module docstring)
    single = run_cli(module, args + dirs(one, module), timeout=TIMEOUT, **THREADS)
    assert single.returncode == 0, single.stderr[-3000:]
    assert f"done: epoch {epochs}, step {steps}" in single.stdout
    assert (mw / "backup" / "ckpt" / f"ckpt-{steps}.index").is_file()  # ckpt-<global step>
    # only the chief wrote: the same files as one process (TensorBoard files compared by folder), no worker copies
    assert files(mw) == files(one)
    assert events(mw) == events(one)
    assert [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("ganmicro-")] == []
    a, b = losses(mw), losses(one)
    assert a.keys() == b.keys() and a
    first = min(step for _, _, step in a)  # the first epoch: its steps include the first update
    later = RTOL_CYCLEGAN_LATER if module == "cyclegan_dct.train" else RTOL
    off = {k: (a[k], b[k]) for k in a if a[k] != pytest.approx(b[k], rel=RTOL if k[2] == first else later, abs=1e-6)}
    assert not off, off


@pytest.mark.parametrize("trainer", [MSRGAN, CYCLEGAN], ids=["msrgan", "cyclegan_dct"])
def test_two_workers_equal_one_process(tmp_path, trainer):
    """(vgg19: in ``test_sigterm_to_one_worker_then_to_the_chief_resumes_exactly``, on its uninterrupted run.)"""
    module, args = trainer
    mw = tmp_path / "mw"
    code, out, err = launch(module, args + dirs(mw, module), tmp_path)
    assert code == 0, out[-2000:] + err[-4000:]
    assert "done: epoch 2, step 4" in out
    assert_equal_to_one_process(module, args, mw, tmp_path / "one", tmp_path)


def test_killed_workers_restart_cluster_from_last_checkpoint(tmp_path):
    """Worker 1 dies (exit 137) right after checkpoint 1, then the chief right after checkpoint 2; each time the
    launcher restarts both workers, which resume from the last checkpoint and finish the 3 epochs."""
    module, args = CYCLEGAN
    args = args + ["--epochs", "3"]  # the last value of an option wins
    run = tmp_path / "mw"
    code, out, err = launch(module, args + dirs(run, module), tmp_path, restarts=2,
                            kill_after="1@1,2@0")
    assert code == 0, out[-2000:] + err[-4000:]
    assert "worker 1 exited with status 137" in err and "worker 0 exited with status 137" in err
    assert err.count("restarting all 2 workers") == 2
    assert "epoch 1 done, step 2" in err and "epoch 2 done, step 4" in err
    assert "done: epoch 3, step 6" in out
    assert (run / "backup" / "ckpt" / "ckpt-6.index").is_file()
    assert [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("ganmicro-")] == []


def _final_state(base):
    """Every tensor of the last checkpoint but the save counter (which counts the saves)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(base / "backup" / "ckpt")))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if not k.startswith(("save_counter", "_CHECKPOINTABLE"))}


def test_sigterm_to_one_worker_then_to_the_chief_resumes_exactly(tmp_path):
    """Issue 25: SIGTERM to worker 1 at step 3, then (resumed) to the chief at step 5: every worker stops at that
    step, the chief saves ``ckpt-<step>``, the cluster exits 143 without a restart; the third launch finishes, with
    the very weights of an uninterrupted 2-worker run (bit for bit: the same collectives in the same order). That
    uninterrupted run is also vgg19's case of ``test_two_workers_equal_one_process``."""
    import numpy as np

    module, args = VGG
    args = args + ["--epochs", "3"]
    run, ref = tmp_path / "mw", tmp_path / "ref"
    log1 = tmp_path / "worker_logs" / "worker-1.log"
    code, out, err = launch(module, args + dirs(run, module), tmp_path, restarts=1, signal_at="3@1")
    assert code == 143, out[-2000:] + err[-4000:]
    assert "stopped by SIGTERM to another worker at step 3 (epoch 2, batch 1 of 2)" in err  # the chief
    assert "stopped by SIGTERM at step 3 (epoch 2, batch 1 of 2)" in log1.read_text()
    assert f"checkpoint {run / 'backup' / 'ckpt' / 'ckpt-3'} written" in log1.read_text()  # the chief's, not a copy
    assert "the cluster stopped with a checkpoint (status 143)" in err and "restarting" not in err
    assert sorted(p.name for p in (run / "backup" / "ckpt").glob("*.index")) == ["ckpt-3.index"]

    code, out, err = launch(module, args + dirs(run, module), tmp_path, signal_at="5@0")
    assert code == 143, out[-2000:] + err[-4000:]
    assert "resuming from" in err and "1 of 2 steps into epoch 2" in err
    assert "stopped by SIGTERM at step 5 (epoch 3, batch 1 of 2)" in err
    assert "stopped by SIGTERM to another worker at step 5" in log1.read_text()

    code, out, err = launch(module, args + dirs(run, module), tmp_path)
    assert code == 0 and "done: epoch 3, step 6" in out, out[-2000:] + err[-4000:]
    code, out, err = launch(module, args + dirs(ref, module), tmp_path)
    assert code == 0, out[-2000:] + err[-4000:]
    assert_equal_to_one_process(module, args, ref, tmp_path / "one", tmp_path, epochs=3)
    a, b = _final_state(run), _final_state(ref)
    assert a.keys() == b.keys() and a
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    assert [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("ganmicro-")] == []


def test_nan_guard_stops_every_worker_at_the_same_batch(tmp_path):
    """The logged losses are all-reduced, so both workers see g_loss = inf at batch 1 and stop; nothing is saved."""
    module, args = MSRGAN
    run = tmp_path / "mw"
    code, out, err = launch(module, args + dirs(run, module) + ["--alpha", "1e38"], tmp_path)
    assert code == 1, out[-2000:] + err[-4000:]
    message = "g_loss = inf at epoch 1, batch 1"
    assert message in err  # the chief's
    assert message in (tmp_path / "worker_logs" / "worker-1.log").read_text()
    assert not (run / "backup" / "ckpt").exists() and not list(run.rglob("*.keras"))


FAKE_SRUN = """#!/usr/bin/env python3
# srun stand-in: the command as FAKE_SRUN_TASKS tasks on this host, with a job step's SLURM variables
import os, subprocess, sys
args = sys.argv[1:]
while args[0].startswith("--"):  # srun's own options come before the command
    args.pop(0)
n = int(os.environ["FAKE_SRUN_TASKS"])
step = dict(SLURM_STEP_NUM_TASKS=str(n), SLURM_STEP_NODELIST="localhost", SLURM_STEP_TASKS_PER_NODE=str(n))
procs = [subprocess.Popen(args, env=dict(os.environ, SLURM_PROCID=str(i), **step)) for i in range(n)]
sys.exit(max(p.wait() for p in procs))
"""


def consecutive_free_ports(n):
    """A base port P with P .. P + n - 1 free on 127.0.0.1 (the SLURM layout: consecutive ports per node)."""
    import random
    import socket

    for _ in range(200):
        base = random.randrange(20000, 60000)
        socks = []
        try:
            for port in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no consecutive free ports")


def test_slurm_batch_script_runs_a_cpu_cluster(tmp_path):
    """``scripts/slurm_multiworker.sbatch`` under a stand-in ``srun`` (2 tasks on localhost): the cluster comes from
    the SLURM variables (no ``TF_CONFIG``), trains and checkpoints. TensorFlow's ``SlurmClusterResolver`` fails
    on nodes without GPUs (``data.engine.multiworker.slurm_cpu_resolver``)."""
    module, args = VGG
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text(FAKE_SRUN)
    (bin_dir / "srun").chmod(0o755)
    (tmp_path / "tmp").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG" and not k.startswith("SLURM_")}
    env.update(THREADS, PATH=f"{bin_dir}:{env['PATH']}", FAKE_SRUN_TASKS="2", PYTHONPATH=str(ROOT),
               TF_CPP_MIN_LOG_LEVEL="2", TMPDIR=str(tmp_path / "tmp"),
               GANMICRO_SLURM_PORT_BASE=str(consecutive_free_ports(2)))
    run = tmp_path / "mw"
    script = ROOT / "scripts" / "slurm_multiworker.sbatch"
    res = subprocess.run(["bash", str(script), sys.executable, "-m", module, *args, *dirs(run, module),
                          "--strategy", "multiworker"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert res.stdout.count("done: epoch 2, step 4") == 2  # both tasks finished
    assert (run / "backup" / "ckpt" / "ckpt-4.index").is_file()
    assert [p for p in (tmp_path / "tmp").iterdir() if p.name.startswith("ganmicro-")] == []
    usage = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage: sbatch" in usage.stderr


def test_slurm_cpu_resolver_layout(monkeypatch):
    """4 tasks on 2 nodes: hosts sorted, consecutive ports per node, this task = SLURM_PROCID; inconsistent = error."""
    from data.engine.multiworker import cluster_resolver

    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # no nvidia-smi: a CPU node
    step = dict(SLURM_PROCID="2", SLURM_STEP_NUM_TASKS="4", SLURM_STEP_NODELIST="node[03,02]",
                SLURM_STEP_TASKS_PER_NODE="2(x2)", GANMICRO_SLURM_PORT_BASE="9100")
    for k, v in step.items():
        monkeypatch.setenv(k, v)
    r = cluster_resolver()
    assert r.cluster_spec().as_dict() == {"worker": ["node02:9100", "node02:9101", "node03:9100", "node03:9101"]}
    assert (r.task_type, r.task_id) == ("worker", 2)
    monkeypatch.setenv("SLURM_STEP_NUM_TASKS", "3")
    with pytest.raises(ValueError, match="inconsistent"):
        cluster_resolver()
    monkeypatch.setenv("GANMICRO_SLURM_PORT_BASE", "http")
    with pytest.raises(ValueError, match="GANMICRO_SLURM_PORT_BASE='http': not a port number"):
        cluster_resolver()


def test_multiworker_without_tf_config_is_a_one_line_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CONFIG", "SLURM_PROCID")}
    res = subprocess.run([sys.executable, "-m", "vgg19.train", "--demo-n", "26", "--strategy", "multiworker",
                          "--backup-dir",
                          str(tmp_path / "b"), "--logdir", str(tmp_path / "l")], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    assert "Error: --strategy multiworker: TF_CONFIG is not set" in res.stderr
    assert not (tmp_path / "b").exists()


def test_launcher_ports_and_tf_config():
    sys.path.insert(0, str(LAUNCHER.parent))
    try:
        import launch_workers
    finally:
        sys.path.pop(0)
    ports = launch_workers.free_ports(3)
    assert len(set(ports)) == 3
    config = json.loads(launch_workers.tf_config([f"127.0.0.1:{p}" for p in ports], 2))
    assert config["task"] == {"type": "worker", "index": 2}
    assert all(a.startswith("127.0.0.1:") for a in config["cluster"]["worker"])


def test_launcher_stops_all_workers_when_one_fails(tmp_path):
    """Worker 1 fails at once; worker 0 (which would sleep 300 s) is stopped, the failing status is returned."""
    code = ("import json, os, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']; "
            "sys.exit(3) if i == 1 else time.sleep(300)")
    res = subprocess.run([sys.executable, str(LAUNCHER), "--workers", "2", "--", sys.executable, "-c", code],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 3
    assert "worker 1 exited with status 3; stopping all workers" in res.stderr


def test_launcher_passes_a_signal_on_and_waits_for_the_save(tmp_path):
    """SIGUSR1 to the launcher reaches every worker; the stand-in workers "save" (worker 0 takes 2 s longer)
    and exit 138; the launcher waits for both (no SIGKILL, no restart) and exits 138."""
    code = ("import json, os, signal, sys, time; i = json.loads(os.environ['TF_CONFIG'])['task']['index']\n"
            f"def stop(*a):\n    time.sleep(2 if i == 0 else 0); open(r'{tmp_path}/saved-%d' % i, 'w').close()"
            "; sys.exit(138)\n"
            "signal.signal(signal.SIGUSR1, stop); open(r'%s/ready-%d' % (sys.argv[1], i), 'w').close()\n"
            "time.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), "--workers", "2", "--restarts", "2", "--",
                             sys.executable, "-c", code, str(tmp_path)], stderr=subprocess.PIPE, text=True)
    try:
        import time

        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{i}").exists() for i in range(2)) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGUSR1)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 138, err
    assert (tmp_path / "saved-0").exists() and (tmp_path / "saved-1").exists()  # the chief's save was not cut short
    assert "SIGUSR1 received; passed on to every worker" in err
    assert "the cluster stopped with a checkpoint (status 138)" in err and "restarting" not in err
