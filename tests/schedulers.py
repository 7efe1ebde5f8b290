"""Fixture roots with something to run their schedules: an init, a cron daemon enabled for it."""

from __future__ import annotations

SYSTEMD = "/lib/systemd/systemd"


def boots_systemd(root) -> None:
    """/sbin/init is systemd, as on Debian 12 and RHEL 9 (usrmerge: /sbin -> usr/sbin)."""
    root.write(SYSTEMD, "\x7fELF", mode=0o755)
    root.symlink("/sbin/init", SYSTEMD)


def boots_sysvinit(root) -> None:
    """/sbin/init is sysvinit's own binary."""
    root.write("/sbin/init", "\x7fELF", mode=0o755)


def cron_enabled(root, *packages: str, init: str = "systemd") -> None:
    """Debian's cron installed (with ``packages``) and enabled for ``init`` (systemd or sysvinit)."""
    root.installed("cron", *packages)
    root.write("/usr/sbin/cron", "\x7fELF", mode=0o755)
    root.write("/lib/systemd/system/cron.service", "[Service]\nExecStart=/usr/sbin/cron -f\n")
    root.write("/etc/init.d/cron", "#!/bin/sh\n", mode=0o755)
    if init == "systemd":
        boots_systemd(root)
        root.symlink("/etc/systemd/system/multi-user.target.wants/cron.service", "/lib/systemd/system/cron.service")
    else:
        boots_sysvinit(root)
        root.symlink("/etc/rc2.d/S01cron", "../init.d/cron")
