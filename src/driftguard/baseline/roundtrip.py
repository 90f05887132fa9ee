"""Editing a baseline file in place: reviewers' comments and key order survive ``adopt``.

``merged`` writes the data of a freshly rendered file into the existing file's document
(ruamel.yaml round-trip): keys keep their place and comments, a changed value replaces the old
one where it stood (a list is refilled in place, so its style and end-of-line comment stay),
keys the new content drops are removed and new keys go at the end (before ``Unmodelled``).

Fail-safe: the result must load to exactly the data of the rendered file; if it does not, or
the old file is not a mapping ruamel can read, there is no merge and the caller writes the
rendered file.
"""

from __future__ import annotations

import io
from typing import Any

from driftguard.properties import UNMODELLED


def merged(old_text: str, new_text: str) -> str | None:
    """``new_text``'s data in ``old_text``'s layout and comments, or None when that cannot be."""
    import yaml
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    rt = YAML(typ="rt")
    rt.width = 10_000
    rt.preserve_quotes = True
    try:
        doc = rt.load(old_text)
        new = rt.load(new_text)
    except (YAMLError, ValueError):
        return None
    if not isinstance(doc, CommentedMap) or not isinstance(new, CommentedMap):
        return None
    _merge(doc, new)
    out = io.StringIO()
    rt.dump(doc, out)
    text = out.getvalue()
    try:
        same = yaml.safe_load(text) == yaml.safe_load(new_text)
    except yaml.YAMLError:
        return None
    return text if same else None


def _merge(doc: Any, new: Any) -> None:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    for key in [k for k in doc if k not in new]:
        del doc[key]
    for key, value in new.items():
        if key not in doc:
            keys = list(doc)
            at = keys.index(UNMODELLED) if UNMODELLED in keys and key != UNMODELLED else len(keys)
            doc.insert(at, key, value)
            continue
        old = doc[key]
        if old == value:
            continue  # untouched: its quoting and comments stay exactly as written
        if isinstance(old, CommentedMap) and isinstance(value, CommentedMap):
            _merge(old, value)
        elif isinstance(old, CommentedSeq) and isinstance(value, list):
            del old[:]
            old.extend(value)
        else:
            doc[key] = value
