"""Generic kind ``file``: a path or glob exists or is absent, with owner, group, a maximum
mode, the immutable attribute, and lines that must or must not match a regex.

    - id: site.files.cron-allow
      kind: file
      parameters: {path: /etc/cron.allow, owner: root, mode_max: "0600",
                   must_match: ["^root$"], must_not_match: ["^\\+"]}
"""

from __future__ import annotations

from hostaudit.model import Evidence, Result, ev
from hostaudit.registry import kind

# An image root on disk or a disk image keeps inode flags (an archive cannot carry them: its
# host says so and the verdict is not_applicable); say where the flag was read.
IMAGE_NOTE = " (image mode reads the flag of the image's own files)"
# Absolute, and no ".." component: a pattern never leaves the target's root.
_PATH = r"^/(?!(.*/)?\.\.(/|$))"
_STATE_KEYS = ("owner", "group", "mode_max", "must_match", "must_not_match")


def _searched(lines: dict, regex: str, path: str, match: dict, unknown: list, evidence: list) -> dict | None:
    """What searching ``path`` for ``regex`` found, or None when it could not be searched
    (then why is added to ``unknown`` and ``evidence``: never taken as "no line matches")."""
    found = lines.get(regex, {}).get(path)
    if found is None or "error" in found:
        why = (found or {}).get("error", f"a {match['type']}, not a regular file")
        unknown.append(f"{path}: cannot search for {regex!r}: {why}")
        evidence.append(ev(path, f"cannot search: {why}"))
        return None
    return found


def _unsearched(path: str, regex: str, found: dict, unknown: list, evidence: list) -> None:
    """No line matched, but not every line was searched: undecided, with what was left."""
    unknown.append(f"{path}: cannot search for {regex!r}: {found['unsearched']}")
    evidence.append(ev(path, f"cannot search: {found['unsearched']}"))


def immutable_result(info: dict, mode: str) -> Result:
    """The verdict on one file's immutable attribute (a ``file_attrs`` entry)."""
    expected = f"immutable attribute set (chattr +i {info['path']})"
    where = f"{info['path']} -> {info['target']}" if info.get("target") else info["path"]
    if not info["exists"]:
        return Result.failed(f"{info['path']} does not exist",
                             evidence=[ev(where, "no such file")], expected=expected)
    if "not_carried" in info:
        return Result.not_applicable(f"{where}: {info['not_carried']}, so whether it is immutable "
                                     "is unknown", evidence=[ev(where, info["not_carried"])])
    if "error" in info:
        return Result.error(f"cannot read the attributes of {where}: {info['error']}",
                            evidence=[ev(where, info["error"])], expected=expected)
    extra = ", append-only" if info["append_only"] else ""
    if info["immutable"]:
        return Result.passed(f"{where} is immutable",
                             evidence=[ev(where, f"flags: immutable{extra}")], expected=expected)
    note = IMAGE_NOTE if mode == "image" else ""
    return Result.failed(f"{where} is not immutable{note}",
                         evidence=[ev(where, f"flags: not immutable{extra}")], expected=expected)


def _is_glob(path: str) -> bool:
    return any(ch in path for ch in "*?[")


def _needs_state(params: dict) -> bool:
    """Only ``immutable`` on one plain path is answered by the attribute probe alone."""
    return not (params.get("immutable") and params["state"] == "present"
                and not _is_glob(params["path"])
                and all(params.get(k) is None for k in _STATE_KEYS))


def _want_state(params: dict) -> dict | None:
    if not _needs_state(params):
        return None
    regexes = [*(params.get("must_match") or []), *(params.get("must_not_match") or [])]
    return {"paths": [params["path"]],
            "lines": [{"path": params["path"], "regex": r} for r in regexes]}


def _want_attrs(params: dict) -> dict | None:
    return {"paths": [params["path"]]} if params.get("immutable") and params["state"] == "present" else None


def _name_of(table: list[dict], number: int, id_field: str) -> str | None:
    return next((e["name"] for e in table if e.get(id_field) == number and not e.get("malformed")), None)


def _ownership(kind_name: str, wanted, number: int, table: list[dict], id_field: str) -> tuple[str, str | None]:
    """``owner root (0)`` and the problem, if ``number`` is not the ``wanted`` name or number."""
    name = _name_of(table, number, id_field)
    shown = f"{name} ({number})" if name else str(number)
    holds = number == wanted if isinstance(wanted, int) else name == wanted
    return f"{kind_name} {shown}", None if holds else f"{kind_name} is {shown}, not {wanted}"


def _names(facts, fact: str, table: str, wanted) -> list[dict]:
    """The account table a name is looked up in; a number needs none (and no account file)."""
    return facts[fact][table] if isinstance(wanted, str) else []


