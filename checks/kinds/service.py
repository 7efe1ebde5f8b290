"""Generic kind ``service``: a service is enabled at boot, disabled, or masked (systemd
enabling links in every unit directory and masks, SysV ``S`` links in rc2-5.d).

    - id: site.services.rpcbind
      kind: service
      parameters: {name: rpcbind, state: masked}
"""

from __future__ import annotations

from hostaudit.model import Result, ev
from hostaudit.registry import kind


@kind("service", needs=["service_state"],
      wants={"service_state": lambda params: {"names": [params["name"]]}},
      params={
          "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9@:._-]*$",
                   "description": "a service name (SysV script or systemd unit), e.g. rpcbind or cups.socket"},
          "state": {"enum": ["enabled", "disabled", "masked"],
                    "description": "enabled (starts at boot), disabled (does not), or masked (cannot start)"},
      })
def service_control(facts, params) -> Result:
    """The service starts at boot, or does not, or is masked, as the links on disk say."""
    name, state = params["name"], params["state"]
    fact = facts["service_state"]
    found = fact["services"][name]
    unit, mask = found["unit"], found["masked"]
    expected = f"{name} {state}"
    starts = [ev(link["path"], f"-> {link['target']}" if link["target"] else "start link")
              for link in found["systemd"]]
    starts += [ev(link["path"], f"runlevel {link['runlevel']}: -> {link['target'] or '(not a link)'}")
               for link in found["sysv"]]
    nothing = ev(", ".join(fact["looked"]), f"no start link for {name}")
    masked = [ev(mask, "-> /dev/null (masked)")] if mask else []
    if state == "masked":
        if mask:
            return Result.passed(f"{unit} is masked", evidence=masked, expected=expected)
        return Result.failed(f"{unit} is not masked", expected=expected,
                             evidence=[ev(f"/etc/systemd/system/{unit}", "no link to /dev/null"), *starts])
    running = bool(starts) and not mask
    if state == "enabled":
        if running:
            return Result.passed(f"{name} starts at boot", evidence=starts, expected=expected)
        return Result.failed(f"{name} does not start at boot", evidence=masked or [nothing], expected=expected)
    if running:
        return Result.failed(f"{name} starts at boot", evidence=starts, expected=expected)
    return Result.passed(f"{name} does not start at boot", evidence=masked or [nothing], expected=expected)
