"""What the Ctrl-Alt-Del key does: SysV inittab ``ctrlaltdel`` entries and systemd's target."""

from __future__ import annotations

import stat as _stat

from hostaudit.host import Host
from hostaudit.parsers.inittab import parse_inittab
from hostaudit.registry import probe

INITTAB = "/etc/inittab"
SYSTEMD_BINARIES = ("/lib/systemd/systemd", "/usr/lib/systemd/systemd")
MASK_PATH = "/etc/systemd/system/ctrl-alt-del.target"
KERNEL_SETTING = "/proc/sys/kernel/ctrl-alt-del"
UNIT_PATHS = ("/usr/lib/systemd/system/ctrl-alt-del.target", "/lib/systemd/system/ctrl-alt-del.target")


def _link_state(host: Host, path: str) -> dict | None:
    """``{"path", "kind": "symlink"|"file", "target"}`` for an existing path, else None."""
    try:
        info = host.lstat(path)
    except FileNotFoundError:
        return None
    if _stat.S_ISLNK(info.st_mode):
        return {"path": path, "kind": "symlink", "target": host.readlink(path)}
    return {"path": path, "kind": "file", "target": None}


def _kernel_setting(host: Host) -> dict | None:
    """Live: kernel.ctrl-alt-del as /proc/sys shows it ({"path", "value"|"missing"|"error"})."""
    if host.mode != "live":
        return None
    try:
        return {"path": KERNEL_SETTING, "value": host.read_text(KERNEL_SETTING, limit=64).strip()}
    except FileNotFoundError:
        return {"path": KERNEL_SETTING, "missing": True}
    except OSError as exc:
        return {"path": KERNEL_SETTING, "error": exc.strerror or str(exc)}


@probe("ctrl_alt_del")
def ctrl_alt_del(host: Host) -> dict:
    """What Ctrl-Alt-Del does: the ctrlaltdel entries of /etc/inittab, systemd's
    ctrl-alt-del.target (vendor unit and override) and, live, the kernel's kernel.ctrl-alt-del.

    ``{"inittab": {"path", "present", "entries": [ctrlaltdel entries]}, "systemd":
    {"present", "binary", "override": link state or None, "unit": vendor unit path or None},
    "kernel": live kernel.ctrl-alt-del or None}``. With 1 there the kernel reboots at once,
    without asking init, whatever inittab or systemd say."""
    inittab = {"path": INITTAB, "present": host.exists(INITTAB), "entries": []}
    if inittab["present"]:
        inittab["entries"] = [e for e in parse_inittab(host.read_text(INITTAB))
                              if e["action"] == "ctrlaltdel"]
    binary = next((path for path in SYSTEMD_BINARIES if host.exists(path)), None)
    systemd = {
        "present": binary is not None,
        "binary": binary,
        "override": _link_state(host, MASK_PATH),
        "unit": next((path for path in UNIT_PATHS if host.exists(path)), None),
    }
    return {"inittab": inittab, "systemd": systemd, "kernel": _kernel_setting(host)}


# What an init reads at boot: systemd its *.wants links (and rc links of units it lacks, via
# its SysV generator); sysvinit the rc?.d links; OpenRC its runlevels. Anything else (a
# container's tini or shell, busybox init's inittab) starts only what it is told to.
BOOT_LINKS = {"systemd": "systemd *.wants links", "sysvinit": "rc?.d links", "openrc": "/etc/runlevels"}
INIT_PATHS = ("/sbin/init", "/usr/sbin/init")


def _kind_of(program: str) -> str:
    """The init a program path or process name stands for."""
    name = program.rsplit("/", 1)[-1].removesuffix(" (deleted)")
    if name == "systemd":
        return "systemd"
    if name == "busybox":
        return "busybox"
    if name == "openrc-init":
        return "openrc"
    return "sysvinit" if name == "init" else "other"


def _image_init(host: Host) -> dict:
    """The init the kernel would start: the first of /sbin/init, /usr/sbin/init, resolved."""
    for path in INIT_PATHS:
        if host.exists(path):
            target = host.canonical(path)
            if not host.is_file(target):
                return {"kind": "none", "program": None, "source": path, "text": f"{path} -> {target}, dangling"}
            kind = _kind_of(target)
            via = f" -> {target}" if target != path else ""
            return {"kind": kind, "program": target, "source": path, "text": f"{path}{via}"}
    systemd = next((p for p in SYSTEMD_BINARIES if host.is_file(p)), None)
    return {"kind": "none", "program": None, "source": " ".join(INIT_PATHS),
            "text": "absent" + (f" (systemd is installed at {systemd}, but nothing boots it)" if systemd else ""),
            "systemd_binary": systemd}


def _running_init(host: Host) -> dict:
    """PID 1 of the running system: its executable if readable (root), else its name."""
    comm = host.read_text("/proc/1/comm", limit=256).strip()
    try:
        exe = host.readlink("/proc/1/exe")
    except OSError:
        exe = None
    if exe:
        return {"kind": _kind_of(exe), "program": exe.removesuffix(" (deleted)"), "source": "/proc/1/exe",
                "text": f"PID 1 is {exe} ({comm})"}
    kind = _kind_of(comm)
    if kind == "sysvinit":
        # "init" is also busybox's and a symlinked systemd's name: look at the file it ran.
        kind = _image_init(host)["kind"]
    return {"kind": kind, "program": None, "source": "/proc/1/comm",
            "text": f"PID 1 is {comm!r} (/proc/1/exe unreadable)"}


@probe("init_system")
def init_system(host: Host) -> dict:
    """Which init runs (live: PID 1) or would boot (image: /sbin/init resolved inside the image).

    ``{"kind": "systemd"|"sysvinit"|"openrc"|"busybox"|"other"|"none"|"unknown", "program", "source",
    "text", "boot_links": what it reads to start services at boot, or None}``. ``none`` is an
    image without an init (a container image: its runtime's entrypoint decides what runs).
    """
    try:
        found = _running_init(host) if host.mode == "live" else _image_init(host)
    except OSError as exc:
        # Checks that only annotate with the init must not fail with it: "unknown" says why.
        where = "/proc/1" if host.mode == "live" else "/sbin/init"
        found = {"kind": "unknown", "program": None, "source": where,
                 "text": f"cannot tell the init: {exc.strerror or exc}"}
    return {**found, "boot_links": BOOT_LINKS.get(found["kind"])}
