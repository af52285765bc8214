"""The run folder (``--backup-dir``): ``config.json``, the resume check, and what a killed run left half-written.

Layout of a run folder::

    .lock                  host and PID of the process training there (data.engine.lock), while it runs
    config.json            the run's configuration (data.engine.config.Config.save)
    ckpt/checkpoint        the ``latest`` pointer (as the original's backup dirs)
    ckpt/ckpt-<epoch>.*    full training state (data.engine.checkpoint.TrainingState)
    *.keras                float32 inference exports (data.engine.exports)
    export.json            which epoch / step / monitored value the exports hold
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)


def check_resume(run_dir, config, resume=True, fixed_keys=()):
    """Refuse to resume ``run_dir`` with a different architecture (``ValueError`` naming the keys); writes nothing."""
    old_path = Path(run_dir) / "config.json"
    if not (resume and old_path.is_file() and (Path(run_dir) / "ckpt" / "checkpoint").is_file()):
        return
    old = type(config).load(old_path).to_dict()
    new = config.to_dict()
    bad = [k for k in fixed_keys if old.get(k) != new.get(k)]
    if bad:
        diffs = ", ".join(f"{k}: saved {old.get(k)!r} vs now {new.get(k)!r}" for k in bad)
        raise ValueError(f"{old_path}: cannot resume, the architecture differs ({diffs}); "
                         "use another --backup-dir or --no-resume")
    if "precision" in new and old.get("precision") != new["precision"]:
        raise ValueError(f"{old_path}: cannot resume, precision: saved {old.get('precision')!r} vs now "
                         f"{new['precision']!r} (the checkpoint holds that policy's variables); resume with "
                         f"--precision {old.get('precision')}, or use another --backup-dir or --no-resume")


def remove_stale_temporaries(run_dir):
    """Remove what a killed run of ours left half-written: ``data.io.atomic_path`` files, checkpoint ``*_temp*``."""
    run_dir = Path(run_dir)
    stale = list(run_dir.glob(".*.*.tmp*")) + list((run_dir / "ckpt").glob("*_temp*"))
    for path in stale:
        log.debug("removing stale temporary %s", path)
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def start_run_dir(run_dir, config, resume=True, lock=None):
    """Create ``run_dir``, take its ``lock`` (a :class:`data.engine.lock.RunLock`, if given), clear stale
    temporaries (and ``ckpt/`` unless ``resume``), write ``config.json``.

    If ``config.json`` cannot be written (no space left...), a ``run_dir`` created here is removed again.
    """
    run_dir = Path(run_dir)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    if lock is not None:
        try:
            lock.acquire()
        except BaseException:
            if created:
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
    remove_stale_temporaries(run_dir)
    if not resume and (run_dir / "ckpt").exists():
        shutil.rmtree(run_dir / "ckpt")
    try:
        config.save(run_dir / "config.json")
    except OSError:
        if created:
            if lock is not None:
                lock.release()
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    return run_dir
