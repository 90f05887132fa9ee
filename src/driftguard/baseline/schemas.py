"""The JSON Schemas of baseline files, and jsonschema errors turned into located problems.

``connector.schema.json`` is generated from ``properties.SETTABLE`` (the one table of property
facts) by ``connector_schema()``; ``python -m driftguard.baseline.schemas`` rewrites the packaged
file and a test keeps the two equal. ``tenant.schema.json`` is written by hand (driftguard's own
settings, documented in CONTRACT.md).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from driftguard.baseline.fastcheck import surely_valid
from driftguard.baseline.yamlsafe import Document, JsonPath
from driftguard.errors import Problem
from driftguard.properties import (
    READ_ONLY,
    REQUIRED_IN_BASELINE,
    SETTABLE,
    UNMODELLED,
    Kind,
    Property,
)
from driftguard.textsafe import shown

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
NOT_BLANK = "\\S"
GUID_PATTERN = "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"

_READ_ONLY_LOWER = {k.lower(): k for k in READ_ONLY if k != "Guid"}
# Spellings people reach for when they paste a secret: auth holds references only.
_SECRET_KEYS = {
    "client_secret": "client_secret_env",
    "secret": "client_secret_env",
    "password": "certificate_password_env",
    "certificate_password": "certificate_password_env",
    "certificate": "certificate_path",
    "private_key": "certificate_path",
}


# --------------------------------------------------------------------------- schema generation


def _any_case(word: str) -> str:
    """A portable (ECMA 262) regex fragment matching ``word`` in any letter case."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)


def _property_schema(prop: Property) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": prop.doc} if prop.doc else {}
    required = prop.name in REQUIRED_IN_BASELINE
    match prop.kind:
        case Kind.BOOL:
            schema["type"] = "boolean"
        case Kind.TEXT | Kind.NAME | Kind.HOST:
            schema["type"] = "string" if required else ["string", "null"]
            if required:
                schema["pattern"] = NOT_BLANK
        case Kind.ENUM:
            choices = list(prop.choices)
            if prop.name == "ConnectorSource":
                choices.append("AdminUI")  # what the admin centre shows; the same as Default
            schema["type"] = "string"
            schema["title"] = f"one of {', '.join(choices)} (any letter case)"
            schema["pattern"] = "^(" + "|".join(_any_case(c) for c in choices) + ")$"
        case _:
            # A list; one string is accepted as a one-member list, as PowerShell does.
            schema["type"] = ["array", "string"] if required else ["array", "string", "null"]
            schema["items"] = {"type": "string", "minLength": 1}
            if required:
                schema["minItems"] = 1
                schema["minLength"] = 1
    if prop.default not in (None, ()):
        schema["default"] = prop.default
    return schema


def connector_schema() -> dict[str, Any]:
    """The connector file schema, built from the property table."""
    properties: dict[str, Any] = {p.name: _property_schema(p) for p in SETTABLE}
    properties["Guid"] = {
        "description": "Optional pin to one live connector (written by `driftguard adopt`).",
        "type": "string",
        "title": "a GUID",
        "pattern": GUID_PATTERN,
    }
    properties[UNMODELLED] = {
        "description": (
            "Properties of the live connector that driftguard does not model, pinned with the "
            "values the service returns (written by `driftguard adopt` and `driftguard init`). "
            "They are compared generically: a different value or type is a finding. Keys must "
            "not be properties driftguard models or read-only ones."
        ),
        "type": "object",
    }
    return {
        "$schema": DRAFT,
        "$id": "https://driftguard.invalid/schema/connector.schema.json",
        "title": "driftguard baseline: one Exchange Online inbound connector",
        "description": (
            "Keys are Set-InboundConnector parameter names. A key left out means the service "
            "default. Read-only properties are not allowed, except Guid as a pin. Properties "
            f"driftguard does not model may be pinned under {UNMODELLED}."
        ),
        "type": "object",
        "required": list(REQUIRED_IN_BASELINE),
        "additionalProperties": False,
        "properties": properties,
    }


def write_connector_schema(path: Path | None = None) -> Path:
    from driftguard.fsutil import write_atomic

    target = path or SCHEMA_DIR / "connector.schema.json"
    write_atomic(target, json.dumps(connector_schema(), indent=2) + "\n")
    return target


# --------------------------------------------------------------------------- validation


