"""The expected failures of the toolkit and their one-line messages (pure Python, no TensorFlow import).

Expected failures are bad input or environment, never bugs: a ``ValueError``
(a bad option, config or image; :class:`data.io.ImageError` is one), an
``OSError`` (missing file, permission denied, no space left), a
:class:`NonFiniteLossError`, and a ``tf.errors.OpError`` raised while a
``tf.data`` pipeline reads a bad file. :func:`error_message` turns them into
the one line a CLI shows (``data.cli.one_line_errors``); anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import sys


class NonFiniteLossError(RuntimeError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


def pipeline_error_message(error):
    """One line for a ``tf.errors.OpError`` raised while a pipeline is iterated.

    A file that is corrupt past its header fails only when it is decoded, inside
    ``tf.numpy_function``; TensorFlow wraps the :class:`data.io.ImageError` in a
    long graph traceback. This returns the ``ImageError`` line (which names the
    file), else the first informative line of the message.
    """
    lines = [ln.strip() for ln in str(getattr(error, "message", error)).splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "ImageError: " in ln:
            return ln.split("ImageError: ", 1)[1]
    useful = [ln for ln in lines if ln != "Graph execution error:"]
    return useful[0] if useful else type(error).__name__


def _is_tf_op_error(error):
    tf = sys.modules.get("tensorflow")  # loaded already if such an error could be raised
    return tf is not None and isinstance(error, tf.errors.OpError)


def error_message(error):
    """One line for an expected failure, or ``None`` for an unexpected one (a bug)."""
    if _is_tf_op_error(error):
        return pipeline_error_message(error)
    if isinstance(error, (NonFiniteLossError, ValueError)):
        return str(error)
    if isinstance(error, OSError):
        if error.filename is not None and str(error.filename) not in str(error.args):
            return f"{error.filename}: {error.strerror or error}"
        if error.filename is None and error.errno is not None and error.strerror:
            return error.strerror  # OSError(errno, "<file>: <problem>"), as data.io raises them
        return str(error)
    return None


class TrainingStopped(Exception):
    """Training stopped on a signal (SIGTERM, SIGINT, SIGUSR1) after writing a checkpoint; the same command resumes.

    ``exit_code`` is the shell's convention for the signal, ``128 + signum`` (143 for SIGTERM, 130 for SIGINT).
    """

    def __init__(self, message, signum):
        super().__init__(message)
        self.signum = int(signum)
        self.exit_code = 128 + self.signum
