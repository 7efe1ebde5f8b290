"""Tripwire policy text (twpol.txt, or what ``twadmin --print-polfile`` prints): its rules.

The language (twpolicy(4)): ``object -> mask (attr = value, ...);`` rules, ``!object;`` stop
points, ``(attrs) { rules }`` blocks, ``NAME = value;`` variables substituted as ``$(NAME)``,
and ``@@section``/``@@ifhost``/``@@else``/``@@endif``/``@@end`` directives. Only the FS
section describes a Unix filesystem. Which rule governs a path is decided by ``coverage``:
the rule with the longest start point at or above it, as tripwire itself chooses (a more
specific rule carves its subtree out of every enclosing rule, whatever its ``recurse``).
"""

from __future__ import annotations

import re
from typing import Any

from hostaudit.parsers.lines import newline_lines

# Property letters of twpolicy(4); C, H, M and S are content hashes.
PROPERTIES = "abcdgilmnprstuCHMS"
CONTENT_PROPERTIES = frozenset("CHMS")
PREDEFINED = {
    "ReadOnly": "+pinugtsdbmCM-rlacSH",
    "Dynamic": "+pinugtd-srlbamcCMSH",
    "Growing": "+pinugtdl-srbamcCMSH",
    "Device": "+pugsdr-intlbamcCMSH",
    "IgnoreAll": "-pinugtsdrlbamcCMSH",
    "IgnoreNone": "+pinugtsdrbamcCMSH-l",
}
UNLIMITED = -1
_VAR = re.compile(r"\$\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)")
_DIRECTIVE = re.compile(r"^\s*@@\s*(\w+)\s*(.*)$")
_MAX_EXPANSION = 32


class PolicyError(ValueError):
    """The policy text cannot be read as tripwire would read it; names the line."""


def _strip_comment(line: str) -> str:
    """Text before a ``#`` that is not inside a quoted string."""
    quoted = False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return line[:index]
    return line


def _tokens(text: str, line: int):
    """(kind, value, line) for one line of rule text; words keep ``$(...)`` whole."""
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
        elif text.startswith("->", index):
            yield ("->", "->", line)
            index += 2
        elif char in ";{}(),=!":
            yield (char, char, line)
            index += 1
        elif char == '"':
            end = text.find('"', index + 1)
            if end < 0:
                raise PolicyError(f"line {line}: unterminated quoted string")
            yield ("word", text[index + 1:end], line)
            index = end + 1
        else:
            start = index
            while index < len(text) and not text[index].isspace() \
                    and text[index] not in ';{}(),=!"' and not text.startswith("->", index):
                if text.startswith("$(", index):
                    close = text.find(")", index)
                    index = close + 1 if close > 0 else len(text)
                else:
                    index += 1
            yield ("word", text[start:index], line)


def _active_lines(text: str, hostname: str | None):
    """(line number, text, condition) of the FS section's lines whose @@ifhost holds.

    With no ``hostname``, both branches of an @@ifhost are kept and carry the condition, so
    a caller can tell a verdict that depends on the host's name.
    """
    section = "FS"
    stack: list[dict] = []  # each: {"hosts": [...], "else": bool}
    for number, raw in enumerate(newline_lines(text), start=1):
        match = _DIRECTIVE.match(raw)
        if match:
            name, arg = match.group(1).lower(), _strip_comment(match.group(2)).strip()
            if name == "section":
                section = arg.upper()
            elif name == "ifhost":
                stack.append({"hosts": [h.strip().lower() for h in arg.split("||") if h.strip()], "else": False})
            elif name == "else":
                if not stack:
                    raise PolicyError(f"line {number}: @@else without @@ifhost")
                stack[-1]["else"] = True
            elif name == "endif":
                if not stack:
                    raise PolicyError(f"line {number}: @@endif without @@ifhost")
                stack.pop()
            elif name == "end":
                break
            elif name == "error":
                raise PolicyError(f"line {number}: the policy stops here with @@error {arg}")
            elif name != "print":
                raise PolicyError(f"line {number}: unknown directive @@{name}")
            continue
        if section not in ("FS", "GLOBAL"):
            continue
        conditions = []
        active = True
        for frame in stack:
            names = " || ".join(frame["hosts"])
            if hostname is None:
                conditions.append(f"{'not ' if frame['else'] else ''}@@ifhost {names}")
            elif (hostname.lower() in frame["hosts"]) == frame["else"]:
                active = False
        if active:
            yield number, _strip_comment(raw), section, " and ".join(conditions) or None
    if stack:
        raise PolicyError("@@ifhost without @@endif")


