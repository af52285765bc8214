"""The text pieces every bioimage.io package README shares (pure Python): the closing sections, key/value
tables, and the run folder's JSON records."""

from __future__ import annotations

import json
from pathlib import Path


def readme_tail(training_lines, citations):
    """The "Training" and "Citation" sections that end every package README (a list of markdown lines).

    ``citations``: dicts with ``text`` and a ``doi`` or a ``url``.
    """
    cited = [f"- {c['text']} ({'doi:' + c['doi'] if 'doi' in c else c['url']})" for c in citations]
    return ["## Training", "", *training_lines, "", "## Citation", "", *cited, ""]


def markdown_table(rows):
    """A two-column Markdown table of ``(key, value)`` rows."""
    lines = ["| key | value |", "| --- | --- |"]
    lines += [f"| `{k}` | {json.dumps(v) if not isinstance(v, str) else v} |" for k, v in rows]
    return "\n".join(lines)


def read_json_if_present(path):
    """The JSON content of ``path``, or None when it does not exist."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ValueError(f"{path}: cannot read JSON ({e})") from e


SAVED_MODEL_NOTE = ("`tf_saved_model.zip` (made with Keras 3's `model.export()`) does not depend on our package: it "
                    "runs with TensorFlow alone.")


def custom_layers(model):
    """Sorted class names of the layers of ``model`` (nested models included) that are not Keras built-ins."""
    names = set()
    for layer in model.layers:
        if not type(layer).__module__.startswith("keras."):
            names.add(type(layer).__name__)
        if hasattr(layer, "layers"):
            names.update(custom_layers(layer))
    return sorted(names)


def keras_note(model, module):
    """What opening the exported ``model.keras`` needs: plain Keras when every layer is built in, else ``module``
    (the one that registers the custom layers)."""
    custom = custom_layers(model)
    if not custom:
        return ("`model.keras` holds built-in Keras 3 layers only: `keras.models.load_model('model.keras')` opens it "
                "without gan-microscopy, under any Keras backend (TensorFlow, JAX, PyTorch). " + SAVED_MODEL_NOTE)
    return (f"`model.keras` contains the custom layer(s) {', '.join(f'`{c}`' for c in custom)} (registered by the "
            f"`{module}` module of gan-microscopy): it opens only after `import {module}`. " + SAVED_MODEL_NOTE)