@cache
def packaged_schema(name: str) -> dict[str, Any]:
    """``connector`` or ``tenant``: the packaged schema document."""
    data: dict[str, Any] = json.loads(
        (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    )
    return data


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(packaged_schema(name))


def schema_problems(name: str, doc: Document) -> list[Problem]:
    """Every schema violation of ``doc`` against schema ``name``, each at its key or value."""
    if surely_valid(packaged_schema(name), doc.data):
        return []  # the common case, without paying for jsonschema
    validator = _validator(name)
    problems: list[Problem] = []
    for error in validator.iter_errors(doc.data):
        problems.extend(_problems_for(error, doc))
    return sorted(set(problems), key=lambda p: (p.line, p.column, p.message))


def _problems_for(error: Any, doc: Document) -> Iterable[Problem]:
    at: JsonPath = tuple(error.absolute_path)
    where = _dotted(at)
    kind = error.validator
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        instance = error.instance if isinstance(error.instance, Mapping) else {}
        for key in instance:
            if key in allowed:
                continue
            loc = doc.key_at((*at, key))
            yield Problem(loc.path, loc.line, loc.column, _unknown_key(key, allowed, at))
        return
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        loc = doc.value_at(at)
        for key in missing:
            inside = f" in {where}" if where else ""
            yield Problem(loc.path, loc.line, loc.column, f"missing required key {key}{inside}")
        return
    loc = doc.value_at(at)
    if not at and not isinstance(error.instance, dict | list):
        # The whole file is one value: likely not YAML at all (a key, a token); quote none of it.
        message = f"file: expected {_TYPE_WORDS['object']}, got {_kind_only(error.instance)}"
        yield Problem(loc.path, loc.line, loc.column, message)
        return
    label = where or "file"
    yield Problem(loc.path, loc.line, loc.column, f"{label}: {_message(error)}")


def _kind_only(value: Any) -> str:
    if isinstance(value, str):
        return f"one text of {len(value)} characters (is this a YAML file of keys and values?)"
    return f"a single {type(value).__name__}"


def _message(error: Any) -> str:
    value = error.instance
    match error.validator:
        case "type":
            expected = error.validator_value
            words = [expected] if isinstance(expected, str) else list(expected)
            wanted = " or ".join(_TYPE_WORDS.get(w, w) for w in words)
            return f"expected {wanted}, got {_kind(value)}"
        case "pattern" if error.validator_value == NOT_BLANK:
            return "must not be blank"
        case "pattern" | "enum" | "const":
            title = error.schema.get("title")
            if title:
                return f"{_short(value)} is not {title}"
            if error.validator == "enum":
                return f"{_short(value)} is not one of {', '.join(map(str, error.validator_value))}"
            return f"{_short(value)} is not valid here"
        case "minItems" | "minLength":
            return "must not be empty"
    return str(error.message)


_TYPE_WORDS = {
    "string": "text",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping of keys",
    "null": "nothing",
    "integer": "a whole number",
    "number": "a number",
}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (write it in quotes if you mean text)"
    if isinstance(value, int | float):
        return f"the number {_short(value)} (write it in quotes if you mean text)"
    if isinstance(value, str):
        return f"text {_short(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} ({_short(str(value))}; write it in quotes if you mean text)"


def _short(value: Any) -> str:
    return shown(value)


def _dotted(at: JsonPath) -> str:
    out = ""
    for part in at:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _unknown_key(key: str, allowed: list[str], at: JsonPath) -> str:
    where = f" in {_dotted(at)}" if at else ""
    if not at and key.lower() in _READ_ONLY_LOWER:
        return (
            f"{key} is read-only (the service sets it); remove it (only Guid may be kept, as a pin)"
        )
    if key.lower() in _SECRET_KEYS and _SECRET_KEYS[key.lower()] in allowed:
        return (
            f"{key}: secrets never go in a baseline; put it in an environment variable and "
            f"name the variable in {_SECRET_KEYS[key.lower()]}"
        )
    return f"unknown key {_short(key)}{where}{suggest(key, allowed)}"


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean X?"`` for the closest choice (case-insensitive), or ``""``."""
    by_lower = {c.lower(): c for c in choices}
    if word.lower() in by_lower:
        return f"; did you mean {by_lower[word.lower()]}?"
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]}?" if close else ""


if __name__ == "__main__":  # pragma: no cover - regenerates the packaged schema
    write_connector_schema()
