"""Generic kind ``service``: a service is enabled at boot, disabled, or masked (systemd
``*.wants`` links and masks in /etc/systemd/system, SysV ``S`` links in rc2-5.d).

    - id: site.services.rpcbind
      kind: service
      parameters: {name: rpcbind, state: masked}
"""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.registry import kind

LOOKED = "/etc/systemd/system/*.wants, /etc/rc[2-5].d, /etc/rc.d/rc[2-5].d"


def _unit(name: str) -> str:
    return name if "." in name else f"{name}.service"


@kind("service", needs=["boot_services"], params={
    "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9@:._-]*$",
             "description": "a service name (SysV script or systemd unit), e.g. rpcbind or cups.socket"},
    "state": {"enum": ["enabled", "disabled", "masked"],
              "description": "enabled (starts at boot), disabled (does not), or masked (cannot start)"},
})
def service_control(facts, params) -> Result:
    """The service starts at boot, or does not, or is masked, as the links on disk say."""
    name, state, boot = params["name"], params["state"], facts["boot_services"]
    unit, script = _unit(name), name.removesuffix(".service")
    expected = f"{name} {state}"
    starts = [ev(link["path"], f"-> {link['target']}" if link.get("target") else "start link")
              for link in boot["systemd"] if link["unit"] == unit and link.get("target") != "/dev/null"]
    starts += [ev(link["path"], f"runlevel {link['runlevel']}: -> {link['target'] or '?'}")
               for link in boot["sysv"] if link["service"] == script]
    mask = next((p for p in boot["masked"] if p.rsplit("/", 1)[1] == unit), None)
    if state == "masked":
        if mask:
            return Result.passed(f"{unit} is masked", evidence=[ev(mask, "-> /dev/null")],
                                 expected=expected)
        return Result.failed(f"{unit} is not masked", expected=expected,
                             evidence=[ev(f"/etc/systemd/system/{unit}", "no link to /dev/null"),
                                       *starts])
    if state == "enabled":
        if starts and not mask:
            return Result.passed(f"{name} starts at boot", evidence=starts, expected=expected)
        evidence = [ev(mask, "-> /dev/null (masked)")] if mask else [ev(LOOKED, f"no start link for {name}")]
        return Result.failed(f"{name} does not start at boot", evidence=evidence, expected=expected)
    if starts and not mask:
        return Result.failed(f"{name} starts at boot", evidence=starts, expected=expected)
    evidence = [ev(mask, "-> /dev/null (masked)")] if mask else [ev(LOOKED, f"no start link for {name}")]
    return Result.passed(f"{name} does not start at boot", evidence=evidence, expected=expected)
