"""Which image files the probes may read: the one list the image reader materialises from.

An ``--image`` archive is indexed in one pass; its metadata (owners, modes, links, listings)
answers every stat, but only regular files whose path in the archive matches one of these
patterns are written to the temporary directory. A probe that reads a file outside them gets
an honest "not materialised" error (never "absent"); ``tests/test_image_formats.py`` runs the
shipped baseline on a Debian-like image and fails if any probe hits one. A new probe that
reads a new path adds its pattern here.

Patterns are ``fnmatch`` patterns over the member's own path in the archive (``*`` crosses
``/``). Paths are physical: on a merged-/usr system ``/lib/systemd/...`` is stored as
``/usr/lib/systemd/...``, so both spellings are listed.
"""

from __future__ import annotations

import fnmatch
import re

IMAGE_READS = (
    # Configuration of every probe: accounts, pam, ssh, cron, firewall rules, grub defaults,
    # fstab and units, skel, stunnel, tripwire, apt, logrotate, sysctl, os-release...
    "/etc/*",
    "/usr/local/etc/*",
    # systemd units and drop-ins (services, schedule, firewall, init, sysctl masks).
    "/lib/systemd/system/*", "/usr/lib/systemd/system/*", "/run/systemd/system/*",
    "/usr/lib/os-release",
    "/usr/lib/sysctl.d/*", "/lib/sysctl.d/*", "/run/sysctl.d/*",
    # Boot loader configuration and boot entries.
    "/boot/grub/*", "/boot/grub2/*", "/boot/loader/entries/*", "/boot/efi/EFI/*",
    # Package databases.
    "/var/lib/dpkg/status", "/var/lib/rpm/*", "/usr/lib/sysimage/rpm/*",
    # Crontabs, qmail's tree, alias files wherever ~alias is, quota files at mount points.
    "/var/spool/cron/*", "/var/qmail/*", "*/.qmail-*", "*/aquota.user", "*/quota.user",
    # Programs read as data: sshd's version string, where sendmail leads.
    "/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd",
    "/usr/sbin/sendmail*", "/usr/lib/sendmail", "/sbin/sendmail*", "/usr/sbin/exim*",
    "/usr/lib/sm.bin/*", "/usr/libexec/sendmail/*", "/usr/sbin/postfix",
)

_MATCH = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in IMAGE_READS), re.DOTALL)


def may_be_read(path: str) -> bool:
    """Whether a probe may read the regular file at ``path`` (absolute, as stored)."""
    return _MATCH.match(path) is not None
