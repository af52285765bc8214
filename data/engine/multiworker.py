"""``--strategy multiworker``: ``tf.distribute.MultiWorkerMirroredStrategy`` for the engine (``data.engine.loop``).

The cluster comes from ``TF_CONFIG`` (``scripts/launch_workers.py`` sets it on
one machine; a cluster's job script sets it per task), or, without
``TF_CONFIG`` inside a SLURM job step (``srun``), from
``tf.distribute.cluster_resolver.SlurmClusterResolver``. Worker 0 (or the
``chief`` task, if the cluster has one) is the chief, as in TensorFlow's
multi-worker guide:

- only the chief writes ``config.json``, checkpoints, exports, TensorBoard
  logs and figures (:func:`is_chief`; callbacks that only write files derive
  from :class:`ChiefOnly`); the other workers save their checkpoint copies
  (every worker must take part in a save) to :func:`scratch_dir`, removed after each save;
- every worker restores from the chief's ``ckpt/``, so the run folder must be
  on a file system all workers see (one machine, or a cluster's shared file system);
- input: the auto-shard policy is ``DATA`` (:func:`shard_by_data`): every
  worker builds the same seeded pipeline and keeps its part of each global
  batch, so a global batch is the very batch of a single-process run;
- :func:`after_save_barrier`: no worker goes on (or is killed by the test hook)
  before every worker has saved.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

import tensorflow as tf

SLURM_PORT_BASE = 8888
"""First port of a SLURM cluster's tasks (one port per task on a node); ``GANMICRO_SLURM_PORT_BASE`` overrides it."""


class MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``MultiWorkerMirroredStrategy`` whose ``reduce`` works for Keras 3's ``fit`` (keras-team/keras#20585).

    Keras 3.15 calls ``strategy.reduce("MEAN", batch, axis=None)`` on the first
    (nested) data batch and ``strategy.reduce("MEAN", log, axis=0)`` on scalar
    logs; the multi-worker strategy takes neither a nested structure nor
    ``axis=0`` on a scalar. Here each element is reduced alone, a scalar over the replicas.
    """

    def reduce(self, reduce_op, value, axis):
        def one(v):
            rank = self.experimental_local_results(v)[0].shape.rank
            return super(MultiWorkerStrategy, self).reduce(reduce_op, v, None if rank == 0 else axis)

        return tf.nest.map_structure(one, value)


def cluster_resolver():
    """The cluster of ``TF_CONFIG``, else of SLURM (inside ``srun``); ``ValueError`` naming what is missing."""
    raw = os.environ.get("TF_CONFIG")
    if raw:
        try:
            config = json.loads(raw)
            workers = config["cluster"]["worker"]
            config["task"]["index"]
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"TF_CONFIG: not a valid cluster description ({type(e).__name__}: {e}); expected "
                             '{"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": i}}') \
                from e
        if not workers:
            raise ValueError("TF_CONFIG: cluster.worker is empty")
        return tf.distribute.cluster_resolver.TFConfigClusterResolver()
    if os.environ.get("SLURM_PROCID") is not None and os.environ.get("SLURM_STEP_NUM_TASKS"):
        raw_port = os.environ.get("GANMICRO_SLURM_PORT_BASE", str(SLURM_PORT_BASE))
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise ValueError(f"GANMICRO_SLURM_PORT_BASE={raw_port!r}: not a port number")
        if shutil.which("nvidia-smi"):  # GPU nodes: TensorFlow's resolver also gives each task its GPUs
            return tf.distribute.cluster_resolver.SlurmClusterResolver(port_base=int(raw_port))
        return slurm_cpu_resolver(int(raw_port))
    raise ValueError("--strategy multiworker: TF_CONFIG is not set; start the workers with "
                     "scripts/launch_workers.py (one machine) or set TF_CONFIG / run under srun "
                     "(see docs/multiworker.md)")


def slurm_cpu_resolver(port_base=SLURM_PORT_BASE):
    """The cluster of a SLURM job step on nodes without GPUs: a ``SimpleClusterResolver``.

    ``SlurmClusterResolver`` (TensorFlow 2.21) cannot describe it: its ``cluster_spec`` pairs each task of a
    node with a GPU, ``zip(range(tasks), range(0, gpus_per_node, gpus_per_task))``, which raises with 0 GPUs,
    and with a faked GPU count it reports GPUs to the strategy (``num_accelerators``). Same layout as that
    resolver: hosts of ``SLURM_STEP_NODELIST`` sorted by name, ``SLURM_STEP_TASKS_PER_NODE`` tasks on each at
    ports ``port_base``, ``port_base + 1``, ..., all of type ``worker``; this task is ``SLURM_PROCID``.
    """
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import (
        expand_hostlist,
        expand_tasks_per_node,
    )

    names = ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST", "SLURM_STEP_TASKS_PER_NODE")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        raise ValueError(f"SLURM job step: {', '.join(missing)} not set (run the trainer under srun)")
    hosts = expand_hostlist(os.environ["SLURM_STEP_NODELIST"])
    per_node = expand_tasks_per_node(os.environ["SLURM_STEP_TASKS_PER_NODE"])
    workers = [f"{host}:{port_base + k}" for host, n in sorted(zip(hosts, per_node)) for k in range(n)]
    rank, n_tasks = int(os.environ["SLURM_PROCID"]), int(os.environ["SLURM_STEP_NUM_TASKS"])
    if len(workers) != n_tasks or not 0 <= rank < n_tasks:
        raise ValueError(f"SLURM job step: {len(workers)} task(s) on nodes {hosts}, SLURM_STEP_NUM_TASKS={n_tasks}, "
                         f"SLURM_PROCID={rank}: inconsistent")
    return tf.distribute.cluster_resolver.SimpleClusterResolver(
        tf.train.ClusterSpec({"worker": workers}), task_type="worker", task_id=rank, rpc_layer="grpc")


def make_multiworker_strategy():
    """The :class:`MultiWorkerStrategy` of :func:`cluster_resolver` (create it before any other TensorFlow op)."""
    return MultiWorkerStrategy(cluster_resolver=cluster_resolver())


def is_multiworker(strategy):
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def task(strategy):
    """``(task_type, task_id)`` of this process, ``(None, None)`` outside a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None) if is_multiworker(strategy) else None
    if resolver is None or resolver.task_type is None:
        return None, None
    return resolver.task_type, resolver.task_id


