"""Site regexes are searched over target-written lines: the shapes that backtrack
catastrophically are refused when the baseline is validated.

Python's regex engine holds the interpreter while it matches, so a search that backtracks
exponentially (``^(a+)+$`` over a line of a's and one other character) cannot be stopped by
a probe's deadline, and SIGTERM waits for it too. A repeat inside a repeat is that shape;
an atomic group or a possessive inner repeat (``(?>a+)+``, ``(a++)+``) is not, and is the
way to write such a pattern.
"""

from __future__ import annotations

import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT)


class UnsafeRegex(ValueError):
    """A regex that may backtrack catastrophically (the message says why and what to write)."""


def _nested_repeat(items, inside: bool) -> bool:
    """Whether a repeat (more than once) sits in ``items`` while ``inside`` another one, or
    holds one; atomic groups, possessive repeats and lookarounds are never backtracked into."""
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            if high > 1:
                if inside or _nested_repeat(body, True):
                    return True
            elif _nested_repeat(body, inside):
                return True
        elif op is sre.ATOMIC_GROUP:
            if _nested_repeat(av, False):
                return True
        elif op is sre.POSSESSIVE_REPEAT:
            if _nested_repeat(av[2], False):
                return True
        elif op is sre.SUBPATTERN:
            if _nested_repeat(av[-1], inside):
                return True
        elif op is sre.BRANCH:
            if any(_nested_repeat(branch, inside) for branch in av[1]):
                return True
        elif op is sre.GROUPREF_EXISTS:
            if any(branch is not None and _nested_repeat(branch, inside) for branch in av[1:]):
                return True
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if _nested_repeat(av[1], False):
                return True
    return False


def check(pattern: str) -> None:
    """Raise re.error when ``pattern`` does not compile, UnsafeRegex when a repeat holds
    another repeat that may backtrack into it."""
    re.compile(pattern)
    if _nested_repeat(sre_parse.parse(pattern), False):
        raise UnsafeRegex("may backtrack catastrophically: a repeat holds a repeat (make the inner "
                          "one atomic or possessive, e.g. (?>a+)+ or (a++)+)")
