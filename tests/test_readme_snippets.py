"""The code blocks of the README and docs/ marked ``<!-- snippet: after COMMAND -->`` run as written once COMMAND has
run.

COMMAND's results are stood in for by tiny models in ``tmp_path`` (``make demo`` is never run here);
the snippet then runs there in a subprocess. Unmarked blocks are usage synopses: their modules must exist.
"""

import importlib.util
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT

SNIPPET = re.compile(r"^<!-- snippet: after ([^\n]+?) -->\n```(\w+)\n(.*?)```", re.S | re.M)
BLOCK = re.compile(r"(^<!-- snippet: after [^\n]+? -->\n)?^```(\w*)\n(.*?)```", re.S | re.M)
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = "\n".join(page.read_text() for page in PAGES)
SNIPPETS = SNIPPET.findall(README)


def _after_make_demo(root):
    """What make demo leaves that the snippets use: .venv, the two exported demo generators, logs/."""
    import msrgan
    from data.packaging.keras_export import export_model
    from msrgan.layers import INFERENCE_FORMS

    (root / ".venv").symlink_to(sys.prefix)
    (root / "backup" / "msrgan").mkdir(parents=True)
    for name in ("generator", "generator_pretrained"):  # the demo's kind of generator, exported as the trainer does
        g = msrgan.build_generator(input_shape=(None, None, 3), n_blocks=1, filters=8, residual_bicubic=True)
        export_model(g, root / "backup" / "msrgan" / f"{name}.keras", (None, None, 3), INFERENCE_FORMS)
    (root / "logs" / "msrgan").mkdir(parents=True)


def _after_cyclegan_train(root):
    """What python -m cyclegan_dct.train leaves: config.json and the two exported generators."""
    from cyclegan_dct.config import CycleGANConfig
    from cyclegan_dct.layers import INFERENCE_FORMS
    from cyclegan_dct.networks import build_generator
    from data.packaging.keras_export import export_model

    run = root / "backup" / "cyclegan_dct"
    run.mkdir(parents=True)
    CycleGANConfig(n_blocks=1, filters=4, crop=32).save(run / "config.json")
    for name in ("generator_a2b", "generator_b2a"):  # exported as the trainer does
        export_model(build_generator(n_blocks=1, filters=4, name=name), run / f"{name}.keras", forms=INFERENCE_FORMS)


SETUPS = {"make demo": _after_make_demo, "python -m cyclegan_dct.train --preset cpu": _after_cyclegan_train,
          "nothing": lambda root: None}


def test_snippets_are_marked_and_synopses_name_real_modules():
    assert {after for after, _, _ in SNIPPETS} == set(SETUPS)
    blocks = BLOCK.findall(README)
    assert all(marked for marked, lang, _ in blocks if lang == "python")  # every python block is a snippet
    for marked, _, code in blocks:
        if not marked:
            for module in re.findall(r"python -m ([\w.]+)", code):
                assert importlib.util.find_spec(module) is not None, module


def _run_bash(code, cwd, timeout=600):
    """Run ``code`` in a new shell (the venv not on PATH until the snippet activates it); a line announcing a
    server on localhost (tensorboard) counts as success, and the server is stopped."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", code], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env)
    lines, served, deadline = [], False, time.time() + timeout
    try:
        for line in proc.stdout:
            lines.append(line)
            if "http://localhost:" in line:
                served = True
                break
            if time.time() > deadline:
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
    return served or proc.returncode == 0, "".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("after, lang, code", SNIPPETS, ids=[f"{i}-{a}" for i, (a, _, _) in enumerate(SNIPPETS)])
def test_snippet_runs_as_written(after, lang, code, tmp_path):
    SETUPS[after](tmp_path)
    if lang == "python":
        ours = ("\nimport sys\nprint('OURS', sorted({m.split('.')[0] for m in sys.modules}"
                " & {'msrgan', 'data', 'vgg19', 'cyclegan_dct'}))")
        proc = subprocess.run([sys.executable, "-c", code + ours], cwd=tmp_path, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        if "nothing of gan-microscopy is imported" in code:  # the promise the snippet makes
            assert "OURS []" in proc.stdout, proc.stdout
        return
    assert lang == "bash"
    ok, output = _run_bash(code, tmp_path)
    assert ok, output[-3000:]
    if "msrgan.predict" in code:
        assert list((tmp_path / "result" / "msrgan_predict").glob("*.png")), output[-3000:]
