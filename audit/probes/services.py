"""What starts at boot: SysV ``S`` links in rc?.d and systemd ``*.wants`` links.

Also the unit-file lookup other probes share (ssh, schedule): where a unit lives and which of
its settings apply, read from files only so an image is judged like a live host.
"""

from __future__ import annotations

import stat

from hostaudit.host import ABSENT, Host
from hostaudit.parsers.systemd_unit import parse_unit
from hostaudit.registry import probe

# Unit search path in precedence order (systemd.unit(5)); the first file of a name wins.
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
# Red Hat keeps the rc?.d directories under /etc/rc.d (2002 chkconfig); Debian under /etc.
SYSV_DIRS = ("/etc/rc.d/rc{}.d", "/etc/rc{}.d")
MULTIUSER_RUNLEVELS = "2345"


def find_unit(host: Host, name: str) -> str | None:
    """The unit file systemd would load for ``name``, or None (a /dev/null mask counts as none)."""
    for directory in UNIT_DIRS:
        path = f"{directory}/{name}"
        if host.exists(path):
            return None if host.masked(path) else path
    return None


def read_unit(host: Host, path: str) -> list[dict]:
    """A unit's assignments followed by its drop-ins' (``<unit>.d/*.conf``), each with its path."""
    entries = [{**e, "path": path} for e in parse_unit(host.read_text(path))]
    name = path.rsplit("/", 1)[1]
    for directory in UNIT_DIRS:
        for drop_in in host.glob(f"{directory}/{name}.d/*.conf"):
            entries += [{**e, "path": drop_in} for e in parse_unit(host.read_text(drop_in))]
    return entries



def _sysv_links(host: Host) -> list[dict]:
    native: dict[str, str | None] = {}  # systemd-sysv-generator skips scripts that have a unit
    links = []
    for runlevel in MULTIUSER_RUNLEVELS:
        for pattern in SYSV_DIRS:
            directory = pattern.format(runlevel)
            try:
                if stat.S_ISLNK(host.lstat(directory).st_mode):
                    continue  # Red Hat's /etc/rcN.d -> rc.d/rcN.d: counted once, at the real path
                names = host.listdir(directory)
            except ABSENT:
                continue
            for name in names:
                if name.startswith("S") and name[1:3].isdigit():
                    path, service = f"{directory}/{name}", name[3:]
                    if service not in native:
                        native[service] = find_unit(host, f"{service}.service")
                    links.append({"path": path, "runlevel": runlevel, "service": service,
                                  "target": host.link_target(path), "native_unit": native[service]})
    return links


def _wants_links(host: Host) -> list[dict]:
    links = []
    for wants in host.glob("/etc/systemd/system/*.wants"):
        for name in host.listdir(wants):
            path = f"{wants}/{name}"
            links.append({"path": path, "unit": name, "wanted_by": wants.rsplit("/", 1)[1][: -len(".wants")],
                          "target": host.link_target(path)})
    return links


@probe("boot_services")
def boot_services(host: Host) -> dict:
    """Services enabled at boot.

    ``{"sysv": [{"path", "runlevel", "service", "target", "native_unit"}], "systemd": [{"path",
    "unit", "wanted_by", "target"}], "masked": [path, ...]}`` (runlevels 2-5; /etc/systemd/system).
    ``native_unit`` is the unit file named ``<service>.service``, if any: under systemd it, not
    the rc link, decides (systemd-sysv-generator ignores such scripts).
    """
    masked = [p for p in host.glob("/etc/systemd/system/*") if host.masked(p)]
    return {"sysv": _sysv_links(host), "systemd": _wants_links(host), "masked": masked}
