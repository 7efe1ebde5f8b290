"""JSON Schema helpers the baseline loader and the report writer share: where an error is
(a JSON path as messages print it) and a faster validator for a schema with local ``$defs``.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Deeper than any schema shipped here nests its definitions; guards a recursive $ref.
_MAX_INLINE_DEPTH = 16


def json_path(path) -> str:
    """``$.results[3].status``; a key that is no plain name is quoted, so a control ID with
    dots reads ``$.overrides['ssh.port']``, not ``$.overrides.ssh.port``."""
    out = "$"
    for key in path:
        if isinstance(key, int):
            out += f"[{key}]"
        elif _PLAIN_KEY.match(str(key)):
            out += f".{key}"
        else:
            out += f"[{str(key)!r}]"
    return out


# Far deeper than anything hostaudit writes (a report's facts, a bundle), far shallower than
# Python's recursion limit, which reading it back (validation, redaction, comparison) would
# otherwise meet as a crash.
MAX_DEPTH = 64


def nested_too_deep(value, limit: int = MAX_DEPTH) -> str | None:
    """Why ``value`` (parsed JSON) is nested too deeply, naming the JSON path of the first
    container deeper than ``limit`` (cut after 8 steps), or None. Iterative: it must not
    itself be what recursion stops. Depths only, on the common path (a fleet reads thousands
    of reports); the path is traced only for the one that is too deep."""
    containers = (dict, list)
    stack = [(value, 0)] if isinstance(value, containers) else []
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return f"{_path_deeper_than(value, limit)}: nested more than {limit} levels deep"
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, containers))
    return None


def _path_deeper_than(value, limit: int) -> str:
    stack: list[tuple[Any, list]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > limit:
            break
        if isinstance(item, dict):
            stack.extend((v, path + [k]) for k, v in item.items() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend((v, path + [i]) for i, v in enumerate(item) if isinstance(v, (dict, list)))
    return json_path(path[:8]) + ("..." if len(path) > 8 else "")


def inline_local_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with each bare ``{"$ref": "#/$defs/name"}`` replaced by that definition.

    Same meaning, validated about twice as fast: jsonschema resolves a ``$ref`` anew at every
    instance, which dominates a baseline or report of hundreds of controls. A ``$ref`` with
    sibling keywords, or nested deeper than a recursive schema allows, is left to resolve.
    """
    defs = schema.get("$defs", {})

    def walk(node: Any, depth: int) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if (len(node) == 1 and isinstance(ref, str) and ref.startswith("#/$defs/")
                    and ref[len("#/$defs/"):] in defs and depth < _MAX_INLINE_DEPTH):
                return walk(defs[ref[len("#/$defs/"):]], depth + 1)
            return {k: v if k == "$defs" else walk(v, depth) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, depth) for v in node]
        return node

    return walk(schema, 0)
