"""Loading baselines: YAML, validated against the shipped JSON Schema before anything runs.

A baseline may ``extends:`` another (by shipped name or by path relative to itself) and then
``drop:`` controls, ``overrides:`` severities and parameters, and add ``controls:`` of its
own. Every error names the file, the line and the JSON path, and exits 2.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from functools import lru_cache

from hostaudit.errors import InputError

MAX_EXTENDS_DEPTH = 8


@dataclass(frozen=True)
class Control:
    """One control of a baseline: its words (title, rationale...) and its parameters."""

    id: str
    title: str
    section: str
    severity: str
    modes: tuple[str, ...]
    rationale: str
    remediation: str = ""
    reference: str = ""
    manual: str = ""
    parameters: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict) -> Control:
        return cls(
            id=data["id"],
            title=data["title"],
            section=data["section"],
            severity=data["severity"],
            modes=tuple(data["modes"]),
            rationale=data["rationale"].strip(),
            remediation=data.get("remediation", "").strip(),
            reference=data.get("reference", ""),
            manual=data.get("manual", "").strip(),
            parameters=dict(data.get("parameters") or {}),
        )


@dataclass(frozen=True)
class Baseline:
    """A resolved baseline: its own name, the chain of files it came from, its controls."""

    name: str
    title: str
    files: tuple[str, ...]
    digest: str
    controls: tuple[Control, ...]
    sections: dict

    def control(self, control_id: str) -> Control:
        for c in self.controls:
            if c.id == control_id:
                return c
        raise KeyError(control_id)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.controls]


def shipped_path(name: str) -> str | None:
    """Path of a shipped baseline called ``name`` (``gcux-qmail``), or None."""
    from hostaudit.baselines import DIRECTORY

    path = DIRECTORY / f"{name}.yaml"
    return str(path) if path.is_file() else None


def shipped_names() -> list[str]:
    from hostaudit.baselines import DIRECTORY

    return sorted(p.stem for p in DIRECTORY.glob("*.yaml"))


def resolve_reference(ref: str, *, relative_to: str | None = None) -> str:
    """Turn ``--baseline NAME|PATH`` (or an ``extends:`` value) into a file path."""
    if os.sep in ref or ref.endswith((".yaml", ".yml")):
        base = os.path.dirname(relative_to) if relative_to else os.getcwd()
        path = os.path.normpath(os.path.join(base, ref))
        if not os.path.isfile(path):
            raise InputError(f"baseline file not found: {path}", where=relative_to)
        return path
    path = shipped_path(ref)
    if path is None:
        hint = did_you_mean(ref, shipped_names())
        raise InputError(
            f"no shipped baseline named {ref!r} (shipped: {', '.join(shipped_names())})",
            where=relative_to,
            hint=hint,
        )
    return path


def did_you_mean(word: str, choices) -> str | None:
    """A hint naming the closest of ``choices`` to a mistyped ``word``, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _yaml_loader():
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_of(text: str, path: list) -> int | None:
    """1-based line of the YAML node at JSON ``path`` (walks the composed node tree)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for key in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                # The key itself is what is wrong (an unknown property): point at it.
                keynode = next((k for k, _ in node.value if k.value == key), None)
                return keynode.start_mark.line + 1 if keynode else line
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _json_path(path) -> str:
    out = "$"
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else f".{key}"
    return out


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    from hostaudit.baselines import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(schema)


def _read_document(path: str) -> tuple[dict, str, bytes]:
    import yaml

    try:
        raw = open(path, "rb").read()
    except OSError as exc:
        raise InputError(f"cannot read baseline: {exc.strerror}", where=path) from exc
    text = raw.decode("utf-8", errors="replace")
    try:
        data = yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError(f"malformed YAML: {problem}", where=where) from exc
    if not isinstance(data, dict):
        raise InputError("a baseline is a YAML mapping with at least a 'name'", where=f"{path}:1")
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        loc = list(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = err.schema.get("properties", {})
            extra = [k for k in err.instance if k not in allowed]
            if extra:
                loc.append(extra[0])
        line = _line_of(text, loc)
        where = f"{path}:{line}" if line else path
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InputError(f"{_json_path(loc)}: {err.message}{more}", where=where)
    return data, text, raw


def load(ref: str) -> Baseline:
    """Load and resolve a baseline by shipped name or path. Raises InputError on bad input."""
    path = resolve_reference(ref)
    return _load_file(path, trail=())


def _load_file(path: str, trail: tuple[str, ...]) -> Baseline:
    if path in trail:
        raise InputError("extends cycle: " + " -> ".join(trail + (path,)), where=path)
    if len(trail) >= MAX_EXTENDS_DEPTH:
        raise InputError(f"extends chain deeper than {MAX_EXTENDS_DEPTH}", where=path)
    data, text, raw = _read_document(path)

    if "extends" in data:
        parent = _load_file(resolve_reference(data["extends"], relative_to=path), trail + (path,))
        controls = {c.id: c for c in parent.controls}
        order = list(parent.ids)
        files = parent.files + (path,)
        sections = dict(parent.sections)
        digest_parts = [parent.digest]
    else:
        controls, order, files, sections, digest_parts = {}, [], (path,), {}, []
    sections.update(data.get("sections") or {})

    def where(*json_path) -> str:
        line = _line_of(text, list(json_path))
        return f"{path}:{line}" if line else path

    def unknown(control_id: str, *json_path) -> InputError:
        return InputError(
            f"unknown control {control_id!r}",
            where=where(*json_path),
            hint=did_you_mean(control_id, order),
        )

    for index, control_id in enumerate(data.get("drop") or []):
        if control_id not in controls:
            raise unknown(control_id, "drop", index)
        del controls[control_id]
        order.remove(control_id)

    for control_id, change in (data.get("overrides") or {}).items():
        if control_id not in controls:
            raise unknown(control_id, "overrides", control_id)
        current = controls[control_id]
        controls[control_id] = replace(
            current,
            severity=change.get("severity", current.severity),
            title=change.get("title", current.title),
            remediation=change.get("remediation", current.remediation),
            parameters={**current.parameters, **(change.get("parameters") or {})},
        )

    for index, item in enumerate(data.get("controls") or []):
        if item["id"] in controls:
            raise InputError(
                f"control {item['id']!r} is defined twice (to change an inherited control, "
                "use 'overrides:')",
                where=where("controls", index, "id"),
            )
        if item.get("manual") is None and not item["modes"]:
            raise InputError(
                f"control {item['id']!r} has no modes and no 'manual' procedure",
                where=where("controls", index, "modes"),
            )
        controls[item["id"]] = Control.from_dict(item)
        order.append(item["id"])

    digest_parts.append(hashlib.sha256(raw).hexdigest())
    digest = hashlib.sha256("\n".join(digest_parts).encode()).hexdigest()
    return Baseline(
        name=data["name"],
        title=data.get("title", data["name"]),
        files=files,
        digest=f"sha256:{digest}",
        controls=tuple(controls[i] for i in order),
        sections=sections,
    )


def select(baseline: Baseline, only: list[str] | None, skip: list[str] | None) -> list[Control]:
    """Controls chosen by ``--only``/``--skip``: exact IDs, or prefixes ending in ``.``.

    A selector that matches nothing is an InputError naming the nearest ID.
    """

    def matches(selector: str, control_id: str) -> bool:
        if selector.endswith("."):
            return control_id.startswith(selector)
        return control_id == selector or control_id.startswith(selector + ".")

    for option, selectors in (("--only", only or []), ("--skip", skip or [])):
        for selector in selectors:
            if not any(matches(selector, i) for i in baseline.ids):
                raise InputError(
                    f"{option} {selector!r} matches no control of baseline {baseline.name!r}",
                    hint=did_you_mean(selector, baseline.ids),
                )
    chosen = [
        c
        for c in baseline.controls
        if (not only or any(matches(s, c.id) for s in only))
        and not any(matches(s, c.id) for s in (skip or []))
    ]
    return chosen
