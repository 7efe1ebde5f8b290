"""Generic kind ``mount``: a mount point is a filesystem of its own with required options
and without forbidden ones (fstab or .mount units; live, also the options in force).

    - id: site.fs.tmp
      kind: mount
      parameters: {mount_point: /tmp, required_options: [nosuid, nodev, noexec]}
"""

from __future__ import annotations

from hostaudit.checks.fs import MOUNTINFO, _mount_evidence, _mounted, _no_persistent_mount, _persistent_mount
from hostaudit.model import Result, ev
from hostaudit.parsers.fstab import normalize_mount_point, option_in_effect
from hostaudit.registry import kind

_OPTIONS = {"type": "array", "uniqueItems": True, "default": [],
            "items": {"type": "string", "pattern": r"^[A-Za-z0-9_.-]+(=[^,\s]*)?$"},
            "description": "a list of mount options, e.g. [nosuid, nodev]"}


def _problems(options: list[str], required: list[str], forbidden: list[str], where: str) -> list[str]:
    problems = []
    missing = [o for o in required if not option_in_effect(options, o)]
    if missing:
        problems.append(f"the {where} options lack {','.join(missing)}")
    present = [o for o in forbidden if option_in_effect(options, o)]
    if present:
        problems.append(f"the {where} options include {','.join(present)}")
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
    expected = f"{mount_point} mounted" + (f" {','.join(required)}" if required else "") + \
        (f" without {','.join(forbidden)}" if forbidden else "")
    persistent = _persistent_mount(facts["fstab"], mount_point)
    if persistent is None:
        failed = _no_persistent_mount(facts["fstab"], mount_point)
        return Result.failed(failed.message, evidence=failed.evidence, expected=expected)
    evidence = [persistent["evidence"]]
    problems = _problems(persistent["options"], required, forbidden, "persistent")
    if facts.mode == "live":
        mount, why_not = _mounted(facts["mountinfo"], mount_point)
        if mount is None:
            problems.append(why_not)
            evidence.append(ev(MOUNTINFO, why_not))
        else:
            evidence.append(_mount_evidence(mount))
            problems += _problems(mount["mount_options"] + mount["super_options"], required,
                                  forbidden, "in-force")
    if problems:
        return Result.failed(f"{mount_point}: " + "; ".join(problems), evidence=evidence,
                             expected=expected)
    return Result.passed(f"{mount_point}: {expected}", evidence=evidence, expected=expected)
