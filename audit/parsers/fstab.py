"""/etc/fstab (fstab(5)), systemd .mount/.swap units, and what mount options add up to."""

from __future__ import annotations

import re

from hostaudit.parsers.lines import newline_lines

_OCTAL_ESCAPE = re.compile(r"\\([0-7]{3})")

# Options that switch a flag off, with the option that switches it back on.
_NEGATIONS = {"nosuid": "suid", "nodev": "dev", "noexec": "exec", "ro": "rw", "noauto": "auto"}
# What the shorthand options imply (mount(8)); a later explicit option overrides them.
_IMPLIES = {
    "defaults": ("rw", "suid", "dev", "exec", "auto", "nouser", "async"),
    "user": ("noexec", "nosuid", "nodev"),
    "users": ("noexec", "nosuid", "nodev"),
    "owner": ("nosuid", "nodev"),
    "group": ("nosuid", "nodev"),
}
# Ways of asking for user quota: ext*/vfs (usrquota, quota, usrjquota=FILE) and xfs (uquota).
USER_QUOTA_OPTIONS = ("usrquota", "quota", "uquota", "uqnoenforce", "usrjquota")


def unescape(field: str) -> str:
    """Decode fstab/mountinfo octal escapes (``\\040`` is a space)."""
    return _OCTAL_ESCAPE.sub(lambda m: chr(int(m.group(1), 8)), field)


def normalize_mount_point(path: str) -> str:
    """``/home/`` and ``/home`` are the same mount point; ``/`` stays ``/``."""
    return path.rstrip("/") or "/"


def parse_fstab(text: str) -> list[dict]:
    """Parse fstab(5) lines.

    Each entry: spec, mount_point, fstype, options (list), line (1-based). Lines with fewer
    than four fields come back as ``{"line": n, "malformed": True, "fields": k}``.
    """
    entries: list[dict] = []
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 4:
            entries.append({"line": number, "malformed": True, "fields": len(fields)})
            continue
        spec, mount_point, fstype, options = fields[:4]
        if fstype != "swap":
            mount_point = normalize_mount_point(unescape(mount_point))
        entries.append(
            {
                "spec": unescape(spec),
                "mount_point": mount_point,
                "fstype": fstype,
                "options": options.split(","),
                "line": number,
            }
        )
    return entries


def parse_unit(text: str) -> dict:
    """The ``[Mount]``/``[Swap]`` keys of a systemd unit: What, Where, Type, Options, lines.

    Returns ``{"what": .., "where": .., "type": .., "options": [..], "line": n}`` where
    ``line`` is the line of ``Where=`` (or ``What=`` for swap units); missing keys are None.
    """
    unit: dict = {"what": None, "where": None, "type": None, "options": [], "line": None}
    section = ""
    for number, raw in enumerate(newline_lines(text), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section not in ("Mount", "Swap") or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key == "Where":
            unit["where"] = normalize_mount_point(value)
            unit["line"] = number
        elif key == "What":
            unit["what"] = value
            unit["line"] = unit["line"] or number
        elif key == "Type":
            unit["type"] = value
        elif key == "Options":
            unit["options"] = [o for o in value.split(",") if o]
    return unit


def mount_unit_name(where: str) -> str:
    """The only name systemd loads a mount unit for ``where`` under (``systemd-escape --path``):
    /home -> home.mount, /usr/local -> usr-local.mount, /srv/a-b -> srv-a\\x2db.mount."""
    path = "/".join(p for p in where.split("/") if p)
    if not path:
        return "-.mount"
    out = []
    for i, char in enumerate(path):
        if char == "/":
            out.append("-")
        elif char.isascii() and (char.isalnum() or char in ":_" or (char == "." and i > 0)):
            out.append(char)
        else:
            out.extend(f"\\x{b:02x}" for b in char.encode("utf-8", "surrogateescape"))
    return "".join(out) + ".mount"


def option_in_effect(options: list[str], wanted: str) -> bool:
    """Whether ``wanted`` (nosuid, nodev, noexec, usrquota...) holds after all of ``options``.

    Later options override earlier ones, as mount(8) applies them: ``nosuid,suid`` is suid,
    ``defaults`` means suid/dev/exec, ``user`` implies nosuid,nodev,noexec. ``usrquota`` is
    satisfied by any way of asking for user quota.
    """
    if wanted == "usrquota":
        return any(o.split("=", 1)[0] in USER_QUOTA_OPTIONS for o in options)
    opposite = _NEGATIONS.get(wanted) or {v: k for k, v in _NEGATIONS.items()}.get(wanted)
    state = False
    for option in options:
        for effective in _IMPLIES.get(option, (option,)):
            if effective == wanted:
                state = True
            elif effective == opposite:
                state = False
    return state
