"""Preemption and exact resume (issue 25): a trainer stopped by SIGTERM / SIGINT / SIGUSR1 at any step writes a
checkpoint there, exits 128 + signum with one line, and the same command resumes to the very weights of an
uninterrupted run; ``--checkpoint-every`` does the same for a crash between epoch ends.

The runs are in-process (click's runner): the signal is a real one, sent to this process at a chosen global step
(seeded) by wrapping the checkpoint callback, and handled by the engine's handler.
"""

import os
import random
import signal

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

from data.engine.checkpoint import CheckpointCallback, TrainingState
from data.engine.preemption import StopRequest

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("GANMICRO_SIGNAL_SEED", "0"))

VGG = ["--image-size", "32", "--base-filters", "4", "--dense-units", "16", "--batch-size", "4", "--demo-n", "130",
       "--epochs", "3", "--steps-per-epoch", "4", "--augment"]
MSRGAN = ["--n-blocks", "1", "--filters", "8", "--d-filters", "4", "--dense-units", "8", "--image-size", "32",
          "--batch-size", "2", "--demo-n", "40", "--steps-per-epoch", "3", "--val-steps", "1", "--epochs", "3",
          "--pretrain-steps", "4", "--beta", "0", "--dropout", "0.3"]
SRCNN = ["--model", "srcnn", "--epochs", "3", "--steps-per-epoch", "3", "--batch-size", "2", "--image-size", "32",
         "--demo-n", "40", "--val-steps", "1"]
CYCLEGAN = ["--crop", "32", "--n-blocks", "1", "--filters", "4", "--steps-per-epoch", "3", "--epochs", "2",
            "--epochs-decay", "1", "--image-every", "100"]
TRAINERS = {"vgg19": VGG, "msrgan": MSRGAN, "srcnn": SRCNN, "cyclegan_dct": CYCLEGAN}


def _main(trainer):
    import importlib

    return importlib.import_module(f"{'msrgan' if trainer == 'srcnn' else trainer}.train").main


def _run(trainer, folder, extra=()):
    args = [*TRAINERS[trainer], "--backup-dir", str(folder / "run"), "--logdir", str(folder / "logs"), *extra]
    return CliRunner().invoke(_main(trainer), args)


def _state(folder):
    """Every saved tensor of the latest checkpoint but the save counter (which counts the saves)."""
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder / "run" / "ckpt")))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if not k.startswith(("save_counter", "_CHECKPOINTABLE"))}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.fixture
def signal_at(monkeypatch):
    """``signal_at(signum, steps)``: this process gets ``signum`` at the end of each global step in ``steps``."""
    def arm(signum, steps):
        original = CheckpointCallback.on_train_batch_end

        def signalled(self, batch, logs=None):
            if int(np.asarray(self.step())) in steps:
                os.kill(os.getpid(), signum)
            original(self, batch, logs)

        monkeypatch.setattr(CheckpointCallback, "on_train_batch_end", signalled)
        return lambda: monkeypatch.setattr(CheckpointCallback, "on_train_batch_end", original)

    return arm


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """Each trainer's uninterrupted run, once: {trainer: final checkpoint tensors}."""
    done = {}

    def get(trainer):
        if trainer not in done:
            folder = tmp_path_factory.mktemp(f"{trainer}_whole")
            res = _run(trainer, folder)
            assert res.exit_code == 0, res.output
            done[trainer] = _state(folder)
        return done[trainer]

    return get


@pytest.mark.parametrize("trainer", list(TRAINERS))
def test_sigterm_at_a_random_step_then_resume_equals_the_uninterrupted_run(trainer, tmp_path, signal_at,
                                                                           uninterrupted):
    total = 12 if trainer == "vgg19" else 9
    step = random.Random(f"{SEED}-{trainer}").randint(1, total - 1)
    disarm = signal_at(signal.SIGTERM, {step})
    stopped = _run(trainer, tmp_path)
    disarm()
    assert stopped.exit_code == 143, (step, stopped.output)
    line = stopped.output.strip().splitlines()[-1]
    assert line.startswith(f"stopped by SIGTERM at step {step} ") and "the same command resumes" in line, line
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "ckpt")).endswith(f"ckpt-{step}")
    resumed = _run(trainer, tmp_path)
    assert resumed.exit_code == 0, resumed.output
    _assert_same_state(_state(tmp_path), uninterrupted(trainer))  # bitwise: same batches, dropout, pools


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGUSR1])
def test_sigint_and_sigusr1_stop_the_same_way(signum, tmp_path, signal_at, uninterrupted):
    disarm = signal_at(signum, {5})
    stopped = _run("vgg19", tmp_path)
    disarm()
    assert stopped.exit_code == 128 + signum and f"stopped by {signal.Signals(signum).name} at step 5" in stopped.output
    assert _run("vgg19", tmp_path).exit_code == 0
    _assert_same_state(_state(tmp_path), uninterrupted("vgg19"))


