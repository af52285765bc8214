"""The command-line layer shared by every ``python -m <package>.<verb>`` (and its console script).

A CLI module is thin: a :func:`command` with options, and one call into a
library function. It imports no TensorFlow at module level, so ``--help`` and
argument errors answer at once; the library (which loads TensorFlow) is
imported in the command body, after :func:`one_line_errors` has set up the
environment:

- ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user set it or passed ``--verbose``,
  and (unless ``--verbose`` or a level below 3) TensorFlow imported through
  :func:`data.cli.quiet.import_tensorflow`, which
  drops the start-up lines absl writes before that level applies (``I0000``,
  ``E0000 ... cuInit``, ``absl::InitializeLog``); a command that needs no
  TensorFlow says ``@one_line_errors(tensorflow=False)``;
- a ``logging`` handler on stderr for the library's messages (INFO; DEBUG with ``--verbose``);
- expected failures (:func:`data.engine.errors.error_message`) become one line
  ``Error: <file>: <problem>`` and exit status 1; bugs keep their traceback.

Shared options are defined once here (``--precision``, ``--backup-dir``,
``--logdir``, ``--resume/--no-resume``, ``--keep-checkpoints``, ``--seed``, ``--strategy``,
``--verbose``); :func:`config_option` takes an option's default and help from a
config dataclass field (``data.engine.config.param``).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import sys

import click

from data.engine.config import PRECISIONS, STRATEGIES, RunConfig
from data.engine.errors import TrainingStopped, error_message

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "show_default": True}

_state = {"verbose": False}


def command(**kwargs):
    """``click.command`` with ``-h``/``--help`` and defaults shown in the help."""
    return click.command(context_settings=CONTEXT_SETTINGS, **kwargs)


def group(**kwargs):
    """``click.group`` with the same settings as :func:`command`."""
    return click.group(context_settings=CONTEXT_SETTINGS, **kwargs)


def _option_name(name):
    return "--" + name.replace("_", "-")


def config_option(config_cls, name, *decls, **kwargs):
    """A ``click.option`` for field ``name`` of ``config_cls``: default and help come from the dataclass.

    ``decls`` default to ``--field-name``; other keyword arguments go to ``click.option``.
    """
    kwargs.setdefault("default", config_cls.default(name))
    kwargs.setdefault("help", config_cls.help(name) or None)
    return click.option(*(decls or (_option_name(name),)), name, **kwargs)


def config_options(config_cls, names, prefix=""):
    """Options for several fields of ``config_cls`` (``--<prefix><field>``; booleans as ``--x/--no-x``).

    The command receives them as ``<prefix>_<field>`` keyword arguments;
    :func:`pop_config` builds the config from them. One declaration (the
    dataclass) serves every command that exposes the same config.
    """
    flag_prefix = f"--{prefix}-" if prefix else "--"
    dest_prefix = f"{prefix.replace('-', '_')}_" if prefix else ""

    def decorate(fn):
        for name in reversed(names):
            flag = flag_prefix + name.replace("_", "-")
            default = config_cls.default(name)
            decl = f"{flag}/{flag_prefix}no-{name.replace('_', '-')}" if isinstance(default, bool) else flag
            fn = click.option(decl, dest_prefix + name, default=default, type=None if isinstance(default, bool)
                              else type(default), help=config_cls.help(name) or None)(fn)
        return fn

    return decorate


def pop_config(config_cls, kwargs, names, prefix="", **fixed):
    """``config_cls`` built from (and removed from) the ``kwargs`` that :func:`config_options` added."""
    dest_prefix = f"{prefix.replace('-', '_')}_" if prefix else ""
    values = {name: kwargs.pop(dest_prefix + name) for name in names}
    return config_cls(**{**values, **fixed})


def precision_option(default="float32"):
    return click.option("--precision", type=click.Choice(PRECISIONS), default=default, help=RunConfig.help("precision"))


def backup_dir_option(default):
    return click.option("--backup-dir", type=click.Path(file_okay=False), default=default,
                        help="Run folder: config.json, ckpt/ (the 'latest' pointer and training state), the exports.")


def logdir_option(default):
    return click.option("--logdir", type=click.Path(file_okay=False), default=default,
                        help="TensorBoard folder (scalars per step, continued after a resume; images).")


keep_checkpoints_option = click.option(
    "--keep-checkpoints", type=click.IntRange(min=1), default=1,
    help="Checkpoints kept in --backup-dir/ckpt (the last N epochs); each holds the full training state.")

checkpoint_every_option = click.option(
    "--checkpoint-every", type=click.IntRange(min=0), default=0, help=RunConfig.help("checkpoint_every"))

resume_option = click.option(
    "--resume/--no-resume", default=True,
    help="Continue from the last checkpoint in --backup-dir, or delete the checkpoints and start anew.")


def seed_option(default=0, help="Random seed (initial weights, data order)."):  # noqa: A002 - click's keyword
    return click.option("--seed", type=int, default=default, help=help)


strategy_option = click.option("--strategy", type=click.Choice(STRATEGIES), default="default",
                               help=RunConfig.help("strategy"))


def _set_verbose(ctx, param, value):
    _state["verbose"] = bool(value)
    return value


verbose_option = click.option(
    "--verbose", is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
    help="Show TensorFlow's own log lines and debug messages.")


def run_options(backup_dir, logdir, precision="float32"):
    """Options every trainer shares: ``--backup-dir``, ``--logdir``, ``--resume``, ``--keep-checkpoints``,
    ``--checkpoint-every`` (a config field), ``--precision``, ``--verbose``."""
    def decorate(fn):
        for option in (verbose_option, precision_option(precision), checkpoint_every_option, keep_checkpoints_option,
                       resume_option, logdir_option(logdir), backup_dir_option(backup_dir)):
            fn = option(fn)
        return fn

    return decorate


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (which a test runner may replace between commands)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def setup(verbose=None, tensorflow=False):
    """Quiet TensorFlow (unless ``verbose`` or the user set ``TF_CPP_MIN_LOG_LEVEL``) and log to stderr.

    With ``tensorflow``, TensorFlow is imported here, without its start-up lines
    when it is to be quiet (:func:`data.cli.quiet.import_tensorflow`).
    """
    verbose = _state["verbose"] if verbose is None else verbose
    # a level below 3 that the user set asks for TensorFlow's lines (3, also what our subprocesses inherit, does not)
    asked = os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3").strip() not in ("3", "")
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # 2 still lets "E0000 ... failed call to cuInit" through
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("matplotlib", "PIL", "h5py", "absl", "tensorflow"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    if tensorflow:
        from data.cli.quiet import import_tensorflow

        import_tensorflow(verbose=verbose or asked)


def one_line_errors(fn=None, *, tensorflow=True):
    """The one error decorator of every CLI command (place it under ``@command`` and the options).

    Sets up the environment (:func:`setup`; ``tensorflow=False`` for a command
    that needs no TensorFlow, so it is not imported), then calls the command. An expected
    failure becomes ``click.ClickException`` (``Error: <one line>``, exit 1);
    an unexpected one (a bug) propagates with its traceback. Before the exit the
    failed run is garbage-collected while the interpreter is intact: a tf.data
    iterator left with a pending ``numpy_function`` can otherwise deadlock the shutdown.
    """
    if fn is None:
        return functools.partial(one_line_errors, tensorflow=tensorflow)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        setup(tensorflow=tensorflow)
        try:
            return fn(*args, **kwargs)
        except click.ClickException:
            raise
        except TrainingStopped as e:  # a signal: checkpoint written; the shell's exit status for that signal
            gc.collect()
            click.echo(str(e), err=True)
            raise click.exceptions.Exit(e.exit_code) from None
        except Exception as e:  # noqa: BLE001 - sorted into expected / bug below
            message = error_message(e)
            if message is None:
                raise
        gc.collect()
        raise click.ClickException(message)

    return wrapper


def echo(text="", **kwargs):
    """The command's result on stdout (library code logs instead)."""
    click.echo(text, **kwargs)


def done_line(result):
    """The one result line of a trainer (``data.engine.loop.train``'s summary)."""
    line = f"done: epoch {result['epoch']}, step {result['step']}"
    record = result.get("export")
    if record and record.get("monitor"):
        line += f"; best {record['monitor']} {record['value']:.4f} at epoch {record['epoch']}"
    return line + f"; exports in {result['run_dir']}"
