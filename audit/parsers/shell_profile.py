"""Shell start-up files (/etc/profile, profile.d, bashrc): how they set chosen variables.

A small statement reader, not a shell: it understands the forms admins write for TMOUT and
HISTSIZE (``X=v``, ``export X[=v]``, ``readonly X[=v]``, ``declare -x X=v``, ``typeset -rx``,
several statements joined by ``;``), and notices ``X v`` without ``=``, which a shell runs
as a command named ``X`` and so sets nothing.
"""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ASSIGN = re.compile(rf"^({_NAME})=(.*)$")
_LEADING_KEYWORDS = {"then", "else", "do", "{"}
_SPLIT = re.compile(r";|&&|\|\|")


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _strip_comment(line: str) -> str:
    # A '#' starts a comment at the beginning of a word only ("a#b" is a word).
    match = re.search(r"(^|\s)#", line)
    return line[: match.start()] if match else line


def _statement(words: list[str], names: set[str]) -> list[dict]:
    """What one simple command does to the variables in ``names``."""
    while words and words[0] in _LEADING_KEYWORDS:
        words = words[1:]
    if not words:
        return []
    command = words[0]
    found = []
    if command in ("export", "readonly", "declare", "typeset", "local"):
        flags = "".join(w[1:] for w in words[1:] if w.startswith("-"))
        exported = command == "export" or "x" in flags
        readonly = command == "readonly" or "r" in flags
        for word in (w for w in words[1:] if not w.startswith("-")):
            assign = _ASSIGN.match(word)
            name = assign.group(1) if assign else word
            if name in names:
                found.append({
                    "var": name,
                    "value": _unquote(assign.group(2)) if assign else None,
                    "exported": exported,
                    "readonly": readonly,
                    "kind": command,
                })
        return found
    assign = _ASSIGN.match(command)
    if assign and assign.group(1) in names:
        return [{"var": assign.group(1), "value": _unquote(assign.group(2)),
                 "exported": False, "readonly": False, "kind": "assign"}]
    if command in names and len(words) == 2:
        # "TMOUT 1800": bash tries to run a command called TMOUT; nothing is set.
        return [{"var": command, "value": words[1], "exported": False, "readonly": False,
                 "kind": "not-an-assignment"}]
    return []


def parse_shell_settings(text: str, names: tuple[str, ...] | set[str]) -> list[dict]:
    """Statements touching ``names``, in order: ``{"var", "value", "exported", "readonly",
    "kind", "line", "text"}``.

    ``value`` is None for ``export X``/``readonly X``; ``kind`` is ``assign``, ``export``,
    ``readonly``, ``declare``, ``typeset``, ``local`` or ``not-an-assignment``. ``text`` is
    the source line (trimmed) for evidence. Lines that do not parse are ignored.
    """
    wanted = set(names)
    settings = []
    for number, raw in enumerate(newline_lines(text), start=1):
        code = _strip_comment(raw).strip()
        if not code or not any(name in code for name in wanted):
            continue
        for part in _SPLIT.split(code):
            for found in _statement(part.split(), wanted):
                settings.append({**found, "line": number, "text": raw.strip()[:200]})
    return settings


def history_removals(text: str) -> list[dict]:
    """Lines of a logout script that mention ``.bash_history``: ``{"line", "text",
    "commented", "removes"}``; ``removes`` is an ``rm`` of ``$HOME/``, ``${HOME}/`` or
    ``~/.bash_history``."""
    target = re.compile(r"(^|\s)(\$HOME|\$\{HOME\}|~)/\.bash_history(\s|$|;)")
    found = []
    for number, raw in enumerate(newline_lines(text), start=1):
        if ".bash_history" not in raw:
            continue
        body = raw.strip()
        commented = body.startswith("#")
        code = body.lstrip("#").strip().replace('"', "").replace("'", "")
        words = code.split()
        removes = bool(words) and words[0] in ("rm", "/bin/rm", "/usr/bin/rm") and bool(target.search(code))
        found.append({"line": number, "text": body[:200], "commented": commented, "removes": removes})
    return found


# What in a logout script keeps bash from writing the session's history when it exits (which it
# does after running .bash_logout): clearing the list, or having no history file to write.
_STOPS_HISTORY = re.compile(r"^(history\s+-c|unset\s+(-v\s+)?HISTFILE|(export\s+)?HISTFILE=(/dev/null)?"
                            r"|set\s+\+o\s+history)\s*(;|$)")


def history_clears(text: str) -> list[dict]:
    """Uncommented lines of a logout script that stop bash saving this session's history
    (``history -c``, ``unset HISTFILE``, ``HISTFILE=/dev/null``, ``set +o history``):
    ``{"line", "text"}``."""
    found = []
    for number, raw in enumerate(newline_lines(text), start=1):
        body = raw.strip()
        if _STOPS_HISTORY.match(body.replace('"', "").replace("'", "")):
            found.append({"line": number, "text": body[:200]})
    return found
