"""Boot loader configuration: where GRUB keeps its password, legacy (2002) and GRUB 2."""

from __future__ import annotations

import fnmatch
import re

from hostaudit.host import Host
from hostaudit.parsers.grub import parse_grub2, parse_grub_legacy
from hostaudit.registry import probe

# GRUB legacy as Red Hat 7.3 installed it (/etc/grub.conf links to /boot/grub/grub.conf),
# and Debian's legacy menu.lst.
LEGACY_FILES = ("/etc/grub.conf", "/boot/grub/grub.conf", "/boot/grub/menu.lst")
# GRUB 2: the generated config, its sources, the EFI stubs and RHEL's user.cfg.
GRUB2_FILES = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg",
               "/boot/grub/user.cfg", "/boot/grub2/user.cfg")
GRUB_D = "/etc/grub.d"
EFI_DIR = "/boot/efi/EFI"


# grub-mkconfig skips these names in /etc/grub.d (editor and package-manager leftovers, README).
_GRUB_D_SKIPPED = re.compile(r"(~|\.dpkg-[a-z]+|\.rpm(save|new|orig)|\.bak|\.swp)$|^README")


def _grub_d_runs(host: Host, name: str) -> bool:
    """Whether grub-mkconfig runs /etc/grub.d/``name``: executable, and not a leftover it skips."""
    path = f"{GRUB_D}/{name}"
    if _GRUB_D_SKIPPED.search(name):
        return False
    if not host.carries("modes"):
        return True  # no modes in the format: whether it is executable is unknown, not "no"
    try:
        return bool(host.stat(path).st_mode & 0o111)
    except OSError:
        return True  # the read that follows decides


def _grub2_candidates(host: Host) -> list[str]:
    paths = list(GRUB2_FILES)
    if host.is_dir(GRUB_D):
        paths += [f"{GRUB_D}/{name}" for name in host.listdir(GRUB_D) if _grub_d_runs(host, name)]
    paths += host.glob(f"{EFI_DIR}/*/grub.cfg")
    return paths


@probe("bootloader")
def bootloader(host: Host) -> dict:
    """Password directives (secrets hidden) of every boot loader file found.

    ``{"looked_in": [paths/patterns], "files": [{path, target, format ("legacy"|"grub2"),
    directives: [parse_grub_legacy / parse_grub2 entries]}]}``; a file reached twice through
    a symlink is listed once, under the first name, with its ``target``.
    """
    seen: set[str] = set()
    files = []
    candidates = [(p, "legacy") for p in LEGACY_FILES]
    candidates += [(p, "grub2") for p in _grub2_candidates(host)]
    for path, fmt in candidates:
        target = host.canonical(path)
        if target in seen or not host.is_file(target):
            continue
        seen.add(target)
        text = host.read_text(target)
        parse = parse_grub_legacy if fmt == "legacy" else parse_grub2
        files.append({"path": path, "target": target if target != path else None,
                      "format": fmt, "directives": parse(text)})
    looked_in = [*LEGACY_FILES, *GRUB2_FILES, f"{GRUB_D}/* (executable)", f"{EFI_DIR}/*/grub.cfg"]
    return {"looked_in": looked_in, "files": files}


# Packages that put a boot loader or a kernel on the host (Debian and Red Hat/SUSE names).
BOOT_PACKAGES = ("grub", "grub-*", "grub2", "grub2-*", "systemd-boot", "systemd-boot-*", "lilo", "syslinux",
                 "syslinux-*", "extlinux", "elilo", "shim", "shim-*", "linux-image-*", "kernel", "kernel-core",
                 "kernel-default", "kernel-uek", "kernel-rt")
BOOT_DIR = "/boot"


@probe("boot_stack", needs=["packages"])
def boot_stack(host: Host, facts) -> dict:
    """What could boot this host from its own disk: boot loader and kernel packages, /boot.

    ``{"packages": [{"name", "version", "source", "line"}], "patterns", "packages_error",
    "databases", "boot_dir": [names in /boot, lost+found left out] | None when /boot is absent}``.
    """
    error = facts.error_of("packages")
    installed = {} if error else facts["packages"]["installed"]
    found = [{"name": name, **{k: info.get(k) for k in ("version", "source", "line")}}
             for name, info in sorted(installed.items())
             if any(fnmatch.fnmatchcase(name, pattern) for pattern in BOOT_PACKAGES)]
    boot_dir = None
    if host.is_dir(BOOT_DIR):
        boot_dir = [n for n in host.listdir(BOOT_DIR) if n != "lost+found"]
    databases = [] if error else facts["packages"]["databases"]
    return {"packages": found, "patterns": list(BOOT_PACKAGES), "packages_error": error, "databases": databases,
            "boot_dir": boot_dir}
