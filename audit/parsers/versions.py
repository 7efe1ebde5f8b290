"""Comparing package versions as dpkg does (epoch, upstream, revision; ``~`` sorts first)."""

from __future__ import annotations

import re


def _order(char: str) -> int:
    if char == "~":
        return -1
    if char.isalpha():
        return ord(char)
    return ord(char) + 256


_TEXT = re.compile(r"[^0-9]*")
_DIGITS = re.compile(r"[0-9]*")


def _run(pattern: re.Pattern, text: str) -> str:
    """The run of ``pattern`` at the start of ``text`` (both patterns match the empty string)."""
    match = pattern.match(text)
    return match.group(0) if match else ""


def _compare_part(a: str, b: str) -> int:
    """dpkg's verrevcmp: alternating non-digit and digit runs."""
    while a or b:
        a_text, b_text = _run(_TEXT, a), _run(_TEXT, b)
        for i in range(max(len(a_text), len(b_text))):
            x = _order(a_text[i]) if i < len(a_text) else 0
            y = _order(b_text[i]) if i < len(b_text) else 0
            if x != y:
                return -1 if x < y else 1
        a, b = a[len(a_text):], b[len(b_text):]
        a_num, b_num = _run(_DIGITS, a), _run(_DIGITS, b)
        if int(a_num or 0) != int(b_num or 0):
            return -1 if int(a_num or 0) < int(b_num or 0) else 1
        a, b = a[len(a_num):], b[len(b_num):]
    return 0


def _split(version: str) -> tuple[int, str, str]:
    epoch, _, rest = version.rpartition(":") if ":" in version else ("0", "", version)
    upstream, _, revision = rest.rpartition("-") if "-" in rest else (rest, "", "")
    return int(epoch) if epoch.isdigit() else 0, upstream, revision


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` (``dpkg --compare-versions``).
    rpm's ``version-release`` strings compare the same way for ordinary versions."""
    ea, ua, ra = _split(a)
    eb, ub, rb = _split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _compare_part(ua, ub) or _compare_part(ra, rb)
