"""OpenSSH version strings: ``9.2p1``, Debian's ``1:9.2p1-2+deb12u3``, the binary's ``OpenSSH_9.2p1``."""

from __future__ import annotations

import re

_VERSION = re.compile(r"(\d+)\.(\d+)(?:p(\d+))?")
# In the binary the real version is followed by NUL or a blank; the compat table's patterns
# (``OpenSSH_3.0*``, ``OpenSSH_6.6.1*``) are followed by more pattern characters.
_IN_BINARY = re.compile(rb"OpenSSH_(\d+\.\d+(?:p\d+)?)(?=[\x00 ])")


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``(major, minor, portable patch)`` from a version string, ignoring an epoch and a
    packaging suffix; None when it holds no ``X.Y``. ``3.4`` is ``(3, 4, 0)``."""
    upstream = text.split(":", 1)[-1]
    match = _VERSION.search(upstream)
    if match is None:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def version_in_binary(data: bytes) -> str | None:
    """The highest ``OpenSSH_X.Y[pN]`` version string embedded in an sshd binary, or None."""
    found = {m.decode() for m in _IN_BINARY.findall(data)}
    return max(found, key=lambda v: parse_version(v) or (0, 0, 0), default=None)