def _expand(value: str, variables: dict, line: int, *, lenient: bool = False) -> str:
    """``value`` with ``$(NAME)`` substituted. ``lenient`` keeps unknown names as written:
    object names may use variables tripwire takes from its config file or the host."""
    start = 0
    for _ in range(_MAX_EXPANSION):
        match = _VAR.search(value, start)
        if not match:
            return value
        name = match.group(1)
        if name in PREDEFINED:
            replacement = PREDEFINED[name]
        elif name in variables:
            replacement = variables[name]
        elif lenient:
            start = match.end()
            continue
        else:
            raise PolicyError(f"line {line}: undefined variable $({name})")
        value = value[:match.start()] + replacement + value[match.end():]
    raise PolicyError(f"line {line}: variables nest too deeply")


def mask_properties(mask: str) -> str:
    """The properties a mask checks, in PROPERTIES order: ``$(IgnoreNone)-SHa`` expanded
    first, then ``+pinug-s``; letters without a sign are added (twpolicy(4))."""
    checked: set[str] = set()
    adding = True
    for char in mask:
        if char == "+":
            adding = True
        elif char == "-":
            adding = False
        elif char in PROPERTIES:
            (checked.add if adding else checked.discard)(char)
        elif not char.isspace():
            raise PolicyError(f"{char!r} is not a property letter in mask {mask!r}")
    return "".join(p for p in PROPERTIES if p in checked)


def _normalise(path: str, line: int) -> str:
    if path.startswith("$("):  # a variable tripwire fills in from elsewhere: kept as written
        return path
    if not path.startswith("/"):
        raise PolicyError(f"line {line}: object name {path!r} is not an absolute path")
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise PolicyError(f"line {line}: object name {path!r} contains '..'")
    return "/" + "/".join(parts)


def _recurse(value: str, line: int) -> int:
    value = value.strip().lower()
    if value == "true":
        return UNLIMITED
    if value == "false":
        return 0
    if re.fullmatch(r"-?\d+", value) and -1 <= int(value) <= 1_000_000:
        return int(value)
    raise PolicyError(f"line {line}: recurse={value!r} is not true, false or -1..1000000")


def _attributes(tokens: list, line: int) -> dict:
    """``name = value, ...`` (the text between parentheses) as a lower-cased dict."""
    attrs: dict = {}
    current: list = []
    for kind, value, _ in tokens + [(",", ",", line)]:
        if kind != ",":
            current.append(value)
            continue
        if not current:
            continue
        if len(current) != 3 or current[1] != "=":
            raise PolicyError(f"line {line}: malformed attribute {' '.join(current)!r}")
        attrs[current[0].lower()] = current[2]
        current = []
    return attrs


