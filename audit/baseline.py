"""Loading baselines: YAML, validated against the shipped JSON Schema before anything runs.

A baseline may ``extends:`` another (by shipped name or by path relative to itself) and then
``drop:`` controls, ``overrides:`` severities and parameters, add ``controls:`` of its
own and ``waivers:`` (hostaudit.waivers; inherited along the chain, a dropped control's go).
A key given twice in one mapping is an error (YAML would silently keep the last).
``load_checked`` also holds the resolved baseline against this hostaudit's checks: each
automated control has one, and its parameters are exactly those the check declares, each of
its declared type. Every error names the file, the line and the JSON path, and exits 2.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import TYPE_CHECKING

from hostaudit import regex_risk
from hostaudit.errors import InputError
from hostaudit.fixes import Fix
from hostaudit.references import References
from hostaudit.regex_risk import UnsafeRegex
from hostaudit.schemas import inline_local_refs
from hostaudit.schemas import json_path as _json_path
from hostaudit.waivers import Waiver, parse_date

if TYPE_CHECKING:
    from hostaudit.registry import CheckSpec

# Values in one baseline file with its aliases expanded: the shipped one has under 2,000.
MAX_YAML_NODES = 100_000
# The shipped baseline is 73 KB; a file a thousand times that is a mistake, and is not read.
MAX_BASELINE_BYTES = 64 * 1024 * 1024
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
    manual: str = ""
    parameters: dict = field(default_factory=dict)
    references: References = field(default_factory=References)
    kind: str = ""  # a generic kind (registry.KINDS) deciding it, or "" for its own check
    fix: Fix | None = None

    @property
    def reference(self) -> str:
        """The section of the source document (the older single-string ``reference``)."""
        return self.references.document

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
            manual=data.get("manual", "").strip(),
            parameters=dict(data.get("parameters") or {}),
            references=References.from_control(data),
            kind=data.get("kind", ""),
            fix=Fix.from_dict(data.get("fix")),
        )


@dataclass(frozen=True)
class Spot:
    """Where a value was written: a baseline file (and its text) and the JSON path in it."""

    file: str
    text: str = field(repr=False)
    path: tuple = ()

    def where(self, *more) -> str:
        """``file:line`` of the value at this path extended by ``more``."""
        line = _line_of(self.text, [*self.path, *more])
        return f"{self.file}:{line}" if line else self.file

    def json_path(self, *more) -> str:
        return _json_path([*self.path, *more])


@dataclass(frozen=True)
class Origin:
    """Where a resolved control came from: its definition, and the file and path that last
    set each of its parameters (the parent's definition or a child's ``overrides:``)."""

    control: Spot
    params: Mapping[str, Spot]


@dataclass(frozen=True)
class Baseline:
    """A resolved baseline: its own name, the chain of files it came from, its controls."""

    name: str
    title: str
    files: tuple[str, ...]
    digest: str
    controls: tuple[Control, ...]
    sections: dict
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False, repr=False)
    waivers: tuple[Waiver, ...] = ()

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
    shipped = shipped_path(ref)
    if shipped is None:
        hint = did_you_mean(ref, shipped_names())
        raise InputError(
            f"no shipped baseline named {ref!r} (shipped: {', '.join(shipped_names())})",
            where=relative_to,
            hint=hint,
        )
    return shipped


def did_you_mean(word: str, choices) -> str | None:
    """A hint naming the closest of ``choices`` to a mistyped ``word``, or None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


@lru_cache(maxsize=1)
def _yaml_loader():
    """PyYAML's safe loader (the C one when built), refusing a key given twice."""
    import yaml

    class DuplicateKey(yaml.constructor.ConstructorError):
        def __init__(self, key, first, again):
            super().__init__(None, None, f"duplicate key {key!r} (first at line {first.line + 1})", again)

    class StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen: dict = {}
                for key_node, _ in node.value:
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue  # "<<" merges on purpose; its keys may be overridden
                    key = self.construct_object(key_node, deep=True)
                    try:
                        first = seen.setdefault(key, key_node)
                    except TypeError:
                        continue  # an unhashable key: the base constructor reports it
                    if first is not key_node:
                        raise DuplicateKey(key, first.start_mark, key_node.start_mark)
            return super().construct_mapping(node, deep=deep)

    # A date stays the text it was written as: ``expires: 2026-02-30`` must be told to be no
    # date, where YAML would refuse it as a timestamp or silently read a datetime.
    StrictLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in StrictLoader.yaml_implicit_resolvers.items()
    }
    StrictLoader.DuplicateKey = DuplicateKey
    return StrictLoader


