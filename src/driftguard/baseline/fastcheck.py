"""A quick yes to "is this document valid against our schema?", so jsonschema only runs on failures.

Validating 1,000 connector files with jsonschema costs more than parsing them, and importing it
costs a tenth of a second. Valid files are the common case, so this interprets the small subset of
JSON Schema our own schema files use. It answers True only when it is sure: any keyword it does not
know, any ``$ref`` it cannot follow or any doubt means False, and then jsonschema (the reference)
decides and explains. A test holds the two to the same verdict on random documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default"})
_KNOWN = _ANNOTATIONS | {
    "$defs",
    "$ref",
    "type",
    "properties",
    "additionalProperties",
    "required",
    "pattern",
    "items",
    "minItems",
    "minLength",
    "enum",
}
_TYPES: Mapping[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def surely_valid(schema: Mapping[str, Any], value: Any) -> bool:
    """True only if ``value`` certainly satisfies ``schema`` (the root schema document)."""
    return _check(schema, value, schema)


def _check(schema: Any, value: Any, root: Mapping[str, Any]) -> bool:
    if schema is True:
        return True
    if not isinstance(schema, Mapping) or not _KNOWN.issuperset(schema):
        return False
    ref = schema.get("$ref")
    if ref is not None:
        target = _resolve(root, ref)
        if target is None or not _check(target, value, root):
            return False
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else types
        if not all(n in _TYPES for n in names) or not any(_TYPES[n](value) for n in names):
            return False
    if "enum" in schema:
        choices = schema["enum"]
        if not isinstance(value, str) or not all(isinstance(c, str) for c in choices):
            return False
        if value not in choices:
            return False
    if isinstance(value, str):
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            return False
        if len(value) < schema.get("minLength", 0):
            return False
    elif isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            return False
        if "items" in schema and not _all_items(schema["items"], value, root):
            return False
    elif isinstance(value, dict):
        return _check_object(schema, value, root)
    return True


def _all_items(schema: Any, value: list[Any], root: Mapping[str, Any]) -> bool:
    """Every member of ``value`` is valid against ``schema``. A list of plain strings against
    ``{"type": "string"}`` with at most ``minLength: 1`` (every list property of a connector
    file: a big tenant's hold hundreds of thousands) is checked without a call per member."""
    if _simple_string(schema):
        return set(map(type, value)) <= {str} and (
            schema.get("minLength", 0) == 0 or "" not in value
        )
    return all(_check(schema, v, root) for v in value)


def _simple_string(schema: Any) -> bool:
    return (
        isinstance(schema, Mapping)
        and schema.get("type") == "string"
        and schema.get("minLength", 0) in (0, 1)
        and _ANNOTATIONS.union({"type", "minLength"}).issuperset(schema)
    )


def _check_object(
    schema: Mapping[str, Any], value: dict[Any, Any], root: Mapping[str, Any]
) -> bool:
    if not all(k in value for k in schema.get("required", ())):
        return False
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    if extra is not True and extra is not False:
        return False
    for key, item in value.items():
        sub = properties.get(key) if isinstance(key, str) else None
        if sub is None:
            if extra is False:
                return False
            continue
        if not _check(sub, item, root):
            return False
    return True


def _resolve(root: Mapping[str, Any], ref: str) -> Any:
    """Only local ``#/$defs/<name>`` references; anything else is a doubt."""
    prefix = "#/$defs/"
    if not ref.startswith(prefix):
        return None
    return root.get("$defs", {}).get(ref[len(prefix) :])