def is_chief(strategy):
    """Whether this process writes the run folder: always outside a cluster; the chief task, else worker 0."""
    task_type, task_id = task(strategy)
    if task_type is None:
        return True
    has_chief = "chief" in strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "chief" or (task_type == "worker" and task_id == 0 and not has_chief)


def scratch_dir(strategy):
    """A new temporary folder for a non-chief worker's checkpoint copies; None on the chief."""
    if is_chief(strategy):
        return None
    task_type, task_id = task(strategy)
    return tempfile.mkdtemp(prefix=f"ganmicro-{task_type}{task_id}-ckpt-")


def shard_by_data(dataset, strategy):
    """``dataset`` with the ``DATA`` auto-shard policy under a multi-worker strategy (as is otherwise).

    ``FILE`` sharding (each worker reads its own files) would make the global
    batches differ from a single-process run's and needs at least one file per
    worker; the generated demo / mask data have no files at all.
    """
    if dataset is None or not is_multiworker(strategy):
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def after_save_barrier(strategy):
    """A function that returns once every worker has called it (an all-reduce); None outside a cluster."""
    if not is_multiworker(strategy):
        return None

    @tf.function
    def barrier():
        one = strategy.run(lambda: tf.constant(1.0))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, one, axis=None)

    return barrier


def stop_agreement(strategy):
    """``agree(signum)`` for :class:`data.engine.preemption.StopRequest`: the highest signal number any worker
    requested (0: none), the same on every worker; None outside a cluster.

    One all-reduce of a 65-element vector (a 1 at this worker's signal number) per call: the collective
    implementation sums (it has no maximum), and a sum of one-hot vectors still tells which signals came.
    """
    if not is_multiworker(strategy):
        return None

    @tf.function(input_signature=[tf.TensorSpec([], tf.int32)])
    def requested(signum):
        mine = tf.one_hot(signum, 65) * tf.cast(signum > 0, tf.float32)
        every = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.identity, args=(mine,)), axis=None)
        return tf.reduce_max(tf.where(every > 0, tf.range(65), 0))

    return lambda signum: int(requested(tf.constant(int(signum), tf.int32)))


class ChiefOnly:
    """Mix-in of Keras callbacks that only write files (TensorBoard, figures): left out on non-chief workers."""
