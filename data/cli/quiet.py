"""Import TensorFlow without its start-up noise on standard error (the one place every CLI does it).

TensorFlow's C++ start-up lines (``I0000 ... port.cc] oneDNN custom operations
are on``, ``cudart_stub.cc] Could not find cuda drivers``, ``E0000 ... failed
call to cuInit`` on a machine without GPU, absl's ``WARNING: All log messages
before absl::InitializeLog() is called are written to STDERR``) are written
straight to file descriptor 2, some of them before ``TF_CPP_MIN_LOG_LEVEL``
applies, so neither ``logging`` nor ``sys.stderr`` can hold them back.
:func:`filtered_stderr` puts a pipe in front of descriptor 2 for the
duration of a ``with`` block and forwards every line that is not such a
start-up line; afterwards descriptor 2 is the original again, so our own
messages and errors reach it unchanged. Nothing here imports TensorFlow at
module level.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading

NOISE = re.compile(
    rb"^(?:[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+\s+\S+:\d+\] "  # absl / glog lines: I0000 00:00:... file.cc:12]
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] \S+:\d+\] "  # older TensorFlow C++ log lines
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|To enable the following instructions: .* rebuild TensorFlow)"
)
"""Start-up lines of TensorFlow and absl (bytes, matched at the start of a line)."""


def _forward(read_fd, out_fd, pattern):
    """Copy lines not matching ``pattern`` from the pipe to ``out_fd``; keep draining the pipe whatever happens."""
    def write(data):
        with contextlib.suppress(OSError):  # a closed stderr must not block the writers of the pipe
            os.write(out_fd, data)

    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        pending = b""
        while chunk := pipe.read(65536):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if not pattern.match(line):
                    write(line + b"\n")
        if pending and not pattern.match(pending):
            write(pending)


@contextlib.contextmanager
def filtered_stderr(pattern=NOISE):
    """Drop lines matching ``pattern`` that anything in this process writes to descriptor 2 inside the block.

    Other lines are forwarded as they come (so a crash inside the block still
    shows its message); on exit descriptor 2 is restored. A process without a
    usable descriptor 2 runs the block unfiltered.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    read_fd, write_fd = os.pipe()
    thread = threading.Thread(target=_forward, args=(read_fd, saved, pattern), name="filtered-stderr", daemon=True)
    thread.start()
    _flush()
    os.dup2(write_fd, 2)
    try:
        yield
    finally:
        _flush()
        os.dup2(saved, 2)
        os.close(write_fd)
        thread.join()
        os.close(saved)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def import_tensorflow(verbose=False):
    """Import TensorFlow (and Keras) with the start-up lines dropped, unless ``verbose``; return the module.

    A no-op filter when TensorFlow is already imported. ``TF_CPP_MIN_LOG_LEVEL``
    (set by :func:`data.cli.setup`) quiets what TensorFlow logs later.
    """
    if verbose or "tensorflow" in sys.modules:
        import tensorflow

        return tensorflow
    with filtered_stderr():
        import keras  # noqa: F401 - keras imports TensorFlow and registers its own start-up
        import tensorflow

        tensorflow.config.list_logical_devices()  # device (CUDA) initialisation: "failed call to cuInit"
    return tensorflow
