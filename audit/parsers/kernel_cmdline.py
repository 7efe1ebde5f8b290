"""Kernel command lines as boot loader files give them, and the arguments that turn IPv6 off.

Formats: ``grub2`` (``linux``/``linux16``/``linuxefi`` lines of a generated grub.cfg),
``legacy`` (``kernel`` lines of GRUB legacy's grub.conf/menu.lst), ``loader`` (``options``
lines of a systemd-boot / BLS entry), ``default`` (``GRUB_CMDLINE_LINUX`` and
``GRUB_CMDLINE_LINUX_DEFAULT`` in /etc/default/grub, the source of the next generated
grub.cfg) and ``cmdline`` (/etc/kernel/cmdline: the whole file is one command line).
"""

from __future__ import annotations

import re
import shlex

from hostaudit.parsers.lines import newline_lines

# Arguments that make a boot entry a rescue boot (single user, no network services).
RESCUE = frozenset({"single", "s", "S", "1", "emergency", "rescue", "systemd.unit=rescue.target",
                    "systemd.unit=emergency.target"})
_KERNEL_WORDS = {"grub2": ("linux", "linux16", "linuxefi"), "legacy": ("kernel",), "loader": ("options",)}
_DEFAULT_VAR = re.compile(r"^\s*(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)=(.*)$")


def kernel_lines(text: str, fmt: str) -> list[dict]:
    """Each command line in ``text``: ``{"line", "text", "args": [...], "rescue": bool}``.

    For ``grub2``/``legacy`` the kernel image (the word after ``linux``/``kernel``) is left out
    of ``args``. ``text`` (for evidence) keeps only the directive, the image and the arguments
    this module reads: a command line may carry credentials (``netroot=iscsi:user:password@...``).
    Raises ValueError for an unknown ``fmt``.
    """
    if fmt == "cmdline":
        args = text.split()
        return [{"line": 1, "text": _shown([], args), "args": args, "rescue": bool(RESCUE & set(args))}] if args else []
    if fmt not in _KERNEL_WORDS and fmt != "default":
        raise ValueError(f"unknown boot loader format {fmt!r}")
    found = []
    for number, raw in enumerate(newline_lines(text), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if fmt == "default":
            match = _DEFAULT_VAR.match(line)
            if not match:
                continue
            try:
                args = " ".join(shlex.split(match.group(2), comments=True)).split()
            except ValueError:  # unbalanced quotes: grub-mkconfig would fail on it too
                args = match.group(2).split()
            prefix = [f"{match.group(1)}="]
        else:
            words = line.split()
            if words[0] not in _KERNEL_WORDS[fmt]:
                continue
            args = words[1:] if fmt == "loader" else words[2:]
            prefix = words[:1] if fmt == "loader" else words[:2]
        found.append({"line": number, "text": _shown(prefix, args), "args": args, "rescue": bool(RESCUE & set(args))})
    return found


def _shown(prefix: list[str], args: list[str]) -> str:
    kept = [a for a in args if a.startswith("ipv6.") or a in RESCUE]
    hidden = len(args) - len(kept)
    return " ".join(prefix + kept + ([f"(+{hidden} other argument(s))"] if hidden else []))[:300]


def turns_ipv6_off(args: list[str]) -> bool:
    """Whether a command line's arguments keep IPv6 off (for each parameter, its last value counts).

    ``ipv6.disable=1``: the kernel never starts its IPv6 stack. ``ipv6.disable_ipv6=1``: the
    stack runs but every interface starts with IPv6 off, as the disable_ipv6 sysctl does.
    """
    last = {}
    for arg in args:
        key, _, value = arg.partition("=")
        if key in ("ipv6.disable", "ipv6.disable_ipv6"):
            last[key] = value
    return "1" in last.values()