def test_a_second_signal_during_the_checkpoint_write_changes_nothing(tmp_path, signal_at, monkeypatch,
                                                                      uninterrupted):
    save = TrainingState.save

    def save_under_fire(self, epoch, step):
        if step == 6:
            os.kill(os.getpid(), signal.SIGTERM)  # a second one, arriving while the stop's checkpoint is written
        return save(self, epoch, step)

    monkeypatch.setattr(TrainingState, "save", save_under_fire)
    disarm = signal_at(signal.SIGTERM, {6})
    stopped = _run("vgg19", tmp_path)
    disarm()
    monkeypatch.setattr(TrainingState, "save", save)
    assert stopped.exit_code == 143 and "at step 6 " in stopped.output
    assert _run("vgg19", tmp_path).exit_code == 0
    _assert_same_state(_state(tmp_path), uninterrupted("vgg19"))


def test_stop_at_an_epochs_last_step_saves_the_epoch_end_with_its_exports(tmp_path, signal_at, uninterrupted):
    disarm = signal_at(signal.SIGTERM, {8})  # the last step of epoch 2
    stopped = _run("vgg19", tmp_path)
    disarm()
    assert stopped.exit_code == 143 and "at step 8 (end of epoch 2)" in stopped.output
    assert (tmp_path / "run" / "minivgg19.keras").is_file()
    assert _run("vgg19", tmp_path).exit_code == 0
    _assert_same_state(_state(tmp_path), uninterrupted("vgg19"))


class Crash(Exception):
    """A stand-in for kill -9 right after a checkpoint write."""


def test_checkpoint_every_n_steps_then_a_crash_resumes_exactly(tmp_path, monkeypatch, uninterrupted):
    save, written = TrainingState.save, []

    def save_then_crash(self, epoch, step):
        path = save(self, epoch, step)
        written.append(step)
        if step == 6:
            raise Crash(path)
        return path

    monkeypatch.setattr(TrainingState, "save", save_then_crash)
    crashed = _run("vgg19", tmp_path, ["--checkpoint-every", "3", "--keep-checkpoints", "5"])
    assert isinstance(crashed.exception, Crash)
    assert written == [3, 4, 6]  # every 3 steps, and the end of epoch 1 (step 4)
    monkeypatch.setattr(TrainingState, "save", save)
    ckpts = sorted(int(p.name[5:-6]) for p in (tmp_path / "run" / "ckpt").glob("ckpt-*.index"))
    assert ckpts == [3, 4, 6]
    resumed = _run("vgg19", tmp_path, ["--checkpoint-every", "3", "--keep-checkpoints", "5"])
    assert resumed.exit_code == 0, resumed.output
    _assert_same_state(_state(tmp_path), uninterrupted("vgg19"))


def test_stop_request_records_the_first_signal_and_restores_the_handlers():
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.signum == signal.SIGTERM and stop.name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is before
    with StopRequest(enabled=False) as off:
        assert signal.getsignal(signal.SIGTERM) is before and not off.requested


@pytest.mark.parametrize("script", ["slurm_train.sbatch", "slurm_multiworker.sbatch"])
def test_slurm_script_passes_the_signal_on_and_requeues(tmp_path, script):
    """The SLURM scripts without SLURM: a stand-in trainer that exits 138 on SIGUSR1, a stand-in ``scontrol`` that
    records its arguments and a stand-in ``srun`` (the multi-worker script) that runs the command in its place."""
    import subprocess
    import sys
    import time

    from conftest import ROOT

    (tmp_path / "bin").mkdir()
    scontrol = tmp_path / "bin" / "scontrol"
    scontrol.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'requeued'}\n")
    scontrol.chmod(0o755)
    srun = tmp_path / "bin" / "srun"
    srun.write_text('#!/bin/sh\nwhile [ "${1#--}" != "$1" ]; do shift; done\nexec "$@"\n')
    srun.chmod(0o755)
    trainer = ("import signal, sys, time\n"
               "signal.signal(signal.SIGUSR1, lambda *a: sys.exit(138))\n"
               "print('ready', flush=True)\ntime.sleep(60)\nsys.exit(0)\n")
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}", SLURM_JOB_ID="4242")
    proc = subprocess.Popen(["bash", str(ROOT / "scripts" / script), sys.executable, "-c", trainer],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        proc.send_signal(signal.SIGUSR1)  # what --signal=B:USR1@180 sends to the batch shell
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 138, err
    assert "requeueing job 4242" in err
    assert (tmp_path / "requeued").read_text().split() == ["requeue", "4242"]
