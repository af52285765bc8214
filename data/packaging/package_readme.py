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
