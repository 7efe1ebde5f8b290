"""Fixes as data: what a control's ``fix:`` block in a baseline says, read into plain values.

A fix is either a person's job (``manual``: why no program can do it) or a list of idempotent
steps of a few kinds (a line in a file, a sysctl, a package, a unit, an attribute, a mode,
an owner, a group, or a reviewed shell snippet with its own check). ``hostaudit plan`` turns
the steps of the failed controls into a shell script or an Ansible playbook; hostaudit
itself never applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

KINDS = ("line", "sysctl", "package", "service", "attribute", "mode", "owner", "group_member", "shell")
FAMILIES = ("debian", "rhel")
DEFAULT_SYSCTL_FILE = "/etc/sysctl.d/60-hostaudit.conf"

_PARAM = re.compile(r"\{\{ *([a-z_][a-z0-9_]*) *\}\}")
# A parameter value put into a plan must not break out of the line, word or quoting it lands
# in: the renderers quote it, and a newline or NUL has no safe spelling in either format.
_UNSAFE = re.compile(r"[\x00\n\r]")


class FixError(ValueError):
    """A fix that cannot be written out (an unknown parameter, an unsafe value)."""


@dataclass(frozen=True)
class Step:
    """One operation: ``kind`` (one of KINDS), its arguments, and the OS family it is for
    (None: every family)."""

    kind: str
    args: dict
    family: str | None = None

    @classmethod
    def from_dict(cls, data: dict) -> Step:
        kind = next(k for k in KINDS if k in data)
        family = (data.get("when") or {}).get("family")
        return cls(kind=kind, args=dict(data[kind]), family=family)


@dataclass(frozen=True)
class Fix:
    """A control's fix: ``manual`` (why a person must do it) or ``steps``; ``partial`` says
    what a person must still do after the steps before the control passes."""

    manual: str = ""
    steps: tuple[Step, ...] = ()
    partial: str = ""

    @classmethod
    def from_dict(cls, data: dict | None) -> Fix | None:
        if not data:
            return None
        return cls(manual=(data.get("manual") or "").strip(),
                   steps=tuple(Step.from_dict(s) for s in data.get("steps") or ()),
                   partial=(data.get("partial") or "").strip())

    @property
    def mechanical(self) -> bool:
        return bool(self.steps)

    def needs_packages(self, family: str) -> bool:
        """Whether applying the fix on ``family`` installs a package (needs a mirror)."""
        return any(s.kind == "package" and s.args["state"] == "present"
                   for s in self.steps_for(family))

    def steps_for(self, family: str) -> list[Step]:
        return [s for s in self.steps if s.family in (None, family)]


def render(step: Step, parameters: dict) -> Step:
    """``step`` with every ``{{name}}`` replaced by the control's parameter ``name``.

    A list parameter fills a ``names`` list whole, or is joined with spaces inside a string.
    """
    def value(name: str):
        if name not in parameters:
            raise FixError(f"fix refers to parameter {name!r}, which the control does not have")
        return parameters[name]

    def fill(text: str) -> str:
        def one(match: re.Match) -> str:
            got = value(match.group(1))
            words = [str(v) for v in got] if isinstance(got, (list, tuple)) else [str(got)]
            for word in words:
                if _UNSAFE.search(word):
                    raise FixError(f"parameter {match.group(1)!r} holds a newline or NUL")
            return " ".join(words)
        return _PARAM.sub(one, text)

    args: dict = {}
    for key, raw in step.args.items():
        whole = _PARAM.fullmatch(raw) if isinstance(raw, str) else None
        if key == "names" and whole:
            got = value(whole.group(1))
            args[key] = [str(v) for v in (got if isinstance(got, (list, tuple)) else [got])]
        elif isinstance(raw, str):
            args[key] = fill(raw)
        else:
            args[key] = raw
    return Step(kind=step.kind, args=args, family=step.family)


# os-release ID / ID_LIKE words of each family.
_FAMILY_IDS = {
    "debian": {"debian", "ubuntu", "raspbian", "linuxmint", "devuan", "kali"},
    "rhel": {"rhel", "centos", "fedora", "rocky", "almalinux", "ol", "amzn", "scientific", "redhat"},
}


def family_of(os_info: dict) -> str | None:
    """The family (debian or rhel) of a report's ``target.os`` (os-release ID, then ID_LIKE)."""
    words = [str(os_info.get("id") or "").lower()]
    words += str(os_info.get("id_like") or "").lower().split()
    for word in words:
        for family, ids in _FAMILY_IDS.items():
            if word in ids:
                return family
    return None