def _line_of(text: str, path: list, *, key: bool = False) -> int | None:
    """1-based line of the YAML node at JSON ``path`` (walks the composed node tree); with
    ``key``, of the mapping key that names it (a mistyped key is on its own line, its value
    may start on the next)."""
    import yaml

    try:
        node = yaml.compose(text, Loader=_yaml_loader())
    except yaml.YAMLError:
        return None
    line = node.start_mark.line + 1 if node is not None else None
    for step, name in enumerate(path):
        if isinstance(node, yaml.MappingNode):
            # Scalar nodes hold text: a key read as the number 21 is the node "21".
            match = next(((k, v) for k, v in node.value if k.value == str(name)), None)
            if match is None:
                return line  # absent: point at the mapping that lacks it
            if key and step == len(path) - 1:
                return match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(name, int) and name < len(node.value):
            node = node.value[name]
        else:
            break
        line = node.start_mark.line + 1
    return line


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    from hostaudit.baselines import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    return jsonschema.Draft202012Validator(inline_local_refs(schema))


def _past_node_limit(node):
    """The node at which ``node``'s tree, every alias expanded, passes MAX_YAML_NODES values,
    or None. Aliases share nodes, so a few lines ("billion laughs") can stand for 10**9
    values that validation and error messages would walk; the count stops at the limit."""
    import yaml

    count, stack = 0, [node] if node is not None else []
    while stack:
        current = stack.pop()
        count += 1
        if count > MAX_YAML_NODES:
            return current
        if isinstance(current, yaml.MappingNode):
            stack.extend(part for pair in current.value for part in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    return None


def _read_document(path: str) -> tuple[dict, str, bytes]:
    import yaml

    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BASELINE_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read baseline: {exc.strerror}", where=path) from exc
    if len(raw) > MAX_BASELINE_BYTES:
        raise InputError(f"larger than {MAX_BASELINE_BYTES} bytes; not a baseline", where=path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Replacing the byte would load a title or parameter the author never wrote.
        byte_line = raw[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded (save the file as UTF-8)",
                         where=f"{path}:{byte_line}") from exc
    try:
        too_big = _past_node_limit(yaml.compose(text, Loader=_yaml_loader()))
        if too_big is not None:
            raise InputError(f"the document expands to more than {MAX_YAML_NODES} values (YAML aliases "
                             "repeating a structure?)", where=f"{path}:{too_big.start_mark.line + 1}")
        data = yaml.load(text, Loader=_yaml_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, _yaml_loader().DuplicateKey):
            raise InputError(problem, where=where) from exc
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


def load_checked(ref: str) -> Baseline:
    """Load a baseline and ``verify`` it against this hostaudit's checks: what every command
    that audits with a baseline (scan, baseline validate, ...) loads. Raises InputError.
    The checks must be registered first (``registry.load_all``, by the composition root)."""
    from hostaudit.registry import CHECKS, KINDS

    baseline = load(ref)
    verify(baseline, CHECKS, KINDS)
    return baseline


def verify(baseline: Baseline, checks: Mapping[str, CheckSpec],
           kinds: Mapping[str, CheckSpec] | None = None) -> None:
    """Every automated control of ``baseline`` has a check in ``checks`` (or, with
    ``kind:``, a generic kind in ``kinds`` that can decide in its modes), and its parameters
    are exactly those the check declares, each of its declared type.

    Raises InputError at the first problem (file:line where the value was written, which may
    be a parent baseline or a child's ``overrides:``, and its JSON path), counting the rest.
    """
    from hostaudit import __version__

    problems: list[InputError] = []
    for control in baseline.controls:
        if control.manual:
            continue
        origin = baseline.origins.get(control.id) or Origin(Spot(baseline.files[-1], ""), {})
        if control.kind:
            spec = (kinds or {}).get(control.kind)
            if spec is None:
                problems.append(InputError(
                    f"{origin.control.json_path('kind')}: control {control.id!r}: no generic kind "
                    f"{control.kind!r} (kinds: {', '.join(sorted(kinds or {}))})",
                    where=origin.control.where("kind"),
                    hint=did_you_mean(control.kind, kinds or {}),
                ))
                continue
            beyond = [m for m in control.modes if m not in spec.modes]
            if beyond:
                problems.append(InputError(
                    f"{origin.control.json_path('modes')}: control {control.id!r}: kind "
                    f"{control.kind!r} cannot decide in {', '.join(beyond)} mode (it can in "
                    f"{', '.join(spec.modes)})",
                    where=origin.control.where("modes"),
                ))
            problems.extend(_parameter_problems(control, spec, origin))
            continue
        spec = checks.get(control.id)
        if spec is None:
            problems.append(InputError(
                f"{origin.control.json_path('id')}: control {control.id!r} has no check in "
                f"hostaudit {__version__}",
                where=origin.control.where("id"),
                hint=did_you_mean(control.id, checks),
            ))
            continue
        problems.extend(_parameter_problems(control, spec, origin))
    if problems:
        first = problems[0]
        if len(problems) > 1:
            more = f" (and {len(problems) - 1} more)"
            raise InputError(first.message + more, where=first.where, hint=first.hint)
        raise first


@lru_cache(maxsize=1)
def _params_validator_class():
    """Draft 2020-12, except that 2222.0 is not an integer (a port or a count is whole)."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
    return jsonschema.validators.extend(base, type_checker=checker)


def _expectation(schema) -> str:
    """What a right value looks like: the fragment's description, or the fragment itself."""
    from hostaudit.paramtypes import DEFS

    if not isinstance(schema, Mapping):
        return json.dumps(schema)
    if "description" in schema:
        return str(schema["description"])
    if "properties" in schema:
        return "a mapping with keys " + ", ".join(schema["properties"])
    ref = str(schema.get("$ref", ""))
    if ref.startswith("#/$defs/") and "description" in DEFS.get(ref[len("#/$defs/"):], {}):
        return str(DEFS[ref[len("#/$defs/"):]]["description"])
    return json.dumps(schema, sort_keys=True)


@lru_cache(maxsize=1)
def _regex_format_checker():
    """jsonschema's format checker for "regex": compiles, and is not a catastrophic shape."""
    import jsonschema

    checker = jsonschema.FormatChecker([])
    checker.checks("regex", raises=(re.error, UnsafeRegex))(lambda value: not isinstance(value, str)
                                                            or regex_risk.check(value) is None)
    return checker


def _parameter_problems(control: Control, spec: CheckSpec, origin: Origin) -> list[InputError]:
    """The control's parameters held against the schema its check declares."""
    params, declared = control.parameters, spec.params

    # "format": "regex" is asserted: a pattern that does not compile, or that may backtrack
    # catastrophically over a target's line (hostaudit.regex_risk), is refused here.
    validator = _params_validator_class()(spec.params_schema(), format_checker=_regex_format_checker())
    problems = []
    # Missing and unknown names are told here, by name; jsonschema then judges the values.
    for name in spec.required_params:
        if name not in params:
            spot = origin.control
            problems.append(InputError(
                f"{spot.json_path('parameters')}: control {control.id!r} needs parameter {name!r} "
                f"({_expectation(declared[name])})",
                where=spot.where("parameters"),
            ))
    for name in params:
        if name not in declared:
            spot = origin.params.get(name) or origin.control
            takes = f"takes parameters {', '.join(declared)}" if declared else "takes no parameters"
            problems.append(InputError(
                f"{spot.json_path()}: unknown parameter {name!r}: control {control.id!r} {takes}",
                where=spot.where(),
                hint=did_you_mean(str(name), declared),
            ))
    errors = list(validator.iter_errors(params))
    for err in [e for e in errors if not e.absolute_path and e.validator not in
                ("required", "additionalProperties")]:
        # A constraint between parameters (a kind's "anyOf"...): told at the parameters.
        spot = origin.control
        what = spec.constraints.get("description") or err.message
        problems.append(InputError(
            f"{spot.json_path('parameters')}: control {control.id!r}: {what}",
            where=spot.where("parameters"),
        ))
    errors = [e for e in errors if e.absolute_path]
    for err in sorted(errors, key=lambda e: [str(k) for k in e.absolute_path]):
        name, *rest = list(err.absolute_path)
        hint = None
        if err.validator == "additionalProperties" and isinstance(err.instance, Mapping):
            allowed = err.schema.get("properties", {})
            extra = [k for k in err.instance if k not in allowed][:1]
            rest += extra
            hint = did_you_mean(str(extra[0]), allowed) if extra else None
        spot = origin.params.get(name) or origin.control
        message = err.message
        if err.validator == "format" and isinstance(err.cause, UnsafeRegex):
            message = f"{err.instance!r} {err.cause}"
        problems.append(InputError(
            f"{spot.json_path(*rest)}: {message} (expected {_expectation(err.schema)}; "
            f"control {control.id!r})",
            where=spot.where(*rest),
            hint=hint,
        ))
    return problems


def _load_file(path: str, trail: tuple[str, ...]) -> Baseline:
    if path in trail:
        raise InputError("extends cycle: " + " -> ".join(trail + (path,)), where=path)
    if len(trail) >= MAX_EXTENDS_DEPTH:
        raise InputError(f"extends chain deeper than {MAX_EXTENDS_DEPTH}", where=path)
    data, text, raw = _read_document(path)

    if "extends" in data:
        extends_at = f"{path}:{_line_of(text, ['extends'])}"
        try:
            parent_path = resolve_reference(data["extends"], relative_to=path)
        except InputError as exc:
            raise InputError(exc.message, where=extends_at, hint=exc.hint) from None
        if parent_path in trail + (path,):
            raise InputError("extends cycle: " + " -> ".join(trail + (path, parent_path)), where=extends_at)
        parent = _load_file(parent_path, trail + (path,))
        controls = {c.id: c for c in parent.controls}
        order = list(parent.ids)
        files = parent.files + (path,)
        sections = dict(parent.sections)
        digest_parts = [parent.digest]
        origins = dict(parent.origins)
        waivers = list(parent.waivers)
    else:
        controls, order, files, sections, digest_parts, origins = {}, [], (path,), {}, [], {}
        waivers = []
    sections.update(data.get("sections") or {})

    def where(*json_path, key: bool = False) -> str:
        line = _line_of(text, list(json_path), key=key)
        return f"{path}:{line}" if line else path

    def unknown(control_id: str, *json_path, key: bool = False) -> InputError:
        return InputError(
            f"unknown control {control_id!r}",
            where=where(*json_path, key=key),
            hint=did_you_mean(control_id, order),
        )

    for index, control_id in enumerate(data.get("drop") or []):
        if control_id not in controls:
            raise unknown(control_id, "drop", index)
        del controls[control_id]
        order.remove(control_id)
        origins.pop(control_id, None)

    for control_id, change in (data.get("overrides") or {}).items():
        if control_id not in controls:
            raise unknown(control_id, "overrides", control_id, key=True)
        current = controls[control_id]
        controls[control_id] = replace(
            current,
            severity=change.get("severity", current.severity),
            title=change.get("title", current.title),
            remediation=change.get("remediation", current.remediation),
            fix=Fix.from_dict(change["fix"]) if "fix" in change else current.fix,
            parameters={**current.parameters, **(change.get("parameters") or {})},
        )
        if control_id in origins:
            set_here = {k: Spot(path, text, ("overrides", control_id, "parameters", k))
                        for k in change.get("parameters") or {}}
            origin = origins[control_id]
            origins[control_id] = Origin(origin.control, {**origin.params, **set_here})

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
        refs = item.get("references")
        if refs is not None and not (refs.get("nist_800_53") and refs.get("cis")) and not refs.get("note"):
            raise InputError(
                f"control {item['id']!r}: references without "
                f"{'NIST 800-53 IDs' if not refs.get('nist_800_53') else 'CIS numbers'} need a "
                "'note' saying why nothing (or only part) corresponds",
                where=where("controls", index, "references"),
            )
        document = (refs or {}).get("document")
        if document is not None and item.get("reference") not in (None, document):
            raise InputError(
                f"control {item['id']!r} gives its document section twice, differently: "
                f"'reference' {item['reference']!r} and 'references.document' {document!r}",
                where=where("controls", index, "references", "document"),
                hint="keep one ('reference' is the older spelling of 'references.document')",
            )
        controls[item["id"]] = Control.from_dict(item)
        order.append(item["id"])
        origins[item["id"]] = Origin(
            Spot(path, text, ("controls", index)),
            {k: Spot(path, text, ("controls", index, "parameters", k)) for k in item.get("parameters") or {}},
        )

    waivers = [w for w in waivers if w.control in controls]
    for index, item in enumerate(data.get("waivers") or []):
        if item["control"] not in controls:
            raise unknown(item["control"], "waivers", index, "control")
        expires = parse_date(item["expires"])
        if expires is None:
            raise InputError(f"{_json_path(['waivers', index, 'expires'])}: {item['expires']!r} is "
                             "not a date written YYYY-MM-DD", where=where("waivers", index, "expires"))
        waivers.append(Waiver(control=item["control"], reason=item["reason"].strip(),
                              approved_by=item["approved_by"], expires=expires,
                              match=dict(item.get("match") or {}), source=where("waivers", index)))

    digest_parts.append(hashlib.sha256(raw).hexdigest())
    digest = hashlib.sha256("\n".join(digest_parts).encode()).hexdigest()
    return Baseline(
        name=data["name"],
        title=data.get("title", data["name"]),
        files=files,
        digest=f"sha256:{digest}",
        controls=tuple(controls[i] for i in order),
        sections=sections,
        origins=origins,
        waivers=tuple(waivers),
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
