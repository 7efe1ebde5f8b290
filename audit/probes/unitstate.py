"""Whether the services the selected controls name start at boot: systemd units (enabling
links in every unit directory's ``*.wants``/``*.requires``, masks) and SysV ``S`` links.

Only the requested names are looked up (``request["names"]``), in every place systemd and
SysV init read, so a unit enabled by a vendor's static link is not taken for disabled.
"""

from __future__ import annotations

from hostaudit.host import Host
from hostaudit.probes.services import MULTIUSER_RUNLEVELS, SYSV_DIRS, UNIT_DIRS
from hostaudit.registry import probe

# Where a link to /dev/null masks a unit (systemctl mask writes /etc; --runtime /run).
MASK_DIRS = ("/etc/systemd/system", "/run/systemd/system")


def unit_name(name: str) -> str:
    """``rpcbind`` -> ``rpcbind.service``; a name with a type suffix is kept."""
    return name if "." in name else f"{name}.service"


def _links(host: Host, pattern: str, name: str) -> list[dict]:
    found = []
    for directory in host.glob(pattern):
        path = f"{directory}/{name}"
        if host.exists(path):
            found.append({"path": path, "target": host.link_target(path)})
    return found


def _state(host: Host, name: str, sysv_dirs: list[tuple[str, str]]) -> dict:
    unit = unit_name(name)
    script = unit.removesuffix(".service")
    masked = next((f"{d}/{unit}" for d in MASK_DIRS if host.link_target(f"{d}/{unit}") == "/dev/null"), None)
    enabling = [link for directory in UNIT_DIRS
                for suffix in ("wants", "requires")
                for link in _links(host, f"{directory}/*.{suffix}", unit)
                if link["target"] != "/dev/null"]
    sysv = []
    for runlevel, directory in sysv_dirs:
        for entry in host.glob(f"{directory}/S[0-9][0-9]{script}"):
            sysv.append({"path": entry, "runlevel": runlevel, "target": host.link_target(entry)})
    return {"unit": unit, "masked": masked, "systemd": enabling, "sysv": sysv}


@probe("service_state", takes_request=True)
def service_state(host: Host, request: dict | None = None) -> dict:
    """Whether each service the selected controls name starts at boot: its systemd unit links
    (enabled, masked) and SysV rc links.

    ``{"looked": [...], "services": {name: {"unit", "masked": path|None, "systemd":
    [{"path", "target"}], "sysv": [{"path", "runlevel", "target"}]}}}`` for the requested
    names. A directory the auditor may not list raises: a start link may be in it."""
    sysv_dirs = [(level, pattern.format(level)) for level in MULTIUSER_RUNLEVELS for pattern in SYSV_DIRS]
    # Red Hat's /etc/rcN.d -> rc.d/rcN.d: count each real directory once.
    sysv_dirs = [(level, d) for level, d in sysv_dirs if host.link_target(d) is None]
    looked = [f"{d}/*.wants" for d in UNIT_DIRS] + [f"{d}/*.requires" for d in UNIT_DIRS] \
        + [d for _, d in sysv_dirs]
    names = (request or {}).get("names", [])
    return {"looked": looked, "services": {name: _state(host, name, sysv_dirs) for name in names}}
