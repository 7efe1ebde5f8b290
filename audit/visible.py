"""Target text made visible: control characters and undecodable bytes as escapes.

File names and contents of an audited system are attacker-written. On a terminal an ESC
sequence in them can clear the screen, retitle the window or overwrite the summary an
administrator reads; a bidi override (U+202E) reorders what is shown; in HTML the same
characters hide or reorder text. ``visible`` turns each such character into a printable
escape, so the reader sees that it is there and nothing acts on it:

- C0 controls, DEL and C1 controls: ``\\x1b``, ``\\x7f``, ``\\x9b`` (``\\n``, ``\\r``, ``\\t``
  for the usual three);
- bidi, zero-width and line/paragraph separator characters: ``\\u202e``;
- lone surrogates, which is how text decoded with ``surrogateescape`` carries a byte that
  was not UTF-8: ``\\xff`` for the byte, as it was on disk (any other surrogate: ``\\udXXX``).

A backslash itself is left alone: an escape looks like what a file might literally contain,
which misleads no one about control, while doubling every backslash would garble paths and
regular expressions in evidence.
"""

from __future__ import annotations

import re

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Characters that act instead of showing: C0, DEL, C1; Arabic letter mark; zero-width space
# to right-to-left mark; line and paragraph separators and the embeddings/overrides; word
# joiner to the isolates; byte order mark; and every surrogate. ``ACTING_BEYOND_C0`` leaves
# out C0, for formats (JSON) that escape those themselves.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff"
ACTING = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
ACTING_BEYOND_C0 = re.compile(f"[{_BEYOND_C0}]")


def _escape(char: str) -> str:
    code = ord(char)
    if char in _SHORT:
        return _SHORT[char]
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str, *, keep: str = "") -> str:
    """``text`` with every acting character (except those in ``keep``) as a visible escape."""
    if not keep:
        return ACTING.sub(lambda m: _escape(m.group()), text)
    return ACTING.sub(lambda m: m.group() if m.group() in keep else _escape(m.group()), text)


def terminal_text(text: str) -> str:
    """One line of target text for a terminal: every control escaped, newlines included,
    so a file cannot start a line that looks like hostaudit's own output."""
    return visible(text)