def _judge_file(match: dict, params: dict, facts, lines: dict) -> tuple[list[str], list[str], list[Evidence]]:
    """Problems, reasons it cannot be decided, and evidence for one existing file."""
    path = match["path"]
    where = f"{path} -> {match['link']}" if match.get("link") else path
    if match["type"] == "dangling link":
        return [f"{where} is a dangling link"], [], [ev(where, "dangling link")]
    problems: list[str] = []
    unknown: list[str] = []
    seen = [match["type"]]
    if params.get("owner") is not None:
        text, problem = _ownership("owner", params["owner"], match["uid"],
                                   _names(facts, "passwd", "users", params["owner"]), "uid")
        seen.append(text)
        problems += [f"{path}: {problem}"] if problem else []
    if params.get("group") is not None:
        text, problem = _ownership("group", params["group"], match["gid"],
                                   _names(facts, "group", "groups", params["group"]), "gid")
        seen.append(text)
        problems += [f"{path}: {problem}"] if problem else []
    if params.get("mode_max") is not None:
        limit = int(params["mode_max"], 8)
        seen.append(f"mode {match['mode']:04o}")
        beyond = match["mode"] & ~limit
        if beyond:
            problems.append(f"{path}: mode {match['mode']:04o} exceeds {limit:04o} "
                            f"(extra bits {beyond:04o})")
    evidence = [ev(where, ", ".join(seen))]
    for regex in params.get("must_match") or []:
        found = _searched(lines, regex, path, match, unknown, evidence)
        if found is None:
            continue
        if found["count"]:
            first = found["lines"][0]
            evidence.append(ev(path, f"matches {regex!r}: {first['text']}", first["line"]))
        elif "unsearched" in found:
            _unsearched(path, regex, found, unknown, evidence)
        else:
            problems.append(f"{path}: no line matches {regex!r}")
            evidence.append(ev(path, f"no line matches {regex!r}"))
    for regex in params.get("must_not_match") or []:
        found = _searched(lines, regex, path, match, unknown, evidence)
        if found is None:
            continue
        if found["count"]:
            problems.append(f"{path}: {found['count']} line(s) match {regex!r}")
            evidence += [ev(path, f"matches {regex!r}: {hit['text']}", hit["line"])
                         for hit in found["lines"]]
        elif "unsearched" in found:
            _unsearched(path, regex, found, unknown, evidence)
    return problems, unknown, evidence


def _expected(params: dict) -> str:
    parts = [params["path"], "absent" if params["state"] == "absent" else "present"]
    for key in ("owner", "group", "mode_max"):
        if params.get(key) is not None:
            parts.append(f"{key} {params[key]}")
    if params.get("immutable"):
        parts.append("immutable")
    parts += [f"a line matching {r!r}" for r in params.get("must_match") or []]
    parts += [f"no line matching {r!r}" for r in params.get("must_not_match") or []]
    return ", ".join(parts)


@kind("file", needs=["file_state", "file_attrs", "passwd", "group"],
      wants={"file_state": _want_state, "file_attrs": _want_attrs,
             # names are looked up in the target's own account files; a number needs none
             "passwd": lambda p: {} if isinstance(p.get("owner"), str) else None,
             "group": lambda p: {} if isinstance(p.get("group"), str) else None},
      params={
          "path": {"type": "string", "pattern": _PATH,
                   "description": "an absolute path or glob without '..', e.g. /etc/cron.d/*"},
          "state": {"enum": ["present", "absent"], "default": "present",
                    "description": "present (default: at least one file, each as described) or absent"},
          "owner": {"anyOf": [{"$ref": "#/$defs/account_name"}, {"type": "integer", "minimum": 0}],
                    "default": None, "description": "a user name or uid, e.g. root"},
          "group": {"anyOf": [{"$ref": "#/$defs/account_name"}, {"type": "integer", "minimum": 0}],
                    "default": None, "description": "a group name or gid, e.g. root"},
          "mode_max": {"type": "string", "pattern": "^0?[0-7]{3,4}$", "default": None,
                       "description": 'the most a mode may allow, octal in quotes, e.g. "0640"'},
          "immutable": {"type": "boolean", "default": False,
                        "description": "true: the file carries the immutable attribute (chattr +i)"},
          "must_match": {"type": "array", "items": {"$ref": "#/$defs/regex"}, "default": None,
                         "description": "regular expressions each file must have a line matching"},
          "must_not_match": {"type": "array", "items": {"$ref": "#/$defs/regex"}, "default": None,
                             "description": "regular expressions no line of any file may match"},
      },
      constraints={"not": {"required": ["state", "immutable"],
                           "properties": {"state": {"const": "absent"}, "immutable": {"const": True}}},
                   "description": "an absent file cannot also be immutable"})
def file_control(facts, params) -> Result:
    """The file (or every file the glob matches) is present as described, or absent."""
    path, expected = params["path"], _expected(params)
    if not _needs_state(params):
        return immutable_result(facts["file_attrs"][path], facts.mode)
    state = facts["file_state"]["paths"][path]
    if "error" in state:
        return Result.error(f"{path}: {state['error']}", expected=expected)
    matches = state["matches"]
    if params["state"] == "absent":
        if matches:
            return Result.failed(f"{path} exists", expected=expected,
                                 evidence=[ev(m["path"], f"exists ({m['type']})") for m in matches])
        return Result.passed(f"{path} is absent", evidence=[ev(path, "absent")], expected=expected)
    if not matches:
        what = f"no file matches {path}" if _is_glob(path) else f"{path} does not exist"
        return Result.failed(what, evidence=[ev(path, "no such file")], expected=expected)
    lines = facts["file_state"]["lines"].get(path, {})
    problems: list[str] = []
    unknown: list[str] = []
    evidence: list[Evidence] = []
    for match in matches:
        more_problems, more_unknown, more_evidence = _judge_file(match, params, facts, lines)
        problems += more_problems
        unknown += more_unknown
        evidence += more_evidence
    held = f"all {len(matches)} files hold" if _is_glob(path) else "holds"
    if problems:  # a definite failure stands, whatever else could not be read
        verdict = Result.failed("; ".join(problems + unknown), evidence=evidence, expected=expected)
    elif unknown:
        verdict = Result.error("; ".join(unknown), evidence=evidence, expected=expected)
    else:
        verdict = Result.passed(f"{path}: {held}", evidence=evidence, expected=expected)
    verdicts = [verdict]
    if params.get("immutable"):
        attrs = facts["file_attrs"][path]
        verdicts += [immutable_result(a, facts.mode) for a in attrs.get("matches", [attrs])]
    return Result.combine(*verdicts)
