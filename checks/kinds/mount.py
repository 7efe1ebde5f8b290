"""Generic kind ``mount``: a mount point is a filesystem of its own with required options
and without forbidden ones (fstab or .mount units; live, also the options in force).

    - id: site.fs.tmp
      kind: mount
      parameters: {mount_point: /tmp, required_options: [nosuid, nodev, noexec]}
"""

from __future__ import annotations

from hostaudit.checks.fs import MOUNTINFO, mount_evidence, mounted, no_persistent_mount, persistent_mount
from hostaudit.model import Result, ev
from hostaudit.parsers.fstab import normalize_mount_point, option_in_effect
from hostaudit.registry import kind

_OPTIONS = {"type": "array", "uniqueItems": True, "default": [],
            "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+(=[^,\s]*)?$"},
            "description": "a list of mount options, e.g. [nosuid, nodev]"}


def _problems(options: list[str], required: list[str], forbidden: list[str], which: str) -> list[str]:
    """What ``which`` options ("the persistent options") lack of ``required`` or hold of
    ``forbidden``."""
    problems = []
    missing = [o for o in required if not option_in_effect(options, o)]
    if missing:
        problems.append(f"{which} lack {','.join(missing)}")
    present = [o for o in forbidden if option_in_effect(options, o)]
    if present:
        problems.append(f"{which} include {','.join(present)}")
    return problems


@kind("mount", needs=["fstab", "mountinfo"], params={
    "mount_point": {"$ref": "#/$defs/mount_point"},
    "required_options": _OPTIONS,
    "forbidden_options": _OPTIONS,
})
def mount_control(facts, params) -> Result:
    """The mount point is persistently mounted with the options (and, live, in force)."""
    mount_point = normalize_mount_point(params["mount_point"])
    required, forbidden = params["required_options"], params["forbidden_options"]
    wanted = (f" {','.join(required)}" if required else "") + \
        (f" without {','.join(forbidden)}" if forbidden else "")
    expected = f"{mount_point} mounted{wanted}"
    persistent = persistent_mount(facts["fstab"], mount_point)
    if persistent is None:
        failed = no_persistent_mount(facts["fstab"], mount_point)
        return Result.failed(f"{failed.message}: its mount options cannot be set",
                             evidence=failed.evidence, expected=expected)
    evidence = [persistent["evidence"]]
    problems = _problems(persistent["options"], required, forbidden, "the persistent options")
    if facts.mode == "live":
        mount, why_not = mounted(facts["mountinfo"], mount_point)
        if mount is None:
            problems.append(why_not)
            evidence.append(ev(MOUNTINFO, why_not))
        else:
            evidence.append(mount_evidence(mount))
            problems += _problems(mount["mount_options"] + mount["super_options"], required,
                                  forbidden, "the options in force")
    if problems:
        return Result.failed(f"{mount_point}: " + "; ".join(problems), evidence=evidence,
                             expected=expected)
    return Result.passed(f"{mount_point} is mounted{wanted}", evidence=evidence, expected=expected)