def parse_policy(text: str, *, hostname: str | None = None) -> list[dict]:
    """The FS rules of a tripwire policy, in order.

    Each rule: ``path`` (variables substituted, normalised), ``stop`` (a ``!`` stop point),
    ``mask`` (the written mask), ``properties`` (what it checks, see ``mask_properties``;
    empty for stop points), ``recurse`` (-1 unlimited), ``line`` and ``condition`` (the
    @@ifhost it depends on when ``hostname`` is unknown, else None). Raises PolicyError,
    naming the line, on text tripwire would refuse.
    """
    # tripwire predefines HOSTNAME as the name of the host it runs on.
    variables: dict = {"HOSTNAME": hostname} if hostname else {}
    rules: list[dict] = []
    stream: list = []
    for number, line_text, section, condition in _active_lines(text, hostname):
        stream.extend((kind, value, number, section, condition) for kind, value, number in _tokens(line_text, number))
    blocks: list[dict] = []  # attribute dicts of the enclosing ( ... ) { ... } blocks
    index = 0
    while index < len(stream):
        # One statement: up to ';', or a block opener '( ... ) {', or a '}'.
        kind, value, line, section, condition = stream[index]
        if kind == "}":
            if not blocks:
                raise PolicyError(f"line {line}: '}}' without a block")
            blocks.pop()
            index += 1
            continue
        if kind == "(":
            close = next((j for j in range(index, len(stream)) if stream[j][0] == ")"), None)
            if close is None or close + 1 >= len(stream) or stream[close + 1][0] != "{":
                raise PolicyError(f"line {line}: attribute list not followed by a block")
            attrs = _attributes([(k, _expand(v, variables, ln), ln) for k, v, ln, *_ in stream[index + 1:close]], line)
            blocks.append({**(blocks[-1] if blocks else {}), **attrs})
            index = close + 2
            continue
        end = next((j for j in range(index, len(stream)) if stream[j][0] in (";", "{", "}")), None)
        if end is None or stream[end][0] != ";":
            raise PolicyError(f"line {line}: statement without a terminating ';'")
        statement = [(k, v, ln) for k, v, ln, *_ in stream[index:end]]
        index = end + 1
        if not statement:
            continue
        kinds = [k for k, _, _ in statement]
        if len(statement) >= 2 and kinds[0] == "word" and kinds[1] == "=" and "->" not in kinds:
            variables[statement[0][1]] = _expand(" ".join(v for _, v, _ in statement[2:]), variables, line)
            continue
        if section != "FS":
            raise PolicyError(f"line {line}: only variables may be defined in @@section GLOBAL")
        attrs = dict(blocks[-1]) if blocks else {}
        if kinds[0] == "!":
            if len(statement) != 2 or kinds[1] != "word":
                raise PolicyError(f"line {line}: malformed stop point")
            path = _normalise(_expand(statement[1][1], variables, line, lenient=True), line)
            rules.append({"path": path, "stop": True,
                          "mask": "", "properties": "", "recurse": 0, "line": line, "condition": condition})
            continue
        if "->" not in kinds or kinds.index("->") != 1 or kinds[0] != "word":
            raise PolicyError(f"line {line}: expected 'object -> mask;' in "
                              f"{' '.join(v for _, v, _ in statement)!r}")
        rest = statement[2:]
        if "(" in kinds[2:]:
            open_at = kinds.index("(", 2) - 2
            if not rest or rest[-1][0] != ")":
                raise PolicyError(f"line {line}: unterminated rule attributes")
            attrs.update(_attributes([(k, _expand(v, variables, ln), ln) for k, v, ln in rest[open_at + 1:-1]], line))
            rest = rest[:open_at]
        mask = " ".join(v for _, v, _ in rest).strip()
        if not mask:
            raise PolicyError(f"line {line}: rule without a property mask")
        try:
            properties = mask_properties(_expand(mask, variables, line))
        except PolicyError as exc:
            raise PolicyError(f"line {line}: {exc}") from None
        rules.append({"path": _normalise(_expand(statement[0][1], variables, line, lenient=True), line), "stop": False,
                      "mask": mask, "properties": properties,
                      "recurse": _recurse(attrs.get("recurse", "true"), line),
                      "line": line, "condition": condition})
    if blocks:
        raise PolicyError("a rule block is not closed with '}'")
    return rules


def _known_prefix(path: str) -> str:
    """The directories of an object name before its first unresolved ``$(NAME)``."""
    if "$(" not in path:
        return path
    return path[:path.index("$(")].rsplit("/", 1)[0] or "/"


def _within(path: str, ancestor: str) -> bool:
    return ancestor == "/" or path == ancestor or path.startswith(ancestor + "/")


def _depth(path: str) -> int:
    return 0 if path == "/" else path.count("/")


def coverage(rules: list[dict], path: str) -> dict:
    """How tripwire treats ``path`` and the entries directly inside it.

    ``{"rule": the governing rule or None, "reason": why not covered or "", "holes":
    [stop points and weaker rules inside path's tree], "conditional": [rules whose
    @@ifhost could change this]}``. The governing rule is the one with the longest start
    point at or above ``path``; its recurse must reach one level below ``path``, and no
    stop point may lie between its start and ``path``.
    """
    path = _normalise(path, 0)
    normal = [r for r in rules if not r["stop"] and _within(path, r["path"])]
    conditional = [r for r in rules if (r["condition"] or "$(" in r["path"])
                   and (_within(path, _known_prefix(r["path"])) or _within(_known_prefix(r["path"]), path))]
    rules = [r for r in rules if "$(" not in r["path"]]
    result: dict[str, Any] = {"rule": None, "reason": "", "holes": [], "conditional": conditional}
    if not normal:
        result["reason"] = f"no rule covers {path}"
        return result
    rule = max(normal, key=lambda r: len(r["path"]))
    result["rule"] = rule
    needed = _depth(path) - _depth(rule["path"]) + 1
    if rule["recurse"] != UNLIMITED and rule["recurse"] < needed:
        result["reason"] = (f"the rule for {rule['path']} has recurse={rule['recurse']}, "
                            f"which does not reach the files in {path}")
        return result
    for stop in rules:
        if stop["stop"] and _within(path, stop["path"]) and _within(stop["path"], rule["path"]):
            result["reason"] = f"the stop point !{stop['path']} excludes {path}"
            return result
    result["holes"] = [r for r in rules if r["path"] != path and _within(r["path"], path)
                       and (r["stop"] or not CONTENT_PROPERTIES & set(r["properties"]))]
    return result
