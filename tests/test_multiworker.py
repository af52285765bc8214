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


def launch(module, args, tmp_path, restarts=0, kill_after=None, **env):
    """``launch_workers.py --workers 2 -- python -m module args --strategy multiworker``; returns (code, out, err)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(ROOT), TMPDIR=str(tmp), **THREADS, **env)
    cmd = [sys.executable, str(LAUNCHER), "--workers", "2", "--threads", "1", "--timeout", str(TIMEOUT - 60),
           "--restarts", str(restarts), "--log-dir", str(tmp_path / "worker_logs"), "--",
           sys.executable, *(["-m"] if kill_after is None else [str(KILL_SCRIPT), kill_after]), module, *args,
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


@pytest.mark.parametrize("trainer", [VGG, MSRGAN, CYCLEGAN], ids=["vgg19", "msrgan", "cyclegan_dct"])
def test_two_workers_equal_one_process(tmp_path, trainer):
    module, args = trainer
    mw, one = tmp_path / "mw", tmp_path / "one"
    code, out, err = launch(module, args + dirs(mw, module), tmp_path)
    assert code == 0, out[-2000:] + err[-4000:]
    # the reference: one plain process with the whole global batch (see the module docstring)
    single = run_cli(module, args + dirs(one, module), timeout=TIMEOUT, **THREADS)
    assert single.returncode == 0, single.stderr[-3000:]
    assert "done: epoch 2, step 4" in out and "done: epoch 2, step 4" in single.stdout
    assert (mw / "backup" / "ckpt" / "ckpt-4.index").is_file()  # ckpt-<global step>
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
    res = subprocess.run([sys.executable, "-m", "vgg19.train", "--strategy", "multiworker", "--backup-dir",
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
