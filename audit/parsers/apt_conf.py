"""apt.conf(5) fragments: ``A::B "value";`` and the nested ``A { B "value"; };`` form."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

_TOKEN = re.compile(r'"[^"]*"|[{};]|[^\s{};"]+')


def _tokens(text: str):
    """(token, line) pairs with //, # and /* */ comments removed (quotes protect them)."""
    in_block = False
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw
        if in_block:
            end = line.find("*/")
            if end == -1:
                continue
            line, in_block = line[end + 2:], False
        if line.lstrip().startswith("#"):
            continue  # a comment, or a #clear/#include directive we do not follow
        for match in _TOKEN.finditer(line):
            token = match.group(0)
            if token.startswith("//"):
                break
            if token.startswith("/*"):
                rest = line[match.start() + 2:]
                in_block = "*/" not in rest
                break
            yield token, number


def parse_apt_conf(text: str) -> dict[str, dict]:
    """Scalar settings of one file: ``{lowercased full key: {"key", "value", "line"}}``.

    Later assignments in the file override earlier ones, as apt does. List items (bare
    strings inside a scope) are not settings and are left out. Raises ValueError on
    unbalanced braces, naming the line.
    """
    settings: dict[str, dict] = {}
    scope: list[str] = []
    words: list[tuple[str, int]] = []
    for token, number in _tokens(text):
        if token == "{":
            if not words or words[0][0].startswith('"'):
                raise ValueError(f"line {number}: '{{' without a name")
            scope.append(words[0][0])
            words = []
        elif token == "}":
            if not scope:
                raise ValueError(f"line {number}: '}}' without an opening brace")
            scope.pop()
            words = []
        elif token == ";":
            if len(words) == 2 and not words[0][0].startswith('"'):
                key = "::".join(scope + [words[0][0]])
                settings[key.lower()] = {"key": key, "value": words[1][0].strip('"'), "line": words[0][1]}
            words = []
        else:
            words.append((token, number))
    if scope:
        raise ValueError(f"unclosed scope {'::'.join(scope)!r} at end of file")
    return settings
