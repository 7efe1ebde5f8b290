"""Lines of a text file that match a regular expression: cited as evidence (clipped), or
judged by a check (whole, or refused)."""

from __future__ import annotations

import re
import time

from hostaudit.errors import LineTooLong

# Enough to cite; a file matching on every line does not fill the report.
MAX_CITED = 5
MAX_TEXT = 200


def newline_lines(text: str) -> list[str]:
    """The lines of ``text`` as the programs reading a configuration file see them (fgets,
    getline): ended by a newline only. ``str.splitlines`` also ends one at a form feed,
    vertical tab, \\x1c-\\x1e, U+0085, U+2028 and U+2029, so ``#\\fPort 2112`` would read as
    a comment and a setting the program never sees."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def matching_lines(text: str, pattern: str) -> dict:
    """``{"count": n, "lines": [{"line": 1-based, "text": clipped}]}`` of the lines of
    ``text`` that ``pattern`` matches (``re.search``), the first ``MAX_CITED`` cited.

    The pattern is the site's, the lines the target's: a line can be built to make an
    innocent regex backtrack (``\\s+$`` over a megabyte of spaces takes hours). A line longer
    than ``SEARCHED_CHARS`` is not searched, and the search stops after ``SEARCH_SECONDS``;
    either way ``"unsearched"`` says what was left, so a match found stands but no match is
    not an answer."""
    regex = re.compile(pattern)
    cited: list[dict] = []
    count = 0
    long_lines: list[tuple[int, int]] = []
    deadline = time.monotonic() + SEARCH_SECONDS
    stopped = None
    for number, line in enumerate(newline_lines(text), start=1):
        if len(line) > SEARCHED_CHARS:
            long_lines.append((number, len(line)))
            continue
        if time.monotonic() > deadline:
            stopped = number
            break
        if regex.search(line):
            count += 1
            if len(cited) < MAX_CITED:
                cited.append({"line": number, "text": line[:MAX_TEXT]})
    found: dict = {"count": count, "lines": cited}
    if stopped is not None:
        found["unsearched"] = f"search stopped after {SEARCH_SECONDS:g} s at line {stopped}"
    elif long_lines:
        (first, chars), more = long_lines[0], len(long_lines) - 1
        found["unsearched"] = (f"line {first} of {chars} characters, longer than {SEARCHED_CHARS}: not searched"
                               + (f" (and {more} more such line(s))" if more else ""))
    return found


# Checks match programs and flags anywhere in a judged line, so it is kept whole: a cut
# ``tripwire -m cx`` would read as ``-m c``. Past this a line is refused, not cut.
JUDGED_CHARS = 4096
# A site regex searches lines no longer than a judged one; a quadratic backtrack over 4096
# characters takes some 0.1 s, and the whole search of one file is cut off after this.
SEARCHED_CHARS = JUDGED_CHARS
SEARCH_SECONDS = 10.0


def judged(text: str, where: str, what: str = "a line") -> str:
    """``text`` unchanged, for a verdict to be read from; ``LineTooLong`` (naming ``where``,
    e.g. ``path:line``) when it is longer than ``JUDGED_CHARS``."""
    if len(text) > JUDGED_CHARS:
        raise LineTooLong(f"{where}: {what} of {len(text)} characters; not judged from part of it "
                          f"(limit {JUDGED_CHARS})")
    return text


def judged_lines(text: str, where: str, pattern: re.Pattern, what: str = "a line") -> list[dict]:
    """``[{"line": 1-based, "text": stripped}]`` of every line of ``text`` that ``pattern``
    searches and that is not a ``#`` comment, each whole (``judged``)."""
    return [{"line": number, "text": judged(line.strip(), f"{where}:{number}", what)}
            for number, line in enumerate(newline_lines(text), start=1)
            if pattern.search(line) and not line.lstrip().startswith("#")]
